"""The patient's voice: invitations to complete questionnaires, goals and "what matters to me" through a link.

A PCP of the case's practice (or the chair, for a case on an upcoming meeting's agenda) invites the patient
to complete a chosen set. The link holds a single-purpose random token; only its SHA-256 is stored. A link
expires (setting ``invitations.expiry_days``), works once per set (completed = used), and can be revoked.
The hub sends nothing itself: the practice sends the link or its QR code by its own route.

The patient's side has no login: the token is the only key, and every function taking a token checks it
again. A wrong, expired, used or revoked token gives the same answer (None / InvitationUnavailable), so a
caller can show one neutral page; failed lookups are rate limited per client address and globally, and
every access is audited with actor None and ``"by": "patient"`` (never the token).

Completed answers become assessments with mode ``patient-completed``, scored by hub.clinical.instruments;
a PHQ-9 item 9 answer above 0 raises the safety alert on the case at once, before the set is sent.

Parts: hub.invitation_links (tokens, links, QR codes, states, item sets) and hub.patient_answers (the
patient's side); this module holds the clinician's side and what the hub reads back, and re-exports both.
"""

from __future__ import annotations

import secrets
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    AgendaItem,
    Case,
    Decision,
    Invitation,
    Meeting,
    Practice,
    utcnow,
)
from hub import audit
from hub import patient_text as text
from hub import settings as hub_settings
from hub.access import Actor, can_edit_case, can_see_case, case_scope, require_clinical
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.vocab import INVITATION_OCCASIONS

# The link basics and the patient's side, re-exported for the callers of hub.invitations.
from hub.invitation_links import DEFAULT_SET as DEFAULT_SET
from hub.invitation_links import FOLLOW_UP_LEAD_DAYS as FOLLOW_UP_LEAD_DAYS
from hub.invitation_links import PATIENT as PATIENT
from hub.invitation_links import RATE_WINDOW as RATE_WINDOW
from hub.invitation_links import SCORED as SCORED
from hub.invitation_links import STATES as STATES
from hub.invitation_links import TOKEN_BYTES as TOKEN_BYTES
from hub.invitation_links import InvitationUnavailable as InvitationUnavailable
from hub.invitation_links import client_key as client_key
from hub.invitation_links import default_items as default_items
from hub.invitation_links import hash_token as hash_token
from hub.invitation_links import item_choices as item_choices
from hub.invitation_links import link_for as link_for
from hub.invitation_links import qr_png as qr_png
from hub.invitation_links import state_of as state_of
from hub.invitation_links import validate_items as validate_items
from hub.patient_answers import PatientView as PatientView
from hub.patient_answers import missing_answers as missing_answers
from hub.patient_answers import open_link as open_link
from hub.patient_answers import rate_limited as rate_limited
from hub.patient_answers import save_answer as save_answer
from hub.patient_answers import save_position as save_position
from hub.patient_answers import submit as submit
from db.engine import SessionFactory


# ------------------------------------------------------------------------------------ clinician side


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued: the token is shown once (only its hash is kept)."""

    invitation_id: int
    token: str
    expires_at: datetime

    def url(self, base_url: str = "") -> str:
        """The link to send."""
        return link_for(self.token, base_url)


def _case_for_invite(s: Session, actor: Actor, case_id: int, occasion: str) -> Case:
    case = s.get(Case, case_id)
    if case is None or not can_see_case(actor, case.practice_id, case.status):
        raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
    if can_edit_case(actor, case.practice_id):
        return case
    if actor.has("chair") and occasion == "pre_meeting" and _upcoming_meeting(s, case.id) is not None:
        return case
    raise PermissionDenied("Only a PCP of the patient's practice, or the chair before a meeting the case is on, "
                           "can invite the patient.")


def _upcoming_meeting(s: Session, case_id: int) -> int | None:
    return s.scalar(select(Meeting.id).join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
                    .where(AgendaItem.case_id == case_id, Meeting.status != "finalised",
                           Meeting.starts_at >= utcnow() - timedelta(hours=12))
                    .order_by(Meeting.starts_at).limit(1))


def _expiry_days(s: Session, expiry_days: int | None) -> int:
    if expiry_days is None:
        return int(hub_settings.get(s, "invitations.expiry_days"))
    if not isinstance(expiry_days, int) or not 1 <= expiry_days <= 90:
        raise ValidationError({"expiry_days": "A link can stay valid for 1 to 90 days."})
    return expiry_days


def _issue(inv: Invitation, days: int, now: datetime) -> tuple[str, datetime]:
    """Give the invitation a fresh token (only its hash is stored); returns the token and its expiry."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(days=days)
    inv.token_hash, inv.status, inv.issued_at, inv.expires_at = hash_token(token), "open", now, expires_at
    return token, expires_at


