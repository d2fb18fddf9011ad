"""Outcome letters and meeting minutes of finalised decisions: the letter's data from a decision, the stored
letters of a case, a letter's PDF, and a meeting's minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from db.models import Action, Case, Decision, Letter, Meeting, Treatment
from hub.access import Actor, can_see_case, owner_label
from hub.errors import NotFound
from hub.flags import for_case
from hub.letter_text import Section
from hub.vocab import (
    CONDITIONS,
    DISCIPLINES,
    FLAG_RESPONSES,
    PAIN_CLASSIFICATIONS,
    PATHWAY_STEP_LABELS,
    RECOMMENDATION_TYPES,
)
from db.engine import SessionFactory


def letter_data(s, d: Decision, case: Case, meeting: Meeting, actor: Actor):
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
    lines = [letters.score_line(k, a.total, a.administered_on, a.band) for k, a in latest.items()
             if a.total is not None]
    if case.response and case.response.get("text"):
        lines.insert(0, f"Primary outcome: {case.response['text']}")
    active = list(s.scalars(select(Treatment).where(Treatment.patient_id == p.id, Treatment.category == "medicine",
                                                    Treatment.status == "active")))
    meds = [treatment_label(t.category, t.name, t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)
            + ("" if t.drug_coded is not False else " (not coded)") for t in active]
    ome = current_ome(active)
    flag_lines = []
    case_flags = for_case(s, case.id)
    for f in case_flags:
        if f.severity == "info":
            continue
        resp = d.flag_responses.get(f.code, {})
        words = FLAG_RESPONSES.get(resp.get("response", ""), "no response recorded")
        extra = (resp.get("reason_code") or "").replace("_", " ")
        note = resp.get("note") or ""
        flag_lines.append(f"{f.label}: {f.reason} — hub response: {words}"
                          + (f" ({extra})" if extra else "") + (f"; {note}" if note else ""))
    items = []
    for r in d.recommendations:
        rationale = "; ".join(f"{h['guideline']}: {h['rule'].replace('_', ' ')}" for h in r.guideline_hits or [])
        if r.guideline_override:
            rationale += f"; override: {r.guideline_override}"
        items.append(letters.LetterItem(kind=r.kind, description=r.description,
                                        owner=owner_label(s, r.owner_role, r.owner_user_id, case), due=r.due_date,
                                        for_patient=r.for_patient or r.owner_role == "patient",
                                        rationale=rationale.strip("; ")))
    changes = [letters.MedicationChange(
        drug=r.drug or r.description, change=letters.CHANGE_OF_KIND[r.kind], dose_schedule=r.dose_schedule or "",
        review_date=r.review_date or d.follow_up_date,
        rationale="; ".join(f"{h['guideline']}: {h['rule'].replace('_', ' ')}" for h in r.guideline_hits or []))
        for r in d.recommendations if r.kind in letters.CHANGE_OF_KIND and r.kind in RECOMMENDATION_TYPES]
    goal_items = [letters.LetterGoal(
        text=f"{g.target_activity}{', ' + g.support_needed if g.support_needed else ''}, {g.performance_quantifier}",
        levels={int(k): v for k, v in (g.levels or {}).items()}, due=g.due_date) for g in d.goals]
    safety = [f.reason for f in case_flags if f.code == "safety_phq9"]
    return letters.LetterData(
        patient_name=f"{p.given_name} {p.family_name}", nhs_number=format_nhs_number(p.nhs_number),
        birth_year=p.birth_year, date_of_birth=p.date_of_birth, address=p.address or "", postcode=p.postcode or "",
        sex=p.sex, practice_name=case.practice.name, practice_ods_code=case.practice.ods_code or "",
        referrer_name=case.referrer.name,
        meeting_date=meeting.starts_at.date(), meeting_type="Virtual pain hub MDT", attendees=attendees,
        chair_name=meeting.chair.name, clinical_question=case.clinical_question, answer=d.answer,
        condition=CONDITIONS.get(case.condition, case.condition),
        pain_classification=PAIN_CLASSIFICATIONS.get(case.pain_classification, case.pain_classification),
        formulation=d.formulation, pathway_step=PATHWAY_STEP_LABELS.get(d.pathway_step, d.pathway_step),
        allergies=d.allergies, assessment_lines=lines, medication_lines=meds,
        total_ome=ome.total if ome.on_opioids else None, ome_excluded=ome.excluded, medication_changes=changes,
        flags_and_responses=flag_lines, recommendations=items, goals=goal_items, what_matters=_what_matters(s, case, d),
        beliefs_concerns=d.beliefs_concerns, options_discussed=d.options_discussed,
        option_preferred=d.option_preferred, options_declined=d.options_declined,
        discussed_with_patient=d.discussed_with_patient, patient_view=d.patient_view,
        patient_summary=d.patient_summary or "", safety_netting=d.safety_netting, safety_alerts=safety,
        follow_up_date=d.follow_up_date,
        rediscussion_criteria="Re-list with the hub if the follow-up review shows no important improvement, an action "
                              "is overdue, or a new safety, inertia or disengagement flag appears.",
        completed_by=actor.name, completed_by_role="Hub chair", completed_on=date.today(),
        distribution=[f"{case.referrer.name}, {case.practice.name}", f"{p.given_name} {p.family_name} (patient copy)"])



def current_ome(treatments):
    """OME summary of a patient's active medicines (a lower bound naming what it excludes). The medicines are
    taken in the order they were started (then recorded), so the excluded ones are always named in the same
    order on the case page, the letter and the FHIR export, whatever order the database returned them in."""
    from hub.clinical import opioids

    ordered = sorted((t for t in treatments if t.drug), key=lambda t: (t.start_date or date.min, t.id or 0))
    return opioids.ome_summary([{"drug": t.drug, "route": t.route, "daily_dose_mg": t.daily_dose_mg,
                                 "patch_mcg_per_h": t.patch_mcg_per_h} for t in ordered])


def _what_matters(s, case: Case, d: Decision) -> str:
    """The patient's own 'what matters to me' when they gave it through a questionnaire link, else the MDT's note."""
    from hub.invitations import letter_what_matters

    return letter_what_matters(s, case.id, d.what_matters)


@dataclass(frozen=True, slots=True)
class LetterView:
    """An outcome letter as the case page and the inbox show it: the GP letter and the patient's version, its
    PRSB sections (for the PDF), and where it stands (sent, opened by the practice, acknowledged)."""

    letter_id: int
    case_id: int
    markdown: str  # the letter for the GP
    patient_markdown: str  # the plain-language version for the patient
    sections: tuple[Section, ...]
    status: str  # hub.vocab.LETTER_STATUSES
    sent_at: datetime | None
    opened_at: datetime | None
    acknowledged_at: datetime | None

    @property
    def opened(self) -> bool:
        """True once someone of the practice has opened the letter (only then can it be acknowledged)."""
        return self.opened_at is not None

    @property
    def acknowledged(self) -> bool:
        """True when the practice has acknowledged the letter."""
        return self.status == "acknowledged"


def _letter_view(letter: Letter) -> LetterView:
    return LetterView(
        letter_id=letter.id, case_id=letter.case_id, markdown=letter.body_markdown,
        patient_markdown=letter.patient_markdown,
        sections=tuple(Section(x["title"], x.get("code"), x["conformance"], x["body"]) for x in letter.sections or ()),
        status=letter.status, sent_at=letter.sent_at, opened_at=letter.opened_at,
        acknowledged_at=letter.acknowledged_at)


def letter_for(session_factory: SessionFactory, actor: Actor, letter_id: int) -> LetterView:
    """A letter's text (clinician and patient versions) if the actor may see its case."""
    with session_factory() as s:
        letter = s.get(Letter, letter_id)
        if letter is None:
            raise NotFound("No such letter.")
        case = s.get_one(Case, letter.case_id)
        if not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such letter in your scope.")
        return _letter_view(letter)


