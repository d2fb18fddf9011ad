"""FHIR R4 export of one case: a `collection` Bundle of the patient, the condition, the hub's plan
(CarePlan, Goals, ServiceRequests, Tasks, CareTeam, Practitioners), the record (MedicationStatements,
Observations) and the outcome letters (DocumentReferences).

Every resource gets a stable `urn:uuid:` fullUrl (uuid5 over NAMESPACE and "<entity>/<database id>"),
and the Bundle carries no export timestamp, so exporting unchanged data twice gives identical output.

The code systems, ids and the single-record resource mappers are in hub.fhir_resources; this module
loads the case (with the permission check) and assembles the plan, care team, letters and the Bundle.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import timedelta
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
from hub.errors import NotFound
from hub.fhir_resources import (
    ACTION_TO_ACTIVITY_STATUS,
    ACTION_TO_REQUEST_STATUS,
    ACTION_TO_TASK_STATUS,
    EXPORT_TAG_SYSTEM,
    LETTER_DOC_STATUS,
    SERVICE_REQUEST_KINDS,
    SNOMED,
    WEARABLE_DAYS_CAP,
    assessment_observation,
    condition_resource,
    fhir_concept,
    fhir_date,
    fhir_instant,
    fhir_notes,
    full_url,
    gas_label,
    goal_achievement,
    medication_statement,
    patient_resource,
    plain_text,
    prune,
    questionnaire_response,
    ref_to,
    resource_id,
    wearable_observation,
)
from hub.vocab import (
    DISCIPLINES,
    MEDICINE_RECOMMENDATIONS,
    OWNER_ROLES,
    PATHWAY_STEP_LABELS,
    RECOMMENDATION_TYPES,
)
from db.engine import SessionFactory


class _Builder:
    """Collects the bundle's entries in order, each with its fullUrl."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, entity: str, key: Any, resource: dict[str, Any]) -> None:
        resource = {"resourceType": resource.pop("resourceType"), "id": resource_id(entity, key), **resource}
        self.entries.append({"fullUrl": full_url(entity, key), "resource": prune(resource)})


# ----------------------------------------------------------------------------- export


def _owner_refs(role: str | None, user_id: int | None, case: Case) -> tuple[dict | None, str]:
    """(reference, role label) of a recommendation or action owner: a user is a Practitioner, the patient is
    the Patient, the hub is the CareTeam; a discipline has no resource and stays a role label."""
    label = OWNER_ROLES.get(role or "", role or "")
    if user_id is not None:
        return ref_to("practitioner", user_id), label
    if role == "pcp":
        return ref_to("practitioner", case.referrer_id), label
    if role == "patient":
        return ref_to("patient", case.patient_id), label
    if role == "hub":
        return ref_to("careteam", case.id), label
    return None, label