def create(session_factory: SessionFactory, actor: Actor, case_id: int, items: list[str], occasion: str = "baseline", *,
           expiry_days: int | None = None, now: datetime | None = None) -> IssuedLink:
    """Invite the patient of a case to complete a set now; returns the link (its token is shown only now)."""
    chosen = validate_items(items, occasion)
    now = now or utcnow()
    with session_factory.begin() as s:
        case = _case_for_invite(s, actor, case_id, occasion)
        days = _expiry_days(s, expiry_days)
        inv = Invitation(case_id=case.id, patient_id=case.patient_id, practice_id=case.practice_id, occasion=occasion,
                         items=chosen, created_by=actor.user_id, created_at=now, draft={}, answers={},
                         assessment_ids=[], position=0,
                         meeting_id=_upcoming_meeting(s, case.id) if occasion == "pre_meeting" else None)
        token, expires_at = _issue(inv, days, now)
        s.add(inv)
        s.flush()
        audit.record(s, actor, "invitation.create", "invitation", inv.id,
                     {"case_id": case.id, "occasion": occasion, "items": chosen, "expires_at": expires_at})
        return IssuedLink(inv.id, token, expires_at)


def schedule_for_decision(s: Session, decision: Decision, actor: Actor | None = None) -> Invitation | None:
    """Schedule the follow-up invitation of a final decision on its review date (inside the caller's
    transaction); none when the decision has no follow-up date or one is already scheduled for it."""
    if decision.follow_up_date is None:
        return None
    exists = s.scalar(select(Invitation.id).where(Invitation.decision_id == decision.id,
                                                  Invitation.occasion == "follow_up"))
    if exists is not None:
        return None
    case = s.get_one(Case, decision.case_id)
    inv = Invitation(case_id=case.id, patient_id=case.patient_id, practice_id=case.practice_id, occasion="follow_up",
                     items=default_items("follow_up", decision.primary_outcome or case.primary_outcome),
                     status="scheduled", due_on=decision.follow_up_date, decision_id=decision.id,
                     created_by=actor.user_id if actor else None, draft={}, answers={}, assessment_ids=[], position=0)
    s.add(inv)
    s.flush()
    audit.record(s, actor, "invitation.schedule", "invitation", inv.id,
                 {"case_id": case.id, "due_on": decision.follow_up_date, "decision_id": decision.id,
                  "items": inv.items})
    return inv


def _own_invitation(s: Session, actor: Actor, invitation_id: int) -> Invitation:
    inv = s.get(Invitation, invitation_id)
    if inv is None:
        raise NotFound("No such invitation.")
    _case_for_invite(s, actor, inv.case_id, inv.occasion)
    return inv


def issue_scheduled(session_factory: SessionFactory, actor: Actor, invitation_id: int, *, today: date | None = None,
                    now: datetime | None = None) -> IssuedLink:
    """Issue the link of a scheduled invitation once it is due (from FOLLOW_UP_LEAD_DAYS before its date)."""
    today, now = today or date.today(), now or utcnow()
    with session_factory.begin() as s:
        inv = _own_invitation(s, actor, invitation_id)
        if inv.status != "scheduled" or inv.due_on is None:  # a scheduled invitation always has its due date
            raise ValidationError({"invitation": "This invitation's link has already been issued or revoked."})
        if inv.due_on - timedelta(days=FOLLOW_UP_LEAD_DAYS) > today:
            earliest = inv.due_on - timedelta(days=FOLLOW_UP_LEAD_DAYS)
            raise ValidationError({"invitation": f"This follow-up is due on {inv.due_on:%d %b %Y}; its link can be "
                                                 f"issued from {earliest:%d %b %Y}."})
        token, expires_at = _issue(inv, _expiry_days(s, None), now)
        audit.record(s, actor, "invitation.issue", "invitation", inv.id,
                     {"case_id": inv.case_id, "expires_at": expires_at})
        return IssuedLink(inv.id, token, expires_at)


