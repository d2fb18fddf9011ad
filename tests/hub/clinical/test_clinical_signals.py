"""docs/CLINICAL.md section 5: therapeutic inertia and disengagement / treatment-fatigue detectors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical import signals as S
from hub.clinical.signals import Review

FAST = settings(max_examples=80, deadline=None)
R0 = Review(date(2024, 12, 2), None)  # baseline at MDT referral (excluded from events)


def rv(d, met, changes=(), just=()):
    return Review(d, met, list(changes), list(just))


# ----------------------------------------------------------------------------- I1-I7


def test_i1_two_consecutive_events():
    reviews = [R0, rv(date(2025, 3, 12), False), rv(date(2025, 4, 9), False)]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 4, 9))
    assert r.flag is True and r.rule == "a"
    assert r.reason == "No change at the last 2 reviews (12 Mar, 9 Apr) while target not met; no reason recorded"


def test_i2_change_at_latest_review():
    reviews = [R0, rv(date(2025, 1, 6), False), rv(date(2025, 2, 3), False, ["dose_change"])]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 2, 3))
    assert r.flag is False and r.weeks_since_change == 0  # (b) checked by dates: change today


def test_i3_justified_review_breaks_the_run():
    reviews = [R0, rv(date(2025, 1, 6), False, just=["patient_declined"]), rv(date(2025, 2, 3), False)]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 2, 3))
    assert r.flag is False and r.consecutive_events == 1


def test_i4_at_target():
    reviews = [R0, rv(date(2025, 1, 6), True), rv(date(2025, 2, 3), True)]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 2, 3))
    assert r.flag is False and r.ti_score == 0 and "Target met" in r.reason


@pytest.mark.parametrize("latest, flag", [(date(2025, 4, 7), True), (date(2025, 3, 24), False)])
def test_i5_i6_weeks_since_last_change(latest, flag):
    reviews = [R0, rv(date(2025, 1, 6), False, ["dose_change"]), rv(latest, False)]
    r = S.therapeutic_inertia_flag(reviews, today=latest)
    assert r.flag is flag
    assert r.weeks_since_change == pytest.approx(13 if flag else 11)
    if flag:
        assert r.rule == "b" and "6 Jan" in r.reason and "13 weeks" in r.reason


def test_i5_justification_at_latest_review_prevents_rule_b():
    reviews = [R0, rv(date(2025, 1, 6), False, ["dose_change"]), rv(date(2025, 4, 7), False, just=["close_to_target"])]
    assert S.therapeutic_inertia_flag(reviews, today=date(2025, 4, 7)).flag is False


def test_i7_ti_score():
    reviews = [R0, rv(date(2025, 1, 6), False), rv(date(2025, 2, 3), False, ["referral"]),
               rv(date(2025, 3, 3), False), rv(date(2025, 3, 31), True)]
    assert S.therapeutic_inertia_flag(reviews, today=date(2025, 3, 31)).ti_score == 0.5


def test_no_change_since_baseline_counts_from_baseline():
    reviews = [Review(date(2025, 1, 6), None), rv(date(2025, 4, 7), False)]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 4, 7))
    assert r.flag is True and r.rule == "b" and "since baseline" in r.reason


def test_future_reviews_ignored_and_single_review():
    reviews = [R0, rv(date(2025, 1, 6), False), rv(date(2025, 2, 3), False)]
    assert S.therapeutic_inertia_flag(reviews, today=date(2025, 1, 10)).flag is False
    r = S.therapeutic_inertia_flag([R0], today=date(2025, 1, 10))
    assert r.flag is False and r.ti_score is None


def test_min_consecutive_is_a_parameter():
    reviews = [R0, rv(date(2025, 1, 6), False), rv(date(2025, 2, 3), False)]
    assert S.therapeutic_inertia_flag(reviews, date(2025, 2, 3), min_consecutive=3).flag is False
    assert S.therapeutic_inertia_flag(reviews, date(2025, 2, 3), max_weeks=4).flag is True


def test_inertia_event_definition():
    assert S.inertia_event(R0, rv(date(2025, 1, 6), False)) is True
    assert S.inertia_event(R0, rv(date(2025, 1, 6), None)) is False
    assert S.inertia_event(R0, rv(date(2025, 1, 6), False, ["goal_revision"])) is False


def test_review_validates_codes():
    with pytest.raises(ValueError):
        Review(date(2025, 1, 6), False, ["new_pill"])
    with pytest.raises(ValueError):
        Review(date(2025, 1, 6), False, [], ["felt_like_it"])
    with pytest.raises(ValueError):
        Review("2025-01-06", False)  # type: ignore[arg-type]
    assert set(S.JUST_CODES) == {"patient_declined", "recent_change_within_onset_window",
                                 "awaiting_investigation_or_specialist", "adherence_support_given", "close_to_target",
                                 "competing_priority", "shared_decision_to_maintain"}
    assert len(S.CHANGE_EVENT_TYPES) == 9 and "taper_start" in S.CHANGE_EVENT_TYPES


def test_change_event_own_date_is_used():
    change = S.ChangeEvent("drug_start", date(2025, 1, 1))
    reviews = [R0, Review(date(2025, 1, 20), False, [change]), rv(date(2025, 3, 26), False)]
    r = S.therapeutic_inertia_flag(reviews, today=date(2025, 3, 26))
    assert r.weeks_since_change == pytest.approx(12) and r.flag is True


def test_onset_window():
    assert S.within_onset_window(date(2025, 1, 1), date(2025, 2, 1), "antidepressant") is True
    assert S.within_onset_window(date(2025, 1, 1), date(2025, 2, 12), "antidepressant") is False
    assert S.within_onset_window(date(2025, 1, 1), date(2025, 2, 19), "exercise_programme") is True


review_st = st.builds(
    lambda met, change, just: (met, change, just),
    st.sampled_from([True, False, None]), st.booleans(), st.booleans(),
)


@FAST
@given(st.lists(review_st, min_size=1, max_size=8), st.integers(7, 60))
def test_inertia_properties(specs, gap_days):
    d0 = date(2025, 1, 6)
    reviews = [Review(d0, None)] + [
        Review(d0 + timedelta(days=gap_days * (i + 1)), met, ["dose_change"] if ch else [],
               ["patient_declined"] if ju else [])
        for i, (met, ch, ju) in enumerate(specs)
    ]
    today = reviews[-1].date
    r = S.therapeutic_inertia_flag(reviews, today)
    assert 0 <= r.ti_score <= 1 and r.reason
    if all(met is not False for met, _, _ in specs):
        assert r.flag is False
    if len(specs) >= 2 and all(met is False and not ch and not ju for met, ch, ju in specs[-2:]):
        assert r.flag is True
    # a recorded justification at the latest review can only remove rule (b), never add a flag
    met, ch, _ = specs[-1]
    justified = reviews[:-1] + [Review(today, met, reviews[-1].management_changes, ["shared_decision_to_maintain"])]
    assert S.therapeutic_inertia_flag(justified, today).flag <= r.flag


# ---------------------------------------------------------------------- disengagement


def test_missed_appointments_two_dnas_in_six_months():
    today = date(2025, 6, 30)
    att = [(date(2025, 2, 1), False), (date(2025, 5, 1), True), (date(2025, 6, 1), False)]
    r = S.missed_appointments_signal(att, today)
    assert r.flag is True and "2 missed" in r.reason and "1 Feb" in r.reason


def test_missed_appointments_old_dna_outside_window():
    today = date(2025, 6, 30)
    att = [(date(2024, 12, 1), False), (date(2025, 5, 1), True), (date(2025, 6, 1), False)]
    assert S.missed_appointments_signal(att, today).flag is False


def test_missed_appointments_half_of_last_four():
    today = date(2026, 6, 30)
    att = [(date(2025, 1, 1), False), (date(2025, 3, 1), True), (date(2025, 5, 1), True), (date(2026, 6, 1), False)]
    r = S.missed_appointments_signal(att, today)
    assert r.flag is True and "of the last 4" in r.reason
    assert S.missed_appointments_signal(att[1:], today).flag is False  # only 3 contacts, 1 DNA


def test_prom_non_completion():
    today = date(2025, 6, 30)
    sched = [(date(2025, 3, 1), True), (date(2025, 4, 1), False), (date(2025, 5, 1), False), (date(2025, 7, 1), False)]
    r = S.prom_non_completion_signal(sched, today)
    assert r.flag is True and r.value == 2  # the PROM due in July is not yet due
    assert S.prom_non_completion_signal(sched[:3] + [(date(2025, 6, 1), True)], today).flag is False


@pytest.mark.parametrize("prev, cur, flag", [(4, 2, True), (4, 2.1, False), (100, 40, True), (0, 0, False),
                                             (3, 4, False)])
def test_adherence_drop(prev, cur, flag):
    assert S.adherence_drop_signal(prev, cur).flag is flag


def test_adherence_invalid():
    with pytest.raises(ValueError):
        S.adherence_drop_signal(-1, 2)


def weeks(values, start=date(2025, 1, 6), step=4):
    return [(start + timedelta(weeks=step * i), v) for i, v in enumerate(values)]


def test_plateau_spec_example():
    vals = weeks([6.3, 6.0, 6.3, 6.0])
    assert S.least_squares_slope_per_week(vals) == pytest.approx(-0.015)
    r = S.prom_plateau_signal(vals, mic=1.9)
    assert r.flag is True and r.value == pytest.approx(-0.015)
    assert S.prom_plateau_signal(vals, mic=0.3 * 6.3).flag is True


@pytest.mark.parametrize("vals", [weeks([6.3, 4.0], step=12), weeks([6.3, 5.1, 4.0], step=6)])
def test_plateau_improving_pain_is_not_plateau(vals):
    assert S.prom_plateau_signal(vals, mic=1.9).flag is False


def test_plateau_needs_points_and_span():
    assert S.prom_plateau_signal(weeks([6.3, 6.0, 6.3], step=4), mic=1.9).flag is False  # 8 weeks
    assert S.prom_plateau_signal(weeks([6.3, 6.0]), mic=1.9).flag is False
    with pytest.raises(ValueError):
        S.prom_plateau_signal(weeks([6.3, 6.0, 6.3, 6.0]), mic=0)


@FAST
@given(st.floats(-2, 2), st.floats(0, 50), st.integers(3, 8))
def test_slope_recovers_a_line(slope, intercept, n):
    vals = [(date(2025, 1, 6) + timedelta(weeks=2 * i), intercept + slope * 2 * i) for i in range(n)]
    assert S.least_squares_slope_per_week(vals) == pytest.approx(slope, abs=1e-9)


@FAST
@given(st.lists(st.floats(0, 10), min_size=3, max_size=8), st.floats(-5, 5))
def test_plateau_invariant_to_shift(values, shift):
    vals = weeks(values, step=6)
    shifted = [(d, v + shift) for d, v in vals]
    assert S.prom_plateau_signal(vals, 1.9).flag == S.prom_plateau_signal(shifted, 1.9).flag


def test_burden_and_phq9_safety():
    assert S.burden_signal(True, date(2025, 3, 1), date(2025, 3, 2)).flag is True
    assert S.burden_signal(False).flag is False and S.burden_signal(None).flag is False
    assert S.phq9_safety_alert({"PHQ9_Q9": 1}) is True
    assert S.phq9_safety_alert({"PHQ9_Q9": 0, "PHQ9_Q1": 3}) is False
    with pytest.raises(ValueError, match="PHQ9_Q9"):
        S.phq9_safety_alert({"PHQ9_Q9": 4})


def test_signal_results_are_frozen():
    r = S.burden_signal(True)
    with pytest.raises(AttributeError):
        r.flag = False  # type: ignore[misc]
