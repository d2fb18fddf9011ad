"""Outcome dashboard on SQLite and PostgreSQL: a small hub built through the services, with the event
times then set to chosen values, so every number below is one we constructed."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from db.models import Action, AuditEvent, Case, CaseFlag, Decision, Letter, Practice
from hub import cases, dashboard_charts, decisions, flags, inbox, meetings, records
from hub.cases import CaseInput, NewPatient
from hub.clinical.identifiers import validate_nhs_number
from hub.dashboard import (
    Dashboard,
    dashboard,
    default_period,
    monthly_mean_ome,
    outcome_change,
    to_csv,
    working_days_between,
)
from hub.decisions import DecisionForm, RecommendationInput
from hub.errors import PermissionDenied, ValidationError
from hub.records import TreatmentInput
from hub.vocab import RED_FLAGS
from tests_support import World, backdate_audit, make_world

TODAY = date.today()
# D, the day of the main meeting: a Friday at least 14 days ago (so letters cross a weekend).
_back = TODAY - timedelta(days=14)
D = _back - timedelta(days=(_back.weekday() - 4) % 7)
D_EARLY = D - timedelta(days=35)  # an earlier meeting, also a Friday, always in another month
assert D.weekday() == 4 and D_EARLY.weekday() == 4
START, END = D - timedelta(days=60), TODAY
KNEE = "Knee osteoarthritis"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def nhs_numbers(n: int) -> list[str]:
    out, k = [], 0
    while len(out) < n:
        nine = f"999{k:06d}"
        for check in range(10):
            if validate_nhs_number(nine + str(check))[0]:
                out.append(nine + str(check))
                break
        k += 1
    return out


NHS = nhs_numbers(6)


@dataclass
class Hub:
    """Case ids of the constructed hub."""

    a1: int
    a2: int
    a3: int
    b1: int


def submit(sf, pcp, i: int, condition: str, treatments: list[TreatmentInput] = ()) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=NHS[i], given_name=f"P{i}", family_name="Test",
                                           birth_year=1960, sex="female"),
                    condition=condition, pain_classification="secondary", clinical_question=f"Question {i}?",
                    red_flags={k: False for k in RED_FLAGS}, risk_tool="start_msk", risk_band="low",
                    goals_text="Walk further", treatments=list(treatments))
    return cases.save_case(sf, pcp, inp, submit=True).case_id


def morphine(mg: float) -> TreatmentInput:
    return TreatmentInput(category="medicine", name="Morphine", drug="morphine", route="oral", daily_dose_mg=mg,
                          start_date=D - timedelta(days=100))


def pain(sf, pcp, case_id: int, instrument: str, values: dict[int, int]) -> None:
    """Pain scores on days relative to D."""
    for offset, value in values.items():
        responses = {"NRS_Q1": value} if instrument == "nrs" else {f"PEG_Q{i}": value for i in (1, 2, 3)}
        records.add_assessment(sf, pcp, case_id, instrument, D + timedelta(days=offset), responses)


def decide(world, case_id: int, day: date, primary: str | None, recs: list[RecommendationInput]) -> None:
    """A meeting on `day` with this one case, its decision saved and finalised."""
    sf, chair = world.sf, world.chair
    mid = meetings.create_meeting(sf, chair, title="MDT", starts_at=at(day, 13), propose=False)
    item = meetings.add_case(sf, chair, mid, case_id)
    open_flags = [f.code for f in cases.case_header(sf, chair, case_id).open_flags]
    form = DecisionForm(formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
                        allergies="No known drug allergies", primary_outcome=primary,
                        flag_responses={c: {"response": "change"} for c in open_flags},
                        follow_up_date=day + timedelta(days=56), recommendations=recs)
    version = decisions.save(sf, chair, item, form, 0)
    decisions.finalise(sf, chair, item, version, finalise_day=day)  # a backdated history


def rec(due: date, owner_role: str | None = "pcp", owner_user_id: int | None = None) -> RecommendationInput:
    return RecommendationInput("education", "Explain exercise safety", owner_role=owner_role,
                               owner_user_id=owner_user_id, due_date=due)


def action_of(sf, case_id: int, due: date) -> int:
    with sf() as s:
        return s.scalar(select(Action.id).where(Action.case_id == case_id, Action.due_date == due))


def letter_of(sf, case_id: int) -> int:
    with sf() as s:
        return s.scalar(select(Letter.id).where(Letter.case_id == case_id))


def build_hub(sf) -> tuple[World, Hub]:
    """The world's users, and the hub below (written once per backend and session, copied per test)."""
    world = make_world(sf)
    return world, build(world)


