"""Engine and session factory: SQLite (embedded default) or PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "hub.db"

# What every service takes as `session_factory`: `with session_factory.begin() as s:` is one unit of work.
SessionFactory = sessionmaker[Session]


def database_url() -> str:
    """The database URL the app uses: DATABASE_URL, else the embedded SQLite file data/hub.db."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


# Last-line guards the domain registers when it is imported (hub/__init__.py), so that db stays below hub in
# the layers: wrappers of every session factory, and cursor listeners of server (non-SQLite) engines.
SESSION_FACTORY_GUARDS: list[Callable[[sessionmaker[Session]], sessionmaker[Session]]] = []
SERVER_QUERY_GUARDS: list[Callable[..., None]] = []


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _owner_only_file(url: str) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does (it would follow the umask, usually
    world-readable), and tighten an existing file. SQLite gives its -wal and -shm files the same mode."""
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    p = Path(path)
    try:
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
        if p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)
    except OSError:
        pass  # a read-only location: SQLite reports it when connecting


_INDEX_HINT = re.compile(r"SELECT /\* indexed_by (\w+) \*/ ")


def _sqlite_index_hint(conn, cursor, statement, parameters, context, executemany):
    """Turn a query's `/* indexed_by ix_name */` prefix (SQLite only: sqlite_index_hint) into SQLite's
    `INDEXED BY` on its first hub_case table (case_flag for an ix_case_flag_* index): SQLAlchemy renders no
    table hints for SQLite."""
    m = _INDEX_HINT.search(statement)
    if m:
        head, tail = statement[:m.end()], statement[m.end():]
        hint = "NOT INDEXED" if m.group(1) == "NOT_INDEXED" else f"INDEXED BY {m.group(1)}"
        table = "case_flag" if m.group(1).startswith("ix_case_flag") else "hub_case"
        statement = head + re.sub(rf"FROM {table}\b(?! INDEXED BY| NOT INDEXED)", f"FROM {table} {hint}",
                                  tail, count=1)
    return statement, parameters


def sqlite_index_hint(index_name: str) -> str:
    """The prefix (for Select.prefix_with(..., dialect="sqlite")) that makes SQLite read hub_case by this index
    ("NOT INDEXED": by rowid lookups only)."""
    index_name = index_name.replace(" ", "_")
    assert index_name.isidentifier()
    return f"/* indexed_by {index_name} */"


def make_engine(url: str | None = None) -> Engine:
    """Create an Engine with the project's connection settings (SQLite pragmas, pool pre-ping)."""
    url = url or database_url()
    if url.startswith("sqlite"):
        _owner_only_file(url)
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_index_hint, retval=True)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        for guard in SERVER_QUERY_GUARDS:
            event.listen(engine, "before_cursor_execute", guard)
    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    """Session factory; services use `with factory.begin() as s:` for one unit of work.

    The domain's guards wrap it (SESSION_FACTORY_GUARDS): every flush refuses control characters in string
    columns with the domain's ValidationError (hub.text.install_flush_guard)."""
    factory = sessionmaker(engine, expire_on_commit=False)
    for guard in SESSION_FACTORY_GUARDS:
        factory = guard(factory)
    return factory


def alembic_config(url: str):
    """Alembic configuration pointing at db/migrations for the given URL."""
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "db" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Run Alembic migrations up to head on this engine's database."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
