"""A practice's safety responder (hub.safety) on SQLite and PostgreSQL: only an active PCP of the practice can be
named (validated, explained, nothing written otherwise), the change is audited, and the responder's list holds
the practice's open PHQ-9 item 9 alerts only, oldest first, each saying whether the patient completed the form
through the practice's link and when; other users get the generic banner, or the "no responder" notice."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Practice, User
from hub import cases, invitations, records, safety, users
from hub.cases import CaseInput, NewPatient
from hub.errors import PermissionDenied, ValidationError
from hub.vocab import RED_FLAGS
from tests_support import add_user

PHQ9_ITEM9 = {f"PHQ9_Q{i}": v for i, v in enumerate([1, 1, 0, 0, 0, 0, 0, 0, 1], 1)}


def submit(world, nhs: str, pcp=None) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name="Alex", family_name="Test", birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", duration_months=18,
                    clinical_question="What next?", red_flags={k: False for k in RED_FLAGS}, baseline_pain=6,
                    risk_tool="start_msk", risk_band="low", goals_text="Walk further")
    return cases.save_case(world.sf, pcp or world.pcp_a, inp, submit=True).case_id


def patient_item9(world, case_id: int, when: datetime) -> None:
    """The patient answers PHQ-9 item 9 above 0 through an invitation link at `when`."""
    link = invitations.create(world.sf, world.pcp_a, case_id, ["phq9"], now=when - timedelta(hours=1))
    invitations.open_link(world.sf, link.token, "10.0.0.1", now=when)
    for i in range(1, 9):
        invitations.save_answer(world.sf, link.token, f"PHQ9_Q{i}", 0, now=when)
    assert invitations.save_answer(world.sf, link.token, "PHQ9_Q9", 1, now=when) is True


def test_responder_must_be_an_active_pcp_of_the_practice(world):
    with world.sf.begin() as s:
        second = add_user(s, "pcp.a2", "Dr A Two", ["pcp"], practice_id=world.practice_a)
    for wrong in (world.pcp_b.user_id, world.specialist.user_id, world.admin.user_id, 999_999):
        with pytest.raises(ValidationError) as err:
            safety.set_responder(world.sf, world.admin, world.practice_a, wrong)
        assert "active PCP of Practice A" in err.value.errors["safety_responder"]
    users.set_active(world.sf, world.admin, second.user_id, False)
    with pytest.raises(ValidationError):  # deactivated
        safety.set_responder(world.sf, world.admin, world.practice_a, second.user_id)
    with world.sf() as s:
        assert s.get(Practice, world.practice_a).safety_responder_id is None  # nothing written
    with pytest.raises(PermissionDenied):  # admins only
        safety.set_responder(world.sf, world.pcp_a, world.practice_a, world.pcp_a.user_id)
    assert safety.responder_choices(world.sf, world.admin, world.practice_a) == [(world.pcp_a.user_id, "Dr A")]


def test_setting_the_responder_is_audited(world):
    safety.set_responder(world.sf, world.admin, world.practice_a, world.pcp_a.user_id)
    safety.set_responder(world.sf, world.admin, world.practice_a, world.pcp_a.user_id)  # unchanged: no event
    safety.set_responder(world.sf, world.admin, world.practice_a, None)
    with world.sf() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "practice.safety_responder")
                           .order_by(AuditEvent.id)).all()
        assert s.get(Practice, world.practice_a).safety_responder_id is None
    assert [e.changes["safety_responder_id"] for e in events] == [[None, world.pcp_a.user_id],
                                                                  [world.pcp_a.user_id, None]]
    assert all(e.actor_id == world.admin.user_id and e.entity_id == str(world.practice_a) for e in events)


def test_responder_list_scope_order_and_source(world):
    safety.set_responder(world.sf, world.admin, world.practice_a, world.pcp_a.user_id)
    with world.sf.begin() as s:
        other_a = add_user(s, "pcp.a2", "Dr A Two", ["pcp"], practice_id=world.practice_a)
    clinician_case = submit(world, "9434765919")
    patient_case = submit(world, "9434765870")
    quiet_case = submit(world, "9434765838")
    b_case = submit(world, "9876543210", pcp=world.pcp_b)
    today = date.today()
    # Oldest first: the clinician-entered answer is two days old, the patient's came in this morning.
    records.add_assessment(world.sf, world.pcp_a, clinician_case, "phq9", today - timedelta(days=2), PHQ9_ITEM9)
    patient_item9(world, patient_case, datetime.combine(today, datetime.min.time()) + timedelta(hours=7, minutes=5))
    records.add_assessment(world.sf, world.pcp_b, b_case, "phq9", today - timedelta(days=5), PHQ9_ITEM9)
    records.add_assessment(world.sf, world.pcp_a, quiet_case, "phq9", today, {**PHQ9_ITEM9, "PHQ9_Q9": 0})

    notice = safety.queue_notice(world.sf, world.pcp_a)
    assert notice.kind == "responder"
    assert [a.case_id for a in notice.alerts] == [clinician_case, patient_case]  # practice B's alert not here
    assert [a.patient_completed for a in notice.alerts] == [False, True]
    assert "entered by a clinician" in notice.alerts[0].source(today)
    assert notice.alerts[1].source(today).startswith("completed by the patient through the practice's link on")
    assert notice.alerts[1].source(today).endswith("at 07:05 UTC")
    assert notice.headline() == "You are Practice A's safety responder: 2 patients need contact today"
    assert safety.responder_alerts(world.sf, world.pcp_a) == notice.alerts

    # An alert with its action recorded leaves the list.
    aid = records.open_safety_alerts(world.sf, world.pcp_a, clinician_case)[0]["id"]
    records.record_safety_action(world.sf, world.pcp_a, clinician_case, aid, "Phoned the patient, safety plan agreed")
    left = safety.queue_notice(world.sf, world.pcp_a)
    assert [a.case_id for a in left.alerts] == [patient_case]
    assert left.headline().endswith("1 patient needs contact today")

    # Another PCP of the practice, the hub's members: the generic banner; practice B has no responder.
    assert safety.queue_notice(world.sf, other_a).kind == "generic"
    assert safety.queue_notice(world.sf, other_a).responder == "Dr A"
    assert safety.queue_notice(world.sf, world.chair).kind == "generic"
    assert safety.queue_notice(world.sf, world.pcp_b).kind == "no_responder"
    for actor in (other_a, world.chair, world.pcp_b):
        with pytest.raises(PermissionDenied):
            safety.responder_alerts(world.sf, actor)
    with pytest.raises(PermissionDenied):
        safety.queue_notice(world.sf, world.admin)


def test_a_responder_no_longer_a_pcp_of_the_practice_counts_as_none(world):
    safety.set_responder(world.sf, world.admin, world.practice_a, world.pcp_a.user_id)
    users.set_active(world.sf, world.admin, world.pcp_a.user_id, False)
    with world.sf() as s:
        assert s.get(User, world.pcp_a.user_id).active is False
    rows = {r["practice_id"]: r for r in safety.practice_responders(world.sf, world.admin)}
    assert rows[world.practice_a]["responder"] is None


def test_demo_names_a_responder_per_practice_with_a_patient_completed_alert(app_demo_sf):
    from hub import demo
    from hub.auth import actor_for

    sf = app_demo_sf
    admin = actor_for(sf, "admin")
    rows = {r["practice"]: r["responder"] for r in safety.practice_responders(sf, admin)}
    assert rows == {"Northgate Medical Centre": "Dr Asha Patel", "Riverside Surgery": "Dr Tom Okafor",
                    "Hillview Health Centre": "Dr Rhiannon Evans"}
    notice = safety.queue_notice(sf, actor_for(sf, "gp.north"))
    assert notice.kind == "responder"
    assert any(a.patient_completed and a.answered_on == date.today() for a in notice.alerts)
    assert notice.alerts == tuple(sorted(notice.alerts, key=lambda a: (a.answered_on, a.recorded_at)))
    # A reset of the demo still wipes everything (the practice <-> user cycle is broken first).
    demo.wipe(sf.kw["bind"])
    with sf() as s:
        assert s.scalar(select(Practice.id).limit(1)) is None