@pytest.fixture
def built_world(clone_db) -> tuple[World, Hub]:
    sf, (world, hub) = clone_db("dashboard-hub", build_hub)
    return replace(world, sf=sf), hub


@pytest.fixture
def world(built_world) -> World:
    """The conftest world, with the hub of `built` in it."""
    return built_world[0]


@pytest.fixture
def built(built_world) -> Hub:
    return built_world[1]


def build(world) -> Hub:
    """Practice A: a1, a2 (knee OA), a3 (low back pain); practice B: b1 (knee OA). Built through the services,
    then the event times are set to the values each test expects."""
    sf = world.sf
    a1 = submit(sf, world.pcp_a, 0, "knee_oa", [morphine(40)])
    a2 = submit(sf, world.pcp_a, 1, "knee_oa", [TreatmentInput(category="medicine", name="Paracetamol",
                                                                drug="paracetamol", route="oral", daily_dose_mg=4000,
                                                                start_date=D - timedelta(days=100))])
    a3 = submit(sf, world.pcp_a, 2, "low_back_pain")
    b1 = submit(sf, world.pcp_b, 3, "knee_oa", [morphine(20)])
    pain(sf, world.pcp_a, a1, "nrs", {-80: 8, -10: 6, 5: 5, 8: 3})
    pain(sf, world.pcp_a, a2, "nrs", {-120: 9, -60: 7, -2: 7, 7: 4})
    pain(sf, world.pcp_b, b1, "peg", {-30: 6, -1: 7, 6: 5})
    pain(sf, world.pcp_a, a3, "nrs", {-50: 8, -40: 5})  # primary outcome is ODI: excluded from the pain change

    decide(world, a3, D_EARLY, "odi", [rec(D - timedelta(days=30), None, world.specialist.user_id)])
    decide(world, a1, D, "nrs", [rec(D + timedelta(days=7)), rec(TODAY, "physiotherapy")])
    decide(world, a2, D, "nrs", [rec(D + timedelta(days=3))])
    decide(world, b1, D, "peg", [rec(D + timedelta(days=7), "hub")])

    done_gp = action_of(sf, a1, D + timedelta(days=7))
    done_physio = action_of(sf, a3, D - timedelta(days=30))
    inbox.complete_action(sf, world.pcp_a, done_gp)
    inbox.complete_action(sf, world.specialist, done_physio)
    for cid in (a1, a2, a3):
        inbox.open_letter(sf, world.pcp_a, letter_of(sf, cid))
        inbox.acknowledge_letter(sf, world.pcp_a, letter_of(sf, cid))

    # Safety alerts after the decisions: one still open (a2), one resolved by its PCP (b1).
    phq9 = {f"PHQ9_Q{i}": 1 for i in range(1, 10)}
    records.add_assessment(sf, world.pcp_a, a2, "phq9", D + timedelta(days=9), phq9)
    b1_alert = records.add_assessment(sf, world.pcp_b, b1, "phq9", D + timedelta(days=9), phq9)
    records.record_safety_action(sf, world.pcp_b, b1, b1_alert, "Phoned the patient the same day; safety plan agreed")

    # The times of the events, as constructed (services stamp them with 'now').
    with sf.begin() as s:
        for cid, days in ((a1, 10), (a2, 20), (b1, 5)):
            s.execute(update(Case).where(Case.id == cid).values(submitted_at=at(D - timedelta(days=days))))
            s.execute(update(Decision).where(Decision.case_id == cid).values(finalised_at=at(D, 15)))
        s.execute(update(Case).where(Case.id == a3).values(submitted_at=at(D_EARLY - timedelta(days=31))))
        s.execute(update(Decision).where(Decision.case_id == a3).values(finalised_at=at(D_EARLY, 15)))
        letter_times = {
            a1: (at(D, 16), at(D + timedelta(days=3))),  # Fri -> Mon: 1 working day (3 calendar days)
            a2: (at(D, 16), at(D + timedelta(days=5))),  # Fri -> Wed: 3 working days
            a3: (at(D_EARLY, 16), at(D_EARLY + timedelta(days=4))),  # Fri -> Tue: 2 working days
            b1: (at(D, 16), None),  # never acknowledged
        }
        for cid, (sent, ack) in letter_times.items():
            s.execute(update(Letter).where(Letter.case_id == cid).values(sent_at=sent, acknowledged_at=ack))
        s.execute(update(Action).where(Action.id == done_gp).values(completed_at=at(D + timedelta(days=2))))
        s.execute(update(Action).where(Action.id == done_physio).values(completed_at=at(D - timedelta(days=25))))
        backdate_audit(s)
        s.execute(update(AuditEvent).where(AuditEvent.action == "safety.action").values(at=at(D + timedelta(days=9))))
    return Hub(a1, a2, a3, b1)


