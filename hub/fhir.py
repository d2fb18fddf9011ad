"""FHIR R4 export of one case: a `collection` Bundle of the patient, the condition, the hub's plan
(CarePlan, Goals, ServiceRequests, Tasks, CareTeam, Practitioners), the record (MedicationStatements,
Observations) and the outcome letters (DocumentReferences).

Every resource gets a stable `urn:uuid:` fullUrl (uuid5 over NAMESPACE and "<entity>/<database id>"),
and the Bundle carries no export timestamp, so exporting unchanged data twice gives identical output.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from db.models import (
    Action,
    AgendaItem,
    Assessment,
    Attendance,
    Case,
    Decision,
    Letter,
    Meeting,
    Treatment,
    User,
    WearableDay,
)
from hub.access import Actor, can_see_case
from hub.vocab import PATHWAY_STEP_LABELS
from hub.errors import NotFound
from hub.records import treatment_label
from hub.vocab import (
    CONDITIONS,
    DISCIPLINES,
    MEDICINE_RECOMMENDATIONS,
    OWNER_ROLES,
    PAIN_CLASSIFICATIONS,
    RECOMMENDATION_TYPES,
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


def _ref(entity: str, key: Any, display: str | None = None) -> dict[str, str]:
    out = {"reference": full_url(entity, key)}
    if display:
        out["display"] = display
    return out


def _date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def _instant(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as a FHIR dateTime/instant with seconds and an explicit offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _text(value: str | None) -> str:
    return (value or "").strip()


def _concept(text: str, system: str | None = None, code: str | None = None,
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


def _notes(*texts: str | None) -> list[dict[str, str]]:
    return [{"text": t.strip()} for t in texts if t and t.strip()]


def _prune(value: Any) -> Any:
    """Drop None, empty strings, lists and dicts (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        out = [_prune(v) for v in value]
        return [v for v in out if v not in (None, "", [], {})]
    return value


def _band_label(band: str) -> str:
    return band.replace("_", " ").capitalize()


class _Builder:
    """Collects the bundle's entries in order, each with its fullUrl."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, entity: str, key: Any, resource: dict[str, Any]) -> None:
        resource = {"resourceType": resource.pop("resourceType"), "id": resource_id(entity, key), **resource}
        self.entries.append({"fullUrl": full_url(entity, key), "resource": _prune(resource)})


# ----------------------------------------------------------------------------- resources


def _patient(case: Case) -> dict[str, Any]:
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


def _condition(case: Case) -> dict[str, Any]:
    label = CONDITIONS.get(case.condition, case.condition)
    snomed = CONDITION_SNOMED.get(case.condition)
    classification = PAIN_CLASSIFICATIONS.get(case.pain_classification, case.pain_classification)
    return {
        "resourceType": "Condition",
        "clinicalStatus": _concept("Active", CONDITION_CLINICAL, "active", "Active"),
        "category": [_concept("Problem list item", CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": _concept(label, SNOMED, *snomed) if snomed else _concept(label),
        "subject": _ref("patient", case.patient_id),
        "onsetString": (f"Pain for about {case.duration_months} months at referral"
                        if case.duration_months is not None else None),
        "recordedDate": _instant(case.submitted_at or case.created_at),
        "note": _notes(f"Clinical question: {_text(case.clinical_question)}" if _text(case.clinical_question) else "",
                       f"Pain classification: {classification}"),
    }


def _medication_statement(t: Treatment) -> dict[str, Any]:
    label = treatment_label(t.category, t.name, t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)
    if t.patch_mcg_per_h:
        dose = f"{t.patch_mcg_per_h:g} microgram/h patch"
    elif t.daily_dose_mg is not None:  # 0 mg/day is a dose (0), not a missing one
        dose = f"{t.daily_dose_mg:g} mg per day"
    else:
        dose = ""
    dose_text = "; ".join(x for x in (dose, _text(t.dose_text)) if x)
    route = ROUTES.get(t.route or "", t.route or "")
    return {
        "resourceType": "MedicationStatement",
        "status": TREATMENT_TO_MEDICATION_STATUS.get(t.status, "unknown"),
        "statusReason": [_concept(STOP_REASONS.get(t.reason_stopped, t.reason_stopped))] if t.reason_stopped else [],
        "medicationCodeableConcept": _concept(label),
        "subject": _ref("patient", t.patient_id),
        "effectivePeriod": {"start": _date(t.start_date), "end": _date(t.end_date)},
        "dosage": [{"text": dose_text, "route": _concept(route) if route else None}] if dose_text or route else [],
        "note": _notes(t.notes, f"Adherence about {t.adherence_pct}%" if t.adherence_pct is not None else "",
                       f"Guideline override: {t.guideline_override}" if t.guideline_override else ""),
    }


def _assessment_observation(a: Assessment) -> dict[str, Any]:
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
        "category": [_concept("Survey", OBS_CATEGORY, "survey", "Survey")],
        "code": _concept(name, LOINC, *loinc) if loinc else _concept(name),
        "subject": _ref("patient", a.patient_id),
        "effectiveDateTime": _date(a.administered_on),
        "valueQuantity": value,
        "interpretation": [_concept(_band_label(a.band))] if a.band else [],
        "method": _concept({"self": "Self-completed", "patient-completed": "Completed by the patient through the "
                            "practice's questionnaire link"}.get(a.mode, "Clinician-administered")),
        "note": _notes(f"Band: {_band_label(a.band)}" if a.band else "", safety,
                       f"Instrument version {a.instrument_version}, scoring version {a.scoring_version}"),
    }


def _questionnaire_response(inv, patient_ref: dict) -> dict[str, Any]:
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
        "authored": _instant(inv.completed_at),
        "author": patient_ref,
        "source": patient_ref,
        "item": items,
    }


def _wearable_observation(w: WearableDay) -> dict[str, Any] | None:
    components = []
    if w.steps is not None:
        components.append({"code": _concept("Steps", LOINC, "55423-8", "Number of steps"), "valueInteger": w.steps})
    if w.active_minutes is not None:
        components.append({"code": _concept("Active minutes"),
                           "valueQuantity": {"value": w.active_minutes, "unit": "min", "system": UCUM, "code": "min"}})
    if w.sleep_hours is not None:
        components.append({"code": _concept("Sleep", LOINC, "93832-4", "Sleep duration"),
                           "valueQuantity": {"value": w.sleep_hours, "unit": "h", "system": UCUM, "code": "h"}})
    if w.resting_hr is not None:
        components.append({"code": _concept("Resting heart rate", LOINC, "40443-4", "Heart rate --resting"),
                           "valueQuantity": {"value": w.resting_hr, "unit": "beats/minute", "system": UCUM,
                                             "code": "/min"}})
    if not components:
        return None
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [_concept("Activity", OBS_CATEGORY, "activity", "Activity")],
        "code": _concept("Daily wearable activity summary"),
        "subject": _ref("patient", w.patient_id),
        "effectiveDateTime": _date(w.day),
        "method": _concept(f"Wearable: {WEARABLE_SOURCES.get(w.source, w.source)}"),
        "component": components,
    }


def _gas(level: int) -> str:
    return f"{level:+d}" if level else "0"


def _goal_achievement(level: int, baseline: int, text: str) -> dict[str, Any]:
    if level >= 0:
        code, display = "achieved", "Achieved"
    elif level > baseline:
        code, display = "improving", "Improving"
    elif level == baseline:
        code, display = "no-change", "No Change"
    else:
        code, display = "worsening", "Worsening"
    return _concept(f"GAS level {_gas(level)}" + (f": {text}" if text else ""), GOAL_ACHIEVEMENT, code, display)


# ----------------------------------------------------------------------------- export


def _owner_refs(role: str | None, user_id: int | None, case: Case) -> tuple[dict | None, str]:
    """(reference, role label) of a recommendation or action owner: a user is a Practitioner, the patient is
    the Patient, the hub is the CareTeam; a discipline has no resource and stays a role label."""
    label = OWNER_ROLES.get(role or "", role or "")
    if user_id is not None:
        return _ref("practitioner", user_id), label
    if role == "pcp":
        return _ref("practitioner", case.referrer_id), label
    if role == "patient":
        return _ref("patient", case.patient_id), label
    if role == "hub":
        return _ref("careteam", case.id), label
    return None, label


def export_case(session_factory, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case as a FHIR R4 `collection` Bundle (plain JSON-ready dict); NotFound outside the actor's scope.

    Only finalised decisions are exported (a draft discussion is not a plan). Wearable data is capped to the
    WEARABLE_DAYS_CAP (365) days ending on the latest recorded day, as the Bundle's meta tag also says.
    """
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        pid = case.patient_id
        b = _Builder()
        b.add("patient", pid, _patient(case))
        b.add("condition", case.id, _condition(case))
        condition_ref = _ref("condition", case.id)
        patient_ref = _ref("patient", pid)

        decisions = list(s.scalars(select(Decision).where(Decision.case_id == case.id, Decision.status == "final")
                                   .order_by(Decision.finalised_at, Decision.id)))
        users: set[int] = set()
        if decisions:
            users |= _plan_entries(s, b, case, decisions, condition_ref, patient_ref)
        for u in s.scalars(select(User).where(User.id.in_(users)).order_by(User.id)) if users else ():
            b.add("practitioner", u.id, {"resourceType": "Practitioner", "active": bool(u.active),
                                         "name": [{"text": u.name}]})

        for t in s.scalars(select(Treatment).where(Treatment.patient_id == pid, Treatment.category == "medicine")
                           .order_by(Treatment.start_date, Treatment.id)):
            b.add("medicationstatement", t.id, _medication_statement(t))
        for a in s.scalars(select(Assessment).where(Assessment.patient_id == pid, Assessment.status == "completed",
                                                    Assessment.total.is_not(None))
                           .order_by(Assessment.administered_on, Assessment.id)):
            b.add("observation-assessment", a.id, _assessment_observation(a))
        latest = s.scalar(select(func.max(WearableDay.day)).where(WearableDay.patient_id == pid))
        capped = False
        if latest is not None:
            since = latest - timedelta(days=WEARABLE_DAYS_CAP - 1)
            capped = bool(s.scalar(select(func.count()).select_from(WearableDay)
                                   .where(WearableDay.patient_id == pid, WearableDay.day < since)))
            for w in s.scalars(select(WearableDay).where(WearableDay.patient_id == pid, WearableDay.day >= since)
                               .order_by(WearableDay.day, WearableDay.source, WearableDay.id)):
                obs = _wearable_observation(w)
                if obs is not None:
                    b.add("observation-wearable", w.id, obs)

        from hub.invitations import completed_for_export

        for inv in completed_for_export(s, case.id):
            b.add("questionnaireresponse", inv.id, _questionnaire_response(inv, patient_ref))

        for letter in s.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)):
            b.add("documentreference", letter.id, _document_reference(s, letter, case))

    tags = [{"system": EXPORT_TAG_SYSTEM, "code": "wearable-days-cap-365",
             "display": f"Wearable data limited to the {WEARABLE_DAYS_CAP} days ending on the latest recorded day"}]
    if capped:
        tags.append({"system": EXPORT_TAG_SYSTEM, "code": "wearable-days-truncated",
                     "display": "Older wearable days exist and were left out of this export"})
    return {"resourceType": "Bundle", "id": resource_id("bundle/case", case_id), "meta": {"tag": tags},
            "type": "collection", "entry": b.entries}


