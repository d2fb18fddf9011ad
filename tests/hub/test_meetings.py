"""Hub meetings and decisions on SQLite and PostgreSQL: agenda, quorum, preparation, concurrent
editing, finalising (actions, letter, case back to the PCP), inbox and minutes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Action, AgendaItem, AuditEvent, Letter
from hub import cases, correspondence, decisions, inbox, meetings
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.errors import EditConflict, PermissionDenied, ValidationError
from hub.vocab import RED_FLAGS

NHS = ["9434765919", "1745438912", "4010232137", "4000000020", "9990000018"]
# Meetings of today: attendance and final decisions are refused before the meeting day.
STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)


def submit(world, i: int, risk_band: str = "low", condition: str = "knee_oa") -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=NHS[i], given_name=f"P{i}", family_name="Test",
                                           birth_year=1960, sex="female"),
                    condition=condition, pain_classification="secondary", clinical_question=f"Question {i}?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=6, risk_tool="start_msk",
                    risk_band=risk_band, goals_text="Walk further")
    return cases.save_case(world.sf, world.pcp_a, inp, submit=True).case_id


def full_form(day: date) -> DecisionForm:
    return DecisionForm(
        formulation="Knee OA with fear-avoidance", pathway_step="S4_ACTIVE_NON_PHARM",
        answer="Exercise-led plan; no injection now", allergies="No known drug allergies",
        what_matters="Walking the dog", beliefs_concerns="Fears exercise will wear out the knee",
        options_discussed="Physio-led exercise; injection", option_preferred="Exercise", options_declined="Injection",
        discussed_with_patient="yes", patient_view="agrees", safety_netting="Seek help if the knee locks or swells",
        primary_outcome="nrs",
        follow_up_date=day + timedelta(days=56),
        recommendations=[
            RecommendationInput("exercise_programme", "Supervised knee strengthening, 6 weeks",
                                owner_role="physiotherapy", due_date=day + timedelta(days=14)),
            RecommendationInput("education", "Explain OA and exercise safety", owner_role="pcp",
                                due_date=day + timedelta(days=7)),
        ],
        goals=[GoalInput("Walk the dog", "independently", "20 minutes", day + timedelta(days=84), 3, 2,
                         {-2: "5 min", -1: "10 min", 0: "20 min", 1: "30 min", 2: "45 min"})])


def test_agenda_proposed_by_priority_and_cases_scheduled(world):
    low = submit(world, 0, "low")
    high = submit(world, 1, "high")
    with pytest.raises(PermissionDenied):
        meetings.create_meeting(world.sf, world.specialist, title="MDT", starts_at=STARTS)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS, duration_minutes=10,
                                  minutes_per_case=10)
    view = meetings.meeting_view(world.sf, world.chair, mid)
    assert [r.case_id for r in view.agenda] == [high]  # one slot: the higher priority case
    assert cases.case_header(world.sf, world.chair, high).status == "scheduled"
    assert cases.case_header(world.sf, world.chair, low).status == "submitted"
    item = meetings.add_case(world.sf, world.chair, mid, low)
    meetings.move_item(world.sf, world.chair, item, -1)
    assert [r.case_id for r in meetings.meeting_view(world.sf, world.chair, mid).agenda] == [low, high]
    with pytest.raises(ValidationError):
        meetings.add_case(world.sf, world.chair, mid, low)
    meetings.remove_item(world.sf, world.chair, item)
    assert cases.case_header(world.sf, world.chair, low).status == "triaged"


def test_quorum_rule_and_carry_forward(world):
    c1 = submit(world, 0, "high")  # high risk band -> psychosocial -> psychology required
    c2 = submit(world, 1)
    m1 = meetings.create_meeting(world.sf, world.chair, title="MDT 1", starts_at=STARTS)
    m2 = meetings.create_meeting(world.sf, world.chair, title="MDT 2", starts_at=STARTS + timedelta(days=7),
                                 propose=False)
    q = meetings.set_attendance(world.sf, world.chair, m1, [(world.chair.user_id, "pain_medicine"),
                                                            (world.specialist.user_id, "physiotherapy")])
    assert not q.met and "Psychology" in q.missing
    with pytest.raises(ValidationError) as exc:
        meetings.finalise_meeting(world.sf, world.chair, m1)
    assert "Quorum not met" in exc.value.errors["quorum"]
    meetings.finalise_meeting(world.sf, world.chair, m1, override_reason="Psychologist off sick; urgent cases only")
    m2_view = meetings.meeting_view(world.sf, world.chair, m2)
    assert {r.case_id for r in m2_view.agenda} == {c1, c2}
    assert all(r.carried_from == m1 for r in m2_view.agenda)
    assert {r.status for r in meetings.meeting_view(world.sf, world.chair, m1).agenda} == {"carried_forward"}
    assert meetings.quorum(["pain_medicine"], {"pain_medicine"}, []).met


def test_preparation_and_readiness(world):
    cid = submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0]
    assert "current medicines (none recorded)" in item.missing
    assert "clinical question" not in item.missing
    meetings.save_preparation(world.sf, world.specialist, item.item_id, "Quads weak; graded exercise suits her")
    prep = meetings.preparation_list(world.sf, world.specialist)
    assert prep[0]["case_id"] == cid and prep[0]["prepared"].startswith("Quads")
    row = meetings.meeting_view(world.sf, world.chair, mid).agenda[0]
    assert "Physiotherapy" in row.preparation
    with pytest.raises(PermissionDenied):
        meetings.save_preparation(world.sf, world.pcp_a, item.item_id, "x")


def test_concurrent_edit_conflict_never_overwrites(world):
    submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    a = decisions.load(world.sf, world.chair, item)
    b = decisions.load(world.sf, world.specialist, item)
    form_a = a.form
    form_a.formulation = "Chair's formulation"
    v1 = decisions.save(world.sf, world.chair, item, form_a, a.version)
    form_b = b.form
    form_b.formulation = "Physio's formulation"
    with pytest.raises(EditConflict) as exc:
        decisions.save(world.sf, world.specialist, item, form_b, b.version)
    assert "Chair C" in str(exc.value) and "formulation" in str(exc.value)
    assert decisions.load(world.sf, world.chair, item).form.formulation == "Chair's formulation"
    decisions.save(world.sf, world.specialist, item, form_b, v1)  # after seeing theirs, saves deliberately
    assert decisions.load(world.sf, world.chair, item).form.formulation == "Physio's formulation"


def test_guideline_check_on_medicine_recommendation(world):
    submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    form = full_form(STARTS.date())
    form.recommendations.append(RecommendationInput("start_medicine", "Start oxycodone MR", drug="oxycodone",
                                                    owner_role="pcp", due_date=STARTS.date()))
    with pytest.raises(ValidationError) as exc:
        decisions.save(world.sf, world.chair, item, form, 0)
    assert "NG226" in exc.value.errors["recommendations[3].guideline"]
    form.recommendations[-1].guideline_override = "Short course while awaiting joint replacement, agreed"
    assert decisions.save(world.sf, world.chair, item, form, 0) >= 1


def test_finalise_creates_actions_letter_and_returns_case(world):
    cid = submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    form = full_form(STARTS.date())
    form.allergies = ""
    v = decisions.save(world.sf, world.chair, item, form, 0)
    with pytest.raises(ValidationError) as exc:
        decisions.finalise(world.sf, world.chair, item, v)
    assert "allergies" in exc.value.errors
    form.allergies = "No known drug allergies"
    v = decisions.save(world.sf, world.chair, item, form, v)
    with pytest.raises(PermissionDenied):
        decisions.finalise(world.sf, world.specialist, item, v)
    letter_id = decisions.finalise(world.sf, world.chair, item, v)
    header = cases.case_header(world.sf, world.pcp_a, cid)
    assert header.status == "returned"
    with world.sf() as s:
        acts = s.scalars(select(Action).where(Action.case_id == cid)).all()
        assert {a.owner_role for a in acts} == {"physiotherapy", "pcp"}
        assert next(a for a in acts if a.owner_role == "pcp").owner_user_id == world.pcp_a.user_id
        letter = s.get(Letter, letter_id)
        assert letter.status == "sent" and "Walk the dog" in letter.body_markdown
        assert s.get(AgendaItem, item).status == "discussed"
        logged = set(s.scalars(select(AuditEvent.action)))
    assert {"decision.finalise", "action.create", "letter.send"} <= logged
    with pytest.raises(ValidationError):
        decisions.save(world.sf, world.chair, item, form, v + 1)

    box = inbox.inbox(world.sf, world.pcp_a)
    assert [x.letter_id for x in box.letters] == [letter_id]
    assert len(box.open) == 1 and box.open[0].description == "Explain OA and exercise safety"
    assert inbox.inbox(world.sf, world.pcp_b).letters == ()
    with pytest.raises(ValidationError, match="Open and read the letter"):
        inbox.acknowledge_letter(world.sf, world.pcp_a, letter_id)  # not opened yet
    assert inbox.counts(world.sf, world.pcp_a)[0] == 1
    assert inbox.open_letter(world.sf, world.pcp_a, letter_id).letter_id == letter_id
    inbox.acknowledge_letter(world.sf, world.pcp_a, letter_id)
    assert inbox.counts(world.sf, world.pcp_a)[0] == 0
    action_id = box.open[0].action_id
    with pytest.raises(PermissionDenied):
        inbox.complete_action(world.sf, world.pcp_b, action_id, "")
    inbox.complete_action(world.sf, world.pcp_a, action_id, "Leaflet given")
    box = inbox.inbox(world.sf, world.pcp_a)
    assert box.letters[0].status == "acknowledged" and box.done[0].note == "Leaflet given"
    physio_box = inbox.inbox(world.sf, world.specialist)
    assert [a.description for a in physio_box.open] == ["Supervised knee strengthening, 6 weeks"]
    overdue = inbox.inbox(world.sf, world.specialist, today=STARTS.date() + timedelta(days=30))
    assert len(overdue.overdue) == 1

    # Years of done actions never push open work out of the inbox; the done list shows the latest.
    with world.sf.begin() as s:
        done_action = s.get(Action, action_id)
        for i in range(inbox.INBOX_RECENT_DONE + 10):
            s.add(Action(case_id=cid, decision_id=done_action.decision_id, description=f"Old task {i}",
                         owner_user_id=world.pcp_a.user_id, due_date=STARTS.date() - timedelta(days=400 - i),
                         status="done", completed_at=done_action.completed_at - timedelta(days=300 - i)))
        s.add(Action(case_id=cid, decision_id=done_action.decision_id, description="New open task",
                     owner_user_id=world.pcp_a.user_id, due_date=STARTS.date() + timedelta(days=90)))
    box = inbox.inbox(world.sf, world.pcp_a)
    assert [a.description for a in box.open] == ["New open task"]
    assert len(box.done) == inbox.INBOX_RECENT_DONE and box.done[0].note == "Leaflet given"
    assert box.done[1].description == f"Old task {inbox.INBOX_RECENT_DONE + 9}"

    m = correspondence.minutes(world.sf, world.chair, mid)
    assert m.cases[0].actions and "Exercise-led plan" in m.cases[0].outcome
    pdf = correspondence.letter_pdf(world.sf, world.pcp_a, letter_id)
    assert pdf.startswith(b"%PDF")
