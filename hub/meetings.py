"""Hub meetings: creation with a proposed agenda, ordering, carry-forward, attendance and quorum,
discipline preparation and the readiness check of each case, and the minutes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    AgendaItem,
    Assessment,
    Attendance,
    Case,
    Decision,
    DisciplineInput,
    Meeting,
    MeetingLive,
    Treatment,
    User,
    utcnow,
)
from hub import audit, flags, workflow
from hub.access import Actor, require_role
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError, edit_conflict_on_race
from hub.text import check_text, clean_text, parse_id
from hub.vocab import AGENDA_STATUSES, CONDITIONS, DISCIPLINES, PRIMARY_OUTCOMES
from db.engine import SessionFactory

DEFAULT_QUORUM = ("pain_medicine", "physiotherapy", "psychology")
DEFAULT_MINUTES_PER_CASE = 10
DEFAULT_MEETING_MINUTES = 90
UPCOMING = ("planned", "in_progress")
PSYCHOSOCIAL_FLAGS = {"safety_phq9", "treatment_burden"}


def _require_hub(actor: Actor) -> None:
    if not actor.is_hub_member:
        raise PermissionDenied("Hub meetings are for hub specialists and chairs.")


def _meeting(s: Session, meeting_id: int) -> Meeting:
    m = s.get(Meeting, meeting_id) if parse_id(meeting_id) else None
    if m is None:
        raise NotFound(f"Meeting {meeting_id} does not exist.")
    return m


def _editable(m: Meeting) -> None:
    if m.status == "finalised":
        raise ValidationError({"meeting": "This meeting is finalised; its agenda can no longer change."})


def not_before_meeting_day(m: Meeting, what: str, today: date | None = None) -> None:
    """Attendance and final decisions are records of what happened: refused before the meeting's day."""
    today = today or date.today()
    if today < m.starts_at.date():
        raise ValidationError({"meeting_day": f"{what} can be recorded on or after the meeting day "
                                              f"({m.starts_at:%d %b %Y}), not before."})


def _agenda_item(s: Session, item_id: int, editable: bool = True) -> AgendaItem:
    """An agenda item (NotFound if missing); with `editable`, its meeting must not be finalised."""
    item = s.get(AgendaItem, item_id) if parse_id(item_id) else None
    if item is None:
        raise NotFound("No such agenda item.")
    if editable:
        _editable(_meeting(s, item.meeting_id))
    return item


def _schedule(s: Session, actor: Actor, case: Case) -> None:
    """Put a case into 'scheduled' (via triage) when it joins an agenda."""
    if case.status == "submitted":
        audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, "triaged"))
    if case.status == "triaged":
        audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, "scheduled"))


def _add_item(s: Session, actor: Actor, m: Meeting, case: Case, carried_from: int | None = None) -> AgendaItem:
    position = (s.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == m.id)) or 0) + 1
    item = AgendaItem(meeting_id=m.id, case_id=case.id, position=position, minutes=m.minutes_per_case,
                      status="pending", carried_from_meeting_id=carried_from)
    s.add(item)
    _schedule(s, actor, case)
    s.flush()
    audit.record(s, actor, "agenda.add", "agenda_item", item.id,
                 {"meeting_id": m.id, "case_id": case.id, "carried_from": carried_from})
    return item