def board(world, actor, **kw) -> Dashboard:
    return dashboard(world.sf, actor, start=kw.pop("start", START), end=kw.pop("end", END), today=TODAY, **kw)


def rows(frame: pd.DataFrame, key: str) -> dict:
    return {r[key]: r for r in frame.to_dict("records")}


# ----------------------------------------------------------------------------- the hub's view


def test_time_to_discussion(world, built):
    d = board(world, world.chair)
    assert d.discussion_n == 4
    assert sorted(d.discussion_cases["days"]) == [5, 10, 20, 31]
    assert (d.discussion_median_days, d.discussion_q1_days, d.discussion_q3_days) == (15.0, 8.75, 22.75)
    months = rows(d.discussion_by_month, "month")
    assert months[f"{D:%Y-%m}"]["n"] == 3 and months[f"{D:%Y-%m}"]["median_days"] == 10.0
    assert months[f"{D_EARLY:%Y-%m}"]["n"] == 1 and months[f"{D_EARLY:%Y-%m}"]["median_days"] == 31.0


def test_letters_acknowledged_within_two_working_days(world, built):
    d = board(world, world.chair)
    letters = rows(d.letters, "case_id")
    assert letters[built.a1]["working_days"] == 1 and letters[built.a1]["within_2_working_days"]  # over a weekend
    assert letters[built.a3]["working_days"] == 2 and letters[built.a3]["within_2_working_days"]
    assert letters[built.a2]["working_days"] == 3 and not letters[built.a2]["within_2_working_days"]
    assert pd.isna(letters[built.b1]["working_days"]) and not letters[built.b1]["within_2_working_days"]
    assert (d.letters_n, d.letters_within, d.letters_within_share) == (4, 2, 0.5)


def test_letter_working_days_use_the_practice_nation(world, built):
    """Sent Friday 27 Nov 2026, acknowledged Tuesday 1 Dec: 2 working days in England, 1 in Scotland
    (St Andrew's Day, Monday 30 Nov); practice A is set to Scotland, practice B stays in England."""
    with world.sf.begin() as s:
        s.execute(update(Practice).where(Practice.id == world.practice_a).values(nation="sct"))
        for cid in (built.a1, built.b1):
            s.execute(update(Letter).where(Letter.case_id == cid).values(
                sent_at=at(date(2026, 11, 27)), acknowledged_at=at(date(2026, 12, 1))))
    d = board(world, world.chair, start=date(2026, 11, 1), end=date(2026, 11, 30))
    letters = rows(d.letters, "case_id")
    assert letters[built.a1]["working_days"] == 1 and letters[built.a1]["within_2_working_days"]
    assert letters[built.b1]["working_days"] == 2 and letters[built.b1]["within_2_working_days"]


