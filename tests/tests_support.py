"""Helpers shared by the test packages (imported as a plain module; pytest puts tests/ on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass

from db.models import Practice, User, UserRole
from hub.access import Actor
from hub.auth import hash_password

TEST_PASSWORD = "correct-horse-battery"
# Tests hash at bcrypt cost 4 (tests/conftest.py: TEST_BCRYPT_ROUNDS); the cost test restores the app's.
TEST_BCRYPT_ROUNDS = 4
_HASH = hash_password(TEST_PASSWORD, rounds=TEST_BCRYPT_ROUNDS)


def add_user(s, username: str, name: str, roles: list[str], practice_id=None, discipline=None) -> Actor:
    """Insert a user with TEST_PASSWORD and return its Actor."""
    u = User(username=username, name=name, password_hash=_HASH, practice_id=practice_id, discipline=discipline,
             roles=[UserRole(role=r) for r in roles])
    s.add(u)
    s.flush()
    return Actor(u.id, username, name, frozenset(roles), practice_id, discipline)


def backdate_audit(s) -> None:
    """Let this test transaction edit audit rows (to backdate events). On PostgreSQL the append-only trigger
    is skipped for this transaction only (session_replication_role needs a superuser, which the tests are and
    the app's database role is not). Editing breaks the hash chain, which is the point of the chain."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        s.execute(text("SET LOCAL session_replication_role = replica"))


@dataclass
class World:
    """Two practices and one user per role, as Actors."""

    sf: object
    practice_a: int
    practice_b: int
    pcp_a: Actor
    pcp_b: Actor
    specialist: Actor
    chair: Actor
    admin: Actor


def make_world(sf) -> World:
    """Practices A and B, a PCP in each, a specialist, a chair and an admin, written into `sf`."""
    with sf.begin() as s:
        a = Practice(code="A", name="Practice A")
        b = Practice(code="B", name="Practice B")
        s.add_all([a, b])
        s.flush()
        w = World(
            sf=sf, practice_a=a.id, practice_b=b.id,
            pcp_a=add_user(s, "pcp.a", "Dr A", ["pcp"], practice_id=a.id),
            pcp_b=add_user(s, "pcp.b", "Dr B", ["pcp"], practice_id=b.id),
            specialist=add_user(s, "physio", "Physio P", ["specialist"], discipline="physiotherapy"),
            chair=add_user(s, "chair", "Chair C", ["chair", "specialist"], discipline="pain_medicine"),
            admin=add_user(s, "admin", "Admin", ["admin"]),
        )
    return w


def seed_app_demo(sf) -> None:
    """What the app's start-up (hub.bootstrap.prepare on an embedded database) writes into an empty database:
    the demo cohort, its flags and priority, the past and upcoming hub meetings and the patient invitations,
    in one transaction, with the published demo password."""
    from hub import demo

    demo.seed_all(sf)


def url_of(sf) -> str:
    """The database URL behind a session factory (the fixtures' `world` and `sf` are copies of templates, so
    their URL is not the `database_url` fixture's)."""
    return sf.kw["bind"].url.render_as_string(hide_password=False)
