"""The sidebar's inbox badge: letters to read and overdue actions, refreshed while the app is open."""

from __future__ import annotations

import streamlit as st

BADGE_SECONDS = 30


@st.fragment(run_every=BADGE_SECONDS)
def inbox_badge(sf, actor) -> None:
    """Re-counted every BADGE_SECONDS without reloading the page (two COUNT queries)."""
    from hub import inbox

    letters, overdue = inbox.counts(sf, actor)
    if not (letters or overdue):
        st.markdown("Inbox: nothing new")
        return
    parts = ([f"{letters} letter{'s' if letters != 1 else ''} to read"] if letters else []) + \
            ([f"{overdue} overdue action{'s' if overdue != 1 else ''}"] if overdue else [])
    st.markdown("**Inbox:** " + ", ".join(parts))
    st.page_link("pages/inbox.py", label="Open the inbox", icon=":material/mark_email_unread:")
