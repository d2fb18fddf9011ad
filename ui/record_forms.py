"""Forms on the case page with which a PCP adds treatments, assessments and reviews."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import records
from hub.clinical.drugs import PICKLIST
from hub.clinical.signals import CHANGE_EVENT_TYPES, JUST_CODES
from hub.errors import HubError, ValidationError
from hub.records import ReviewInput, TreatmentInput
from hub.vocab import ATTENDANCE, REVIEW_MODES, ROUTES, STOP_REASONS, TREATMENT_CATEGORIES
from ui.common import CASE_NOTICE, anchor, errors_at_top, field_error, leave_notice, md_escape, show_error

CHANGE_TYPES = list(CHANGE_EVENT_TYPES)
JUSTIFICATIONS = list(JUST_CODES)


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _run_marked(fn, success: str, key: str) -> bool:
    """Run a service call; a refusal is kept under `key` so each message shows beside its field and in the
    summary at the top of the form (the input stays on screen)."""
    try:
        fn()
    except ValidationError as exc:
        st.session_state[key] = exc.errors
        return True  # rerun to draw the marks
    except HubError as exc:
        show_error(exc)
        return False
    st.session_state.pop(key, None)
    leave_notice(success, CASE_NOTICE)
    return True


def _marks(key: str) -> dict[str, str]:
    errors = st.session_state.get(key) or {}
    if errors:
        errors_at_top(errors, {k: f"err-{k}" for k in errors})
    return errors


def treatment_form(sf, actor, case_id: int) -> None:
    """Add a treatment (medicine with drug, route and daily dose, or another intervention)."""
    errors = _marks("tr_errors")
    with st.form("add_treatment", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        category = c1.selectbox("Category", list(TREATMENT_CATEGORIES), format_func=TREATMENT_CATEGORIES.get,
                                key="tr_category")
        with c1:
            field_error(errors, "category")
        # Medicines from the pick-list (generic names and UK brands); other text is accepted and stored
        # "not coded" (its opioid dose is then never converted).
        name = c2.selectbox("Medicine (pick or type) or treatment", [p.label for p in PICKLIST], index=None,
                            accept_new_options=True, key="tr_name",
                            help="Choose a generic name or UK brand. Text not in the list is kept as typed and "
                                 "marked 'not coded'.") or ""
        with c2:
            field_error(errors, "name")
            field_error(errors, "drug")
        route = c3.selectbox("Route (medicines)", list(ROUTES), format_func=ROUTES.get, index=None, key="tr_route")
        with c3:
            field_error(errors, "route")
        c4, c5, c6 = st.columns(3)
        dose = c4.number_input("Total daily dose (mg)", min_value=0.0, value=None, key="tr_dose")
        with c4:
            field_error(errors, "daily_dose_mg")
        patch = c5.number_input("Patch strength (microgram/h)", min_value=0.0, value=None, key="tr_patch")
        with c5:
            field_error(errors, "patch_mcg_per_h")
        adherence = c6.number_input("Adherence (%)", min_value=0, max_value=100, value=None, key="tr_adherence")
        c7, c8, c9 = st.columns(3)
        start = c7.date_input("Started", value=date.today(), max_value=date.today(), key="tr_start")
        with c7:
            field_error(errors, "start_date")
        end = c8.date_input("Stopped (leave empty if current)", value=None, key="tr_end")
        with c8:
            field_error(errors, "end_date")
        reason = c9.selectbox("Reason stopped", list(STOP_REASONS), format_func=STOP_REASONS.get, index=None,
                              key="tr_reason")
        with c9:
            field_error(errors, "reason_stopped")
        already = st.checkbox("Already taking (recording history, not starting it now)", key="tr_already")
        override = st.text_input("Reason for overriding a guideline rule (only when the check asks for one)",
                                 key="tr_override")
        field_error(errors, "guideline_override")
        if st.form_submit_button("Add treatment"):
            picked = next((p for p in PICKLIST if p.label == name), None)
            if route is None and picked is not None and category == "medicine":
                route = picked.route
            t = TreatmentInput(category=category, name=name, drug=name if category == "medicine" else None,
                               route=route, daily_dose_mg=dose, patch_mcg_per_h=patch or None,
                               start_date=start, end_date=end, reason_stopped=reason,
                               adherence_pct=None if adherence is None else int(adherence), already_taking=already,
                               guideline_override=override or None)
            if _run_marked(lambda: records.add_treatment(sf, actor, case_id, t), "Treatment added.", "tr_errors"):
                st.rerun()


def assessment_form(sf, actor, case_id: int) -> None:
    """Record a PROM or risk tool in the order of the paper form: one item per row, numbered, with its words
    and answer choices where the licence lets us show them (PHQ-9, GAD-7), otherwise the response code. Each
    unanswered item is marked beside it and summarised at the top; the answers stay on screen."""
    forms = {f["code"]: f for f in records.assessment_forms()}
    code = st.selectbox("Instrument", list(forms), format_func=lambda c: forms[c]["name"], key="as_instrument")
    spec = forms[code]
    if not spec["text_bundled"]:
        st.markdown("Enter the response codes from your organisation's licensed copy (the item wording is not "
                    "included, for licence reasons). " + md_escape(spec["licence"]))
    errors = st.session_state.get(f"as_errors_{code}") or {}
    if errors:
        errors_at_top(errors, {k: f"as-{k.split('.', 1)[1]}" for k in errors if k.startswith("responses.")})
    with st.form(f"add_assessment_{code}"):
        when = st.date_input("Completed on", value=date.today(), max_value=date.today(), key=f"as_date_{code}")
        mode = st.radio("Completed by", ["self", "clinician"], horizontal=True, key=f"as_mode_{code}",
                        format_func={"self": "Patient (self-report)", "clinician": "Clinician"}.get)
        if spec["stem"]:
            st.markdown(f"**{md_escape(spec['stem'])}**")
        responses = {}
        for item in spec["items"]:  # one column: reading order is tab order is item order
            anchor(f"as-{item['key']}")
            optional = "" if item["required"] else " (optional)"
            if item["options"]:
                words = dict(item["options"])
                responses[item["key"]] = st.radio(
                    f"{item['number']}. {item['text']}{optional}", list(words), index=None, horizontal=True,
                    format_func=lambda c, w=words: f"{w[c]} ({c})", key=f"as_{code}_{item['key']}")
            else:
                label = f"Item {item['number']}" + (f". {item['text']}" if item["text"] else "")
                responses[item["key"]] = st.number_input(
                    f"{label}: answer code {item['min']} to {item['max']}{optional}", min_value=item["min"],
                    max_value=item["max"], value=None, step=1, key=f"as_{code}_{item['key']}")
            field_error(errors, f"responses.{item['key']}")
        if st.form_submit_button("Save assessment"):
            answered = {k: int(v) for k, v in responses.items() if v is not None}
            try:
                records.add_assessment(sf, actor, case_id, code, when, answered, mode)
            except ValidationError as exc:
                st.session_state[f"as_errors_{code}"] = exc.errors
                st.rerun()
            except HubError as exc:
                show_error(exc)
            else:
                st.session_state.pop(f"as_errors_{code}", None)
                leave_notice("Assessment saved.", CASE_NOTICE)
                st.rerun()


def review_form(sf, actor, case_id: int) -> None:
    """Record a review: attended or missed, management changes or the reason for none, adherence,
    treatment burden and each goal's attainment (GAS level). New PROMs go in 'Record an assessment'."""
    goals = [g for g in records.case_goals(sf, actor, case_id)["goals"]]
    errors = _marks("rv_errors")
    with st.form("add_review"):
        c1, c2, c3 = st.columns(3)
        when = c1.date_input("Review date", value=date.today(), max_value=date.today(), key="rv_date")
        with c1:
            field_error(errors, "review_date")
        attendance = c2.selectbox("Attendance", list(ATTENDANCE), format_func=ATTENDANCE.get, key="rv_attendance")
        with c2:
            field_error(errors, "attendance")
        mode = c3.selectbox("How", list(REVIEW_MODES), format_func=REVIEW_MODES.get, key="rv_mode")
        with c3:
            field_error(errors, "mode")
        changes = st.multiselect("Management changes made", CHANGE_TYPES, format_func=_words, key="rv_changes")
        reasons = st.multiselect("No change: reason (appropriate restraint)", JUSTIFICATIONS, format_func=_words,
                                 key="rv_reasons")
        c4, c5 = st.columns(2)
        adherence = c4.number_input("Adherence (%)", min_value=0, max_value=100, value=None, key="rv_adherence")
        with c4:
            field_error(errors, "adherence_pct")
        too_much = c5.radio("Patient finds the treatment too much?", ["Not asked", "No", "Yes"], horizontal=True,
                            key="rv_too_much")
        levels = {}
        if goals:
            st.markdown("**Goal attainment (GAS level)**")
        for g in goals:
            labels = {int(k): v for k, v in (g["levels"] or {}).items()}
            levels[g["id"]] = st.selectbox(
                md_escape(g["goal"]), [None, -2, -1, 0, 1, 2], key=f"rv_goal_{g['id']}",
                format_func=lambda x, lab=labels: "Not rated" if x is None else f"{x:+d}: {lab.get(x, '')}")
        field_error(errors, "goal_levels")
        notes = st.text_area("Notes", key="rv_notes")
        if st.form_submit_button("Save review"):
            r = ReviewInput(review_date=when, attendance=attendance, mode=mode, management_changes=changes,
                            inaction_justifications=reasons,
                            adherence_pct=None if adherence is None else int(adherence),
                            treatment_too_much={"Not asked": None, "No": False, "Yes": True}[too_much], notes=notes,
                            goal_levels={gid: lvl for gid, lvl in levels.items() if lvl is not None})
            if _run_marked(lambda: records.add_review(sf, actor, case_id, r), "Review saved.", "rv_errors"):
                st.rerun()