def test_actions_by_discipline_and_owner(world, built):
    d = board(world, world.chair)
    by = rows(d.actions_by_discipline, "discipline")
    assert set(by) == {"GP", "Physiotherapy", "Pain hub team"}
    assert {k: by["GP"][k] for k in ("open", "overdue", "done", "done_on_time")} == \
        {"open": 1, "overdue": 1, "done": 1, "done_on_time": 1}
    # The physiotherapy role's open action is due today (not overdue); the physio's own was done late.
    assert {k: by["Physiotherapy"][k] for k in ("open", "overdue", "done", "done_on_time")} == \
        {"open": 1, "overdue": 0, "done": 1, "done_on_time": 0}
    assert (by["Pain hub team"]["open"], by["Pain hub team"]["overdue"], by["Pain hub team"]["done"]) == (1, 1, 0)
    assert by["GP"]["completion_rate"] == 0.5 and by["Pain hub team"]["completion_rate"] == 0.0
    assert (d.actions_open, d.actions_done, d.actions_overdue, d.actions_completion_rate) == (3, 2, 2, 0.4)
    owners = {(r["discipline"], r["owner"]): r for r in d.actions_by_owner.to_dict("records")}
    assert owners[("GP", "Dr A")]["open"] == 1 and owners[("GP", "Dr A")]["done"] == 1
    assert owners[("Physiotherapy", "Physio P")]["done"] == 1
    assert owners[("Physiotherapy", "Physiotherapy (team)")]["open"] == 1
    assert owners[("Pain hub team", "Pain hub team")]["overdue"] == 1


def test_pain_change_before_and_after_the_decision_by_condition(world, built):
    d = board(world, world.chair)
    per_case = rows(d.outcome_cases, "case_id")
    assert built.a3 not in per_case  # primary outcome ODI is not a 0-10 pain score
    assert (per_case[built.a1]["change_before"], per_case[built.a1]["change_after"]) == (-2.0, -2.0)
    # a2: the 9 of day -120 is outside the 90-day window; nearest to the decision is day -2 (7), latest 4.
    assert (per_case[built.a2]["change_before"], per_case[built.a2]["change_after"]) == (0.0, -3.0)
    assert per_case[built.a2]["at_decision_on"] == D - timedelta(days=2)
    assert (per_case[built.b1]["instrument"], per_case[built.b1]["change_before"], per_case[built.b1]["change_after"]) \
        == ("PEG", 1.0, -2.0)
    knee = rows(d.outcome_by_condition, "condition")[KNEE]
    assert (knee["cases"], knee["n_before"], knee["n_after"]) == (3, 3, 3)
    assert knee["mean_change_before"] == pytest.approx(-1 / 3)
    assert knee["mean_change_after"] == pytest.approx(-7 / 3)
    assert list(d.outcome_by_condition["condition"]) == [KNEE]
    assert (d.outcome_n_before, d.outcome_n_after) == (3, 3)


def test_flags_current_and_safety_alerts_resolved(world, built):
    d = board(world, world.chair)
    with world.sf() as s:
        expected = s.scalar(select(func.count()).select_from(CaseFlag)
                            .where(CaseFlag.case_id.in_([built.a1, built.a2, built.a3, built.b1])))
    by = rows(d.flags_by_type, "code")
    assert by["safety_phq9"]["current"] == 1 and by["safety_phq9"]["resolved"] == 1  # a2 open, b1 resolved
    assert by["safety_phq9"]["severity"] == "red" and by["safety_phq9"]["flag"] == "Safety alert"
    # flag history: every current flag was raised in the period; the resolved safety alert shows as resolved
    assert all(r["raised"] >= r["current"] for r in by.values())
    assert by["safety_phq9"]["raised"] == 2
    assert d.flags_current == expected == int(d.flags_by_type["current"].sum()) \
        == int(d.flags_by_severity["current"].sum())
    assert d.safety_alerts_resolved == 1
    assert d.flagged_cases >= 1