def export_case(session_factory: SessionFactory, actor: Actor, case_id: int) -> dict[str, Any]:
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
        b.add("patient", pid, patient_resource(case))
        b.add("condition", case.id, condition_resource(case))
        condition_ref = ref_to("condition", case.id)
        patient_ref = ref_to("patient", pid)

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
            b.add("medicationstatement", t.id, medication_statement(t))
        for a in s.scalars(select(Assessment).where(Assessment.patient_id == pid, Assessment.status == "completed",
                                                    Assessment.total.is_not(None))
                           .order_by(Assessment.administered_on, Assessment.id)):
            b.add("observation-assessment", a.id, assessment_observation(a))
        latest = s.scalar(select(func.max(WearableDay.day)).where(WearableDay.patient_id == pid))
        capped = False
        if latest is not None:
            since = latest - timedelta(days=WEARABLE_DAYS_CAP - 1)
            capped = bool(s.scalar(select(func.count()).select_from(WearableDay)
                                   .where(WearableDay.patient_id == pid, WearableDay.day < since)))
            for w in s.scalars(select(WearableDay).where(WearableDay.patient_id == pid, WearableDay.day >= since)
                               .order_by(WearableDay.day, WearableDay.source, WearableDay.id)):
                obs = wearable_observation(w)
                if obs is not None:
                    b.add("observation-wearable", w.id, obs)

        from hub.invitations import completed_for_export

        for inv in completed_for_export(s, case.id):
            b.add("questionnaireresponse", inv.id, questionnaire_response(inv, patient_ref))

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
    care_team_ref = ref_to("careteam", case.id)
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
        plan_ref = ref_to("careplan", d.id)
        if d.finalised_by:
            users.add(d.finalised_by)
        author = ref_to("practitioner", d.finalised_by) if d.finalised_by else None
        activities: list[dict[str, Any]] = []
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
                activities.append({"reference": ref_to("servicerequest", r.id, r.description)})
                later.append(("servicerequest", r.id, {
                    "resourceType": "ServiceRequest",
                    "status": ACTION_TO_REQUEST_STATUS.get(status, "unknown"),
                    "intent": "plan",
                    "category": [fhir_concept("Patient referral", SNOMED, "3457005", "Patient referral")
                                 if r.kind == "refer" else fhir_concept(kind_label)],
                    "code": fhir_concept(r.description),
                    "subject": patient_ref,
                    "basedOn": [plan_ref],
                    "occurrencePeriod": {"end": fhir_date(r.due_date)},
                    "authoredOn": fhir_instant(d.finalised_at),
                    "requester": author,
                    "performer": [owner_ref] if owner_ref else [],
                    "performerType": fhir_concept(owner_label) if owner_label else None,
                    "reasonReference": [condition_ref],
                    "note": fhir_notes(f"Guideline override: {r.guideline_override}" if r.guideline_override else ""),
                }))
                continue
            activities.append({"detail": {
                "kind": "MedicationRequest" if r.kind in MEDICINE_RECOMMENDATIONS else "Task",
                "code": fhir_concept(kind_label),
                "description": r.description,
                "status": ACTION_TO_ACTIVITY_STATUS.get(status, "unknown"),
                "scheduledPeriod": {"end": fhir_date(r.due_date)},
                "performer": [owner_ref] if owner_ref else [{"display": owner_label}],
                "productCodeableConcept": fhir_concept(r.drug) if r.drug else None,
            }})
        goal_refs = []
        for g in d.goals:
            goal_refs.append(ref_to("goal", g.id))
            levels = {int(k): v for k, v in (g.levels or {}).items()}
            smart = (f"{g.target_activity}{', ' + g.support_needed if g.support_needed else ''}, "
                     f"{g.performance_quantifier}, by {g.due_date:%d %b %Y}")
            later.append(("goal", g.id, {
                "resourceType": "Goal",
                "lifecycleStatus": "active" if plan_active else "completed",
                "achievementStatus": (goal_achievement(g.achieved_level, g.baseline_level,
                                                        levels.get(g.achieved_level, ""))
                                      if g.achieved_level is not None else None),
                "description": {"text": smart},
                "subject": patient_ref,
                "startDate": fhir_date(g.set_date),
                "target": [{"dueDate": fhir_date(g.due_date)}],
                "addresses": [condition_ref],
                "note": fhir_notes("Goal Attainment Scaling levels: "
                               + "; ".join(f"{gas_label(k)}: {levels[k]}" for k in sorted(levels)) if levels else "",
                               f"Baseline level {gas_label(g.baseline_level)}; importance {g.importance}/3, "
                               f"difficulty {g.difficulty}/3"),
            }))
        b.add("careplan", d.id, {
            "resourceType": "CarePlan",
            "status": "active" if plan_active else "completed",
            "intent": "plan",
            "title": f"Pain hub MDT plan, {meeting.starts_at:%d %b %Y}",
            "description": plain_text(d.agreed_plan) or plain_text(d.answer),
            "subject": patient_ref,
            "period": {"start": fhir_date(meeting.starts_at), "end": fhir_date(d.follow_up_date)},
            "created": fhir_instant(d.finalised_at),
            "author": author,
            "careTeam": [care_team_ref],
            "addresses": [condition_ref],
            "goal": goal_refs,
            "replaces": [ref_to("careplan", decisions[i - 1].id)] if i else [],
            "activity": activities,
            "note": fhir_notes(f"Formulation: {d.formulation}" if d.formulation else "",
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
        basis = (ref_to("servicerequest", a.recommendation_id) if kind in SERVICE_REQUEST_KINDS
                 else ref_to("careplan", a.decision_id))
        b.add("task", a.id, {
            "resourceType": "Task",
            "status": ACTION_TO_TASK_STATUS.get(a.status, "requested"),
            "intent": "order",
            "code": fhir_concept(RECOMMENDATION_TYPES.get(kind, kind)) if kind else None,
            "description": a.description,
            "basedOn": [basis],
            "focus": basis,
            "for": patient_ref,
            "authoredOn": fhir_instant(a.created_at),
            "lastModified": fhir_instant(a.completed_at),
            "requester": (ref_to("practitioner", requester_of[a.decision_id])
                          if requester_of.get(a.decision_id) else None),
            "owner": owner_ref,
            "performerType": [fhir_concept(owner_label)] if owner_label else [],
            "executionPeriod": {"end": fhir_date(a.due_date)},
            "restriction": {"period": {"end": fhir_date(a.due_date)}},
            "reasonReference": condition_ref,
            "note": fhir_notes(a.note),
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
        "period": {"start": fhir_date(starts)},
        "reasonReference": [condition_ref],
        "participant": [{"role": [fhir_concept(r) for r in roles[uid]], "member": ref_to("practitioner", uid)}
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
        "subject": ref_to("patient", case.patient_id),
        "date": fhir_instant(letter.sent_at or letter.created_at),
        "author": [ref_to("practitioner", d.finalised_by)] if final and d.finalised_by else [],
        "description": "Outcome letter of the pain hub MDT"
                       + (" (acknowledged by the practice)" if letter.status == "acknowledged" else ""),
        "content": [{"attachment": {
            "contentType": "text/markdown",
            "language": "en-GB",
            "data": base64.b64encode(letter.body_markdown.encode("utf-8")).decode("ascii"),
            "title": "Pain hub outcome letter",
            "creation": fhir_instant(letter.sent_at or letter.created_at),
        }}],
        "context": {"related": [ref_to("careplan", d.id)]} if final else None,
    }


def export_case_json(session_factory: SessionFactory, actor: Actor, case_id: int) -> str:
    """export_case as pretty-printed JSON text (UTF-8 safe, stable key order)."""
    return json.dumps(export_case(session_factory, actor, case_id), indent=2, ensure_ascii=False) + "\n"
