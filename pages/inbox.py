"""Inbox, grouped as the day is worked: letters to read (PCP; a letter is opened before it can be
acknowledged, its PDF one click away), then my actions overdue, due this week, later, and done — compact rows
naming the patient, each completed with one click and an optional note."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub import audit_events, inbox
from hub.inbox import InboxAction
from hub.errors import HubError
from ui import runtime
from ui.common import act, md_escape, show_error, show_notice
from ui.safety_notice import responder_notice

sf = runtime.session_factory()
actor = runtime.actor()
ss = st.session_state
st.title("Inbox")
show_notice()
if actor.has("pcp"):
    responder_notice(sf, actor)  # the practice's safety responder: patients to contact today
box = inbox.inbox(sf, actor)


def _read(letter_id: int) -> None:
    ss[f"read_{letter_id}"] = True


if actor.has("pcp"):
    new = box.letters_to_read
    st.header(f"Letters to read ({len(new)})")
    if not new:
        st.markdown("No new letters.")
    for x in new:
        opened = x.opened or ss.get(f"read_{x.letter_id}")
        with st.container(border=True):
            c1, c2, c3, c4 = st.columns([5, 2, 2, 2], vertical_alignment="center")
            c1.markdown(f"**{md_escape(x.case_label)}** · sent {x.sent_at:%d %b %Y %H:%M}"
                        + ("" if opened else " · **not opened yet**"))
            c2.button("Read the letter", key=f"read_btn_{x.letter_id}", on_click=_read, args=(x.letter_id,),
                      icon=":material/mail:", width="stretch")
            c3.download_button("PDF", lambda lid=x.letter_id: audit_events.letter_pdf_download(sf, actor, lid),
                               file_name=f"outcome-letter-case-{x.case_id}.pdf", mime="application/pdf",
                               key=f"pdf_{x.letter_id}", icon=":material/download:", width="stretch")
            if c4.button("Acknowledge", key=f"ack_{x.letter_id}", disabled=not opened, width="stretch",
                         help=None if opened else "Read the letter first"):
                act(lambda: inbox.acknowledge_letter(sf, actor, x.letter_id), "Letter acknowledged.")
            if ss.get(f"read_{x.letter_id}"):
                try:
                    st.markdown(inbox.open_letter(sf, actor, x.letter_id).markdown)
                    audit_events.record_view(sf, actor, "letter", x.letter_id, {"case_id": x.case_id})
                except HubError as exc:
                    show_error(exc)
                st.page_link("pages/case.py", label="Open the case", query_params={"case_id": x.case_id})


def _action_row(a: InboxAction) -> None:
    with st.container(border=True):
        due = f"due {a.due_date:%d %b %Y}" + (" · **overdue**" if a.overdue else "")
        st.markdown(f"**{md_escape(a.case_label)}** · {due} · {md_escape(a.description)}")
        with st.form(f"done_{a.action_id}", border=False):
            c1, c2, c3 = st.columns([5, 2, 2], vertical_alignment="center")
            note = c1.text_input("Note (optional)", key=f"note_{a.action_id}", label_visibility="collapsed",
                                 placeholder="Note (optional)")
            if c2.form_submit_button("Mark done", width="stretch"):
                act(lambda: inbox.complete_action(sf, actor, a.action_id, note), "Action completed.")
            c3.page_link("pages/case.py", label="Open the case", query_params={"case_id": a.case_id})


st.header("My actions")
for title, rows in (("Overdue", box.overdue), ("Due this week", box.this_week), ("Later", box.later)):
    st.subheader(f"{title} ({len(rows)})")
    if not rows:
        st.markdown("Nothing here.")
    for a in rows:
        _action_row(a)
with st.expander(f"Done, latest first ({len(box.done)})"):
    if box.done:
        st.dataframe(pd.DataFrame([{"Case": a.case_label, "Action": a.description, "Done": a.completed_at,
                                    "Note": a.note or ""} for a in box.done]),
                     hide_index=True, width="stretch")
