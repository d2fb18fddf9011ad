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
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import (
    AgendaItem,
    Assessment,
    Case,
    Decision,
    Invitation,
    InvitationAttempt,
    Meeting,
    Practice,
    utcnow,
)
from hub import audit, flags
from hub import patient_text as text
from hub import settings as hub_settings
from hub.access import Actor, can_edit_case, can_see_case, case_scope, require_clinical
from hub.errors import HubError, NotFound, PermissionDenied, ValidationError
from hub.vocab import INVITATION_OCCASIONS

RATE_WINDOW = timedelta(minutes=15)
TOKEN_BYTES = 32
FOLLOW_UP_LEAD_DAYS = 7  # a scheduled follow-up link can be issued this many days before its due date
PATIENT = {"by": "patient"}
DEFAULT_SET = {
    "baseline": ["phq9", "gad7", "what_matters", "goals"],
    "pre_meeting": ["phq9", "gad7", "what_matters", "goals", "questions"],
    "follow_up": ["phq9", "gad7", "pgic", "what_matters", "goals"],
}
SCORED = ("nrs", "peg", "mskhq", "phq9", "gad7")
STATES = {"scheduled": "Scheduled", "open": "Waiting for the patient", "expired": "Expired (not completed)",
          "completed": "Completed", "revoked": "Revoked"}


class InvitationUnavailable(HubError):
    """The link is wrong, expired, used or revoked, or lookups are rate limited (deliberately not saying which)."""


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a link token: the only form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def client_key(address: str | None) -> str:
    """What the rate limit stores about a client: the SHA-256 of its address (never the address)."""
    return hashlib.sha256(f"invitation-client:{address or 'unknown'}".encode("utf-8")).hexdigest()


def link_for(token: str, base_url: str = "") -> str:
    """The patient's link: the app's home address with ?invite=TOKEN (base_url '' gives the relative form).

    The home address always runs app.py, which routes the link before the login gate (a fresh server process
    resolves other paths against the pages folder first)."""
    return f"{base_url.rstrip('/')}/?invite={token}"


def qr_png(url: str) -> bytes:
    """The link as a QR code (PNG bytes, pure Python via pypng) for a letter or a screen the patient scans."""
    import io

    import qrcode
    from qrcode.image.pure import PyPNGImage

    img = qrcode.make(url, image_factory=PyPNGImage, box_size=8, border=4)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def state_of(inv: Invitation, now: datetime | None = None) -> str:
    """scheduled, open, expired, completed or revoked (expiry is derived from the clock)."""
    now = now or utcnow()
    if inv.status == "open" and inv.expires_at is not None and inv.expires_at <= now:
        return "expired"
    return inv.status


def default_items(occasion: str, primary_outcome: str | None = None) -> list[str]:
    """The default set for an occasion: the case's primary pain outcome (NRS unless PEG/MSK-HQ is licensed)
    first, then the occasion's questionnaires and free-text questions."""
    primary = primary_outcome if primary_outcome in ("nrs", "peg", "mskhq") else "nrs"
    if not text.availability(primary)[0]:
        primary = "nrs"
    return [primary, *DEFAULT_SET[occasion]]


def item_choices(occasion: str) -> list[dict[str, Any]]:
    """What a clinician can pick for an occasion, with whether it is available and why not."""
    rows = []
    for code, label in text.SET_LABELS.items():
        ok, why = text.availability(code)
        if code == "questions" and occasion != "pre_meeting":
            ok, why = False, "Only before a hub meeting."
        if code == "pgic" and occasion != "follow_up":
            ok, why = False, "Only at follow-up (it asks about change since care started)."
        rows.append({"code": code, "label": label, "available": ok, "reason": why})
    return rows


def validate_items(items: list[str], occasion: str) -> list[str]:
    """The chosen set, checked: known, allowed for the occasion and by licence, not empty."""
    if occasion not in INVITATION_OCCASIONS:
        raise ValidationError({"occasion": "Choose when this is: baseline, before a hub meeting, or follow-up."})
    allowed = {r["code"]: r for r in item_choices(occasion)}
    chosen = [c for c in dict.fromkeys(items or []) if c]
    if not chosen:
        raise ValidationError({"items": "Choose at least one questionnaire or question for the patient."})
    errors = [allowed[c]["label"] + ": " + allowed[c]["reason"] if c in allowed else f"Unknown item {c!r}."
              for c in chosen if c not in allowed or not allowed[c]["available"]]
    if errors:
        raise ValidationError({"items": " ".join(errors)})
    return chosen


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


