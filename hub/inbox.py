"""The inbox: outcome letters for the PCP to acknowledge and actions for their owners to complete."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select

from db.models import Action, Case, Letter, utcnow
from hub import audit, flags
from hub.access import Actor, can_see_case, owner_label, require_role
from hub.correspondence import LetterView, letter_for
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.text import clean_text
from db.engine import SessionFactory

INBOX_RECENT_DONE = 50  # done actions and acknowledged letters shown (most recent first); open ones are all shown
DUE_THIS_WEEK_DAYS = 7  # "due this week": not overdue and due within this many days of today


def _case_label(case_id: int, patient_name: str) -> str:
    return f"Case {case_id} · {patient_name}"


@dataclass(frozen=True, slots=True)
class InboxLetter:
    """An outcome letter as a row of the PCP's inbox: whose case, when it was sent, and where it stands."""

    letter_id: int
    case_id: int
    patient_name: str  # given and family name
    sent_at: datetime | None
    status: str  # hub.vocab.LETTER_STATUSES
    opened: bool  # someone of the practice has opened it (only then can it be acknowledged)
    acknowledged_at: datetime | None

    @property
    def case_label(self) -> str:
        """'Case 12 · Ann Smith', as the inbox names the case."""
        return _case_label(self.case_id, self.patient_name)

    @property
    def acknowledged(self) -> bool:
        """True when the practice has acknowledged the letter."""
        return self.status == "acknowledged"


@dataclass(frozen=True, slots=True)
class InboxAction:
    """One of my actions as a row of the inbox: the case and patient, what to do, by when, and whether done."""

    action_id: int
    case_id: int
    patient_name: str  # given and family name
    description: str
    due_date: date
    status: str  # hub.vocab.ACTION_STATUSES
    overdue: bool  # open and due before today
    completed_at: datetime | None
    note: str

    @property
    def case_label(self) -> str:
        """'Case 12 · Ann Smith', as the inbox names the case."""
        return _case_label(self.case_id, self.patient_name)


@dataclass(frozen=True, slots=True)
class InboxView:
    """The inbox grouped as the day is worked. Letters (PCP only): every one not yet acknowledged (newest
    sent first), then the latest acknowledged. My open actions in due-date order: overdue, due this week,
    later; then the latest done."""

    letters: tuple[InboxLetter, ...]
    overdue: tuple[InboxAction, ...]
    this_week: tuple[InboxAction, ...]
    later: tuple[InboxAction, ...]
    done: tuple[InboxAction, ...]

    @property
    def letters_to_read(self) -> tuple[InboxLetter, ...]:
        """The letters not yet acknowledged."""
        return tuple(x for x in self.letters if not x.acknowledged)

    @property
    def open(self) -> tuple[InboxAction, ...]:
        """My open actions that are not overdue (due this week, then later)."""
        return self.this_week + self.later


@dataclass(frozen=True, slots=True)
class ActionView:
    """An action as the case page lists it: what to do, who owns it, by when, and where it stands."""

    action_id: int
    case_id: int
    description: str
    owner: str  # in words (hub.access.owner_label): the named user, "GP (Dr A)", or the owning role
    due_date: date
    status: str  # hub.vocab.ACTION_STATUSES
    overdue: bool  # open and due before today
    note: str
    completed_at: datetime | None


def _my_actions(actor: Actor) -> ColumnElement[bool]:
    """The actions the actor owns: theirs by name, or their discipline's or the hub's when no one is named."""
    conditions = [Action.owner_user_id == actor.user_id]
    if actor.discipline:
        conditions.append((Action.owner_role == actor.discipline) & Action.owner_user_id.is_(None))
    if actor.is_hub_member:
        conditions.append((Action.owner_role == "hub") & Action.owner_user_id.is_(None))
    return or_(*conditions)


