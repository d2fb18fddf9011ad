"""Backup and restore (SQLite online backup, pg_dump/pg_restore): a backup taken while the app writes
restores into an empty database with the same row counts and an intact audit chain; a non-empty target
is refused; files are created owner-only."""

from __future__ import annotations

import os
import shutil
import stat
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from db.engine import make_engine, make_session_factory, upgrade_to_head
from db.models import AuditEvent
from hub import audit, backup
from tests_support import url_of


def _writer(sf, stop: threading.Event, errors: list):
    i = 0
    try:
        while not stop.is_set():
            with sf.begin() as s:
                audit.record(s, None, "test.write", "case", i, {"i": i})
            i += 1
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in backup.CORE_TABLES}
    finally:
        engine.dispose()


def _restore_target(database_url: str, tmp_path):
    """An empty database of the same kind; on PostgreSQL a new database with the same search_path schema."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}", None
    base = os.environ["TEST_POSTGRES_URL"]
    name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _, schema = backup.libpq_url(database_url)
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}?options=-csearch_path%3D{schema}", name


def _drop_database(name: str | None):
    if name:
        admin = create_engine(os.environ["TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_during_writes_restores_with_counts_and_an_intact_chain(world, tmp_path):
    database_url = url_of(world.sf)
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    with world.sf.begin() as s:
        for i in range(50):
            audit.record(s, None, "test.before", "case", i)
    stop, errors = threading.Event(), []
    threads = [threading.Thread(target=_writer, args=(world.sf, stop, errors)) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        out = backup.backup(database_url, tmp_path / "hub.backup")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with world.sf() as s:
        written_total = s.scalar(select(func.count()).select_from(AuditEvent))
    target, dbname = _restore_target(database_url, tmp_path)
    try:
        report = backup.restore(out, target)
        assert report.chain_ok, report.chain_message
        restored = _counts(target)
        assert restored["user_account"] == 5 and restored["practice"] == 2
        assert 50 <= restored["audit_event"] <= written_total
        engine = make_engine(target)
        sf = make_session_factory(engine)
        report = audit.verify(sf)
        assert report.ok and report.checked == restored["audit_event"]
        with sf.begin() as s:  # the restored hub works: it appends to the same chain
            audit.record(s, None, "test.after_restore", "case", 1)
        assert audit.verify(sf).ok
        engine.dispose()
        # restoring again into the now non-empty database is refused
        with pytest.raises(backup.BackupError, match="(?i)refus"):
            backup.restore(out, target)
    finally:
        _drop_database(dbname)


def test_backup_never_overwrites_and_restore_refuses_a_non_empty_database(world, tmp_path):
    database_url = url_of(world.sf)
    out = tmp_path / "b.backup"
    out.write_text("x")
    with pytest.raises(backup.BackupError, match="exists"):
        backup.backup(database_url, out)
    with pytest.raises(backup.BackupError, match="(?i)refus"):
        backup.restore(out, database_url)  # the world's database holds users


def test_sqlite_file_created_owner_only(tmp_path):
    path = tmp_path / "new" / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    os.chmod(loose, 0o644)
    make_engine(f"sqlite:///{loose}").dispose()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


def test_backup_and_restore_commands(tmp_path, monkeypatch, capsys):
    from hub.__main__ import main as cli

    src = f"sqlite:///{tmp_path / 'src.db'}"
    engine = make_engine(src)
    upgrade_to_head(engine)
    with make_session_factory(engine).begin() as s:
        audit.record(s, None, "test.event", "case", 1)
    engine.dispose()
    monkeypatch.setenv("HUB_DEMO", "0")
    monkeypatch.setenv("DATABASE_URL", src)
    assert cli(["backup", str(tmp_path / "hub.backup")]) == 0
    assert "Backup written" in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'dst.db'}")
    assert cli(["restore", str(tmp_path / "hub.backup")]) == 0
    out = capsys.readouterr().out
    assert "audit_event 1" in out and "Audit chain intact: 1 events" in out
    assert cli(["restore", str(tmp_path / "hub.backup")]) == 1  # not empty any more
    assert "Refusing" in capsys.readouterr().err