def _issue(inv: Invitation, days: int, now: datetime) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    inv.token_hash, inv.status, inv.issued_at = hash_token(token), "open", now
    inv.expires_at = now + timedelta(days=days)
    return token


def create(session_factory, actor: Actor, case_id: int, items: list[str], occasion: str = "baseline", *,
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
        token = _issue(inv, days, now)
        s.add(inv)
        s.flush()
        audit.record(s, actor, "invitation.create", "invitation", inv.id,
                     {"case_id": case.id, "occasion": occasion, "items": chosen, "expires_at": inv.expires_at})
        return IssuedLink(inv.id, token, inv.expires_at)


def schedule_for_decision(s: Session, decision: Decision, actor: Actor | None = None) -> Invitation | None:
    """Schedule the follow-up invitation of a final decision on its review date (inside the caller's
    transaction); none when the decision has no follow-up date or one is already scheduled for it."""
    if decision.follow_up_date is None:
        return None
    exists = s.scalar(select(Invitation.id).where(Invitation.decision_id == decision.id,
                                                  Invitation.occasion == "follow_up"))
    if exists is not None:
        return None
    case = s.get(Case, decision.case_id)
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


def issue_scheduled(session_factory, actor: Actor, invitation_id: int, *, today: date | None = None,
                    now: datetime | None = None) -> IssuedLink:
    """Issue the link of a scheduled invitation once it is due (from FOLLOW_UP_LEAD_DAYS before its date)."""
    today, now = today or date.today(), now or utcnow()
    with session_factory.begin() as s:
        inv = _own_invitation(s, actor, invitation_id)
        if inv.status != "scheduled":
            raise ValidationError({"invitation": "This invitation's link has already been issued or revoked."})
        if inv.due_on - timedelta(days=FOLLOW_UP_LEAD_DAYS) > today:
            issue_from = inv.due_on - timedelta(days=FOLLOW_UP_LEAD_DAYS)
            raise ValidationError({"invitation": f"This follow-up is due on {inv.due_on:%d %b %Y}; its link can be "
                                                 f"issued from {issue_from:%d %b %Y}."})
        token = _issue(inv, _expiry_days(s, None), now)
        audit.record(s, actor, "invitation.issue", "invitation", inv.id,
                     {"case_id": inv.case_id, "expires_at": inv.expires_at})
        return IssuedLink(inv.id, token, inv.expires_at)


def revoke(session_factory, actor: Actor, invitation_id: int, *, now: datetime | None = None) -> None:
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


def replace(session_factory, actor: Actor, invitation_id: int) -> IssuedLink:
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
        new = s.get(Invitation, link.invitation_id)
        new.draft, new.position = draft, position
        audit.record(s, actor, "invitation.replace", "invitation", new.id, {"replaces": invitation_id})
    return link


def _case_id_of(session_factory, invitation_id: int) -> int:
    with session_factory() as s:
        return s.get(Invitation, invitation_id).case_id


def may_invite(session_factory, actor: Actor, case_id: int) -> bool:
    """True when the actor may invite this case's patient (PCP of the practice, or chair before a meeting)."""
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            return False
        return can_edit_case(actor, case.practice_id) or (actor.has("chair")
                                                           and _upcoming_meeting(s, case_id) is not None)


def for_case(session_factory, actor: Actor, case_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
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


# ------------------------------------------------------------------------------------ patient side


@dataclass(frozen=True)
class PatientView:
    """What the patient's page may show: first name, practice, the steps and the saved draft. Never scores."""

    invitation_id: int
    first_name: str
    practice: str
    steps: tuple[text.Step, ...]
    draft: dict[str, Any]
    position: int
    safety_raised: bool


def _failures(s: Session, now: datetime, client: str | None = None) -> int:
    q = select(func.count()).select_from(InvitationAttempt).where(InvitationAttempt.at > now - RATE_WINDOW)
    if client is not None:
        q = q.where(InvitationAttempt.client == client)
    return int(s.scalar(q) or 0)


def rate_limited(s: Session, client: str, now: datetime) -> bool:
    """True when this client, or all clients together, had too many failed lookups in the last 15 minutes."""
    values = hub_settings.load(s)
    return (_failures(s, now, client) >= int(values["invitations.max_failures_per_client"])
            or _failures(s, now) >= int(values["invitations.max_failures_global"]))


def _deny(session_factory, client: str, reason: str, invitation_id: int | None, now: datetime) -> None:
    with session_factory.begin() as s:
        s.add(InvitationAttempt(at=now, client=client))
        # Old attempts no longer count: keep the table small.
        s.execute(delete(InvitationAttempt).where(InvitationAttempt.at < now - 4 * RATE_WINDOW))
        audit.record(s, None, "invitation.denied", "invitation", invitation_id, {**PATIENT, "reason": reason})


def _lookup(s: Session, token: str | None, now: datetime) -> tuple[Invitation | None, str]:
    if not token or not isinstance(token, str) or len(token) > 200:
        return None, "wrong"
    inv = s.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if inv is None:
        return None, "wrong"
    state = state_of(inv, now)
    if state != "open":
        return inv, {"expired": "expired", "completed": "used", "revoked": "revoked"}.get(state, state)
    return inv, "ok"


def _view(s: Session, inv: Invitation) -> PatientView:
    case = s.get(Case, inv.case_id)
    return PatientView(inv.id, case.patient.given_name, s.get(Practice, inv.practice_id).name,
                       tuple(text.steps_for(inv.items)), dict(inv.draft or {}), int(inv.position or 0),
                       inv.safety_raised_at is not None)


def open_link(session_factory, token: str | None, client_address: str | None, *, audit_access: bool = True,
              now: datetime | None = None) -> PatientView | None:
    """The patient opens the link: their view, or None for every kind of unusable link (and when rate limited).

    Each failure counts towards the rate limit; each access is audited (``audit_access`` False for the
    reruns of a page already opened in the same browser session)."""
    now = now or utcnow()
    client = client_key(client_address)
    with session_factory() as s:
        limited = rate_limited(s, client, now)
    if limited:
        _deny(session_factory, client, "rate_limited", None, now)
        return None
    with session_factory.begin() as s:
        inv, outcome = _lookup(s, token, now)
        if outcome == "ok":
            if inv.first_opened_at is None:
                inv.first_opened_at = now
            if audit_access:
                audit.record(s, None, "invitation.open", "invitation", inv.id,
                             {**PATIENT, "case_id": inv.case_id, "position": inv.position})
            return _view(s, inv)
        invitation_id = inv.id if inv is not None else None
    _deny(session_factory, client, outcome, invitation_id, now)
    return None


def _open_for_write(s: Session, token: str, now: datetime) -> Invitation:
    inv, outcome = _lookup(s, token, now)
    if outcome != "ok":
        raise InvitationUnavailable("This link cannot be used.")
    return inv


def _check_answer(step: text.Step, value: Any) -> Any:
    if step.kind == "text":
        value = "" if value is None else str(value).strip()
        if len(value) > text.TEXT_LIMIT:
            raise ValidationError({step.key: text.TOO_LONG.format(limit=text.TEXT_LIMIT)})
        return value
    codes = {c for c, _ in step.options}
    if isinstance(value, bool) or not isinstance(value, int) or value not in codes:
        raise ValidationError({step.key: text.CHOOSE_ONE})
    return value


def save_answer(session_factory, token: str, key: str, value: Any, *, position: int | None = None,
                now: datetime | None = None) -> bool:
    """Save one answer to the server-side draft as soon as it is given; returns True when this answer
    raised the safety alert (PHQ-9 item 9 above 0): the page then shows the crisis routes at once."""
    now = now or utcnow()
    with session_factory.begin() as s:
        inv = _open_for_write(s, token, now)
        steps = {st.key: st for st in text.steps_for(inv.items)}
        if key not in steps:
            raise ValidationError({key: "This question is not part of your set."})
        value = _check_answer(steps[key], value)
        draft = dict(inv.draft or {})
        changed = draft.get(key) != value
        draft[key] = value
        inv.draft = draft
        if position is not None:
            inv.position = max(0, min(int(position), len(steps)))
        if changed:
            audit.record(s, None, "invitation.answer", "invitation", inv.id,
                         {**PATIENT, "case_id": inv.case_id, "item": key})
        raised = False
        if key == "PHQ9_Q9" and isinstance(value, int) and value > 0 and inv.safety_raised_at is None:
            _raise_safety(s, inv, draft, now)
            raised = True
        return raised


def save_position(session_factory, token: str, position: int, now: datetime | None = None) -> None:
    """Remember which step the patient is on, so reopening the link resumes there."""
    now = now or utcnow()
    with session_factory.begin() as s:
        inv = _open_for_write(s, token, now)
        inv.position = max(0, min(int(position), len(text.steps_for(inv.items))))


def _phq9_responses(draft: dict[str, Any]) -> dict[str, int]:
    from hub.clinical import instruments

    return {k: draft[k] for k in instruments.get_instrument("PHQ9").all_keys if isinstance(draft.get(k), int)}


def _raise_safety(s: Session, inv: Invitation, draft: dict[str, Any], now: datetime) -> None:
    """Store the patient's PHQ-9 now (scored when complete) with its safety alert, so the case's safety flag
    is raised before the set is sent; the alert names the patient-completed form and when."""
    from hub.clinical import instruments

    responses = _phq9_responses(draft)
    result = instruments.score("PHQ9", responses, partial=True)
    row = Assessment(patient_id=inv.patient_id, instrument="phq9", administered_on=now.date(),
                     mode="patient-completed", status="completed" if result.total is not None else "not_returned",
                     responses=responses, total=None if result.total is None else float(result.total),
                     band=result.band, safety_alert=True, entered_by=None,
                     instrument_version=str(result.instrument_version or "1")[:20],
                     scoring_version=str(result.scoring_algorithm_version or "1")[:20], created_at=now)
    s.add(row)
    s.flush()
    inv.safety_raised_at = now
    inv.assessment_ids = [*(inv.assessment_ids or []), row.id]
    audit.record(s, None, "safety.patient_reported", "assessment", row.id,
                 {**PATIENT, "case_id": inv.case_id, "invitation_id": inv.id, "instrument": "phq9",
                  "item": "PHQ9_Q9", "reported_at": now})
    flags.recompute_patient(s, inv.patient_id)


def missing_answers(steps: list[text.Step] | tuple[text.Step, ...], draft: dict[str, Any]) -> list[int]:
    """Indexes of required steps still without an answer."""
    return [i for i, st in enumerate(steps) if st.required and not isinstance(draft.get(st.key), int)]


def submit(session_factory, token: str, *, now: datetime | None = None) -> None:
    """The patient sends the set: each questionnaire becomes a scored 'patient-completed' assessment, the free
    text and the PGIC are kept with the invitation, the link is used up, and flags are recomputed."""
    from hub import records
    from hub.clinical import instruments

    now = now or utcnow()
    with session_factory.begin() as s:
        inv = _open_for_write(s, token, now)
        steps = text.steps_for(inv.items)
        draft = dict(inv.draft or {})
        missing = missing_answers(steps, draft)
        if missing:
            raise ValidationError({steps[missing[0]].key: text.CHOOSE_ONE})
        ids = list(inv.assessment_ids or [])
        existing = {a.instrument: a for a in s.scalars(select(Assessment).where(Assessment.id.in_(ids)))} if ids else {}
        for code in SCORED:
            if code not in inv.items or not any(st.instrument == code for st in steps):
                continue
            spec = instruments.get_instrument(code)
            responses = {k: draft[k] for k in spec.all_keys if isinstance(draft.get(k), int)}
            result = instruments.score(code, responses)
            row = existing.get(code)
            if row is None:
                row = Assessment(patient_id=inv.patient_id, instrument=code, mode="patient-completed",
                                 entered_by=None, created_at=now)
                s.add(row)
            row.administered_on, row.status, row.responses = now.date(), "completed", responses
            row.total, row.band = float(result.total), result.band
            # An item-9 alert raised while answering stays, even if the answer was changed afterwards.
            row.safety_alert = bool(result.safety_alert) or bool(row.safety_alert)
            row.instrument_version = str(result.instrument_version or "1")[:20]
            row.scoring_version = str(result.scoring_algorithm_version or "1")[:20]
            s.flush()
            if row.id not in ids:
                ids.append(row.id)
            if row.safety_alert and inv.safety_raised_at is None:
                inv.safety_raised_at = now
        inv.assessment_ids = ids
        inv.answers = {k: draft.get(k, "") for k in ("what_matters", "goals", "questions") if k in inv.items}
        if "pgic" in inv.items:
            inv.answers["pgic"] = draft.get("PGIC")
        inv.status, inv.completed_at = "completed", now
        inv.position = len(steps)
        audit.record(s, None, "invitation.complete", "invitation", inv.id,
                     {**PATIENT, "case_id": inv.case_id, "assessment_ids": ids,
                      "words": sorted(k for k, v in inv.answers.items() if v)})
        if any(c in inv.items for c in records.PAIN_INSTRUMENTS):
            records.refresh_latest_pain(s, inv.patient_id)
        flags.recompute_patient(s, inv.patient_id)


# ------------------------------------------------------------------------------------ into the hub


def patient_words(session_factory, actor: Actor, case_id: int) -> list[dict[str, Any]]:
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
        if scored:
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


def dashboard_metrics(session_factory, actor: Actor, *, practice_ids: list[int] | None = None,
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
