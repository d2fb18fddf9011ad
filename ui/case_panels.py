"""Case page panels: flags with their reasons, safety alerts awaiting action, response to treatment."""

from __future__ import annotations

import streamlit as st

from hub import records
from hub.errors import HubError
from ui.common import CASE_NOTICE, leave_notice, md_escape, show_error
from db.engine import SessionFactory


def flags_panel(header) -> None:
    """The case's flags, worst first, each with the reason in words; appropriate restraint shown as such."""
    order = {"red": 0, "amber": 1, "info": 2}
    for flag in sorted(header.flags, key=lambda f: order.get(f.severity, 3)):
        text = f"**{md_escape(flag.label)}** — {md_escape(flag.reason)}"
        if flag.severity == "red":
            st.error(text, icon=":material/error:")
        elif flag.severity == "amber":
            st.warning(text, icon=":material/flag:")
        else:
            st.info(text, icon=":material/check_circle:")
    if header.priority_reasons:
        st.caption(f"Queue priority {header.priority:g}: " + "; ".join(header.priority_reasons))


def response_panel(header) -> None:
    """Primary outcome change since baseline, and the current total opioid dose."""
    cols = st.columns(2)
    r = header.response
    if r:
        label = {"substantial": "Substantial improvement", "moderate": "Clinically important improvement",
                 "improved": "Clinically important improvement", "minimal": "Minimal improvement",
                 "no_important_change": "No important change", "worse": "Worse"}.get(r.get("category") or "", "")
        cols[0].markdown(f"**Response ({md_escape(r['instrument'].upper())}, primary outcome):** "
                         f"{md_escape(label or r.get('text', ''))}")
        if label:
            cols[0].caption(md_escape(r.get("text", "")))
        since = r.get("since_decision")
        if since:
            cols[0].markdown(f"**{md_escape(since.get('text', ''))}**")
    if header.ome_text:
        cols[1].markdown(f"**Opioids now (oral morphine equivalent):** {md_escape(header.ome_text)}")


def safety_actions(sf: SessionFactory, actor, case_id: int) -> None:
    """Open PHQ-9 item 9 alerts with a form to record the action taken (the alert stays until then)."""
    for alert in records.open_safety_alerts(sf, actor, case_id):
        with st.form(f"safety_{alert['id']}"):
            st.markdown(f"**Safety alert:** PHQ-9 of {alert['on']:%d %b %Y} has item 9 above 0. Same-day clinician "
                        "review; record what was done.")
            if alert.get("mode") == "patient-completed":
                st.markdown(f"Reported by the patient on the questionnaire link at {alert['reported_at']:%d %b %Y %H:%M} "
                            "UTC (patient-completed form). The patient was shown the crisis routes (999, NHS 111 "
                            "option 2, Samaritans 116 123).")
            text = st.text_area("Action taken", key=f"safety_text_{alert['id']}")
            if st.form_submit_button("Record action taken"):
                try:
                    records.record_safety_action(sf, actor, case_id, alert["id"], text)
                except HubError as exc:
                    show_error(exc)
                else:
                    leave_notice("Action recorded; the safety alert is closed.", CASE_NOTICE)
                    st.rerun()


def decisions_panel(sf: SessionFactory, actor, case_id: int) -> None:
    """Outcome letters (on screen and as PDF, clinician and patient versions) and the case's actions."""
    import pandas as pd

    from hub import audit_events, correspondence, inbox

    letters = correspondence.case_letters(sf, actor, case_id)
    if not letters:
        st.info("The hub has not sent a decision on this case yet.")
    for x in letters:
        audit_events.record_view(sf, actor, "letter", x.letter_id, {"case_id": case_id})
        ack = f" · acknowledged {x.acknowledged_at:%d %b %Y}" if x.acknowledged_at else ""
        with st.expander(f"Outcome letter of {x.sent_at:%d %b %Y}{ack}", expanded=len(letters) == 1):
            version = st.radio("Version", ["For the GP", "For the patient"], horizontal=True,
                               key=f"lv_{x.letter_id}")
            st.markdown(x.markdown if version == "For the GP" else x.patient_markdown)
            c1, c2 = st.columns(2)
            # The PDFs are made when a button is clicked (a letter takes ~0.3 s to render), not on every run.
            c1.download_button("Download letter (PDF)",
                               lambda lid=x.letter_id: audit_events.letter_pdf_download(sf, actor, lid),
                               file_name=f"outcome-letter-case-{case_id}.pdf", mime="application/pdf",
                               key=f"pdf_{x.letter_id}")
            c2.download_button("Download patient version (PDF)",
                               lambda lid=x.letter_id: audit_events.letter_pdf_download(sf, actor, lid, True),
                               file_name=f"your-pain-hub-plan-case-{case_id}.pdf", mime="application/pdf",
                               key=f"ppdf_{x.letter_id}")
    actions = inbox.case_actions(sf, actor, case_id)
    if actions:
        st.markdown("**Actions**")
        st.dataframe(pd.DataFrame([{"description": a.description, "owner": a.owner, "due_date": a.due_date,
                                    "status": a.status, "overdue": a.overdue, "note": a.note} for a in actions]),
                     hide_index=True, width="stretch")


def goals_panel(sf: SessionFactory, actor, case_id: int) -> None:
    """SMART goals from hub decisions with their latest GAS level and the case's T-score over time."""
    import pandas as pd
    import plotly.graph_objects as go

    data = records.case_goals(sf, actor, case_id)
    if not data["goals"]:
        return
    st.markdown("**Goals (Goal Attainment Scaling)**")
    st.dataframe(pd.DataFrame([{"Goal": g["goal"], "Expected (level 0)": g["expected"], "By": g["due_date"],
                                "Latest level": ("not yet rated" if g["level"] is None else f"{g['level']:+d}" if g["level"] else "0"),
                                "To be achieved through": g["recommendation"] or "—"}
                               for g in data["goals"]]), hide_index=True, width="stretch")
    if data["t_scores"]:
        xs, ys = zip(*data["t_scores"])
        fig = go.Figure(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers", name="GAS T-score"))
        fig.add_hline(y=50, line_dash="dot", annotation_text="as expected (50)")
        fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="GAS T-score over time")
        st.plotly_chart(fig, width="stretch")


def fhir_download(sf: SessionFactory, actor, case_id: int) -> None:
    """Download the case as a FHIR R4 Bundle, built when the button is clicked (and audited then)."""
    from hub import audit_events

    st.download_button("Download FHIR R4 Bundle (JSON)", lambda: audit_events.fhir_download(sf, actor, case_id),
                       file_name=f"case-{case_id}-fhir.json", mime="application/fhir+json", key="fhir_dl")