def wearables_form(sf, actor, case_id: int) -> None:
    """Import daily wearable data from a generic CSV or an Apple Health export, with a progress bar."""
    from hub import wearables

    with st.expander("CSV format"):
        st.text(wearables.CSV_FORMAT)
    upload = st.file_uploader("Wearable file (CSV, Apple Health export.xml or export.zip)",
                              type=["csv", "xml", "zip"], key="wd_file")
    if upload is not None and st.button("Import wearable data", key="wd_import"):
        kind = "csv" if upload.name.lower().endswith(".csv") else "apple_health"
        limit = wearables.DEFAULT_LIMITS.time_limit_s
        bar = st.progress(0.0, text=f"Reading… (stops after {limit / 60:g} minutes; nothing is saved until the end)")

        def progress(done: int, total: int | None) -> None:
            if total:
                bar.progress(min(1.0, done / total), text=f"Reading… {done * 100 // total}%")

        try:
            report, errors = wearables.import_file(sf, actor, case_id, upload, kind, progress=progress)
        except HubError as exc:
            show_error(exc)
            return
        bar.progress(1.0, text="Done")
        leave_notice(f"Wearable import: {report.added} day(s) added, {report.updated} updated, "
                     f"{report.unchanged} unchanged, {report.skipped_errors} row(s) skipped.", CASE_NOTICE)
        st.session_state["wd_errors"] = [str(e) for e in errors]
        st.rerun()
    for e in st.session_state.get("wd_errors", []):
        st.warning(md_escape(e))


