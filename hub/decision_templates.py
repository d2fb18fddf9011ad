"""Recommendation templates for the meeting room: the recommendations a hub decision most often holds,
pre-filled (type, owner, due date, whether the patient letter carries it, the follow-up review) so the
chair adds one with a click; which ones are suggested first follows the case's flags, condition and the
pathway step. Pure functions, no I/O: the page passes in what it knows about the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hub.clinical.drugs import drug_classes, resolve_drug


@dataclass(frozen=True)
class Template:
    """One ready-made recommendation."""

    key: str
    label: str
    kind: str  # hub.vocab.RECOMMENDATION_TYPES
    description: str  # may hold "{drug}"
    owner_role: str  # hub.vocab.OWNER_ROLES
    due_weeks: int  # due date = meeting day + this many weeks
    for_patient: bool  # shown in the patient's version of the letter
    review_weeks: int | None = None  # sets the follow-up review date when none is set yet
    needs_drug: bool = False


@dataclass(frozen=True)
class Suggestion:
    """A template with the reason it fits this case (empty reason = not specifically suggested)."""

    template: Template
    why: str


TEMPLATES: tuple[Template, ...] = (
    Template("opioid_taper", "Opioid taper", "taper_medicine",
             "Agree a gradual taper of {drug} with the patient (small steps, no abrupt stop), with a named "
             "prescriber and a review at each step; the patient keeps a pain and activity diary meanwhile.",
             "pcp", 4, True, review_weeks=12, needs_drug=True),
    Template("safety_review", "Same-day safety review", "other",
             "Same-day clinician review of suicide risk (PHQ-9 item 9 answered above 0), with a safety plan.",
             "pcp", 0, False),
    Template("exercise_programme", "Exercise programme", "exercise_programme",
             "Supervised exercise programme (strengthening and general fitness) with a home programme, "
             "progressed gradually; the patient keeps active between sessions.",
             "physiotherapy", 6, True, review_weeks=12),
    Template("psychological_therapy", "Psychological therapy", "psychological_therapy",
             "Pain-focused psychological therapy (CBT or ACT) alongside the exercise programme.",
             "psychology", 8, True, review_weeks=16),
    Template("medication_review", "Medication review", "refer",
             "Structured medication review with the pharmacist: stop medicines that do not help, simplify "
             "the rest.", "pharmacy", 4, False, review_weeks=12),
    Template("social_prescribing", "Social prescribing", "social_prescribing",
             "Referral to the social prescribing link worker for community activity and support.",
             "social_prescribing", 6, True),
    Template("education", "Pain education", "education",
             "Explain the working diagnosis and that moving is safe (hurt does not mean harm); give written "
             "self-management advice.", "pcp", 2, True),
)
BY_KEY: dict[str, Template] = {t.key: t for t in TEMPLATES}

_OPIOID_FLAGS = ("opioid_red", "opioid_amber", "co_prescription", "opioid_unconvertible")
_DISENGAGEMENT = ("missed_appointments", "prom_non_completion", "adherence_drop", "wearable_drop")
_OA = ("knee_oa", "hip_oa", "hand_oa")


def opioids_of(drugs: list[str | None]) -> list[str]:
    """The opioids among the names of a case's current medicines (table names, in order, no repeats)."""
    out: list[str] = []
    for name in drugs:
        if not name or not str(name).strip():
            continue
        try:
            resolved = resolve_drug(str(name)) or str(name)
            if "opioid" in drug_classes(resolved) and resolved not in out:
                out.append(resolved)
        except ValueError:
            continue
    return out


def suggest(flag_codes: list[str], condition: str | None, pain_classification: str | None,
            pathway_step: str | None) -> list[Suggestion]:
    """Every template, the ones this case's flags, condition and pathway step call for first (with why)."""
    flags = set(flag_codes)
    why: dict[str, str] = {}
    if "safety_phq9" in flags:
        why["safety_review"] = "safety alert on the case"
    opioid = [f for f in _OPIOID_FLAGS if f in flags]
    if opioid:
        why["opioid_taper"] = "opioid flag on the case"
        why["medication_review"] = "opioid flag on the case"
    if "treatment_burden" in flags:
        why["medication_review"] = "the patient finds the treatment too much"
    if condition in _OA or condition in ("low_back_pain", "sciatica") or pathway_step in (
            "S4_ACTIVE_NON_PHARM", "S6_COMBINED_PROGRAMME"):
        why["exercise_programme"] = "first-line active treatment for this condition" if not pathway_step \
            else "the pathway step chosen"
    if pain_classification == "primary" or pathway_step == "S6_COMBINED_PROGRAMME":
        why["psychological_therapy"] = "chronic primary pain" if pain_classification == "primary" \
            else "the pathway step chosen"
    if any(f in flags for f in _DISENGAGEMENT):
        why["social_prescribing"] = "signs of disengagement"
    if pathway_step == "S3_SELF_MANAGEMENT":
        why["education"] = "the pathway step chosen"
    suggested = [Suggestion(t, why[t.key]) for t in TEMPLATES if t.key in why]
    return suggested + [Suggestion(t, "") for t in TEMPLATES if t.key not in why]


def fill(template: Template, meeting_day: date, drug: str | None = None) -> dict:
    """The recommendation fields a template gives for a meeting on `meeting_day` (keys of
    hub.decisions.RecommendationInput) and, under "review_date", the follow-up review it proposes."""
    drug_text = (drug or "").strip()
    return {
        "kind": template.kind,
        "description": template.description.format(drug=drug_text or "the opioid"),
        "drug": drug_text or None,
        "owner_role": template.owner_role,
        "due_date": meeting_day + timedelta(weeks=template.due_weeks),
        "for_patient": template.for_patient,
        "review_date": meeting_day + timedelta(weeks=template.review_weeks) if template.review_weeks else None,
    }
