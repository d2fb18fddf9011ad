"""The synthetic demo: a cohort of patients (hub.demo.cohort) and the hub meetings held about them
(hub.demo.meetings). The domain never imports this package; start-up calls `seed_all` through
hub.bootstrap, and the CLI's `demo` command calls `reset_demo` / `seed_all`."""

from __future__ import annotations

from hub.demo.cohort import (
    DEMO_PASSWORD,
    DEMO_USERS,
    PRACTICES,
    TRAJECTORIES,
    DemoResetRefused,
    cohort_counts,
    is_empty,
    non_demo_events,
    reset_demo,
    seed_demo,
    wipe,
)
from hub.demo.invitations import seed_demo_invitations
from hub.demo.meetings import seed_demo_meetings
from db.engine import SessionFactory


def seed_all(session_factory: SessionFactory, *, seed: int = 2026, password: str = DEMO_PASSWORD, today=None) -> dict:
    """Seed the whole demo into an empty database in ONE transaction: the cohort, flags and priority for it,
    the past and upcoming hub meetings written through the services, and a `demo.complete` audit marker.
    A kill at any moment leaves the database as it was (empty), so the next start seeds it again. The
    services' own transactions become savepoints of the outer one. Returns the cohort's row counts."""
    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    from hub import audit, flags

    engine = session_factory.kw["bind"]
    with engine.connect() as conn, conn.begin():
        # A write first: pysqlite opens its transaction only at the first write, and a savepoint released
        # outside a transaction would commit on its own (and the write lock is held from here on).
        conn.execute(text("UPDATE audit_chain SET seq = seq WHERE id = 1"))
        inner = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        counts = seed_demo(inner, seed=seed, password=password, today=today)
        flags.recompute_all(inner, today=today)
        seed_demo_meetings(inner, today=today, seed=seed)
        seed_demo_invitations(inner)
        with inner.begin() as s:
            audit.record(s, None, "demo.complete", "demo", None, {"seed": seed})
    return counts


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "PRACTICES", "TRAJECTORIES", "cohort_counts", "is_empty", "reset_demo",
           "DemoResetRefused", "non_demo_events", "wipe", "seed_all", "seed_demo", "seed_demo_invitations",
           "seed_demo_meetings"]