# ----------------------------------------------------------------------------- treatments listed on a submission

# The submission's treatments so far: a short form with labelled choices adds one at a time to a list (an
# editable grid could store a different value from the one typed and showed codes). Keys start with "sub_", so
# the submission page clears them with the rest of its form after a save.
REF = "sub_tr_"
REF_LIST = "sub_treatments"
REF_ERRORS = "sub_tr_errors"
REF_FIELDS = ("category", "medicine", "name", "route", "dose", "patch", "start", "end", "reason")


def _ref_entry() -> TreatmentInput:
    ss = st.session_state
    category = ss.get(f"{REF}category") or ""
    name = ((ss.get(f"{REF}medicine") if category == "medicine" else ss.get(f"{REF}name")) or "").strip()
    route = ss.get(f"{REF}route")
    picked = next((p for p in PICKLIST if p.label == name), None)
    if route is None and picked is not None and category == "medicine":
        route = picked.route
    transdermal = route == "transdermal"
    end = ss.get(f"{REF}end")
    return TreatmentInput(
        category=category, name=name, drug=name if category == "medicine" else None, route=route,
        daily_dose_mg=ss.get(f"{REF}dose") if category == "medicine" and not transdermal else None,
        patch_mcg_per_h=ss.get(f"{REF}patch") if category == "medicine" and transdermal else None,
        start_date=ss.get(f"{REF}start"), end_date=end, reason_stopped=ss.get(f"{REF}reason") if end else None)


def pending_referral_treatment() -> bool:
    """Whether the add form holds a treatment that was not added to the list yet."""
    ss = st.session_state
    return any(ss.get(f"{REF}{k}") not in (None, "") for k in ("category", "medicine", "name"))


def _clear_ref_form() -> None:
    for k in REF_FIELDS:
        st.session_state[f"{REF}{k}"] = "" if k == "name" else None


def _add_ref_treatment() -> None:
    t = _ref_entry()
    problems = records.validate_treatment(t)
    if problems:  # each shown beside its field; what was chosen stays in the form
        st.session_state[REF_ERRORS] = problems
        return
    st.session_state.pop(REF_ERRORS, None)
    st.session_state[REF_LIST].append(t)
    _clear_ref_form()


def _remove_ref_treatment(index: int) -> None:
    items = st.session_state[REF_LIST]
    if 0 <= index < len(items):
        items.pop(index)
    errors = st.session_state.get("sub_errors") or {}
    for k in [k for k in errors if k.startswith("treatments[")]:
        del errors[k]  # the numbers no longer match: the next save checks the list again