def _plan_entries(s, b: _Builder, case: Case, decisions: list[Decision], condition_ref: dict,
                  patient_ref: dict) -> set[int]:
    """CarePlans (one per finalised decision), Goals, ServiceRequests, Tasks and the CareTeam; returns the
    ids of the users referenced (exported as Practitioners)."""
    users: set[int] = {case.referrer_id}
    care_team_ref = _ref("careteam", case.id)
    actions = list(s.scalars(select(Action).where(Action.case_id == case.id,
                                                  Action.decision_id.in_([d.id for d in decisions]))
                             .order_by(Action.id)))
    action_of_rec = {a.recommendation_id: a for a in actions if a.recommendation_id is not None}
    meetings: dict[int, Meeting] = {}
    for d in decisions:
        item = s.get(AgendaItem, d.agenda_item_id)
        meetings[d.id] = s.get(Meeting, item.meeting_id)
    rec_kind: dict[int, str] = {}

    for i, d in enumerate(decisions):
        latest = i == len(decisions) - 1
        plan_active = latest and case.status != "closed"
        meeting = meetings[d.id]
        plan_ref = _ref("careplan", d.id)
        if d.finalised_by:
            users.add(d.finalised_by)
        author = _ref("practitioner", d.finalised_by) if d.finalised_by else None
        activities = []
        later: list[tuple[str, int, dict[str, Any]]] = []  # goals and service requests, added after the plan
        for r in d.recommendations:
            rec_kind[r.id] = r.kind
            action = action_of_rec.get(r.id)
            status = action.status if action else "open"
            owner_ref, owner_label = _owner_refs(r.owner_role, r.owner_user_id, case)
            if r.owner_user_id:
                users.add(r.owner_user_id)
            kind_label = RECOMMENDATION_TYPES.get(r.kind, r.kind)
            if r.kind in SERVICE_REQUEST_KINDS:
                # A CarePlan activity holds a reference or an inline detail, never both (FHIR cpl-3).
                activities.append({"reference": _ref("servicerequest", r.id, r.description)})
                later.append(("servicerequest", r.id, {
                    "resourceType": "ServiceRequest",
                    "status": ACTION_TO_REQUEST_STATUS.get(status, "unknown"),
                    "intent": "plan",
                    "category": [_concept("Patient referral", SNOMED, "3457005", "Patient referral")
                                 if r.kind == "refer" else _concept(kind_label)],
                    "code": _concept(r.description),
                    "subject": patient_ref,
                    "basedOn": [plan_ref],
                    "occurrencePeriod": {"end": _date(r.due_date)},
                    "authoredOn": _instant(d.finalised_at),
                    "requester": author,
                    "performer": [owner_ref] if owner_ref else [],
                    "performerType": _concept(owner_label) if owner_label else None,
                    "reasonReference": [condition_ref],
                    "note": _notes(f"Guideline override: {r.guideline_override}" if r.guideline_override else ""),
                }))
                continue
            activities.append({"detail": {
                "kind": "MedicationRequest" if r.kind in MEDICINE_RECOMMENDATIONS else "Task",
                "code": _concept(kind_label),
                "description": r.description,
                "status": ACTION_TO_ACTIVITY_STATUS.get(status, "unknown"),
                "scheduledPeriod": {"end": _date(r.due_date)},
                "performer": [owner_ref] if owner_ref else [{"display": owner_label}],
                "productCodeableConcept": _concept(r.drug) if r.drug else None,
            }})
        goal_refs = []
        for g in d.goals:
            goal_refs.append(_ref("goal", g.id))
            levels = {int(k): v for k, v in (g.levels or {}).items()}
            smart = (f"{g.target_activity}{', ' + g.support_needed if g.support_needed else ''}, "
                     f"{g.performance_quantifier}, by {g.due_date:%d %b %Y}")
            later.append(("goal", g.id, {
                "resourceType": "Goal",
                "lifecycleStatus": "active" if plan_active else "completed",
                "achievementStatus": (_goal_achievement(g.achieved_level, g.baseline_level,
                                                        levels.get(g.achieved_level, ""))
                                      if g.achieved_level is not None else None),
                "description": {"text": smart},
                "subject": patient_ref,
                "startDate": _date(g.set_date),
                "target": [{"dueDate": _date(g.due_date)}],
                "addresses": [condition_ref],
                "note": _notes("Goal Attainment Scaling levels: "
                               + "; ".join(f"{_gas(k)}: {levels[k]}" for k in sorted(levels)) if levels else "",
                               f"Baseline level {_gas(g.baseline_level)}; importance {g.importance}/3, "
                               f"difficulty {g.difficulty}/3"),
            }))
        b.add("careplan", d.id, {
            "resourceType": "CarePlan",
            "status": "active" if plan_active else "completed",
            "intent": "plan",
            "title": f"Pain hub MDT plan, {meeting.starts_at:%d %b %Y}",
            "description": _text(d.agreed_plan) or _text(d.answer),
            "subject": patient_ref,
            "period": {"start": _date(meeting.starts_at), "end": _date(d.follow_up_date)},
            "created": _instant(d.finalised_at),
            "author": author,
            "careTeam": [care_team_ref],
            "addresses": [condition_ref],
            "goal": goal_refs,
            "replaces": [_ref("careplan", decisions[i - 1].id)] if i else [],
            "activity": activities,
            "note": _notes(f"Formulation: {d.formulation}" if d.formulation else "",
                           f"Answer to the clinical question: {d.answer}" if d.answer else "",
                           f"Pathway step: {PATHWAY_STEP_LABELS.get(d.pathway_step, d.pathway_step)}"
                           if d.pathway_step else "",
                           f"Allergies: {d.allergies}" if d.allergies else "",
                           f"Safety netting: {d.safety_netting}" if d.safety_netting else "",
                           f"Follow-up review by {d.follow_up_date:%d %b %Y}" if d.follow_up_date else ""),
        })
        for entity, key, res in sorted(later, key=lambda x: x[0] != "goal"):
            b.add(entity, key, res)

    requester_of = {d.id: d.finalised_by for d in decisions}
    for a in actions:
        owner_ref, owner_label = _owner_refs(a.owner_role, a.owner_user_id, case)
        if a.owner_user_id:
            users.add(a.owner_user_id)
        kind = rec_kind.get(a.recommendation_id or -1)
        basis = (_ref("servicerequest", a.recommendation_id) if kind in SERVICE_REQUEST_KINDS
                 else _ref("careplan", a.decision_id))
        b.add("task", a.id, {
            "resourceType": "Task",
            "status": ACTION_TO_TASK_STATUS.get(a.status, "requested"),
            "intent": "order",
            "code": _concept(RECOMMENDATION_TYPES.get(kind, kind)) if kind else None,
            "description": a.description,
            "basedOn": [basis],
            "focus": basis,
            "for": patient_ref,
            "authoredOn": _instant(a.created_at),
            "lastModified": _instant(a.completed_at),
            "requester": _ref("practitioner", requester_of[a.decision_id]) if requester_of.get(a.decision_id) else None,
            "owner": owner_ref,
            "performerType": [_concept(owner_label)] if owner_label else [],
            "executionPeriod": {"end": _date(a.due_date)},
            "restriction": {"period": {"end": _date(a.due_date)}},
            "reasonReference": condition_ref,
            "note": _notes(a.note),
        })

    users |= _care_team(s, b, case, [meetings[d.id] for d in decisions], patient_ref, condition_ref)
    return users


