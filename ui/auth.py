"""Login gate around streamlit-authenticator: the only module that touches the library."""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from db.engine import PROJECT_ROOT, database_url
from db.models import utcnow
from hub import auth as hub_auth
from hub import settings
from hub.access import Actor
from ui.common import AUTH_NOTICE, leave_notice, md_escape, show_notice

COOKIE_NAME = "msk_pain_hub_auth"


def _issue_time(token: dict, expiry_days: float) -> datetime | None:
    try:
        issued = float(token["exp_date"]) - expiry_days * 86400
    except (KeyError, TypeError, ValueError):
        return None
    return datetime.fromtimestamp(issued, tz=timezone.utc).replace(tzinfo=None)


def _clear_session(authenticator) -> None:
    try:
        authenticator.logout(location="unrendered")
    except Exception:  # the widget raises when nobody is logged in; state is cleared below anyway
        pass
    for key in ("actor", "authentication_status", "username", "name", "roles", "login_at"):
        st.session_state[key] = None


def _end_session(authenticator, message: str) -> None:
    _clear_session(authenticator)
    leave_notice(message, AUTH_NOTICE)
    st.rerun()


def _demo_logins(sf) -> None:
    """Under the login form of a demo hub: who to log in as (synthetic data only)."""
    from hub.bootstrap import demo_logins, demo_password

    logins = demo_logins(sf, database_url())
    if logins:
        with st.expander("Demo hub: the logins (synthetic patients only)", expanded=True):
            st.markdown(f"Every demo user has the password `{demo_password()}`.\n\n"
                        + "\n".join(f"- `{u}` — {md_escape(who)}" for u, who in logins))


def _browser_cookies():
    """The cookies the browser sent with the websocket handshake (a function of its own for the tests)."""
    return st.context.cookies


def restore_from_cookie(sf) -> bool:
    """Log the session in from the re-login cookie before anything is drawn, when the cookie is valid: the
    browser sent it with the websocket handshake (st.context.cookies), so no browser component round trip
    and no second run are needed to know the user and draw their navigation on the first run.

    The checks are the gate's: the JWT's HS256 signature with our cookie secret, its expiry, a user the
    authenticator knows (active accounts), and hub.auth.actor_for (active, not locked, roles, and the
    cookie issued after the account's sessions_valid_after). Anything else, or an error, returns False and
    the gate's usual path (the login form, or the library's own cookie check) runs unchanged. Nothing is
    done after a logout in this session (the library's `logout` flag) or when someone is logged in."""
    if st.session_state.get("authentication_status") or st.session_state.get("logout"):
        return False
    try:
        token = _browser_cookies().get(COOKIE_NAME)
        if not token:
            return False
        import jwt

        embedded = not database_url().startswith("postgresql")
        secret = hub_auth.cookie_secret(PROJECT_ROOT, embedded=embedded)
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return False
        username, exp = claims.get("username"), claims.get("exp_date")
        if not isinstance(username, str) or not isinstance(exp, (int, float)) or isinstance(exp, bool) \
                or exp <= datetime.now().timestamp():
            return False
        creds, _ = hub_auth.credentials(sf)
        user = creds.get("usernames", {}).get(username)
        if user is None:
            return False
        with sf() as s:
            expiry_days = float(settings.get(s, "security.cookie_expiry_days"))
        login_at = _issue_time(claims, expiry_days) or utcnow()
        actor = hub_auth.actor_for(sf, username, login_at)
        if actor is None:
            return False  # the gate's cookie path ends the session with its message
        hub_auth.record_login(sf, username, via_cookie=True)
    except Exception:  # noqa: BLE001 - never a traceback before the page: the gate decides
        import logging

        logging.getLogger("hub.auth").warning("login cookie not restored before the page", exc_info=True)
        return False
    # What the authenticator's own cookie login writes, plus the gate's session start and actor.
    st.session_state.update({"email": user.get("email"), "name": user.get("name"), "roles": user.get("roles"),
                             "authentication_status": True, "username": username, "logout": None,
                             "login_at": login_at, "actor": actor})
    return True