def _ref_line(n: int, t: TreatmentInput) -> str:
    parts = [TREATMENT_CATEGORIES.get(t.category, t.category), t.name]
    if t.route:
        parts.append(ROUTES.get(t.route, t.route))
    if t.patch_mcg_per_h is not None:
        parts.append(f"{t.patch_mcg_per_h:g} microgram/h")
    elif t.daily_dose_mg is not None:
        parts.append(f"{t.daily_dose_mg:g} mg/day")
    when = f"from {t.start_date:%d %b %Y}" if t.start_date else ""
    if t.end_date:
        when += f" to {t.end_date:%d %b %Y}"
        if t.reason_stopped:
            when += f" ({STOP_REASONS.get(t.reason_stopped, t.reason_stopped).lower()})"
    parts.append(when or "current")
    return f"{n}. " + " · ".join(p for p in parts if p)


def referral_treatments(errors: dict[str, str]) -> None:
    """The submission's treatments: the list so far (each with Remove, and the refusals of the last save beside
    it) and a short form that adds one. `errors` are the page's errors (keys `treatments[i].field`)."""
    ss = st.session_state
    ss.setdefault(REF_LIST, [])
    if f"{REF}category" not in ss:
        _clear_ref_form()
    anchor("err-treatments")
    for i, t in enumerate(ss[REF_LIST]):
        anchor(f"err-treatments-{i}")
        with st.container(border=True):
            c1, c2 = st.columns([8, 2])
            c1.text(_ref_line(i + 1, t))
            c2.button("Remove", key=f"{REF}rm_{i}", on_click=_remove_ref_treatment, args=(i,),
                      icon=":material/delete:")
            for k, message in errors.items():
                if k.startswith(f"treatments[{i}]."):
                    st.error(md_escape(message), icon="⚠️")
    if not ss[REF_LIST]:
        st.markdown("No treatment listed yet.")
    marks = ss.get(REF_ERRORS) or {}
    with st.container(border=True):
        anchor("err-treatments-new")
        st.markdown("**Add a treatment**" + (" (required fields are marked)" if not ss[REF_LIST] else ""))
        field_error(errors, "treatments.pending", prefix="err-pending-")
        c1, c2, c3 = st.columns(3)
        category = c1.selectbox("Category (required)", list(TREATMENT_CATEGORIES), format_func=TREATMENT_CATEGORIES.get,
                                index=None, key=f"{REF}category", placeholder="Choose the category")
        with c1:
            field_error(marks, "category", prefix="err-tr-")
        if category == "medicine":
            c2.selectbox("Medicine (required; pick or type)", [p.label for p in PICKLIST], index=None,
                         accept_new_options=True, key=f"{REF}medicine", placeholder="Generic name or UK brand",
                         help="Choose a generic name or UK brand. Text not in the list is kept as typed and marked "
                              "'not coded' (its opioid dose is then never converted).")
        else:
            c2.text_input("Treatment (required)", key=f"{REF}name", max_chars=200,
                          placeholder="e.g. Knee strengthening programme")
        with c2:
            field_error(marks, "drug" if category == "medicine" else "name", prefix="err-tr-")
        c3.selectbox("Route (required for medicines)", list(ROUTES), format_func=ROUTES.get, index=None,
                     key=f"{REF}route", placeholder="Choose the route")
        with c3:
            field_error(marks, "route", prefix="err-tr-")
        if category == "medicine":
            if ss.get(f"{REF}route") == "transdermal":
                c3.number_input("Patch strength (microgram/h, required)", min_value=0.0, value=None, key=f"{REF}patch")
                with c3:
                    field_error(marks, "patch_mcg_per_h", prefix="err-tr-")
            else:
                c3.number_input("Total daily dose (mg)", min_value=0.0, value=None, key=f"{REF}dose")
                with c3:
                    field_error(marks, "daily_dose_mg", prefix="err-tr-")
        c4, c5, c6 = st.columns(3)
        c4.date_input("Started (required)", value=None, max_value=date.today(), format="DD/MM/YYYY",
                      key=f"{REF}start")
        with c4:
            field_error(marks, "start_date", prefix="err-tr-")
        c5.date_input("Stopped (leave empty if current)", value=None, format="DD/MM/YYYY", key=f"{REF}end")
        with c5:
            field_error(marks, "end_date", prefix="err-tr-")
        if ss.get(f"{REF}end") is not None:
            c6.selectbox("Reason stopped (required)", list(STOP_REASONS), format_func=STOP_REASONS.get, index=None,
                         key=f"{REF}reason", placeholder="Choose the reason")
            with c6:
                field_error(marks, "reason_stopped", prefix="err-tr-")
        st.button("Add to the list", key=f"{REF}add", on_click=_add_ref_treatment, icon=":material/add:")
