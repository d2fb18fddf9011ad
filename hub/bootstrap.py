"""Start-up: migrate the database to head and seed the demo cohort on an empty embedded database."""

from __future__ import annotations

import os
import secrets
import sys

from sqlalchemy import Engine

from db.engine import SessionFactory, make_engine, make_session_factory, upgrade_to_head
from hub import text as _text  # noqa: F401  (registers the last-line text guards before the engine is made)


def demo_wanted(url: str) -> bool:
    """Seed demo data on an empty database: always on the embedded SQLite default, and on a server
    database only when HUB_DEMO=1 (a deployment never gets synthetic patients by surprise)."""
    flag = os.environ.get("HUB_DEMO", "").strip()
    if flag in ("0", "false", "no"):
        return False
    return url.startswith("sqlite") or flag in ("1", "true", "yes")


def prepare(url: str | None = None, *, announce=None) -> tuple[Engine, object]:
    """Engine and session factory for a database at head, seeded with the demo when wanted and empty.

    The demo is seeded in one transaction (hub.demo.seed_all): a kill part-way leaves an empty database
    that the next start seeds again. On a server database (HUB_DEMO=1 with PostgreSQL) the demo users get a
    random password, printed once to the terminal (`announce`, default stderr), never the published one."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    rendered = engine.url.render_as_string(hide_password=False)
    seeded = None
    if demo_wanted(rendered):
        from hub import demo

        if demo.is_empty(sf):
            print("MSK Pain Hub: seeding the synthetic demo (first start only; a few seconds)…", flush=True)
        seeded = seed_demo_if_empty(sf, server=not rendered.startswith("sqlite"), announce=announce)
    print(f"MSK Pain Hub: database {engine.url.render_as_string(hide_password=True)}"
          + (" (demo seeded now)" if seeded else ""), flush=True)
    logins = demo_logins(sf, rendered)
    if logins:
        print(f"MSK Pain Hub: demo logins {', '.join(u for u, _ in logins)}; password {demo_password()} "
              "(synthetic patients only)", flush=True)
    return engine, sf


def demo_password() -> str:
    """The published password of the embedded demo's users (synthetic data only)."""
    from hub.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def demo_logins(sf: SessionFactory, url: str) -> list[tuple[str, str]]:
    """(username, who) of the demo users still active on the embedded demo database, whose users have the
    published demo password; [] otherwise (a server database's demo users get a random password, and a
    deployment never advertises logins)."""
    if not url.startswith("sqlite") or not demo_wanted(url):
        return []
    from sqlalchemy import select

    from db.models import User
    from hub.demo import DEMO_USERS

    with sf() as s:
        active = set(s.scalars(select(User.username).where(User.username.in_([u["username"] for u in DEMO_USERS]),
                                                           User.active.is_(True))))
    return [(u["username"], u["name"] + " · " + ", ".join(u["roles"])) for u in DEMO_USERS if u["username"] in active]


def seed_demo_if_empty(session_factory: SessionFactory, *, server: bool, announce=None,
                       seed: int = 2026) -> dict | None:
    """Seed the whole demo when the database is empty; returns the counts, or None if it was not empty
    (also when another process seeded it at the same moment)."""
    from hub import demo

    if not demo.is_empty(session_factory):
        return None
    password = secrets.token_urlsafe(15) if server else demo.DEMO_PASSWORD
    try:
        counts = demo.seed_all(session_factory, seed=seed, password=password)
    except RuntimeError:
        if demo.is_empty(session_factory):
            raise
        return None  # another process seeded it first
    if server:
        say = announce or (lambda text: print(text, file=sys.stderr, flush=True))
        say("=" * 72 + "\nDEMO users were created on this SERVER database with a random password (shown once):\n"
            f"    {password}\nusernames: " + ", ".join(u["username"] for u in demo.DEMO_USERS)
            + "\nSynthetic patients only. Reset passwords from the admin page or drop the database.\n" + "=" * 72)
    return counts