def revoke(session_factory: SessionFactory, actor: Actor, invitation_id: int, *, now: datetime | None = None) -> None:
    """Revoke a link (or a scheduled invitation): it stops working at once; completed answers stay."""
    now = now or utcnow()
    with session_factory.begin() as s:
        inv = _own_invitation(s, actor, invitation_id)
        if inv.status in ("completed", "revoked"):
            raise ValidationError({"invitation": f"This invitation is already {inv.status}."})
        before = state_of(inv, now)
        inv.status, inv.revoked_at, inv.revoked_by = "revoked", now, actor.user_id
        audit.record(s, actor, "invitation.revoke", "invitation", inv.id,
                     {"case_id": inv.case_id, "state": [before, "revoked"]})


def replace(session_factory: SessionFactory, actor: Actor, invitation_id: int) -> IssuedLink:
    """A lost link: revoke it (if still open) and issue a new one for the same set, keeping the draft answers."""
    with session_factory() as s:
        inv = _own_invitation(s, actor, invitation_id)
        items, occasion, draft, position = list(inv.items), inv.occasion, dict(inv.draft or {}), inv.position
        state = state_of(inv)
    if state == "completed":
        raise ValidationError({"invitation": "This set is complete; send a new invitation instead."})
    if state in ("open", "scheduled"):
        revoke(session_factory, actor, invitation_id)
    link = create(session_factory, actor, _case_id_of(session_factory, invitation_id), items, occasion)
    with session_factory.begin() as s:
        new = s.get_one(Invitation, link.invitation_id)
        new.draft, new.position = draft, position
        audit.record(s, actor, "invitation.replace", "invitation", new.id, {"replaces": invitation_id})
    return link


def _case_id_of(session_factory: SessionFactory, invitation_id: int) -> int:
    with session_factory() as s:
        return s.get_one(Invitation, invitation_id).case_id


def may_invite(session_factory: SessionFactory, actor: Actor, case_id: int) -> bool:
    """True when the actor may invite this case's patient (PCP of the practice, or chair before a meeting)."""
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            return False
        return can_edit_case(actor, case.practice_id) or (actor.has("chair")
                                                           and _upcoming_meeting(s, case_id) is not None)


def for_case(session_factory: SessionFactory, actor: Actor, case_id: int,
             now: datetime | None = None) -> list[dict[str, Any]]:
    """The case's invitations, newest first, with their state (for the case page)."""
    require_clinical(actor)
    now = now or utcnow()
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        rows = s.scalars(select(Invitation).where(Invitation.case_id == case_id)
                         .order_by(Invitation.created_at.desc(), Invitation.id.desc())).all()
        can_manage = can_edit_case(actor, case.practice_id) or (
            actor.has("chair") and _upcoming_meeting(s, case_id) is not None)
        return [{"id": i.id, "occasion": INVITATION_OCCASIONS[i.occasion], "occasion_code": i.occasion,
                 "items": ", ".join(text.SET_LABELS.get(c, c) for c in i.items), "state": state_of(i, now),
                 "state_label": STATES[state_of(i, now)], "due_on": i.due_on, "issued_at": i.issued_at,
                 "expires_at": i.expires_at, "completed_at": i.completed_at, "revoked_at": i.revoked_at,
                 "answered": len(i.draft or {}), "can_manage": can_manage,
                 "issuable": i.status == "scheduled" and i.due_on is not None
                 and i.due_on - timedelta(days=FOLLOW_UP_LEAD_DAYS) <= now.date()}
                for i in rows]


# ------------------------------------------------------------------------------------ into the hub