def _on_upcoming_agenda(s: Session) -> set[int]:
    return set(s.scalars(select(AgendaItem.case_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                         .where(Meeting.status.in_(UPCOMING), AgendaItem.status == "pending")))


def create_meeting(session_factory: SessionFactory, actor: Actor, *, title: str, starts_at: datetime,
                   video_link: str = "",
                   minutes_per_case: int = DEFAULT_MINUTES_PER_CASE, duration_minutes: int = DEFAULT_MEETING_MINUTES,
                   quorum_disciplines: list[str] | None = None, propose: bool = True) -> int:
    """A chair creates a meeting; carried-forward cases come first, then the queue by priority fills it."""
    require_role(actor, "chair")
    errors: dict[str, str] = {}
    title = check_text(errors, "title", title, "title", label="meeting title")
    if not title.strip() and "title" not in errors:
        errors["title"] = "Give the meeting a title."
    if starts_at is None:
        errors["starts_at"] = "Choose the date and time."
    if not (1 <= int(minutes_per_case or 0) <= 120):
        errors["minutes_per_case"] = "Minutes per case must be between 1 and 120."
    if not (10 <= int(duration_minutes or 0) <= 480):
        errors["duration_minutes"] = "Meeting length must be between 10 and 480 minutes."
    link = check_text(errors, "video_link", video_link, "link", label="video link").strip()
    if link and "video_link" not in errors and not link.startswith("https://"):
        errors["video_link"] = "The video link must start with https://"
    quorum = list(quorum_disciplines if quorum_disciplines is not None else DEFAULT_QUORUM)
    if any(d not in DISCIPLINES for d in quorum):
        errors["quorum_disciplines"] = "Unknown discipline in the quorum rule."
    if errors:
        raise ValidationError(errors)
    with session_factory.begin() as s:
        m = Meeting(title=title.strip(), starts_at=starts_at, video_link=link, chair_id=actor.user_id,
                    minutes_per_case=int(minutes_per_case), duration_minutes=int(duration_minutes),
                    quorum_disciplines=quorum)
        s.add(m)
        s.flush()
        audit.record(s, actor, "meeting.create", "meeting", m.id,
                     {"title": m.title, "starts_at": starts_at, "quorum": quorum})
        if propose:
            slots = max(1, int(duration_minutes) // int(minutes_per_case))
            taken = _on_upcoming_agenda(s)
            # Cases not discussed at an earlier meeting and not yet on another agenda come first.
            carried = s.execute(
                select(AgendaItem.case_id, AgendaItem.meeting_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                .where(AgendaItem.status == "carried_forward", Meeting.status == "finalised")
                .order_by(Meeting.starts_at.desc(), AgendaItem.position)).all()  # most recent carry wins
            for case_id, from_meeting in carried:
                case = s.get_one(Case, case_id)
                if case_id in taken or case.status not in ("submitted", "triaged", "scheduled"):
                    continue
                _add_item(s, actor, m, case, carried_from=from_meeting)
                taken.add(case_id)
            # Cases marked scheduled but on no upcoming agenda belong to the next meeting too.
            scheduled = select(Case).where(Case.status == "scheduled").order_by(Case.priority.desc(), Case.id)
            for case in s.scalars(scheduled):
                if case.id not in taken:
                    _add_item(s, actor, m, case)
                    taken.add(case.id)
            added = s.scalar(select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == m.id)) or 0
            if added < slots:
                q = (select(Case).where(Case.status.in_(("submitted", "triaged")), Case.id.notin_(taken) if taken
                                        else Case.id.is_not(None))
                     .order_by(Case.priority.desc(), Case.submitted_at.asc(), Case.id).limit(slots - added))
                for case in s.scalars(q):
                    _add_item(s, actor, m, case)
        return m.id


def add_case(session_factory: SessionFactory, actor: Actor, meeting_id: int, case_id: int) -> int:
    """The chair adds a case to the agenda."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        m = _meeting(s, meeting_id)
        _editable(m)
        case = s.get(Case, case_id) if parse_id(case_id) else None
        if case is None or case.status not in ("submitted", "triaged", "scheduled"):
            raise ValidationError({"case_id": "Only a case waiting for the hub (submitted, triaged or scheduled) can "
                                              "join an agenda."})
        if case.id in _on_upcoming_agenda(s):
            raise ValidationError({"case_id": f"Case {case_id} is already on an upcoming agenda."})
        return _add_item(s, actor, m, case).id


def remove_item(session_factory: SessionFactory, actor: Actor, item_id: int) -> None:
    """The chair removes a case from the agenda; it goes back to the queue as triaged."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        item = _agenda_item(s, item_id)
        if item.status != "pending" or s.scalar(select(Decision.id).where(Decision.agenda_item_id == item.id)):
            raise ValidationError({"agenda": "A case with a recorded discussion cannot be removed from the agenda."})
        case = item.case
        if case.status == "scheduled":
            audit.record(s, actor, "case.status", "case", case.id, workflow.move(case, "triaged"))
        audit.record(s, actor, "agenda.remove", "agenda_item", item.id,
                     {"meeting_id": item.meeting_id, "case_id": item.case_id})
        s.delete(item)


def move_item(session_factory: SessionFactory, actor: Actor, item_id: int, offset: int) -> None:
    """The chair moves an agenda item up (offset -1) or down (+1)."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        item = _agenda_item(s, item_id)
        items = list(s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == item.meeting_id)
                               .order_by(AgendaItem.position)))
        i = items.index(item)
        j = i + (1 if offset > 0 else -1)
        if not 0 <= j < len(items):
            return
        items[i], items[j] = items[j], items[i]
        for pos, it in enumerate(items, 1):
            it.position = pos
        audit.record(s, actor, "agenda.reorder", "meeting", item.meeting_id,
                     {"order": [it.case_id for it in items]})


def set_item_minutes(session_factory: SessionFactory, actor: Actor, item_id: int, minutes: int) -> None:
    """The chair changes the time slot of one case."""
    require_role(actor, "chair")
    if not 1 <= int(minutes) <= 120:
        raise ValidationError({"minutes": "Minutes per case must be between 1 and 120."})
    with session_factory.begin() as s:
        item = _agenda_item(s, item_id)
        audit.record(s, actor, "agenda.minutes", "agenda_item", item.id, {"minutes": [item.minutes, int(minutes)]})
        item.minutes = int(minutes)


# ----------------------------------------------------------------------------- attendance and quorum


@dataclass(frozen=True)
class Quorum:
    """Whether the meeting's quorum rule is met, and what is missing."""

    met: bool
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def quorum(required: list[str], present: set[str], psychosocial_cases: list[str]) -> Quorum:
    """Quorum: every required discipline present; psychology also required when a case has psychosocial flags."""
    missing = [d for d in required if d not in present]
    notes = []
    if psychosocial_cases and "psychology" not in present and "psychology" not in missing:
        missing.append("psychology")
        notes.append(f"Psychology is required for case(s) with psychosocial flags: {', '.join(psychosocial_cases)}")
    return Quorum(not missing, tuple(DISCIPLINES.get(d, d) for d in missing), tuple(notes))


def _psychosocial(s: Session, case: Case) -> bool:
    if case.risk_band == "high" or any(f.code in PSYCHOSOCIAL_FLAGS for f in flags.for_case(s, case.id)):
        return True
    for inst in ("phq9", "gad7"):
        total = s.scalar(select(Assessment.total).where(Assessment.patient_id == case.patient_id,
                                                        Assessment.instrument == inst,
                                                        Assessment.status == "completed")
                         .order_by(Assessment.administered_on.desc()).limit(1))
        if total is not None and total >= 10:
            return True
    return False


def _quorum_for(s: Session, m: Meeting) -> Quorum:
    present = {a.discipline for a in s.scalars(select(Attendance).where(Attendance.meeting_id == m.id))}
    items = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == m.id)).all()
    psycho = [f"case {i.case_id}" for i in items if _psychosocial(s, i.case)]
    return quorum(list(m.quorum_disciplines or []), present, psycho)


