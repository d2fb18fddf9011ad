"""The meeting room's hub side on SQLite and PostgreSQL: templates from flags and pathway, placed errors,
the summary of what finalising sends, and the chair's current agenda item that attendees follow."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Meeting
from hub import decision_templates, decisions, meetings
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.errors import PermissionDenied, ValidationError

from test_meetings import STARTS, submit

DAY = date(2026, 12, 3)


# ----------------------------------------------------------------------------- templates (pure)


def test_opioid_flag_suggests_the_taper_first_with_the_reason():
    s = decision_templates.suggest(["opioid_red", "missed_appointments"], "low_back_pain", "primary", None)
    keys = [x.template.key for x in s if x.why]
    assert keys[0] == "opioid_taper" and "social_prescribing" in keys and "exercise_programme" in keys
    assert next(x.why for x in s if x.template.key == "opioid_taper") == "opioid flag on the case"
    assert {x.template.key for x in s} == set(decision_templates.BY_KEY)  # every template stays available


def test_no_flag_no_special_suggestion_but_pathway_step_counts():
    plain = decision_templates.suggest([], "shoulder_pain", "secondary", None)
    assert not [x for x in plain if x.why]
    s6 = decision_templates.suggest([], "shoulder_pain", "secondary", "S6_COMBINED_PROGRAMME")
    assert {x.template.key for x in s6 if x.why} == {"exercise_programme", "psychological_therapy"}


def test_opioid_taper_template_fills_kind_owner_due_review_and_patient_part():
    form = DecisionForm()
    rec = decisions.apply_template(form, "opioid_taper", DAY, "morphine")
    assert (rec.kind, rec.owner_role, rec.drug, rec.for_patient) == ("taper_medicine", "pcp", "morphine", True)
    assert rec.due_date == DAY + timedelta(weeks=4) and "morphine" in rec.description
    assert "diary" in rec.description  # the patient's part
    assert form.follow_up_date == DAY + timedelta(weeks=12)
    # a review date already set is kept
    form = DecisionForm(follow_up_date=DAY + timedelta(days=30))
    decisions.apply_template(form, "exercise_programme", DAY)
    assert form.follow_up_date == DAY + timedelta(days=30)
    with pytest.raises(ValidationError):
        decisions.apply_template(form, "no_such_template", DAY)


def test_opioids_of_current_medicines():
    found = decision_templates.opioids_of(["Paracetamol", "Morphine MR 10 mg", None, "codeine"])
    assert found == ["morphine", "codeine"]
    assert decision_templates.opioids_of(["naproxen", "  "]) == []


# ----------------------------------------------------------------------------- errors placed, summary


def test_service_error_keys_are_placed_on_their_items():
    errors = {"recommendations[2].guideline": "R2 guideline", "goals[1]": "G1", "goals[1].recommendation": "G1 link",
              "follow_up_date": "date", "flag.opioid_red": "flag", "recommendations": "add one"}
    placed = decisions.place_errors(errors)
    assert [(e.section, e.number) for e in placed] == [
        ("flag.opioid_red", None), ("recommendations", None), ("recommendations", 2), ("goals", 1), ("goals", 1),
        ("follow_up_date", None)]
    assert placed[2].anchor == "err-recommendations-2"
    assert decisions.errors_for(errors, "goals", 1) == ["G1", "G1 link"]
    assert decisions.errors_for(errors, "recommendations", 1) == []


def test_send_summary_names_recipient_actions_owners_goals_and_review():
    form = DecisionForm(follow_up_date=DAY + timedelta(days=90), recommendations=[
        RecommendationInput("exercise_programme", "Group exercise", owner_role="physiotherapy",
                            due_date=DAY + timedelta(days=30))],
        goals=[GoalInput("Walk the dog", "", "20 minutes daily")])
    lines = decisions.send_summary(form, "Dr A")
    assert lines[0].startswith("Outcome letter to Dr A")
    assert "Action 1 for Physiotherapy, due 02 Jan 2027: Group exercise" in lines
    assert "Goal 1: Walk the dog — 20 minutes daily" in lines
    assert lines[-1].startswith("Follow-up review on 03 Mar 2027")


# ----------------------------------------------------------------------------- the chair's current case


def test_chair_sets_the_live_item_once_and_members_read_it(world):
    submit(world, 0)
    submit(world, 1)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    agenda = meetings.meeting_view(world.sf, world.chair, mid).agenda
    assert meetings.live_item(world.sf, world.specialist, mid) is None
    assert meetings.set_live_item(world.sf, world.chair, agenda[1].item_id) is True
    assert meetings.set_live_item(world.sf, world.chair, agenda[1].item_id) is False  # same case: nothing written
    live = meetings.live_item(world.sf, world.specialist, mid)
    assert live.item_id == agenda[1].item_id and live.case_label == agenda[1].case_label
    assert live.decision_version == 0
    decisions.save(world.sf, world.specialist, agenda[1].item_id, DecisionForm(formulation="x"), 0)
    assert meetings.live_item(world.sf, world.specialist, mid).decision_version == 1  # attendees see it change
    with world.sf() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "meeting.live_item")).all()
        assert len(events) == 1
        assert s.get(Meeting, mid).version == 1  # the meeting's own version (agenda/attendance forms) untouched
    with pytest.raises(PermissionDenied):
        meetings.set_live_item(world.sf, world.specialist, agenda[0].item_id)
    with pytest.raises(PermissionDenied):
        meetings.live_item(world.sf, world.pcp_a, mid)


# ----------------------------------------------------------------------------- the meeting day and its length


def test_attendance_and_final_decision_refused_before_the_meeting_day(world):
    from test_meetings import full_form

    submit(world, 0)
    later = datetime.combine(date.today() + timedelta(days=3), datetime.min.time()).replace(hour=13)
    mid = meetings.create_meeting(world.sf, world.chair, title="Next week", starts_at=later)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    with pytest.raises(ValidationError, match="on or after the meeting day"):
        meetings.set_attendance(world.sf, world.chair, mid, [(world.chair.user_id, "pain_medicine")])
    v = decisions.save(world.sf, world.chair, item, full_form(later.date()), 0)  # discussing ahead is fine
    with pytest.raises(ValidationError, match="on or after the meeting day"):
        decisions.finalise(world.sf, world.chair, item, v)
    assert decisions.load(world.sf, world.chair, item).status == "draft"


def test_booked_minutes_against_the_meeting_length(world):
    for i in range(3):
        submit(world, i)
    mid = meetings.create_meeting(world.sf, world.chair, title="Short", starts_at=STARTS, duration_minutes=20,
                                  minutes_per_case=10)
    view = meetings.meeting_view(world.sf, world.chair, mid)
    assert (view.duration_minutes, view.booked_minutes, view.overbooked_by) == (20, 20, 0)
    extra = next(c for c in (submit_id for submit_id in range(1, 10))
                 if c not in {r.case_id for r in view.agenda})
    meetings.add_case(world.sf, world.chair, mid, extra)
    view = meetings.meeting_view(world.sf, world.chair, mid)
    assert view.booked_minutes == 30 and view.overbooked_by == 10


# ----------------------------------------------------------------------------- new since you last looked


def test_new_since_last_look_and_cases_awaiting_triage(world):
    from hub import queue_news

    first = submit(world, 0)
    news = queue_news.news(world.sf, world.chair)  # never looked: the last week counts as new
    assert news.new_case_ids == (first,) and news.awaiting_triage == 1
    assert queue_news.mark_seen(world.sf, world.chair) is None
    assert queue_news.news(world.sf, world.chair).new_count == 0
    second = submit(world, 1)
    news = queue_news.news(world.sf, world.chair)
    assert news.new_case_ids == (second,) and news.awaiting_triage == 2
    assert queue_news.news(world.sf, world.specialist).awaiting_triage is None  # the count is the chair's
    assert queue_news.news(world.sf, world.pcp_b).new_count == 0  # another practice's case is not in scope
    with world.sf() as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "queue.seen")) == "queue.seen"
