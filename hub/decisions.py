"""The meeting room's structured decision: the form, save with edit-conflict detection, and finalise in one
transaction (actions, case back to the PCP, outcome letter through hub.correspondence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select

from db.models import (
    Action,
    AgendaItem,
    AuditEvent,
    Case,
    Decision,
    Goal,
    Letter,
    Meeting,
    Recommendation,
    User,
    utcnow,
)
from hub import audit, correspondence, flags, workflow
from hub.access import Actor, require_role
from hub.clinical import goals as gas
from hub.clinical.pathway import RuleHit, check_medicine, check_treatment, treatment_label
from hub.clinical.signals import JUST_CODES
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from hub.vocab import (
    FLAG_RESPONSES,
    GUIDELINE_CHECK_AS_START,
    OWNER_ROLES,
    MEDICINE_RECOMMENDATIONS,
    PATHWAY_STEP_LABELS,
    RECOMMENDATION_TYPES,
)

TEXT_FIELDS = ("formulation", "pathway_step", "answer", "what_matters", "beliefs_concerns", "options_discussed",
               "option_preferred", "options_declined", "mdt_options", "agreed_plan", "allergies", "safety_netting")


@dataclass
class RecommendationInput:
    """One recommendation line of the meeting form."""

    kind: str = ""
    description: str = ""
    drug: str | None = None
    owner_role: str | None = "pcp"
    owner_user_id: int | None = None
    due_date: date | None = None
    for_patient: bool = False
    guideline_override: str | None = None


@dataclass
class GoalInput:
    """One SMART goal with its GAS levels."""

    target_activity: str = ""
    support_needed: str = ""
    performance_quantifier: str = ""
    due_date: date | None = None
    importance: int = 2
    difficulty: int = 1
    levels: dict[int, str] = field(default_factory=dict)
    baseline_level: int = -1
    recommendation: int | None = None  # 1-based number of the recommendation meant to achieve it


@dataclass
class DecisionForm:
    """Everything the meeting room's structured form carries."""

    formulation: str = ""
    pathway_step: str = ""
    answer: str = ""
    flag_responses: dict[str, dict] = field(default_factory=dict)  # code -> {response, reason_code, note}
    what_matters: str = ""
    beliefs_concerns: str = ""
    options_discussed: str = ""
    option_preferred: str = ""
    options_declined: str = ""
    discussed_with_patient: bool | None = None
    mdt_options: str = ""
    agreed_plan: str = ""
    allergies: str = ""
    safety_netting: str = ""
    primary_outcome: str | None = None
    follow_up_date: date | None = None
    recommendations: list[RecommendationInput] = field(default_factory=list)
    goals: list[GoalInput] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionState:
    """A decision as loaded for the form: its values, version and who saved it last."""

    form: DecisionForm
    version: int  # 0 = nothing saved yet
    status: str
    updated_by: str | None
    updated_at: object


def _item_for(s, actor: Actor, agenda_item_id: int) -> tuple[AgendaItem, Meeting, Case]:
    if not actor.is_hub_member:
        raise PermissionDenied("The meeting room is for hub specialists and chairs.")
    item = s.get(AgendaItem, agenda_item_id)
    if item is None:
        raise NotFound("No such agenda item.")
    return item, s.get(Meeting, item.meeting_id), item.case


def _form_of(d: Decision) -> DecisionForm:
    return DecisionForm(
        **{k: getattr(d, k) for k in TEXT_FIELDS}, flag_responses=dict(d.flag_responses or {}),
        discussed_with_patient=d.discussed_with_patient, primary_outcome=d.primary_outcome,
        follow_up_date=d.follow_up_date,
        recommendations=[RecommendationInput(r.kind, r.description, r.drug, r.owner_role, r.owner_user_id, r.due_date,
                                             r.for_patient, r.guideline_override) for r in d.recommendations],
        goals=[GoalInput(g.target_activity, g.support_needed, g.performance_quantifier, g.due_date, g.importance,
                         g.difficulty, {int(k): v for k, v in (g.levels or {}).items()}, g.baseline_level,
                         next((i for i, r in enumerate(d.recommendations, 1) if r.id == g.recommendation_id), None))
               for g in d.goals])


def load(session_factory, actor: Actor, agenda_item_id: int) -> DecisionState:
    """The decision of an agenda item for the form (an empty form with version 0 before the first save)."""
    with session_factory() as s:
        item, _, case = _item_for(s, actor, agenda_item_id)
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == item.id))
        if d is None:
            return DecisionState(DecisionForm(primary_outcome=case.primary_outcome), 0, "draft", None, None)
        who = s.get(User, d.updated_by).name if d.updated_by else None
        return DecisionState(_form_of(d), d.version, d.status, who, d.updated_at)


