"""Migration 0016_flags_one_store carries a hub's flags both ways: down to 0015 the case's flags column is rebuilt
from the case_flag rows (order, evidence, labels, a code that occurs twice), and up again the rows get their
place, evidence and repeats back from that column and the copies of the case's practice, condition and open
status; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import JSON, column, select, table, text
from sqlalchemy.dialects.postgresql import JSONB

from db.engine import alembic_config, make_engine, make_session_factory, upgrade_to_head
from db.models import OPEN_CASE_STATUSES, Case, CaseFlag
from hub import demo, flags
from hub.clinical.case_review import CaseEvaluation, Flag

TODAY = date(2026, 11, 27)
REPEATED = (
    Flag("safety_phq9", "red", "PHQ-9 item 9 answered above 0 on 3 Nov", {"on": "2026-11-03", "mode": None}),
    Flag("opioid_red", "red", "150 mg OME/day (≥ 120)", {"ome": 150.0}),
    Flag("safety_phq9", "red", "PHQ-9 item 9 answered above 0 on 20 Nov", {"on": "2026-11-20", "mode": None}),
    Flag("appropriate_restraint", "info", "No change by decision", {"ti_score": 0}),
)


def _migrate(engine, target: str, down: bool) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, target)


def test_flags_go_down_to_the_json_column_and_back_to_the_rows(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        sf = make_session_factory(engine)
        demo.seed_demo(sf, n_patients=20, today=TODAY)
        flags.recompute_all(sf, TODAY)
        with sf.begin() as s:
            repeated = s.scalar(select(Case.id).order_by(Case.id))
            flags._store(s, {repeated: CaseEvaluation(REPEATED, None, 150.0, 99.0, (), None)}, TODAY)
        with sf() as s:
            ids = list(s.scalars(select(Case.id)))
            at_head = flags.for_cases(s, ids)
        assert at_head[repeated] == REPEATED and sum(len(v) for v in at_head.values()) > len(ids)

        _migrate(engine, "0015", down=True)
        old_case = table("hub_case", column("id"), column("flags", JSON().with_variant(JSONB(), "postgresql")))
        with engine.connect() as c:
            stored = dict(c.execute(select(old_case.c.id, old_case.c.flags)).all())
            codes = {(r.case_id, r.code) for r in c.execute(text("SELECT case_id, code FROM case_flag"))}
        for cid in ids:  # the column as 0015 wrote it: worst first, with labels and evidence
            assert stored[cid] == [f.as_dict() for f in at_head[cid]], cid
        assert codes == {(cid, f.code) for cid, fs in at_head.items() for f in fs}

        engine.dispose()
        engine = make_engine(database_url)
        upgrade_to_head(engine)
        sf = make_session_factory(engine)
        with sf() as s:
            assert flags.for_cases(s, ids) == at_head
            rows = s.execute(select(CaseFlag.case_id, CaseFlag.practice_id, CaseFlag.condition, CaseFlag.is_open,
                                    CaseFlag.unsubmitted, CaseFlag.submitted_at, Case.practice_id, Case.condition,
                                    Case.status, Case.submitted_at)
                             .join(Case, Case.id == CaseFlag.case_id)).all()
        assert rows and all((r[1], r[2], r[3], r[4], r[5])
                            == (r[6], r[7], r[8] in OPEN_CASE_STATUSES, r[9] is None, r[9]) for r in rows)
        if engine.dialect.name == "sqlite":
            with engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert "flags" not in {r[1] for r in c.exec_driver_sql("PRAGMA table_info(hub_case)")}
    finally:
        engine.dispose()
