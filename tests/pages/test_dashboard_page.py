"""AppTest for the outcome dashboard page: renders for each clinical role in its own scope, filters by
period, offers one CSV download per table, and is not open to an admin without a clinical role."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from page_support import login
from hub import cases, decisions, meetings
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, RecommendationInput
from hub.vocab import RED_FLAGS

PAGE = "pages/dashboard.py"
NOT_REGISTERED = ("pages/dashboard.py is not registered in app.py yet: the lead adds it to PAGES for "
                  "pcp/specialist/chair, then these tests run.")
TODAY = date.today()
STARTS = datetime.combine(TODAY - timedelta(days=1), datetime.min.time()).replace(hour=13)


def submit(hub, username: str, nhs: str, given: str) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name=given, family_name="Lee", birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question=f"What next for {given}?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7)
    return cases.save_case(hub.sf, actor_for(hub.sf, username), inp, submit=True).case_id


def seed_decisions(hub) -> tuple[int, int]:
    """One case per practice, discussed at yesterday's meeting and finalised (letters sent, actions open)."""
    a = submit(hub, "pcp.a", "9434765919", "Ann")
    b = submit(hub, "pcp.b", "1745438912", "Bea")
    chair = actor_for(hub.sf, "chair")
    mid = meetings.create_meeting(hub.sf, chair, title="MDT", starts_at=STARTS)
    for row in meetings.meeting_view(hub.sf, chair, mid).agenda:
        open_flags = [f.code for f in cases.case_header(hub.sf, chair, row.case_id).open_flags]
        form = DecisionForm(formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
                            allergies="No known drug allergies", primary_outcome="nrs",
                            flag_responses={c: {"response": "change"} for c in open_flags},
                            follow_up_date=TODAY + timedelta(days=42),
                            recommendations=[RecommendationInput("education", "Explain exercise safety",
                                                                 owner_role="pcp", due_date=TODAY + timedelta(days=7))])
        version = decisions.save(hub.sf, chair, row.item_id, form, 0)
        decisions.finalise(hub.sf, chair, row.item_id, version)
    return a, b


def open_dashboard(username: str):
    """The dashboard page as this user; skips while app.py does not register the page."""
    at = login(username)
    try:
        at.switch_page(PAGE)
    except ValueError:
        pytest.skip(NOT_REGISTERED)
    at.run()
    return at


def metric(at, label_start: str):
    return next(m for m in at.metric if m.label.startswith(label_start))


def table(at, columns: list[str]):
    """The first dataframe on the page with these leading columns."""
    return next(d.value for d in at.dataframe if list(d.value.columns[:len(columns)]) == columns)


def test_hub_member_sees_every_practice_with_charts_tables_and_downloads(hub):
    seed_decisions(hub)
    at = open_dashboard("chair")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Outcome dashboard"]
    assert [m.label for m in at.multiselect] == ["Practice"]
    assert [d.label for d in at.date_input] == ["From", "To"]
    assert metric(at, "Median days to discussion").value == "0"  # submitted and discussed yesterday/today
    assert metric(at, "Letters acknowledged").value == "0%"  # two letters sent, none acknowledged yet
    letters = table(at, ["letter_id", "case_id", "practice"])
    assert sorted(letters["practice"]) == ["Practice A", "Practice B"]
    assert len(at.get("plotly_chart")) == 6
    assert len(at.get("download_button")) == 11


def test_practice_filter_narrows_the_hub_view(hub):
    seed_decisions(hub)
    at = open_dashboard("chair")
    at.multiselect(key="db_practice").set_value([hub.practice_b]).run()
    assert not at.exception
    assert list(table(at, ["letter_id", "case_id", "practice"])["practice"]) == ["Practice B"]


def test_pcp_sees_only_their_practice_without_a_practice_filter(hub):
    case_a, _ = seed_decisions(hub)
    at = open_dashboard("pcp.a")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Outcome dashboard"]
    assert not at.multiselect  # fixed to their own practice
    assert any("Practice A" in c.value for c in at.caption)
    letters = table(at, ["letter_id", "case_id", "practice"])
    assert list(letters["case_id"]) == [case_a] and list(letters["practice"]) == ["Practice A"]
    assert "Practice B" not in str([d.value.to_dict() for d in at.dataframe])


def test_period_filter_applies_to_the_events(hub):
    seed_decisions(hub)
    at = open_dashboard("physio")
    at.date_input(key="db_end").set_value(TODAY - timedelta(days=30)).run()
    assert not at.exception
    assert metric(at, "Median days to discussion").value == "—"
    assert table(at, ["letter_id", "case_id", "practice"]).empty
    at.date_input(key="db_start").set_value(TODAY).run()  # start after end: a clear message, no crash
    assert not at.exception
    assert any("start of the period" in e.value for e in at.error)


def test_admin_without_clinical_role_cannot_open_it(hub):
    open_dashboard("chair")  # skips while the page is not registered at all
    at = login("admin")
    try:
        at.switch_page(PAGE)
    except ValueError:
        return  # not in the admin's navigation
    at.run()
    assert "Outcome dashboard" not in [t.value for t in at.title]