def case_letters(session_factory: SessionFactory, actor: Actor, case_id: int) -> list[LetterView]:
    """Letters of a case, newest first."""
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case in your scope.")
        return [_letter_view(x)
                for x in s.scalars(select(Letter).where(Letter.case_id == case_id).order_by(Letter.id.desc()))]


def minutes(session_factory: SessionFactory, actor: Actor, meeting_id: int):
    """Minutes of a meeting: attendance, quorum, each case's outcome and actions."""
    from hub import letters, meetings

    view = meetings.meeting_view(session_factory, actor, meeting_id)
    with session_factory() as s:
        cases: list[letters.MinutesCase] = []
        for row in view.agenda:
            d = s.scalar(select(Decision).where(Decision.agenda_item_id == row.item_id))
            if d is not None and d.status == "final":
                outcome = f"{d.answer} (follow-up {d.follow_up_date:%d %b %Y})"
                acts: list[tuple[str, str, date | None]] = [
                    (a.description, owner_label(s, a.owner_role, a.owner_user_id, s.get(Case, row.case_id)),
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


def letter_pdf(session_factory: SessionFactory, actor: Actor, letter_id: int, patient_version: bool = False) -> bytes:
    """The stored letter as a PDF (clinician letter, or the plain-language patient version)."""
    from hub import letters

    view = letter_for(session_factory, actor, letter_id)
    letter = letters.Letter(sections=view.sections, missing_mandatory=(), markdown=view.markdown,
                            patient_markdown=view.patient_markdown)
    return letters.letter_pdf(letter, patient_version=patient_version)