def set_attendance(session_factory: SessionFactory, actor: Actor, meeting_id: int, attendees: list[tuple[int,
                   str]]) -> Quorum:
    """The chair records who attended in which discipline; returns the quorum status."""
    require_role(actor, "chair")
    errors = {}
    for uid, disc in attendees:
        if disc not in DISCIPLINES and disc != "general_practice":
            errors["attendees"] = f"Unknown discipline '{disc}'."
    if errors:
        raise ValidationError(errors)
    with session_factory.begin() as s:
        m = _meeting(s, meeting_id)
        _editable(m)
        not_before_meeting_day(m, "Attendance")
        before = sorted((a.user_id, a.discipline) for a in s.scalars(select(Attendance)
                                                                      .where(Attendance.meeting_id == m.id)))
        for a in s.scalars(select(Attendance).where(Attendance.meeting_id == m.id)):
            s.delete(a)
        s.flush()
        for uid, disc in dict(attendees).items():
            if s.get(User, uid) is None:
                raise ValidationError({"attendees": f"Unknown user {uid}."})
            s.add(Attendance(meeting_id=m.id, user_id=uid, discipline=disc))
        s.flush()
        audit.record(s, actor, "meeting.attendance", "meeting", m.id,
                     {"attendance": [before, sorted(dict(attendees).items())]})
        return _quorum_for(s, m)


# ----------------------------------------------------------------------------- preparation and readiness


