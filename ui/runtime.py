"""Process-wide database handles for the Streamlit app, cached per database URL."""

from __future__ import annotations

import streamlit as st

from db.engine import database_url


@st.cache_resource(show_spinner="Preparing the database…")
def _prepared(url: str):
    from hub.bootstrap import prepare

    return prepare(url)


@st.cache_resource(show_spinner=False)
def _worker(url: str):
    """Start the background worker (`python -m hub worker`) as a child process, once per server process and
    database: the daily flag refresh and re-listing run there, never in a page run or a thread of the app.
    Several app processes each start one; the database lock lets one work at a time. HUB_WORKER=external
    (a separate worker service or cron runs it) or off starts none."""
    from hub.worker import start_child

    return start_child(url)


def dispose_engine(url: str) -> None:
    """Dispose the engine the app cached for this URL (benchmarks that rebuild the database in-process)."""
    _prepared(url)[0].dispose()


def session_factory():
    """The session factory for the configured database (migrated, demo-seeded when embedded), with the
    background worker started for it."""
    url = database_url()
    sf = _prepared(url)[1]
    _worker(url)
    return sf


def actor(*roles: str):
    """The logged-in user's Actor (set by the login gate in app.py). Stops the page when nobody is logged in
    or the user lacks all of `roles`: a page script reached without app.py (Streamlit runs a deep link to a
    file in pages/ directly until app.py has run once in the process) never renders for an anonymous user."""
    current = st.session_state.get("actor") if st.session_state.get("authentication_status") else None
    if current is None:
        st.info("Please log in first: open the hub's home page (/) to see the login form.")
        st.stop()
    if roles and not any(current.has(r) for r in roles):
        st.error("Your role does not give access to this page.")
        st.stop()
    return current
