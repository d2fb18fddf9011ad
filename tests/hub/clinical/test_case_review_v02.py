"""Clinical safety v0.2 flags and alarm-fatigue rules of the case evaluation (hazards H2, H8, H11).
Each test fails on the v0.1 evaluation."""

from __future__ import annotations

from datetime import date, timedelta

from hub.clinical import signals
from hub.clinical.case_review import (
    AssessmentRec,
    CaseRecord,
    ReviewRec,
    TreatmentRec,
    evaluate_case,
)

TODAY = date(2026, 4, 30)


def d(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def record(**over) -> CaseRecord:
    base = dict(today=TODAY, condition="low_back_pain", pain_classification="secondary", risk_band=None,
                submitted_on=d(150), status="submitted")
    base.update(over)
    return CaseRecord(**base)


def flag(ev, code):
    return next((f for f in ev.flags if f.code == code), None)


# ------------------------------------------------------------------------------------ H2


def test_h2_distress_flag_on_severe_depression_or_anxiety_without_item9():
    asm = (AssessmentRec(d(3), "phq9", 24), AssessmentRec(d(3), "gad7", 19))
    ev = evaluate_case(record(assessments=asm))
    f = flag(ev, "distress")
    assert f is not None and f.severity == "amber"
    assert "PHQ-9 24" in f.reason and "GAD-7 19" in f.reason and "mental-health pathway" in f.reason
    assert "safety_phq9" not in {x.code for x in ev.flags}
    assert any(r.startswith("Significant distress +") for r in ev.priority_reasons)


def test_h2_distress_threshold_is_15_and_uses_the_latest_score():
    only_gad = evaluate_case(record(assessments=(AssessmentRec(d(3), "gad7", 15),)))
    assert "GAD-7 15" in flag(only_gad, "distress").reason
    below = evaluate_case(record(assessments=(AssessmentRec(d(3), "phq9", 14), AssessmentRec(d(3), "gad7", 14))))
    assert flag(below, "distress") is None
    recovered = evaluate_case(record(assessments=(AssessmentRec(d(90), "phq9", 22), AssessmentRec(d(3), "phq9", 9))))
    assert flag(recovered, "distress") is None
    custom = evaluate_case(record(assessments=(AssessmentRec(d(3), "phq9", 12),)), {"escalation.e3_phq9_min": 10})
    assert flag(custom, "distress") is not None


def test_h2_phq9_item9_unanswered_asks_for_it_until_a_later_phq9_answers_it():
    partial = AssessmentRec(d(10), "phq9", None, completed=False, item9_missing=True)
    ev = evaluate_case(record(assessments=(partial,)))
    f = flag(ev, "phq9_item9_unanswered")
    assert f is not None and f.severity == "amber" and "ask item 9 now" in f.reason
    later = AssessmentRec(d(2), "phq9", 6)
    assert flag(evaluate_case(record(assessments=(partial, later))), "phq9_item9_unanswered") is None


def test_h2_same_day_phq9s_the_one_recorded_last_decides():
    """Two PHQ-9s completed the same day: the one recorded last is the latest (a PHQ-9 with item 9 blank, then
    the item asked and a full PHQ-9 recorded an hour later, clears the prompt; the other way round keeps it)."""
    from datetime import datetime

    blank = AssessmentRec(d(1), "phq9", None, completed=True, item9_missing=True,
                          reported_at=datetime(2026, 11, 26, 9, 0))
    full = AssessmentRec(d(1), "phq9", 8, reported_at=datetime(2026, 11, 26, 10, 0))
    assert flag(evaluate_case(record(assessments=(blank, full))), "phq9_item9_unanswered") is None
    assert flag(evaluate_case(record(assessments=(full, blank))), "phq9_item9_unanswered") is None
    earlier_full = AssessmentRec(d(1), "phq9", 8, reported_at=datetime(2026, 11, 26, 8, 0))
    assert flag(evaluate_case(record(assessments=(earlier_full, blank))), "phq9_item9_unanswered") is not None


def test_h2_item9_missing_reads_the_responses():
    eight = {f"PHQ9_Q{i}": 1 for i in range(1, 9)}
    assert signals.phq9_item9_missing(eight) is True
    assert signals.phq9_item9_missing({**eight, "PHQ9_Q9": None}) is True
    assert signals.phq9_item9_missing({**eight, "PHQ9_Q9": 0}) is False
    assert signals.phq9_item9_missing({}) is False  # not returned at all: the PROM non-return rule covers it


def _opioid_case(latest_nrs: float) -> CaseRecord:
    morphine = TreatmentRec("medicine", d(200), None, "morphine", "oral", 20, name="Morphine MR 10 mg BD")
    more = TreatmentRec("medicine", d(20), None, "oxycodone", "oral", 20, name="Oxycodone 10 mg BD")
    reviews = (ReviewRec(d(90), "attended", ("dose_change",)), ReviewRec(d(20), "attended", ("drug_start",)))
    asm = (AssessmentRec(d(160), "nrs", 7), AssessmentRec(d(60), "nrs", 7), AssessmentRec(d(5), "nrs", latest_nrs))
    return record(treatments=(morphine, more), reviews=reviews, assessments=asm)


def test_h2_opioid_escalation_without_benefit():
    ev = evaluate_case(_opioid_case(7))
    f = flag(ev, "opioid_escalation_without_benefit")
    assert f is not None and f.severity == "amber"
    assert "from 20 to 50 mg OME/day" in f.reason and "not improved" in f.reason
    assert flag(evaluate_case(_opioid_case(4)), "opioid_escalation_without_benefit") is None


# ------------------------------------------------------------------------------------ H8


def test_h8_no_plateau_on_a_slow_steady_improvement():
    pts = [(d(84), 6.3), (d(56), 6.0), (d(28), 5.6), (d(0), 5.2)]
    assert signals.prom_plateau_signal(pts, 1.89).flag is True  # v0.1 rule alone
    steady = signals.prom_plateau_signal(pts, 1.89, improving_floor=1.0)
    assert steady.flag is False and "Improving steadily" in steady.reason
    flat = [(d(84), 6.3), (d(56), 6.0), (d(28), 6.3), (d(0), 6.0)]
    assert signals.prom_plateau_signal(flat, 1.89, improving_floor=1.0).flag is True  # the spec's plateau stays
    asm = tuple(AssessmentRec(day, "peg", v) for day, v in pts)
    ev = evaluate_case(record(submitted_on=d(90), assessments=asm))
    assert flag(ev, "prom_plateau") is None


def _inertia_case(**over) -> CaseRecord:
    reviews = (ReviewRec(d(140), "attended"), ReviewRec(d(70), "attended"), ReviewRec(d(10), "attended"))
    asm = (AssessmentRec(d(150), "nrs", 7), AssessmentRec(d(70), "nrs", 7), AssessmentRec(d(10), "nrs", 7))
    return record(reviews=reviews, assessments=asm, **over)


def test_h8_inertia_treats_met_goals_as_at_target():
    assert flag(evaluate_case(_inertia_case()), "inertia") is not None
    ev = evaluate_case(_inertia_case(gas_met_on=((d(75), True),)))
    assert flag(ev, "inertia") is None
    ev_unmet = evaluate_case(_inertia_case(gas_met_on=((d(75), False),)))
    assert flag(ev_unmet, "inertia") is not None


def test_h8_inertia_suppressed_within_the_onset_window():
    physio = TreatmentRec("exercise", d(40), None, name="Graded exercise programme")
    ev = evaluate_case(_inertia_case(treatments=(physio,)))
    assert flag(ev, "inertia") is None
    info = flag(ev, "appropriate_restraint")
    assert info.severity == "info" and "Graded exercise programme" in info.reason and "8-week onset window" in info.reason
    stopped = TreatmentRec("exercise", d(40), d(20), name="Graded exercise programme", status="stopped",
                           reason_stopped="patient_choice")
    assert flag(evaluate_case(_inertia_case(treatments=(stopped,))), "inertia") is not None  # nothing to wait for
    old = TreatmentRec("exercise", d(200), None, name="Graded exercise programme")  # long past its window
    assert flag(evaluate_case(_inertia_case(treatments=(old,))), "inertia") is not None
    ssri = TreatmentRec("medicine", d(30), None, "sertraline", "oral", 50)
    assert flag(evaluate_case(_inertia_case(treatments=(ssri,))), "inertia") is None
    shorter = evaluate_case(_inertia_case(treatments=(physio,)), {"inertia.onset_window_weeks.exercise_programme": 4})
    assert flag(shorter, "inertia") is not None


def test_h8_missed_appointments_and_unreturned_proms_count_once_in_priority():
    reviews = (ReviewRec(d(100), "dna"), ReviewRec(d(60), "dna"), ReviewRec(d(30), "attended"))
    asm = (AssessmentRec(d(150), "nrs", 6), AssessmentRec(d(56), "nrs", None, completed=False),
           AssessmentRec(d(28), "nrs", None, completed=False))
    ev = evaluate_case(record(reviews=reviews, assessments=asm))
    assert {"missed_appointments", "prom_non_completion"} <= {f.code for f in ev.flags}  # separate reasons kept
    dis = [r for r in ev.priority_reasons if r.startswith("Disengagement")]
    assert dis == ["Disengagement (Missed appointments; PROMs not returned) +12"]
    assert not any(r.startswith(("Missed appointments", "PROMs not returned")) for r in ev.priority_reasons)


# ----------------------------------------------------------------------------------- H11


def test_h11_explore_beliefs_when_fear_meets_declined_physio():
    tsk = AssessmentRec(d(20), "tsk11", 34)
    physio = TreatmentRec("exercise", d(90), d(60), name="Physiotherapy-led exercise", status="stopped",
                          reason_stopped="patient_choice")
    ev = evaluate_case(record(assessments=(tsk,), treatments=(physio,)))
    f = flag(ev, "explore_beliefs")
    assert f is not None and f.severity == "info"
    assert "TSK-11 34" in f.reason and "Physiotherapy-led exercise" in f.reason and "declined" in f.reason
    without = evaluate_case(record(assessments=(tsk,)))
    assert ev.priority == without.priority  # a prompt, not an alarm


def test_h11_other_scores_and_missed_sessions():
    pcs = AssessmentRec(d(20), "pcs", 31)
    missed = TreatmentRec("exercise", d(50), None, name="Group exercise class", adherence_pct=25)
    assert "PCS 31" in flag(evaluate_case(record(assessments=(pcs,), treatments=(missed,))), "explore_beliefs").reason
    fear = AssessmentRec(d(100), "sbst", 5, fear_item_positive=True)
    early = TreatmentRec("exercise", d(90), d(70), name="Physio", status="stopped", reason_stopped="side_effects")
    f = flag(evaluate_case(record(assessments=(fear,), treatments=(early,))), "explore_beliefs")
    assert "STarT Back fear item" in f.reason and "stopped early" in f.reason
    tsk17 = AssessmentRec(d(20), "tsk17", 38)
    assert flag(evaluate_case(record(assessments=(tsk17,), treatments=(missed,))), "explore_beliefs") is not None


def test_h11_not_raised_without_both_parts():
    tsk = AssessmentRec(d(20), "tsk11", 34)
    completed = TreatmentRec("exercise", d(90), d(30), name="Physio", status="stopped", reason_stopped="completed")
    assert flag(evaluate_case(record(assessments=(tsk,), treatments=(completed,))), "explore_beliefs") is None
    long_ago = TreatmentRec("exercise", d(400), d(300), name="Physio", status="stopped",
                            reason_stopped="patient_choice")
    assert flag(evaluate_case(record(assessments=(tsk,), treatments=(long_ago,))), "explore_beliefs") is None
    low = AssessmentRec(d(20), "tsk11", 29)
    declined = TreatmentRec("exercise", d(90), d(60), name="Physio", status="stopped", reason_stopped="patient_choice")
    assert flag(evaluate_case(record(assessments=(low,), treatments=(declined,))), "explore_beliefs") is None
    assert signals.sbst_fear_item_positive({"SBST_Q5": 1}) is True
    assert signals.sbst_fear_item_positive({"SBST_Q5": 0}) is False
    assert signals.sbst_fear_item_positive({"SBST_Q1": 1}) is None


# ----------------------------------------------------------------------------- settings


def test_v02_thresholds_are_configurable_with_their_sources():
    from hub import settings as hub_settings
    from hub.clinical import thresholds

    for key, default in (("pain.raw_floor", 1.0), ("beliefs.tsk11_min", 30), ("beliefs.pcs_min", 30),
                         ("beliefs.window_months", 6), ("beliefs.low_adherence_pct", 50),
                         ("opioid.escalation_min_rise", 0.0), ("inertia.onset_window_weeks.exercise_programme", 8),
                         ("escalation.e3_phq9_min", 15), ("escalation.e3_gad7_min", 15)):
        t = thresholds.get(key)
        assert t.default == default and t.source_label in thresholds.SOURCE_LABELS and t.source_text
        assert key in hub_settings.all_specs()


def test_the_raw_floor_setting_reaches_the_case_evaluation():
    peg = (AssessmentRec(d(100), "peg", 3.0), AssessmentRec(d(5), "peg", 3.6))
    rec = record(submitted_on=d(99), assessments=peg)
    assert evaluate_case(rec).response.category == "no_important_change"
    assert evaluate_case(rec, {"pain.raw_floor": 0.5}).response.category == "worse"