def _care_team(s, b: _Builder, case: Case, meetings: Iterable[Meeting], patient_ref: dict,
               condition_ref: dict) -> set[int]:
    roles: dict[int, list[str]] = {}
    meeting_ids = sorted({m.id for m in meetings})
    starts = min(m.starts_at for m in meetings)
    for att in s.scalars(select(Attendance).where(Attendance.meeting_id.in_(meeting_ids))
                         .order_by(Attendance.meeting_id, Attendance.user_id)):
        label = DISCIPLINES.get(att.discipline, "General practice")
        if label not in roles.setdefault(att.user_id, []):
            roles[att.user_id].append(label)
    referrer_role = f"Referring GP / PCP ({case.practice.name})"
    roles.setdefault(case.referrer_id, [])
    if referrer_role not in roles[case.referrer_id]:
        roles[case.referrer_id].append(referrer_role)
    b.add("careteam", case.id, {
        "resourceType": "CareTeam",
        "status": "inactive" if case.status == "closed" else "active",
        "name": f"Pain hub MDT, case {case.id}",
        "subject": patient_ref,
        "period": {"start": _date(starts)},
        "reasonReference": [condition_ref],
        "participant": [{"role": [_concept(r) for r in roles[uid]], "member": _ref("practitioner", uid)}
                        for uid in sorted(roles)],
    })
    return set(roles)


