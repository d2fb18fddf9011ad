"""FHIR R4 resources of the export, one record each: the code systems and mappings (SNOMED CT conditions,
LOINC instrument totals, statuses), stable ids (uuid5 over NAMESPACE and "<entity>/<database id>"), and
the Patient, Condition, MedicationStatement, Observation, QuestionnaireResponse and goal-achievement
mappers. No database access: hub.fhir loads the case and assembles the Bundle."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from db.models import (
    Assessment,
    Case,
    Treatment,
    WearableDay,
)
from hub.records import treatment_label
from hub.vocab import (
    CONDITIONS,
    PAIN_CLASSIFICATIONS,
    ROUTES,
    STOP_REASONS,
    WEARABLE_SOURCES,
)

# Fixed namespace of the hub's resource ids: never change it, or every exported id changes.
NAMESPACE = uuid.UUID("7c0f5c3e-5f43-5b1e-9a57-2f4a1d6e8b90")
WEARABLE_DAYS_CAP = 365
EXPORT_TAG_SYSTEM = "urn:msk-pain-hub:fhir-export"

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"

# SNOMED CT codes only where the concept matches the hub's condition; the rest are exported as text.
CONDITION_SNOMED: dict[str, tuple[str, str]] = {
    "knee_oa": ("239873007", "Osteoarthritis of knee"),
    "hip_oa": ("239872002", "Osteoarthritis of hip"),
    "low_back_pain": ("278860009", "Chronic low back pain"),
    "sciatica": ("23056005", "Sciatica"),
    "neck_pain": ("81680005", "Neck pain"),
    "shoulder_pain": ("45326000", "Shoulder pain"),
}
# LOINC codes of instrument totals; other instruments are exported with their name as text.
INSTRUMENT_LOINC: dict[str, tuple[str, str]] = {
    "phq9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "gad7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}
SEX_TO_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
TREATMENT_TO_MEDICATION_STATUS = {"active": "active", "stopped": "stopped", "planned": "intended"}
ACTION_TO_TASK_STATUS = {"open": "requested", "done": "completed", "cancelled": "cancelled"}
ACTION_TO_ACTIVITY_STATUS = {"open": "not-started", "done": "completed", "cancelled": "cancelled"}
ACTION_TO_REQUEST_STATUS = {"open": "active", "done": "completed", "cancelled": "revoked"}
SERVICE_REQUEST_KINDS = ("refer", "investigation")
LETTER_DOC_STATUS = {"draft": "preliminary", "sent": "final", "acknowledged": "final"}


def resource_id(entity: str, key: Any) -> str:
    """The stable uuid (as text) of an exported entity, e.g. resource_id("patient", 7)."""
    return str(uuid.uuid5(NAMESPACE, f"{entity}/{key}"))


def full_url(entity: str, key: Any) -> str:
    """The `urn:uuid:` fullUrl of an exported entity."""
    return f"urn:uuid:{resource_id(entity, key)}"


def ref_to(entity: str, key: Any, display: str | None = None) -> dict[str, str]:
    out = {"reference": full_url(entity, key)}
    if display:
        out["display"] = display
    return out


def fhir_date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def fhir_instant(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as a FHIR dateTime/instant with seconds and an explicit offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def plain_text(value: str | None) -> str:
    return (value or "").strip()


def fhir_concept(text: str, system: str | None = None, code: str | None = None,
             display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if system and code:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if text:
        out["text"] = text
    return out


def fhir_notes(*texts: str | None) -> list[dict[str, str]]:
    return [{"text": t.strip()} for t in texts if t and t.strip()]


def prune(value: Any) -> Any:
    """Drop None, empty strings, lists and dicts (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def _band_label(band: str) -> str:
    return band.replace("_", " ").capitalize()
# ----------------------------------------------------------------------------- resources


def patient_resource(case: Case) -> dict[str, Any]:
    p = case.patient
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": p.nhs_number}],
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name],
                  "text": f"{p.given_name} {p.family_name}"}],
        "gender": SEX_TO_GENDER.get(p.sex, "unknown"),
        # The full date when recorded; else the year alone (FHIR's date type allows a year on its own).
        "birthDate": p.date_of_birth.isoformat() if p.date_of_birth else f"{p.birth_year:04d}",
        "address": [{"use": "home", "text": ", ".join(x for x in (p.address, p.postcode) if x),
                     "postalCode": p.postcode or None}] if (p.address or p.postcode) else [],
        "managingOrganization": {"display": case.practice.name, **(
            {"identifier": {"system": ODS_SYSTEM, "value": case.practice.ods_code}} if case.practice.ods_code else {})},
    }


