"""Login support behind one small interface: password hashes, credentials for the login widget,
failed-login counting and locking, and the per-run check that a session's user is still valid.

The login widget (streamlit-authenticator) lives in ui/auth.py; everything it needs from the
database comes from here, so it can be replaced by OIDC without touching services.
"""

from __future__ import annotations

import os
import secrets
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import bcrypt
from sqlalchemy import case, select, true, update

from db.models import User, utcnow
from hub import audit, settings
from hub.access import Actor
from db.engine import SessionFactory

PLACEHOLDER_SECRETS = {"", "some_key", "changeme", "change-me", "secret", "placeholder", "replace-me",
                       "random_signature_key", "abcdef", "xxxxx"}
MIN_SECRET_LENGTH = 32


BCRYPT_ROUNDS = 12  # cost factor of new hashes; older, cheaper hashes are re-hashed at the next login
MAX_LOGIN_DELAY_S = 8.0


def hash_password(password: str, rounds: int | None = None) -> str:
    """bcrypt hash of a password (at BCRYPT_ROUNDS unless `rounds` is given)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds or BCRYPT_ROUNDS)).decode("ascii")


def hash_rounds(password_hash: str) -> int | None:
    """The bcrypt cost factor of a hash ('$2b$12$...' -> 12), None if unreadable."""
    parts = (password_hash or "").split("$")
    try:
        return int(parts[2])
    except (IndexError, ValueError):
        return None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with a cost below BCRYPT_ROUNDS."""
    rounds = hash_rounds(password_hash)
    return rounds is None or rounds < BCRYPT_ROUNDS


def login_delay(failed_attempts: int) -> float:
    """Seconds a failed login waits before answering: 0.5 s after the first failure, doubling with each
    further one on the same account, at most MAX_LOGIN_DELAY_S."""
    if failed_attempts <= 0:
        return 0.0
    return min(0.5 * 2 ** (failed_attempts - 1), MAX_LOGIN_DELAY_S)


