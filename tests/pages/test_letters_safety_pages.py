"""AppTest of the H3/H5 form wiring: the medicine pick-list on the case page (brands coded, the OME shown as a
lower bound with its caution) and the date of birth and address on the submission form."""

from __future__ import annotations

from datetime import date

from page_support import login
from sqlalchemy import select

from db.models import Patient, Treatment
from hub import cases
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.vocab import RED_FLAGS


def _case(hub) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number="9434765919", given_name="Ann", family_name="Lee",
                                           date_of_birth=date(1960, 5, 4), sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question="What next for Ann?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7)
    return cases.save_case(hub.sf, actor_for(hub.sf, "pcp.a"), inp, submit=True).case_id


def _add_medicine(at, name: str, route: str | None = None, dose: float | None = None, patch: float | None = None):
    at.selectbox(key="tr_category").set_value("medicine")
    at.selectbox(key="tr_name").set_value(name)
    if route:
        at.selectbox(key="tr_route").set_value(route)
    at.number_input(key="tr_dose").set_value(dose)  # the form keeps its values: set both every time
    at.number_input(key="tr_patch").set_value(patch)
    at.checkbox(key="tr_already").check()
    next(b for b in at.button if b.label == "Add treatment").click().run()
    assert not at.exception


def test_h3_case_page_picklist_codes_brands_and_shows_the_lower_bound(hub):
    case_id = _case(hub)
    at = login("pcp.a")
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    _add_medicine(at, "Transtec (buprenorphine 4-day patch)", patch=10.0)  # route from the pick-list
    _add_medicine(at, "Methadone (oral)", dose=30.0)
    # 0 mg/day (e.g. a when-needed medicine not taken) is stored as 0 and counts as 0, not as missing. (Typed
    # names outside the list are covered in tests/hub/test_letters_safety.py: AppTest cannot type a new option.)
    _add_medicine(at, "Zomorph (morphine MR capsules)", dose=0.0)
    # A patch strength left on an oral medicine is refused with a message (it used to break the flag check).
    _add_medicine(at, "Oxycodone (oral)", dose=20.0, patch=10.0)
    assert any("patch strength is only for a transdermal patch" in e.value.lower() for e in at.error)
    with hub.sf() as s:
        got = {t.name: (t.drug, t.route, t.drug_coded, t.daily_dose_mg) for t in s.scalars(select(Treatment))}
    assert got["Transtec (buprenorphine 4-day patch)"] == ("buprenorphine", "transdermal", True, None)
    assert got["Methadone (oral)"] == ("methadone", "oral", True, 30.0)
    assert got["Zomorph (morphine MR capsules)"] == ("morphine", "oral", True, 0.0)
    at.run()
    shown = " ".join(m.value for m in at.markdown).replace("\\", "")  # markdown-escaped on screen
    assert "at least 24 mg/day (excludes: methadone — specialist advice" in shown
    assert "for risk, not for converting between opioids" in shown


def test_h5_submission_form_takes_date_of_birth_and_address(hub):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    at.radio(key="sub_mode").set_value("New patient").run()
    at.text_input(key="sub_nhs").input("943 476 5919")
    at.text_input(key="sub_given").input("Ann")
    at.text_input(key="sub_family").input("Lee")
    at.date_input(key="sub_dob").set_value(date(1961, 3, 2))
    at.text_input(key="sub_address").input("1 Example Street, Exampleton")
    at.text_input(key="sub_postcode").input("bad")
    at.selectbox(key="sub_sex").set_value("female")
    at.selectbox(key="sub_condition").set_value("knee_oa")
    at.selectbox(key="sub_pain_class").set_value("secondary")
    at.text_area(key="sub_question").input("What next?")
    at.checkbox(key="sub_rf_none").check()  # the red-flag screen: none of these
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any("postcode" in e.value.lower() for e in at.error)
    assert at.text_input(key="sub_address").value == "1 Example Street, Exampleton"  # input kept on screen
    with hub.sf() as s:
        assert s.scalar(select(Patient.id)) is None
    at.text_input(key="sub_postcode").input("zz99 1ab")
    at.button(key="sub_submit").click().run()
    assert not at.exception
    with hub.sf() as s:
        p = s.scalars(select(Patient)).one()
        assert (p.date_of_birth, p.birth_year, p.address, p.postcode) == (
            date(1961, 3, 2), 1961, "1 Example Street, Exampleton", "ZZ99 1AB")


def test_h5_admin_page_records_a_practice_ods_code(hub):
    from db.models import Practice

    at = login("admin")
    at.switch_page("pages/admin.py").run()
    at.selectbox(key="adm_ods_practice").set_value(hub.practice_a)
    at.text_input(key="adm_ods_code").input("x1")
    next(b for b in at.button if b.label == "Save ODS code").click().run()
    assert not at.exception and any("one letter and five digits" in e.value for e in at.error)
    at.text_input(key="adm_ods_code").input("z99901")
    next(b for b in at.button if b.label == "Save ODS code").click().run()
    assert not at.exception
    with hub.sf() as s:
        assert s.get(Practice, hub.practice_a).ods_code == "Z99901"
