"""The audit trail's hash chain (SQLite and PostgreSQL): appends under concurrency, verification that
finds the first broken link, the PostgreSQL trigger refusing UPDATE/DELETE, and `demo --reset` refusing
a database with non-demo events."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from db.models import AuditChain, AuditEvent
from hub import audit, demo, users
from hub.__main__ import main as cli
from tests_support import backdate_audit


def _write_events(sf, n: int, actor=None):
    for i in range(n):
        with sf.begin() as s:
            audit.record(s, actor, "test.event", "case", i, {"i": i, "note": f"text {i}", "when": None})


def test_every_event_is_chained_in_order(world):
    _write_events(world.sf, 5, world.pcp_a)
    with world.sf() as s:
        rows = s.execute(select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.seq)).all()
        head = s.execute(select(AuditChain.seq, AuditChain.last_hash)).one()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert (head.seq, head.last_hash) == (rows[-1].seq, rows[-1].hash)
    report = audit.verify(world.sf)
    assert report.ok and report.checked == len(rows)


def test_rolled_back_events_are_not_appended(world):
    before = audit.verify(world.sf).checked
    with pytest.raises(RuntimeError):
        with world.sf.begin() as s:
            audit.record(s, None, "test.event", "case", 1)
            raise RuntimeError("the service failed")
    assert audit.verify(world.sf).checked == before


def test_parallel_appends_from_threads_make_one_chain(world):
    barrier = threading.Barrier(8)
    errors = []

    def writer(k):
        try:
            barrier.wait()
            for i in range(5):
                with world.sf.begin() as s:
                    audit.record(s, None, "test.parallel", "case", k, {"k": k, "i": i})
                    audit.record(s, None, "test.parallel", "case", k, {"k": k, "i": i, "second": True})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    report = audit.verify(world.sf)
    assert report.ok
    with world.sf() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "test.parallel")) == 80


def _tamper(sf, statement):
    with sf.begin() as s:
        backdate_audit(s)
        s.execute(statement)


def test_an_edited_event_is_found(world):
    _write_events(world.sf, 6)
    with world.sf() as s:
        third = s.execute(select(AuditEvent.id, AuditEvent.seq).order_by(AuditEvent.seq).offset(2).limit(1)).one()
    _tamper(world.sf, update(AuditEvent).where(AuditEvent.id == third.id).values(changes={"i": 999}))
    report = audit.verify(world.sf)
    assert not report.ok and report.broken_seq == third.seq and "edited" in report.reason
    assert f"#{third.seq}" in report.message()


def test_a_deleted_event_in_the_middle_or_at_the_end_is_found(world):
    _write_events(world.sf, 6)
    with world.sf() as s:
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    _tamper(world.sf, delete(AuditEvent).where(AuditEvent.seq == seqs[-1]))
    report = audit.verify(world.sf)
    assert not report.ok and report.broken_seq == seqs[-1] and "deleted" in report.reason
    _tamper(world.sf, delete(AuditEvent).where(AuditEvent.seq == seqs[2]))
    report = audit.verify(world.sf)
    assert not report.ok and report.broken_seq == seqs[2] and "missing" in report.reason


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_next_link(world):
    _write_events(world.sf, 4)
    with world.sf() as s:
        e = s.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(1).limit(1)).one()
        forged = audit.event_hash(e.prev_hash, e.seq, e.at, e.actor_id, e.action, e.entity, e.entity_id, {"i": 0})
    _tamper(world.sf, update(AuditEvent).where(AuditEvent.id == e.id).values(changes={"i": 0}, hash=forged))
    report = audit.verify(world.sf)
    assert not report.ok and report.broken_seq == e.seq + 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_trigger_refuses_update_and_delete_of_audit_rows(world):
    _write_events(world.sf, 2)
    for statement in (update(AuditEvent).values(action="edited"), delete(AuditEvent)):
        with pytest.raises(DBAPIError) as exc:
            with world.sf.begin() as s:
                s.execute(statement)
        assert "append-only" in str(exc.value)
    with world.sf() as s:
        assert s.scalar(text("SELECT count(*) FROM audit_event WHERE action = 'edited'")) == 0
    assert audit.verify(world.sf).ok


def test_verify_audit_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HUB_DEMO", "0")
    from db.engine import make_engine, make_session_factory, upgrade_to_head

    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    _write_events(sf, 3)
    assert cli(["verify-audit"]) == 0
    assert "3 events verified" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET entity_id = '42' WHERE seq = 2"))
    assert cli(["verify-audit"]) == 3
    assert "BROKEN at event #2" in capsys.readouterr().out
    engine.dispose()


def test_demo_reset_refuses_a_database_with_non_demo_events(world, monkeypatch):
    engine = world.sf.kw["bind"]
    # Logins, reads and exports only: still a demo database, reset allowed.
    with world.sf.begin() as s:
        audit.record(s, None, "login.password", "user", world.pcp_a.user_id)
        audit.record(s, world.pcp_a, "case.view", "case", 1)
    assert demo.non_demo_events(world.sf) == 0
    users.create_user(world.sf, world.admin, username="real.gp", name="Real GP", password="a-real-password",
                      roles=["pcp"], practice_id=world.practice_a)
    assert demo.non_demo_events(world.sf) >= 1
    with pytest.raises(demo.DemoResetRefused):
        demo.reset_demo(engine, n_patients=3)
    with world.sf() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > 0  # nothing wiped
    assert audit.verify(world.sf).ok


def test_migration_chains_the_events_already_present(database_url):
    from alembic import command

    from db.engine import alembic_config, make_engine, make_session_factory

    engine = make_engine(database_url)
    cfg = alembic_config(database_url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0005")
    with engine.begin() as connection:
        for i in range(5):
            connection.execute(text("INSERT INTO audit_event (at, actor_id, action, entity, entity_id, changes) "
                                    "VALUES (:at, NULL, 'old.event', 'case', :e, :c)"),
                               {"at": f"2026-01-0{i + 1} 10:00:00", "e": str(i), "c": '{"n": %d}' % i})
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    sf = make_session_factory(engine)
    report = audit.verify(sf)
    assert report.ok and report.checked == 5
    with sf.begin() as s:
        audit.record(s, None, "new.event", "case", 9)
    assert audit.verify(sf).checked == 6
    engine.dispose()


def test_what_changed_reads_as_words_and_hides_clinical_values_from_a_non_clinical_admin():
    login = {"failed_login_attempts": 1, "locked": True}
    assert audit.describe_changes(login, "user", clinical=False) == "failed login attempts: 1; locked: true"
    note = {"formulation": "Central sensitisation likely", "plan_text": "Graded activity"}
    assert audit.describe_changes(note, "case", clinical=False) == "formulation, plan text"
    assert audit.describe_changes(note, "case", clinical=True) == (
        "formulation: Central sensitisation likely; plan text: Graded activity")
    assert audit.describe_changes({}, "case", clinical=True) == "—"
    assert audit.describe_changes(None, "user", clinical=True) == "—"