def snapshot(form: DecisionForm) -> dict:
    """The form as plain JSON-able data (audit records and the conflict view)."""
    data = asdict(form)
    return audit._jsonable(data)


def validate(form: DecisionForm, case: Case, meeting_day: date, open_flags: list[str], final: bool,
             finalise_day: date | None = None) -> dict[str, str]:
    """Field errors of the decision form; `final` adds what finalising needs. Due dates may not fall before
    the meeting, and when finalising not before the finalisation day (the letter's date)."""
    due_from = max(meeting_day, finalise_day) if finalise_day is not None else meeting_day
    e: dict[str, str] = {}
    if form.pathway_step and form.pathway_step not in PATHWAY_STEP_LABELS:
        e["pathway_step"] = "Unknown pathway step."
    for code, resp in form.flag_responses.items():
        if resp.get("response") not in FLAG_RESPONSES:
            e[f"flag.{code}"] = f"Choose how the hub responds to the flag '{code}'."
        elif resp["response"] == "restraint" and resp.get("reason_code") not in JUST_CODES:
            e[f"flag.{code}"] = "Appropriate restraint needs a coded reason."
    if form.primary_outcome not in (None, "peg", "nrs", "mskhq", "odi"):
        e["primary_outcome"] = "Choose PEG, pain NRS, MSK-HQ or ODI as the primary outcome."
    if form.follow_up_date is not None and form.follow_up_date <= meeting_day:
        e["follow_up_date"] = "The follow-up review must be after the meeting."
    for i, r in enumerate(form.recommendations, 1):
        prefix = f"recommendations[{i}]"
        if r.kind not in RECOMMENDATION_TYPES:
            e[f"{prefix}.kind"] = f"Recommendation {i}: choose its type."
        if not (r.description or "").strip():
            e[f"{prefix}.description"] = f"Recommendation {i}: describe it."
        if r.owner_user_id is None and r.owner_role not in OWNER_ROLES:
            e[f"{prefix}.owner"] = f"Recommendation {i}: give an owner (the referring GP by default)."
        if r.due_date is None or r.due_date < meeting_day:
            e[f"{prefix}.due_date"] = f"Recommendation {i}: give a due date on or after the meeting."
        elif r.due_date < due_from:
            e[f"{prefix}.due_date"] = (
                f"Recommendation {i}: the due date {r.due_date:%d %b %Y} is before {due_from:%d %b %Y}, the day this "
                "decision is finalised and its letter dated: move it to that day or later.")
        if r.kind in MEDICINE_RECOMMENDATIONS and not (r.drug or "").strip():
            e[f"{prefix}.drug"] = f"Recommendation {i}: name the medicine."
        blocking = [h for h in guideline_check(r, case) if h.blocks]
        if blocking and len((r.guideline_override or "").strip()) < 10:
            h = blocking[0]
            what = (h.drug_class or r.drug or r.kind).replace("_", " ") if r.kind in MEDICINE_RECOMMENDATIONS \
                else treatment_label(h.drug_class or "")
            e[f"{prefix}.guideline"] = (
                f"Recommendation {i}: {h.guideline} says {h.rule.replace('_', ' ')} for {what} ({h.note} "
                f"Source: {h.source}). Give an override reason (at least 10 characters) to recommend it anyway.")
    for i, g in enumerate(form.goals, 1):
        goal = gas.Goal(g.target_activity, g.support_needed, g.performance_quantifier, g.due_date, g.importance,
                        g.difficulty, dict(g.levels), g.baseline_level, None, meeting_day)
        missing = gas.is_smart(goal, meeting_day)
        if missing:
            e[f"goals[{i}]"] = f"Goal {i} is not SMART yet: missing {', '.join(missing)}."
        elif set(g.levels) != set(gas.GAS_LEVELS) or not all(str(v).strip() for v in g.levels.values()):
            e[f"goals[{i}]"] = f"Goal {i}: describe all five GAS levels (−2 to +2)."
        if g.recommendation is not None and not 1 <= g.recommendation <= len(form.recommendations):
            e[f"goals[{i}].recommendation"] = f"Goal {i}: link it to a recommendation number from 1 to " \
                                              f"{len(form.recommendations)}."
    if final:
        for name, label in (("formulation", "formulation / working diagnosis"), ("answer", "answer to the question"),
                            ("allergies", "allergies and adverse reactions (write 'No known allergies' if none)"),
                            ("pathway_step", "pathway step")):
            if not (getattr(form, name) or "").strip():
                e[name] = f"Before finalising, record the {label}."
        if form.follow_up_date is None:
            e["follow_up_date"] = "Before finalising, set the follow-up review date."
        if not form.recommendations:
            e["recommendations"] = "Before finalising, add at least one recommendation."
        unanswered = [c for c in open_flags if c not in form.flag_responses]
        if unanswered:
            e["flag_responses"] = f"Before finalising, respond to every open flag: {', '.join(unanswered)}."
    return e


