"""PCP case submission: patient, condition, clinical question, red-flag screen, treatments, goals."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import cases
from hub.cases import CaseInput, NewPatient
from hub.errors import EditConflict, HubError, ValidationError
from hub.vocab import CONDITIONS, PAIN_CLASSIFICATIONS, RED_FLAGS, RISK_BANDS, RISK_TOOLS, SEXES
from ui import record_forms, runtime
from ui.common import errors_at_top, field_error, md_escape, open_case, show_error

sf = runtime.session_factory()
actor = runtime.actor("pcp")
ss = st.session_state
saved = ss.pop("sub_saved", None)
if saved:
    for k in [k for k in ss if k.startswith("sub_")]:
        del ss[k]
    if saved[1] != "draft":
        open_case(saved[0])
    st.success(f"Draft case {saved[0]} saved. Continue it later from 'Continue a draft'.")
    st.page_link("pages/case.py", label=f"Open draft case {saved[0]} to record baseline questionnaires",
                 query_params={"case_id": saved[0]})
errors: dict[str, str] = ss.get("sub_errors", {})

st.title("Submit a case to the hub")
if actor.practice_id is None:
    st.error("Your account is not linked to a practice. Ask an administrator to set your practice.")
    st.stop()

def _load_draft() -> None:
    """Fill the form from the chosen draft (selectbox callback)."""
    case_id = ss.get("sub_draft")
    if case_id is None:
        ss["sub_case_id"], ss["sub_version"] = None, None
        return
    inp, version = cases.case_form_input(sf, actor, case_id)
    ss.update({"sub_case_id": case_id, "sub_version": version, "sub_mode": "Existing patient",
               "sub_patient": inp.patient_id, "sub_condition": inp.condition,
               "sub_pain_class": inp.pain_classification, "sub_duration": inp.duration_months,
               "sub_question": inp.clinical_question, "sub_baseline": inp.baseline_pain,
               "sub_risk_tool": inp.risk_tool, "sub_risk_band": inp.risk_band, "sub_goals": inp.goals_text,
               "sub_concerns": inp.concerns_text, "sub_errors": {}})
    for code in RED_FLAGS:
        ss[f"sub_rf_{code}"] = bool(inp.red_flags.get(code))
    ss["sub_rf_none"] = set(inp.red_flags) == set(RED_FLAGS) and not any(inp.red_flags.values())


drafts = {d["id"]: d["label"] for d in cases.my_drafts(sf, actor)}
if drafts:
    st.selectbox("Continue a draft", list(drafts), format_func=drafts.get, index=None, key="sub_draft",
                 on_change=_load_draft, placeholder="Start a new case")
if ss.get("sub_case_id"):
    st.info(f"Editing draft case {ss['sub_case_id']}.")

if "form" in errors or "status" in errors:
    st.error(md_escape(errors.get("form") or errors["status"]))
field_errors = {k: v for k, v in errors.items() if k not in ("form", "status")}


def _treatment_anchor(key: str) -> str:
    """Where the summary's link for a treatment's refusal goes: the listed treatment, or the add form."""
    if key == "treatments.pending":
        return "err-pending-treatments.pending"
    number = key.removeprefix("treatments[").split("]")[0]
    return f"err-treatments-{number}" if number.isdigit() else "err-treatments"


if field_errors:
    errors_at_top(field_errors, {k: _treatment_anchor(k) if k.startswith("treatments") else f"err-{k}"
                                 for k in field_errors})

st.subheader("Patient")
mode = st.radio("Patient", ["Existing patient", "New patient"], horizontal=True, key="sub_mode",
                label_visibility="collapsed")
if mode == "Existing patient":
    search = st.text_input("Find a patient (name or NHS number)", key="sub_search")
    try:
        patients = {p["id"]: p["label"] for p in cases.practice_patients(sf, actor, search)}
    except ValidationError as exc:  # e.g. a pasted control character or an over-long search
        show_error(exc)
        patients = {}
    st.selectbox("Patient", list(patients), format_func=lambda i: patients.get(i, f"Patient {i}"), index=None,
                 key="sub_patient", placeholder="Choose a patient of your practice")
else:
    c1, c2, c3 = st.columns(3)
    c1.text_input("NHS number", key="sub_nhs", placeholder="e.g. 943 476 5919")
    with c1:
        field_error(errors, "nhs_number")
    c2.text_input("Given name", key="sub_given")
    with c2:
        field_error(errors, "given_name")
    c3.text_input("Family name", key="sub_family")
    with c3:
        field_error(errors, "family_name")
    c4, c5, c6 = st.columns(3)
    c4.date_input("Date of birth", value=None, min_value=date(1900, 1, 1), max_value=date.today(),
                  format="DD/MM/YYYY", key="sub_dob")
    with c4:
        field_error(errors, "date_of_birth")
    c5.number_input("Birth year (only if the date of birth is not known)", min_value=1900,
                    max_value=date.today().year, value=None, step=1, key="sub_birth")
    with c5:
        field_error(errors, "birth_year")
    c6.selectbox("Sex", list(SEXES), format_func=SEXES.get, index=None, key="sub_sex")
    with c6:
        field_error(errors, "sex")
    c7, c8 = st.columns([3, 1])
    c7.text_input("Address (for the outcome letter)", key="sub_address", max_chars=300)
    with c7:
        field_error(errors, "address")
    c8.text_input("Postcode", key="sub_postcode", max_chars=10)
    with c8:
        field_error(errors, "postcode")
field_error(errors, "patient")

st.subheader("Condition and question")
c1, c2, c3 = st.columns(3)
c1.selectbox("Condition", list(CONDITIONS), format_func=CONDITIONS.get, index=None, key="sub_condition")
with c1:
    field_error(errors, "condition")
c2.selectbox("Pain classification", list(PAIN_CLASSIFICATIONS), format_func=PAIN_CLASSIFICATIONS.get,
             index=None, key="sub_pain_class")
with c2:
    field_error(errors, "pain_classification")
c3.number_input("Duration of pain (months)", min_value=0, max_value=1200, value=None, step=1, key="sub_duration")
st.text_area("Clinical question for the hub (required to submit)", key="sub_question", max_chars=cases.QUESTION_MAX,
             placeholder="What do you want the multidisciplinary team to advise on?")
field_error(errors, "clinical_question")

st.subheader("Red-flag screen")
st.markdown("Tick any that apply, or **None of these**. A red flag means an urgent pathway, not the hub: "
            "exclude specific causes first.")


def _tick_flag() -> None:
    if any(ss.get(f"sub_rf_{c}") for c in RED_FLAGS):
        ss["sub_rf_none"] = False


def _tick_none() -> None:
    if ss.get("sub_rf_none"):
        for c in RED_FLAGS:
            ss[f"sub_rf_{c}"] = False


flag_col, answer_col = st.columns([3, 2])
with flag_col:
    for code, text in RED_FLAGS.items():
        st.checkbox(text, key=f"sub_rf_{code}", on_change=_tick_flag)
    st.checkbox("None of these", key="sub_rf_none", on_change=_tick_none)
ticked = [RED_FLAGS[c] for c in RED_FLAGS if ss.get(f"sub_rf_{c}")]
with answer_col:  # the answer comes at once, beside the screen, not as a form error at the bottom
    if ticked:
        st.error("**Urgent pathway, not the hub.** " + cases.URGENT_PATHWAY_ROUTE
                 + "\n\n**Nothing has been sent to the hub.** You can save this case as a draft for your practice "
                   "and submit it once the red flag has been excluded.", icon=":material/emergency:")
    elif ss.get("sub_rf_none"):
        st.success("No red flag: the case can go to the hub.", icon=":material/check_circle:")
field_error(errors, "red_flags")

st.subheader("Baseline")
st.caption("Full questionnaires (PEG, MSK-HQ, PHQ-9, GAD-7, STarT Back, ÖMPSQ …) are recorded on the case page, "
           "where each shows its score and band at once; a saved draft opens there too.")
c1, c2, c3 = st.columns(3)
c1.number_input("Baseline pain score (NRS 0-10)", min_value=0.0, max_value=10.0, value=None, step=0.5,
                key="sub_baseline")
c2.selectbox("Risk tool", list(RISK_TOOLS), format_func=RISK_TOOLS.get, index=None, key="sub_risk_tool")
c3.selectbox("Risk band", list(RISK_BANDS), format_func=RISK_BANDS.get, index=None, key="sub_risk_band")
for k in ("baseline_pain", "risk_tool", "risk_band"):
    field_error(errors, k)

st.subheader("Treatments so far")
st.caption("Current and previous treatments, one at a time. For medicines give the generic name or UK brand, route "
           "and total daily dose (patches: micrograms per hour).")
record_forms.referral_treatments(errors)

st.subheader("The patient's goals and concerns, in their own words")
st.text_area("Goals", key="sub_goals", max_chars=cases.TEXT_MAX)
st.text_area("Concerns and beliefs", key="sub_concerns", max_chars=cases.TEXT_MAX)


def _form_input() -> CaseInput:
    # Answered when a flag is ticked (the others are then "no") or "None of these" is; else unanswered.
    ticked_codes = {c for c in RED_FLAGS if ss.get(f"sub_rf_{c}")}
    flags = {c: c in ticked_codes for c in RED_FLAGS} if ticked_codes or ss.get("sub_rf_none") else {}
    new_patient = None
    if ss.get("sub_mode") == "New patient":
        new_patient = NewPatient(nhs_number=ss.get("sub_nhs") or "", given_name=ss.get("sub_given") or "",
                                 family_name=ss.get("sub_family") or "", birth_year=ss.get("sub_birth"),
                                 sex=ss.get("sub_sex") or "", date_of_birth=ss.get("sub_dob"),
                                 address=ss.get("sub_address") or "", postcode=ss.get("sub_postcode") or "")
    duration = ss.get("sub_duration")
    return CaseInput(
        patient_id=ss.get("sub_patient") if new_patient is None else None, new_patient=new_patient,
        condition=ss.get("sub_condition") or "", pain_classification=ss.get("sub_pain_class") or "",
        duration_months=None if duration is None else int(duration), clinical_question=ss.get("sub_question") or "",
        red_flags=flags, baseline_pain=ss.get("sub_baseline"), risk_tool=ss.get("sub_risk_tool"),
        risk_band=ss.get("sub_risk_band"), goals_text=ss.get("sub_goals") or "",
        concerns_text=ss.get("sub_concerns") or "", treatments=list(ss.get(record_forms.REF_LIST) or []))


def _save(submit: bool) -> None:
    if record_forms.pending_referral_treatment():  # never drop what the GP chose without a word
        ss["sub_errors"] = {"treatments.pending": "A treatment in the form is not on the list yet: press 'Add to "
                                                  "the list' (or clear its category and name), then save again."}
        return
    try:
        saved = cases.save_case(sf, actor, _form_input(), case_id=ss.get("sub_case_id"),
                                expected_version=ss.get("sub_version"), submit=submit)
    except ValidationError as exc:
        ss["sub_errors"] = exc.errors
        return
    except EditConflict as exc:
        ss["sub_errors"] = {"form": str(exc)}
        return
    except HubError as exc:
        ss["sub_errors"] = {"form": str(exc)}
        return
    ss["sub_errors"] = {}
    ss["sub_saved"] = (saved.case_id, saved.status)


b1, b2, _ = st.columns([1, 1, 3])
if b1.button("Save draft", key="sub_save"):
    _save(submit=False)
    st.rerun()
if b2.button("Submit to hub", type="primary", key="sub_submit"):
    _save(submit=True)
    st.rerun()

if field_errors:
    st.error("Nothing was saved or sent: see what to fix at the top of the page and beside each field.")