def readiness(*, question: str, medicines: list[dict], baseline_prom: bool, risk_band: str | None,
              preferences: str) -> list[str]:
    """What a case still lacks before discussion (empty list: ready)."""
    missing = []
    if not (question or "").strip():
        missing.append("clinical question")
    if not medicines:
        missing.append("current medicines (none recorded)")
    elif any(m.get("opioid") and not (m.get("daily_dose_mg") or m.get("patch_mcg_per_h")) for m in medicines):
        missing.append("opioid dose for OME")
    if not baseline_prom:
        missing.append("baseline PROM (PEG, pain NRS, MSK-HQ or ODI)")
    if not risk_band:
        missing.append("risk band (STarT Back / STarT MSK)")
    if not (preferences or "").strip():
        missing.append("patient goals and preferences")
    return missing


def _case_readiness(s: Session, case: Case) -> list[str]:
    from hub.clinical.opioids import is_opioid

    meds = [{"opioid": is_opioid(t.drug or ""), "daily_dose_mg": t.daily_dose_mg, "patch_mcg_per_h": t.patch_mcg_per_h}
            for t in s.scalars(select(Treatment).where(Treatment.patient_id == case.patient_id,
                                                       Treatment.category == "medicine",
                                                       Treatment.status == "active"))]
    baseline = (s.scalar(select(func.count()).select_from(Assessment).where(
        Assessment.patient_id == case.patient_id, Assessment.status == "completed",
        Assessment.instrument.in_(tuple(PRIMARY_OUTCOMES)))) or 0) > 0 or case.baseline_pain is not None
    return readiness(question=case.clinical_question, medicines=meds, baseline_prom=baseline,
                     risk_band=case.risk_band, preferences=f"{case.goals_text} {case.concerns_text}")


def save_preparation(session_factory: SessionFactory, actor: Actor, agenda_item_id: int, text: str) -> None:
    """A specialist records their discipline's preparation on a case before the meeting."""
    require_role(actor, "specialist")
    if not actor.discipline:
        raise PermissionDenied("Your account has no discipline; ask an administrator.")
    body = clean_text(text, "note", field="text", label="preparation notes")
    if not body:
        raise ValidationError({"text": "Write your preparation notes before saving."})
    with session_factory.begin() as s:
        item = _agenda_item(s, agenda_item_id)
        row = s.scalar(select(DisciplineInput).where(DisciplineInput.agenda_item_id == item.id,
                                                     DisciplineInput.discipline == actor.discipline))
        old = row.text if row else None
        if row is None:
            row = DisciplineInput(agenda_item_id=item.id, discipline=actor.discipline, author_id=actor.user_id,
                                  text=body)
            s.add(row)
        else:
            row.text, row.author_id, row.updated_at = body, actor.user_id, utcnow()
        s.flush()
        audit.record(s, actor, "preparation.save", "discipline_input", row.id,
                     {"agenda_item_id": item.id, "case_id": item.case_id, "discipline": actor.discipline,
                      "text": [old, body]})


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class AgendaRow:
    """One agenda line as the meeting pages show it."""

    item_id: int
    position: int
    case_id: int
    case_label: str
    question: str
    priority: float
    flags: str
    minutes: int
    status: str
    status_label: str
    carried_from: int | None
    missing: tuple[str, ...]
    preparation: dict[str, str]
    decision_status: str | None


@dataclass(frozen=True)
class MeetingView:
    """A meeting with its agenda, attendance and quorum."""

    id: int
    title: str
    starts_at: datetime
    video_link: str
    chair: str
    chair_id: int
    status: str
    minutes_per_case: int
    quorum_disciplines: tuple[str, ...]
    quorum: Quorum
    quorum_override_reason: str | None
    attendance: tuple[tuple[int, str, str], ...]  # (user id, name, discipline)
    agenda: tuple[AgendaRow, ...] = field(default_factory=tuple)
    version: int = 1
    duration_minutes: int = DEFAULT_MEETING_MINUTES

    @property
    def booked_minutes(self) -> int:
        """Minutes booked on the agenda (every case's slot)."""
        return sum(r.minutes for r in self.agenda)

    @property
    def overbooked_by(self) -> int:
        """Minutes booked beyond the meeting's length (0 when it fits)."""
        return max(0, self.booked_minutes - self.duration_minutes)


def _case_label(case: Case) -> str:
    p = case.patient
    return f"Case {case.id} · {p.given_name[:1]}{p.family_name[:1]} · {CONDITIONS.get(case.condition, case.condition)}"


