"""Migration 0017: a PHQ-9 the patient left incomplete (stored as 'not_returned' before 0017) becomes
'incomplete' (it came back, not scored), a PROM that was not returned stays so; down again both read as
before. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import select

from db.engine import alembic_config, make_engine, make_session_factory, upgrade_to_head
from db.models import Assessment, Patient
from hub import demo


def _migrate(engine, target: str, down: bool) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, target)


def _statuses(engine) -> dict[int, str]:
    with engine.connect() as c:
        return dict(c.execute(select(Assessment.id, Assessment.status).order_by(Assessment.id)).all())


def test_incomplete_patient_phq9_moves_to_its_own_status_and_back(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        demo.seed_demo(make_session_factory(engine), n_patients=3, today=date(2026, 11, 27))
        _migrate(engine, "0016_flags_one_store", down=True)
        with engine.begin() as c:
            pid = c.scalar(select(Patient.id).limit(1))
            common = {"patient_id": pid, "instrument": "phq9", "administered_on": date(2026, 11, 20),
                      "instrument_version": "1", "scoring_version": "1", "total": None, "band": None}
            c.execute(Assessment.__table__.insert(), [
                {**common, "mode": "patient-completed", "status": "not_returned", "responses": {"PHQ9_Q9": 2},
                 "safety_alert": True},
                {**common, "mode": "self", "status": "not_returned", "responses": {}, "safety_alert": False}])
        before = _statuses(engine)
        partial, missed = sorted(before)[-2:]
        engine.dispose()
        engine = make_engine(database_url)
        upgrade_to_head(engine)
        after = _statuses(engine)
        assert after[partial] == "incomplete" and after[missed] == "not_returned"
        assert {k: v for k, v in after.items() if k != partial} == {k: v for k, v in before.items() if k != partial}
        _migrate(engine, "0016_flags_one_store", down=True)
        assert _statuses(engine) == before
    finally:
        engine.dispose()
