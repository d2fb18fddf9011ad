"""The patient's side of an invitation (no login: the token is the only key, checked again by every
function): opening the link (rate limited, audited with actor None), saving answers and the position,
and submitting the set, which becomes assessments (mode ``patient-completed``) and raises the PHQ-9 item 9
safety alert at once. Moved out of hub.invitations, which re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import (
    Assessment,
    Case,
    Invitation,
    InvitationAttempt,
    Practice,
    utcnow,
)
from hub import audit, flags
from hub import patient_text as text
from hub import settings as hub_settings
from hub.errors import ValidationError

from hub.invitation_links import InvitationUnavailable, PATIENT, RATE_WINDOW, SCORED, client_key, hash_token, state_of
from db.engine import SessionFactory

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


def _deny(session_factory: SessionFactory, client: str, reason: str, invitation_id: int | None, now: datetime) -> None:
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
    case = s.get_one(Case, inv.case_id)
    return PatientView(inv.id, case.patient.given_name, s.get_one(Practice, inv.practice_id).name,
                       tuple(text.steps_for(inv.items)), dict(inv.draft or {}), int(inv.position or 0),
                       inv.safety_raised_at is not None)


def open_link(session_factory: SessionFactory, token: str | None, client_address: str | None, *,
              audit_access: bool = True,
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
        if outcome == "ok" and inv is not None:  # "ok" always comes with the invitation
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
    if outcome != "ok" or inv is None:
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


def save_answer(session_factory: SessionFactory, token: str, key: str, value: Any, *, position: int | None = None,
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


def save_position(session_factory: SessionFactory, token: str, position: int, now: datetime | None = None) -> None:
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
                     mode="patient-completed", status="completed" if result.total is not None else "incomplete",
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


def submit(session_factory: SessionFactory, token: str, *, now: datetime | None = None) -> None:
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
            row.total, row.band = (float(result.total) if result.total is not None else None), result.band
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