def meeting_view(session_factory: SessionFactory, actor: Actor, meeting_id: int) -> MeetingView:
    """The meeting for a hub member: agenda with readiness and preparation, attendance, quorum."""
    _require_hub(actor)
    with session_factory() as s:
        m = _meeting(s, meeting_id)
        items = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == m.id).order_by(AgendaItem.position)).all()
        prep: dict[int, dict[str, str]] = {}
        for di in s.scalars(select(DisciplineInput).where(DisciplineInput.agenda_item_id.in_([i.id for i in items]))):
            prep.setdefault(di.agenda_item_id, {})[DISCIPLINES[di.discipline]] = f"{di.text} — {di.author.name}"
        decisions = dict(s.execute(select(Decision.agenda_item_id, Decision.status)
                                   .where(Decision.agenda_item_id.in_([i.id for i in items]))).all())
        case_flags = flags.for_cases(s, [i.case_id for i in items])
        rows = tuple(AgendaRow(
            i.id, i.position, i.case_id, _case_label(i.case), i.case.clinical_question, float(i.case.priority or 0),
            ", ".join(f.label for f in case_flags[i.case_id] if f.is_open), i.minutes,
            i.status, AGENDA_STATUSES[i.status], i.carried_from_meeting_id, tuple(_case_readiness(s, i.case)),
            prep.get(i.id, {}), decisions.get(i.id)) for i in items)
        att = tuple((a.user_id, a.user.name, a.discipline)
                    for a in s.scalars(select(Attendance).where(Attendance.meeting_id == m.id)))
        return MeetingView(m.id, m.title, m.starts_at, m.video_link, m.chair.name, m.chair_id, m.status,
                           m.minutes_per_case, tuple(m.quorum_disciplines or ()), _quorum_for(s, m),
                           m.quorum_override_reason, att, rows, m.version, m.duration_minutes)


def list_meetings(session_factory: SessionFactory, actor: Actor, include_past: bool = True) -> list[dict]:
    """Meetings, upcoming first, with counts."""
    _require_hub(actor)
    with session_factory() as s:
        counts = dict(s.execute(select(AgendaItem.meeting_id, func.count()).group_by(AgendaItem.meeting_id)).all())
        q = select(Meeting).order_by(Meeting.status == "finalised", Meeting.starts_at.desc())
        if not include_past:
            q = q.where(Meeting.status.in_(UPCOMING))
        return [{"id": m.id, "title": m.title, "starts_at": m.starts_at, "status": m.status,
                 "cases": counts.get(m.id, 0), "chair": m.chair.name} for m in s.scalars(q)]


def preparation_list(session_factory: SessionFactory, actor: Actor) -> list[dict]:
    """For a specialist: the cases on upcoming agendas, with what their discipline has prepared."""
    require_role(actor, "specialist")
    with session_factory() as s:
        q = (select(AgendaItem, Meeting).join(Meeting, Meeting.id == AgendaItem.meeting_id)
             .where(Meeting.status.in_(UPCOMING), AgendaItem.status == "pending")
             .order_by(Meeting.starts_at, AgendaItem.position))
        out = []
        for item, m in s.execute(q):
            mine = s.scalar(select(DisciplineInput.text).where(DisciplineInput.agenda_item_id == item.id,
                                                               DisciplineInput.discipline == actor.discipline))
            out.append({"item_id": item.id, "meeting": f"{m.title} ({m.starts_at:%d %b %H:%M})",
                        "case_id": item.case_id, "case": _case_label(item.case),
                        "question": item.case.clinical_question, "prepared": mine or "",
                        "missing": _case_readiness(s, item.case)})
        return out


@edit_conflict_on_race("Someone changed this meeting at the same moment as you. Nothing of yours was written: "
                       "reload and check the agenda.")
