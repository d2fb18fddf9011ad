"""Clinical safety v0.2, the letter and data half: H3 (OME lower bound, brands, 0 mg/day, caution), H4 (discussed
and the patient's view as two facts), H5 (patient identification in both letter versions), H6 (the patient
version's own text, standard score names, Flesch-Kincaid grade) and the medication-changes table.

Pure tests run once; tests that touch the database run on SQLite and PostgreSQL (the `sf`/`world` fixtures)."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from db.models import Letter, Patient, Treatment
from hub import cases, decisions, fhir, letters, meetings, records
from hub.cases import CaseInput, NewPatient
from hub.clinical import opioids
from hub.clinical.case_review import CaseRecord, TreatmentRec, evaluate_case
from hub.clinical.drugs import PICKLIST, code_medicine
from hub.decisions import DecisionForm, RecommendationInput
from hub.errors import ValidationError
from hub.letters import (
    LetterData,
    LetterItem,
    MedicationChange,
    build_letter,
    letter_pdf,
    unescape_markdown,
)
from hub.readability import count_syllables, flesch_kincaid, flesch_kincaid_grade
from hub.records import TreatmentInput
from hub.vocab import RECOMMENDATION_TYPES, RED_FLAGS
from tests.hub.test_letters import pdf_text, squash

TODAY = date(2026, 6, 1)
CAUTION = "for risk, not for converting between opioids"
LOWER_BOUND = "at least 24 mg/day (excludes: methadone — specialist advice)"


def data(**changes) -> LetterData:
    """A complete letter for a patient on methadone and a Transtec patch (buprenorphine 10 microgram/h)."""
    base = LetterData(
        patient_name="Ann Lee", nhs_number="9434765919", birth_year=1961, sex="female",
        practice_name="Northgate Medical Centre", referrer_name="Dr Asha Patel", meeting_date=TODAY,
        meeting_type="Virtual pain hub MDT", attendees=[("Sam Cole", "pain_medicine"), ("Jo King", "psychology")],
        chair_name="Sam Cole", clinical_question="Should she be referred for a pain clinic assessment given her "
                                                   "catastrophising and possible hyperalgesia?",
        answer="Taper the patch; hyperalgesia is likely.", condition="knee_oa", pain_classification="secondary",
        formulation="Opioid-induced hyperalgesia with catastrophising; inertia flag raised.", pathway_step="S5",
        allergies="No known drug allergies",
        assessment_lines=[letters.score_line("phq9", 12, date(2026, 5, 1), "moderate"),
                          letters.score_line("startmsk", 6, date(2026, 5, 1), "medium")],
        medication_lines=["Methadone 30 mg/day oral", "Buprenorphine 10 microgram/h patch"], total_ome=24.0,
        flags_and_responses=["Therapeutic inertia: no change at 3 reviews — hub response: change"],
        recommendations=[LetterItem("taper_medicine", "Reduce the patch to 5 microgram/h", "GP", date(2026, 7, 1)),
                         LetterItem("exercise_programme", "Walk ten minutes a day", "patient", date(2026, 7, 1),
                                    for_patient=True)],
        goals=[], what_matters="Walking the dog", beliefs_concerns="Catastrophising about movement",
        options_discussed="", option_preferred="", options_declined="", safety_netting="", safety_alerts=[],
        follow_up_date=date(2026, 9, 1), rediscussion_criteria="New inertia or disengagement flag",
        completed_by="Sam Cole", completed_by_role="Hub chair", completed_on=TODAY, distribution=["Dr Asha Patel"],
        date_of_birth=date(1961, 3, 2), address="1 Example Street, Exampleton", postcode="ZZ99 1AB",
        practice_ods_code="Z99901", discussed_with_patient="yes", patient_view="agrees",
        patient_summary="We suggest a smaller patch and more walking.",
        medication_changes=[MedicationChange("buprenorphine", "reduce", "5 microgram/h patch, weekly",
                                             date(2026, 7, 1))],
        ome_excluded=("methadone — specialist advice",))
    return dataclasses.replace(base, **changes)


def gp_text(d: LetterData) -> str:
    return unescape_markdown(build_letter(d).markdown)


def patient_text(d: LetterData) -> str:
    return unescape_markdown(build_letter(d).patient_markdown)


# --- H3: OME as a lower bound, brands, 0 mg/day, caution -------------------------------------------------


def test_h3_methadone_and_branded_patch_give_a_lower_bound_not_zero():
    s = opioids.ome_summary([{"drug": "methadone", "route": "oral", "daily_dose_mg": 30},
                             {"drug": "Transtec", "route": "transdermal", "patch_mcg_per_h": 10}])
    assert s.total == 24 and s.lower_bound and s.on_opioids
    assert s.excluded == ("methadone — specialist advice",)
    assert s.text == LOWER_BOUND
    assert s.text_with_caution == f"{LOWER_BOUND} ({CAUTION})"
    only_methadone = opioids.ome_summary([{"drug": "methadone", "route": "oral", "daily_dose_mg": 30}])
    assert only_methadone.text == "at least 0 mg/day (excludes: methadone — specialist advice)"
    assert opioids.ome_summary([{"drug": "morphine", "route": "oral", "daily_dose_mg": 60}]).text == "60 mg/day"


@pytest.mark.parametrize("brand, route, dose, generic", [
    ("Palexia", "oral", 200, "tapentadol"), ("Transtec", "transdermal", 35, "buprenorphine"),
    ("Butrans", "transdermal", 10, "buprenorphine"), ("Durogesic", "transdermal", 25, "fentanyl"),
    ("Zomorph", "oral", 60, "morphine"), ("MST Continus", "oral", 60, "morphine"),
    ("OxyContin", "oral", 40, "oxycodone"), ("Shortec", "oral", 20, "oxycodone"), ("Zydol", "oral", 200, "tramadol"),
])
def test_h3_uk_brands_convert_like_their_generic(brand, route, dose, generic):
    key = "patch_mcg_per_h" if route == "transdermal" else "daily_dose_mg"
    branded = opioids.daily_ome([{"drug": brand, "route": route, key: dose}])
    plain = opioids.daily_ome([{"drug": generic, "route": route, key: dose}])
    assert not branded.unconvertible and branded.total == plain.total > 0
    assert code_medicine(brand).drug == generic and code_medicine(brand).coded


def test_h3_combination_products_count_their_opioid_component():
    # co-codamol 30/500 two tablets four times a day = codeine 240 mg/day -> 24; Targinact 20/10 BD = oxycodone 40
    result = opioids.daily_ome([{"drug": "co-codamol", "route": "oral", "daily_dose_mg": 240},
                                {"drug": "co-dydramol", "route": "oral", "daily_dose_mg": 120},
                                {"drug": "Targinact", "route": "oral", "daily_dose_mg": 40}])
    assert not result.unconvertible
    assert [i.ome for i in result.items] == [24, 12, 60] and result.total == 96
    assert "co-codamol (codeine component)" in result.items[0].label


def test_h3_sublingual_buprenorphine_and_pethidine_are_counted_and_marked_for_recheck():
    result = opioids.daily_ome([{"drug": "buprenorphine", "route": "sublingual", "daily_dose_mg": 0.4},
                                {"drug": "pethidine", "route": "oral", "daily_dose_mg": 100}])
    assert [i.ome for i in result.items] == [16, 10] and all(i.recheck for i in result.items)
    assert all("re-check against fpm.ac.uk" in i.label for i in result.items)
    assert not opioids.daily_ome([{"drug": "morphine", "route": "oral", "daily_dose_mg": 10}]).items[0].recheck
    assert len(opioids.summarise_ome(result).recheck) == 2


def test_h3_zero_dose_counts_as_zero_and_missing_dose_is_excluded():
    zero = opioids.ome_summary([{"drug": "morphine", "route": "oral", "daily_dose_mg": 0},
                                {"drug": "oxycodone", "route": "oral", "daily_dose_mg": 20}])
    assert zero.total == 30 and not zero.excluded and zero.text == "30 mg/day"
    missing = opioids.ome_summary([{"drug": "morphine", "route": "oral", "daily_dose_mg": None}])
    assert missing.excluded == ("morphine — no dose recorded",)
    # The case evaluation counts the 0 mg/day item instead of flagging it as "no dose recorded".
    day = date(2026, 4, 30)
    ev = evaluate_case(CaseRecord(today=day, condition="low_back_pain", pain_classification="secondary",
                                  risk_band=None, submitted_on=day,
                                  treatments=(TreatmentRec("medicine", day - timedelta(days=9), drug="morphine",
                                                           route="oral", daily_dose_mg=0.0),)))
    assert "opioid_unconvertible" not in {f.code for f in ev.flags} and ev.ome_total == 0
    assert records.validate_treatment(TreatmentInput("medicine", "morphine", "morphine", "oral", 0.0,
                                                     start_date=day), today=day) == {}


def test_h3_route_decides_which_dose_counts_and_a_stray_patch_strength_is_refused():
    assert opioids.rx_of("oxycodone", "oral", 20, 10) == {"drug": "oxycodone", "route": "oral", "daily_dose_mg": 20}
    assert opioids.ome_summary([{"drug": "oxycodone", "route": "oral", "daily_dose_mg": 20,
                                 "patch_mcg_per_h": 10}]).text == "30 mg/day"
    errors = records.validate_treatment(TreatmentInput("medicine", "oxycodone", "oxycodone", "oral", 20, 10,
                                                       start_date=TODAY), today=TODAY)
    assert "transdermal" in errors["patch_mcg_per_h"]


def test_h3_free_text_medicine_is_not_coded_and_never_converted():
    assert code_medicine("Transtec (buprenorphine 4-day patch)").route == "transdermal"
    assert all(code_medicine(p.label).coded for p in PICKLIST)
    unknown = code_medicine("Wonder Patch")
    assert not unknown.coded and unknown.drug == "wonder patch"
    s = opioids.ome_summary([{"drug": "wonder patch", "route": "transdermal", "patch_mcg_per_h": 10}])
    assert s.excluded == ("wonder patch — not coded, check by hand",) and s.text.startswith("at least 0 mg/day")


def test_h3_letter_shows_the_lower_bound_with_the_caution_in_both_versions(tmp_path):
    d = data()
    gp = gp_text(d)
    assert f"Total oral morphine equivalent (OME): {LOWER_BOUND} ({CAUTION})" in gp
    assert "Total OME: 0" not in gp and not re.search(r"(?<![\d.])0 mg/day", gp)
    assert f"{LOWER_BOUND} ({CAUTION})" in patient_text(d)
    pdf = squash(pdf_text(letter_pdf(build_letter(d)), tmp_path))
    assert squash(LOWER_BOUND) in pdf and squash(CAUTION) in pdf
    patient_pdf = squash(pdf_text(letter_pdf(build_letter(d), patient_version=True), tmp_path))
    assert squash(LOWER_BOUND) in patient_pdf and squash(CAUTION) in patient_pdf
    # No opioid at all: no OME line.
    none = data(total_ome=None, ome_excluded=())
    assert "morphine equivalent" not in gp_text(none) and "morphine equivalent" not in patient_text(none)


def test_h3_timeline_chart_carries_the_caution_beside_the_ome():
    from hub import charts
    from tests.hub.test_charts import frames

    fig = charts.case_timeline(*frames(), today=date(2026, 4, 30), ome=[(date(2026, 1, 1), 60.0)])
    titles = [a.text for a in fig.layout.annotations]
    assert any("OME" in t and CAUTION in t for t in titles)


# --- H4: discussed with the patient, and the patient's view -------------------------------------------


@pytest.mark.parametrize("discussed, view, gp_lines, plain", [
    ("yes", "agrees", ("Yes", "Agrees with the plan"), "you told us you agree with it"),
    ("yes", "disagrees", ("Yes", "Disagrees with the plan"), "you told us you do not agree with it"),
    ("yes", "wants_time", ("Yes", "Wants time to decide"), "you want time to decide"),
    ("yes", None, ("Yes", "Not recorded"), "We have not written down what you think of it yet"),
    ("not_yet", "not_yet_asked", ("Not yet", "Not yet asked"), "We have not talked with you about this plan yet"),
    (None, None, ("Not recorded", "Not recorded"), "We have not written down if this plan was talked through"),
])
def test_h4_letter_states_only_what_was_recorded(discussed, view, gp_lines, plain):
    d = data(discussed_with_patient=discussed, patient_view=view)
    gp, pt = gp_text(d), patient_text(d)
    assert f"Discussed with the patient: {gp_lines[0]}" in gp and f"Patient's view: {gp_lines[1]}" in gp
    assert plain in pt
    if view != "disagrees":  # "not discussed yet" is never turned into "did not agree"
        assert "not agree" not in gp.lower() and "not agree" not in pt.lower()
        assert "disagree" not in gp.lower()


def test_h4_a_view_needs_the_discussion_in_the_form_and_the_database(sf):
    from tests.hub.test_meetings import full_form

    form = full_form(TODAY)
    form.discussed_with_patient, form.patient_view = "not_yet", "agrees"
    case = Patient(birth_year=1960)
    fake_case = type("C", (), {"patient": case, "condition": "knee_oa", "pain_classification": "secondary"})()
    errors = decisions.validate(form, fake_case, TODAY, [], final=False)
    assert "discussed" in errors["patient_view"]
    form.discussed_with_patient, form.patient_view = "maybe", "shrug"
    errors = decisions.validate(form, fake_case, TODAY, [], final=False)
    assert {"discussed_with_patient", "patient_view"} <= set(errors)
    names = {c["name"] for c in _checks(sf, "decision")}
    assert {"ck_decision_discussed_known", "ck_decision_patient_view_known",
            "ck_decision_view_needs_discussion"} <= names


def _checks(sf, table: str) -> list[dict]:
    from sqlalchemy import inspect

    return inspect(sf.kw["bind"]).get_check_constraints(table)


# --- H5: patient identification in both versions ------------------------------------------------------


IDENTITY = ("Ann Lee", "2 March 1961", "943 476 5919", "1 Example Street, Exampleton, ZZ99 1AB",
            "Northgate Medical Centre (ODS code Z99901)")


def test_h5_both_versions_identify_the_patient(tmp_path):
    d = data()
    gp, pt = gp_text(d), patient_text(d)
    for value in IDENTITY[:4]:
        assert value in gp and value in pt
    assert "Date of birth: 2 March 1961" in gp and "Year of birth" not in gp
    assert "ODS code: Z99901" in gp and "Registered GP practice: Northgate Medical Centre (ODS code Z99901)" in pt
    for pdf in (letter_pdf(build_letter(d)), letter_pdf(build_letter(d), patient_version=True)):
        got = squash(pdf_text(pdf, tmp_path))
        for value in IDENTITY[:4]:
            assert squash(value) in got
        assert squash("Z99901") in got


def test_h5_unknown_date_of_birth_is_said_not_hidden():
    d = data(date_of_birth=None, address="", postcode="", practice_ods_code="")
    assert "Date of birth: Not recorded (year of birth 1961)" in gp_text(d)
    assert "Date of birth: Not recorded (year of birth 1961)" in patient_text(d)
    assert "Address: Not recorded" in patient_text(d)


def test_h5_admin_records_a_practice_ods_code(world):
    from db.models import AuditEvent, Practice
    from hub import users
    from hub.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        users.set_practice_ods_code(world.sf, world.pcp_a, world.practice_a, "A81001")
    for bad in ("", "81001", "AB1234", "A8100"):
        with pytest.raises(ValidationError) as exc:
            users.set_practice_ods_code(world.sf, world.admin, world.practice_a, bad)
        assert "ods_code" in exc.value.errors
    assert users.set_practice_ods_code(world.sf, world.admin, world.practice_a, " a81001 ") == "A81001"
    with world.sf() as s:
        assert s.get(Practice, world.practice_a).ods_code == "A81001"
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.entity == "practice")) == "practice.ods_code"


def _new_case(**patient) -> CaseInput:
    base = dict(nhs_number="943 476 5919", given_name="Ann", family_name="Lee", sex="female")
    base.update(patient)
    return CaseInput(new_patient=NewPatient(**base), condition="knee_oa", pain_classification="secondary",
                     clinical_question="Next step?", red_flags={k: False for k in RED_FLAGS})


def test_h5_submission_validates_and_stores_date_of_birth_and_address(world):
    bad = [(dict(date_of_birth=date.today() + timedelta(days=1)), "date_of_birth"),
           (dict(date_of_birth=date.today() - timedelta(days=365 * 10)), "date_of_birth"),
           (dict(date_of_birth=date(1961, 3, 2), birth_year=1962), "birth_year"),
           (dict(date_of_birth=date(1961, 3, 2), postcode="NOT A CODE"), "postcode"),
           (dict(), "birth_year")]
    for fields, key in bad:
        with pytest.raises(ValidationError) as exc:
            cases.save_case(world.sf, world.pcp_a, _new_case(**fields))
        assert key in exc.value.errors, fields
    with world.sf() as s:
        assert s.scalar(select(Patient.id)) is None  # nothing written
    cid = cases.save_case(world.sf, world.pcp_a, _new_case(date_of_birth=date(1961, 3, 2),
                                                           address="  1 Example   Street, Exampleton ",
                                                           postcode="zz991ab")).case_id
    with world.sf() as s:
        p = s.scalar(select(Patient))
        assert (p.date_of_birth, p.birth_year, p.address, p.postcode) == (
            date(1961, 3, 2), 1961, "1 Example Street, Exampleton", "ZZ99 1AB")
    assert cid


# --- H6: the patient version's own text; score names; readability --------------------------------------


def test_h6_patient_version_never_copies_question_formulation_or_flag_names():
    d = data()
    pt = patient_text(d)
    for clinician_text in ("catastrophising", "hyperalgesia", "inertia", "Therapeutic", "Should she be referred",
                           "Opioid-induced", "disengagement", "flag"):
        assert clinician_text.lower() not in pt.lower(), clinician_text
    assert "## What this means for you" in build_letter(d).patient_markdown
    assert "We suggest a smaller patch and more walking." in pt
    # The GP letter keeps them.
    gp = gp_text(d)
    assert "catastrophising" in gp and "Therapeutic inertia" in gp


def test_h6_what_this_means_for_you_is_prefilled_from_the_plan_in_plain_words():
    form = DecisionForm(follow_up_date=date(2026, 9, 1), formulation="hyperalgesia", answer="Catastrophising",
                        recommendations=[RecommendationInput("taper_medicine", "Taper the MR oxycodone (NG193)",
                                                             drug="oxycodone"),
                                         RecommendationInput("psychological_therapy", "CBT for catastrophising")])
    text_ = decisions.suggest_patient_summary(form)
    assert "- Slowly reduce a medicine: oxycodone." in text_ and "- Talking therapy." in text_
    assert "1 September 2026" in text_
    assert "catastrophising" not in text_.lower() and "hyperalgesia" not in text_ and "NG193" not in text_
    # An empty field in the letter falls back to the same plain draft, never to the clinician's answer.
    pt = patient_text(data(patient_summary=""))
    assert "The team looked at your care. This is what they suggest:" in pt
    assert "Taper the patch; hyperalgesia" not in pt


def test_h6_scores_use_standard_names_to_one_decimal_and_the_glossary_matches():
    assert letters.score_line("phq9", 12, date(2026, 5, 1), "moderate") == "PHQ-9 12.0 (1 May 2026) moderate"
    assert letters.score_line("gad7", 7.25, None) == "GAD-7 7.2"
    assert letters.score_line("mskhq", 30, None).startswith("MSK-HQ 30.0")
    assert letters.score_line("startmsk", 6, None) == "STarT MSK 6.0"
    pt = patient_text(data(assessment_lines=[letters.score_line(c, 5, None) for c in ("phq9", "gad7", "mskhq",
                                                                                         "startmsk")]))
    glossary = pt.split("## Words we used")[1]
    for name in ("PHQ-9", "GAD-7", "MSK-HQ", "STarT"):
        assert f"- {name}:" in glossary, name
    assert "PHQ9" not in pt and "MSKHQ" not in pt


def test_h6_flesch_kincaid_grade_known_values():
    assert flesch_kincaid("The cat sat on the mat.").grade == -1.45  # 0.39*6 + 11.8*1 - 15.59
    r = flesch_kincaid("Anticipation of reimbursement is complicated.")
    assert (r.words, r.syllables, r.sentences) == (5, 15, 1) and r.grade == 21.76
    assert [count_syllables(w) for w in ("table", "make", "walked", "wanted", "people", "be")] == [2, 1, 1, 2, 2, 1]
    assert flesch_kincaid("One. Two.\nThree four").sentences == 3
    with pytest.raises(ValueError):
        flesch_kincaid("123 456")


def test_h6_template_text_reads_at_grade_8_or_below():
    # The whole patient version built around short plain inputs: what is left is our template wording.
    short = data(patient_summary="", medication_lines=["Codeine 240 mg/day oral"], what_matters="Walking",
                 assessment_lines=[letters.score_line("phq9", 12, None), letters.score_line("startmsk", 6, None)])
    grade = flesch_kincaid_grade(patient_text(short).split("## Words we used")[0])
    assert grade <= 8, grade
    from hub import letter_patient as lp

    fixed = [lp.AGREEMENT_DISCUSSED, lp.AGREEMENT_NOT_YET, lp.AGREEMENT_UNKNOWN, *lp.AGREEMENT_PLAIN.values(),
             lp.CRISIS_ADVICE, lp.RELIST_PLAIN, *lp._CLASSIFICATION_PLAIN.values()]
    assert flesch_kincaid_grade("\n".join(fixed)) <= 8
    assert flesch_kincaid_grade("\n".join(e for _, _, e in lp.GLOSSARY)) <= 8


# --- Medication-changes table ---------------------------------------------------------------------------


def test_medication_changes_table_in_both_versions(tmp_path):
    d = data(medication_changes=[
        MedicationChange("buprenorphine", "reduce", "5 microgram/h patch, weekly", date(2026, 7, 1)),
        MedicationChange("amitriptyline", "start", "10 mg at night", date(2026, 8, 1)),
        MedicationChange("naproxen", "stop", "", None),
        MedicationChange("duloxetine", "increase", "60 mg once a day", date(2026, 8, 15))])
    md = build_letter(d).markdown
    assert "| Drug | Change | Dose and schedule | Review date |\n|---|---|---|---|" in md
    assert "| Buprenorphine | Reduce | 5 microgram/h patch, weekly | 1 July 2026 |" in unescape_markdown(md)
    assert "| Naproxen | Stop | Not applicable | Not set |" in unescape_markdown(md)
    assert "| Duloxetine | Increase | 60 mg once a day | 15 August 2026 |" in unescape_markdown(md)
    pt = unescape_markdown(build_letter(d).patient_markdown)
    assert "## Changes to your medicines" in pt and "| Amitriptyline | Start | 10 mg at night | 1 August 2026 |" in pt
    assert "| Duloxetine | Take more |" in pt and "| Buprenorphine | Take less, slowly |" in pt
    got = squash(pdf_text(letter_pdf(build_letter(d)), tmp_path))
    for cell in ("Dose and schedule", "5 microgram/h patch, weekly", "Amitriptyline", "15 August 2026"):
        assert squash(cell) in got
    patient_pdf = squash(pdf_text(letter_pdf(build_letter(d), patient_version=True), tmp_path))
    assert squash("Take less, slowly") in patient_pdf


STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)  # finalising needs the meeting day


def test_medication_changes_and_safety_fields_reach_the_stored_letter_and_fhir(world):
    """End to end on both backends: methadone + Transtec, DOB/address/ODS, discussed/view, patient summary and
    the medicine recommendations from the decision, through finalise to the stored letter and the FHIR export."""
    with world.sf.begin() as s:
        s.execute(text("UPDATE practice SET ods_code = 'Z99901' WHERE id = :i"), {"i": world.practice_a})
    cid = cases.save_case(world.sf, world.pcp_a, _new_case(date_of_birth=date(1961, 3, 2),
                                                           address="1 Example Street, Exampleton",
                                                           postcode="ZZ99 1AB"), submit=True).case_id
    start = date.today() - timedelta(days=200)
    records.add_treatment(world.sf, world.pcp_a, cid, TreatmentInput("medicine", "Methadone (oral)",
                                                                    "Methadone (oral)", "oral", 30,
                                                                    start_date=start, already_taking=True))
    records.add_treatment(world.sf, world.pcp_a, cid, TreatmentInput(
        "medicine", "Transtec (buprenorphine 4-day patch)", "Transtec (buprenorphine 4-day patch)", "transdermal",
        patch_mcg_per_h=10, start_date=start, already_taking=True))
    records.add_treatment(world.sf, world.pcp_a, cid, TreatmentInput("medicine", "Herbal mix", "Herbal mix", "oral",
                                                                    start_date=start, already_taking=True))
    with world.sf() as s:
        coded = {t.name: (t.drug, t.drug_coded) for t in s.scalars(select(Treatment))}
    assert coded["Transtec (buprenorphine 4-day patch)"] == ("buprenorphine", True)
    assert coded["Herbal mix"] == ("herbal mix", False)
    header = cases.case_header(world.sf, world.chair, cid)
    # A name the hub could not code may be an opioid: it is named as excluded, never silently dropped.
    shown = "at least 24 mg/day (excludes: methadone — specialist advice; herbal mix — not coded, check by hand)"
    assert header.ome_text == f"{shown} ({CAUTION})"

    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    day = STARTS.date()
    from tests.hub.test_meetings import full_form

    form = full_form(day)
    form.discussed_with_patient, form.patient_view = "not_yet", "not_yet_asked"
    form.patient_summary = "We suggest a smaller patch."
    form.recommendations.append(RecommendationInput(
        "taper_medicine", "Reduce the buprenorphine patch", drug="buprenorphine", owner_role="pcp",
        due_date=day + timedelta(days=14), dose_schedule="5 microgram/h, weekly", review_date=day + timedelta(days=28)))
    if "increase_dose" in RECOMMENDATION_TYPES:  # the kind the rules half adds: tolerated when absent
        form.recommendations.append(RecommendationInput("increase_dose", "Increase duloxetine", drug="duloxetine",
                                                        owner_role="pcp", due_date=day + timedelta(days=14),
                                                        dose_schedule="60 mg once a day"))
    form.flag_responses = {f.code: {"response": "change", "note": "seen"} for f in header.open_flags}
    v = decisions.save(world.sf, world.chair, item, form, 0)
    loaded = decisions.load(world.sf, world.chair, item).form
    assert (loaded.discussed_with_patient, loaded.patient_view, loaded.patient_summary) == (
        "not_yet", "not_yet_asked", "We suggest a smaller patch.")
    assert loaded.recommendations[-1 if "increase_dose" not in RECOMMENDATION_TYPES else -2].dose_schedule == \
        "5 microgram/h, weekly"
    letter_id = decisions.finalise(world.sf, world.chair, item, v)
    with world.sf() as s:
        row = s.get(Letter, letter_id)
        gp, pt = unescape_markdown(row.body_markdown), unescape_markdown(row.patient_markdown)
    assert f"{shown} ({CAUTION})" in gp and f"{shown} ({CAUTION})" in pt
    assert "Herbal mix" in gp and "(not coded)" in gp
    for value in IDENTITY[:4] + ("Practice A (ODS code Z99901)",):
        assert value in pt
    assert "Date of birth: 2 March 1961" in gp and "ODS code: Z99901" in gp
    assert "Discussed with the patient: Not yet" in gp and "Patient's view: Not yet asked" in gp
    assert "not agree" not in gp.lower() and "We have not talked with you about this plan yet" in pt
    assert "We suggest a smaller patch." in pt and "fear-avoidance" not in pt
    review = day + timedelta(days=28)
    assert f"| Buprenorphine | Reduce | 5 microgram/h, weekly | {review.day} {review:%B %Y} |" in gp
    if "increase_dose" in RECOMMENDATION_TYPES:
        assert "| Duloxetine | Increase | 60 mg once a day |" in gp
    bundle = fhir.export_case(world.sf, world.chair, cid)
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["birthDate"] == "1961-03-02" and patient["address"][0]["postalCode"] == "ZZ99 1AB"
    assert patient["managingOrganization"]["identifier"]["value"] == "Z99901"
    doc = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    attached = unescape_markdown(base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8"))
    assert f"{shown} ({CAUTION})" in attached


# --- migration 0007 carries existing rows over ------------------------------------------------------------


def test_h4_h5_migration_carries_existing_rows_over(database_url):
    """Down to 0005 (old yes/no column), write old-style rows, up to head: yes -> discussed 'yes' with the view
    not recorded; no -> 'not_yet' / 'not_yet_asked'; NULL stays NULL; patients keep birth_year with no DOB;
    medicines are marked coded or not coded."""
    from alembic import command

    from db.engine import (
        alembic_config,
        make_engine,
        make_session_factory,
        upgrade_to_head,
    )
    from tests.hub.test_meetings import full_form

    engine = make_engine(database_url)
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    from tests_support import add_user

    from db.models import Practice

    with sf.begin() as s:
        pr = Practice(code="A", name="Practice A", ods_code="Z99901")
        s.add(pr)
        s.flush()
        pcp = add_user(s, "pcp.a", "Dr A", ["pcp"], practice_id=pr.id)
        chair = add_user(s, "chair", "Chair C", ["chair", "specialist"], discipline="pain_medicine")
    nhs = ["9434765919", "1745438912", "4010232137"]
    ids = []
    for n in nhs:
        ids.append(cases.save_case(sf, pcp, _new_case(nhs_number=n, birth_year=1960), submit=True).case_id)
    records.add_treatment(sf, pcp, ids[0], TreatmentInput("medicine", "x", "oxycontin", "oral", 20,
                                                          start_date=date.today(), already_taking=True))
    with sf.begin() as s:  # a free-text name stored before coding existed
        s.execute(text("UPDATE treatment SET drug = 'mystery tablets'"))
    mid = meetings.create_meeting(sf, chair, title="MDT", starts_at=STARTS, duration_minutes=90)
    items = [r.item_id for r in meetings.meeting_view(sf, chair, mid).agenda]
    assert len(items) == 3
    for it in items:
        decisions.save(sf, chair, it, full_form(STARTS.date()), 0)
    with engine.connect() as conn:
        n_recs = conn.execute(text("SELECT count(*) FROM recommendation")).scalar()
    assert n_recs == 6
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id FROM decision ORDER BY id")).scalars().all()
        for did, old in zip(rows, (True, False, None)):
            conn.execute(text("UPDATE decision SET discussed_with_patient = :v WHERE id = :i"), {"v": old, "i": did})
    upgrade_to_head(engine)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT discussed_with_patient, patient_view, patient_summary FROM decision "
                                "ORDER BY id")).all()
        assert [tuple(r) for r in got] == [("yes", None, ""), ("not_yet", "not_yet_asked", ""), (None, None, "")]
        pts = conn.execute(text("SELECT birth_year, date_of_birth, address, postcode FROM patient")).all()
        assert all(r[0] == 1960 and r[1] is None and r[2] == "" and r[3] == "" for r in pts)
        assert conn.execute(text("SELECT drug_coded FROM treatment")).scalar() in (False, 0)
        assert conn.execute(text("SELECT ods_code FROM practice")).scalar() is None  # dropped on the way down
        # Recreating the decision table (SQLite batch mode) must not cascade-delete its recommendations.
        assert conn.execute(text("SELECT count(*) FROM recommendation")).scalar() == n_recs
    engine.dispose()


# --- demo --------------------------------------------------------------------------------------------------


def test_h3_h5_demo_fills_identity_and_shows_a_lower_bound_letter(app_demo_sf):
    from db.models import Practice

    sf = app_demo_sf
    with sf() as s:
        assert sorted(s.scalars(select(Practice.ods_code))) == ["Z99901", "Z99902", "Z99903"]
        pts = s.scalars(select(Patient)).all()
        assert pts and all(p.date_of_birth is not None and p.date_of_birth.year == p.birth_year for p in pts)
        assert all(p.address and cases.normalise_postcode(p.postcode) == p.postcode for p in pts)
        bodies = [unescape_markdown(x.body_markdown) for x in s.scalars(select(Letter))]
        patient_versions = [unescape_markdown(x.patient_markdown) for x in s.scalars(select(Letter))]
    lower = [b for b in bodies if re.search(r"at least \d+(\.\d)? mg/day \(excludes: methadone — specialist advice\) "
                                            r"\(for risk, not for converting between opioids\)", b)]
    assert lower, "no demo letter for a patient on an unconvertible opioid"
    assert all("Date of birth: " in b and "ODS code: Z9990" in b for b in bodies)
    assert all("## What this means for you" not in b for b in bodies)
    assert all("What this means for you" in p and "inertia" not in p.lower() for p in patient_versions)


def test_h3_excluded_opioids_are_named_in_the_same_order_whatever_the_database_returns():
    """The lower-bound text lists excluded medicines in the order they were started (PostgreSQL returned the
    rows in another order after updates, and the letter's text changed with it)."""
    from types import SimpleNamespace

    from hub.correspondence import current_ome

    start = date(2026, 1, 5)
    meds = [SimpleNamespace(id=1, drug="methadone", route="oral", daily_dose_mg=30, patch_mcg_per_h=None,
                            start_date=start),
            SimpleNamespace(id=2, drug="herbal mix", route="oral", daily_dose_mg=None, patch_mcg_per_h=None,
                            start_date=start),
            SimpleNamespace(id=3, drug="morphine", route="oral", daily_dose_mg=24, patch_mcg_per_h=None,
                            start_date=start - timedelta(days=30))]
    texts = {current_ome(order).text for order in (meds, meds[::-1], [meds[1], meds[2], meds[0]])}
    assert len(texts) == 1
    text = texts.pop()
    assert text.startswith("at least 24 mg/day (excludes: methadone")
    assert text.index("methadone") < text.index("herbal mix")
