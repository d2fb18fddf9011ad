"""User text never renders as Markdown or HTML: every free-text field is filled with a payload set
(Markdown image and link, HTML image and script, bare URL, www. and e-mail addresses, Streamlit
directives) through the services, and on the main pages (queue, case, meetings, meeting room, inbox
with the letter, admin) no string Streamlit renders as Markdown carries live markup around it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Action, User
from hub import cases, decisions, inbox, meetings, records, users
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.records import ReviewInput, TreatmentInput
from hub.vocab import RED_FLAGS
from page_support import login
from rendered import live_markup, rendered
from ui.common import md_escape

PAYLOADS = [
    "![t](http://evil.invalid/x.png)",
    "[x](http://evil.invalid)",
    "<img src=http://evil.invalid/y>",
    "http://evil.invalid/z",
    "<script>alert('evil')</script>",
    "www.evil.invalid/w",
    "mail a@evil.invalid",
    ":red[evil] :material/warning: $evil$ **evil** `evil`",
]
LONG = "Text " + " ".join(PAYLOADS)  # every payload in one field (long and note kinds)
SHORT = "N ![t](http://evil.invalid/n.png) <img src=http://evil.invalid/m>"  # within the name/title limits
STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)  # attendance needs the meeting day


def test_md_escape_leaves_no_live_markup_in_any_payload():
    for p in [*PAYLOADS, LONG, SHORT]:
        assert live_markup(md_escape(p)) == [], p
        assert live_markup(p) != [] or p.startswith(":red"), p  # the check itself sees the raw payloads


def test_md_escape_renders_literally_in_a_commonmark_renderer():
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True, "linkify": False})
    for p in [*PAYLOADS, LONG]:
        html = md.render(md_escape(p))
        assert "<a " not in html and "<img" not in html and "<script" not in html, html


def _case(hub, nhs: str) -> int:
    pcp = actor_for(hub.sf, "pcp.a")
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name=SHORT, family_name=SHORT, birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question=LONG,
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7, goals_text=LONG, concerns_text=LONG,
                    treatments=[TreatmentInput(category="exercise", name=SHORT, dose_text=SHORT, notes=LONG,
                                               start_date=date.today() - timedelta(days=30))])
    return cases.save_case(hub.sf, pcp, inp, submit=True).case_id


def _form(day: date) -> DecisionForm:
    return DecisionForm(
        formulation=LONG, pathway_step="S4_ACTIVE_NON_PHARM", answer=LONG, allergies=LONG, what_matters=LONG,
        beliefs_concerns=LONG, options_discussed=LONG, option_preferred=LONG, options_declined=LONG,
        discussed_with_patient="yes", safety_netting=LONG, primary_outcome="nrs",
        follow_up_date=day + timedelta(days=56),
        recommendations=[RecommendationInput("exercise_programme", LONG, owner_role="pcp",
                                             due_date=day + timedelta(days=14))],
        goals=[GoalInput(SHORT + " walk", SHORT, "20 minutes " + SHORT, day + timedelta(days=84), 3, 2,
                         {-2: SHORT, -1: SHORT, 0: SHORT, 1: SHORT, 2: SHORT}, recommendation=1)])


@pytest.fixture
def payload_hub(hub):
    """Two cases, a meeting and a letter whose every free-text field carries the payloads."""
    sf = hub.sf
    pcp, chair, physio, admin = (actor_for(sf, u) for u in ("pcp.a", "chair", "physio", "admin"))
    done_case, open_case = _case(hub, "9434765919"), _case(hub, "1745438912")
    for cid in (done_case, open_case):
        cases.add_comment(sf, pcp, cid, LONG)
        records.add_review(sf, pcp, cid, ReviewInput(review_date=date.today(), notes=LONG))
    mid = meetings.create_meeting(sf, chair, title=SHORT, starts_at=STARTS)
    items = {row.case_id: row.item_id for row in meetings.meeting_view(sf, chair, mid).agenda}
    for item in items.values():
        meetings.save_preparation(sf, physio, item, LONG)
        decisions.save(sf, chair, item, _form(STARTS.date()), 0)
    state = decisions.load(sf, chair, items[done_case])
    decisions.finalise(sf, chair, items[done_case], state.version)
    with sf() as s:
        action_id = s.scalar(select(Action.id).where(Action.case_id == done_case, Action.owner_role == "pcp"))
        uid = s.scalar(select(User.id).where(User.username == "physio"))
    inbox.complete_action(sf, pcp, action_id, LONG)
    users.update_user(sf, admin, uid, name=SHORT, roles=["specialist"], discipline="physiotherapy", practice_id=None)
    return hub, done_case, open_case, mid, items


def _screens(payload_hub):
    hub, done_case, open_case, mid, items = payload_hub
    yield "queue (pcp)", "pcp.a", "pages/queue.py", {}
    yield "queue (chair)", "chair", "pages/queue.py", {}
    yield "case with letter (pcp)", "pcp.a", "pages/case.py", {"case_id": str(done_case)}
    yield "case (chair)", "chair", "pages/case.py", {"case_id": str(open_case)}
    yield "meetings (chair)", "chair", "pages/meetings.py", {"meeting": str(mid)}
    yield "meetings (physio)", "physio", "pages/meetings.py", {"meeting": str(mid)}
    yield "meeting room (chair)", "chair", "pages/meeting_room.py", {"item": str(items[open_case])}
    yield "meeting room, final (physio)", "physio", "pages/meeting_room.py", {"item": str(items[done_case])}
    yield "inbox with letter (pcp)", "pcp.a", "pages/inbox.py", {}
    yield "admin", "admin", "pages/admin.py", {}


def test_no_payload_renders_as_markup_on_any_main_page(payload_hub):
    problems: list[str] = []
    missing: list[str] = []
    for name, user, page, params in _screens(payload_hub):
        at = login(user)
        at.switch_page(page)
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, (name, [e.message for e in at.exception])
        markdown, plain = rendered(at)
        if not any("evil" in s.lower() for s in markdown + plain):
            missing.append(name)
        for s in markdown:
            problems.extend(f"{name}: {p}" for p in live_markup(s))
    assert problems == []
    # every screen shows the payload text (as text), except the queue, which shows patients' initials only
    assert missing == ["queue (pcp)", "queue (chair)"]


def test_letters_escape_the_payloads(payload_hub):
    from hub import correspondence

    hub, done_case, *_ = payload_hub
    pcp = actor_for(hub.sf, "pcp.a")
    (letter,) = correspondence.case_letters(hub.sf, pcp, done_case)
    assert correspondence.letter_for(hub.sf, pcp, letter.letter_id) == letter
    for version, text in (("markdown", letter.markdown), ("patient_markdown", letter.patient_markdown)):
        assert "evil" in text
        assert live_markup(text) == [], version


def test_page_icon_is_a_file_of_the_app_not_a_third_party_icon():
    """A ':material/...' or emoji page icon makes the browser fetch it from a font/emoji host (the browser
    test checks the requests; this check runs without a browser)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    app = (root / "app.py").read_text()
    calls = re.findall(r"st\.set_page_config\((.*?)\)\n", app, re.S)
    assert calls and all("page_icon=PAGE_ICON" in call for call in calls)  # the staff app and the patient page
    assert 'PAGE_ICON = str(Path(__file__).resolve().parent / "static" / "page_icon.png")' in app
    icon = root / "static" / "page_icon.png"
    assert icon.read_bytes().startswith(b"\x89PNG")
    assert not re.search(r"page_icon\s*=\s*['\"]:", app)


def test_a_bad_patient_search_is_a_message_not_a_traceback(hub):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    for search in ("x" * 150, "Lee\x00"):
        at.text_input(key="sub_search").input(search).run()
        assert not at.exception, search
        assert any("search" in e.value for e in at.error), search
