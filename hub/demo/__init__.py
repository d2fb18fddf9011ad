"""The synthetic demo: a cohort of patients (hub.demo.cohort) and the hub meetings held about them
(hub.demo.meetings). The domain never imports this package; start-up calls `seed_all` through
hub.bootstrap, and the CLI's `demo` command calls `reset_demo` / `seed_all`."""

from __future__ import annotations

from hub.demo.cohort import (
    DEMO_PASSWORD,
    DEMO_USERS,
    PRACTICES,
    TRAJECTORIES,
    cohort_counts,
    is_empty,
    reset_demo,
    seed_demo,
)
from hub.demo.invitations import seed_demo_invitations
from hub.demo.meetings import seed_demo_meetings


def seed_all(session_factory) -> dict:
    """Seed the whole demo into an empty database: the cohort, flags and priority for it, then the past and
    upcoming hub meetings written through the services. Returns the cohort's row counts."""
    from hub import flags

    counts = seed_demo(session_factory)
    flags.recompute_all(session_factory)
    seed_demo_meetings(session_factory)
    seed_demo_invitations(session_factory)
    return counts


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "PRACTICES", "TRAJECTORIES", "cohort_counts", "is_empty", "reset_demo",
           "seed_all", "seed_demo", "seed_demo_invitations", "seed_demo_meetings"]
