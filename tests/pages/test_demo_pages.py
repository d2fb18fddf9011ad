"""Every page on the demo hub, as the users who use it: the demo cohort holds the states that hand-made
test data misses (acknowledged letters, final decisions, goals with ratings, wearables, opioids,
carried agenda items), and a page that raises on one of them is a page a clinician cannot open."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import make_engine, make_session_factory
from db.models import Case, Decision, Letter, User
from hub import bootstrap, demo
from page_support import login

PAGES_BY_USER = {
    "gp.north": ["pages/queue.py", "pages/submit.py", "pages/inbox.py", "pages/dashboard.py", "pages/about.py"],
    "chair": ["pages/queue.py", "pages/inbox.py", "pages/meetings.py", "pages/meeting_room.py",
              "pages/dashboard.py", "pages/about.py"],
    "physio": ["pages/queue.py", "pages/inbox.py", "pages/meetings.py", "pages/dashboard.py"],
    "admin": ["pages/admin.py", "pages/about.py"],
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory, db_templates) -> str:
    """The demo hub (cohort, meetings, letters) in a SQLite file, as the app's start-up seeds it (hub.bootstrap;
    seeded once per session, copied for this module)."""
    from tests_support import seed_app_demo

    url, _, _ = db_templates.clone("sqlite", "app-demo", seed_app_demo, tmp_path_factory.mktemp("demo"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_DEMO", "1")
        engine, _ = bootstrap.prepare(url)  # what the app does at start: at head, already seeded
        engine.dispose()
    return url


@pytest.fixture
def as_demo(demo_url, monkeypatch):
    """The app pointed at the demo hub; returns a session factory for the test's own queries."""
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("HUB_DEMO", "1")
    monkeypatch.setenv("HUB_COOKIE_SECRET", "d" * 48)
    engine = make_engine(demo_url)
    yield make_session_factory(engine)
    engine.dispose()


def _problems(at) -> list[str]:
    return [e.message for e in at.exception]


@pytest.mark.parametrize("username", list(PAGES_BY_USER))
def test_every_page_of_each_role_renders_on_the_demo_hub(as_demo, username):
    at = login(username, demo.DEMO_PASSWORD)
    for page in PAGES_BY_USER[username]:
        at.switch_page(page).run()
        assert not _problems(at), (username, page, _problems(at))
        assert at.title, (username, page)


def _sample_cases(sf) -> dict[str, list[int]]:
    """Per practice's PCP: one case of every status, and cases with an acknowledged letter, with an
    unacknowledged one and with a final decision (a few each)."""
    with sf() as s:
        rows = s.execute(select(Case.id, Case.status, Case.practice_id).order_by(Case.id)).all()
        acknowledged = set(s.scalars(select(Letter.case_id).where(Letter.status == "acknowledged")))
        unacknowledged = set(s.scalars(select(Letter.case_id).where(Letter.status != "acknowledged")))
        decided = set(s.scalars(select(Decision.case_id)))
        pcps = dict(s.execute(select(User.practice_id, User.username)
                              .where(User.username.in_(["gp.north", "gp.river", "gp.hill"]))).all())
    out: dict[str, list[int]] = {u: [] for u in pcps.values()}
    seen: dict[tuple[int, str], int] = {}
    for cid, status, practice in rows:
        kinds = [status] + [k for k, ids in (("acknowledged", acknowledged), ("unacknowledged", unacknowledged),
                                             ("decided", decided)) if cid in ids]
        wanted = [k for k in kinds if seen.get((practice, k), 0) < (1 if k == status else 2)]
        if wanted:
            out[pcps[practice]].append(cid)
            for k in kinds:
                seen[(practice, k)] = seen.get((practice, k), 0) + 1
    assert any(seen.get((p, "acknowledged")) for p in pcps), "the demo has no acknowledged letter"
    return out


def test_case_pages_render_for_their_gp_and_for_the_chair(as_demo):
    sample = _sample_cases(as_demo)
    assert sum(map(len, sample.values())) >= 12
    for username, ids in sample.items():
        at = login(username, demo.DEMO_PASSWORD)
        at.switch_page("pages/case.py")
        for cid in ids:
            at.query_params["case_id"] = str(cid)
            at.run()
            assert not _problems(at), (username, cid, _problems(at))
            assert at.title and at.title[0].value.startswith(f"Case {cid}: "), (username, cid)
    chair = login("chair", demo.DEMO_PASSWORD)
    chair.switch_page("pages/case.py")
    with as_demo() as s:
        drafts = set(s.scalars(select(Case.id).where(Case.status == "draft")))
    for cid in [c for ids in sample.values() for c in ids if c not in drafts]:
        chair.query_params["case_id"] = str(cid)
        chair.run()
        assert not _problems(chair), ("chair", cid, _problems(chair))


def test_every_meeting_and_its_meeting_room_render_for_the_chair(as_demo):
    from db.models import AgendaItem, Meeting

    with as_demo() as s:
        meetings = list(s.scalars(select(Meeting.id)))
        items = list(s.scalars(select(AgendaItem.id).order_by(AgendaItem.meeting_id, AgendaItem.position)))
    assert len(meetings) >= 3 and items
    chair = login("chair", demo.DEMO_PASSWORD)
    chair.switch_page("pages/meetings.py")
    for mid in meetings:
        chair.query_params["meeting"] = str(mid)
        chair.run()
        assert not _problems(chair), ("meeting", mid, _problems(chair))
        assert next(b for b in chair.selectbox if b.label == "Meeting").value == mid
    chair.switch_page("pages/meeting_room.py")
    for item in items[::2]:  # every other item: discussed, carried and pending ones of every meeting
        chair.query_params.clear()
        chair.query_params["item"] = str(item)
        chair.run()
        assert not _problems(chair), ("agenda item", item, _problems(chair))
