"""The meeting room's structured decision: the form, save with edit-conflict detection, and finalise in one
transaction (actions, case back to the PCP, outcome letter through hub.correspondence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError, edit_conflict_on_race
from hub.text import check_text, parse_id
from hub.vocab import (
    DISCUSSED_WITH_PATIENT,
    FLAG_RESPONSES,
    GUIDELINE_CHECK_AS_START,
    PATIENT_VIEWS,
    OWNER_ROLES,
    MEDICINE_RECOMMENDATIONS,
    PATHWAY_STEP_LABELS,
    PRIMARY_OUTCOMES,
    RECOMMENDATION_TYPES,
)
from db.engine import SessionFactory

TEXT_FIELDS = ("formulation", "pathway_step", "answer", "what_matters", "beliefs_concerns", "options_discussed",
               "option_preferred", "options_declined", "mdt_options", "agreed_plan", "allergies", "safety_netting",
               "patient_summary")


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
    dose_schedule: str = ""  # medicines: the new dose and schedule (letter's medication-changes table)
    review_date: date | None = None  # medicines: when the change is reviewed (default: the follow-up date)


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
    discussed_with_patient: str | None = None  # DISCUSSED_WITH_PATIENT: 'not_yet' / 'yes'
    patient_view: str | None = None  # PATIENT_VIEWS: agrees / disagrees / wants_time / not_yet_asked
    patient_summary: str = ""  # "What this means for you" (patient letter), written by the chair
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
    item = s.get(AgendaItem, agenda_item_id) if parse_id(agenda_item_id) else None
    if item is None:
        raise NotFound("No such agenda item.")
    return item, s.get(Meeting, item.meeting_id), item.case


def _form_of(d: Decision) -> DecisionForm:
    return DecisionForm(
        **{k: getattr(d, k) for k in TEXT_FIELDS}, flag_responses=dict(d.flag_responses or {}),
        discussed_with_patient=d.discussed_with_patient, patient_view=d.patient_view,
        primary_outcome=d.primary_outcome, follow_up_date=d.follow_up_date,
        recommendations=[RecommendationInput(r.kind, r.description, r.drug, r.owner_role, r.owner_user_id, r.due_date,
                                             r.for_patient, r.guideline_override, r.dose_schedule or "",
                                             r.review_date) for r in d.recommendations],
        goals=[GoalInput(g.target_activity, g.support_needed, g.performance_quantifier, g.due_date, g.importance,
                         g.difficulty, {int(k): v for k, v in (g.levels or {}).items()}, g.baseline_level,
                         next((i for i, r in enumerate(d.recommendations, 1) if r.id == g.recommendation_id), None))
               for g in d.goals])


def load(session_factory: SessionFactory, actor: Actor, agenda_item_id: int) -> DecisionState:
    """The decision of an agenda item for the form (an empty form with version 0 before the first save)."""
    with session_factory() as s:
        item, _, case = _item_for(s, actor, agenda_item_id)
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == item.id))
        if d is None:
            form = DecisionForm(primary_outcome=case.primary_outcome)
            form.patient_summary = suggest_patient_summary(form)
            return DecisionState(form, 0, "draft", None, None)
        who = s.get_one(User, d.updated_by).name if d.updated_by else None
        return DecisionState(_form_of(d), d.version, d.status, who, d.updated_at)


def suggest_patient_summary(form: DecisionForm) -> str:
    """A plain-words first draft of the patient letter's "What this means for you", from the plan's coded parts
    (recommendation kinds, medicine names, the follow-up date); the chair edits it."""
    from hub.letter_patient import suggest_patient_summary as suggest

    return suggest([(r.kind, (r.drug or "").strip() or None) for r in form.recommendations], form.follow_up_date)


def snapshot(form: DecisionForm) -> dict:
    """The form as plain JSON-able data (audit records and the conflict view)."""
    data = asdict(form)
    return audit.jsonable(data)


def validate(form: DecisionForm, case: Case, meeting_day: date, open_flags: list[str], final: bool,
             finalise_day: date | None = None) -> dict[str, str]:
    """Field errors of the decision form; `final` adds what finalising needs. Due dates may not fall before
    the meeting, and when finalising not before the finalisation day (the letter's date)."""
    due_from = max(meeting_day, finalise_day) if finalise_day is not None else meeting_day
    e: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if name != "pathway_step":
            check_text(e, name, getattr(form, name), "long", label=name.replace("_", " "))
    for code, resp in form.flag_responses.items():
        if isinstance(resp, dict) and resp.get("note") is not None:
            check_text(e, f"flag.{code}", resp.get("note"), "note", label="note on the flag response")
    if form.pathway_step and form.pathway_step not in PATHWAY_STEP_LABELS:
        e["pathway_step"] = "Unknown pathway step."
    for code, resp in form.flag_responses.items():
        if resp.get("response") not in FLAG_RESPONSES:
            e[f"flag.{code}"] = f"Choose how the hub responds to the flag '{code}'."
        elif resp["response"] == "restraint" and resp.get("reason_code") not in JUST_CODES:
            e[f"flag.{code}"] = "Appropriate restraint needs a coded reason."
    if form.discussed_with_patient not in (None, *DISCUSSED_WITH_PATIENT):
        e["discussed_with_patient"] = "Say whether the plan was discussed with the patient (not yet / yes)."
    if form.patient_view not in (None, *PATIENT_VIEWS):
        e["patient_view"] = "Choose the patient's view: agrees, disagrees, wants time to decide or not yet asked."
    elif form.patient_view not in (None, "not_yet_asked") and form.discussed_with_patient != "yes":
        e["patient_view"] = ("The patient's view can only be recorded once the plan was discussed with them: set "
                             "'Discussed with the patient' to Yes, or the view to 'Not yet asked'.")
    if form.primary_outcome is not None and form.primary_outcome not in PRIMARY_OUTCOMES:
        e["primary_outcome"] = "Choose PEG, pain NRS, MSK-HQ or ODI as the primary outcome."
    if form.follow_up_date is not None and form.follow_up_date <= meeting_day:
        e["follow_up_date"] = "The follow-up review must be after the meeting."
    for i, r in enumerate(form.recommendations, 1):
        prefix = f"recommendations[{i}]"
        check_text(e, f"{prefix}.description", r.description, "note", label=f"recommendation {i}")
        check_text(e, f"{prefix}.drug", r.drug, "short", label=f"medicine of recommendation {i}")
        check_text(e, f"{prefix}.guideline", r.guideline_override, "note",
                   label=f"override reason of recommendation {i}")
        if r.kind not in RECOMMENDATION_TYPES:
            e[f"{prefix}.kind"] = f"Recommendation {i}: choose its type."
        if not (r.description or "").strip() and f"{prefix}.description" not in e:
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
        if len(r.dose_schedule or "") > 200:
            e[f"{prefix}.dose_schedule"] = f"Recommendation {i}: keep the dose and schedule under 200 characters."
        if r.review_date is not None and r.review_date < meeting_day:
            e[f"{prefix}.review_date"] = f"Recommendation {i}: the review date must be on or after the meeting."
        blocking = [h for h in guideline_check(r, case) if h.blocks]
        if blocking and len((r.guideline_override or "").strip()) < 10:
            h = blocking[0]
            what = (h.drug_class or r.drug or r.kind).replace("_", " ") if r.kind in MEDICINE_RECOMMENDATIONS \
                else treatment_label(h.drug_class or "")
            e[f"{prefix}.guideline"] = (
                f"Recommendation {i}: {h.guideline} says {h.rule.replace('_', ' ')} for {what} ({h.note} "
                f"Source: {h.source}). Give an override reason (at least 10 characters) to recommend it anyway.")
    for i, g in enumerate(form.goals, 1):
        bad: dict[str, str] = {}
        for name in ("target_activity", "support_needed", "performance_quantifier"):
            check_text(bad, name, getattr(g, name), "note", label=f"goal {i} {name.replace('_', ' ')}")
        for level, text in dict(g.levels).items():
            check_text(bad, f"level {level}", text if isinstance(text, str) else str(text), "note",
                       label=f"goal {i} level {level}")
        if bad:
            e[f"goals[{i}]"] = next(iter(bad.values()))
            continue
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


def _open_flag_codes(s: Session, case: Case) -> list[str]:
    return [f.code for f in flags.for_case(s, case.id) if f.is_open]


_RACE_MESSAGE = ("Someone saved this discussion at the same moment as you. Nothing of yours was written and your "
                 "input is still on the form: reload their version, compare, then save or finalise again.")


@edit_conflict_on_race(_RACE_MESSAGE)
def save(session_factory: SessionFactory, actor: Actor, agenda_item_id: int, form: DecisionForm,
         expected_version: int) -> int:
    """Save the structured form. Raises EditConflict (nothing overwritten) when someone else saved after
    `expected_version`; returns the new version."""
    with session_factory.begin() as s:
        item, meeting, case = _item_for(s, actor, agenda_item_id)
        if meeting.status == "finalised":
            raise ValidationError({"meeting": "This meeting is finalised."})
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == item.id))
        current = d.version if d else 0
        if current != expected_version and d is None:
            raise EditConflict("This discussion was removed after you opened it; nothing was saved. Reload the page.")
        if current != expected_version and d is not None:
            last = s.scalar(select(AuditEvent).where(AuditEvent.entity == "decision",
                                                     AuditEvent.entity_id == str(d.id))
                            .order_by(AuditEvent.id.desc()).limit(1))
            who = s.get_one(User, last.actor_id).name if last and last.actor_id else "Someone"
            changed = sorted((last.changes or {}).keys()) if last else []
            raise EditConflict(
                f"{who} saved this discussion at {d.updated_at:%H:%M:%S} after you opened it "
                f"(changed: {', '.join(changed) or 'the form'}). Nothing was overwritten and your input is still on "
                "the form: compare with their version, then save again.",
                changed_by=who, changed_at=d.updated_at, changes=last.changes if last else {})
        if d is not None and d.status == "final":
            raise ValidationError({"decision": "This decision is final."})
        errors = validate(form, case, meeting.starts_at.date(), _open_flag_codes(s, case), final=False)
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
        d.patient_view = form.patient_view
        d.primary_outcome = form.primary_outcome
        d.follow_up_date = form.follow_up_date
        d.recommendations = [
            Recommendation(position=i, kind=r.kind, description=r.description.strip(),
                           drug=(r.drug or "").strip().lower() or None, owner_role=r.owner_role,
                           owner_user_id=r.owner_user_id, due_date=r.due_date, for_patient=bool(r.for_patient),
                           guideline_override=(r.guideline_override or "").strip() or None,
                           dose_schedule=(r.dose_schedule or "").strip(), review_date=r.review_date,
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
            hits = check_medicine((r.drug or "").strip().lower(), case.condition, case.pain_classification, age=age,
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


@edit_conflict_on_race(_RACE_MESSAGE)
def finalise(session_factory: SessionFactory, actor: Actor, agenda_item_id: int, expected_version: int,
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
        from hub.meetings import not_before_meeting_day

        not_before_meeting_day(meeting, "A final decision")
        form = _form_of(d)
        errors = validate(form, case, meeting.starts_at.date(), _open_flag_codes(s, case), final=True,
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
        # The review plan's follow-up questionnaires for the patient (the practice issues the link when due).
        from hub.invitations import schedule_for_decision

        schedule_for_decision(s, d, actor)
        flags.recompute_cases(s, [case.id])
        return row.id


# ----------------------------------------------------------------------------- meeting-room helpers


def apply_template(form: DecisionForm, key: str, meeting_day: date, drug: str | None = None) -> RecommendationInput:
    """Add the recommendation of a template (hub.decision_templates) to the form and, when the form has no
    follow-up review date yet, take the template's; returns the recommendation added."""
    from hub import decision_templates

    template = decision_templates.BY_KEY.get(key)
    if template is None:
        raise ValidationError({"template": f"Unknown template '{key}'."})
    values = decision_templates.fill(template, meeting_day, drug)
    review = values.pop("review_date")
    rec = RecommendationInput(**values)
    form.recommendations.append(rec)
    if form.follow_up_date is None and review is not None:
        form.follow_up_date = review
    return rec


@dataclass(frozen=True)
class FieldError:
    """One refusal of the decision form, placed: `section` is "recommendations", "goals" or a field name;
    `number` the 1-based item number in a list (None for a plain field); `anchor` an id to link to."""

    key: str
    section: str
    number: int | None
    message: str

    @property
    def anchor(self) -> str:
        """An HTML id for the place on the form the error belongs to."""
        return f"err-{self.section}" + (f"-{self.number}" if self.number else "")


def place_errors(errors: dict[str, str]) -> list[FieldError]:
    """The service's error keys (`recommendations[2].guideline`, `goals[1]`, `flag.opioid_red`,
    `follow_up_date`) as placed errors, in the order of the form."""
    import re

    placed = []
    for key, message in errors.items():
        m = re.match(r"^(recommendations|goals)\[(\d+)\]", key)
        if m:
            placed.append(FieldError(key, m.group(1), int(m.group(2)), message))
        else:
            placed.append(FieldError(key, key.split(".")[0] if not key.startswith("flag.") else key, None, message))
    order = {n: i for i, n in enumerate(("pathway_step", "formulation", "answer", "mdt_options", "flag_responses",
                                         "recommendations", "goals", "primary_outcome", "follow_up_date",
                                         "allergies", "safety_netting", "letter", "decision", "meeting"))}
    return sorted(placed, key=lambda e: (order.get(e.section, 4 if e.section.startswith("flag.") else 99),
                                         e.number or 0))


def errors_for(errors: dict[str, str], section: str, number: int | None = None) -> list[str]:
    """The messages that belong beside one field or one numbered item of a list."""
    return [e.message for e in place_errors(errors) if e.section == section and e.number == number]


def send_summary(form: DecisionForm, referrer: str) -> list[str]:
    """What finalising will send, in words: the letter's recipient, the actions with their owners and due
    dates, the goals and the follow-up review."""
    lines = [f"Outcome letter to {referrer} (and a version for the patient)."]
    for i, r in enumerate(form.recommendations, 1):
        owner = OWNER_ROLES.get(r.owner_role or "", r.owner_role or "owner not set")
        due = f"{r.due_date:%d %b %Y}" if r.due_date else "no due date"
        lines.append(f"Action {i} for {owner}, due {due}: {r.description or RECOMMENDATION_TYPES.get(r.kind, '')}")
    for i, g in enumerate(form.goals, 1):
        lines.append(f"Goal {i}: {g.target_activity} — {g.performance_quantifier}")
    if form.follow_up_date:
        lines.append(f"Follow-up review on {form.follow_up_date:%d %b %Y}; the case returns to the GP until then.")
    return lines
