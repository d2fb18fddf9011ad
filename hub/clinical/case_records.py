"""The records a case review reads (assessments, reviews, treatments, the case) and the results it returns
(flags with their labels and groups, the primary outcome's response, the evaluation). Frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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
FLAG_GROUPS = {
    "safety": ("safety_phq9", "phq9_item9_unanswered", "distress"),
    "opioid": ("opioid_red", "opioid_amber", "opioid_unconvertible", "co_prescription",
               "opioid_escalation_without_benefit"),
    "inertia": ("inertia",),
    "disengagement": ("missed_appointments", "prom_non_completion", "adherence_drop", "prom_plateau",
                      "treatment_burden", "wearable_drop"),
}


# Severities of the flags the hub responds to at the meeting ("open" flags); "info" flags are not.
OPEN_SEVERITIES = ("red", "amber")


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

    @property
    def is_open(self) -> bool:
        """A flag the hub must respond to (red or amber); 'info' flags (e.g. appropriate restraint) are not."""
        return self.severity in OPEN_SEVERITIES

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the case."""
        return {"code": self.code, "label": self.label, "severity": self.severity, "reason": self.reason,
                "evidence": dict(self.evidence)}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Flag:
        """The flag from its stored form (as_dict), e.g. an element of the case's flags column."""
        return cls(str(stored.get("code", "")), str(stored.get("severity", "info")), str(stored.get("reason", "")),
                   dict(stored.get("evidence") or {}))


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