def gate(sf) -> Actor | None:
    """Show the login form until a valid user is logged in; return the Actor (None: stop the page)."""
    embedded = not database_url().startswith("postgresql")
    try:
        secret = hub_auth.cookie_secret(PROJECT_ROOT, embedded=embedded)
    except hub_auth.SecretError as exc:
        st.error(f"The hub cannot start: {exc}")
        return None
    creds, _max_attempts = hub_auth.credentials(sf)
    with sf() as s:
        expiry_days = float(settings.get(s, "security.cookie_expiry_days"))
    if not st.session_state.get("authentication_status"):
        show_notice(AUTH_NOTICE, st.warning)  # why the last session ended, above the login form
    authenticator = stauth.Authenticate(creds, COOKIE_NAME, secret, expiry_days, auto_hash=False,
                                        login_sleep_time=0)
    # The password check, failure count, lock and delay are hub.auth.attempt_login's (one atomic UPDATE
    # per attempt); the widget only draws the form and writes the re-login cookie.
    model = authenticator.authentication_controller.authentication_model

    def check_credentials(username: str, password: str) -> bool:
        outcome = hub_auth.attempt_login(sf, username, password)
        st.session_state["_login_outcome"] = outcome
        return outcome.ok

    model.check_credentials = check_credentials
    st.session_state.pop("_login_outcome", None)
    was_authenticated = bool(st.session_state.get("authentication_status"))

    def login_form() -> None:
        authenticator.login(location="main", max_login_attempts=None,
                            fields={"Form name": "Log in to MSK Pain Hub", "Username": "Username",
                                    "Password": "Password", "Login": "Log in"})

    try:
        login_form()
    except LoginError as exc:
        st.error(str(exc))
    except Exception:  # noqa: BLE001 - a malformed or forged cookie (e.g. alg=none) is no login, never a traceback
        import logging

        logging.getLogger("hub.auth").warning("login cookie refused", exc_info=True)
        st.session_state["authentication_status"] = None
        authenticator.cookie_controller.get_cookie = lambda: None  # ignore the cookie: show the form
        try:
            login_form()
        except LoginError as exc:
            st.error(str(exc))
    outcome = st.session_state.pop("_login_outcome", None)
    if not st.session_state.get("authentication_status"):
        _demo_logins(sf)
    status = st.session_state.get("authentication_status")
    if outcome is not None and outcome.locked:
        st.session_state["authentication_status"] = status = False
        st.error("This account is locked after too many failed logins. Ask an administrator to reset "
                 "your password." if not outcome.newly_locked else
                 "Too many failed logins: this account is now locked. Ask an administrator to reset your password.")
    elif status is False:
        st.error("Username or password is incorrect.")
    if not status:
        st.markdown("No real patient data belongs in the demo.")
        return None
    st.session_state.pop(AUTH_NOTICE, None)
    username = st.session_state.get("username")
    token_issued = None
    if not was_authenticated:
        token = authenticator.cookie_controller.cookie_model.token
        via_cookie = isinstance(token, dict) and token.get("username") == username
        if via_cookie:
            token_issued = _issue_time(token, expiry_days)
        # The session's start: the cookie's issue time, or now for a form login. Checked on every run
        # against the account's sessions_valid_after, so a password reset ends this open session too.
        login_at = token_issued if via_cookie and token_issued is not None else utcnow()
        actor = hub_auth.actor_for(sf, username, login_at)
        if actor is None:
            _end_session(authenticator, "Your session has ended (account changed, locked or deactivated). "
                                        "Please log in again.")
        if via_cookie:
            hub_auth.record_login(sf, username, via_cookie=True)
        st.session_state["login_at"] = login_at
        st.session_state["actor"] = actor
        if via_cookie:
            st.rerun()  # nothing to wait for: render the navigation for this user's roles now
        # After a form login the cookie component must mount before the page reruns, or the
        # re-login cookie is never written: the navigation is refreshed a moment later instead.
        return actor
    actor = hub_auth.actor_for(sf, username, st.session_state.get("login_at") or datetime.min)
    if actor is None:
        _end_session(authenticator, "Your session has ended: your account was changed, locked or deactivated. "
                                    "Log in again or contact an administrator.")
    st.session_state["actor"] = actor
    with st.sidebar:
        st.text(f"Logged in as {actor.name}")
        authenticator.logout("Log out", location="sidebar", key="hub_logout")
    if not st.session_state.get("authentication_status"):
        # "Log out" was pressed. No st.rerun() here: it would drop the cookie component's delete before the
        # browser mounts it, and the re-login cookie would log the user in again on reload. The component's
        # reply reruns the page (now logged out: the login form).
        st.session_state["actor"] = None
        st.info("You have logged out.")
        st.stop()
    return actor