def test_ome_trend_monthly_mean_of_patients_on_opioids(world, built):
    d = board(world, world.chair)
    month = D - timedelta(days=40)  # its whole month lies after both morphine starts (day -100)
    by = rows(d.ome_by_month, "month")
    assert by[f"{month:%Y-%m}"]["patients_on_opioids"] == 2  # a2's paracetamol does not count
    assert by[f"{month:%Y-%m}"]["mean_ome"] == pytest.approx(30.0)
    assert by[f"{month:%Y-%m}"]["median_ome"] == pytest.approx(30.0)
    assert d.ome_patients == 2
    # Time-weighted: in the month the morphine started, each patient's mean counts the days on it only.
    first = D - timedelta(days=100)
    lo = first.replace(day=1)
    days_in_month = calendar.monthrange(lo.year, lo.month)[1]
    early = board(world, world.chair, start=lo, end=lo.replace(day=days_in_month))
    share = (days_in_month - first.day + 1) / days_in_month
    assert rows(early.ome_by_month, "month")[f"{lo:%Y-%m}"]["mean_ome"] == pytest.approx(30.0 * share)


# ----------------------------------------------------------------------------- filters and scope


def test_period_filters_each_metric_on_its_own_event_date(world, built):
    d = board(world, world.chair, start=D - timedelta(days=7))
    assert d.discussion_n == 3 and d.discussion_median_days == 10.0  # a3 was decided before the period
    assert (d.letters_n, d.letters_within) == (3, 1)  # a3's letter was sent before it
    assert d.letters_within_share == pytest.approx(1 / 3)
    assert (d.actions_open, d.actions_done, d.actions_overdue) == (3, 1, 2)  # a3's action fell due before it
    assert d.actions_completion_rate == 0.25
    assert set(d.outcome_cases["case_id"]) == {built.a1, built.a2, built.b1}
    assert d.safety_alerts_resolved == 1
    before = board(world, world.chair, start=D - timedelta(days=7), end=D - timedelta(days=1))
    assert before.discussion_n == before.letters_n == before.safety_alerts_resolved == 0
    assert before.discussion_median_days is None and before.letters_within_share is None


def test_practice_filter_for_hub_members(world, built):
    d = board(world, world.chair, practice_ids=[world.practice_b])
    assert d.practice_ids == (world.practice_b,)
    assert list(d.discussion_cases["case_id"]) == [built.b1] and d.discussion_median_days == 5.0
    assert (d.letters_n, d.letters_within, d.letters_within_share) == (1, 0, 0.0)
    assert list(d.actions_by_discipline["discipline"]) == ["Pain hub team"]
    knee = rows(d.outcome_by_condition, "condition")[KNEE]
    assert (knee["mean_change_before"], knee["mean_change_after"]) == (1.0, -2.0)
    month = f"{D - timedelta(days=40):%Y-%m}"
    assert rows(d.ome_by_month, "month")[month]["mean_ome"] == pytest.approx(20.0)
    assert d.safety_alerts_resolved == 1 and rows(d.flags_by_type, "code").get("safety_phq9", {}).get("current") == 0


def test_pcp_sees_only_their_practice(world, built):
    d = board(world, world.pcp_a)
    practice_a = {"Practice A"}
    for frame in (d.discussion_cases, d.letters, d.outcome_cases):
        assert set(frame["practice"]) == practice_a
    assert sorted(d.discussion_cases["days"]) == [10, 20, 31]
    assert (d.discussion_median_days, d.discussion_q1_days, d.discussion_q3_days) == (20.0, 15.0, 25.5)
    assert (d.letters_n, d.letters_within) == (3, 2) and d.letters_within_share == pytest.approx(2 / 3)
    assert set(d.actions_by_discipline["discipline"]) == {"GP", "Physiotherapy"}
    assert (d.actions_open, d.actions_done, d.actions_overdue, d.actions_completion_rate) == (2, 2, 1, 0.5)
    knee = rows(d.outcome_by_condition, "condition")[KNEE]
    assert (knee["n_before"], knee["mean_change_before"], knee["mean_change_after"]) == (2, -1.0, -2.5)
    assert rows(d.ome_by_month, "month")[f"{D - timedelta(days=40):%Y-%m}"]["mean_ome"] == pytest.approx(40.0)
    assert d.ome_patients == 1
    assert d.safety_alerts_resolved == 0  # b1's alert is practice B's
    assert rows(d.flags_by_type, "code")["safety_phq9"]["current"] == 1
    # Asking for another practice's cases gives nothing, not their data.
    other = board(world, world.pcp_a, practice_ids=[world.practice_b])
    assert other.discussion_n == other.letters_n == other.actions_open == other.ome_patients == 0
    assert all(frame.empty for frame in other.tables().values())
    b = board(world, world.pcp_b)
    assert list(b.discussion_cases["case_id"]) == [built.b1] and b.letters_n == 1


