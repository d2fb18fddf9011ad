"""A valid re-login cookie (sent by the browser with the websocket handshake) logs the session in on the
first script run, before the navigation is built: no login form, no component round trip, no second run.
Every check of the gate still applies (signature, expiry, active user, sessions_valid_after), and after a
logout in the session the cookie is not used again."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import pytest
from sqlalchemy import update

from db.models import AuditEvent, User
from hub import settings
from page_support import new_app

SECRET = "t" * 48  # the hub fixture's HUB_COOKIE_SECRET


def _token(username: str, *, issued: datetime | None = None, key: str = SECRET, expiry_days: float = 30) -> str:
    issued = issued or datetime.now()
    return jwt.encode({"username": username, "exp_date": (issued + timedelta(days=expiry_days)).timestamp()},
                      key, algorithm="HS256")


@pytest.fixture
def cookie_app(hub, monkeypatch):
    """(hub, set_cookie, runs): the browser's cookies as the app reads them, and a count of script runs."""
    from ui import auth

    jar: dict[str, str] = {}
    runs = []
    restore = auth.restore_from_cookie
    monkeypatch.setattr(auth, "_browser_cookies", lambda: jar)
    monkeypatch.setattr(auth, "restore_from_cookie", lambda sf: runs.append(1) or restore(sf))
    with hub.sf() as s:
        days = float(settings.get(s, "security.cookie_expiry_days"))
    return hub, (lambda token: jar.__setitem__(auth.COOKIE_NAME, token)), runs, days


def _logged_in(at) -> bool:
    return any(t.value.startswith("Logged in as") for t in at.text)


def test_a_valid_cookie_shows_the_page_on_the_first_run(cookie_app):
    hub, set_cookie, runs, days = cookie_app
    set_cookie(_token("physio", expiry_days=days))
    at = new_app()
    at.run()
    assert not at.exception
    assert _logged_in(at) and "Username" not in [t.label for t in at.text_input]
    assert len(runs) == 1  # one script run: no rerun to draw the navigation
    assert at.session_state["actor"].username == "physio"
    with hub.sf() as s:
        assert s.query(AuditEvent).filter(AuditEvent.action.like("%login%")).count() >= 1


@pytest.mark.parametrize("case", ["wrong key", "expired", "unknown user", "deactivated", "reset after issue",
                                  "garbage"])
def test_an_invalid_cookie_leaves_the_login_form(cookie_app, case):
    hub, set_cookie, runs, days = cookie_app
    token = {
        "wrong key": lambda: _token("physio", key="x" * 48, expiry_days=days),
        "expired": lambda: _token("physio", issued=datetime.now() - timedelta(days=days + 1), expiry_days=days),
        "unknown user": lambda: _token("nobody", expiry_days=days),
        "deactivated": lambda: _token("physio", expiry_days=days),
        "reset after issue": lambda: _token("physio", expiry_days=days),
        "garbage": lambda: "not.a.jwt",
    }[case]()
    with hub.sf.begin() as s:
        if case == "deactivated":
            s.execute(update(User).where(User.username == "physio").values(active=False))
        if case == "reset after issue":  # a password reset ends sessions that began before it
            s.execute(update(User).where(User.username == "physio")
                      .values(sessions_valid_after=datetime.utcnow() + timedelta(minutes=5)))
    set_cookie(token)
    at = new_app()
    at.run()
    assert not at.exception
    assert not _logged_in(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.session_state["authentication_status"]


def test_after_logout_the_cookie_is_not_used_again_in_the_session(cookie_app):
    hub, set_cookie, runs, days = cookie_app
    set_cookie(_token("physio", expiry_days=days))
    at = new_app()
    at.run()
    assert _logged_in(at)
    next(b for b in at.button if b.label == "Log out").click()
    at.run()
    at.run()
    assert not at.exception
    assert not _logged_in(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