def finalise_meeting(session_factory: SessionFactory, actor: Actor, meeting_id: int, override_reason: str | None = None,
                     expected_version: int | None = None) -> Quorum:
    """Close a meeting: quorum met or a recorded reason; undiscussed cases are carried forward."""
    require_role(actor, "chair")
    reason = clean_text(override_reason, "note", field="quorum", label="reason for finalising without quorum")
    with session_factory.begin() as s:
        m = _meeting(s, meeting_id)
        _editable(m)
        if expected_version is not None and m.version != expected_version:
            raise EditConflict("The meeting changed since you opened it. Reload and check the agenda.")
        q = _quorum_for(s, m)
        if not q.met and len(reason) < 10:
            raise ValidationError({"quorum": f"Quorum not met (missing: {', '.join(q.missing)}). Record why the "
                                             "meeting is finalised without quorum (at least 10 characters)."})
        carried = []
        for item in s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == m.id, AgendaItem.status == "pending")):
            item.status = "carried_forward"
            carried.append(item.case_id)
        m.status, m.finalised_at = "finalised", utcnow()
        m.quorum_override_reason = reason or None
        s.flush()
        # Carry forward to the next planned meeting straight away, if there is one.
        nxt = s.scalar(select(Meeting).where(Meeting.status == "planned", Meeting.starts_at > m.starts_at,
                                             Meeting.id != m.id).order_by(Meeting.starts_at).limit(1))
        if nxt is not None:
            on_next = set(s.scalars(select(AgendaItem.case_id).where(AgendaItem.meeting_id == nxt.id)))
            for case_id in carried:
                if case_id not in on_next:
                    _add_item(s, actor, nxt, s.get_one(Case, case_id), carried_from=m.id)
        audit.record(s, actor, "meeting.finalise", "meeting", m.id,
                     {"quorum_met": q.met, "missing": list(q.missing), "override_reason": reason or None,
                      "carried_forward": carried, "to_meeting": nxt.id if nxt else None})
        return q


def start_meeting(session_factory: SessionFactory, actor: Actor, meeting_id: int) -> None:
    """The chair opens the meeting room (status in progress)."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        m = _meeting(s, meeting_id)
        if m.status == "planned":
            m.status = "in_progress"
            audit.record(s, actor, "meeting.start", "meeting", m.id)


def hub_members(session_factory: SessionFactory) -> list[dict]:
    """Active specialists and chairs with their discipline (for attendance)."""
    from db.models import UserRole

    with session_factory() as s:
        q = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(User.active.is_(True), UserRole.role.in_(("specialist", "chair"))).distinct().order_by(User.name))
        return [{"id": u.id, "name": u.name, "discipline": u.discipline} for u in s.scalars(q)]


# ----------------------------------------------------------------------------- the chair's current case


@dataclass(frozen=True)
class LiveItem:
    """The agenda item the chair has open in the meeting room, and the saved discussion's version."""

    item_id: int
    case_label: str
    decision_version: int
    decision_status: str | None
    updated_at: datetime | None


def set_live_item(session_factory: SessionFactory, actor: Actor, item_id: int) -> bool:
    """The chair opens an agenda item: attendees' meeting rooms follow to it. Returns True when it
    changed (an audit event is written only then, so re-opening the same case writes nothing)."""
    require_role(actor, "chair")
    with session_factory.begin() as s:
        item = _agenda_item(s, item_id, editable=False)
        m = _meeting(s, item.meeting_id)
        if m.status == "finalised":
            return False
        live = s.get(MeetingLive, m.id)
        if live is not None and live.agenda_item_id == item.id:
            return False
        before = live.agenda_item_id if live else None
        if live is None:
            live = MeetingLive(meeting_id=m.id, agenda_item_id=item.id)
            s.add(live)
        live.agenda_item_id, live.updated_by, live.updated_at = item.id, actor.user_id, utcnow()
        s.flush()
        audit.record(s, actor, "meeting.live_item", "meeting", m.id, {"agenda_item_id": [before, item.id]})
        return True


def live_item(session_factory: SessionFactory, actor: Actor, meeting_id: int) -> LiveItem | None:
    """What the chair has open in a meeting (None before the chair opened a case), for hub members."""
    _require_hub(actor)
    with session_factory() as s:
        live = s.get(MeetingLive, meeting_id)
        if live is None:
            return None
        item = s.get_one(AgendaItem, live.agenda_item_id)
        d = s.execute(select(Decision.version, Decision.status, Decision.updated_at)
                      .where(Decision.agenda_item_id == item.id)).first()
        return LiveItem(item.id, _case_label(item.case), d.version if d else 0, d.status if d else None,
                        d.updated_at if d else None)


def agenda_item_context(session_factory: SessionFactory, actor: Actor, item_id: int) -> tuple[MeetingView, AgendaRow]:
    """The meeting an agenda item belongs to, and the item's row."""
    _require_hub(actor)
    with session_factory() as s:
        item = _agenda_item(s, item_id, editable=False)
        meeting_id = item.meeting_id
    view = meeting_view(session_factory, actor, meeting_id)
    return view, next(r for r in view.agenda if r.item_id == item_id)
