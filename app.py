"""MSK Pain Hub: router. Page config, login gate and navigation of the pages the user's roles allow."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, errors, runtime
from ui.common import legible_captions

# The page icon is a file of ours, served by this app: a ':material/...' or emoji icon makes the browser fetch
# it from a third-party host on every page (blocked on many clinical networks, and it leaks usage).
PAGE_ICON = str(Path(__file__).resolve().parent / "static" / "page_icon.png")


def _patient_link() -> bool:
    """A patient's questionnaire link (?invite=TOKEN, or the /patient page): no login, no navigation."""
    from urllib.parse import urlparse

    path = urlparse(st.context.url or "").path.rstrip("/")
    return "invite" in st.query_params or path.endswith("/patient")


if _patient_link():
    # Before the login gate: the patient sees one page with nothing but their questions (ui.patient_form).
    from ui import patient_form

    st.set_page_config(page_title="Your questions", page_icon=PAGE_ICON, layout="centered",
                       initial_sidebar_state="collapsed")
    # One page, as a function (a file in pages/ could be run directly by a fresh server process for a deep
    # link, with Streamlit's list of every page in a sidebar). Links use the home address: /?invite=TOKEN.
    st.navigation([st.Page(patient_form.render, title="Your questions", url_path="patient", default=True)],
                  position="hidden").run()
    st.stop()

st.set_page_config(page_title="MSK Pain Hub", page_icon=PAGE_ICON, layout="wide")
legible_captions()

# Pages and the roles that may use them (services check permissions again themselves).
PAGES = [
    ("pages/queue.py", "Case queue", ":material/view_list:", {"pcp", "specialist", "chair"}),
    ("pages/submit.py", "Submit a case", ":material/edit_note:", {"pcp"}),
    ("pages/case.py", "Case", ":material/folder_open:", {"pcp", "specialist", "chair"}),
    ("pages/inbox.py", "Inbox", ":material/inbox:", {"pcp", "specialist", "chair"}),
    ("pages/meetings.py", "Hub meetings", ":material/event:", {"specialist", "chair"}),
    ("pages/meeting_room.py", "Meeting room", ":material/groups:", {"specialist", "chair"}),
    ("pages/dashboard.py", "Outcome dashboard", ":material/monitoring:", {"pcp", "specialist", "chair"}),
    ("pages/admin.py", "Users and settings", ":material/admin_panel_settings:", {"admin"}),
    ("pages/about.py", "About", ":material/info:", {"pcp", "specialist", "chair", "admin"}),
]


def _page(path: str, title: str, icon: str) -> st.Page:
    return st.Page(path, title=title, icon=icon, url_path=path.split("/")[-1].removesuffix(".py"))


def _home() -> None:
    """The app's root address shows the user's first page, in the same run. (Streamlit serves its default page at
    the root only: when that was the queue, a reload of /queue, or of /admin for an administrator, showed "Page
    not found". Now every page keeps its own address and the root is a page of its own.)"""
    import runpy

    user = st.session_state.get("actor")
    first = next((p for p, _, _, roles in PAGES if user is not None and roles & user.roles), None)
    if first is not None:
        runpy.run_path(str(Path(__file__).resolve().parent / first), run_name="__main__")


HOME = st.Page(_home, title="MSK Pain Hub", url_path="home", default=True)


# A valid re-login cookie (sent with the websocket handshake) logs the session in before the navigation is
# built, so a cold load draws the user's page on its first run (ui.auth.restore_from_cookie).
auth.restore_from_cookie(runtime.session_factory())
actor = st.session_state.get("actor") if st.session_state.get("authentication_status") else None
navigation_known = actor is not None
# Streamlit's own page list is never drawn (position "hidden", and client.showSidebarNavigation = false in
# .streamlit/config.toml): a server process's first session runs in Streamlit's pages/-folder mode, which sent
# the raw list of every file in pages/ (admin included) before this script could hide it. The menu is drawn
# by this script, after the login gate, with the user's pages only.
# See docs/TECHNICAL-NOTES.md, "Navigation before the authenticator".
if actor is None:
    # Not known yet (new session, or a deep link on reload): register every page, hidden, so the
    # URL's page survives the login check.
    pg = st.navigation([HOME, *(_page(p, t, i) for p, t, i, _ in PAGES)], position="hidden")
else:
    pg = st.navigation([HOME, *(_page(p, t, i) for p, t, i, roles in PAGES if roles & actor.roles)],
                       position="hidden")


def _menu(actor) -> list[tuple[str, str, str]]:
    """The user's pages as links at the top of the sidebar (drawn only once the gate has let the user in)."""
    allowed = [(p, t, i) for p, t, i, roles in PAGES if roles & actor.roles]
    with menu_slot if menu_slot is not None else st.sidebar:
        for path, title, icon in allowed:
            st.page_link(path, label=title, icon=icon)
    return allowed


def _run() -> None:
    sf = runtime.session_factory()
    actor = auth.gate(sf)
    if actor is None:
        st.stop()
    allowed = _menu(actor)
    if not navigation_known:
        # Just logged in with the form: this run still has the hidden all-pages navigation (rerunning at once
        # would unmount the authenticator's cookie component before it writes the re-login cookie).
        allowed_paths = {p.split("/")[-1].removesuffix(".py") for p, _, _ in allowed}
        if pg.url_path not in allowed_paths and pg.url_path != "":  # "" is the root: the user's first page
            st.info("Choose a page in the menu.")
            st.stop()
    if actor.is_clinical and navigation_known:
        from ui.inbox_badge import inbox_badge

        with st.sidebar:
            inbox_badge(sf, actor)
    pg.run()


# The menu's place: first in the sidebar, above the login gate's "Logged in as" (for a known user only: before
# login there is no sidebar at all; on the run of a form login the menu comes below "Logged in as").
menu_slot = st.sidebar.container() if navigation_known else None
# Every page run goes through one guard: an unexpected error shows a short reference, never a traceback.
errors.guarded(_run, where=f"page {pg.url_path or 'queue'}")
