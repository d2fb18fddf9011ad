"""Re-listing rules of the follow-through."""

from __future__ import annotations

from datetime import date

from hub.clinical.followup import ActionState, FollowUpState, GoalState, relisting_reasons

TODAY = date(2026, 6, 30)
BASE = dict(today=TODAY, decided_on=date(2026, 4, 1), follow_up_date=date(2026, 6, 1))


def test_nothing_wrong_stays_with_pcp():
    state = FollowUpState(**BASE, actions=(ActionState("Refer physio", date(2026, 6, 20), True),),
                          goals=(GoalState("Walk 20 min", date(2026, 7, 30), None),))
    assert relisting_reasons(state) == []


def test_action_overdue_by_threshold_boundary():
    on_edge = FollowUpState(**BASE, actions=(ActionState("Refer physio", date(2026, 6, 16), True),))
    assert relisting_reasons(on_edge, overdue_days=14)[0].startswith("Action overdue by 14 days: Refer physio")
    assert relisting_reasons(on_edge, overdue_days=15) == []
    done = FollowUpState(**BASE, actions=(ActionState("Refer physio", date(2026, 1, 1), False),))
    assert relisting_reasons(done) == []


def test_follow_up_review_without_important_improvement():
    state = FollowUpState(**BASE, follow_up_review_on=date(2026, 6, 2), primary_instrument="peg",
                          value_at_decision=6.3, value_latest=7.0, value_latest_on=date(2026, 6, 2),
                          important_improvement=False)
    assert relisting_reasons(state) == [
        "Follow-up review on 2 Jun shows no important improvement: PEG 6.3 at the hub decision → 7.0 on 2 Jun"]
    improved = FollowUpState(**{**state.__dict__, "important_improvement": True})
    assert relisting_reasons(improved) == []
    before_review = FollowUpState(**{**state.__dict__, "follow_up_review_on": None})
    assert relisting_reasons(before_review) == []


def test_new_flag_since_decision_only():
    state = FollowUpState(**BASE, flags_at_decision=frozenset({"inertia"}),
                          current_flags=(("inertia", "Therapeutic inertia", "r1"),
                                         ("missed_appointments", "Missed appointments", "2 DNAs"),
                                         ("opioid_amber", "Opioid dose (amber)", "95 mg")))
    assert relisting_reasons(state) == ["New flag since the hub decision: Missed appointments — 2 DNAs"]


def test_goal_not_achieved_by_its_date():
    state = FollowUpState(**BASE, goals=(GoalState("Walk 20 min", date(2026, 6, 1), -1),
                                         GoalState("Swim", date(2026, 6, 1), 0),
                                         GoalState("Garden", date(2026, 6, 1), None)))
    assert relisting_reasons(state) == ["Goal not achieved by 1 Jun (level -1): Walk 20 min",
                                        "Goal not achieved by 1 Jun (not rated): Garden"]
