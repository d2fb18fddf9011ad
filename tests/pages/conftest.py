"""AppTest harness: a temporary SQLite hub per test with one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from streamlit.runtime.pages_manager import PagesManager

from db.engine import make_engine, make_session_factory
from db.models import Practice

# AppTest resets PagesManager.uses_pages_directory before every run and, because a folder named
# pages/ exists, would then run the last page's script directly (Streamlit's v1 multipage mode),
# skipping app.py and its login gate. The real server runs app.py first, whose st.navigation
# switches v1 mode off (and every page stops without a logged-in user, see ui/runtime.actor); keep it
# off under AppTest too.
_original_init = PagesManager.__init__


def _init_v2_only(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _init_v2_only


@pytest.fixture(autouse=True)
def _page_errors_visible(monkeypatch):
    """Development mode for page tests: the error guard in app.py also renders the exception, so
    `at.exception` still reveals a page that raised (tests of production behaviour unset HUB_DEV)."""
    monkeypatch.setenv("HUB_DEV", "1")


@dataclass
class Hub:
    """A temporary hub database and its users."""

    sf: object
    practice_a: int
    practice_b: int


@pytest.fixture(autouse=True)
def _no_worker_process(monkeypatch):
    """AppTest runs in this process: no background worker child per test database (tests/hub/test_worker.py
    covers the worker; the browser tests run the app as deployed, with it)."""
    monkeypatch.setenv("HUB_WORKER", "off")


def _users(sf) -> tuple[int, int]:
    """Practices A and B with pcp.a, pcp.b, physio, chair and admin; returns the practice ids."""
    from tests_support import add_user

    with sf.begin() as s:
        a, b = Practice(code="A", name="Practice A"), Practice(code="B", name="Practice B")
        s.add_all([a, b])
        s.flush()
        add_user(s, "pcp.a", "Dr A", ["pcp"], practice_id=a.id)
        add_user(s, "pcp.b", "Dr B", ["pcp"], practice_id=b.id)
        add_user(s, "physio", "Physio P", ["specialist"], discipline="physiotherapy")
        add_user(s, "chair", "Chair C", ["chair", "specialist"], discipline="pain_medicine")
        add_user(s, "admin", "Admin", ["admin"])
        return a.id, b.id


@pytest.fixture
def hub(tmp_path, monkeypatch, db_templates) -> Hub:
    """Empty migrated SQLite hub (no demo) with pcp.a, pcp.b, physio, chair and admin (a copy of a template
    built once per session)."""
    url, ids, _ = db_templates.clone("sqlite", "pages-hub", _users, tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEMO", "0")
    monkeypatch.setenv("HUB_COOKIE_SECRET", "t" * 48)
    engine = make_engine(url)
    sf = make_session_factory(engine)
    yield Hub(sf, *ids)
    engine.dispose()
