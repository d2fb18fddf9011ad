"""Case submission by PCPs, the shared case queue, the case header and its discussion thread.

The queue (hub.case_queue) is re-exported here, where callers import it."""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from db.models import (
    Case,
    Comment,
    Patient,
    User,
    utcnow,
)
from hub import audit, flags, workflow
from hub.flags import FlagView
from hub.access import Actor, can_comment, can_edit_case, can_see_case, require_role
from hub.clinical.identifiers import format_nhs_number, normalise_nhs_number, validate_nhs_number
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError, edit_conflict_on_race
from hub.text import KINDS, check_text, clean_text, parse_id
from hub.records import TreatmentInput, insert_treatment, validate_treatment
from hub.vocab import CASE_STATUSES, CONDITIONS, PAIN_CLASSIFICATIONS, RED_FLAGS, RISK_BANDS, RISK_TOOLS, SEXES

# The shared case queue lives in hub.case_queue; its names are re-exported for the callers of hub.cases.
from hub.case_queue import COUNT_EXACT_UP_TO as COUNT_EXACT_UP_TO
from hub.case_queue import QUEUE_COLUMNS as QUEUE_COLUMNS
from hub.case_queue import QUEUE_SORTS as QUEUE_SORTS
from hub.case_queue import QueuePage as QueuePage
from hub.case_queue import count_open_safety_alerts as count_open_safety_alerts
from hub.case_queue import open_safety_alerts as open_safety_alerts
from hub.case_queue import queue as queue
from db.engine import SessionFactory


# Where a red flag sends the patient (shown beside the red-flag screen as soon as one is ticked) ...
URGENT_PATHWAY_ROUTE = (
    "A red flag is present, so this case cannot go to the pain hub. Refer the patient on the relevant urgent "
    "pathway today (e.g. suspected cauda equina: same-day emergency assessment; suspected cancer: urgent "
    "suspected-cancer pathway; suspected infection or inflammatory disease: same-day specialist advice)."
)
# ... and the refusal of a submission with a red flag.
URGENT_PATHWAY_MESSAGE = (
    URGENT_PATHWAY_ROUTE + " Nothing was sent to the hub. Save the case as a draft if you want to keep it, and "
    "submit it once the red flag has been excluded."
)

QUESTION_MAX = KINDS["long"].max_length
TEXT_MAX = KINDS["long"].max_length


@dataclass
class NewPatient:
    """A patient added from the submission form."""

    nhs_number: str = ""
    given_name: str = ""
    family_name: str = ""
    birth_year: int | None = None
    sex: str = ""
    date_of_birth: date | None = None  # when given, the birth year is taken from it
    address: str = ""
    postcode: str = ""


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


_POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def normalise_postcode(text: str) -> str | None:
    """A UK postcode in upper case with one space ('ls14ap' -> 'LS1 4AP'), or None when it is not well formed."""
    m = _POSTCODE_RE.match(" ".join((text or "").upper().split()))
    return f"{m.group(1)} {m.group(2)}" if m else None