def _open_flag_codes(case: Case) -> list[str]:
    return [f["code"] for f in (case.flags or []) if f.get("severity") in ("red", "amber")]


def save(session_factory, actor: Actor, agenda_item_id: int, form: DecisionForm, expected_version: int) -> int:
    """Save the structured form. Raises EditConflict (nothing overwritten) when someone else saved after
    `expected_version`; returns the new version."""
    with session_factory.begin() as s:
        item, meeting, case = _item_for(s, actor, agenda_item_id)
        if meeting.status == "finalised":
            raise ValidationError({"meeting": "This meeting is finalised."})
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == item.id))
        current = d.version if d else 0
        if current != expected_version:
            last = s.scalar(select(AuditEvent).where(AuditEvent.entity == "decision",
                                                     AuditEvent.entity_id == str(d.id))
                            .order_by(AuditEvent.id.desc()).limit(1))
            who = s.get(User, last.actor_id).name if last and last.actor_id else "Someone"
            changed = sorted((last.changes or {}).keys()) if last else []
            raise EditConflict(
                f"{who} saved this discussion at {d.updated_at:%H:%M:%S} after you opened it "
                f"(changed: {', '.join(changed) or 'the form'}). Nothing was overwritten and your input is still on "
                "the form: compare with their version, then save again.",
                changed_by=who, changed_at=d.updated_at, changes=last.changes if last else {})
        if d is not None and d.status == "final":
            raise ValidationError({"decision": "This decision is final."})
        errors = validate(form, case, meeting.starts_at.date(), _open_flag_codes(case), final=False)
        if errors:
            raise ValidationError(errors)
        before = snapshot(_form_of(d)) if d else {}
        if d is None:
            d = Decision(case_id=case.id, agenda_item_id=item.id)
            s.add(d)
        for k in TEXT_FIELDS:
            setattr(d, k, (getattr(form, k) or "").strip())
        d.flag_responses = dict(form.flag_responses)
        d.discussed_with_patient = form.discussed_with_patient
        d.primary_outcome = form.primary_outcome
        d.follow_up_date = form.follow_up_date
        d.recommendations = [
            Recommendation(position=i, kind=r.kind, description=r.description.strip(),
                           drug=(r.drug or "").strip().lower() or None, owner_role=r.owner_role,
                           owner_user_id=r.owner_user_id, due_date=r.due_date, for_patient=bool(r.for_patient),
                           guideline_override=(r.guideline_override or "").strip() or None,
                           guideline_hits=_hits(r, case))
            for i, r in enumerate(form.recommendations)]
        d.goals = [Goal(position=i, case_id=case.id, target_activity=g.target_activity.strip(),
                        support_needed=(g.support_needed or "").strip(),
                        performance_quantifier=g.performance_quantifier.strip(), set_date=meeting.starts_at.date(),
                        due_date=g.due_date, importance=g.importance, difficulty=g.difficulty,
                        levels={str(k): v for k, v in g.levels.items()}, baseline_level=g.baseline_level)
                   for i, g in enumerate(form.goals)]
        d.updated_by, d.updated_at = actor.user_id, utcnow()
        s.flush()
        for g_in, g_row in zip(form.goals, d.goals):
            g_row.recommendation_id = d.recommendations[g_in.recommendation - 1].id if g_in.recommendation else None
        after = snapshot(form)
        audit.record(s, actor, "decision.save", "decision", d.id, audit.diff(before, after) or {"saved": True})
        return d.version


