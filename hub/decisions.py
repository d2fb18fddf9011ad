"""The meeting room's structured decision: save with edit-conflict detection, finalise in one
transaction (actions, case back to the PCP, outcome letter), the PCP inbox, and meeting minutes."""

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
    Treatment,
    User,
    utcnow,
)
from hub import audit, flags, workflow
from hub.access import Actor, can_see_case, require_role
from hub.clinical import goals as gas
from hub.clinical.pathway import check_medicine
from hub.clinical.signals import JUST_CODES
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from hub.vocab import (
    CONDITIONS,
    DISCIPLINES,
    FLAG_RESPONSES,
    MEDICINE_RECOMMENDATIONS,
    OWNER_ROLES,
    PAIN_CLASSIFICATIONS,
    RECOMMENDATION_TYPES,
)

PATHWAY_STEPS = {
    "S3_SELF_MANAGEMENT": "S3 Self-management",
    "S4_ACTIVE_NON_PHARM": "S4 Active non-pharmacological treatment",
    "S5_PHARMACOLOGY": "S5 Pharmacology",
    "S6_COMBINED_PROGRAMME": "S6 Combined physical and psychological programme",
    "S7_ESCALATE_TO_MDT_OR_SPECIALIST": "S7 Escalate to specialist",
    "S8_REVIEW_LOOP": "S8 Review loop",
}
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


def validate(form: DecisionForm, case: Case, meeting_day: date, open_flags: list[str], final: bool) -> dict[str, str]:
    """Field errors of the decision form; `final` adds what finalising needs."""
    e: dict[str, str] = {}
    if form.pathway_step and form.pathway_step not in PATHWAY_STEPS:
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
    age = date.today().year - case.patient.birth_year
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
        if r.kind in MEDICINE_RECOMMENDATIONS and not (r.drug or "").strip():
            e[f"{prefix}.drug"] = f"Recommendation {i}: name the medicine."
        if r.kind == "start_medicine" and (r.drug or "").strip():
            try:
                hits = check_medicine(r.drug.strip().lower(), case.condition, case.pain_classification, age=age)
            except ValueError:
                hits = []
            blocking = [h for h in hits if h.blocks]
            if blocking and len((r.guideline_override or "").strip()) < 10:
                h = blocking[0]
                e[f"{prefix}.guideline"] = (
                    f"Recommendation {i}: {h.guideline} says {h.rule.replace('_', ' ')} for "
                    f"{(h.drug_class or r.drug).replace('_', ' ')} ({h.note} Source: {h.source}). Give an override "
                    "reason (at least 10 characters) to recommend it anyway.")
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


def _hits(r: RecommendationInput, case: Case) -> list[dict]:
    if r.kind != "start_medicine" or not r.drug:
        return []
    try:
        hits = check_medicine(r.drug.strip().lower(), case.condition, case.pain_classification,
                              age=date.today().year - case.patient.birth_year)
    except ValueError:
        return []
    return [{"rule": h.rule, "guideline": h.guideline, "note": h.note, "source": h.source, "blocks": h.blocks}
            for h in hits]


def _owner_label(s, role: str | None, user_id: int | None, case: Case) -> str:
    if user_id is not None:
        u = s.get(User, user_id)
        return u.name if u else f"user {user_id}"
    if role == "pcp":
        return f"GP ({case.referrer.name})"
    return OWNER_ROLES.get(role or "", role or "")


def finalise(session_factory, actor: Actor, agenda_item_id: int, expected_version: int) -> int:
    """Finalise in one transaction: decision final, actions for their owners, the case back to the PCP
    with the review date, the outcome letter (blocked while a mandatory section is empty), audit events.
    Returns the letter id."""
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
        errors = validate(form, case, meeting.starts_at.date(), _open_flag_codes(case), final=True)
        if errors:
            raise ValidationError(errors)
        letter = letters.build_letter(_letter_data(s, d, case, meeting, actor))
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


