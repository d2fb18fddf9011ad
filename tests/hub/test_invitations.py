"""Invitations to the patient (hub.invitations) on SQLite and PostgreSQL: the token lifecycle (only its hash
stored, expiry, single use, revocation, guessing and its rate limit, one neutral answer for every unusable
link), answers saved as they go, the PHQ-9 item-9 safety path, and what flows into the hub (patient-completed
assessments, flags, the patient's words, the letter, PROM non-completion, FHIR, the dashboard)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import func, select

from db.models import Assessment, AuditEvent, Case, Invitation, InvitationAttempt, utcnow
from hub import cases, decisions, fhir, flags, invitations, meetings, settings
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, RecommendationInput
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.invitations import InvitationUnavailable
from hub.vocab import RED_FLAGS

FULL_SET = ["nrs", "phq9", "gad7", "what_matters", "goals"]


def submit(world, nhs: str = "9434765919", practice_pcp=None) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name="Alex", family_name="Test", birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", duration_months=18,
                    clinical_question="What next?", red_flags={k: False for k in RED_FLAGS}, baseline_pain=6,
                    risk_tool="start_msk", risk_band="low", goals_text="Walk further")
    return cases.save_case(world.sf, practice_pcp or world.pcp_a, inp, submit=True).case_id


def answer_all(sf, token: str, phq9_item9: int = 0) -> None:
    view = invitations.open_link(sf, token, "10.0.0.1")
    for i, step in enumerate(view.steps):
        if step.kind == "text":
            invitations.save_answer(sf, token, step.key, f"My {step.key} words", position=i + 1)
        elif step.key == "PHQ9_Q9":
            invitations.save_answer(sf, token, step.key, phq9_item9, position=i + 1)
        else:
            invitations.save_answer(sf, token, step.key, step.options[1][0], position=i + 1)


def test_link_token_is_random_and_only_its_hash_is_stored(world):
    cid = submit(world)
    a = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    b = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    assert a.token != b.token and len(a.token) >= 43
    with world.sf() as s:
        inv = s.get(Invitation, a.invitation_id)
        assert inv.token_hash == hashlib.sha256(a.token.encode()).hexdigest()
        assert a.token not in str(inv.__dict__)
        # default expiry: 14 days
        assert abs((inv.expires_at - inv.issued_at) - timedelta(days=14)) < timedelta(seconds=1)
        audit_text = " ".join(str(e.changes) for e in s.scalars(select(AuditEvent)))
    assert a.token not in audit_text
    assert a.url("https://hub.example").startswith("https://hub.example/?invite=")


def test_open_link_shows_first_name_practice_and_steps_never_scores(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    view = invitations.open_link(world.sf, link.token, "10.0.0.1")
    assert view.first_name == "Alex" and view.practice == "Practice A"
    assert [s.key for s in view.steps][:2] == ["NRS_Q1", "PHQ9_Q1"]
    assert view.steps[-1].key == "goals"
    assert not hasattr(view, "total") and not hasattr(view, "band")


def test_only_a_pcp_of_the_practice_or_the_chair_before_a_meeting_may_invite(world):
    cid = submit(world)
    with pytest.raises(NotFound):
        invitations.create(world.sf, world.pcp_b, cid, FULL_SET)
    with pytest.raises(PermissionDenied):
        invitations.create(world.sf, world.specialist, cid, FULL_SET)
    with pytest.raises(PermissionDenied):  # not on an agenda yet
        invitations.create(world.sf, world.chair, cid, FULL_SET, "pre_meeting")
    meetings.create_meeting(world.sf, world.chair, title="MDT",
                            starts_at=datetime.combine(date.today() + timedelta(days=3), datetime.min.time()))
    link = invitations.create(world.sf, world.chair, cid, [*FULL_SET, "questions"], "pre_meeting")
    with world.sf() as s:
        assert s.get(Invitation, link.invitation_id).meeting_id is not None


def test_set_is_checked_for_licence_and_occasion(world, monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_INSTRUMENT_TEXT_DIR", str(tmp_path))
    cid = submit(world)
    with pytest.raises(ValidationError, match="STarT MSK"):
        invitations.create(world.sf, world.pcp_a, cid, ["startmsk"])
    with pytest.raises(ValidationError, match="licensed"):
        invitations.create(world.sf, world.pcp_a, cid, ["mskhq"])
    with pytest.raises(ValidationError, match="before a hub meeting"):
        invitations.create(world.sf, world.pcp_a, cid, ["questions"], "baseline")
    with pytest.raises(ValidationError, match="follow-up"):
        invitations.create(world.sf, world.pcp_a, cid, ["pgic"], "baseline")
    with pytest.raises(ValidationError, match="at least one"):
        invitations.create(world.sf, world.pcp_a, cid, [])
    # With the organisation's licensed copy in place, PEG can be offered.
    (tmp_path / "PEG.en.json").write_text('{"stem": "s", "items": {"PEG_Q1": {"text": "a"}, "PEG_Q2": {"text": "b"},'
                                          ' "PEG_Q3": {"text": "c"}}}')
    link = invitations.create(world.sf, world.pcp_a, cid, ["peg"])
    view = invitations.open_link(world.sf, link.token, "10.0.0.1")
    assert [s.key for s in view.steps] == ["PEG_Q1", "PEG_Q2", "PEG_Q3"]
    assert len(view.steps[0].options) == 11


def test_wrong_expired_used_and_revoked_links_all_get_none(world):
    cid = submit(world)
    now = utcnow()
    expired = invitations.create(world.sf, world.pcp_a, cid, ["nrs"], now=now - timedelta(days=15))
    used = invitations.create(world.sf, world.pcp_a, cid, ["nrs"])
    invitations.save_answer(world.sf, used.token, "NRS_Q1", 4)
    invitations.submit(world.sf, used.token)
    revoked = invitations.create(world.sf, world.pcp_a, cid, ["nrs"])
    invitations.revoke(world.sf, world.pcp_a, revoked.invitation_id)
    for token in ("not-a-real-token", expired.token, used.token, revoked.token, "", None):
        assert invitations.open_link(world.sf, token, "10.0.0.2") is None
    with world.sf() as s:
        reasons = [e.changes["reason"] for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "invitation.denied").order_by(AuditEvent.id))]
        by_patient = select(AuditEvent).where(AuditEvent.entity == "invitation",
                                              AuditEvent.action.not_in(("invitation.create", "invitation.revoke")))
        assert all(e.actor_id is None for e in s.scalars(by_patient))
    assert reasons == ["wrong", "expired", "used", "revoked", "wrong", "wrong"]
    # Writes with a dead link fail the same way.
    for token in (expired.token, used.token, revoked.token):
        with pytest.raises(InvitationUnavailable):
            invitations.save_answer(world.sf, token, "NRS_Q1", 3)
        with pytest.raises(InvitationUnavailable):
            invitations.submit(world.sf, token)


def test_expiry_is_a_setting(world):
    settings.update(world.sf, world.admin, "invitations.expiry_days", 3)
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, ["nrs"])
    assert abs(link.expires_at - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
    assert invitations.open_link(world.sf, link.token, "10.0.0.1", now=utcnow() + timedelta(days=3, minutes=1)) is None


def test_a_link_works_once_per_set(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    answer_all(world.sf, link.token)
    invitations.submit(world.sf, link.token)
    assert invitations.open_link(world.sf, link.token, "10.0.0.1") is None
    with pytest.raises(InvitationUnavailable):
        invitations.submit(world.sf, link.token)
    with world.sf() as s:
        assert s.scalar(select(func.count()).select_from(Assessment).where(Assessment.mode == "patient-completed")) == 3


def test_guessing_is_rate_limited_per_client_and_globally(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, ["nrs"])
    settings.update(world.sf, world.admin, "invitations.max_failures_per_client", 5)
    settings.update(world.sf, world.admin, "invitations.max_failures_global", 12)
    for _ in range(5):
        assert invitations.open_link(world.sf, "guess-" + str(_), "203.0.113.9") is None
    # This client is now refused even with the right token; another client is not.
    assert invitations.open_link(world.sf, link.token, "203.0.113.9") is None
    assert invitations.open_link(world.sf, link.token, "198.51.100.1") is not None
    # Global: many addresses guessing together exhaust the global budget for everyone.
    for n in range(8):
        invitations.open_link(world.sf, "guess", f"192.0.2.{n}")
    assert invitations.open_link(world.sf, link.token, "198.51.100.1") is None
    # The window passes: the link works again.
    later = utcnow() + timedelta(minutes=16)
    assert invitations.open_link(world.sf, link.token, "198.51.100.1", now=later) is not None
    with world.sf() as s:
        stored = [a.client for a in s.scalars(select(InvitationAttempt))]
        limited = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "invitation.denied", AuditEvent.changes["reason"].as_string() == "rate_limited"))
    assert "203.0.113.9" not in stored and all(len(c) == 64 for c in stored)
    assert limited >= 2


def test_answers_are_saved_as_they_go_and_reopening_resumes(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    invitations.open_link(world.sf, link.token, "10.0.0.1")
    invitations.save_answer(world.sf, link.token, "NRS_Q1", 7, position=1)
    invitations.save_answer(world.sf, link.token, "PHQ9_Q1", 2, position=2)
    with pytest.raises(ValidationError):
        invitations.save_answer(world.sf, link.token, "PHQ9_Q2", 9)
    with pytest.raises(ValidationError):
        invitations.save_answer(world.sf, link.token, "ODI_Q1", 1)
    with pytest.raises(ValidationError):
        invitations.save_answer(world.sf, link.token, "goals", "x" * 2001)
    again = invitations.open_link(world.sf, link.token, "10.0.0.1")
    assert again.draft == {"NRS_Q1": 7, "PHQ9_Q1": 2} and again.position == 2
    with pytest.raises(ValidationError):  # unanswered items: not sent
        invitations.submit(world.sf, link.token)


def test_phq9_item9_raises_the_safety_alert_at_once_naming_the_patient_form(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, ["phq9"])
    invitations.open_link(world.sf, link.token, "10.0.0.1")
    for i in range(1, 9):
        assert invitations.save_answer(world.sf, link.token, f"PHQ9_Q{i}", 1) is False
    assert invitations.save_answer(world.sf, link.token, "PHQ9_Q9", 2) is True
    # Before the set is sent, the case already carries the alert, naming the source and time.
    with world.sf() as s:
        case = s.get(Case, cid)
        assert case.safety_alert is True
        reason = next(f.reason for f in flags.for_case(s, cid) if f.code == "safety_phq9")
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "safety.patient_reported"))
    assert "patient completed themselves" in reason and "UTC" in reason
    assert event.actor_id is None and event.changes["by"] == "patient"
    # Changing the answer back, then sending: the alert stays until a clinician records the action.
    assert invitations.save_answer(world.sf, link.token, "PHQ9_Q9", 0) is False
    invitations.submit(world.sf, link.token)
    with world.sf() as s:
        rows = s.scalars(select(Assessment).where(Assessment.instrument == "phq9")).all()
        assert len(rows) == 1 and rows[0].safety_alert and rows[0].mode == "patient-completed"
        assert rows[0].total == 8
        assert s.get(Case, cid).safety_alert is True
    from hub import records

    alerts = records.open_safety_alerts(world.sf, world.pcp_a, cid)
    assert alerts[0]["mode"] == "patient-completed"


def test_completed_answers_reach_the_hub(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    answer_all(world.sf, link.token)
    invitations.submit(world.sf, link.token)
    words = invitations.patient_words(world.sf, world.specialist, cid)
    assert words[0]["what_matters"] == "My what_matters words" and words[0]["goals"] == "My goals words"
    from hub import records

    data = records.timeline(world.sf, world.pcp_a, cid)
    modes = set(data.assessments["mode"])
    assert "patient-completed" in modes
    with world.sf() as s:
        assert s.get(Case, cid).latest_pain == 1.0
        assert invitations.letter_what_matters(s, cid, "MDT note").startswith("In the patient's words")
        assert invitations.letter_what_matters(s, cid, "MDT note").endswith("MDT note")
    rows = invitations.for_case(world.sf, world.pcp_a, cid)
    assert rows[0]["state"] == "completed"


def test_fhir_export_has_questionnaire_responses_that_validate(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    answer_all(world.sf, link.token)
    invitations.submit(world.sf, link.token)
    bundle = fhir.export_case(world.sf, world.pcp_a, cid)
    Bundle.model_validate(bundle)
    qrs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    assert len(qrs) == 1
    QuestionnaireResponse.model_validate(qrs[0])
    links = {i["linkId"]: i for i in qrs[0]["item"]}
    assert links["what_matters"]["answer"][0]["valueString"] == "My what_matters words"
    assert links["PHQ9_Q1"]["answer"][0]["valueCoding"]["code"] == "1"
    methods = [e["resource"]["method"]["text"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "Observation" and "method" in e["resource"]]
    assert any("patient" in m for m in methods)


def test_expired_links_count_as_proms_not_returned(world):
    cid = submit(world)
    now = utcnow()
    invitations.create(world.sf, world.pcp_a, cid, ["nrs"], now=now - timedelta(days=60))
    invitations.create(world.sf, world.pcp_a, cid, ["phq9"], now=now - timedelta(days=30))
    # A set with only free text is not a PROM.
    invitations.create(world.sf, world.pcp_a, cid, ["goals"], now=now - timedelta(days=29))

    with world.sf.begin() as s:
        assert sum(len(v) for v in invitations.unreturned(s, [s.get(Case, cid).patient_id]).values()) == 2
        flags.recompute_cases(s, [cid])
    with world.sf() as s:
        codes = {f.code: f.reason for f in flags.for_case(s, cid)}
    assert "prom_non_completion" in codes and "2 scheduled PROMs not returned" in codes["prom_non_completion"]


def _decided_case(world, follow_up: date) -> tuple[int, int]:
    cid = submit(world)
    # later today: the patient answers before the meeting, and finalising needs the meeting day
    starts = datetime.combine(date.today(), datetime.max.time()).replace(microsecond=0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=starts)
    link = invitations.create(world.sf, world.chair, cid, ["what_matters", "questions"], "pre_meeting")
    invitations.save_answer(world.sf, link.token, "what_matters", "Walking my dog")
    invitations.save_answer(world.sf, link.token, "questions", "Will exercise hurt my knee?")
    invitations.submit(world.sf, link.token)
    meetings.set_attendance(world.sf, world.chair, mid, [(world.chair.user_id, "pain_medicine"),
                                                         (world.specialist.user_id, "physiotherapy")])
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    flags_open = [f.code for f in cases.case_header(world.sf, world.chair, cid).open_flags]
    form = DecisionForm(formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise",
                        allergies="None known", what_matters="Walking", discussed_with_patient="yes",
                        agreed_plan="Exercise", safety_netting="Seek help if worse", primary_outcome="nrs",
                        follow_up_date=follow_up,
                        flag_responses={c: {"response": "change", "note": "in plan"} for c in flags_open},
                        recommendations=[RecommendationInput("exercise_programme", "Exercise", owner_role="pcp",
                                                             due_date=starts.date() + timedelta(days=14))])
    v = decisions.save(world.sf, world.chair, item, form, 0)
    letter_id = decisions.finalise(world.sf, world.chair, item, v)
    return cid, letter_id


def test_finalised_decision_schedules_the_follow_up_and_the_letter_uses_the_patients_words(world):
    follow_up = date.today() + timedelta(days=56)
    cid, letter_id = _decided_case(world, follow_up)
    rows = invitations.for_case(world.sf, world.pcp_a, cid)
    scheduled = next(r for r in rows if r["state"] == "scheduled")
    assert scheduled["due_on"] == follow_up and not scheduled["issuable"]
    with pytest.raises(ValidationError, match="can be issued from"):
        invitations.issue_scheduled(world.sf, world.pcp_a, scheduled["id"])
    link = invitations.issue_scheduled(world.sf, world.pcp_a, scheduled["id"], today=follow_up - timedelta(days=2))
    view = invitations.open_link(world.sf, link.token, "10.0.0.1")
    assert "PGIC" in [s.key for s in view.steps]
    from hub import correspondence

    letter = correspondence.letter_for(world.sf, world.pcp_a, letter_id)
    assert "Walking my dog" in letter.markdown
    board = invitations.dashboard_metrics(world.sf, world.chair, start=date.today() - timedelta(days=30),
                                          end=date.today() + timedelta(days=30))
    assert board["sent"] == 2 and board["completed"] == 1 and board["completion_rate"] == 0.5
    assert board["discussions"] == 1 and board["discussions_with_patient_input"] == 1
    assert board["median_hours_to_complete"] is not None
    assert board["by_practice"] == [{"practice": "Practice A", "sent": 2, "completed": 1, "completion_rate": 0.5}]


def test_revoke_and_replace_keep_the_draft(world):
    cid = submit(world)
    link = invitations.create(world.sf, world.pcp_a, cid, FULL_SET)
    invitations.save_answer(world.sf, link.token, "NRS_Q1", 5, position=1)
    new = invitations.replace(world.sf, world.pcp_a, link.invitation_id)
    assert invitations.open_link(world.sf, link.token, "10.0.0.1") is None
    view = invitations.open_link(world.sf, new.token, "10.0.0.1")
    assert view.draft == {"NRS_Q1": 5} and view.position == 1
    with pytest.raises(NotFound):
        invitations.revoke(world.sf, world.pcp_b, new.invitation_id)
    invitations.revoke(world.sf, world.pcp_a, new.invitation_id)
    with pytest.raises(ValidationError):
        invitations.revoke(world.sf, world.pcp_a, new.invitation_id)
