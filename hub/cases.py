"""Case submission by PCPs, the shared case queue, the case header and its discussion thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from db.models import Case, CaseFlag, Comment, Patient, Practice, User, utcnow
from hub import audit, flags, workflow
from hub.access import Actor, can_comment, can_edit_case, can_see_case, case_scope, require_role
from hub.clinical.identifiers import format_nhs_number, normalise_nhs_number, validate_nhs_number
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from hub.records import TreatmentInput, insert_treatment, validate_treatment
from hub.vocab import CASE_STATUSES, CONDITIONS, PAIN_CLASSIFICATIONS, RED_FLAGS, RISK_BANDS, RISK_TOOLS, SEXES

URGENT_PATHWAY_MESSAGE = (
    "A red flag is present, so this case cannot go to the pain hub. Refer the patient on the relevant urgent "
    "pathway today (e.g. suspected cauda equina: same-day emergency assessment; suspected cancer: urgent "
    "suspected-cancer pathway; suspected infection or inflammatory disease: same-day specialist advice). "
    "Nothing was sent to the hub. Save the case as a draft if you want to keep it, and submit it once the red "
    "flag has been excluded."
)

QUESTION_MAX = 2000
TEXT_MAX = 4000


@dataclass
class NewPatient:
    """A patient added from the submission form."""

    nhs_number: str = ""
    given_name: str = ""
    family_name: str = ""
    birth_year: int | None = None
    sex: str = ""


@dataclass
class CaseInput:
    """Everything the PCP submission form carries (plain values, kept on screen on error)."""

    patient_id: int | None = None
    new_patient: NewPatient | None = None
    condition: str = ""
    pain_classification: str = ""
    duration_months: int | None = None
    clinical_question: str = ""
    red_flags: dict[str, bool] = field(default_factory=dict)
    baseline_pain: float | None = None
    risk_tool: str | None = None
    risk_band: str | None = None
    goals_text: str = ""
    concerns_text: str = ""
    treatments: list[TreatmentInput] = field(default_factory=list)


@dataclass(frozen=True)
class SavedCase:
    """Result of saving a case."""

    case_id: int
    version: int
    status: str


def _validate_patient(np: NewPatient, s) -> dict[str, str]:
    errors: dict[str, str] = {}
    ok, reason = validate_nhs_number(np.nhs_number or "")
    if not ok:
        errors["nhs_number"] = reason
    elif s.scalar(select(Patient.id).where(Patient.nhs_number == normalise_nhs_number(np.nhs_number))):
        errors["nhs_number"] = "A patient with this NHS number is already registered: choose them from the list."
    if not (np.given_name or "").strip():
        errors["given_name"] = "Enter the patient's given name."
    if not (np.family_name or "").strip():
        errors["family_name"] = "Enter the patient's family name."
    this_year = date.today().year
    if np.birth_year is None or not (this_year - 120 <= int(np.birth_year) <= this_year - 16):
        errors["birth_year"] = f"Enter a birth year between {this_year - 120} and {this_year - 16} (the hub sees adults)."
    if np.sex not in SEXES:
        errors["sex"] = "Choose the patient's sex."
    return errors


def validate_case(inp: CaseInput, submit: bool) -> dict[str, str]:
    """Field errors of a case form (database-independent part); empty when valid."""
    errors: dict[str, str] = {}
    if inp.patient_id is None and inp.new_patient is None:
        errors["patient"] = "Choose a patient or add a new one."
    if inp.condition not in CONDITIONS:
        errors["condition"] = "Choose the condition."
    if inp.pain_classification not in PAIN_CLASSIFICATIONS:
        errors["pain_classification"] = "Choose chronic primary or chronic secondary pain."
    if inp.duration_months is not None and not (0 <= inp.duration_months <= 1200):
        errors["duration_months"] = "Duration must be between 0 and 1200 months."
    question = (inp.clinical_question or "").strip()
    if submit and not question:
        errors["clinical_question"] = "Write the clinical question you want the hub to answer."
    if len(question) > QUESTION_MAX:
        errors["clinical_question"] = f"Keep the clinical question under {QUESTION_MAX} characters."
    unknown_flags = [k for k in inp.red_flags if k not in RED_FLAGS]
    if unknown_flags:
        errors["red_flags"] = f"Unknown red flag(s): {', '.join(unknown_flags)}."
    elif submit and any(inp.red_flags.values()):
        errors["red_flags"] = URGENT_PATHWAY_MESSAGE
    elif submit and set(inp.red_flags) != set(RED_FLAGS):
        errors["red_flags"] = "Answer the red-flag screen before submitting: tick any red flag that applies, or 'None of these'."
    if inp.baseline_pain is not None and not (0 <= inp.baseline_pain <= 10):
        errors["baseline_pain"] = "Baseline pain score must be between 0 and 10."
    if inp.risk_tool is not None and inp.risk_tool not in RISK_TOOLS:
        errors["risk_tool"] = "Unknown risk tool."
    if inp.risk_band is not None and inp.risk_band not in RISK_BANDS:
        errors["risk_band"] = "Unknown risk band."
    if inp.risk_band is not None and inp.risk_tool is None:
        errors["risk_tool"] = "Say which tool gave the risk band."
    for name in ("goals_text", "concerns_text"):
        if len(getattr(inp, name) or "") > TEXT_MAX:
            errors[name] = f"Keep this under {TEXT_MAX} characters."
    for i, t in enumerate(inp.treatments):
        for k, v in validate_treatment(t).items():
            errors[f"treatments[{i}].{k}"] = f"Treatment {i + 1}: {v}"
    return errors


def _case_values(case: Case) -> dict[str, Any]:
    return {k: getattr(case, k) for k in (
        "condition", "pain_classification", "duration_months", "clinical_question", "red_flags",
        "baseline_pain", "risk_tool", "risk_band", "goals_text", "concerns_text", "status")}


def save_case(session_factory, actor: Actor, inp: CaseInput, *, case_id: int | None = None,
              expected_version: int | None = None, submit: bool = False) -> SavedCase:
    """Create or edit a PCP's case (draft), optionally submitting it to the hub, in one transaction.

    Raises ValidationError (nothing written) with field messages, PermissionDenied outside the
    PCP's practice, and EditConflict when the case changed since the form was shown.
    """
    require_role(actor, "pcp")
    if actor.practice_id is None:
        raise PermissionDenied("Your account is not linked to a practice; ask an administrator.")
    errors = validate_case(inp, submit)
    with session_factory.begin() as s:
        case: Case | None = None
        if case_id is not None:
            case = s.get(Case, case_id)
            if case is None or not can_see_case(actor, case.practice_id, case.status):
                raise NotFound("No such case in your practice.")
            if not can_edit_case(actor, case.practice_id):
                raise PermissionDenied("Only a PCP of the referring practice can edit this case.")
            if case.status != "draft":
                raise ValidationError({"status": "Only a draft can be edited here; this case is already with the hub."})
            if expected_version is not None and case.version != expected_version:
                raise _conflict(s, case)
        patient: Patient | None = None
        if inp.patient_id is not None:
            patient = s.get(Patient, inp.patient_id)
            if patient is None or patient.practice_id != actor.practice_id:
                errors["patient"] = "Choose one of your practice's patients."
        elif inp.new_patient is not None:
            errors.update(_validate_patient(inp.new_patient, s))
        if errors:
            raise ValidationError(errors)
        if patient is None:
            np = inp.new_patient
            patient = Patient(practice_id=actor.practice_id, nhs_number=normalise_nhs_number(np.nhs_number),
                              given_name=np.given_name.strip(), family_name=np.family_name.strip(),
                              birth_year=int(np.birth_year), sex=np.sex)
            s.add(patient)
            s.flush()
            audit.record(s, actor, "patient.create", "patient", patient.id,
                         {"nhs_number": patient.nhs_number, "birth_year": patient.birth_year, "sex": patient.sex})
        values = {
            "condition": inp.condition,
            "pain_classification": inp.pain_classification,
            "duration_months": inp.duration_months,
            "clinical_question": (inp.clinical_question or "").strip(),
            "red_flags": {k: bool(v) for k, v in inp.red_flags.items()},
            "baseline_pain": inp.baseline_pain,
            "risk_tool": inp.risk_tool,
            "risk_band": inp.risk_band,
            "goals_text": (inp.goals_text or "").strip(),
            "concerns_text": (inp.concerns_text or "").strip(),
        }
        if case is None:
            case = Case(patient_id=patient.id, practice_id=patient.practice_id, referrer_id=actor.user_id,
                        status="draft", red_flag_count=sum(values["red_flags"].values()), **values)
            if inp.baseline_pain is not None:
                case.latest_pain, case.latest_pain_instrument = inp.baseline_pain, "nrs"
                case.latest_pain_on = date.today()
            s.add(case)
            s.flush()
            audit.record(s, actor, "case.create", "case", case.id, values)
        else:
            before = _case_values(case)
            for k, v in values.items():
                setattr(case, k, v)
            case.patient_id = patient.id
            case.red_flag_count = sum(values["red_flags"].values())
            changes = audit.diff(before, _case_values(case))
            if changes:
                audit.record(s, actor, "case.update", "case", case.id, changes)
        case.patient = patient
        for t in inp.treatments:
            t.already_taking = True  # history at referral: the guideline check advises, it does not block
            row = insert_treatment(s, actor, patient.id, t, case)
            audit.record(s, actor, "treatment.create", "treatment", row.id,
                         {"case_id": case.id, "name": row.name, "guideline_hits": [h["rule_id"] for h in row.guideline_hits]})
        if submit:
            audit.record(s, actor, "case.submit", "case", case.id, workflow.move(case, "submitted"))
        s.flush()
        flags.recompute_cases(s, [case.id])
        return SavedCase(case.id, case.version, case.status)


def _conflict(s, case: Case) -> EditConflict:
    from db.models import AuditEvent

    last = s.scalar(select(AuditEvent).where(AuditEvent.entity == "case", AuditEvent.entity_id == str(case.id))
                    .order_by(AuditEvent.id.desc()).limit(1))
    who = s.get(User, last.actor_id).name if last and last.actor_id else "someone"
    return EditConflict(
        f"{who} changed this case at {last.at:%d %b %Y %H:%M} after you opened it. Your input is still on the "
        "form: review their change below, then save again.",
        changed_by=who, changed_at=last.at if last else None, changes=last.changes if last else {})


def withdraw_case(session_factory, actor: Actor, case_id: int) -> None:
    """The referring practice takes a submitted case back to draft (before triage)."""
    with session_factory.begin() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case.")
        if not can_edit_case(actor, case.practice_id):
            raise PermissionDenied("Only a PCP of the referring practice can withdraw this case.")
        if case.status != "submitted":
            raise ValidationError({"status": "Only a case that has not yet been triaged can be withdrawn."})
        audit.record(s, actor, "case.withdraw", "case", case.id, workflow.move(case, "draft"))


def change_status(session_factory, actor: Actor, case_id: int, target: str) -> None:
    """A chair moves a case along the workflow (triage, schedule, close, re-list)."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case.")
        if target == "draft":
            raise ValidationError({"status": "Only the referring PCP can withdraw a case to draft."})
        audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, target))
        flags.recompute_cases(s, [case.id])  # waiting time and re-listing depend on the status


