"""Start-up: migrate the database to head and seed the demo cohort on an empty embedded database."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from db.engine import make_engine, make_session_factory, upgrade_to_head


def demo_wanted(url: str) -> bool:
    """Seed demo data on an empty database: always on the embedded SQLite default, and on a server
    database only when HUB_DEMO=1 (a deployment never gets synthetic patients by surprise)."""
    flag = os.environ.get("HUB_DEMO", "").strip()
    if flag in ("0", "false", "no"):
        return False
    return url.startswith("sqlite") or flag in ("1", "true", "yes")


def prepare(url: str | None = None) -> tuple[Engine, object]:
    """Engine and session factory for a database at head, seeded with the demo when wanted and empty."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    if demo_wanted(engine.url.render_as_string(hide_password=False)):
        from hub import demo

        if demo.is_empty(sf):
            demo.seed_demo(sf)
            after_seed(sf)
    return engine, sf


def after_seed(session_factory) -> None:
    """After the demo cohort: flags and priority, then past and upcoming hub meetings through the services."""
    from hub import demo, flags

    flags.recompute_all(session_factory)
    demo.seed_demo_meetings(session_factory)
    demo.seed_demo_invitations(session_factory)
