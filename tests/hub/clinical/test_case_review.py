"""Case evaluation: flags with reasons, appropriate restraint, response and explained priority."""

from __future__ import annotations

from datetime import date, timedelta

from hub.clinical.case_review import (
    AssessmentRec,
    CaseRecord,
    ReviewRec,
    TreatmentRec,
    evaluate_case,
    explain_priority,
    ome_over_time,
    primary_response,
    response_since,
)

TODAY = date(2026, 4, 30)


def d(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def record(**over) -> CaseRecord:
    base = dict(today=TODAY, condition="low_back_pain", pain_classification="secondary", risk_band=None,
                submitted_on=d(10))
    base.update(over)
    return CaseRecord(**base)


def codes(ev) -> set[str]:
    return {f.code for f in ev.flags}


def test_no_data_no_flags():
    ev = evaluate_case(record())
    assert codes(ev) == set() and ev.response is None and ev.ome_total == 0


def test_safety_alert_until_action_recorded():
    a = AssessmentRec(d(2), "phq9", 1, safety_alert=True)
    ev = evaluate_case(record(assessments=(a,)))
    assert "safety_phq9" in codes(ev) and ev.safety_alert
    assert ev.priority_reasons[0].startswith("Safety alert")
    done = AssessmentRec(d(2), "phq9", 1, safety_alert=True, safety_action="Phoned same day; safety plan agreed")
    assert "safety_phq9" not in codes(evaluate_case(record(assessments=(done,))))


def test_opioid_red_amber_unconvertible_and_co_prescription():
    oxy = TreatmentRec("medicine", d(100), None, "oxycodone", "oral", 80)
    ev = evaluate_case(record(treatments=(oxy,)))
    red = next(f for f in ev.flags if f.code == "opioid_red")
    assert ev.ome_total == 120 and "120 mg OME/day" in red.reason
    amber = (TreatmentRec("medicine", d(100), None, "oxycodone", "oral", 40),
             TreatmentRec("medicine", d(100), None, "tramadol", "oral", 400))
    assert "opioid_amber" in codes(evaluate_case(record(treatments=amber)))
    stopped = TreatmentRec("medicine", d(300), d(200), "oxycodone", "oral", 200)
    assert "opioid_red" not in codes(evaluate_case(record(treatments=(stopped,))))
    methadone = TreatmentRec("medicine", d(50), None, "methadone", "oral", 30)
    ev = evaluate_case(record(treatments=(methadone,)))
    assert "opioid_unconvertible" in codes(ev) and ev.ome_total == 0
    combo = (TreatmentRec("medicine", d(50), None, "codeine", "oral", 240),
             TreatmentRec("medicine", d(50), None, "pregabalin", "oral", 300))
    flag = next(f for f in evaluate_case(record(treatments=combo)).flags if f.code == "co_prescription")
    assert "pregabalin" in flag.reason


def _inertia_record(justification: tuple[str, ...] = ()) -> CaseRecord:
    peg = tuple(AssessmentRec(d(n), "peg", v) for n, v in ((120, 6.3), (80, 6.0), (40, 6.3), (5, 6.0)))
    reviews = (ReviewRec(d(120), "attended"), ReviewRec(d(80), "attended"), ReviewRec(d(40), "attended"),
               ReviewRec(d(5), "attended", inaction_justifications=justification))
    return record(submitted_on=d(121), assessments=peg, reviews=reviews)


def test_inertia_flag_names_the_reviews():
    ev = evaluate_case(_inertia_record())
    flag = next(f for f in ev.flags if f.code == "inertia")
    assert "No change at the last" in flag.reason and "no reason recorded" in flag.reason
    assert "prom_plateau" in codes(ev)


def test_appropriate_restraint_clears_inertia_and_is_shown():
    ev = evaluate_case(_inertia_record(("shared_decision_to_maintain",)))
    assert "inertia" not in codes(ev)
    restraint = next(f for f in ev.flags if f.code == "appropriate_restraint")
    assert restraint.severity == "info" and "shared decision to maintain" in restraint.reason
    # restraint is not counted in the priority
    assert not any("restraint" in r.lower() for r in ev.priority_reasons)


def test_disengagement_signals():
    reviews = (ReviewRec(d(150), "attended", adherence_pct=80), ReviewRec(d(100), "dna"),
               ReviewRec(d(60), "dna"), ReviewRec(d(20), "attended", adherence_pct=30, treatment_too_much=True))
    proms = (AssessmentRec(d(90), "peg", 6.0), AssessmentRec(d(60), "peg", None, completed=False),
             AssessmentRec(d(30), "peg", None, completed=False))
    ev = evaluate_case(record(reviews=reviews, assessments=proms))
    assert {"missed_appointments", "prom_non_completion", "adherence_drop", "treatment_burden"} <= codes(ev)
    reasons = {f.code: f.reason for f in ev.flags}
    assert "2 missed appointments" in reasons["missed_appointments"]
    assert "80 -> 30" in reasons["adherence_drop"]


def test_response_classified_against_baseline_with_band_and_target():
    peg = (AssessmentRec(d(100), "peg", 7.0), AssessmentRec(d(5), "peg", 4.67))
    r = primary_response(record(submitted_on=d(99), assessments=peg))
    assert r.instrument == "peg" and r.category == "moderate" and r.important is True
    assert r.baseline == 7.0 and r.target == 4.9 and r.mic_band == (4.9, 7.0)
    assert r.text.startswith("PEG 7 (") and "→ 4.7 (" in r.text  # a PEG mean reads to one decimal


def test_response_since_the_hub_decision_reads_scores_to_one_decimal():
    peg = (AssessmentRec(d(60), "peg", 3.0), AssessmentRec(d(5), "peg", 10 / 3))
    r = response_since(record(submitted_on=d(99), assessments=peg), d(30))
    assert r.category == "no_important_change"  # v0.2 raw floor: a third of a point is noise (H8)
    assert r.text.startswith("Since the hub decision: PEG 3 (") and "→ 3.3 (" in r.text and "3.33" not in r.text


def test_primary_outcome_chosen_at_mdt_wins():
    asm = (AssessmentRec(d(100), "peg", 7.0), AssessmentRec(d(100), "mskhq", 24),
           AssessmentRec(d(5), "mskhq", 30))
    r = primary_response(record(submitted_on=d(99), primary_outcome="mskhq", assessments=asm))
    assert r.instrument == "mskhq" and r.category == "improved"


def test_priority_is_transparent_and_configurable():
    rec = record(risk_band="high", submitted_on=d(21))
    score, reasons = explain_priority([], rec)
    assert score == 20 + 3 * 2 and reasons == ["High risk band +20", "Waiting 3 weeks +6"]
    score2, _ = explain_priority([], rec, {"priority.risk_high": 50, "priority.per_week_waiting": 0})
    assert score2 == 50


def test_priority_orders_safety_above_flags_above_waiting():
    safety = evaluate_case(record(assessments=(AssessmentRec(d(1), "phq9", 3, safety_alert=True),)))
    opioid = evaluate_case(record(treatments=(TreatmentRec("medicine", d(10), None, "morphine", "oral", 150),)))
    waiting = evaluate_case(record(submitted_on=d(70)))
    assert safety.priority > opioid.priority > waiting.priority > 0


def test_ome_over_time_steps_at_changes():
    t = (TreatmentRec("medicine", date(2026, 1, 1), date(2026, 1, 31), "oxycodone", "oral", 40),
         TreatmentRec("medicine", date(2026, 2, 1), None, "oxycodone", "oral", 80),
         TreatmentRec("exercise", date(2026, 1, 1)))
    series = ome_over_time(t, date(2026, 1, 1), date(2026, 3, 1))
    assert series == [(date(2026, 1, 1), 60.0), (date(2026, 2, 1), 120.0), (date(2026, 3, 1), 120.0)]


def test_wearable_use_falling_is_a_disengagement_signal():
    ev = evaluate_case(record(wearable_days_recent=9, wearable_days_before=26))
    flag = next(f for f in ev.flags if f.code == "wearable_drop")
    assert "9 of the last 28 days" in flag.reason and "26" in flag.reason
    assert "wearable_drop" not in codes(evaluate_case(record(wearable_days_recent=20, wearable_days_before=26)))
    assert "wearable_drop" not in codes(evaluate_case(record(wearable_days_recent=0, wearable_days_before=3)))


def test_only_cases_waiting_for_the_hub_are_prioritised():
    flags_ = evaluate_case(record(risk_band="high", submitted_on=d(30))).flags
    waiting, _ = explain_priority(flags_, record(risk_band="high", submitted_on=d(30), status="triaged"))
    assert waiting > 0
    for status in ("draft", "returned", "closed"):
        score, reasons = explain_priority(flags_, record(risk_band="high", submitted_on=d(30), status=status))
        assert score == 0 and reasons == [f"Not waiting for the hub ({status})"]
