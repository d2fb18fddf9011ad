"""Case submission, scope, queue and thread services on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Case, Patient, Treatment
from hub import cases, records
from hub.cases import CaseInput, NewPatient
from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from hub.records import ReviewInput, TreatmentInput
from hub.vocab import RED_FLAGS

NO_FLAGS = {k: False for k in RED_FLAGS}


def new_case(**over) -> CaseInput:
    base = dict(
        new_patient=NewPatient(nhs_number="943 476 5919", given_name="Ann", family_name="Lee", birth_year=1960,
                               sex="female"),
        condition="knee_oa", pain_classification="secondary", duration_months=18,
        clinical_question="Pain unchanged on three analgesics: what next?", red_flags=dict(NO_FLAGS),
        baseline_pain=7, risk_tool="start_msk", risk_band="medium", goals_text="Walk to the shops",
        concerns_text="Worried exercise will wear out my knee",
    )
    base.update(over)
    return CaseInput(**base)


def count(sf, model) -> int:
    with sf() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_submit_writes_case_patient_treatments_and_audit(world):
    t = TreatmentInput(category="medicine", name="codeine", drug="codeine", route="oral", daily_dose_mg=240,
                       start_date=date.today() - timedelta(days=90))
    saved = cases.save_case(world.sf, world.pcp_a, new_case(treatments=[t]), submit=True)
    assert saved.status == "submitted"
    with world.sf() as s:
        case = s.get(Case, saved.case_id)
        assert case.practice_id == world.practice_a
        assert case.referrer_id == world.pcp_a.user_id
        assert case.submitted_at is not None
        assert case.latest_pain == 7
        assert s.get(Patient, case.patient_id).nhs_number == "9434765919"
        tr = s.scalars(select(Treatment).where(Treatment.patient_id == case.patient_id)).one()
        assert (tr.drug, tr.daily_dose_mg, tr.route) == ("codeine", 240, "oral")
        actions = {e.action for e in s.scalars(select(AuditEvent))}
    assert {"patient.create", "case.create", "treatment.create", "case.submit"} <= actions
    assert list(records.timeline(world.sf, world.chair, saved.case_id).treatments.label) == ["Codeine 240 mg/day oral"]


@pytest.mark.parametrize("bad", ["9434765918", "123456789", "1234567890", "0000000000", "abcdefghij"])
def test_invalid_nhs_number_is_rejected_and_nothing_written(world, bad):
    inp = new_case(new_patient=NewPatient(nhs_number=bad, given_name="A", family_name="B", birth_year=1970,
                                          sex="male"))
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_a, inp, submit=True)
    assert "nhs_number" in exc.value.errors
    assert count(world.sf, Case) == 0 and count(world.sf, Patient) == 0 and count(world.sf, AuditEvent) == 0


def test_missing_question_blocks_submission_but_not_a_draft(world):
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_a, new_case(clinical_question="   "), submit=True)
    assert "clinical_question" in exc.value.errors
    assert count(world.sf, Case) == 0
    draft = cases.save_case(world.sf, world.pcp_a, new_case(clinical_question=""), submit=False)
    assert draft.status == "draft"


def test_red_flag_sends_to_urgent_pathway_not_hub(world):
    flags = dict(NO_FLAGS, cauda_equina=True)
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_a, new_case(red_flags=flags), submit=True)
    assert "urgent" in exc.value.errors["red_flags"]
    assert count(world.sf, Case) == 0


def test_unanswered_red_flag_screen_blocks_submission(world):
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_a, new_case(red_flags={"cauda_equina": False}), submit=True)
    assert "red_flags" in exc.value.errors


def test_duplicate_nhs_number_is_a_field_error(world):
    cases.save_case(world.sf, world.pcp_a, new_case(), submit=False)
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_b, new_case(), submit=False)
    assert "already registered" in exc.value.errors["nhs_number"]


def test_invalid_treatment_rolls_back_the_whole_submission(world):
    bad = TreatmentInput(category="medicine", name="", route="oral", start_date=date.today())
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_a, new_case(treatments=[bad]), submit=True)
    assert any(k.startswith("treatments[0]") for k in exc.value.errors)
    assert count(world.sf, Case) == 0 and count(world.sf, Patient) == 0


def test_only_pcps_submit_and_only_in_their_practice(world):
    with pytest.raises(PermissionDenied):
        cases.save_case(world.sf, world.specialist, new_case(), submit=True)
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=False)
    with world.sf() as s:
        patient_id = s.get(Case, saved.case_id).patient_id
    with pytest.raises(ValidationError) as exc:
        cases.save_case(world.sf, world.pcp_b, new_case(new_patient=None, patient_id=patient_id), submit=False)
    assert "patient" in exc.value.errors
    with pytest.raises(NotFound):
        cases.save_case(world.sf, world.pcp_b, new_case(), case_id=saved.case_id, submit=False)


def test_scope_pcp_sees_own_practice_hub_sees_submitted_only(world):
    draft = cases.save_case(world.sf, world.pcp_a, new_case(), submit=False)
    sub = cases.save_case(world.sf, world.pcp_a, new_case(new_patient=NewPatient(
        nhs_number="1745438912", given_name="Bo", family_name="Ng", birth_year=1970, sex="male")), submit=True)
    assert set(cases.queue(world.sf, world.pcp_a).rows.case_id) == {draft.case_id, sub.case_id}
    assert cases.queue(world.sf, world.pcp_b).total == 0
    assert set(cases.queue(world.sf, world.specialist).rows.case_id) == {sub.case_id}
    assert set(cases.queue(world.sf, world.chair).rows.case_id) == {sub.case_id}
    with pytest.raises(PermissionDenied):
        cases.queue(world.sf, world.admin)
    with pytest.raises(NotFound):
        cases.case_header(world.sf, world.pcp_b, sub.case_id)
    with pytest.raises(NotFound):
        cases.case_header(world.sf, world.specialist, draft.case_id)
    assert cases.case_header(world.sf, world.specialist, sub.case_id).can_edit is False
    assert cases.case_header(world.sf, world.pcp_a, sub.case_id).can_edit is True
    with pytest.raises(NotFound):
        records.timeline(world.sf, world.pcp_b, sub.case_id)


def test_queue_filters_sort_and_pages_in_sql(world):
    numbers = ["9434765919", "1745438912", "4010232137", "4000000020", "9990000018"]
    conditions = ["knee_oa", "low_back_pain", "knee_oa", "neck_pain", "knee_oa"]
    ids = []
    for n, c in zip(numbers, conditions):
        inp = new_case(condition=c, new_patient=NewPatient(nhs_number=n, given_name="X", family_name="Y",
                                                           birth_year=1950, sex="other"))
        ids.append(cases.save_case(world.sf, world.pcp_a, inp, submit=True).case_id)
    page = cases.queue(world.sf, world.chair, conditions=["knee_oa"], page_size=2)
    assert page.total == 3 and page.pages == 2 and len(page.rows) == 2
    assert list(page.rows.case_id) == [ids[0], ids[2]]  # oldest first
    page2 = cases.queue(world.sf, world.chair, conditions=["knee_oa"], page_size=2, page=2)
    assert list(page2.rows.case_id) == [ids[4]]
    newest = cases.queue(world.sf, world.chair, sort="newest")
    assert list(newest.rows.case_id) == list(reversed(ids))
    assert cases.queue(world.sf, world.chair, practice_ids=[world.practice_b]).total == 0
    assert cases.queue(world.sf, world.chair, statuses=["triaged"]).total == 0
    row = page.rows.iloc[0]
    assert row.patient == "XY" and row.days_waiting == 0 and row.latest_pain == 7
    with pytest.raises(ValidationError):
        cases.queue(world.sf, world.chair, sort="nonsense")


def test_stale_draft_edit_raises_conflict_and_keeps_data(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(clinical_question="first"), submit=False)
    inp, version = cases.case_form_input(world.sf, world.pcp_a, saved.case_id)
    inp.clinical_question = "second"
    cases.save_case(world.sf, world.pcp_a, inp, case_id=saved.case_id, expected_version=version)
    inp.clinical_question = "third (stale form)"
    with pytest.raises(EditConflict) as exc:
        cases.save_case(world.sf, world.pcp_a, inp, case_id=saved.case_id, expected_version=version)
    assert exc.value.changed_by == "Dr A"
    assert cases.case_header(world.sf, world.pcp_a, saved.case_id).clinical_question == "second"


def test_submitted_case_cannot_be_edited_as_draft(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    inp, version = cases.case_form_input(world.sf, world.pcp_a, saved.case_id)
    with pytest.raises(ValidationError):
        cases.save_case(world.sf, world.pcp_a, inp, case_id=saved.case_id, expected_version=version)


def test_status_transitions_follow_the_state_machine(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    with pytest.raises(PermissionDenied):
        cases.change_status(world.sf, world.pcp_a, saved.case_id, "triaged")
    cases.change_status(world.sf, world.chair, saved.case_id, "triaged")
    with pytest.raises(ValidationError):
        cases.change_status(world.sf, world.chair, saved.case_id, "returned")
    with pytest.raises(ValidationError):
        cases.withdraw_case(world.sf, world.pcp_a, saved.case_id)
    assert cases.case_header(world.sf, world.pcp_a, saved.case_id).status == "triaged"


def test_comments_thread_scope_and_validation(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    cases.add_comment(world.sf, world.specialist, saved.case_id, "<b>Has she tried</b> a walking group?")
    cases.add_comment(world.sf, world.pcp_a, saved.case_id, "Not yet.")
    thread = cases.comments(world.sf, world.pcp_a, saved.case_id)
    assert [c["body"] for c in thread] == ["<b>Has she tried</b> a walking group?", "Not yet."]
    with pytest.raises(ValidationError):
        cases.add_comment(world.sf, world.pcp_a, saved.case_id, "  ")
    with pytest.raises(NotFound):
        cases.add_comment(world.sf, world.pcp_b, saved.case_id, "hello")


def test_record_writes_update_timeline_and_latest_pain(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    cid = saved.case_id
    records.add_treatment(world.sf, world.pcp_a, cid, TreatmentInput(
        category="medicine", name="fentanyl", drug="fentanyl", route="transdermal", patch_mcg_per_h=25,
        start_date=date.today() - timedelta(days=30), already_taking=True))
    records.add_assessment(world.sf, world.pcp_a, cid, "peg", date.today(), {"PEG_Q1": 5, "PEG_Q2": 4, "PEG_Q3": 4})
    records.add_assessment(world.sf, world.pcp_a, cid, "PHQ-9", date.today(),
                           {f"PHQ9_Q{i}": v for i, v in enumerate([0, 0, 0, 0, 0, 0, 0, 0, 1], 1)})
    records.add_review(world.sf, world.pcp_a, cid, ReviewInput(review_date=date.today(), attendance="dna"))
    data = records.timeline(world.sf, world.specialist, cid)
    assert list(data.treatments.label) == ["Fentanyl 25 microgram/h patch"]
    peg = data.assessments[data.assessments.instrument == "peg"].iloc[0]
    assert round(peg.total, 2) == 4.33
    phq = data.assessments[data.assessments.instrument == "phq9"].iloc[0]
    assert phq.safety_alert and phq.band == "minimal"
    assert list(data.reviews.attendance) == ["dna"]
    assert round(cases.queue(world.sf, world.chair).rows.iloc[0].latest_pain, 1) == 4.3
    with pytest.raises(PermissionDenied):
        records.add_review(world.sf, world.specialist, cid, ReviewInput(review_date=date.today()))


@pytest.mark.parametrize("responses,field", [
    ({"PEG_Q1": 11, "PEG_Q2": 4, "PEG_Q3": 4}, "responses"),
    ({"PEG_Q1": 5}, "responses"),
])
def test_invalid_assessment_writes_nothing(world, responses, field):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    with pytest.raises(ValidationError) as exc:
        records.add_assessment(world.sf, world.pcp_a, saved.case_id, "peg", date.today(), responses)
    assert field in exc.value.errors
    assert records.timeline(world.sf, world.pcp_a, saved.case_id).assessments.empty


def test_invalid_treatment_and_review_messages(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    with pytest.raises(ValidationError) as exc:
        records.add_treatment(world.sf, world.pcp_a, saved.case_id, TreatmentInput(
            category="medicine", name="oxycodone", drug="oxycodone", route="oral", daily_dose_mg=-5,
            start_date=date.today(), end_date=date.today() - timedelta(days=3)))
    assert {"daily_dose_mg", "end_date"} <= set(exc.value.errors)
    with pytest.raises(ValidationError) as exc:
        records.add_review(world.sf, world.pcp_a, saved.case_id, ReviewInput(
            review_date=date.today() + timedelta(days=1), attendance="dna", management_changes=["dose_change"]))
    assert {"review_date", "attendance"} <= set(exc.value.errors)


def test_guideline_do_not_rule_needs_an_override_reason(world):
    saved = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)  # knee OA, secondary pain
    t = TreatmentInput(category="medicine", name="oxycodone", drug="oxycodone", route="oral", daily_dose_mg=20,
                       start_date=date.today())
    with pytest.raises(ValidationError) as exc:
        records.add_treatment(world.sf, world.pcp_a, saved.case_id, t)
    message = exc.value.errors["guideline_override"]
    assert "NG226" in message and "do not offer" in message
    assert records.timeline(world.sf, world.pcp_a, saved.case_id).treatments.empty
    t.guideline_override = "Palliative phase agreed with the patient and pain team"
    tid = records.add_treatment(world.sf, world.pcp_a, saved.case_id, t)
    with world.sf() as s:
        row = s.get(Treatment, tid)
        assert row.guideline_override.startswith("Palliative")
        assert any(h["blocks"] and h["guideline"] == "NG226" for h in row.guideline_hits)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "treatment.create")).one()
        assert event.changes["guideline_override"].startswith("Palliative")


def test_primary_pain_new_opioid_blocked_but_existing_one_recorded(world):
    inp = new_case(condition="widespread_pain", pain_classification="primary")
    saved = cases.save_case(world.sf, world.pcp_a, inp, submit=True)
    new = TreatmentInput(category="medicine", name="tramadol", drug="tramadol", route="oral", daily_dose_mg=200,
                         start_date=date.today())
    with pytest.raises(ValidationError) as exc:
        records.add_treatment(world.sf, world.pcp_a, saved.case_id, new)
    assert "NG193" in exc.value.errors["guideline_override"]
    new.already_taking = True
    records.add_treatment(world.sf, world.pcp_a, saved.case_id, new)


def test_known_total_skips_the_count_but_rows_stay_fresh(world):
    first = cases.save_case(world.sf, world.pcp_a, new_case(), submit=True)
    page = cases.queue(world.sf, world.chair)
    assert page.total == 1
    second = cases.save_case(world.sf, world.pcp_a, new_case(new_patient=NewPatient(
        nhs_number="1745438912", given_name="Bo", family_name="Ng", birth_year=1970, sex="male")), submit=True)
    reused = cases.queue(world.sf, world.chair, known_total=page.total)
    assert reused.total == 1 and set(reused.rows.case_id) == {first.case_id, second.case_id}
    assert cases.queue(world.sf, world.chair).total == 2