def patient_words(session_factory: SessionFactory, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The patient's own words from completed invitations (what matters, goals, questions, change), newest first."""
    require_clinical(actor)
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        return _words(s, case_id)


def _words(s: Session, case_id: int) -> list[dict[str, Any]]:
    rows = s.scalars(select(Invitation).where(Invitation.case_id == case_id, Invitation.status == "completed")
                     .order_by(Invitation.completed_at.desc())).all()
    out = []
    for i in rows:
        a = i.answers or {}
        pgic = a.get("pgic")
        entry = {"invitation_id": i.id, "completed_at": i.completed_at, "occasion": INVITATION_OCCASIONS[i.occasion],
                 "what_matters": a.get("what_matters") or "", "goals": a.get("goals") or "",
                 "questions": a.get("questions") or "", "pgic": text.PGIC_LABELS.get(pgic, "") if pgic else "",
                 "safety_raised_at": i.safety_raised_at}
        if any(entry[k] for k in ("what_matters", "goals", "questions", "pgic")):
            out.append(entry)
    return out


def completed_for_export(s: Session, case_id: int) -> list[Invitation]:
    """The case's completed invitations, oldest first (the FHIR export writes each as a QuestionnaireResponse)."""
    return list(s.scalars(select(Invitation).where(Invitation.case_id == case_id, Invitation.status == "completed")
                          .order_by(Invitation.completed_at, Invitation.id)))


def letter_what_matters(s: Session, case_id: int, clinicians_text: str) -> str:
    """The outcome letter's 'what matters to the patient': the patient's own words when they gave them (with the
    date), followed by the MDT's note; the MDT's note alone otherwise."""
    words = next((w for w in _words(s, case_id) if w["what_matters"]), None)
    if words is None:
        return clinicians_text
    own = f"In the patient's words ({words['completed_at']:%d %b %Y}): \"{words['what_matters']}\""
    return own + (f"\n{clinicians_text}" if (clinicians_text or "").strip() else "")


def unreturned(s: Session, patient_ids: list[int], now: datetime | None = None) -> dict[int, list[tuple[date, str]]]:
    """Invitations with a questionnaire that were sent and expired without being completed, per patient, as
    (date the link expired, first instrument): PROM non-completion counts them as questionnaires not returned."""
    now = now or utcnow()
    out: dict[int, list[tuple[date, str]]] = {}
    if not patient_ids:
        return out
    for pid, items, expires in s.execute(
            select(Invitation.patient_id, Invitation.items, Invitation.expires_at)
            .where(Invitation.patient_id.in_(patient_ids), Invitation.status == "open",
                   Invitation.expires_at <= now)):
        scored = [c for c in items or [] if c in SCORED]
        if scored and expires is not None:  # an open invitation always has its expiry
            out.setdefault(pid, []).append((expires.date(), scored[0]))
    return out


def discussions_with_patient_input(s: Session, decision_ids: list[int]) -> set[int]:
    """Of these decisions, those whose meeting had patient-reported input: an invitation of the case completed
    before the meeting started."""
    if not decision_ids:
        return set()
    rows = s.execute(select(Decision.id).join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                     .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                     .join(Invitation, Invitation.case_id == Decision.case_id)
                     .where(Decision.id.in_(decision_ids), Invitation.status == "completed",
                            Invitation.completed_at <= Meeting.starts_at)).scalars().all()
    return set(rows)


def dashboard_metrics(session_factory: SessionFactory, actor: Actor, *, practice_ids: list[int] | None = None,
                      start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """Invitations issued in the period (scoped like the queue): sent, completed, median hours to complete,
    completion by practice, and hub discussions in the period that had patient-reported input."""
    require_clinical(actor)
    end = end or date.today()
    start = start or end - timedelta(days=365)
    lo = datetime.combine(start, datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())
    with session_factory() as s:
        scoped = select(Case.id).where(case_scope(actor, Case))
        if practice_ids:
            scoped = scoped.where(Case.practice_id.in_(practice_ids))
        rows = s.execute(select(Invitation.issued_at, Invitation.completed_at, Invitation.status,
                                Invitation.expires_at, Practice.name)
                         .join(Practice, Practice.id == Invitation.practice_id)
                         .where(Invitation.case_id.in_(scoped), Invitation.issued_at >= lo,
                                Invitation.issued_at < hi)).all()
        decisions = s.execute(select(Decision.id).join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                              .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                              .where(Decision.case_id.in_(scoped), Decision.status == "final",
                                     Meeting.starts_at >= lo, Meeting.starts_at < hi)).scalars().all()
        with_input = discussions_with_patient_input(s, list(decisions))
    hours = [(c - i).total_seconds() / 3600 for i, c, st, _, _ in rows if st == "completed" and c and i]
    by_practice: dict[str, dict[str, Any]] = {}
    for _, _, st, _, name in rows:
        p = by_practice.setdefault(name, {"practice": name, "sent": 0, "completed": 0})
        p["sent"] += 1
        p["completed"] += st == "completed"
    for p in by_practice.values():
        p["completion_rate"] = round(p["completed"] / p["sent"], 3) if p["sent"] else None
    sent = len(rows)
    completed = sum(1 for r in rows if r.status == "completed")
    return {"sent": sent, "completed": completed,
            "completion_rate": round(completed / sent, 3) if sent else None,
            "median_hours_to_complete": round(statistics.median(hours), 1) if hours else None,
            "by_practice": sorted(by_practice.values(), key=lambda p: p["practice"]),
            "discussions": len(decisions), "discussions_with_patient_input": len(with_input)}
