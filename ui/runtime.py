"""Process-wide database handles for the Streamlit app, cached per database URL."""

from __future__ import annotations

import streamlit as st

from db.engine import database_url


@st.cache_resource(show_spinner="Preparing the database…")
def _prepared(url: str):
    from hub.bootstrap import prepare

    return prepare(url)


def session_factory():
    """The session factory for the configured database (migrated, demo-seeded when embedded)."""
    return _prepared(database_url())[1]


def actor():
    """The logged-in user's Actor (set by the login gate in app.py)."""
    return st.session_state.get("actor")
