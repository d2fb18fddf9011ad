"""Login support: the cookie secret, lockout and the per-run session validity check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import User, utcnow
from hub import auth, users


@pytest.mark.parametrize("secret", ["some_key", "changeme", "x" * 31, "   "])
def test_placeholder_or_short_secret_is_refused(tmp_path, monkeypatch, secret):
    monkeypatch.setenv("HUB_COOKIE_SECRET", secret)
    with pytest.raises(auth.SecretError):
        auth.cookie_secret(tmp_path, embedded=True)


def test_secret_from_env_then_secrets_toml_then_generated_for_the_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_COOKIE_SECRET", "e" * 40)
    assert auth.cookie_secret(tmp_path, embedded=False) == "e" * 40
    monkeypatch.delenv("HUB_COOKIE_SECRET")
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\ncookie_key = "' + "t" * 40 + '"\n')
    assert auth.cookie_secret(tmp_path, embedded=False) == "t" * 40
    (tmp_path / ".streamlit" / "secrets.toml").unlink()
    with pytest.raises(auth.SecretError):  # a server database never gets a generated key
        auth.cookie_secret(tmp_path, embedded=False)
    generated = auth.cookie_secret(tmp_path, embedded=True)
    assert len(generated) >= 32 and auth.cookie_secret(tmp_path, embedded=True) == generated
    assert oct((tmp_path / "data" / "cookie_secret").stat().st_mode & 0o777) == "0o600"


def _no_wait(_seconds: float) -> None:
    return None


def test_failed_logins_lock_and_reset_password_unlocks(world):
    creds, max_attempts = auth.credentials(world.sf)
    assert max_attempts == 5 and "pcp.a" in creds["usernames"]
    outcomes = [auth.attempt_login(world.sf, "pcp.a", "wrong-password", sleep=_no_wait) for _ in range(5)]
    assert [o.failed_attempts for o in outcomes] == [1, 2, 3, 4, 5]
    assert [o.newly_locked for o in outcomes] == [False] * 4 + [True]
    assert auth.actor_for(world.sf, "pcp.a") is None
    assert not auth.attempt_login(world.sf, "pcp.a", "correct-horse-battery", sleep=_no_wait).ok  # locked
    users.reset_password(world.sf, world.admin, world.pcp_a.user_id, "a-brand-new-password")
    assert auth.actor_for(world.sf, "pcp.a") is not None
    with world.sf() as s:
        u = s.scalar(select(User).where(User.username == "pcp.a"))
        assert not u.locked and u.failed_login_attempts == 0
        assert auth.check_password("a-brand-new-password", u.password_hash)
    assert auth.attempt_login(world.sf, "pcp.a", "a-brand-new-password", sleep=_no_wait).ok


def test_cookie_issued_before_password_change_or_deactivation_is_refused(world):
    with world.sf.begin() as s:  # an account created a while ago
        s.get(User, world.specialist.user_id).sessions_valid_after = utcnow() - timedelta(minutes=10)
    issued = utcnow() - timedelta(minutes=5)
    assert auth.actor_for(world.sf, "physio", token_issued_at=issued) is not None
    users.reset_password(world.sf, world.admin, world.specialist.user_id, "another-long-password")
    assert auth.actor_for(world.sf, "physio", token_issued_at=issued) is None
    assert auth.actor_for(world.sf, "physio", token_issued_at=utcnow() + timedelta(seconds=5)) is not None
    users.set_active(world.sf, world.admin, world.specialist.user_id, False)
    assert auth.actor_for(world.sf, "physio") is None
    creds, _ = auth.credentials(world.sf)
    assert "physio" not in creds["usernames"]


def test_admin_cannot_lock_themself_out(world):
    from hub.errors import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        users.set_active(world.sf, world.admin, world.admin.user_id, False)
    with pytest.raises(ValidationError):
        users.update_user(world.sf, world.admin, world.admin.user_id, name="Admin", roles=["pcp"], discipline=None,
                          practice_id=world.practice_a)
    with pytest.raises(ValidationError) as exc:
        users.create_user(world.sf, world.admin, username="Bad Name", name="", password="short", roles=["pcp"])
    assert {"username", "name", "password", "practice_id"} <= set(exc.value.errors)