def test_admin_without_clinical_role_is_refused(world, built):
    with pytest.raises(PermissionDenied):
        dashboard(world.sf, world.admin)


def test_period_must_not_end_before_it_starts(world):
    with pytest.raises(ValidationError):
        dashboard(world.sf, world.chair, start=TODAY, end=TODAY - timedelta(days=1))


def test_relisted_case_uses_the_submission_before_its_first_decision(world, built):
    # Re-listing stamps a new submitted_at; the submission the first decision answered is in the audit trail.
    with world.sf.begin() as s:
        s.execute(update(Case).where(Case.id == built.a1).values(submitted_at=at(TODAY)))
        backdate_audit(s)
        s.execute(update(AuditEvent).where(AuditEvent.action == "case.submit", AuditEvent.entity_id == str(built.a1))
                  .values(at=at(D - timedelta(days=12))))
    d = board(world, world.chair)
    assert rows(d.discussion_cases, "case_id")[built.a1]["days"] == 12


def test_csv_per_table(world, built):
    d = board(world, world.chair)
    files = to_csv(d)
    assert set(files) == {f"{name}.csv" for name in d.tables()}
    assert len(files) == 11
    text = files["letters_by_month.csv"].decode("utf-8").splitlines()
    assert text[0] == "month,n,within,share"
    assert f"{D:%Y-%m},3,1,0.3333333333333333" in text
    assert files["discussion_cases.csv"].decode().count("\n") == 5  # header and 4 cases


# ----------------------------------------------------------------------------- pure parts


def test_working_days_skip_weekends():
    fri = date(2026, 3, 6)
    assert fri.weekday() == 4
    assert working_days_between(fri, fri) == 0
    assert working_days_between(fri, date(2026, 3, 8)) == 0  # Sunday
    assert working_days_between(fri, date(2026, 3, 9)) == 1  # Monday
    assert working_days_between(fri, date(2026, 3, 10)) == 2
    assert working_days_between(date(2026, 3, 7), date(2026, 3, 9)) == 1  # sent on a Saturday
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 11)) == 2  # Mon -> Wed
    # bank holidays are not working days: Good Friday 3 Apr and Easter Monday 6 Apr 2026
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    # Christmas 2026: Fri 25 Dec, and Boxing Day (a Saturday) substituted by Mon 28 Dec
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 30)) == 2


def test_outcome_change_window_and_nearest_value():
    day = date(2026, 6, 1)
    pts = [(day - timedelta(days=100), 9.0), (day - timedelta(days=90), 8.0), (day - timedelta(days=3), 6.0),
           (day + timedelta(days=3), 5.0), (day + timedelta(days=40), 4.0), (day + timedelta(days=400), 1.0)]
    out = outcome_change(pts, day, today=day + timedelta(days=60))
    assert (out["before_first"], out["before_last"], out["change_before"]) == (8.0, 6.0, -2.0)
    assert (out["at_decision_on"], out["at_decision"]) == (day - timedelta(days=3), 6.0)  # tie: the earlier one
    assert (out["latest"], out["change_after"]) == (4.0, -2.0)  # day +400 is after today
    only_one = outcome_change([(day - timedelta(days=5), 7.0)], day, today=day)
    assert only_one["change_before"] is None and only_one["change_after"] is None


def test_monthly_mean_ome_is_day_weighted():
    start, end = date(2026, 1, 1), date(2026, 2, 28)
    series = [(start, 0.0), (date(2026, 1, 22), 31.0), (end, 31.0)]
    out = monthly_mean_ome(series, start, end)
    assert out["2026-01"] == pytest.approx(31.0 * 10 / 31)
    assert out["2026-02"] == pytest.approx(31.0)
    assert monthly_mean_ome([], start, end) == {}


