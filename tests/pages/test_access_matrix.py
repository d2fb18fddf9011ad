"""Page x role x user matrix: every page for a PCP of the case's practice, a PCP of another practice, a
specialist, the chair and an admin, asserting what each is shown and what each is refused -- case
pages of another practice, drafts for the hub, clinical text for an admin without a clinical role.

"refused" means the page is not in the user's navigation (the app never runs it for them); a page a
user may open but whose data is out of scope must show the scope message and none of the data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub import cases, decisions, meetings
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm
from hub.vocab import RED_FLAGS
from page_support import login
from rendered import all_text

USERS = ["pcp.a", "pcp.b", "physio", "chair", "admin"]
STARTS = datetime.combine(date.today() + timedelta(days=2), datetime.min.time()).replace(hour=13)
Q_SUBMITTED = "Marker question of the submitted case QSUB"
Q_DRAFT = "Marker question of the draft case QDRAFT"
FORMULATION = "Marker formulation FORMX"


def _case(sf, nhs: str, question: str, submit: bool) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name="Ann", family_name="Lee" if submit else "Dee",
                                           birth_year=1960, sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question=question,
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7)
    return cases.save_case(sf, actor_for(sf, "pcp.a"), inp, submit=submit).case_id


@pytest.fixture
def matrix_hub(hub):
    sf = hub.sf
    submitted = _case(sf, "9434765919", Q_SUBMITTED, True)
    draft = _case(sf, "1745438912", Q_DRAFT, False)
    chair = actor_for(sf, "chair")
    mid = meetings.create_meeting(sf, chair, title="Matrix MDT", starts_at=STARTS)
    item = meetings.meeting_view(sf, chair, mid).agenda[0].item_id
    decisions.save(sf, chair, item, DecisionForm(formulation=FORMULATION), 0)
    return {"submitted": submitted, "draft": draft, "meeting": mid, "item": item}


def _open(at, page: str, **params):
    """Run `page` in the logged-in AppTest; None when the page is not in the user's navigation."""
    at.query_params.clear()
    try:
        at.switch_page(page)
    except ValueError:
        return None
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception, (page, [e.message for e in at.exception])
    return at


def _title(at) -> str:
    return at.title[0].value if at.title else ""


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def _queue_ids(at) -> set[int]:
    return set(at.dataframe[0].value["case_id"]) if at.dataframe else set()


# What each user may open (None = refused by the navigation).
ALLOWED = {
    "pages/queue.py": {"pcp.a", "pcp.b", "physio", "chair"},
    "pages/submit.py": {"pcp.a", "pcp.b"},
    "pages/case.py": {"pcp.a", "pcp.b", "physio", "chair"},
    "pages/inbox.py": {"pcp.a", "pcp.b", "physio", "chair"},
    "pages/meetings.py": {"physio", "chair"},
    "pages/meeting_room.py": {"physio", "chair"},
    "pages/dashboard.py": {"pcp.a", "pcp.b", "physio", "chair"},
    "pages/admin.py": {"admin"},
    "pages/about.py": {"pcp.a", "pcp.b", "physio", "chair", "admin"},
}


@pytest.mark.parametrize("user", USERS)
def test_page_role_user_matrix(matrix_hub, user):
    ids = matrix_hub
    at = login(user)
    assert not at.exception
    hub_member = user in ("physio", "chair")
    own_pcp = user == "pcp.a"

    for page, allowed in ALLOWED.items():
        params = {"case_id": ids["submitted"]} if page == "pages/case.py" else (
            {"item": ids["item"]} if page == "pages/meeting_room.py" else {})
        opened = _open(at, page, **params)
        assert (opened is not None) == (user in allowed), (user, page)
        if opened is None:
            continue
        text = all_text(opened)
        # never clinical text on a page of a user without the case in scope
        if not (own_pcp or hub_member):
            assert Q_SUBMITTED not in text and Q_DRAFT not in text and FORMULATION not in text, (user, page)
        if page == "pages/queue.py":
            expected = {ids["submitted"], ids["draft"]} if own_pcp else {ids["submitted"]} if hub_member else set()
            assert _queue_ids(opened) == expected, (user, _queue_ids(opened))
        elif page == "pages/case.py":
            if own_pcp or hub_member:
                assert _title(opened).startswith(f"Case {ids['submitted']}: Ann Lee") and Q_SUBMITTED in text
            else:
                assert "not in your scope" in _errors(opened) and "Ann" not in _title(opened)
        elif page == "pages/submit.py":
            drafts = [o for s in opened.selectbox if s.key == "sub_draft" for o in s.options]
            assert any("Dee" in o for o in drafts) == own_pcp, (user, drafts)
        elif page == "pages/meeting_room.py":
            assert _title(opened).startswith("Meeting room") and FORMULATION in text
            finalise = [b for b in opened.button if b.label.startswith("Finalise decision")]
            assert bool(finalise) == (user == "chair")
        elif page == "pages/meetings.py":
            assert _title(opened) == "Hub meetings"
            assert ("New meeting" in [e.label for e in opened.expander]) == (user == "chair")

    # the draft: only its own PCP sees it; the hub and another practice get the scope message
    opened = _open(at, "pages/case.py", case_id=ids["draft"])
    if opened is not None:
        if own_pcp:
            assert _title(opened).startswith(f"Case {ids['draft']}: Ann Dee") and Q_DRAFT in all_text(opened)
        else:
            assert "not in your scope" in _errors(opened) and Q_DRAFT not in all_text(opened)
    # identifiers out of range or malformed: a clear "no such" message, never a traceback
    for raw in ("99999999999999999999", "-1", "1e3", "abc", "0"):
        for page, key in (("pages/case.py", "case_id"), ("pages/meeting_room.py", "item")):
            opened = _open(at, page, **{key: raw})
            if opened is not None:
                assert "There is no such" in _errors(opened), (user, page, raw)
    # a large but valid-looking id reaches the service and is simply not found
    opened = _open(at, "pages/case.py", case_id=2**31 - 1)
    if opened is not None:
        assert "does not exist" in _errors(opened)


def test_admin_sees_users_and_settings_but_no_case_page(matrix_hub):
    at = login("admin")
    opened = _open(at, "pages/admin.py")
    assert _title(opened) == "Users and settings"
    assert _open(at, "pages/case.py", case_id=matrix_hub["submitted"]) is None
    assert _open(at, "pages/meeting_room.py", item=matrix_hub["item"]) is None


def test_admin_audit_trail_shows_no_clinical_text(matrix_hub):
    at = login("admin")
    opened = _open(at, "pages/admin.py")
    text = all_text(opened) + " ".join(str(df.value.to_dict()) for df in opened.dataframe)
    assert Q_SUBMITTED not in text and Q_DRAFT not in text and FORMULATION not in text