def _document_reference(s, letter: Letter, case: Case) -> dict[str, Any]:
    d = s.get(Decision, letter.decision_id)
    final = d is not None and d.status == "final"
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": LETTER_DOC_STATUS.get(letter.status, "final"),
        "type": {"text": "Pain hub outcome letter"},
        "subject": _ref("patient", case.patient_id),
        "date": _instant(letter.sent_at or letter.created_at),
        "author": [_ref("practitioner", d.finalised_by)] if final and d.finalised_by else [],
        "description": "Outcome letter of the pain hub MDT"
                       + (" (acknowledged by the practice)" if letter.status == "acknowledged" else ""),
        "content": [{"attachment": {
            "contentType": "text/markdown",
            "language": "en-GB",
            "data": base64.b64encode(letter.body_markdown.encode("utf-8")).decode("ascii"),
            "title": "Pain hub outcome letter",
            "creation": _instant(letter.sent_at or letter.created_at),
        }}],
        "context": {"related": [_ref("careplan", d.id)]} if final else None,
    }


def export_case_json(session_factory, actor: Actor, case_id: int) -> str:
    """export_case as pretty-printed JSON text (UTF-8 safe, stable key order)."""
    return json.dumps(export_case(session_factory, actor, case_id), indent=2, ensure_ascii=False) + "\n"