def test_default_period_is_twelve_monthly_buckets():
    assert default_period(date(2026, 3, 17)) == (date(2025, 4, 1), date(2026, 3, 17))
    assert default_period(date(2026, 12, 31)) == (date(2026, 1, 1), date(2026, 12, 31))


def test_figure_builders(world, built):
    d = board(world, world.chair)
    fig = dashboard_charts.discussion_time_chart(d.discussion_by_month)
    assert list(fig.data[0].y) == list(d.discussion_by_month["median_days"])
    fig = dashboard_charts.letters_ack_chart(d.letters_by_month)
    assert sorted(fig.data[0].y) == [pytest.approx(100 / 3), 100.0]
    fig = dashboard_charts.actions_chart(d.actions_by_discipline)
    assert [t.name for t in fig.data] == ["Done", "Open (not yet due)", "Overdue"]
    hub_team = list(fig.data[0].y).index("Pain hub team")
    assert (fig.data[0].x[hub_team], fig.data[1].x[hub_team], fig.data[2].x[hub_team]) == (0, 0, 1)
    fig = dashboard_charts.outcome_change_chart(d.outcome_by_condition)
    assert [t.name for t in fig.data] == ["90 days before", "After the decision"]
    assert fig.data[1].y[0] == pytest.approx(-7 / 3)
    fig = dashboard_charts.flags_chart(d.flags_by_type)
    assert sum(sum(t.x) for t in fig.data) == d.flags_current
    fig = dashboard_charts.ome_trend_chart(d.ome_by_month, 90, 120)
    assert len(fig.layout.shapes) == 2 and list(fig.data[0].x) == list(d.ome_by_month["month"])
    empty = dashboard(world.sf, world.pcp_a, practice_ids=[world.practice_b], start=START, end=END, today=TODAY)
    for builder, frame in ((dashboard_charts.discussion_time_chart, empty.discussion_by_month),
                           (dashboard_charts.letters_ack_chart, empty.letters_by_month),
                           (dashboard_charts.actions_chart, empty.actions_by_discipline),
                           (dashboard_charts.outcome_change_chart, empty.outcome_by_condition),
                           (dashboard_charts.flags_chart, empty.flags_by_type),
                           (dashboard_charts.ome_trend_chart, empty.ome_by_month)):
        fig = builder(frame)
        assert not fig.data and fig.layout.annotations, builder.__name__


# ----------------------------------------------------------------------------- demo cohort


def _demo_with_flags(sf) -> None:
    from hub import demo

    demo.seed_demo(sf)
    flags.recompute_all(sf)


def test_demo_cohort_smoke(clone_db):
    from db.models import Treatment

    sf, _ = clone_db(f"demo-flags-{date.today()}", _demo_with_flags)
    from hub.auth import actor_for

    chair = actor_for(sf, "chair")
    d = dashboard(sf, chair)
    start = datetime.combine(d.start, time())
    with sf() as s:
        decided = s.scalar(select(func.count()).select_from(Decision).where(
            Decision.status == "final", Decision.finalised_at >= start))
        sent = s.scalar(select(func.count()).select_from(Letter).where(Letter.sent_at >= start))
        due = s.scalar(select(func.count()).select_from(Action).where(Action.due_date >= d.start,
                                                                       Action.due_date <= d.end))
        flagged = s.scalar(select(func.count()).select_from(CaseFlag))
        medicines = s.scalar(select(func.count()).select_from(Treatment).where(Treatment.category == "medicine"))
    assert flagged > 0 and medicines > 0
    assert not d.flags_by_type.empty and not d.flags_by_severity.empty
    assert not d.ome_by_month.empty and d.ome_patients > 0
    assert (d.discussion_n > 0) == (decided > 0) and (d.discussion_by_month.empty == (decided == 0))
    assert (d.letters_n > 0) == (sent > 0)
    assert d.actions_by_discipline.empty == (due == 0)
    pcp = actor_for(sf, "gp.north")
    mine = dashboard(sf, pcp)
    assert 0 < mine.ome_patients <= d.ome_patients
    for frame in (mine.discussion_cases, mine.letters, mine.outcome_cases):
        assert set(frame["practice"]) <= {"Northgate Medical Centre"}
    assert all(len(v) > 0 for v in to_csv(d).values())
