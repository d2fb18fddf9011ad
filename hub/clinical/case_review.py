"""The hub's view of one case: its flags (safety, opioid, inertia, disengagement) with reasons,
the response of the primary outcome, and an explained queue priority. Pure: plain records in,
frozen results out; the service layer (hub.flags) loads the records and stores the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from hub import vocab
from hub.clinical import opioids, outcomes, signals
from hub.clinical.signals import fmt_day

# Instruments that can be a case's primary outcome, in the order a default is chosen (one list, in hub.vocab).
PRIMARY_OUTCOMES: tuple[str, ...] = tuple(vocab.PRIMARY_OUTCOMES)
DEFAULT_MIC = {"peg": None, "nrs": None, "mskhq": outcomes.MSKHQ_MIC, "odi": outcomes.ODI_MIC_POINTS}

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

FLAG_LABELS = {
    "safety_phq9": "Safety alert",
    "opioid_red": "Opioid dose (red)",
    "opioid_amber": "Opioid dose (amber)",
    "opioid_unconvertible": "Opioid not converted",
    "co_prescription": "Opioid co-prescription",
    "inertia": "Therapeutic inertia",
    "missed_appointments": "Missed appointments",
    "prom_non_completion": "PROMs not returned",
    "adherence_drop": "Adherence falling",
    "prom_plateau": "PROM plateau",
    "treatment_burden": "Treatment too much",
    "appropriate_restraint": "Appropriate restraint",
    "relisted": "Re-listed",
    "wearable_drop": "Wearable use falling",
    "distress": "Significant distress",
    "phq9_item9_unanswered": "PHQ-9 item 9 not answered",
    "opioid_escalation_without_benefit": "Opioid up, no benefit",
    "explore_beliefs": "Explore beliefs",
}
# Missed appointments and unreturned PROMs stay separate flags (separate reasons) but are one signal of
# disengagement: they add to the queue priority once (hazard H8).
DISENGAGEMENT_PRIORITY_ONCE = ("missed_appointments", "prom_non_completion")
FLAG_GROUPS = {
    "safety": ("safety_phq9", "phq9_item9_unanswered", "distress"),
    "opioid": ("opioid_red", "opioid_amber", "opioid_unconvertible", "co_prescription",
               "opioid_escalation_without_benefit"),
    "inertia": ("inertia",),
    "disengagement": ("missed_appointments", "prom_non_completion", "adherence_drop", "prom_plateau",
                      "treatment_burden", "wearable_drop"),
}


@dataclass(frozen=True)
class AssessmentRec:
    """One administered (or not returned) instrument."""

    on: date
    instrument: str
    total: float | None
    completed: bool = True
    safety_alert: bool = False
    safety_action: str | None = None
    item9_missing: bool = False  # a PHQ-9 recorded without an answer to item 9
    fear_item_positive: bool | None = None  # STarT Back fear item (None: not this instrument / not answered)
    # Who completed it: 'patient-completed' (through an invitation link) names the source in the safety flag.
    mode: str = ""
    reported_at: datetime | None = None


@dataclass(frozen=True)
class ReviewRec:
    """One review contact."""

    on: date
    attendance: str  # attended / dna / cancelled
    management_changes: tuple[str, ...] = ()
    inaction_justifications: tuple[str, ...] = ()
    adherence_pct: int | None = None
    treatment_too_much: bool | None = None


@dataclass(frozen=True)
class TreatmentRec:
    """One treatment course; medicines carry drug, route and dose."""

    category: str
    start: date
    end: date | None = None
    drug: str | None = None
    route: str | None = None
    daily_dose_mg: float | None = None
    patch_mcg_per_h: float | None = None
    name: str = ""
    status: str = "active"
    reason_stopped: str | None = None
    adherence_pct: int | None = None

    def active_on(self, day: date) -> bool:
        """True if the course runs on that day."""
        return self.start <= day and (self.end is None or self.end >= day)


@dataclass(frozen=True)
class CaseRecord:
    """Everything the evaluation needs about one case, as plain values."""

    today: date
    condition: str
    pain_classification: str
    risk_band: str | None = None
    submitted_on: date | None = None
    baseline_pain: float | None = None
    primary_outcome: str | None = None
    assessments: tuple[AssessmentRec, ...] = ()
    reviews: tuple[ReviewRec, ...] = ()
    treatments: tuple[TreatmentRec, ...] = ()
    status: str | None = None
    relisted_reason: str | None = None
    decided_on: date | None = None
    wearable_days_recent: int | None = None  # days with wearable data in the last 28 days
    wearable_days_before: int | None = None  # ... and in the 28 days before those
    gas_met_on: tuple[tuple[date, bool], ...] = ()  # agreed goals (GAS) met or not, from each rating date


@dataclass(frozen=True)
class Flag:
    """A flag on a case with the reason a clinician reads in two seconds."""

    code: str
    severity: str  # 'red' | 'amber' | 'info'
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short name for the queue column."""
        return FLAG_LABELS.get(self.code, self.code)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the case."""
        return {"code": self.code, "label": self.label, "severity": self.severity, "reason": self.reason,
                "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Response:
    """Change of the primary outcome since baseline."""

    instrument: str
    baseline: float | None
    baseline_on: date | None
    latest: float | None
    latest_on: date | None
    category: str | None
    important: bool | None
    text: str
    mic_band: tuple[float, float] | None = None
    target: float | None = None


@dataclass(frozen=True)
class CaseEvaluation:
    """Result of evaluating a case: flags, response and the explained priority."""

    flags: tuple[Flag, ...]
    response: Response | None
    ome_total: float
    priority: float
    priority_reasons: tuple[str, ...]
    since_decision: Response | None = None

    def flag_codes(self, severities: tuple[str, ...] = ("red", "amber", "info")) -> set[str]:
        """Codes of the flags with these severities."""
        return {f.code for f in self.flags if f.severity in severities}

    @property
    def safety_alert(self) -> bool:
        """True while a PHQ-9 item 9 alert has no recorded action."""
        return any(f.code == "safety_phq9" for f in self.flags)


def _setting(settings: Mapping[str, Any], key: str, default: Any) -> Any:
    value = settings.get(key, default)
    return default if value is None else value


def choose_primary_outcome(record: CaseRecord) -> str | None:
    """The case's primary outcome: the one chosen at MDT, else the first of PEG, NRS, MSK-HQ, ODI with data."""
    if record.primary_outcome:
        return record.primary_outcome
    have = {a.instrument for a in record.assessments if a.completed and a.total is not None}
    for code in PRIMARY_OUTCOMES:
        if code in have:
            return code
    return "nrs" if record.baseline_pain is not None else None


