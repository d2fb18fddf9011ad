"""The demo has questionnaire invitations in every state (SQLite and PostgreSQL), written through the services:
completed with the patient's words (one before an upcoming meeting), open (one part answered), expired (counted
as PROMs not returned), revoked, and scheduled follow-ups from the finalised demo decisions."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from db.models import Assessment, Case, Invitation
from hub import demo, flags, invitations
from hub.auth import actor_for


def test_demo_has_invitations_in_every_state(sf):
    demo.seed_demo(sf, today=date.today())
    flags.recompute_all(sf)
    demo.seed_demo_meetings(sf, today=date.today())
    made = demo.seed_demo_invitations(sf)
    with sf() as s:
        rows = s.scalars(select(Invitation)).all()
        states = Counter(invitations.state_of(i) for i in rows)
        patient_modes = s.scalars(select(Assessment.mode).where(Assessment.mode == "patient-completed")).all()
        part = [i for i in rows if invitations.state_of(i) == "open" and i.draft]
        expired_cases = [i.case_id for i in rows if invitations.state_of(i) == "expired"]
        pre_meeting = [i for i in rows if i.occasion == "pre_meeting" and i.status == "completed"]
        expired_patients = [s.get(Case, cid).patient_id for cid in expired_cases]
        missed = invitations.unreturned(s, expired_patients)
    assert set(states) == {"scheduled", "open", "expired", "completed", "revoked"}
    assert made["completed"] == states["completed"] and made["scheduled"] == states["scheduled"]
    assert len(patient_modes) >= 2 * states["completed"]
    assert part and all(0 < len(i.draft) < 10 for i in part)
    assert pre_meeting and pre_meeting[0].answers["questions"]
    assert expired_patients and all(missed.get(p) for p in expired_patients)  # PROMs not returned
    chair = actor_for(sf, "chair")
    words = invitations.patient_words(sf, chair, pre_meeting[0].case_id)
    assert words and words[0]["what_matters"]
    board = invitations.dashboard_metrics(sf, chair)
    assert board["sent"] == sum(v for k, v in states.items() if k != "scheduled")
    assert board["completed"] == states["completed"]
