"""Backup and restore of the hub's database.

SQLite: the online backup API of sqlite3 copies a consistent snapshot in one step inside a read
transaction; in WAL mode the app's writers go on meanwhile (a page-by-page copy would restart at every
write from another connection). PostgreSQL: `pg_dump` in its
custom format (a consistent snapshot, safe while the app runs), restored with `pg_restore`.

A restore goes into an EMPTY database only, never over data: it refuses when the target holds any row
in the hub's tables (SQLite) or any table at all (PostgreSQL). After a restore the schema is migrated to
head and the audit chain verified.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, inspect, text

from db.engine import make_engine

CORE_TABLES = ("practice", "user_account", "patient", "hub_case", "audit_event")


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class RestoreReport:
    counts: dict[str, int]
    chain_ok: bool
    chain_message: str


def _sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        raise BackupError("Backup needs a SQLite file database (not an in-memory one).")
    return Path(path.split("?", 1)[0])


def libpq_url(url: str) -> tuple[str, str | None]:
    """The SQLAlchemy URL as a libpq URI for pg_dump/pg_restore, and the search_path schema it selects."""
    parts = urlsplit(url)
    scheme = "postgresql"
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    for k, v in query:
        if k == "options" and "search_path=" in v:
            schema = v.split("search_path=", 1)[1].split(",")[0].split()[0]
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment)), schema


def _owner_only(path: Path) -> None:
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


def backup(url: str, out: str | Path) -> Path:
    """Write a backup of the database at `url` to `out` (a file, created owner-only)."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} exists already: choose a new file name (a backup never overwrites).")
    out.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        src_path = _sqlite_path(url)
        if not src_path.exists():
            raise BackupError(f"No database file at {src_path}.")
        fd = os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        src = sqlite3.connect(src_path, timeout=30)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst, pages=-1)  # one step on a read snapshot: WAL writers go on meanwhile
        finally:
            dst.close()
            src.close()
        return out
    if url.startswith("postgresql"):
        exe = shutil.which("pg_dump")
        if exe is None:
            raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client).")
        uri, schema = libpq_url(url)
        cmd = [exe, "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", f"--dbname={uri}"]
        if schema:
            cmd.append(f"--schema={schema}")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            out.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        _owner_only(out)
        return out
    raise BackupError(f"Unsupported database for backup: {url.split(':', 1)[0]}")


def _refuse_non_empty(url: str, where: str) -> None:
    """Refuse a restore into a database that holds any table with rows (nothing is written)."""
    probe = create_engine(url)
    try:
        reason = _non_empty_reason(probe)
    finally:
        probe.dispose()
    if reason:
        raise BackupError(f"Refusing to restore {where}: it is not empty ({reason}). Restore into a new, empty "
                          "database.")


def _non_empty_reason(engine: Engine) -> str | None:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM information_schema.tables "
                                  "WHERE table_schema = ANY (current_schemas(false))")).scalar()
        return f"it holds {n} tables" if n else None
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in CORE_TABLES:
            if table in names and conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None:
                return f"its table {table} holds rows"
    return None


def restore(backup_file: str | Path, url: str) -> RestoreReport:
    """Restore a backup into the EMPTY database at `url`; refuses a non-empty one. Migrates to head and
    verifies the audit chain afterwards."""
    from db.engine import make_session_factory, upgrade_to_head
    from hub import audit

    src = Path(backup_file)
    if not src.is_file():
        raise BackupError(f"No backup file at {src}.")
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            _refuse_non_empty(url, f"into {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
        b_src = sqlite3.connect(src)
        try:
            try:
                intact = b_src.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            except sqlite3.DatabaseError:
                intact = False
            if not intact:
                raise BackupError(f"{src} is not an intact SQLite database.")
            dst = sqlite3.connect(target, timeout=30)
            try:
                b_src.backup(dst)
            finally:
                dst.close()
        finally:
            b_src.close()
        _owner_only(target)
    elif url.startswith("postgresql"):
        exe = shutil.which("pg_restore")
        if exe is None:
            raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client).")
        _refuse_non_empty(url, "into the target database")
        uri, _schema = libpq_url(url)
        done = subprocess.run([exe, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                               f"--dbname={uri}", str(src)], capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    else:
        raise BackupError(f"Unsupported database for restore: {url.split(':', 1)[0]}")
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        sf = make_session_factory(engine)
        report = audit.verify(sf)
        with engine.connect() as conn:
            names = set(inspect(engine).get_table_names())
            counts = {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0)
                      for t in CORE_TABLES if t in names}
    finally:
        engine.dispose()
    return RestoreReport(counts, report.ok, report.message())
