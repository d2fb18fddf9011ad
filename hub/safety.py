"""A practice's safety responder: the PCP of the practice who owns its open PHQ-9 item 9 safety alerts.

An admin names one active PCP of the practice (`set_responder`, audited). The case queue asks `queue_notice`
what to show above the queue: the responder gets their practice's open alerts, oldest first, each saying
whether it came from a form the patient completed through an invitation link and when; the practice's other
PCPs and the hub's members get the generic banner as before; when the practice has no (valid) responder its
PCPs are told so, so that an open alert is never without an owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from db.models import Assessment, Case, Patient, Practice, User
from hub import audit
from hub.access import Actor, require_clinical, require_role
from hub.clinical.signals import fmt_day
from hub.errors import PermissionDenied, ValidationError
from db.engine import SessionFactory

NO_RESPONDER = "No safety responder is set for this practice: ask your admin"


@dataclass(frozen=True)
class ResponderAlert:
    """One open PHQ-9 item 9 alert on a case of the responder's practice."""

    case_id: int
    patient_id: int
    patient: str  # initials, as in the queue
    assessment_id: int
    answered_on: date
    recorded_at: datetime | None
    patient_completed: bool

    def source(self, today: date | None = None) -> str:
        """Where the answer came from and when, in words."""
        if self.patient_completed:
            at = f" at {self.recorded_at:%H:%M} UTC" if self.recorded_at else ""
            return (f"completed by the patient through the practice's link on {fmt_day(self.answered_on, today)}"
                    f"{at}")
        return f"entered by a clinician, answered on {fmt_day(self.answered_on, today)}"


@dataclass(frozen=True)
class QueueNotice:
    """What the case queue shows above the list about safety alerts.

    kind: "responder" (the actor is their practice's safety responder: `alerts` are theirs to act on),
    "no_responder" (the actor's practice has none: the generic banner plus NO_RESPONDER) or "generic"."""

    kind: str
    practice: str | None = None
    responder: str | None = None
    alerts: tuple[ResponderAlert, ...] = field(default_factory=tuple)

    @property
    def patients(self) -> int:
        return len({a.patient_id for a in self.alerts})

    def headline(self) -> str:
        """'You are Northgate Medical Centre's safety responder: 2 patients need contact today'."""
        n = self.patients
        need = f"{n} patient needs" if n == 1 else f"{n} patients need"
        return f"You are {self.practice}'s safety responder: {need} contact today"


def _valid_responder(s, practice: Practice, user_id: int | None) -> User | None:
    """The user if they are an active PCP of the practice, else None."""
    if user_id is None:
        return None
    user = s.get(User, user_id)
    if user is None or not user.active or user.practice_id != practice.id or "pcp" not in {r.role for r in user.roles}:
        return None
    return user


def responder_choices(session_factory: SessionFactory, actor: Actor, practice_id: int) -> list[tuple[int, str]]:
    """(id, name) of the practice's active PCPs: who may be its safety responder (admin only)."""
    require_role(actor, "admin")
    with session_factory() as s:
        users = s.scalars(select(User).where(User.practice_id == practice_id, User.active.is_(True))
                          .order_by(User.name)).all()
        return [(u.id, u.name) for u in users if "pcp" in {r.role for r in u.roles}]


def practice_responders(session_factory: SessionFactory, actor: Actor) -> list[dict]:
    """Each practice with its safety responder's name (None when unset, or no longer an active PCP of it)."""
    require_role(actor, "admin")
    with session_factory() as s:
        rows = []
        for p in s.scalars(select(Practice).order_by(Practice.name)):
            user = _valid_responder(s, p, p.safety_responder_id)
            rows.append({"practice_id": p.id, "practice": p.name, "responder_id": user.id if user else None,
                         "responder": user.name if user else None})
        return rows


def set_responder(session_factory: SessionFactory, actor: Actor, practice_id: int, user_id: int | None) -> None:
    """Admin names the practice's safety responder (None clears it). The responder must be an active PCP
    of that practice: they own its open safety alerts, so they must be able to see its cases."""
    require_role(actor, "admin")
    with session_factory.begin() as s:
        practice = s.get(Practice, practice_id)
        if practice is None:
            raise ValidationError({"practice": "Choose a practice."})
        if user_id is not None and _valid_responder(s, practice, user_id) is None:
            raise ValidationError({"safety_responder": (
                f"The safety responder must be an active PCP of {practice.name}: they follow up its patients' "
                "safety alerts, so they must see its cases. Choose one of the practice's PCPs, or give that "
                "user the PCP role and this practice first.")})
        before = practice.safety_responder_id
        if before == user_id:
            return
        practice.safety_responder_id = user_id
        audit.record(s, actor, "practice.safety_responder", "practice", practice.id,
                     {"safety_responder_id": [before, user_id]})


def _open_alerts(s, practice_id: int) -> tuple[ResponderAlert, ...]:
    q = (select(Case.id, Case.patient_id, Patient.given_name, Patient.family_name, Assessment.id.label("aid"),
                Assessment.administered_on, Assessment.created_at, Assessment.mode)
         .join(Patient, Patient.id == Case.patient_id)
         .join(Assessment, Assessment.patient_id == Case.patient_id)
         .where(Case.practice_id == practice_id, Case.safety_alert.is_(True), Case.status != "closed",
                Assessment.safety_alert.is_(True), Assessment.safety_action.is_(None))
         .order_by(Assessment.administered_on, Assessment.created_at, Assessment.id, Case.id))
    return tuple(ResponderAlert(r.id, r.patient_id, f"{r.given_name[:1]}{r.family_name[:1]}".upper(), r.aid,
                                r.administered_on, r.created_at, r.mode == "patient-completed")
                 for r in s.execute(q))


def responder_alerts(session_factory: SessionFactory, actor: Actor) -> tuple[ResponderAlert, ...]:
    """The open safety alerts of the actor's practice, oldest first; only for the practice's safety responder
    (anyone else sees the queue's generic banner)."""
    require_clinical(actor)
    with session_factory() as s:
        practice = s.get(Practice, actor.practice_id) if actor.practice_id is not None else None
        if (practice is None or not actor.has("pcp") or practice.safety_responder_id != actor.user_id
                or _valid_responder(s, practice, actor.user_id) is None):
            raise PermissionDenied("Only the practice's safety responder has this list.")
        return _open_alerts(s, practice.id)


def queue_notice(session_factory: SessionFactory, actor: Actor) -> QueueNotice:
    """What the case queue shows about safety alerts for this user (see QueueNotice)."""
    require_clinical(actor)
    if not actor.has("pcp") or actor.practice_id is None:
        return QueueNotice("generic")
    with session_factory() as s:
        practice = s.get(Practice, actor.practice_id)
        if practice is None:
            return QueueNotice("generic")
        responder = _valid_responder(s, practice, practice.safety_responder_id)
        if responder is None:
            return QueueNotice("no_responder", practice.name)
        if responder.id != actor.user_id:
            return QueueNotice("generic", practice.name, responder.name)
        return QueueNotice("responder", practice.name, responder.name, _open_alerts(s, practice.id))
