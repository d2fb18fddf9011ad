"""Case page: header, one timeline of treatments and outcomes, tables, and the discussion thread."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import audit_events, cases, charts, records, settings, wearables
from hub.errors import HubError
from ui import case_panels, patient_invites, record_forms, runtime
from ui.common import CASE_NOTICE, MAX_ID, md_escape, query_id, show_error, show_notice

sf = runtime.session_factory()
actor = runtime.actor()

case_id = query_id("case_id", "case")
if case_id is None:
    st.title("Case")
    st.info("Open a case from the case queue, or enter its number.")
    with st.form("case_by_id"):
        number = st.number_input("Case number", min_value=1, max_value=MAX_ID, step=1, value=None)
        if st.form_submit_button("Open") and number:
            st.query_params["case_id"] = str(int(number))
            st.rerun()
    st.stop()

try:
    header = cases.case_header(sf, actor, case_id)
    data = records.timeline(sf, actor, case_id)
except HubError as exc:
    show_error(exc)
    st.stop()

audit_events.record_view(sf, actor, "case", case_id)
st.title(f"Case {header.case_id}: {md_escape(header.patient_name)}")
st.markdown(md_escape(f"NHS {header.nhs_number} · {header.age} years · {header.sex} · {header.practice} · "
           f"referred by {header.referrer} · status: {header.status_label}"))
show_notice(CASE_NOTICE)

c1, c2 = st.columns([3, 2])
with c1:
    st.markdown("**Clinical question**")
    st.text(header.clinical_question or "(not yet written)")
with c2:
    st.markdown(f"**Condition:** {md_escape(header.condition)} ({md_escape(header.pain_classification)})")
    if header.duration_months is not None:
        st.markdown(f"**Duration:** {header.duration_months} months")
    if header.baseline_pain is not None:
        st.markdown(f"**Baseline pain:** {header.baseline_pain:g}/10")
    if header.risk_band:
        st.markdown(f"**Risk:** {md_escape(header.risk_band)} ({md_escape(header.risk_tool or '')})")

case_panels.safety_actions(sf, actor, case_id)
case_panels.flags_panel(header)
case_panels.response_panel(header)
case_panels.goals_panel(sf, actor, case_id)

if header.goals_text or header.concerns_text:
    with st.expander("The patient's goals and concerns (their words)"):
        st.markdown("**Goals**")
        st.text(header.goals_text or "—")
        st.markdown("**Concerns and beliefs**")
        st.text(header.concerns_text or "—")

patient_invites.patient_words_panel(sf, actor, case_id, {"Goals (at referral)": header.goals_text,
                                                         "Concerns and beliefs (at referral)": header.concerns_text})

thresholds = {row["key"]: row["value"] for row in settings.listing(sf)}
tabs = st.tabs(["Timeline", "Treatments", "Assessments", "Reviews", "Discussion", "Hub decisions"])
with tabs[0]:
    if not data.wearables.empty:
        with st.expander("Wearable weekly summary"):
            st.dataframe(wearables.weekly_summary(data.wearables).tail(12), hide_index=True, width="stretch")
    if header.can_edit:
        with st.expander("Import wearable data"):
            record_forms.wearables_form(sf, actor, case_id)
    if data.treatments.empty and data.assessments.empty and data.wearables.empty:
        st.info("No treatments, assessments or wearable data recorded yet.")
    else:
        st.plotly_chart(charts.cached_case_timeline(case_id, data.treatments, data.assessments, data.reviews,
                                                    data.wearables, date.today(), ome=data.ome, response=header.response,
                                                    ome_amber=thresholds.get("opioid.amber_ome", 90),
                                                    ome_red=thresholds.get("opioid.red_ome", 120)),
                        width="stretch")
with tabs[1]:
    st.dataframe(data.treatments.drop(columns=["id", "category"]), hide_index=True, width="stretch")
    if header.can_edit:
        with st.expander("Add a treatment"):
            record_forms.treatment_form(sf, actor, case_id)
with tabs[2]:
    st.dataframe(data.assessments.drop(columns=["id"]), hide_index=True, width="stretch")
    if header.can_edit:
        with st.expander("Record an assessment"):
            record_forms.assessment_form(sf, actor, case_id)
    with st.expander("Questionnaires completed by the patient through a link"):
        patient_invites.invitations_panel(sf, actor, case_id)
with tabs[3]:
    st.dataframe(data.reviews.drop(columns=["id", "attendance"]), hide_index=True, width="stretch")
    if header.can_edit:
        with st.expander("Record a review"):
            record_forms.review_form(sf, actor, case_id)
with tabs[4]:
    for c in cases.comments(sf, actor, case_id):
        with st.container(border=True):
            st.caption(f"{md_escape(c['author'])} · {c['at']:%d %b %Y %H:%M}")
            st.text(c["body"])
    if header.can_comment:
        if st.session_state.pop("comment_posted", False):
            st.session_state["comment_body"] = ""
        with st.form("comment_form"):
            body = st.text_area("Add to the discussion", key="comment_body")
            if st.form_submit_button("Post comment"):
                try:
                    cases.add_comment(sf, actor, case_id, body)
                    st.session_state["comment_posted"] = True
                    st.rerun()
                except HubError as exc:
                    show_error(exc)
with tabs[5]:
    case_panels.decisions_panel(sf, actor, case_id)
    case_panels.fhir_download(sf, actor, case_id)
