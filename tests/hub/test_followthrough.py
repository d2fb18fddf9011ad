"""Follow-through on both backends: reviews with goal attainment, response since the hub decision,
and automatic re-listing with the reason shown."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from db.models import AuditEvent
from hub import cases, decisions, flags, meetings, records
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.records import ReviewInput
from test_meetings import submit

TODAY = date.today()
MEETING = datetime.combine(TODAY - timedelta(days=60), datetime.min.time()).replace(hour=13)


def decided_case(world, due_in_days: int = 7, follow_up_days_ago: int = 10):
    """A knee-OA case with NRS 6 before the hub decision 60 days ago, finalised with one goal."""
    cid = submit(world, 0)
    records.add_assessment(world.sf, world.pcp_a, cid, "nrs", TODAY - timedelta(days=70), {"NRS_Q1": 6})
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=MEETING)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    form = DecisionForm(
        formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
        allergies="No known drug allergies", primary_outcome="nrs",
        follow_up_date=TODAY - timedelta(days=follow_up_days_ago),
        recommendations=[RecommendationInput("exercise_programme", "Knee class", owner_role="pcp",
                                             due_date=TODAY + timedelta(days=due_in_days))],
        goals=[GoalInput("Walk the dog", "", "20 minutes", TODAY + timedelta(days=30), 3, 2,
                         {-2: "5 min", -1: "10 min", 0: "20 min", 1: "30 min", 2: "45 min"}, recommendation=1)])
    v = decisions.save(world.sf, world.chair, item, form, 0)
    decisions.finalise(world.sf, world.chair, item, v)
    return cid


def test_worse_pain_at_follow_up_review_relists_with_reason(world):
    cid = decided_case(world)
    assert cases.case_header(world.sf, world.pcp_a, cid).status == "returned"
    records.add_assessment(world.sf, world.pcp_a, cid, "nrs", TODAY, {"NRS_Q1": 7})
    header = cases.case_header(world.sf, world.pcp_a, cid)
    assert header.status == "returned"  # no follow-up review yet: not judged
    assert "since_decision" in header.response and header.response["since_decision"]["category"] == "worse"
    records.add_review(world.sf, world.pcp_a, cid, ReviewInput(review_date=TODAY, attendance="attended",
                                                               management_changes=["referral"]))
    header = cases.case_header(world.sf, world.chair, cid)
    assert header.status == "submitted"
    relisted = next(f for f in header.flags if f.code == "relisted")
    assert "no important improvement" in relisted.reason
    assert "NRS 6.0 at the hub decision → 7.0" in relisted.reason
    row = cases.queue(world.sf, world.chair).rows
    assert "Re-listed" in row[row.case_id == cid]["flags"].iloc[0]
    with world.sf() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.relist")).one()
        assert event.actor_id is None and event.changes["status"] == ["returned", "submitted"]


def test_goal_attainment_recorded_at_review_with_t_score_history(world):
    cid = decided_case(world, follow_up_days_ago=-20)  # follow-up still ahead
    goal = records.case_goals(world.sf, world.pcp_a, cid)["goals"][0]
    assert goal["recommendation"] == "Knee class" and goal["level"] is None
    records.add_review(world.sf, world.pcp_a, cid, ReviewInput(review_date=TODAY - timedelta(days=5),
                                                               goal_levels={goal["id"]: 0}))
    records.add_review(world.sf, world.pcp_a, cid, ReviewInput(review_date=TODAY, goal_levels={goal["id"]: 1}))
    data = records.case_goals(world.sf, world.pcp_a, cid)
    assert data["goals"][0]["level"] == 1
    assert data["t_scores"] == [(TODAY - timedelta(days=5), 50.0), (TODAY, 60.0)]
    assert cases.case_header(world.sf, world.pcp_a, cid).status == "returned"


def test_overdue_action_relists_when_the_day_comes(world):
    cid = decided_case(world, due_in_days=1, follow_up_days_ago=-40)
    assert cases.case_header(world.sf, world.chair, cid).status == "returned"
    with world.sf.begin() as s:
        flags.recompute_cases(s, [cid], today=TODAY + timedelta(days=15))
    header = cases.case_header(world.sf, world.chair, cid)
    assert header.status == "submitted"
    assert "Action overdue by 14 days: Knee class" in header.flags[0].reason


def test_new_disengagement_flag_relists(world):
    cid = decided_case(world, follow_up_days_ago=-40)
    for days in (20, 10):
        records.add_review(world.sf, world.pcp_a, cid, ReviewInput(review_date=TODAY - timedelta(days=days),
                                                                   attendance="dna"))
    header = cases.case_header(world.sf, world.chair, cid)
    assert header.status == "submitted"
    assert "New flag since the hub decision: Missed appointments" in header.flags[0].reason
