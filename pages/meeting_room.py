"""Meeting room: one case at a time — summary, flags and timeline beside the structured form;
save with edit-conflict detection; the chair finalises (actions, letter, case back to the PCP)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import cases, charts, decisions, meetings, records
from hub.errors import EditConflict, HubError, ValidationError
from ui import case_panels, decision_form, patient_invites, runtime
from ui.common import leave_notice, md_escape, show_error, show_notice

sf = runtime.session_factory()
actor = runtime.actor("specialist", "chair")
ss = st.session_state

raw = st.query_params.get("item")
if raw is None or not str(raw).isdigit():
    st.title("Meeting room")
    st.info("Open a case from a meeting's agenda (Hub meetings).")
    st.stop()
item_id = int(raw)
prefix = f"mr{item_id}_"

try:
    state = decisions.load(sf, actor, item_id)
    view, agenda_case = meetings.agenda_item_context(sf, actor, item_id)
    header = cases.case_header(sf, actor, agenda_case.case_id)
    data = records.timeline(sf, actor, agenda_case.case_id)
except HubError as exc:
    show_error(exc)
    st.stop()

# The form starts from what is saved, with the version it was read at. Streamlit drops the state of
# widgets that were not drawn in a run (e.g. an interrupted first run), so whenever any field is missing
# the whole form is refilled from the saved decision and its version taken again: what is shown and
# the version a save is checked against always belong together.
if ss.get(f"{prefix}loaded") is None or not decision_form.has_state(prefix):
    decision_form.fill_state(prefix, state.form)
    ss[f"{prefix}loaded"] = state.version
    ss[f"{prefix}errors"] = {}

st.title(md_escape(f"Meeting room · {agenda_case.case_label}"))
st.caption(md_escape(f"{view.title} · {view.starts_at:%d %b %Y %H:%M} · slot {agenda_case.minutes} min · "
                     f"decision: {state.status if state.version else 'not started'}"
                     + (f" · last saved by {state.updated_by} at {state.updated_at:%H:%M:%S}" if state.updated_by
                        else "")))
# Moving through the agenda one case at a time: back to the agenda, the previous and the next case.
order = [r.item_id for r in view.agenda]
here = order.index(item_id)
nav = st.columns(3)
nav[0].page_link("pages/meetings.py", label=f"Agenda (case {here + 1} of {len(order)})",
                 query_params={"meeting": view.id}, icon=":material/list:")
if here > 0:
    prev_row = view.agenda[here - 1]
    nav[1].page_link("pages/meeting_room.py", label=md_escape(f"Previous: {prev_row.case_label}"),
                     query_params={"item": prev_row.item_id}, icon=":material/arrow_back:")
if here + 1 < len(order):
    next_row = view.agenda[here + 1]
    nav[2].page_link("pages/meeting_room.py", label=md_escape(f"Next: {next_row.case_label}"),
                     query_params={"item": next_row.item_id}, icon=":material/arrow_forward:")
show_notice(f"{prefix}notice")
conflict = ss.get(f"{prefix}conflict")
if conflict:
    st.warning(md_escape(conflict))
    theirs = decisions.load(sf, actor, item_id)
    with st.expander("Their saved version", expanded=True):
        st.json({k: v for k, v in decisions.snapshot(theirs.form).items() if v not in ("", None, [], {})})
    c1, c2 = st.columns(2)
    if c1.button("Keep my input and save over theirs", key=f"{prefix}mine"):
        ss[f"{prefix}loaded"] = theirs.version
        ss.pop(f"{prefix}conflict")
        st.rerun()
    if c2.button("Discard my input and take theirs", key=f"{prefix}theirs"):
        decision_form.fill_state(prefix, theirs.form)
        ss[f"{prefix}loaded"] = theirs.version
        ss.pop(f"{prefix}conflict")
        st.rerun()

left, right = st.columns([2, 3])
with left:
    st.markdown("**Question**")
    st.text(header.clinical_question)
    st.caption(md_escape(f"{header.patient_name}, {header.age} · {header.condition} ({header.pain_classification}) · "
                         f"referred by {header.referrer}, {header.practice}"))
    case_panels.flags_panel(header)
    case_panels.response_panel(header)
    patient_invites.patient_words_panel(sf, actor, agenda_case.case_id, {"Goals (at referral)": header.goals_text,
                                                                        "Concerns (at referral)": header.concerns_text})
    for disc, text in agenda_case.preparation.items():
        st.caption(md_escape(f"Preparation — {disc}: {text}"))
    if agenda_case.missing:
        st.warning("Readiness: missing " + ", ".join(agenda_case.missing))
    st.plotly_chart(charts.case_timeline(data.treatments, data.assessments, data.reviews, data.wearables,
                                         date.today(), ome=data.ome, response=header.response, compact=True),
                    width="stretch")
with right:
    open_flags = [f for f in header.flags if f.get("severity") in ("red", "amber")]
    errors = ss.get(f"{prefix}errors", {})
    if errors:
        st.error("Nothing was saved. Please correct the fields marked below.")
    decision_form.render(prefix, open_flags, view.starts_at.date(), errors)
    final = state.status == "final"

    def _save() -> bool:
        try:
            ss[f"{prefix}loaded"] = decisions.save(sf, actor, item_id, decision_form.read(prefix, open_flags),
                                                   ss[f"{prefix}loaded"])
        except EditConflict as exc:
            ss[f"{prefix}conflict"] = str(exc)
            return False
        except ValidationError as exc:
            ss[f"{prefix}errors"] = exc.errors
            return False
        ss[f"{prefix}errors"] = {}
        return True

    c1, c2 = st.columns(2)
    if c1.button("Save discussion", type="primary", disabled=final, key=f"{prefix}save"):
        if _save():
            leave_notice("Discussion saved.", f"{prefix}notice")
        st.rerun()
    if actor.has("chair") and c2.button("Finalise decision and send letter", disabled=final, key=f"{prefix}final"):
        if _save():
            try:
                decisions.finalise(sf, actor, item_id, ss[f"{prefix}loaded"])
            except ValidationError as exc:
                ss[f"{prefix}errors"] = exc.errors
            except HubError as exc:
                ss[f"{prefix}conflict"] = str(exc)
            else:
                leave_notice("Decision final: actions created, letter sent to the GP, case returned.", f"{prefix}notice")
        st.rerun()
    if final:
        st.info("This decision is final. The outcome letter is on the case page.")
