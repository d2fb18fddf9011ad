"""Meeting room: one case at a time — summary, flags and timeline beside the structured form;
save with edit-conflict detection; the chair finalises (actions, letter, case back to the PCP)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import audit_events, cases, charts, decision_templates, decisions, meetings, records
from hub.errors import EditConflict, HubError, ValidationError
from hub.vocab import CONDITIONS, PAIN_CLASSIFICATIONS
from ui import case_panels, decision_form, patient_invites, runtime
from ui.common import leave_notice, md_escape, query_id, show_error, show_notice

LIVE_SECONDS = 4  # how often an attendee's room checks what the chair has open


def _code(vocabulary: dict[str, str], label: str) -> str | None:
    return next((c for c, lab in vocabulary.items() if lab == label), None)


sf = runtime.session_factory()
actor = runtime.actor("specialist", "chair")
ss = st.session_state

item_id = query_id("item", "agenda item")
if item_id is None:
    st.title("Meeting room")
    st.info("Open a case from a meeting's agenda (Hub meetings).")
    st.stop()
prefix = f"mr{item_id}_"

try:
    state = decisions.load(sf, actor, item_id)
    view, agenda_case = meetings.agenda_item_context(sf, actor, item_id)
    header = cases.case_header(sf, actor, agenda_case.case_id)
    data = records.timeline(sf, actor, agenda_case.case_id)
except HubError as exc:
    show_error(exc)
    st.stop()
audit_events.record_view(sf, actor, "case", agenda_case.case_id, {"agenda_item_id": item_id})

# The form starts from what is saved, with the version it was read at. Streamlit drops the state of
# widgets that were not drawn in a run (e.g. an interrupted first run), so whenever any field is missing
# the whole form is refilled from the saved decision and its version taken again: what is shown and
# the version a save is checked against always belong together.
if ss.get(f"{prefix}loaded") is None or not decision_form.has_state(prefix):
    decision_form.fill_state(prefix, state.form)
    ss[f"{prefix}loaded"] = state.version
    ss[f"{prefix}errors"] = {}

st.title(md_escape(f"Meeting room · {agenda_case.case_label}"))
st.markdown(md_escape(f"{view.title} · {view.starts_at:%d %b %Y %H:%M} · slot {agenda_case.minutes} min · "
                      f"decision: {state.status if state.version else 'not started'}"
                      + (f" · last saved by {state.updated_by} at {state.updated_at:%H:%M:%S}" if state.updated_by
                         else "")))
# The chair's open case is the meeting's current case: attendees' rooms follow it (below).
if actor.has("chair") and view.status != "finalised":
    meetings.set_live_item(sf, actor, item_id)
# Moving through the agenda one case at a time: back to the agenda, the previous and the next case.
order = [r.item_id for r in view.agenda]
here = order.index(item_id)
nav = st.columns(3)
nav[0].page_link("pages/meetings.py", label=f"Agenda (case {here + 1} of {len(order)})",
                 query_params={"meeting": view.id}, icon=":material/list:")
if here > 0:
    prev_row = view.agenda[here - 1]
    nav[1].page_link("pages/meeting_room.py", label=f"Previous: {md_escape(prev_row.case_label)}",
                     query_params={"item": prev_row.item_id}, icon=":material/arrow_back:")
if here + 1 < len(order):
    next_row = view.agenda[here + 1]
    nav[2].page_link("pages/meeting_room.py", label=f"Next: {md_escape(next_row.case_label)}",
                     query_params={"item": next_row.item_id}, icon=":material/arrow_forward:")


@st.fragment(run_every=LIVE_SECONDS)
def follow_the_chair() -> None:
    """For attendees: move to the case the chair opened, and show the saved discussion as it changes."""
    live = meetings.live_item(sf, actor, view.id)
    if live is None:
        return
    if live.item_id != item_id:
        if ss.get("mr_follow", True):
            st.switch_page("pages/meeting_room.py", query_params={"item": live.item_id})
        st.info(md_escape(f"The chair is on {live.case_label}."), icon=":material/groups:")
        return
    if live.decision_version and live.decision_version != ss.get(f"{prefix}loaded"):
        saved = decisions.load(sf, actor, item_id)
        with st.container(border=True):
            st.markdown(md_escape(f"Saved discussion, as {saved.updated_by} saved it at "
                                  f"{saved.updated_at:%H:%M:%S} (updates by itself):"))
            f = saved.form
            if f.formulation:
                st.text(f"Formulation: {f.formulation}")
            if f.answer:
                st.text(f"Answer: {f.answer}")
            for line in decisions.send_summary(f, header.referrer)[1:]:
                st.text(line)


if not actor.has("chair"):
    st.toggle("Follow the chair (your room moves to the case the chair opens)", value=True, key="mr_follow")
    follow_the_chair()

# Messages above the form live in one container that is always drawn, so a notice, an edit conflict or an
# error summary appearing does not move the form: its widgets keep their place in the page (and their input),
# and no stale copy of the form is left on screen while the page reruns.
above_form = st.container()
open_flags = header.open_flags
errors = ss.get(f"{prefix}errors", {})
with above_form:
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
    if errors:
        decision_form.error_summary(errors)

left, right = st.columns([2, 3])
with left:
    st.header("The case")
    st.markdown(md_escape(f"{header.patient_name}, {header.age} · {header.condition} ({header.pain_classification})"))
    st.markdown(md_escape(f"Referred by {header.referrer}, {header.practice}"))
    st.markdown("**Question**")
    st.text(header.clinical_question)
    case_panels.flags_panel(header)
    case_panels.response_panel(header)
    for disc, text in agenda_case.preparation.items():
        st.markdown(f"**Preparation — {md_escape(disc)}:** {md_escape(text)}")
    if agenda_case.missing:
        st.warning(md_escape("Readiness: missing " + ", ".join(agenda_case.missing)))
    st.plotly_chart(charts.cached_case_timeline(agenda_case.case_id, data.treatments, data.assessments,
                                                data.reviews, data.wearables, date.today(), ome=data.ome,
                                                response=header.response, compact=True),
                    width="stretch")
with right:
    final = state.status == "final"
    if final:
        decision_form.render_final(state.form, header.referrer)
    else:
        current = data.treatments
        drugs = [] if current is None or len(current) == 0 else [
            r.get("drug") for r in current.to_dict("records") if r.get("status") == "Current"]
        decision_form.render(
            prefix, open_flags, view.starts_at.date(), errors, flag_codes=[f.code for f in header.flags],
            condition=_code(CONDITIONS, header.condition),
            pain_classification=_code(PAIN_CLASSIFICATIONS, header.pain_classification),
            opioids=decision_templates.opioids_of(drugs))

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

    if final:
        st.info("This decision is final. The outcome letter is on the case page.", icon=":material/task_alt:")
    else:
        with st.container(border=True):
            if actor.has("chair"):
                decision_form.send_summary(prefix, open_flags, header.referrer)
            c1, c2 = st.columns(2)
            if actor.has("chair") and c1.button("Finalise decision and send letter", type="primary",
                                                key=f"{prefix}final", icon=":material/send:"):
                if _save():
                    try:
                        decisions.finalise(sf, actor, item_id, ss[f"{prefix}loaded"])
                    except ValidationError as exc:
                        ss[f"{prefix}errors"] = exc.errors
                    except HubError as exc:
                        ss[f"{prefix}conflict"] = str(exc)
                    else:
                        leave_notice("Decision final: actions created, letter sent to the GP, case returned.",
                                     f"{prefix}notice")
                st.rerun()
            if c2.button("Save discussion", type="secondary" if actor.has("chair") else "primary",
                         key=f"{prefix}save", icon=":material/save:"):
                if _save():
                    leave_notice("Discussion saved.", f"{prefix}notice")
                st.rerun()
with left:  # drawn after the form, so the form's widgets keep their place while this loads
    patient_invites.patient_words_panel(sf, actor, agenda_case.case_id, {"Goals (at referral)": header.goals_text,
                                                                        "Concerns (at referral)": header.concerns_text})
