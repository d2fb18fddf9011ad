"""Audit events for reads: views of a case or a letter, and every download (letter PDF, FHIR bundle,
minutes, dashboard tables). The download helpers make the file AND record the event, so a page cannot
offer a download that goes unrecorded; they are called when the user clicks the download button."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db.models import AuditEvent, utcnow
from hub import audit
from hub.access import Actor
from db.engine import SessionFactory

# A page reruns on every interaction: one view event per user and record within this window.
VIEW_WINDOW = timedelta(minutes=10)


def record_view(session_factory: SessionFactory, actor: Actor, entity: str, entity_id: Any,
                details: dict | None = None) -> bool:
    """Record that the user viewed a record (call after the scope-checked read that showed it). Returns
    False when the same user's view of it is already recorded within VIEW_WINDOW."""
    action = f"{entity}.view"
    with session_factory.begin() as s:
        recent = s.scalar(select(AuditEvent.id).where(
            AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id), AuditEvent.action == action,
            AuditEvent.actor_id == actor.user_id, AuditEvent.at >= utcnow() - VIEW_WINDOW).limit(1))
        if recent is not None:
            return False
        audit.record(s, actor, action, entity, entity_id, details or {})
    return True


def record_export(session_factory: SessionFactory, actor: Actor, case_id: int, kind: str = "fhir") -> None:
    """Record that a user exported a case (called when the download is clicked)."""
    with session_factory.begin() as s:
        audit.record(s, actor, f"{kind}.export", "case", case_id, {"via": "download"})


def _downloaded(session_factory: SessionFactory, actor: Actor, entity: str, entity_id: Any, details: dict) -> None:
    with session_factory.begin() as s:
        audit.record(s, actor, f"{entity}.download", entity, entity_id, details)


def letter_pdf_download(session_factory: SessionFactory, actor: Actor, letter_id: int,
                        patient_version: bool = False) -> bytes:
    """The letter PDF (scope-checked by correspondence.letter_pdf), recorded as a download."""
    from hub import correspondence

    pdf = correspondence.letter_pdf(session_factory, actor, letter_id, patient_version)
    _downloaded(session_factory, actor, "letter", letter_id,
                {"format": "pdf", "version": "patient" if patient_version else "clinician"})
    return pdf


def fhir_download(session_factory: SessionFactory, actor: Actor, case_id: int) -> str:
    """The case as a FHIR R4 Bundle (scope-checked by hub.fhir), recorded as an export."""
    from hub import fhir

    text = fhir.export_case_json(session_factory, actor, case_id)
    record_export(session_factory, actor, case_id, "fhir")
    return text


def minutes_download(session_factory: SessionFactory, actor: Actor, meeting_id: int, fmt: str) -> bytes:
    """A meeting's minutes as PDF or Markdown (scope-checked by correspondence.minutes), recorded."""
    from hub import correspondence, letters

    m = correspondence.minutes(session_factory, actor, meeting_id)
    data = letters.minutes_pdf(m) if fmt == "pdf" else letters.minutes_markdown(m).encode("utf-8")
    _downloaded(session_factory, actor, "minutes", meeting_id, {"format": fmt})
    return data


def dashboard_download(session_factory: SessionFactory, actor: Actor, table: str, data: bytes | str) -> bytes | str:
    """A dashboard table the user downloads (already in their scope), recorded."""
    _downloaded(session_factory, actor, "dashboard", None, {"table": table})
    return data
