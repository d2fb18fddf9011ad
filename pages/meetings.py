"""Hub meetings: the chair creates a meeting (agenda proposed from the queue by priority), orders it,
records attendance and finalises; specialists see their preparation list; minutes download."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from hub import audit_events, correspondence, letters, meetings
from hub.vocab import DISCIPLINES
from ui import runtime
from ui.common import MAX_ID, act, md_escape, parse_id, show_notice

sf = runtime.session_factory()
actor = runtime.actor("specialist", "chair")
st.title("Hub meetings")
show_notice()


if actor.has("specialist"):
    st.header("My preparation")
    prep = meetings.preparation_list(sf, actor)
    if not prep:
        st.markdown("No cases on upcoming agendas.")
    by_meeting: dict[str, list[dict]] = {}
    for row in prep:
        by_meeting.setdefault(row["meeting"], []).append(row)
    # One collapsed section per meeting: the count says what is left to prepare without opening it.
    for meeting_label, rows in by_meeting.items():
        done = sum(1 for r in rows if r["prepared"])
        with st.expander(f"{md_escape(meeting_label)} · {len(rows)} case(s) · {done} prepared by you"):
            for row in rows:
                with st.container(border=True):
                    ready = "ready" if not row["missing"] else "not ready: missing " + ", ".join(row["missing"])
                    st.markdown(f"**{md_escape(row['case'])}** · {md_escape(ready)}")
                    st.text(row["question"])
                    with st.form(f"prep_{row['item_id']}", border=False):
                        text = st.text_area(f"{DISCIPLINES.get(actor.discipline, '')} preparation",
                                            value=row["prepared"], key=f"prep_text_{row['item_id']}", height=68)
                        c1, c2 = st.columns([1, 1])
                        if c1.form_submit_button("Save preparation"):
                            act(lambda: meetings.save_preparation(sf, actor, row["item_id"], text),
                                "Preparation saved.")
                        c2.page_link("pages/case.py", label="Open the case", query_params={"case_id": row["case_id"]})

if actor.has("chair"):
    with st.expander("New meeting", expanded=False):
        with st.form("new_meeting"):
            title = st.text_input("Title", value="Pain hub MDT", key="nm_title")
            c1, c2, c3 = st.columns(3)
            day = c1.date_input("Date", value=datetime.now().date() + timedelta(days=7), key="nm_date")
            at = c2.time_input("Start", value=time(13, 0), key="nm_time")
            length = c3.number_input("Length (minutes)", min_value=10, max_value=480, value=90, key="nm_length")
            link = st.text_input("Video link (https://…)", key="nm_link")
            c4, c5 = st.columns(2)
            per_case = c4.number_input("Minutes per case", min_value=1, max_value=120, value=10, key="nm_per_case")
            quorum = c5.multiselect("Quorum: disciplines that must attend", list(DISCIPLINES),
                                    default=list(meetings.DEFAULT_QUORUM), format_func=DISCIPLINES.get, key="nm_quorum")
            if st.form_submit_button("Create meeting and propose agenda"):
                def create():
                    new_id = meetings.create_meeting(
                        sf, actor, title=title, starts_at=datetime.combine(day, at), video_link=link,
                        minutes_per_case=int(per_case), duration_minutes=int(length), quorum_disciplines=quorum)
                    st.query_params["meeting"] = str(new_id)  # show the new meeting (and make its link shareable)
                act(create, "Meeting created; the agenda was proposed from the queue by priority.")

listing = meetings.list_meetings(sf, actor)
if not listing:
    st.info("No meetings yet.")
    st.stop()
labels = {m["id"]: f"{m['starts_at']:%a %d %b %Y %H:%M} · {m['title']} · {m['status']} · {m['cases']} case(s)"
          for m in listing}
ids = list(labels)
# The meeting shown is the one in the address (?meeting=ID), so a meeting can be linked to and a new one is
# shown at once. The selectbox's key follows the address: it starts from the address on every change instead
# of keeping a selection of its own in the browser that could disagree with it.
wanted = parse_id(st.query_params.get("meeting"))  # an unknown or malformed meeting shows the latest one
shown = wanted if wanted in labels else ids[0]
pick_key = f"mt_meeting_{shown}"


def _follow_pick() -> None:
    st.query_params["meeting"] = str(st.session_state[pick_key])


meeting_id = st.selectbox("Meeting", ids, index=ids.index(shown), format_func=labels.get, key=pick_key,
                          on_change=_follow_pick)
view = meetings.meeting_view(sf, actor, meeting_id)
st.markdown(md_escape(f"Chair: {view.chair} · {view.minutes_per_case} min per case · status: {view.status} · "
                      f"booked {view.booked_minutes} of {view.duration_minutes} minutes"))
if view.overbooked_by and view.status != "finalised":
    st.warning(f"Overbooked: {len(view.agenda)} cases need {view.booked_minutes} minutes in a "
               f"{view.duration_minutes}-minute meeting ({view.overbooked_by} minutes over). Remove or carry "
               "cases forward, or shorten their slots.", icon=":material/schedule:")
if view.video_link:
    st.link_button("Join video call", view.video_link)

is_chair = actor.has("chair") and view.status != "finalised"
st.header("Agenda")
# The chair works the agenda; other members mostly need their preparation (above): for them it is collapsed.
agenda_box = st.container() if actor.has("chair") else st.expander(f"The agenda ({len(view.agenda)} cases)")
if not view.agenda:
    agenda_box.markdown("The agenda is empty.")
for row in view.agenda:
    with agenda_box.container(border=True):
        c1, c2 = st.columns([5, 2])
        carried = " · carried forward" if row.carried_from else ""
        ready = "ready" if not row.missing else "missing " + ", ".join(row.missing)
        c1.markdown(f"**{row.position}. {md_escape(row.case_label)}** · priority {row.priority:g} · "
                    f"{row.minutes} min · {row.status_label}{carried} · {md_escape(ready)}"
                    + (f"  \nFlags: {md_escape(row.flags)}" if row.flags else ""))
        c1.text(row.question)
        for disc, text in row.preparation.items():
            c1.markdown(md_escape(f"{disc}: {text}"))
        if row.status == "pending":
            c2.page_link("pages/meeting_room.py", label="Discuss in meeting room",
                         query_params={"item": row.item_id}, icon=":material/groups:")
        if is_chair and row.status == "pending":
            b1, b2, b3 = c2.columns(3)
            if b1.button("↑", key=f"up_{row.item_id}", help="Move up"):
                act(lambda: meetings.move_item(sf, actor, row.item_id, -1), "Agenda reordered.")
            if b2.button("↓", key=f"down_{row.item_id}", help="Move down"):
                act(lambda: meetings.move_item(sf, actor, row.item_id, +1), "Agenda reordered.")
            if b3.button("✕", key=f"rm_{row.item_id}", help="Remove from agenda"):
                act(lambda: meetings.remove_item(sf, actor, row.item_id), "Case removed from the agenda.")

if is_chair:
    with st.form("add_case"):
        case_id = st.number_input("Add a case by number", min_value=1, max_value=MAX_ID, step=1, value=None,
                                  key="mt_add_case")
        if st.form_submit_button("Add to agenda") and case_id:
            act(lambda: meetings.add_case(sf, actor, meeting_id, int(case_id)), f"Case {int(case_id)} added.")

    st.header("Attendance and quorum")
    members = meetings.hub_members(sf)
    present = {uid for uid, _, _ in view.attendance}
    with st.form("attendance"):
        chosen = st.multiselect("Attended", [m["id"] for m in members], default=[m["id"] for m in members
                                                                                  if m["id"] in present],
                                format_func=lambda i: next(f"{m['name']} ({DISCIPLINES.get(m['discipline'], '—')})"
                                                           for m in members if m["id"] == i), key="mt_attended")
        if st.form_submit_button("Save attendance"):
            pairs = [(m["id"], m["discipline"] or "general_practice") for m in members if m["id"] in chosen]
            act(lambda: meetings.set_attendance(sf, actor, meeting_id, pairs), "Attendance saved.")

q = view.quorum
if q.met:
    st.success("Quorum met.")
else:
    st.warning(md_escape(f"Quorum not met: missing {', '.join(q.missing)}. " + " ".join(q.notes)))

if is_chair:
    with st.form("finalise_meeting"):
        reason = st.text_area("Reason for finalising without quorum (only if quorum is not met)", key="mt_reason")
        st.markdown("Finalising carries every case not discussed forward to the next meeting.")
        if st.form_submit_button("Finalise meeting"):
            act(lambda: meetings.finalise_meeting(sf, actor, meeting_id, reason, view.version), "Meeting finalised.")

st.header("Minutes")
m = correspondence.minutes(sf, actor, meeting_id)
with st.expander("Show minutes"):
    st.markdown(letters.minutes_markdown(m))
c1, c2 = st.columns(2)
c1.download_button("Download minutes (Markdown)", lambda: audit_events.minutes_download(sf, actor, meeting_id, "md"),
                   file_name=f"minutes-{meeting_id}.md", mime="text/markdown")
c2.download_button("Download minutes (PDF)", lambda: audit_events.minutes_download(sf, actor, meeting_id, "pdf"),
                   file_name=f"minutes-{meeting_id}.pdf", mime="application/pdf")
