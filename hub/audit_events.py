"""Audit events for reads that leave the system (exports, downloads)."""

from __future__ import annotations

from hub import audit
from hub.access import Actor


def record_export(session_factory, actor: Actor, case_id: int, kind: str = "fhir") -> None:
    """Record that a user exported a case (called when the download is clicked)."""
    with session_factory.begin() as s:
        audit.record(s, actor, f"{kind}.export", "case", case_id, {"via": "download"})