def _series(record: CaseRecord, instrument: str) -> list[tuple[date, float]]:
    pts = sorted((a.on, float(a.total)) for a in record.assessments
                 if a.instrument == instrument and a.completed and a.total is not None and a.on <= record.today)
    return pts


def _baseline(record: CaseRecord, instrument: str, pts: list[tuple[date, float]]) -> tuple[date | None, float | None]:
    """Baseline = the latest value on or before submission, else the first value; NRS falls back to the
    pain score given at submission."""
    if record.submitted_on is not None:
        before = [p for p in pts if p[0] <= record.submitted_on]
        if before:
            return before[-1]
    if pts:
        return pts[0]
    if instrument == "nrs" and record.baseline_pain is not None:
        return record.submitted_on, float(record.baseline_pain)
    return None, None


def primary_response(record: CaseRecord, settings: Mapping[str, Any] | None = None) -> Response | None:
    """Classify the primary outcome's change since baseline (docs/CLINICAL.md section 2)."""
    settings = settings or {}
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    pts = _series(record, instrument)
    base_on, base = _baseline(record, instrument, pts)
    latest_on, latest = (pts[-1] if pts else (None, None))
    band = target = None
    if base is not None:
        if instrument in ("peg", "nrs"):
            pct = float(_setting(settings, "pain.moderate_pct", 30.0))
            floor = float(_setting(settings, "pain.raw_floor", outcomes.RAW_FLOOR))
            target = round(max(0.0, min(base * (1 - pct / 100), base - floor)), 2)  # v0.2: % and raw floor
            band = (target, base)
        elif instrument == "mskhq":
            mic = float(_setting(settings, "mskhq.mic", outcomes.MSKHQ_MIC))
            band, target = (base, base + mic), base + mic
        elif instrument == "odi":
            mic = float(_setting(settings, "odi.mic_points", outcomes.ODI_MIC_POINTS))
            band, target = (base - mic, base), base - mic
    if base is None or latest is None or latest_on == base_on:
        return Response(instrument, base, base_on, latest, latest_on, None, None,
                        "No follow-up value since baseline yet", band, target)
    c = outcomes.classify_change(instrument, base, latest,
                                 raw_floor=float(_setting(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))
    text = (f"{instrument.upper()} {_score(base)} ({fmt_day(base_on, record.today) if base_on else 'baseline'}) → "
            f"{_score(latest)} ({fmt_day(cast(date, latest_on), record.today)}): {c.category.replace('_', ' ')}")
    return Response(instrument, base, base_on, latest, latest_on, c.category, c.important, text, band, target)


def _score(value: float) -> str:
    """A score as a clinician reads it: PEG means to one decimal (3.3, not 3.33333), whole scores bare."""
    return f"{round(value, 1):g}"


def response_since(record: CaseRecord, since: date, settings: Mapping[str, Any] | None = None) -> Response | None:
    """Change of the primary outcome since a date (the hub decision): value at or before it vs the latest."""
    settings = settings or {}
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    pts = _series(record, instrument)
    before = [p for p in pts if p[0] <= since]
    after = [p for p in pts if p[0] > since]
    if not before:
        return Response(instrument, None, None, None, None, None, None, "No value at the hub decision to compare with")
    base_on, base = before[-1]
    if not after:
        return Response(instrument, base, base_on, None, None, None, None,
                        f"No {instrument.upper()} since the hub decision yet")
    latest_on, latest = after[-1]
    c = outcomes.classify_change(instrument, base, latest,
                                 raw_floor=float(_setting(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))
    text = (f"Since the hub decision: {instrument.upper()} {_score(base)} ({fmt_day(base_on, record.today)}) → "
            f"{_score(latest)} ({fmt_day(latest_on, record.today)}): {c.category.replace('_', ' ')}")
    return Response(instrument, base, base_on, latest, latest_on, c.category, c.important, text)


def _gas_met(record: CaseRecord, on: date) -> bool | None:
    """Whether the agreed goals were met (every rated goal at GAS level >= 0) as last rated on or before a day."""
    rated = [(d, met) for d, met in record.gas_met_on if d <= on]
    return max(rated, key=lambda p: p[0])[1] if rated else None


def _target_met(record: CaseRecord, instrument: str | None, on: date, settings: Mapping[str, Any]) -> bool | None:
    """At target on a day: the agreed goals are met (GAS, section 2.3), or the primary outcome responds."""
    gas_met = _gas_met(record, on)
    if instrument is None:
        return gas_met
    pts = [p for p in _series(record, instrument) if p[0] <= on]
    base_on, base = _baseline(record, instrument, _series(record, instrument))
    if not pts or base is None or pts[-1][0] == base_on:
        return gas_met
    return outcomes.is_responder(instrument, base, pts[-1][1], gas_met=gas_met,
                                 pain_pct=float(_setting(settings, "pain.moderate_pct", 30.0)),
                                 mskhq_mic=float(_setting(settings, "mskhq.mic", outcomes.MSKHQ_MIC)),
                                 raw_floor=float(_setting(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))


def _opioid_flags(record: CaseRecord, settings: Mapping[str, Any]) -> tuple[list[Flag], float]:
    active = [t for t in record.treatments if t.category == "medicine" and t.drug and t.active_on(record.today)]
    # A dose of 0 mg/day counts as 0; only a dose that is not recorded (None) leaves the item out.
    rx = [opioids.rx_of(t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h) for t in active
          if opioids.is_opioid(t.drug)]
    flags: list[Flag] = []
    total = 0.0
    if rx:
        result = opioids.daily_ome(rx)
        total = float(result.total)
        amber = float(_setting(settings, "opioid.amber_ome", 90.0))
        red = float(_setting(settings, "opioid.red_ome", 120.0))
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
    return max(done, key=lambda a: a.on) if done else None


def _distress_flags(record: CaseRecord, settings: Mapping[str, Any]) -> list[Flag]:
    """E3 as flags (H2): significant distress on the latest PHQ-9 / GAD-7, and a PHQ-9 without item 9."""
    today = record.today
    flags: list[Flag] = []
    reasons = []
    phq_min = float(_setting(settings, "escalation.e3_phq9_min", 15))
    gad_min = float(_setting(settings, "escalation.e3_gad7_min", 15))
    phq, gad = _latest(record, "phq9"), _latest(record, "gad7")
    if phq is not None and phq.total >= phq_min:
        reasons.append(f"PHQ-9 {phq.total:g} on {fmt_day(phq.on, today)} (≥ {phq_min:g})")
    if gad is not None and gad.total >= gad_min:
        reasons.append(f"GAD-7 {gad.total:g} on {fmt_day(gad.on, today)} (≥ {gad_min:g})")
    if reasons:
        flags.append(Flag("distress", "amber", f"Significant distress: {'; '.join(reasons)}. Consider a parallel "
                          "mental-health pathway", {"phq9": phq.total if phq else None,
                                                    "gad7": gad.total if gad else None}))
    # The latest PHQ-9 that came back: if item 9 is unanswered, nobody knows about thoughts of self-harm.
    returned = [a for a in record.assessments if a.instrument == "phq9" and a.on <= today
                and (a.completed or a.item9_missing)]
    last = max(returned, key=lambda a: a.on, default=None)
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
    if now - before <= float(_setting(settings, "opioid.escalation_min_rise", 0.0)):
        return None
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    since = response_since(record, prev, settings)
    if since is not None and since.category is not None:
        improved = since.category in ("moderate", "substantial", "improved")
        outcome = (f"{since.instrument.upper()} {_score(since.baseline)} ({fmt_day(since.baseline_on, today)}) → "
                   f"{_score(since.latest)} ({fmt_day(since.latest_on, today)}): "
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
    return {k: float(_setting(settings, f"inertia.onset_window_weeks.{k}", v))
            for k, v in signals.ONSET_WINDOW_WEEKS.items()}


def _waiting_for(record: CaseRecord, on: date, settings: Mapping[str, Any]) -> tuple[TreatmentRec, float] | None:
    """The latest treatment started within its onset window before a review (inertia suppresses itself)."""
    windows = _onset_windows(settings)
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
    tsk11_min = float(_setting(settings, "beliefs.tsk11_min", BELIEFS_TSK11_MIN))
    tsk17_above = float(_setting(settings, "tsk17.high_above", 37))
    pcs_min = float(_setting(settings, "beliefs.pcs_min", BELIEFS_PCS_MIN))
    for code, label, test, cut in (("tsk11", "TSK-11", lambda v: v >= tsk11_min, f"≥ {tsk11_min:g}"),
                                   ("tsk17", "TSK-17", lambda v: v > tsk17_above, f"> {tsk17_above:g}"),
                                   ("pcs", "PCS", lambda v: v >= pcs_min, f"≥ {pcs_min:g}")):
        a = _latest(record, code)
        if a is not None and test(a.total):
            scores.append(f"{label} {a.total:g} on {fmt_day(a.on, today)} ({cut})")
    sbst = [a for a in record.assessments if a.instrument == "sbst" and a.fear_item_positive is not None
            and a.on <= today]
    last_sbst = max(sbst, key=lambda a: a.on, default=None)
    if last_sbst is not None and last_sbst.fear_item_positive:
        scores.append(f"STarT Back fear item positive on {fmt_day(last_sbst.on, today)}")
    if not scores:
        return None
    months = int(_setting(settings, "beliefs.window_months", BELIEFS_WINDOW_MONTHS))
    low = float(_setting(settings, "beliefs.low_adherence_pct", BELIEFS_LOW_ADHERENCE_PCT))
    since = signals._months_before(today, months)
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
    waiting = {r.on: _waiting_for(record, r.on, settings) for r in attended}
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
            sig_reviews, today, min_consecutive=int(_setting(settings, "inertia.min_consecutive", 2)),
            max_weeks=float(_setting(settings, "inertia.max_weeks", 12)))
        if ti.flag:
            reason = ti.reason
            values = [v for d_, v in _series(record, instrument)] if instrument else []
            if instrument and len(values) >= 2:
                reason += f" ({instrument.upper()} {values[0]:.1f} → {values[-1]:.1f})"
            flags.append(Flag("inertia", "amber", reason, {"ti_score": ti.ti_score, "rule": ti.rule}))
        elif sig_reviews[-1].target_met is False and attended[-1].inaction_justifications:
            codes = ", ".join(j.replace("_", " ") for j in attended[-1].inaction_justifications)
            flags.append(Flag("appropriate_restraint", "info",
                              f"No change on {fmt_day(attended[-1].on, today)} by decision: {codes}",
                              {"ti_score": ti.ti_score}))
        elif sig_reviews[-1].target_met is False and waiting[attended[-1].on]:
            t, weeks = waiting[attended[-1].on]
            flags.append(Flag("appropriate_restraint", "info",
                              f"Waiting for {_treatment_name(t)} (started {fmt_day(t.start, today)}) to work: the "
                              f"review on {fmt_day(attended[-1].on, today)} is within its {weeks:g}-week onset "
                              "window, so no inertia is raised", {"ti_score": ti.ti_score, "within_onset_window": True}))

    # Treatment fatigue / disengagement.
    contacts = [(r.on, r.attendance == "attended") for r in record.reviews if r.attendance in ("attended", "dna")]
    dna = signals.missed_appointments_signal(
        contacts, today, min_dna=int(_setting(settings, "disengagement.dna_min_count", 2)),
        window_months=int(_setting(settings, "disengagement.dna_window_months", 6)),
        last_n=int(_setting(settings, "disengagement.dna_last_n", 4)),
        min_fraction=float(_setting(settings, "disengagement.dna_min_fraction", 0.5)))
    if dna.flag:
        flags.append(Flag("missed_appointments", "amber", dna.reason))
    # One PROM contact per date: returned if any questionnaire of that day came back.
    by_day: dict[date, bool] = {}
    for a in record.assessments:
        by_day[a.on] = by_day.get(a.on, False) or a.completed
    proms = sorted(by_day.items())
    nonret = signals.prom_non_completion_signal(
        proms, today, min_consecutive=int(_setting(settings, "disengagement.prom_nonreturn_min_consecutive", 2)))
    if nonret.flag:
        flags.append(Flag("prom_non_completion", "amber", nonret.reason))
    adherence = [r for r in sorted(record.reviews, key=lambda r: r.on) if r.adherence_pct is not None]
    if len(adherence) >= 2:
        drop = signals.adherence_drop_signal(cast(float, adherence[-2].adherence_pct),
                                             cast(float, adherence[-1].adherence_pct),
                                             min_drop=float(_setting(settings, "disengagement.adherence_min_drop", 0.5)))
        if drop.flag:
            flags.append(Flag("adherence_drop", "amber", f"{drop.reason} ({fmt_day(adherence[-2].on, today)} → "
                              f"{fmt_day(adherence[-1].on, today)})"))
    if instrument is not None:
        pts = _series(record, instrument)
        base_on, base = _baseline(record, instrument, pts)
        mic = _mic(instrument, base, settings)
        since_baseline = [p for p in pts if base_on is None or p[0] >= base_on]
        if mic and len(since_baseline) >= 2:
            # Plateau of the primary outcome since the baseline the hub measures response from.
            plateau = signals.prom_plateau_signal(
                since_baseline, mic, min_points=int(_setting(settings, "disengagement.plateau_min_points", 3)),
                min_weeks=float(_setting(settings, "disengagement.plateau_min_weeks", 12)),
                slope_weeks=float(_setting(settings, "disengagement.plateau_slope_weeks", 12)),
                improving_floor=(float(_setting(settings, "pain.raw_floor", outcomes.RAW_FLOOR))
                                 if instrument in ("peg", "nrs") else None),
                higher_is_better=instrument == "mskhq")
            if plateau.flag:
                flags.append(Flag("prom_plateau", "amber", f"{instrument.upper()}: {plateau.reason}"))
    recent, before = record.wearable_days_recent, record.wearable_days_before
    if recent is not None and before and before >= 7:
        drop = signals.adherence_drop_signal(before, recent,
                                             min_drop=float(_setting(settings, "disengagement.adherence_min_drop", 0.5)))
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


def _mic(instrument: str, baseline: float | None, settings: Mapping[str, Any]) -> float | None:
    if instrument in ("peg", "nrs"):
        if not baseline:
            return None
        return baseline * float(_setting(settings, "pain.moderate_pct", 30.0)) / 100
    if instrument == "mskhq":
        return float(_setting(settings, "mskhq.mic", outcomes.MSKHQ_MIC))
    if instrument == "odi":
        return float(_setting(settings, "odi.mic_points", outcomes.ODI_MIC_POINTS))
    return None


def explain_priority(flags: Sequence[Flag], record: CaseRecord,
                     settings: Mapping[str, Any] | None = None) -> tuple[float, list[str]]:
    """Transparent queue priority: weighted safety alerts, flags, risk band and waiting time, with the why."""
    settings = settings or {}
    if record.status is not None and record.status not in WAITING_STATUSES:
        return 0.0, [f"Not waiting for the hub ({record.status})"]
    w = {k: float(_setting(settings, k, v)) for k, v in PRIORITY_WEIGHTS.items()}
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