def guideline_check(r: RecommendationInput, case: Case) -> list[RuleHit]:
    """The guideline rules that apply to one recommendation, whatever its kind: starting a medicine or
    increasing its dose as a start; continuing, stopping or tapering as 'already taking' (never blocking
    for stop/taper); every other kind by the non-drug treatments its words name."""
    age = date.today().year - case.patient.birth_year
    try:
        if r.kind in MEDICINE_RECOMMENDATIONS:
            if not (r.drug or "").strip():
                return []
            hits = check_medicine(r.drug.strip().lower(), case.condition, case.pain_classification, age=age,
                                  already_taking=r.kind not in GUIDELINE_CHECK_AS_START)
            if r.kind in ("stop_medicine", "taper_medicine"):
                hits = [RuleHit(h.rule, h.guideline, h.drug_class, h.note, h.source, False, h.rule_id, h.see)
                        for h in hits]
            return hits
        text = " ".join(x for x in (r.description or "", r.drug or "") if x)
        return check_treatment(text, case.condition, case.pain_classification,
                               investigation=r.kind == "investigation")
    except ValueError:
        return []


def _hits(r: RecommendationInput, case: Case) -> list[dict]:
    return [{"rule": h.rule, "guideline": h.guideline, "note": h.note, "source": h.source, "blocks": h.blocks,
             "rule_id": h.rule_id, "about": h.drug_class}
            for h in guideline_check(r, case)]


def finalise(session_factory, actor: Actor, agenda_item_id: int, expected_version: int,
             finalise_day: date | None = None) -> int:
    """Finalise in one transaction: decision final, actions for their owners, the case back to the PCP
    with the review date, the outcome letter (blocked while a mandatory section is empty), audit events.
    Due dates are checked against the finalisation day (today; the demo's backdated history passes its own).
    Returns the letter id."""
    finalise_day = finalise_day or date.today()
    from hub import letters

    require_role(actor, "chair")
    with session_factory.begin() as s:
        item, meeting, case = _item_for(s, actor, agenda_item_id)
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == item.id))
        if d is None:
            raise ValidationError({"decision": "Save the discussion before finalising."})
        if d.version != expected_version:
            raise EditConflict("Someone saved this discussion after you opened it. Reload it, check their changes "
                               "and finalise again.")
        if d.status == "final":
            raise ValidationError({"decision": "This decision is already final."})
        form = _form_of(d)
        errors = validate(form, case, meeting.starts_at.date(), _open_flag_codes(case), final=True,
                          finalise_day=finalise_day)
        if errors:
            raise ValidationError(errors)
        letter = letters.build_letter(correspondence.letter_data(s, d, case, meeting, actor))
        if not letter.can_send:
            raise ValidationError({"letter": "The outcome letter cannot be sent: these mandatory sections are "
                                             f"empty: {', '.join(letter.missing_mandatory)}."})
        now = utcnow()
        d.status, d.finalised_by, d.finalised_at = "final", actor.user_id, now
        case.relisted_reason, case.relisted_at = None, None
        if d.primary_outcome:
            case.primary_outcome = d.primary_outcome
        # The flags the decision answered are those computed with its primary outcome, before the case
        # returns to the PCP: only flags appearing after this count as new for re-listing.
        d.flags_at_decision = sorted(flags.recompute_cases(s, [case.id])[case.id].flag_codes(("red", "amber")))
        item.status = "discussed"
        for r in d.recommendations:
            owner_user = r.owner_user_id or (case.referrer_id if r.owner_role == "pcp" else None)
            a = Action(case_id=case.id, decision_id=d.id, recommendation_id=r.id, description=r.description,
                       owner_role=r.owner_role, owner_user_id=owner_user, due_date=r.due_date)
            s.add(a)
            s.flush()
            audit.record(s, actor, "action.create", "action", a.id,
                         {"case_id": case.id, "owner_user_id": owner_user, "owner_role": r.owner_role,
                          "due_date": r.due_date})
        if case.status == "scheduled":
            audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, "discussed"))
        if case.status == "discussed":
            audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, "returned"))
        row = Letter(case_id=case.id, decision_id=d.id, status="sent", body_markdown=letter.markdown,
                     patient_markdown=letter.patient_markdown, sent_at=now,
                     sections=[{"title": x.title, "code": x.code, "conformance": x.conformance, "body": x.body}
                               for x in letter.sections])
        s.add(row)
        s.flush()
        audit.record(s, actor, "decision.finalise", "decision", d.id,
                     {"case_id": case.id, "follow_up_date": d.follow_up_date, "actions": len(d.recommendations)})
        audit.record(s, actor, "letter.send", "letter", row.id, {"case_id": case.id, "to": case.referrer.name})
        flags.recompute_cases(s, [case.id])
        return row.id
