"""Clinical safety v0.2 (hazards H7, H10, H12) through the services, on SQLite and PostgreSQL: every
recommendation kind is guideline-checked, the red-flag screen's additions block submission, and action due
dates are checked against the day the decision is finalised."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Recommendation
from hub import cases, decisions, meetings
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.errors import ValidationError
from hub.vocab import RED_FLAGS

NHS = ["9434765919", "1745438912", "4010232137"]
TOMORROW = datetime.combine(date.today() + timedelta(days=1), datetime.min.time()).replace(hour=13)


def submit(world, i: int = 0, condition: str = "low_back_pain", pain_classification: str = "secondary",
           red_flags: dict | None = None, submit_now: bool = True):
    inp = CaseInput(new_patient=NewPatient(nhs_number=NHS[i], given_name=f"P{i}", family_name="Test",
                                           birth_year=1960, sex="female"),
                    condition=condition, pain_classification=pain_classification,
                    clinical_question=f"Question {i}?", red_flags=red_flags or {k: False for k in RED_FLAGS},
                    baseline_pain=6, risk_tool="start_msk", risk_band="low", goals_text="Walk further")
    return cases.save_case(world.sf, world.pcp_a, inp, submit=submit_now).case_id


def form_with(day: date, *recs: RecommendationInput) -> DecisionForm:
    return DecisionForm(
        formulation="Chronic low back pain", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise-led plan",
        allergies="No known drug allergies", discussed_with_patient="yes", primary_outcome="nrs",
        follow_up_date=day + timedelta(days=56),
        recommendations=[RecommendationInput("education", "Explain back pain and activity", owner_role="pcp",
                                             due_date=day + timedelta(days=7)), *recs],
        goals=[GoalInput("Walk the dog", "independently", "20 minutes", day + timedelta(days=84), 3, 2,
                         {-2: "5 min", -1: "10 min", 0: "20 min", 1: "30 min", 2: "45 min"})])


def agenda_item(world, starts: datetime = TOMORROW) -> int:
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=starts)
    return meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id


# ------------------------------------------------------------------------------------ H7


def test_h7_increase_dose_is_checked_like_a_start(world):
    submit(world, condition="sciatica")
    item = agenda_item(world)
    day = TOMORROW.date()
    form = form_with(day, RecommendationInput("increase_dose", "Increase pregabalin to 150 mg twice daily",
                                              drug="pregabalin", owner_role="pcp", due_date=day))
    with pytest.raises(ValidationError) as exc:
        decisions.save(world.sf, world.chair, item, form, 0)
    msg = exc.value.errors["recommendations[2].guideline"]
    assert "NG59" in msg and "do not offer" in msg and "override" in msg
    form.recommendations[-1].guideline_override = "Neurology advised continuing; reviewed at 4 weeks"
    v = decisions.save(world.sf, world.chair, item, form, 0)
    assert v >= 1
    with world.sf() as s:
        rec = s.scalar(select(Recommendation).where(Recommendation.kind == "increase_dose"))
        assert rec.guideline_override.startswith("Neurology")
        assert any(h["blocks"] and h["guideline"] == "NG59" for h in rec.guideline_hits)


@pytest.mark.parametrize("kind, description, condition, pc", [
    ("refer", "Refer to physiotherapy for TENS", "low_back_pain", "secondary"),
    ("other", "Lumbar support belt for work", "low_back_pain", "secondary"),
    ("refer", "Refer for acupuncture", "sciatica", "secondary"),
    ("refer", "Refer to pain clinic for facet joint injection", "low_back_pain", "secondary"),
    ("psychological_therapy", "Biofeedback sessions", "widespread_pain", "primary"),
    ("exercise_programme", "Exercise class with interferential therapy", "widespread_pain", "primary"),
])
def test_h7_non_drug_do_not_offer_needs_an_override(world, kind, description, condition, pc):
    submit(world, condition=condition, pain_classification=pc)
    item = agenda_item(world)
    day = TOMORROW.date()
    form = form_with(day, RecommendationInput(kind, description, owner_role="pcp", due_date=day))
    with pytest.raises(ValidationError) as exc:
        decisions.save(world.sf, world.chair, item, form, 0)
    msg = exc.value.errors["recommendations[2].guideline"]
    assert "do not offer" in msg and "override reason" in msg
    form.recommendations[-1].guideline_override = "Patient's informed choice after discussion of evidence"
    assert decisions.save(world.sf, world.chair, item, form, 0) >= 1


def test_h7_non_drug_check_lets_recommended_treatments_through(world):
    submit(world, condition="low_back_pain")
    item = agenda_item(world)
    day = TOMORROW.date()
    form = form_with(day, RecommendationInput("exercise_programme", "Group exercise programme, 8 weeks",
                                              owner_role="physiotherapy", due_date=day),
                     RecommendationInput("investigation", "Ultrasound scan of the abdomen", owner_role="pcp",
                                         due_date=day))
    assert decisions.save(world.sf, world.chair, item, form, 0) >= 1


def test_h7_continuing_gets_the_already_taking_review_not_a_block(world):
    submit(world, condition="sciatica")
    item = agenda_item(world)
    day = TOMORROW.date()
    form = form_with(day, RecommendationInput("continue_medicine", "Continue pregabalin while tapering is discussed",
                                              drug="pregabalin", owner_role="pcp", due_date=day),
                     RecommendationInput("taper_medicine", "Taper diazepam", drug="diazepam", owner_role="pcp",
                                         due_date=day))
    assert decisions.save(world.sf, world.chair, item, form, 0) >= 1
    with world.sf() as s:
        cont = s.scalar(select(Recommendation).where(Recommendation.kind == "continue_medicine"))
        assert [h["rule"] for h in cont.guideline_hits] == ["review"]


# ----------------------------------------------------------------------------------- H10


@pytest.mark.parametrize("code", ["cauda_equina_bilateral_sciatica", "cauda_equina_sexual_dysfunction",
                                  "aaa", "giant_cell_arteritis", "osteoporotic_fracture"])
def test_h10_new_red_flags_block_submission(world, code):
    flags = {k: False for k in RED_FLAGS}
    flags[code] = True
    with pytest.raises(ValidationError) as exc:
        submit(world, red_flags=flags)
    assert "red_flags" in exc.value.errors
    # Saving a draft keeps the answer; nothing is submitted.
    cid = submit(world, red_flags=flags, submit_now=False)
    assert cases.case_header(world.sf, world.pcp_a, cid).status == "draft"


# ----------------------------------------------------------------------------------- H12


def test_h12_due_dates_are_checked_against_the_finalisation_day(world):
    submit(world)
    week_ago = datetime.combine(date.today() - timedelta(days=7), datetime.min.time()).replace(hour=13)
    item = agenda_item(world, week_ago)
    meeting_day = week_ago.date()
    late = date.today() - timedelta(days=2)  # after the meeting, before the letter's date
    form = form_with(meeting_day, RecommendationInput("exercise_programme", "Group exercise programme",
                                                      owner_role="physiotherapy", due_date=late))
    v = decisions.save(world.sf, world.chair, item, form, 0)  # fine for the meeting day
    with pytest.raises(ValidationError) as exc:
        decisions.finalise(world.sf, world.chair, item, v)
    msg = exc.value.errors["recommendations[2].due_date"]
    assert "finalised" in msg and f"{date.today():%d %b %Y}" in msg
    form.recommendations[-1].due_date = date.today()
    v = decisions.save(world.sf, world.chair, item, form, v)
    assert decisions.finalise(world.sf, world.chair, item, v) > 0


# ------------------------------------------------------------------------------------ H2


def test_h2_distress_is_stored_as_a_flag_with_its_reason(world):
    from db.models import CaseFlag
    from hub import records

    cid = submit(world)
    phq = {f"PHQ9_Q{i}": 3 for i in range(1, 9)} | {"PHQ9_Q9": 0}  # 24, item 9 = 0: no safety alert
    gad = {f"GAD7_Q{i}": 3 for i in range(1, 7)} | {"GAD7_Q7": 1}  # 19
    records.add_assessment(world.sf, world.pcp_a, cid, "phq9", date.today(), phq)
    records.add_assessment(world.sf, world.pcp_a, cid, "gad7", date.today(), gad)
    header = cases.case_header(world.sf, world.pcp_a, cid)
    distress = next(f for f in header.flags if f.code == "distress")
    assert distress.severity == "amber" and "PHQ-9 24" in distress.reason and "GAD-7 19" in distress.reason
    with world.sf() as s:
        row = s.scalar(select(CaseFlag).where(CaseFlag.case_id == cid, CaseFlag.code == "distress"))
        assert row is not None and "mental-health pathway" in row.reason


def test_h2_clinician_records_a_phq9_without_item_9_unscored_and_the_case_asks_for_it(world):
    """A paper PHQ-9 returned with item 9 blank is recorded (not scored, no imputation) so the prompt to ask
    item 9 now reaches the case; any other blank item is still refused with the item named."""
    from db.models import Assessment, AuditEvent
    from hub import records

    cid = submit(world)
    eight = {f"PHQ9_Q{i}": 2 for i in range(1, 9)}
    aid = records.add_assessment(world.sf, world.pcp_a, cid, "phq9", date.today(), eight)
    with world.sf() as s:
        row = s.get(Assessment, aid)
        assert row.total is None and row.band is None and not row.safety_alert and row.responses == eight
        assert row.status == "incomplete"  # returned (not counted as a PROM not returned), not scored
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.create",
                                                 AuditEvent.entity_id == str(aid))) is not None
    header = cases.case_header(world.sf, world.pcp_a, cid)
    asks = next(f for f in header.flags if f.code == "phq9_item9_unanswered")
    assert asks.severity == "amber" and "ask item 9 now" in asks.reason
    # A later PHQ-9 that answers item 9 clears the prompt.
    records.add_assessment(world.sf, world.pcp_a, cid, "phq9", date.today(), eight | {"PHQ9_Q9": 0})
    assert "phq9_item9_unanswered" not in {f.code for f in cases.case_header(world.sf, world.pcp_a, cid).flags}
    for blank in (["PHQ9_Q3"], ["PHQ9_Q3", "PHQ9_Q9"]):
        answers = {k: v for k, v in (eight | {"PHQ9_Q9": 0}).items() if k not in blank}
        with pytest.raises(ValidationError) as exc:
            records.add_assessment(world.sf, world.pcp_a, cid, "phq9", date.today(), answers)
        assert "responses.PHQ9_Q3" in exc.value.errors


def test_h7_migrated_kind_check_matches_the_vocabulary(sf):
    """Alembic does not compare CHECK contents: the migrated constraint must list every recommendation kind."""
    from sqlalchemy import inspect

    from hub.vocab import RECOMMENDATION_TYPES

    with sf() as s:
        checks = inspect(s.connection()).get_check_constraints("recommendation")
    kind = next(c["sqltext"] for c in checks if c["name"] == "ck_recommendation_kind_known")
    for code in RECOMMENDATION_TYPES:
        assert f"'{code}'" in kind, code