def patient_age(dob: date, today: date) -> int:
    """Age in whole years on a day."""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _validate_patient(np: NewPatient, s) -> dict[str, str]:
    errors: dict[str, str] = {}
    ok, reason = validate_nhs_number(np.nhs_number or "")
    if not ok:
        errors["nhs_number"] = reason
    elif s.scalar(select(Patient.id).where(Patient.nhs_number == normalise_nhs_number(np.nhs_number))):
        errors["nhs_number"] = "A patient with this NHS number is already registered: choose them from the list."
    check_text(errors, "given_name", np.given_name, "name", label="patient's given name", required=True)
    check_text(errors, "family_name", np.family_name, "name", label="patient's family name", required=True)
    this_year = date.today().year
    dob = np.date_of_birth
    if dob is not None:
        age = patient_age(dob, date.today())
        if dob > date.today():
            errors["date_of_birth"] = "The date of birth cannot be in the future."
        elif not 16 <= age <= 120:
            errors["date_of_birth"] = "Enter a date of birth for an adult aged 16 to 120 (the hub sees adults)."
        elif np.birth_year is not None and int(np.birth_year) != dob.year:
            errors["birth_year"] = (f"The birth year ({np.birth_year}) does not match the date of birth "
                                    f"({dob:%d/%m/%Y}): correct one of them or leave the birth year empty.")
    elif np.birth_year is None or not (this_year - 120 <= int(np.birth_year) <= this_year - 16):
        errors["birth_year"] = (f"Enter the date of birth (or at least a birth year between {this_year - 120} and "
                                f"{this_year - 16}; the hub sees adults).")
    if len((np.address or "").strip()) > 300:
        errors["address"] = "Keep the address under 300 characters."
    if (np.postcode or "").strip() and normalise_postcode(np.postcode) is None:
        errors["postcode"] = "Enter a UK postcode such as LS1 4AP (or leave it empty)."
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
    question = check_text(errors, "clinical_question", inp.clinical_question, "long", label="clinical question")
    if submit and not question.strip() and "clinical_question" not in errors:
        errors["clinical_question"] = "Write the clinical question you want the hub to answer."
    unknown_flags = [k for k in inp.red_flags if k not in RED_FLAGS]
    if unknown_flags:
        errors["red_flags"] = f"Unknown red flag(s): {', '.join(unknown_flags)}."
    elif submit and any(inp.red_flags.values()):
        errors["red_flags"] = URGENT_PATHWAY_MESSAGE
    elif submit and set(inp.red_flags) != set(RED_FLAGS):
        errors["red_flags"] = ("Answer the red-flag screen before submitting: tick any red flag that applies, or "
                               "'None of these'.")
    if inp.baseline_pain is not None and not (0 <= inp.baseline_pain <= 10):
        errors["baseline_pain"] = "Baseline pain score must be between 0 and 10."
    if inp.risk_tool is not None and inp.risk_tool not in RISK_TOOLS:
        errors["risk_tool"] = "Unknown risk tool."
    if inp.risk_band is not None and inp.risk_band not in RISK_BANDS:
        errors["risk_band"] = "Unknown risk band."
    if inp.risk_band is not None and inp.risk_tool is None:
        errors["risk_tool"] = "Say which tool gave the risk band."
    check_text(errors, "goals_text", inp.goals_text, "long", label="goals")
    check_text(errors, "concerns_text", inp.concerns_text, "long", label="concerns")
    for i, t in enumerate(inp.treatments):
        for k, v in validate_treatment(t).items():
            errors[f"treatments[{i}].{k}"] = f"Treatment {i + 1}: {v}"
    return errors


def _case_values(case: Case) -> dict[str, Any]:
    return {k: getattr(case, k) for k in (
        "condition", "pain_classification", "duration_months", "clinical_question", "red_flags",
        "baseline_pain", "risk_tool", "risk_band", "goals_text", "concerns_text", "status")}


@edit_conflict_on_race("Someone saved this case at the same moment as you. Nothing of yours was written and your "
                       "input is still on the form: reload, compare, then save again.")