def inbox(session_factory: SessionFactory, actor: Actor, today: date | None = None) -> InboxView:
    """Letters (PCP): every one not yet acknowledged and the latest acknowledged; my actions: every open
    one (overdue and not yet due) and the latest done. Old history never pushes open work out of view."""
    today = today or date.today()
    if not actor.is_clinical:
        raise PermissionDenied("The inbox is for clinical roles.")
    with session_factory() as s:
        letters_out: list[InboxLetter] = []
        if actor.has("pcp") and actor.practice_id is not None:
            base = (select(Letter, Case).join(Case, Case.id == Letter.case_id)
                    .where(Case.practice_id == actor.practice_id))
            pending = base.where(Letter.status != "acknowledged").order_by(Letter.sent_at.desc())
            recent = (base.where(Letter.status == "acknowledged").order_by(Letter.acknowledged_at.desc())
                      .limit(INBOX_RECENT_DONE))
            for letter_q in (pending, recent):
                for letter, case in s.execute(letter_q):
                    letters_out.append(InboxLetter(
                        letter_id=letter.id, case_id=case.id,
                        patient_name=f"{case.patient.given_name} {case.patient.family_name}",
                        sent_at=letter.sent_at, status=letter.status, opened=letter.opened_at is not None,
                        acknowledged_at=letter.acknowledged_at))
        mine = select(Action, Case).join(Case, Case.id == Action.case_id).where(_my_actions(actor))
        open_q = mine.where(Action.status == "open").order_by(Action.due_date, Action.id)
        done_q = (mine.where(Action.status == "done").order_by(Action.completed_at.desc(), Action.id.desc())
                  .limit(INBOX_RECENT_DONE))
        rows: list[InboxAction] = []
        for q in (open_q, done_q):
            for a, case in s.execute(q):
                if not can_see_case(actor, case.practice_id, case.status) and a.owner_user_id != actor.user_id:
                    continue
                rows.append(InboxAction(
                    action_id=a.id, case_id=case.id,
                    patient_name=f"{case.patient.given_name} {case.patient.family_name}",
                    description=a.description, due_date=a.due_date, status=a.status,
                    overdue=a.status == "open" and a.due_date < today, completed_at=a.completed_at, note=a.note))
    week = today + timedelta(days=DUE_THIS_WEEK_DAYS)
    return InboxView(
        letters=tuple(letters_out),
        overdue=tuple(r for r in rows if r.overdue),
        this_week=tuple(r for r in rows if r.status == "open" and not r.overdue and r.due_date <= week),
        later=tuple(r for r in rows if r.status == "open" and r.due_date > week),
        done=tuple(r for r in rows if r.status == "done"))


def acknowledge_letter(session_factory: SessionFactory, actor: Actor, letter_id: int) -> None:
    """The PCP acknowledges an outcome letter (recorded and audited)."""
    require_role(actor, "pcp")
    with session_factory.begin() as s:
        letter = s.get(Letter, letter_id)
        if letter is None:
            raise NotFound("No such letter.")
        case = s.get_one(Case, letter.case_id)
        if case.practice_id != actor.practice_id:
            raise NotFound("No such letter for your practice.")
        if letter.status == "acknowledged":
            return
        if letter.opened_at is None:
            raise ValidationError({"letter": "Open and read the letter before acknowledging it."})
        letter.status, letter.acknowledged_at, letter.acknowledged_by = "acknowledged", utcnow(), actor.user_id
        audit.record(s, actor, "letter.acknowledge", "letter", letter.id, {"case_id": case.id})


def open_letter(session_factory: SessionFactory, actor: Actor, letter_id: int) -> LetterView:
    """The letter's text for reading; the first time someone of the practice opens it, that is recorded
    (and audited): only an opened letter can be acknowledged."""
    view = letter_for(session_factory, actor, letter_id)
    if actor.has("pcp"):
        with session_factory.begin() as s:
            letter = s.get_one(Letter, letter_id)
            case = s.get_one(Case, letter.case_id)
            if letter.opened_at is None and case.practice_id == actor.practice_id:
                letter.opened_at, letter.opened_by = utcnow(), actor.user_id
                audit.record(s, actor, "letter.open", "letter", letter.id, {"case_id": case.id})
                view = replace(view, opened_at=letter.opened_at)
    return view


def counts(session_factory: SessionFactory, actor: Actor, today: date | None = None) -> tuple[int, int]:
    """(letters not yet acknowledged, my overdue actions) for the sidebar badge: two COUNT queries."""
    today = today or date.today()
    if not actor.is_clinical:
        return 0, 0
    with session_factory() as s:
        letters = 0
        if actor.has("pcp") and actor.practice_id is not None:
            letters = s.scalar(select(func.count()).select_from(Letter).join(Case, Case.id == Letter.case_id)
                               .where(Case.practice_id == actor.practice_id, Letter.status != "acknowledged")) or 0
        overdue = s.scalar(select(func.count()).select_from(Action).where(
            _my_actions(actor), Action.status == "open", Action.due_date < today)) or 0
        return int(letters), int(overdue)


def complete_action(session_factory: SessionFactory, actor: Actor, action_id: int, note: str = "") -> None:
    """The owner marks an action done, with an optional note."""
    note = clean_text(note, "note", field="note", label="note")
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



def case_actions(session_factory: SessionFactory, actor: Actor, case_id: int,
                 today: date | None = None) -> list[ActionView]:
    """Actions of a case with owner, due date and status, earliest due first."""
    today = today or date.today()
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound("No such case in your scope.")
        return [ActionView(action_id=a.id, case_id=a.case_id, description=a.description,
                           owner=owner_label(s, a.owner_role, a.owner_user_id, case), due_date=a.due_date,
                           status=a.status, overdue=a.status == "open" and a.due_date < today, note=a.note,
                           completed_at=a.completed_at)
                for a in s.scalars(select(Action).where(Action.case_id == case_id).order_by(Action.due_date))]
