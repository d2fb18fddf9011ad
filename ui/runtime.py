"""Process-wide database handles for the Streamlit app, cached per database URL."""

from __future__ import annotations

import streamlit as st

from db.engine import database_url


@st.cache_resource(show_spinner="Preparing the database…")
def _prepared(url: str):
    from hub.bootstrap import prepare

    return prepare(url)


@st.cache_resource(ttl=600, show_spinner=False)
def _daily_refresh(url: str) -> bool:
    from hub import flags

    return flags.refresh_if_stale(_prepared(url)[1])


def session_factory():
    """The session factory for the configured database (migrated, demo-seeded when embedded); checks at
    most every 10 minutes whether today's refresh of date-dependent flags has run (it runs in the background)."""
    url = database_url()
    sf = _prepared(url)[1]
    _daily_refresh(url)
    return sf


def actor():
    """The logged-in user's Actor (set by the login gate in app.py)."""
    return st.session_state.get("actor")
