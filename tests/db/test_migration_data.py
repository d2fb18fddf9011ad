"""Migrations keep the data of an existing hub: a database with patients, cases, treatments, assessments and
reviews is taken down to the last schema before this round (0005) and up to head again, and every table that
exists in both keeps every row. On SQLite this fails if a migration rebuilds a table that others refer to
while foreign keys are on (the rebuild drops the old table: refused, or its ON DELETE CASCADE loses rows)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from db.engine import alembic_config, make_engine, make_session_factory, upgrade_to_head
from hub import demo

BEFORE_THIS_ROUND = "0005"


def _counts(engine) -> dict[str, int]:
    names = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.connect() as c:
        return {t: int(c.scalar(text(f'SELECT count(*) FROM "{t}"'))) for t in names}


def test_down_to_0005_and_up_to_head_keeps_every_row(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        demo.seed_demo(make_session_factory(engine), n_patients=20)
        at_head = _counts(engine)
        assert at_head["patient"] == 20 and at_head["treatment"] > 0 and at_head["assessment"] > 0

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, BEFORE_THIS_ROUND)
        at_0005 = _counts(engine)
        for table, n in at_0005.items():
            if table in at_head and table not in ("audit_event",):
                assert n == at_head[table], f"{table}: {at_head[table]} rows at head, {n} after the downgrade"

        engine.dispose()
        engine = make_engine(database_url)
        upgrade_to_head(engine)
        again = _counts(engine)
        for table, n in at_0005.items():
            assert again[table] >= n, f"{table}: {n} rows at 0005, {again[table]} after upgrading again"
        assert again["patient"] == at_head["patient"] and again["hub_case"] == at_head["hub_case"]
        if engine.dialect.name == "sqlite":
            with engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # switched back on after the run
                assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        engine.dispose()