def _letter_data(s, d: Decision, case: Case, meeting: Meeting, actor: Actor):
    from hub import letters
    from hub.clinical.identifiers import format_nhs_number
    from hub.records import treatment_label
    from db.models import Assessment, Attendance

    p = case.patient
    attendees = [(a.user.name, DISCIPLINES.get(a.discipline, "General practice"))
                 for a in s.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))]
    latest: dict[str, Assessment] = {}
    for a in s.scalars(select(Assessment).where(Assessment.patient_id == p.id, Assessment.status == "completed")
                       .order_by(Assessment.administered_on)):
        latest[a.instrument] = a
    lines = [f"{k.upper()} {a.total:g} ({a.administered_on:%d %b %Y}){' ' + a.band if a.band else ''}"
             for k, a in latest.items()]
    if case.response and case.response.get("text"):
        lines.insert(0, f"Primary outcome: {case.response['text']}")
    meds = [treatment_label(t.category, t.name, t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)
            for t in s.scalars(select(Treatment).where(Treatment.patient_id == p.id, Treatment.category == "medicine",
                                                       Treatment.status == "active"))]
    flag_lines = []
    for f in case.flags or []:
        if f.get("severity") == "info":
            continue
        resp = d.flag_responses.get(f["code"], {})
        words = FLAG_RESPONSES.get(resp.get("response", ""), "no response recorded")
        extra = (resp.get("reason_code") or "").replace("_", " ")
        note = resp.get("note") or ""
        flag_lines.append(f"{f.get('label')}: {f.get('reason')} — hub response: {words}"
                          + (f" ({extra})" if extra else "") + (f"; {note}" if note else ""))
    items = []
    for r in d.recommendations:
        rationale = "; ".join(f"{h['guideline']}: {h['rule'].replace('_', ' ')}" for h in r.guideline_hits or [])
        if r.guideline_override:
            rationale += f"; override: {r.guideline_override}"
        items.append(letters.LetterItem(kind=r.kind, description=r.description,
                                        owner=_owner_label(s, r.owner_role, r.owner_user_id, case), due=r.due_date,
                                        for_patient=r.for_patient or r.owner_role == "patient",
                                        rationale=rationale.strip("; ")))
    goal_items = [letters.LetterGoal(
        text=f"{g.target_activity}{', ' + g.support_needed if g.support_needed else ''}, {g.performance_quantifier}",
        levels={int(k): v for k, v in (g.levels or {}).items()}, due=g.due_date) for g in d.goals]
    safety = [f["reason"] for f in (case.flags or []) if f.get("code") == "safety_phq9"]
    return letters.LetterData(
        patient_name=f"{p.given_name} {p.family_name}", nhs_number=format_nhs_number(p.nhs_number),
        birth_year=p.birth_year, sex=p.sex, practice_name=case.practice.name, referrer_name=case.referrer.name,
        meeting_date=meeting.starts_at.date(), meeting_type="Virtual pain hub MDT", attendees=attendees,
        chair_name=meeting.chair.name, clinical_question=case.clinical_question, answer=d.answer,
        condition=CONDITIONS.get(case.condition, case.condition),
        pain_classification=PAIN_CLASSIFICATIONS.get(case.pain_classification, case.pain_classification),
        formulation=d.formulation, pathway_step=PATHWAY_STEPS.get(d.pathway_step, d.pathway_step),
        allergies=d.allergies, assessment_lines=lines, medication_lines=meds, total_ome=case.ome_total,
        flags_and_responses=flag_lines, recommendations=items, goals=goal_items, what_matters=d.what_matters,
        beliefs_concerns=d.beliefs_concerns, options_discussed=d.options_discussed,
        option_preferred=d.option_preferred, options_declined=d.options_declined,
        agreed_with_patient=d.discussed_with_patient, safety_netting=d.safety_netting, safety_alerts=safety,
        follow_up_date=d.follow_up_date,
        rediscussion_criteria="Re-list with the hub if the follow-up review shows no important improvement, an action "
                              "is overdue, or a new safety, inertia or disengagement flag appears.",
        completed_by=actor.name, completed_by_role="Hub chair", completed_on=date.today(),
        distribution=[f"{case.referrer.name}, {case.practice.name}", f"{p.given_name} {p.family_name} (patient copy)"])


