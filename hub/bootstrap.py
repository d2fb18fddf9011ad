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
    """Engine and session factory for a database at head, seeded with the demo when wanted and empty. Says
    on the terminal where the database is and, with the demo, how to log in."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    seeded = False
    if demo_wanted(engine.url.render_as_string(hide_password=False)):
        from hub import demo

        if demo.is_empty(sf):
            print("MSK Pain Hub: seeding the synthetic demo cohort (about ten seconds, first start only)…", flush=True)
            demo.seed_demo(sf)
            after_seed(sf)
            seeded = True
    print(f"MSK Pain Hub: database {engine.url.render_as_string(hide_password=True)}"
          + (" (demo seeded now)" if seeded else ""), flush=True)
    logins = demo_logins(sf, engine.url.render_as_string(hide_password=False))
    if logins:
        from hub.demo import DEMO_PASSWORD

        print(f"MSK Pain Hub: demo logins {', '.join(u for u, _ in logins)}; password {DEMO_PASSWORD} "
              "(synthetic patients only)", flush=True)
    return engine, sf


def demo_logins(sf, url: str) -> list[tuple[str, str]]:
    """(username, who) of the demo users still active, when this database is one the demo is seeded into
    (the embedded default or HUB_DEMO=1); [] otherwise, so a deployment never advertises logins."""
    if not demo_wanted(url):
        return []
    from sqlalchemy import select

    from db.models import User
    from hub.demo import DEMO_USERS

    with sf() as s:
        active = set(s.scalars(select(User.username).where(User.username.in_([u["username"] for u in DEMO_USERS]),
                                                           User.active.is_(True))))
    return [(u["username"], u["name"] + " · " + ", ".join(u["roles"])) for u in DEMO_USERS if u["username"] in active]


def after_seed(session_factory) -> None:
    """After the demo cohort: flags and priority, then past and upcoming hub meetings through the services."""
    from hub import demo, flags

    flags.recompute_all(session_factory)
    demo.seed_demo_meetings(session_factory)