def check_password(password: str, password_hash: str) -> bool:
    """True if the password matches the bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < 10:
        return "Password must be at least 10 characters."
    if password.strip() != password:
        return "Password must not start or end with a space."
    return None


class SecretError(RuntimeError):
    """The cookie secret is missing or a placeholder: the app refuses to start."""


def cookie_secret(project_root: Path, embedded: bool) -> str:
    """The login-cookie signing key: HUB_COOKIE_SECRET, else .streamlit/secrets.toml [auth] cookie_key,
    else (embedded demo only) a random key generated once under data/. Refuses placeholders."""
    value = os.environ.get("HUB_COOKIE_SECRET")
    origin = "HUB_COOKIE_SECRET"
    if value is None:
        secrets_file = project_root / ".streamlit" / "secrets.toml"
        if secrets_file.exists():
            with secrets_file.open("rb") as f:
                value = tomllib.load(f).get("auth", {}).get("cookie_key")
            origin = ".streamlit/secrets.toml [auth] cookie_key"
    if value is None and embedded:
        path = project_root / "data" / "cookie_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # created owner-only from the start (never world-readable, not even for a moment)
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                fd = None  # another process created it at the same moment: use theirs
            if fd is not None:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        value = path.read_text().strip()
        origin = str(path)
    if value is None:
        raise SecretError(
            "No cookie secret configured. Set HUB_COOKIE_SECRET (at least 32 random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) or [auth] cookie_key in "
            ".streamlit/secrets.toml."
        )
    if value.strip().lower() in PLACEHOLDER_SECRETS or len(value.strip()) < MIN_SECRET_LENGTH:
        raise SecretError(
            f"The cookie secret from {origin} is a placeholder or shorter than {MIN_SECRET_LENGTH} characters. "
            "Anyone who knows it can forge a login: set a long random value."
        )
    return value.strip()


def credentials(session_factory: SessionFactory) -> tuple[dict, int]:
    """Credentials dict for the login widget built from active users, and the lock threshold.

    Locked users are included with their failure count at the threshold, so the widget refuses
    them with 'maximum number of login attempts'; deactivated users are left out entirely.
    """
    with session_factory() as s:
        max_attempts = int(settings.get(s, "security.max_login_attempts"))
        users = s.scalars(select(User).where(User.active.is_(True))).all()
        creds = {
            u.username: {
                "name": u.name,
                "email": u.email or f"{u.username}@hub.invalid",
                "password": u.password_hash,
                "roles": sorted(r.role for r in u.roles),
                "failed_login_attempts": max_attempts if u.locked else u.failed_login_attempts,
                "logged_in": False,
            }
            for u in users
        }
    return {"usernames": creds}, max_attempts


@dataclass(frozen=True)
class LoginOutcome:
    """What a password login attempt did: logged in, or refused (locked or wrong), and the account's
    failure count after a wrong password."""

    ok: bool
    locked: bool = False
    failed_attempts: int = 0
    newly_locked: bool = False
    delay: float = 0.0
    rehashed: bool = False


_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def attempt_login(session_factory: SessionFactory, username: str, password: str, *,
                  sleep: Callable[[float], None] = time.sleep) -> LoginOutcome:
    """Check a password login and count failures atomically, so parallel attempts cannot get past the lock.

    A wrong password increments the account's failure count and locks it at the threshold in ONE
    statement (UPDATE ... SET n = n + 1 ... RETURNING n): every attempt sees the count its own
    increment produced, whatever runs beside it. The answer then waits `login_delay(n)`. A right
    password logs in only through an UPDATE conditional on the account being active, unlocked and
    below the threshold at that moment, so a right password racing wrong ones never logs into a
    locked account. A hash cheaper than BCRYPT_ROUNDS is replaced at a successful login.
    """
    username = (username or "").strip().lower()
    with session_factory() as s:
        max_attempts = int(settings.get(s, "security.max_login_attempts"))
        row = s.execute(select(User.id, User.password_hash, User.active).where(User.username == username)).first()
    if row is None or not row.active:
        check_password(password or "", _dummy())  # the same time as a real check: usernames are not revealed
        sleep(login_delay(1))
        return LoginOutcome(False, delay=login_delay(1))
    uid, stored = row.id, row.password_hash
    if check_password(password or "", stored):
        new_hash = hash_password(password) if needs_rehash(stored) else None
        with session_factory.begin() as s:
            granted = s.execute(
                update(User).where(User.id == uid, User.active.is_(True), User.locked.is_(False),
                                   User.failed_login_attempts < max_attempts)
                .values(failed_login_attempts=0).returning(User.id)
            ).first()
            if granted is None:
                audit.record(s, None, "login.refused", "user", uid, {"reason": "account locked"})
                locked = True
            else:
                locked = False
                if new_hash is not None:
                    s.execute(update(User).where(User.id == uid, User.password_hash == stored)
                              .values(password_hash=new_hash))
                audit.record(s, None, "login.password", "user", uid,
                             {"rehashed": True} if new_hash is not None else {})
        if locked:
            return LoginOutcome(False, locked=True, failed_attempts=max_attempts)
        return LoginOutcome(True, rehashed=new_hash is not None)
    now = utcnow()
    with session_factory.begin() as s:
        n, locked = s.execute(
            update(User).where(User.id == uid)
            .values(failed_login_attempts=User.failed_login_attempts + 1,
                    locked=case((User.failed_login_attempts + 1 >= max_attempts, true()), else_=User.locked),
                    sessions_valid_after=case((User.failed_login_attempts + 1 == max_attempts, now),
                                              else_=User.sessions_valid_after))
            .returning(User.failed_login_attempts, User.locked)
        ).one()
        audit.record(s, None, "login.failed", "user", uid, {"failed_login_attempts": n})
        if n == max_attempts:
            audit.record(s, None, "user.locked", "user", uid, {"reason": "too many failed logins"})
    delay = login_delay(n)
    sleep(delay)
    return LoginOutcome(False, locked=bool(locked), failed_attempts=n, newly_locked=n == max_attempts, delay=delay)


def record_login(session_factory: SessionFactory, username: str, via_cookie: bool = True) -> None:
    """A login by the re-login cookie is audited (password logins are audited by attempt_login)."""
    with session_factory.begin() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            return
        audit.record(s, None, "login.cookie" if via_cookie else "login.password", "user", user.id)


def actor_for(session_factory: SessionFactory, username: str | None,
              token_issued_at: datetime | None = None) -> Actor | None:
    """The Actor for a logged-in username, or None if the user no longer exists, is inactive or
    locked, or the session began (login, or the login cookie's issue) before the user's sessions were
    invalidated (password reset or change, deactivation, lock). The login gate passes the session's
    login time on every run, so an open session ends at the next interaction after a reset."""
    if not username:
        return None
    with session_factory() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active or user.locked:
            return None
        if token_issued_at is not None and token_issued_at < user.sessions_valid_after:
            return None
        return Actor(
            user_id=user.id,
            username=user.username,
            name=user.name,
            roles=frozenset(r.role for r in user.roles),
            practice_id=user.practice_id,
            discipline=user.discipline,
        )
