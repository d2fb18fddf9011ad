"""MSK Pain Hub: router. Page config, login gate and navigation of the pages the user's roles allow."""

from __future__ import annotations

import streamlit as st

from ui import auth, runtime

st.set_page_config(page_title="MSK Pain Hub", page_icon="🩺", layout="wide")

# Pages and the roles that may use them (services check permissions again themselves).
PAGES = [
    ("pages/queue.py", "Case queue", "📋", {"pcp", "specialist", "chair"}),
    ("pages/submit.py", "Submit a case", "📝", {"pcp"}),
    ("pages/case.py", "Case", "🗂️", {"pcp", "specialist", "chair"}),
    ("pages/admin.py", "Users and settings", "🔧", {"admin"}),
    ("pages/about.py", "About", "ℹ️", {"pcp", "specialist", "chair", "admin"}),
]


def _page(path: str, title: str, icon: str) -> st.Page:
    return st.Page(path, title=title, icon=icon, url_path=path.split("/")[-1].removesuffix(".py"))


actor = st.session_state.get("actor") if st.session_state.get("authentication_status") else None
if actor is None:
    # Not known yet (new session, or a deep link on reload): register every page, hidden, so the
    # URL's page survives the login check (see TECH-NOTES: navigation before the authenticator).
    pg = st.navigation([_page(p, t, i) for p, t, i, _ in PAGES], position="hidden")
else:
    allowed = [_page(p, t, i) for p, t, i, roles in PAGES if roles & actor.roles]
    pg = st.navigation(allowed)

sf = runtime.session_factory()
actor = auth.gate(sf)
if actor is None:
    st.stop()
pg.run()
