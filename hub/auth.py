"""Login support behind one small interface: password hashes, credentials for the login widget,
failed-login counting and locking, and the per-run check that a session's user is still valid.

The login widget (streamlit-authenticator) lives in ui/auth.py; everything it needs from the
database comes from here, so it can be replaced by OIDC without touching services.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import bcrypt
from sqlalchemy import select

from db.models import User, utcnow
from hub import audit, settings
from hub.access import Actor

PLACEHOLDER_SECRETS = {"", "some_key", "changeme", "change-me", "secret", "placeholder", "replace-me",
                       "random_signature_key", "abcdef", "xxxxx"}
MIN_SECRET_LENGTH = 32


def hash_password(password: str) -> str:
    """bcrypt hash of a password."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=10)).decode("ascii")


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
            path.write_text(secrets.token_urlsafe(48))
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


def credentials(session_factory) -> tuple[dict, int]:
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


def record_failed_logins(session_factory, counts: dict[str, int], known: dict[str, int]) -> list[str]:
    """Persist failed-login counts the widget accumulated; lock accounts at the threshold.

    `counts` are the widget's counters after the attempt, `known` those it started with.
    Returns the usernames locked by this call.
    """
    newly_locked: list[str] = []
    changed = {u: c for u, c in counts.items() if c > known.get(u, 0)}
    if not changed:
        return newly_locked
    with session_factory.begin() as s:
        max_attempts = int(settings.get(s, "security.max_login_attempts"))
        for username, count in changed.items():
            user = s.scalar(select(User).where(User.username == username))
            if user is None or user.locked:
                continue
            user.failed_login_attempts = user.failed_login_attempts + (count - known.get(username, 0))
            audit.record(s, None, "login.failed", "user", user.id, {"failed_login_attempts": user.failed_login_attempts})
            if user.failed_login_attempts >= max_attempts:
                user.locked = True
                user.sessions_valid_after = utcnow()
                newly_locked.append(username)
                audit.record(s, None, "user.locked", "user", user.id, {"reason": "too many failed logins"})
    return newly_locked


def record_login(session_factory, username: str, via_cookie: bool) -> None:
    """A successful login resets the failure counter and is audited."""
    with session_factory.begin() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            return
        user.failed_login_attempts = 0
        audit.record(s, None, "login.cookie" if via_cookie else "login.password", "user", user.id)


def actor_for(session_factory, username: str | None, token_issued_at: datetime | None = None) -> Actor | None:
    """The Actor for a logged-in username, or None if the user no longer exists, is inactive or
    locked, or the login cookie was issued before the user's sessions were invalidated."""
    if not username:
        return None
    with session_factory() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active or user.locked:
            return None
        if token_issued_at is not None and token_issued_at < user.sessions_valid_after - timedelta(seconds=1):
            return None
        return Actor(
            user_id=user.id,
            username=user.username,
            name=user.name,
            roles=frozenset(r.role for r in user.roles),
            practice_id=user.practice_id,
            discipline=user.discipline,
        )