def save_case(session_factory: SessionFactory, actor: Actor, inp: CaseInput, *, case_id: int | None = None,
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
            if np is None or (np.date_of_birth is None and np.birth_year is None):  # validate_case refuses these
                raise ValidationError({"patient": "Choose one of your practice's patients or enter a new one."})
            patient = Patient(practice_id=actor.practice_id, nhs_number=normalise_nhs_number(np.nhs_number),
                              given_name=np.given_name.strip(), family_name=np.family_name.strip(),
                              birth_year=np.date_of_birth.year if np.date_of_birth else int(np.birth_year or 0),
                              date_of_birth=np.date_of_birth, address=" ".join((np.address or "").split()),
                              postcode=normalise_postcode(np.postcode or "") or "", sex=np.sex)
            s.add(patient)
            s.flush()
            audit.record(s, actor, "patient.create", "patient", patient.id,
                         {"nhs_number": patient.nhs_number, "birth_year": patient.birth_year, "sex": patient.sex,
                          "date_of_birth": patient.date_of_birth, "address": patient.address,
                          "postcode": patient.postcode})
        red_flags = {k: bool(v) for k, v in inp.red_flags.items()}
        values: dict[str, Any] = {
            "condition": inp.condition,
            "pain_classification": inp.pain_classification,
            "duration_months": inp.duration_months,
            "clinical_question": (inp.clinical_question or "").strip(),
            "red_flags": red_flags,
            "baseline_pain": inp.baseline_pain,
            "risk_tool": inp.risk_tool,
            "risk_band": inp.risk_band,
            "goals_text": (inp.goals_text or "").strip(),
            "concerns_text": (inp.concerns_text or "").strip(),
        }
        if case is None:
            case = Case(patient_id=patient.id, practice_id=patient.practice_id, referrer_id=actor.user_id,
                        status="draft", red_flag_count=sum(red_flags.values()), **values)
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
            case.red_flag_count = sum(red_flags.values())
            changes = audit.diff(before, _case_values(case))
            if changes:
                audit.record(s, actor, "case.update", "case", case.id, changes)
        case.patient = patient
        for t in inp.treatments:
            t.already_taking = True  # history at referral: the guideline check advises, it does not block
            row = insert_treatment(s, actor, patient.id, t, case)
            audit.record(s, actor, "treatment.create", "treatment", row.id,
                         {"case_id": case.id, "name": row.name,
                          "guideline_hits": [h["rule_id"] for h in row.guideline_hits]})
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


def withdraw_case(session_factory: SessionFactory, actor: Actor, case_id: int) -> None:
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


def change_status(session_factory: SessionFactory, actor: Actor, case_id: int, target: str) -> None:
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


def practice_patients(session_factory: SessionFactory, actor: Actor, search: str = "", limit: int = 200) -> list[dict]:
    """Patients of the PCP's practice for the submission form's picker (name, NHS number, birth year)."""
    require_role(actor, "pcp")
    with session_factory() as s:
        q = select(Patient).where(Patient.practice_id == actor.practice_id)
        term = clean_text(search, "search", field="search")
        if term:
            digits = normalise_nhs_number(term)
            like = f"%{term.lower()}%"
            q = q.where((Patient.nhs_number == digits) | func.lower(Patient.family_name).like(like)
                        | func.lower(Patient.given_name).like(like))
        q = q.order_by(Patient.family_name, Patient.given_name).limit(limit)
        return [{"id": p.id, "label": f"{p.family_name.upper()}, {p.given_name} · born {p.birth_year} · "
                 f"NHS {format_nhs_number(p.nhs_number)}"} for p in s.scalars(q)]


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
    flags: tuple[FlagView, ...]  # worst first, as evaluated (hub.flags.FlagView: code, severity, reason, label)
    priority: float
    priority_reasons: list[str]
    ome_total: float | None
    response: dict | None
    version: int
    can_edit: bool
    can_comment: bool
    # The OME as shown, with the caution: "at least 24 mg/day (excludes: methadone — specialist advice)";
    # "" when the patient takes no opioid.
    ome_text: str = ""

    @property
    def open_flags(self) -> tuple[FlagView, ...]:
        """The flags the hub must respond to (red and amber), in order."""
        return tuple(f for f in self.flags if f.is_open)


def _load_visible_case(s, actor: Actor, case_id: int) -> Case:
    if not actor.is_clinical:
        raise PermissionDenied("Patient data is visible only to clinical roles.")
    case = s.get(Case, case_id) if parse_id(case_id) else None
    if case is None or not can_see_case(actor, case.practice_id, case.status):
        raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
    return case


def case_header(session_factory: SessionFactory, actor: Actor, case_id: int, today: date | None = None) -> CaseHeader:
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
            red_flags=dict(c.red_flags or {}), flags=flags.for_case(s, c.id), priority=float(c.priority or 0),
            priority_reasons=list(c.priority_reasons or []), ome_total=c.ome_total, response=c.response,
            version=c.version,
            can_edit=can_edit_case(actor, c.practice_id), can_comment=can_comment(actor, c.practice_id, c.status),
            ome_text=_ome_text(s, p.id),
        )


def _ome_text(s, patient_id: int) -> str:
    from db.models import Treatment
    from hub.clinical.opioids import OME_CAUTION
    from hub.correspondence import current_ome

    ome = current_ome(s.scalars(select(Treatment).where(Treatment.patient_id == patient_id,
                                                         Treatment.category == "medicine",
                                                         Treatment.status == "active")))
    return f"{ome.text} ({OME_CAUTION})" if ome.on_opioids else ""


def case_form_input(session_factory: SessionFactory, actor: Actor, case_id: int) -> tuple[CaseInput, int]:
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


def my_drafts(session_factory: SessionFactory, actor: Actor) -> list[dict]:
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


def comments(session_factory: SessionFactory, actor: Actor, case_id: int) -> list[dict]:
    """The case's discussion thread, oldest first."""
    with session_factory() as s:
        _load_visible_case(s, actor, case_id)
        q = select(Comment).where(Comment.case_id == case_id).order_by(Comment.created_at, Comment.id)
        return [{"id": c.id, "author": c.author.name, "at": c.created_at, "body": c.body} for c in s.scalars(q)]


def add_comment(session_factory: SessionFactory, actor: Actor, case_id: int, body: str) -> int:
    """Post a comment to a case's thread."""
    text = clean_text(body, "note", field="body", label="comment")
    if not text:
        raise ValidationError({"body": "Write a comment before posting."})
    with session_factory.begin() as s:
        case = _load_visible_case(s, actor, case_id)
        if not can_comment(actor, case.practice_id, case.status):
            raise PermissionDenied("You cannot comment on this case.")
        c = Comment(case_id=case_id, author_id=actor.user_id, body=text, created_at=utcnow())
        s.add(c)
        s.flush()
        audit.record(s, actor, "comment.create", "comment", c.id, {"case_id": case_id})
        return c.id