# ----------------------------------------------------------------------------- inbox


INBOX_RECENT_DONE = 50  # done actions and acknowledged letters shown (most recent first); open ones are all shown


def inbox(session_factory, actor: Actor, today: date | None = None) -> dict[str, list[dict]]:
    """Letters (PCP): every one not yet acknowledged and the latest acknowledged; my actions: every open
    one (overdue and not yet due) and the latest done. Old history never pushes open work out of view."""
    from sqlalchemy import or_

    today = today or date.today()
    if not actor.is_clinical:
        raise PermissionDenied("The inbox is for clinical roles.")
    with session_factory() as s:
        letters_out = []
        if actor.has("pcp") and actor.practice_id is not None:
            base = (select(Letter, Case).join(Case, Case.id == Letter.case_id)
                    .where(Case.practice_id == actor.practice_id))
            pending = base.where(Letter.status != "acknowledged").order_by(Letter.sent_at.desc())
            recent = (base.where(Letter.status == "acknowledged").order_by(Letter.acknowledged_at.desc())
                      .limit(INBOX_RECENT_DONE))
            for q in (pending, recent):
                for letter, case in s.execute(q):
                    letters_out.append({"id": letter.id, "case_id": case.id,
                                        "case": f"Case {case.id} · {case.patient.given_name} {case.patient.family_name}",
                                        "sent_at": letter.sent_at, "status": letter.status,
                                        "acknowledged_at": letter.acknowledged_at})
        conditions = [Action.owner_user_id == actor.user_id]
        if actor.discipline:
            conditions.append((Action.owner_role == actor.discipline) & Action.owner_user_id.is_(None))
        if actor.is_hub_member:
            conditions.append((Action.owner_role == "hub") & Action.owner_user_id.is_(None))
        mine = select(Action, Case).join(Case, Case.id == Action.case_id).where(or_(*conditions))
        open_q = mine.where(Action.status == "open").order_by(Action.due_date, Action.id)
        done_q = (mine.where(Action.status == "done").order_by(Action.completed_at.desc(), Action.id.desc())
                  .limit(INBOX_RECENT_DONE))
        rows = []
        for q in (open_q, done_q):
            for a, case in s.execute(q):
                if not can_see_case(actor, case.practice_id, case.status) and a.owner_user_id != actor.user_id:
                    continue
                rows.append({"id": a.id, "case_id": case.id, "case": f"Case {case.id}", "description": a.description,
                             "due_date": a.due_date, "status": a.status,
                             "overdue": a.status == "open" and a.due_date < today,
                             "completed_at": a.completed_at, "note": a.note})
    return {"letters": letters_out,
            "open": [r for r in rows if r["status"] == "open" and not r["overdue"]],
            "overdue": [r for r in rows if r["overdue"]],
            "done": [r for r in rows if r["status"] == "done"]}


def acknowledge_letter(session_factory, actor: Actor, letter_id: int) -> None:
    """The PCP acknowledges an outcome letter (recorded and audited)."""
    require_role(actor, "pcp")
    with session_factory.begin() as s:
        letter = s.get(Letter, letter_id)
        if letter is None:
            raise NotFound("No such letter.")
        case = s.get(Case, letter.case_id)
        if case.practice_id != actor.practice_id:
            raise NotFound("No such letter for your practice.")
        if letter.status == "acknowledged":
            return
        letter.status, letter.acknowledged_at, letter.acknowledged_by = "acknowledged", utcnow(), actor.user_id
        audit.record(s, actor, "letter.acknowledge", "letter", letter.id, {"case_id": case.id})


def complete_action(session_factory, actor: Actor, action_id: int, note: str = "") -> None:
    """The owner marks an action done, with an optional note."""
    with session_factory.begin() as s:
        a = s.get(Action, action_id)
        if a is None:
            raise NotFound("No such action.")
        mine = a.owner_user_id == actor.user_id or (a.owner_user_id is None and (
            (actor.discipline and a.owner_role == actor.discipline) or (a.owner_role == "hub" and actor.is_hub_member)))
        if not mine:
            raise PermissionDenied("Only the action's owner can complete it.")
        if a.status != "open":
            raise ValidationError({"action": "This action is not open."})
        a.status, a.completed_at, a.completed_by, a.note = "done", utcnow(), actor.user_id, (note or "").strip()
        audit.record(s, actor, "action.complete", "action", a.id, {"case_id": a.case_id, "note": a.note})
        flags.recompute_cases(s, [a.case_id])


