"""Reads are audited: case and letter views (once per user and record per window, not per page rerun)
and every download (letter PDF, FHIR bundle, minutes, dashboard table) through hub.audit_events; a user
outside the scope gets NotFound and nothing is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from hub import audit, audit_events, decisions, meetings
from hub.errors import NotFound
from test_meetings import STARTS, full_form, submit


def _events(sf, action):
    with sf() as s:
        return s.execute(select(AuditEvent.actor_id, AuditEvent.entity_id, AuditEvent.changes)
                         .where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


@pytest.fixture
def finalised(world):
    cid = submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    v = decisions.save(world.sf, world.chair, item, full_form(STARTS.date()), 0)
    letter_id = decisions.finalise(world.sf, world.chair, item, v)
    return cid, mid, letter_id


def test_views_are_recorded_once_per_window(world, finalised):
    cid, _, letter_id = finalised
    assert audit_events.record_view(world.sf, world.pcp_a, "case", cid)
    assert not audit_events.record_view(world.sf, world.pcp_a, "case", cid)  # a rerun of the same page
    assert audit_events.record_view(world.sf, world.chair, "case", cid)  # another user
    assert audit_events.record_view(world.sf, world.pcp_a, "letter", letter_id, {"case_id": cid})
    assert [(a, e) for a, e, _ in _events(world.sf, "case.view")] == [
        (world.pcp_a.user_id, str(cid)), (world.chair.user_id, str(cid))]
    assert audit.is_read_action("case.view") and audit.is_read_action("letter.download")


def test_every_download_is_recorded(world, finalised):
    cid, mid, letter_id = finalised
    assert audit_events.letter_pdf_download(world.sf, world.pcp_a, letter_id).startswith(b"%PDF")
    assert audit_events.letter_pdf_download(world.sf, world.pcp_a, letter_id, True).startswith(b"%PDF")
    assert '"resourceType": "Bundle"' in audit_events.fhir_download(world.sf, world.pcp_a, cid).replace('":"', '": "')
    assert audit_events.minutes_download(world.sf, world.chair, mid, "pdf").startswith(b"%PDF")
    assert b"MDT" in audit_events.minutes_download(world.sf, world.chair, mid, "md")
    assert audit_events.dashboard_download(world.sf, world.pcp_a, "cases", "a,b\n") == "a,b\n"
    letters = _events(world.sf, "letter.download")
    assert [(c["version"], a) for a, _, c in letters] == [("clinician", world.pcp_a.user_id),
                                                           ("patient", world.pcp_a.user_id)]
    assert [e for _, e, _ in _events(world.sf, "fhir.export")] == [str(cid)]
    assert [c["format"] for _, _, c in _events(world.sf, "minutes.download")] == ["pdf", "md"]
    assert [c["table"] for _, _, c in _events(world.sf, "dashboard.download")] == ["cases"]
    assert audit.verify(world.sf).ok


def test_downloads_outside_scope_are_refused_and_not_recorded(world, finalised):
    cid, _, letter_id = finalised
    with pytest.raises(NotFound):
        audit_events.letter_pdf_download(world.sf, world.pcp_b, letter_id)
    with pytest.raises(NotFound):
        audit_events.fhir_download(world.sf, world.pcp_b, cid)
    assert _events(world.sf, "letter.download") == [] and _events(world.sf, "fhir.export") == []