def condition_resource(case: Case) -> dict[str, Any]:
    label = CONDITIONS.get(case.condition, case.condition)
    snomed = CONDITION_SNOMED.get(case.condition)
    classification = PAIN_CLASSIFICATIONS.get(case.pain_classification, case.pain_classification)
    question = plain_text(case.clinical_question)
    return {
        "resourceType": "Condition",
        "clinicalStatus": fhir_concept("Active", CONDITION_CLINICAL, "active", "Active"),
        "category": [fhir_concept("Problem list item", CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": fhir_concept(label, SNOMED, *snomed) if snomed else fhir_concept(label),
        "subject": ref_to("patient", case.patient_id),
        "onsetString": (f"Pain for about {case.duration_months} months at referral"
                        if case.duration_months is not None else None),
        "recordedDate": fhir_instant(case.submitted_at or case.created_at),
        "note": fhir_notes(f"Clinical question: {question}" if question else "",
                           f"Pain classification: {classification}"),
    }


def medication_statement(t: Treatment) -> dict[str, Any]:
    label = treatment_label(t.category, t.name, t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)
    if t.patch_mcg_per_h:
        dose = f"{t.patch_mcg_per_h:g} microgram/h patch"
    elif t.daily_dose_mg is not None:  # 0 mg/day is a dose (0), not a missing one
        dose = f"{t.daily_dose_mg:g} mg per day"
    else:
        dose = ""
    dose_text = "; ".join(x for x in (dose, plain_text(t.dose_text)) if x)
    route = ROUTES.get(t.route or "", t.route or "")
    return {
        "resourceType": "MedicationStatement",
        "status": TREATMENT_TO_MEDICATION_STATUS.get(t.status, "unknown"),
        "statusReason": ([fhir_concept(STOP_REASONS.get(t.reason_stopped, t.reason_stopped))]
                         if t.reason_stopped else []),
        "medicationCodeableConcept": fhir_concept(label),
        "subject": ref_to("patient", t.patient_id),
        "effectivePeriod": {"start": fhir_date(t.start_date), "end": fhir_date(t.end_date)},
        "dosage": [{"text": dose_text, "route": fhir_concept(route) if route else None}] if dose_text or route else [],
        "note": fhir_notes(t.notes, f"Adherence about {t.adherence_pct}%" if t.adherence_pct is not None else "",
                       f"Guideline override: {t.guideline_override}" if t.guideline_override else ""),
    }


def assessment_observation(a: Assessment) -> dict[str, Any]:
    from hub.clinical import instruments

    try:
        spec = instruments.get_instrument(a.instrument)
        name, unit_percent = spec.name, spec.id == "ODI"
    except (KeyError, ValueError):
        name, unit_percent = a.instrument.upper(), False
    loinc = INSTRUMENT_LOINC.get(a.instrument)
    value = ({"value": a.total, "unit": "%", "system": UCUM, "code": "%"} if unit_percent
             else {"value": a.total, "unit": "score", "system": UCUM, "code": "{score}"})
    safety = ""
    if a.safety_alert:
        safety = "Safety alert (PHQ-9 item 9): " + (f"action recorded: {a.safety_action}" if a.safety_action
                                                     else "no action recorded yet")
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [fhir_concept("Survey", OBS_CATEGORY, "survey", "Survey")],
        "code": fhir_concept(name, LOINC, *loinc) if loinc else fhir_concept(name),
        "subject": ref_to("patient", a.patient_id),
        "effectiveDateTime": fhir_date(a.administered_on),
        "valueQuantity": value,
        "interpretation": [fhir_concept(_band_label(a.band))] if a.band else [],
        "method": fhir_concept({"self": "Self-completed", "patient-completed": "Completed by the patient through the "
                            "practice's questionnaire link"}.get(a.mode, "Clinician-administered")),
        "note": fhir_notes(f"Band: {_band_label(a.band)}" if a.band else "", safety,
                       f"Instrument version {a.instrument_version}, scoring version {a.scoring_version}"),
    }


def questionnaire_response(inv, patient_ref: dict) -> dict[str, Any]:
    """A set the patient completed through an invitation link: every answer, the patient as author and source.
    Item text is included only where the project may publish it (its own words, PHQ-9, GAD-7)."""
    from hub import patient_text

    draft = inv.draft or {}
    items = []
    for st in patient_text.steps_for(inv.items):
        value = draft.get(st.key)
        if value is None or value == "":
            continue
        shown = st.ours or st.instrument in ("phq9", "gad7")
        answer: dict[str, Any]
        if st.kind == "text":
            answer = {"valueString": str(value)}
        else:
            label = dict(st.options).get(value, "")
            answer = {"valueCoding": {"system": f"{EXPORT_TAG_SYSTEM}/item/{st.key}", "code": str(value),
                                      "display": label if shown else None}}
        items.append({"linkId": st.key, "text": st.question if shown else None, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": f"{EXPORT_TAG_SYSTEM}/invitation", "value": str(inv.id)},
        "status": "completed",
        "subject": patient_ref,
        "authored": fhir_instant(inv.completed_at),
        "author": patient_ref,
        "source": patient_ref,
        "item": items,
    }


def wearable_observation(w: WearableDay) -> dict[str, Any] | None:
    components = []
    if w.steps is not None:
        components.append({"code": fhir_concept("Steps", LOINC, "55423-8", "Number of steps"), "valueInteger": w.steps})
    if w.active_minutes is not None:
        components.append({"code": fhir_concept("Active minutes"),
                           "valueQuantity": {"value": w.active_minutes, "unit": "min", "system": UCUM, "code": "min"}})
    if w.sleep_hours is not None:
        components.append({"code": fhir_concept("Sleep", LOINC, "93832-4", "Sleep duration"),
                           "valueQuantity": {"value": w.sleep_hours, "unit": "h", "system": UCUM, "code": "h"}})
    if w.resting_hr is not None:
        components.append({"code": fhir_concept("Resting heart rate", LOINC, "40443-4", "Heart rate --resting"),
                           "valueQuantity": {"value": w.resting_hr, "unit": "beats/minute", "system": UCUM,
                                             "code": "/min"}})
    if not components:
        return None
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [fhir_concept("Activity", OBS_CATEGORY, "activity", "Activity")],
        "code": fhir_concept("Daily wearable activity summary"),
        "subject": ref_to("patient", w.patient_id),
        "effectiveDateTime": fhir_date(w.day),
        "method": fhir_concept(f"Wearable: {WEARABLE_SOURCES.get(w.source, w.source)}"),
        "component": components,
    }


def gas_label(level: int) -> str:
    return f"{level:+d}" if level else "0"


def goal_achievement(level: int, baseline: int, text: str) -> dict[str, Any]:
    if level >= 0:
        code, display = "achieved", "Achieved"
    elif level > baseline:
        code, display = "improving", "Improving"
    elif level == baseline:
        code, display = "no-change", "No Change"
    else:
        code, display = "worsening", "Worsening"
    label = f"GAS level {gas_label(level)}" + (f": {text}" if text else "")
    return fhir_concept(label, GOAL_ACHIEVEMENT, code, display)


