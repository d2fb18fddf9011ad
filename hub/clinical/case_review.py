"""The hub's view of one case: its flags (safety, opioid, inertia, disengagement) with reasons,
the response of the primary outcome, and an explained queue priority. Pure: plain records in,
frozen results out; the service layer (hub.flags) loads the records and stores the result.

The records and results are in hub.clinical.case_records and the primary outcome's response in
hub.clinical.primary_response; both are re-exported here, where callers import them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

from hub.clinical import opioids, outcomes, signals
from hub.clinical.case_records import (
    FLAG_GROUPS,
    FLAG_LABELS,
    AssessmentRec,
    CaseEvaluation,
    CaseRecord,
    Flag,
    Response,
    ReviewRec,
    TreatmentRec,
)
from hub.clinical.primary_response import (
    DEFAULT_MIC,
    PRIMARY_OUTCOMES,
    baseline_of,
    choose_primary_outcome,
    format_score,
    mic_for,
    primary_response,
    response_since,
    series_of,
    setting_value,
)
from hub.clinical.signals import fmt_day

__all__ = [
    # re-exported from hub.clinical.case_records and hub.clinical.primary_response
    "FLAG_GROUPS", "FLAG_LABELS", "AssessmentRec", "CaseEvaluation", "CaseRecord", "Flag", "Response", "ReviewRec",
    "TreatmentRec", "DEFAULT_MIC", "PRIMARY_OUTCOMES", "choose_primary_outcome", "primary_response", "response_since",
    # defined here
    "BELIEFS_TSK11_MIN", "BELIEFS_PCS_MIN", "BELIEFS_WINDOW_MONTHS", "BELIEFS_LOW_ADHERENCE_PCT", "WAITING_STATUSES",
    "PRIORITY_WEIGHTS", "DISENGAGEMENT_PRIORITY_ONCE", "EXERCISE_CATEGORIES", "onset_kind", "evaluate_case",
    "explain_priority", "ome_over_time",
]

# explore_beliefs (H11): DESIGN DEFAULTS except PCS >= 30 [S] and TSK-17 > 37 [S] (thresholds module).
BELIEFS_TSK11_MIN = 30
BELIEFS_PCS_MIN = 30
BELIEFS_WINDOW_MONTHS = 6
BELIEFS_LOW_ADHERENCE_PCT = 50

# Only cases waiting for the hub are prioritised (drafts, returned and closed cases score 0).
WAITING_STATUSES = ("submitted", "triaged", "scheduled")

# Queue priority weights (DESIGN DEFAULT; stored in settings as priority.*).
PRIORITY_WEIGHTS: dict[str, float] = {
    "priority.safety_alert": 100.0,
    "priority.red_flag": 30.0,
    "priority.amber_flag": 12.0,
    "priority.risk_high": 20.0,
    "priority.risk_medium": 8.0,
    "priority.per_week_waiting": 2.0,
    "priority.max_waiting_weeks": 26.0,
}

# Missed appointments and unreturned PROMs stay separate flags (separate reasons) but are one signal of
# disengagement: they add to the queue priority once (hazard H8).
DISENGAGEMENT_PRIORITY_ONCE = ("missed_appointments", "prom_non_completion")


def _gas_met(record: CaseRecord, on: date) -> bool | None:
    """Whether the agreed goals were met (every rated goal at GAS level >= 0) as last rated on or before a day."""
    rated = [(d, met) for d, met in record.gas_met_on if d <= on]
    return max(rated, key=lambda p: p[0])[1] if rated else None


def _target_met(record: CaseRecord, instrument: str | None, on: date, settings: Mapping[str, Any]) -> bool | None:
    """At target on a day: the agreed goals are met (GAS, section 2.3), or the primary outcome responds."""
    gas_met = _gas_met(record, on)
    if instrument is None:
        return gas_met
    pts = [p for p in series_of(record, instrument) if p[0] <= on]
    base_on, base = baseline_of(record, instrument, series_of(record, instrument))
    if not pts or base is None or pts[-1][0] == base_on:
        return gas_met
    return outcomes.is_responder(instrument, base, pts[-1][1], gas_met=gas_met,
                                 pain_pct=float(setting_value(settings, "pain.moderate_pct", 30.0)),
                                 mskhq_mic=float(setting_value(settings, "mskhq.mic", outcomes.MSKHQ_MIC)),
                                 raw_floor=float(setting_value(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))


def _opioid_flags(record: CaseRecord, settings: Mapping[str, Any]) -> tuple[list[Flag], float]:
    active = [t for t in record.treatments if t.category == "medicine" and t.drug and t.active_on(record.today)]
    # A dose of 0 mg/day counts as 0; only a dose that is not recorded (None) leaves the item out.
    rx = [opioids.rx_of(t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h) for t in active
          if t.drug is not None and opioids.is_opioid(t.drug)]
    flags: list[Flag] = []
    total = 0.0
    if rx:
        result = opioids.daily_ome(rx)
        total = float(result.total)
        amber = float(setting_value(settings, "opioid.amber_ome", 90.0))
        red = float(setting_value(settings, "opioid.red_ome", 120.0))
        level = opioids.opioid_flag(total, amber=amber, red=red)
        parts = ", ".join(f"{i.label} = {i.ome:g}" for i in result.items)
        if level != "none":
            limit = red if level == "red" else amber
            at_least = "At least " if result.unconvertible else ""
            flags.append(Flag(f"opioid_{level}", "red" if level == "red" else "amber",
                              f"{at_least}{total:g} mg OME/day (≥ {limit:g}): {parts}", {"ome": total}))
        for u in result.unconvertible:
            flags.append(Flag("opioid_unconvertible", "amber",
                              f"{u.drug.capitalize()} ({u.route}): not counted in the OME ({u.reason}); the total is a lower bound",
                              {"drug": u.drug, "excludes": u.excludes_text}))
    for c in opioids.co_prescription_flags([t.drug for t in active if t.drug]):
        flags.append(Flag("co_prescription", "amber", c.reason, {"drugs": [*c.opioids, *c.others]}))
    return flags, total


# ------------------------------------------------------------------ v0.2 flags (hazards H2, H8, H11)

EXERCISE_CATEGORIES = ("exercise",)  # "Exercise / physiotherapy" treatments (H11)
_STOPPED_AS_PLANNED = ("completed", "tapered")


def _latest(record: CaseRecord, instrument: str) -> AssessmentRec | None:
    done = [a for a in record.assessments if a.instrument == instrument and a.completed and a.total is not None
            and a.on <= record.today]
    return max(done, key=_recorded_order) if done else None


def _recorded_order(a: AssessmentRec) -> tuple[date, datetime]:
    """Latest first by the day it was completed, then (same day) by when it was recorded."""
    return a.on, a.reported_at or datetime.min


def _distress_flags(record: CaseRecord, settings: Mapping[str, Any]) -> list[Flag]:
    """E3 as flags (H2): significant distress on the latest PHQ-9 / GAD-7, and a PHQ-9 without item 9."""
    today = record.today
    flags: list[Flag] = []
    reasons = []
    phq_min = float(setting_value(settings, "escalation.e3_phq9_min", 15))
    gad_min = float(setting_value(settings, "escalation.e3_gad7_min", 15))
    phq, gad = _latest(record, "phq9"), _latest(record, "gad7")
    if phq is not None and phq.total is not None and phq.total >= phq_min:
        reasons.append(f"PHQ-9 {phq.total:g} on {fmt_day(phq.on, today)} (≥ {phq_min:g})")
    if gad is not None and gad.total is not None and gad.total >= gad_min:
        reasons.append(f"GAD-7 {gad.total:g} on {fmt_day(gad.on, today)} (≥ {gad_min:g})")
    if reasons:
        flags.append(Flag("distress", "amber", f"Significant distress: {'; '.join(reasons)}. Consider a parallel "
                          "mental-health pathway", {"phq9": phq.total if phq else None,
                                                    "gad7": gad.total if gad else None}))
    # The latest PHQ-9 that came back: if item 9 is unanswered, nobody knows about thoughts of self-harm.
    returned = [a for a in record.assessments if a.instrument == "phq9" and a.on <= today
                and (a.completed or a.item9_missing)]
    last = max(returned, key=_recorded_order, default=None)
    if last is not None and last.item9_missing:
        flags.append(Flag("phq9_item9_unanswered", "amber",
                          f"PHQ-9 of {fmt_day(last.on, today)} has no answer to item 9 (thoughts of self-harm): "
                          "ask item 9 now", {"on": last.on.isoformat()}))
    return flags


def _ome_on(record: CaseRecord, day: date) -> float:
    series = ome_over_time(record.treatments, day, day)
    return series[-1][1] if series else 0.0


def _opioid_escalation_flag(record: CaseRecord, settings: Mapping[str, Any]) -> Flag | None:
    """E4 / section 4.3 (H2): the daily OME rose since the previous review while the primary outcome has not
    improved importantly since then."""
    today = record.today
    attended = sorted({r.on for r in record.reviews if r.attendance == "attended" and r.on < today})
    if not attended:
        return None
    prev = attended[-2] if len(attended) >= 2 else attended[-1]
    before, now = _ome_on(record, prev), _ome_on(record, today)
    if now - before <= float(setting_value(settings, "opioid.escalation_min_rise", 0.0)):
        return None
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    since = response_since(record, prev, settings)
    if (since is not None and since.category is not None and since.baseline is not None and since.latest is not None
            and since.baseline_on is not None and since.latest_on is not None):  # a category implies both values
        improved = since.category in ("moderate", "substantial", "improved")
        outcome = (f"{since.instrument.upper()} {format_score(since.baseline)} ({fmt_day(since.baseline_on, today)}) → "
                   f"{format_score(since.latest)} ({fmt_day(since.latest_on, today)}): "
                   f"{since.category.replace('_', ' ')}")
    else:
        overall = primary_response(record, settings)
        if overall is None or overall.category is None:
            return None
        improved = overall.category in ("moderate", "substantial", "improved")
        outcome = overall.text
    if improved:
        return None
    return Flag("opioid_escalation_without_benefit", "amber",
                f"Opioid dose rose from {before:g} to {now:g} mg OME/day since the review on "
                f"{fmt_day(prev, today)} while the primary outcome has not improved ({outcome}): opioid stewardship "
                "review", {"ome_before": before, "ome_now": now, "since": prev.isoformat()})


def onset_kind(t: TreatmentRec) -> str:
    """Which onset window applies to a treatment (section 5.3 ONSET_WINDOW_WEEKS)."""
    if t.category == "exercise":
        return "exercise_programme"
    if t.category == "psychological":
        return "psych_therapy"
    if t.category == "medicine" and t.drug:
        from hub.clinical.drugs import drug_classes

        try:
            if "antidepressant" in drug_classes(t.drug):
                return "antidepressant"
        except ValueError:
            pass
    return "default"


def _onset_windows(settings: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(setting_value(settings, f"inertia.onset_window_weeks.{k}", v))
            for k, v in signals.ONSET_WINDOW_WEEKS.items()}


def _waiting_for(record: CaseRecord, on: date, windows: Mapping[str, float]) -> tuple[TreatmentRec, float] | None:
    """The latest treatment started within its onset window before a review (inertia suppresses itself);
    `windows` from _onset_windows(settings)."""
    inside = [t for t in record.treatments if (t.end is None or t.end >= on)  # still under way at the review
              and signals.within_onset_window(t.start, on, onset_kind(t), windows)]
    if not inside:
        return None
    t = max(inside, key=lambda t: t.start)
    return t, windows.get(onset_kind(t), windows["default"])


def _treatment_name(t: TreatmentRec) -> str:
    return t.name or t.drug or t.category.replace("_", " ")


def _explore_beliefs_flag(record: CaseRecord, settings: Mapping[str, Any]) -> Flag | None:
    """H11 (cognitive dissonance): high fear-avoidance or catastrophising while exercise / physiotherapy was
    declined, stopped early or missed in the last months. Info only: it suggests, it adds no priority."""
    today = record.today
    scores = []
    tsk11_min = float(setting_value(settings, "beliefs.tsk11_min", BELIEFS_TSK11_MIN))
    tsk17_above = float(setting_value(settings, "tsk17.high_above", 37))
    pcs_min = float(setting_value(settings, "beliefs.pcs_min", BELIEFS_PCS_MIN))
    checks: tuple[tuple[str, str, Callable[[float], bool], str], ...] = (
        ("tsk11", "TSK-11", lambda v: v >= tsk11_min, f"≥ {tsk11_min:g}"),
        ("tsk17", "TSK-17", lambda v: v > tsk17_above, f"> {tsk17_above:g}"),
        ("pcs", "PCS", lambda v: v >= pcs_min, f"≥ {pcs_min:g}"))
    for code, label, test, cut in checks:
        a = _latest(record, code)
        if a is not None and a.total is not None and test(a.total):
            scores.append(f"{label} {a.total:g} on {fmt_day(a.on, today)} ({cut})")
    sbst = [a for a in record.assessments if a.instrument == "sbst" and a.fear_item_positive is not None
            and a.on <= today]
    last_sbst = max(sbst, key=lambda a: a.on, default=None)
    if last_sbst is not None and last_sbst.fear_item_positive:
        scores.append(f"STarT Back fear item positive on {fmt_day(last_sbst.on, today)}")
    if not scores:
        return None
    months = int(setting_value(settings, "beliefs.window_months", BELIEFS_WINDOW_MONTHS))
    low = float(setting_value(settings, "beliefs.low_adherence_pct", BELIEFS_LOW_ADHERENCE_PCT))
    since = signals.months_before(today, months)
    events = []
    for t in record.treatments:
        if t.category not in EXERCISE_CATEGORIES or t.start > today:
            continue
        if t.end is not None and t.end >= since and t.reason_stopped == "patient_choice":
            events.append((t.end, f"{_treatment_name(t)} declined / stopped by the patient ({fmt_day(t.end, today)})"))
        elif t.end is not None and t.end >= since and t.reason_stopped not in (None, *_STOPPED_AS_PLANNED):
            events.append((t.end, f"{_treatment_name(t)} stopped early ({t.reason_stopped.replace('_', ' ')}, "
                                  f"{fmt_day(t.end, today)})"))
        elif (t.adherence_pct is not None and t.adherence_pct < low
              and (t.end is None or t.end >= since)):
            events.append((t.end or today, f"{_treatment_name(t)} mostly missed (adherence {t.adherence_pct}%)"))
    if not events:
        return None
    events.sort(key=lambda e: e[0], reverse=True)
    return Flag("explore_beliefs", "info",
                f"{'; '.join(scores)} while {'; '.join(e[1] for e in events)}: explore the patient's beliefs about "
                "exercise and pain (e.g. fear that it will cause harm) before offering it again",
                {"scores": scores})


def evaluate_case(record: CaseRecord, settings: Mapping[str, Any] | None = None) -> CaseEvaluation:
    """All flags of a case with reasons, the primary-outcome response and the queue priority."""
    settings = settings or {}
    today = record.today
    flags: list[Flag] = []

    # Safety first: PHQ-9 item 9 > 0 stays until someone records the action taken.
    for a in sorted(record.assessments, key=lambda a: a.on):
        if a.safety_alert and not a.safety_action:
            source = ""
            if a.mode == "patient-completed":
                when = f" at {a.reported_at:%H:%M} UTC" if a.reported_at else ""
                source = f"{when}, on a form the patient completed themselves through the practice's link"
            flags.append(Flag("safety_phq9", "red",
                              f"PHQ-9 item 9 answered above 0 on {fmt_day(a.on, today)}{source}: same-day clinician "
                              "review; record the action taken", {"on": a.on.isoformat(), "mode": a.mode or None}))

    flags += _distress_flags(record, settings)

    opioid_flags, ome_total = _opioid_flags(record, settings)
    flags += opioid_flags
    escalation = _opioid_escalation_flag(record, settings)
    if escalation is not None:
        flags.append(escalation)

    # Therapeutic inertia over attended reviews, with appropriate restraint shown as such.
    instrument = choose_primary_outcome(record)
    attended = sorted((r for r in record.reviews if r.attendance == "attended" and r.on <= today), key=lambda r: r.on)
    # A treatment started within its onset window justifies waiting (section 5.3, H8).
    windows = _onset_windows(settings)
    waiting = {r.on: _waiting_for(record, r.on, windows) for r in attended}
    sig_reviews = [signals.Review(date=r.on, target_met=_target_met(record, instrument, r.on, settings),
                                  # strings become ChangeEvents in Review.__post_init__
                                  management_changes=cast("tuple[signals.ChangeEvent, ...]",
                                                          tuple(r.management_changes)),
                                  inaction_justifications=tuple(r.inaction_justifications) or (
                                      (signals.JustCode.RECENT_CHANGE_WITHIN_ONSET_WINDOW.value,)
                                      if waiting[r.on] else ()))
                   for r in attended]
    if sig_reviews:
        ti = signals.therapeutic_inertia_flag(
            sig_reviews, today, min_consecutive=int(setting_value(settings, "inertia.min_consecutive", 2)),
            max_weeks=float(setting_value(settings, "inertia.max_weeks", 12)))
        if ti.flag:
            reason = ti.reason
            values = [v for d_, v in series_of(record, instrument)] if instrument else []
            if instrument and len(values) >= 2:
                reason += f" ({instrument.upper()} {values[0]:.1f} → {values[-1]:.1f})"
            flags.append(Flag("inertia", "amber", reason, {"ti_score": ti.ti_score, "rule": ti.rule}))
        elif sig_reviews[-1].target_met is False and attended[-1].inaction_justifications:
            codes = ", ".join(j.replace("_", " ") for j in attended[-1].inaction_justifications)
            flags.append(Flag("appropriate_restraint", "info",
                              f"No change on {fmt_day(attended[-1].on, today)} by decision: {codes}",
                              {"ti_score": ti.ti_score}))
        elif sig_reviews[-1].target_met is False and (wait := waiting[attended[-1].on]):
            t, weeks = wait
            flags.append(Flag("appropriate_restraint", "info",
                              f"Waiting for {_treatment_name(t)} (started {fmt_day(t.start, today)}) to work: the "
                              f"review on {fmt_day(attended[-1].on, today)} is within its {weeks:g}-week onset "
                              "window, so no inertia is raised", {"ti_score": ti.ti_score, "within_onset_window": True}))

    # Treatment fatigue / disengagement.
    contacts = [(r.on, r.attendance == "attended") for r in record.reviews if r.attendance in ("attended", "dna")]
    dna = signals.missed_appointments_signal(
        contacts, today, min_dna=int(setting_value(settings, "disengagement.dna_min_count", 2)),
        window_months=int(setting_value(settings, "disengagement.dna_window_months", 6)),
        last_n=int(setting_value(settings, "disengagement.dna_last_n", 4)),
        min_fraction=float(setting_value(settings, "disengagement.dna_min_fraction", 0.5)))
    if dna.flag:
        flags.append(Flag("missed_appointments", "amber", dna.reason))
    # One PROM contact per date: returned if any questionnaire of that day came back.
    by_day: dict[date, bool] = {}
    for a in record.assessments:
        by_day[a.on] = by_day.get(a.on, False) or a.completed
    proms = sorted(by_day.items())
    nonret = signals.prom_non_completion_signal(
        proms, today, min_consecutive=int(setting_value(settings, "disengagement.prom_nonreturn_min_consecutive", 2)))
    if nonret.flag:
        flags.append(Flag("prom_non_completion", "amber", nonret.reason))
    adherence = [r for r in sorted(record.reviews, key=lambda r: r.on) if r.adherence_pct is not None]
    if len(adherence) >= 2:
        drop = signals.adherence_drop_signal(cast(float, adherence[-2].adherence_pct),
                                             cast(float, adherence[-1].adherence_pct),
                                             min_drop=float(setting_value(settings, "disengagement.adherence_min_drop", 0.5)))
        if drop.flag:
            flags.append(Flag("adherence_drop", "amber", f"{drop.reason} ({fmt_day(adherence[-2].on, today)} → "
                              f"{fmt_day(adherence[-1].on, today)})"))
    if instrument is not None:
        pts = series_of(record, instrument)
        base_on, base = baseline_of(record, instrument, pts)
        mic = mic_for(instrument, base, settings)
        since_baseline = [p for p in pts if base_on is None or p[0] >= base_on]
        if mic and len(since_baseline) >= 2:
            # Plateau of the primary outcome since the baseline the hub measures response from.
            plateau = signals.prom_plateau_signal(
                since_baseline, mic, min_points=int(setting_value(settings, "disengagement.plateau_min_points", 3)),
                min_weeks=float(setting_value(settings, "disengagement.plateau_min_weeks", 12)),
                slope_weeks=float(setting_value(settings, "disengagement.plateau_slope_weeks", 12)),
                improving_floor=(float(setting_value(settings, "pain.raw_floor", outcomes.RAW_FLOOR))
                                 if instrument in ("peg", "nrs") else None),
                higher_is_better=instrument == "mskhq")
            if plateau.flag:
                flags.append(Flag("prom_plateau", "amber", f"{instrument.upper()}: {plateau.reason}"))
    recent, before = record.wearable_days_recent, record.wearable_days_before
    if recent is not None and before and before >= 7:
        drop = signals.adherence_drop_signal(before, recent,
                                             min_drop=float(setting_value(settings, "disengagement.adherence_min_drop", 0.5)))
        if drop.flag:
            flags.append(Flag("wearable_drop", "amber", f"Wearable worn on {recent} of the last 28 days, down from "
                              f"{before} of the 28 days before"))
    latest_review = max(record.reviews, key=lambda r: r.on, default=None)
    if latest_review is not None and latest_review.treatment_too_much:
        flags.append(Flag("treatment_burden", "amber",
                          f"Patient said the treatment is too much for them on {fmt_day(latest_review.on, today)}"))

    beliefs = _explore_beliefs_flag(record, settings)
    if beliefs is not None:
        flags.append(beliefs)

    if record.relisted_reason and record.status in ("submitted", "triaged", "scheduled"):
        flags.insert(0, Flag("relisted", "amber", record.relisted_reason))
    response = primary_response(record, settings)
    since = response_since(record, record.decided_on, settings) if record.decided_on else None
    priority, reasons = explain_priority(flags, record, settings)
    return CaseEvaluation(tuple(flags), response, ome_total, priority, tuple(reasons), since)


def explain_priority(flags: Sequence[Flag], record: CaseRecord,
                     settings: Mapping[str, Any] | None = None) -> tuple[float, list[str]]:
    """Transparent queue priority: weighted safety alerts, flags, risk band and waiting time, with the why."""
    settings = settings or {}
    if record.status is not None and record.status not in WAITING_STATUSES:
        return 0.0, [f"Not waiting for the hub ({record.status})"]
    w = {k: float(setting_value(settings, k, v)) for k, v in PRIORITY_WEIGHTS.items()}
    score, reasons = 0.0, []
    if any(f.code == "safety_phq9" for f in flags):
        score += w["priority.safety_alert"]
        reasons.append(f"Safety alert +{w['priority.safety_alert']:g}")
    disengaged = [f for f in flags if f.code in DISENGAGEMENT_PRIORITY_ONCE and f.severity != "info"]
    for f in flags:
        if f.code == "safety_phq9" or f.severity == "info" or f in disengaged:
            continue
        weight = w["priority.red_flag"] if f.severity == "red" else w["priority.amber_flag"]
        score += weight
        reasons.append(f"{f.label} +{weight:g}")
    if disengaged:
        # One signal, counted once: the separate reasons stay on the flags themselves.
        score += w["priority.amber_flag"]
        reasons.append(f"Disengagement ({'; '.join(f.label for f in disengaged)}) "
                       f"+{w['priority.amber_flag']:g}")
    if record.risk_band == "high":
        score += w["priority.risk_high"]
        reasons.append(f"High risk band +{w['priority.risk_high']:g}")
    elif record.risk_band == "medium":
        score += w["priority.risk_medium"]
        reasons.append(f"Medium risk band +{w['priority.risk_medium']:g}")
    if record.submitted_on is not None:
        weeks = max(0, (record.today - record.submitted_on).days) // 7
        counted = min(weeks, int(w["priority.max_waiting_weeks"]))
        if counted:
            points = counted * w["priority.per_week_waiting"]
            score += points
            reasons.append(f"Waiting {weeks} week{'s' if weeks != 1 else ''} +{points:g}")
    return round(score, 1), reasons


def ome_over_time(treatments: Sequence[TreatmentRec], start: date, end: date) -> list[tuple[date, float]]:
    """Total daily OME as a step series: one point at start and at every change of the opioid courses."""
    courses = [t for t in treatments if t.category == "medicine" and t.drug and opioids.is_opioid(t.drug)]
    if not courses:
        return []
    from datetime import timedelta

    days = {start, end}
    for t in courses:
        for d in (t.start, (t.end + timedelta(days=1)) if t.end else None):
            if d is not None and start <= d <= end:
                days.add(d)
    series = []
    for d in sorted(days):
        rx = []
        for t in courses:
            if not t.active_on(d):
                continue
            if t.patch_mcg_per_h:
                rx.append({"drug": t.drug, "route": t.route or "transdermal", "patch_mcg_per_h": t.patch_mcg_per_h})
            elif t.daily_dose_mg:
                rx.append({"drug": t.drug, "route": t.route or "oral", "daily_dose_mg": t.daily_dose_mg})
        series.append((d, float(opioids.daily_ome(rx).total) if rx else 0.0))
    return series