def letter_for(session_factory, actor: Actor, letter_id: int) -> dict:
    """A letter's text (clinician and patient versions) if the actor may see its case."""
    with session_factory() as s:
        letter = s.get(Letter, letter_id)
        if letter is None:
            raise NotFound("No such letter.")
        case = s.get(Case, letter.case_id)
        if not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such letter in your scope.")
        return {"id": letter.id, "case_id": case.id, "markdown": letter.body_markdown,
                "patient_markdown": letter.patient_markdown, "sections": letter.sections, "status": letter.status,
                "sent_at": letter.sent_at, "acknowledged_at": letter.acknowledged_at}


def case_letters(session_factory, actor: Actor, case_id: int) -> list[dict]:
    """Letters of a case, newest first."""
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case in your scope.")
        return [{"id": x.id, "sent_at": x.sent_at, "status": x.status}
                for x in s.scalars(select(Letter).where(Letter.case_id == case_id).order_by(Letter.id.desc()))]


def minutes(session_factory, actor: Actor, meeting_id: int):
    """Minutes of a meeting: attendance, quorum, each case's outcome and actions."""
    from hub import letters, meetings

    view = meetings.meeting_view(session_factory, actor, meeting_id)
    with session_factory() as s:
        cases = []
        for row in view.agenda:
            d = s.scalar(select(Decision).where(Decision.agenda_item_id == row.item_id))
            if d is not None and d.status == "final":
                outcome = f"{d.answer} (follow-up {d.follow_up_date:%d %b %Y})"
                acts = [(a.description, _owner_label(s, a.owner_role, a.owner_user_id, s.get(Case, row.case_id)),
                         a.due_date) for a in s.scalars(select(Action).where(Action.decision_id == d.id))]
            else:
                outcome = "Not discussed — carried forward" if row.status == "carried_forward" else row.status_label
                acts = []
            cases.append(letters.MinutesCase(row.case_label, row.question, outcome, acts))
    note = "" if view.quorum.met else (
        f"Missing: {', '.join(view.quorum.missing)}"
        + (f". Finalised because: {view.quorum_override_reason}" if view.quorum_override_reason else ""))
    return letters.MinutesData(title=view.title, meeting_date=view.starts_at.date(), chair_name=view.chair,
                               video_link=view.video_link,
                               attendees=[(n, DISCIPLINES.get(d, "General practice")) for _, n, d in view.attendance],
                               quorum_met=view.quorum.met, quorum_note=note, cases=cases)


def letter_pdf(session_factory, actor: Actor, letter_id: int, patient_version: bool = False) -> bytes:
    """The stored letter as a PDF (clinician letter, or the plain-language patient version)."""
    from hub import letters

    data = letter_for(session_factory, actor, letter_id)
    sections = tuple(letters.Section(x["title"], x.get("code"), x["conformance"], x["body"]) for x in data["sections"])
    letter = letters.Letter(sections=sections, missing_mandatory=(), markdown=data["markdown"],
                            patient_markdown=data["patient_markdown"])
    return letters.letter_pdf(letter, patient_version=patient_version)


def case_actions(session_factory, actor: Actor, case_id: int, today: date | None = None) -> list[dict]:
    """Actions of a case with owner, due date and status."""
    today = today or date.today()
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case in your scope.")
        return [{"id": a.id, "description": a.description, "owner": _owner_label(s, a.owner_role, a.owner_user_id, case),
                 "due_date": a.due_date, "status": a.status, "overdue": a.status == "open" and a.due_date < today,
                 "note": a.note}
                for a in s.scalars(select(Action).where(Action.case_id == case_id).order_by(Action.due_date))]