# ----------------------------------------------------------------------------- patients


def practice_patients(session_factory, actor: Actor, search: str = "", limit: int = 200) -> list[dict]:
    """Patients of the PCP's practice for the submission form's picker (name, NHS number, birth year)."""
    require_role(actor, "pcp")
    with session_factory() as s:
        q = select(Patient).where(Patient.practice_id == actor.practice_id)
        term = (search or "").strip()
        if term:
            digits = normalise_nhs_number(term)
            like = f"%{term.lower()}%"
            q = q.where((Patient.nhs_number == digits) | func.lower(Patient.family_name).like(like)
                        | func.lower(Patient.given_name).like(like))
        q = q.order_by(Patient.family_name, Patient.given_name).limit(limit)
        return [{"id": p.id, "label": f"{p.family_name.upper()}, {p.given_name} · born {p.birth_year} · "
                 f"NHS {format_nhs_number(p.nhs_number)}"} for p in s.scalars(q)]


# ----------------------------------------------------------------------------- queue


QUEUE_SORTS = {
    "priority": "Priority (safety, flags, risk, waiting)",
    "waiting": "Longest waiting first",
    "newest": "Most recently submitted first",
    "pain": "Highest latest pain first",
}


@dataclass(frozen=True)
class QueuePage:
    """One page of the case queue."""

    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """Number of pages for the current filters."""
        return max(1, -(-self.total // self.page_size))


QUEUE_COLUMNS = ["case_id", "priority", "patient", "age", "practice", "condition", "status", "days_waiting",
                 "latest_pain", "flags", "why"]


def _queue_scope(actor: Actor, statuses: list[str] | None) -> list:
    """The queue's scope and status filter as few, index-friendly conditions (one status IN list)."""
    from hub.access import HUB_VISIBLE_STATUSES

    if actor.is_hub_member and not actor.has("pcp"):
        visible = [st for st in HUB_VISIBLE_STATUSES if not statuses or st in statuses]
        return [Case.status.in_(visible)]
    where = [case_scope(actor, Case)]
    if statuses:
        where.append(Case.status.in_(statuses))
    return where


def queue(session_factory, actor: Actor, *, statuses: list[str] | None = None, conditions: list[str] | None = None,
          practice_ids: list[int] | None = None, flag_codes: list[str] | None = None, sort: str = "priority",
          page: int = 1, page_size: int = 25, today: date | None = None,
          known_total: int | None = None) -> QueuePage:
    """The case queue in the actor's scope: filtered, sorted and paged in SQL. `known_total` skips the
    COUNT when the caller counted the same filters moments ago (paging through one result set)."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    today = today or date.today()
    page = max(1, int(page))
    page_size = max(1, min(200, int(page_size)))
    where = _queue_scope(actor, statuses)
    if conditions:
        where.append(Case.condition.in_(conditions))
    if practice_ids:
        where.append(Case.practice_id.in_(practice_ids))
    if flag_codes:
        where.append(Case.id.in_(select(CaseFlag.case_id).where(CaseFlag.code.in_(flag_codes))))
    # Drafts (no submitted_at) can only appear for a PCP; without them every sort reads an index in order.
    drafts_possible = actor.has("pcp") and (not statuses or "draft" in statuses)
    submitted_asc = Case.submitted_at.asc().nulls_last() if drafts_possible else Case.submitted_at.asc()
    submitted_desc = Case.submitted_at.desc().nulls_last() if drafts_possible else Case.submitted_at.desc()
    order = {
        "priority": [Case.priority.desc(), Case.submitted_at.asc(), Case.id.asc()],
        "waiting": [submitted_asc, Case.id.asc()],
        "newest": [submitted_desc, Case.id.desc()],
        "pain": [Case.latest_pain.desc().nulls_last(), Case.submitted_at.asc(), Case.id.asc()],
    }.get(sort)
    if order is None:
        raise ValidationError({"sort": f"Unknown sort '{sort}'."})
    with session_factory() as s:
        total = known_total if known_total is not None else s.scalar(
            select(func.count()).select_from(Case).where(*where))
        # The page's ids come from the case table alone (an index walk that stops after the page);
        # only those rows are then joined to patient and practice.
        page_ids = (select(Case.id).where(*where).order_by(*order).limit(page_size)
                    .offset((page - 1) * page_size).scalar_subquery())
        q = (
            select(Case.id, Patient.given_name, Patient.family_name, Patient.birth_year, Practice.name,
                   Case.condition, Case.status, Case.submitted_at, Case.latest_pain, Case.latest_pain_instrument,
                   Case.flags, Case.priority, Case.priority_reasons)
            .join(Patient, Patient.id == Case.patient_id)
            .join(Practice, Practice.id == Case.practice_id)
            .where(Case.id.in_(page_ids))
            .order_by(*order)
        )
        records = []
        for r in s.execute(q):
            records.append({
                "case_id": r.id,
                "priority": round(float(r.priority or 0)),
                "patient": f"{r.given_name[:1]}{r.family_name[:1]}".upper(),
                "age": today.year - r.birth_year,
                "practice": r.name,
                "condition": CONDITIONS.get(r.condition, r.condition),
                "status": CASE_STATUSES.get(r.status, r.status),
                "days_waiting": (today - r.submitted_at.date()).days if r.submitted_at else None,
                "latest_pain": None if r.latest_pain is None else round(float(r.latest_pain), 1),
                "flags": ", ".join(f.get("label", f.get("code", "")) for f in (r.flags or [])
                                   if f.get("severity") != "info"),
                "why": "; ".join(r.priority_reasons or []),
            })
    return QueuePage(pd.DataFrame.from_records(records, columns=QUEUE_COLUMNS), int(total or 0), page, page_size)


def open_safety_alerts(session_factory, actor: Actor, limit: int = 20) -> list[dict]:
    """Cases in the actor's scope with an open PHQ-9 item 9 safety alert (shown above the queue), oldest case
    first, at most `limit`; `count_open_safety_alerts` gives how many there are in all."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    with session_factory() as s:
        q = (select(Case.id, Patient.given_name, Patient.family_name, Practice.name, Case.flags)
             .join(Patient, Patient.id == Case.patient_id).join(Practice, Practice.id == Case.practice_id)
             .where(*_open_safety_alert(actor)).order_by(Case.id).limit(limit))
        return [{"case_id": r.id, "patient": f"{r.given_name[:1]}{r.family_name[:1]}".upper(), "practice": r.name,
                 "reason": next((f["reason"] for f in (r.flags or []) if f.get("code") == "safety_phq9"), "")}
                for r in s.execute(q)]


def count_open_safety_alerts(session_factory, actor: Actor) -> int:
    """How many cases in the actor's scope have an open PHQ-9 item 9 safety alert."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(Case).where(*_open_safety_alert(actor))) or 0)


def _open_safety_alert(actor: Actor) -> tuple:
    return case_scope(actor, Case), Case.safety_alert.is_(True), Case.status != "closed"


# ----------------------------------------------------------------------------- case header


@dataclass(frozen=True)
class CaseHeader:
    """What the case page shows at the top."""

    case_id: int
    patient_id: int
    patient_name: str
    nhs_number: str
    age: int
    sex: str
    practice: str
    referrer: str
    condition: str
    pain_classification: str
    duration_months: int | None
    clinical_question: str
    status: str
    status_label: str
    submitted_at: datetime | None
    baseline_pain: float | None
    risk_tool: str | None
    risk_band: str | None
    goals_text: str
    concerns_text: str
    red_flags: dict[str, bool]
    flags: list[dict]
    priority: float
    priority_reasons: list[str]
    ome_total: float | None
    response: dict | None
    version: int
    can_edit: bool
    can_comment: bool


def _load_visible_case(s, actor: Actor, case_id: int) -> Case:
    if not actor.is_clinical:
        raise PermissionDenied("Patient data is visible only to clinical roles.")
    case = s.get(Case, case_id)
    if case is None or not can_see_case(actor, case.practice_id, case.status):
        raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
    return case


def case_header(session_factory, actor: Actor, case_id: int, today: date | None = None) -> CaseHeader:
    """The case's header fields, if the actor may see it."""
    today = today or date.today()
    with session_factory() as s:
        c = _load_visible_case(s, actor, case_id)
        p = c.patient
        return CaseHeader(
            case_id=c.id, patient_id=p.id, patient_name=f"{p.given_name} {p.family_name}",
            nhs_number=format_nhs_number(p.nhs_number), age=today.year - p.birth_year, sex=SEXES.get(p.sex, p.sex),
            practice=c.practice.name, referrer=c.referrer.name, condition=CONDITIONS.get(c.condition, c.condition),
            pain_classification=PAIN_CLASSIFICATIONS.get(c.pain_classification, c.pain_classification),
            duration_months=c.duration_months, clinical_question=c.clinical_question, status=c.status,
            status_label=CASE_STATUSES[c.status], submitted_at=c.submitted_at, baseline_pain=c.baseline_pain,
            risk_tool=c.risk_tool, risk_band=c.risk_band, goals_text=c.goals_text, concerns_text=c.concerns_text,
            red_flags=dict(c.red_flags or {}), flags=list(c.flags or []), priority=float(c.priority or 0),
            priority_reasons=list(c.priority_reasons or []), ome_total=c.ome_total, response=c.response,
            version=c.version,
            can_edit=can_edit_case(actor, c.practice_id), can_comment=can_comment(actor, c.practice_id, c.status),
        )


def case_form_input(session_factory, actor: Actor, case_id: int) -> tuple[CaseInput, int]:
    """A draft case as form input (for editing) and the version it was read at."""
    with session_factory() as s:
        c = _load_visible_case(s, actor, case_id)
        if not can_edit_case(actor, c.practice_id):
            raise PermissionDenied("Only a PCP of the referring practice can edit this case.")
        return CaseInput(
            patient_id=c.patient_id, condition=c.condition, pain_classification=c.pain_classification,
            duration_months=c.duration_months, clinical_question=c.clinical_question,
            red_flags=dict(c.red_flags or {}), baseline_pain=c.baseline_pain, risk_tool=c.risk_tool,
            risk_band=c.risk_band, goals_text=c.goals_text, concerns_text=c.concerns_text,
        ), c.version


def my_drafts(session_factory, actor: Actor) -> list[dict]:
    """The PCP practice's draft cases, newest first."""
    require_role(actor, "pcp")
    with session_factory() as s:
        q = (select(Case.id, Patient.given_name, Patient.family_name, Case.condition, Case.updated_at)
             .join(Patient, Patient.id == Case.patient_id)
             .where(Case.practice_id == actor.practice_id, Case.status == "draft")
             .order_by(Case.updated_at.desc()).limit(100))
        return [{"id": r.id, "label": f"Case {r.id}: {r.given_name} {r.family_name} · "
                 f"{CONDITIONS.get(r.condition, r.condition)} · edited {r.updated_at:%d %b %Y}"} for r in s.execute(q)]


# ----------------------------------------------------------------------------- comments


def comments(session_factory, actor: Actor, case_id: int) -> list[dict]:
    """The case's discussion thread, oldest first."""
    with session_factory() as s:
        _load_visible_case(s, actor, case_id)
        q = select(Comment).where(Comment.case_id == case_id).order_by(Comment.created_at, Comment.id)
        return [{"id": c.id, "author": c.author.name, "at": c.created_at, "body": c.body} for c in s.scalars(q)]


def add_comment(session_factory, actor: Actor, case_id: int, body: str) -> int:
    """Post a comment to a case's thread."""
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": "Write a comment before posting."})
    if len(text) > TEXT_MAX:
        raise ValidationError({"body": f"Keep a comment under {TEXT_MAX} characters."})
    with session_factory.begin() as s:
        case = _load_visible_case(s, actor, case_id)
        if not can_comment(actor, case.practice_id, case.status):
            raise PermissionDenied("You cannot comment on this case.")
        c = Comment(case_id=case_id, author_id=actor.user_id, body=text, created_at=utcnow())
        s.add(c)
        s.flush()
        audit.record(s, actor, "comment.create", "comment", c.id, {"case_id": case_id})
        return c.id
