"""Helpers shared by the test packages (imported as a plain module; pytest puts tests/ on sys.path)."""

from __future__ import annotations

from db.models import User, UserRole
from hub.access import Actor
from hub.auth import hash_password

TEST_PASSWORD = "correct-horse-battery"
_HASH = hash_password(TEST_PASSWORD)


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
