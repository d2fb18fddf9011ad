"""Inbox: outcome letters to acknowledge (PCP) and my actions — open, overdue, done — completed with
one click and an optional note."""

from __future__ import annotations

import streamlit as st

from hub import audit_events, correspondence, inbox
from ui import runtime
from ui.common import act, md_escape, show_notice
from ui.safety_notice import responder_notice

sf = runtime.session_factory()
actor = runtime.actor()
st.title("Inbox")
show_notice()
if actor.has("pcp"):
    responder_notice(sf, actor)  # the practice's safety responder: patients to contact today
box = inbox.inbox(sf, actor)


if actor.has("pcp"):
    new = [x for x in box["letters"] if x["status"] != "acknowledged"]
    st.subheader(f"Outcome letters to acknowledge ({len(new)})")
    if not new:
        st.info("No new letters.")
    for x in new:
        with st.container(border=True):
            st.markdown(f"**{md_escape(x['case'])}** · sent {x['sent_at']:%d %b %Y %H:%M}")
            with st.expander("Read the letter"):
                st.markdown(correspondence.letter_for(sf, actor, x["id"])["markdown"])
                audit_events.record_view(sf, actor, "letter", x["id"])
            c1, c2 = st.columns(2)
            c1.page_link("pages/case.py", label="Open the case", query_params={"case_id": x["case_id"]})
            if c2.button("Acknowledge", key=f"ack_{x['id']}"):
                act(lambda: inbox.acknowledge_letter(sf, actor, x["id"]), "Letter acknowledged.")

st.subheader("My actions")
for title, rows, kind in (("Overdue", box["overdue"], "error"), ("Open", box["open"], "info"),
                          ("Done, latest first", box["done"], None)):
    st.markdown(f"**{title} ({len(rows)})**")
    for a in rows:
        with st.container(border=True):
            due = f"due {a['due_date']:%d %b %Y}"
            st.markdown(f"{md_escape(a['case'])} · {due}" + (" · **overdue**" if a["overdue"] else ""))
            st.text(a["description"])
            if a["status"] == "open":
                with st.form(f"done_{a['id']}"):
                    note = st.text_input("Note (optional)", key=f"note_{a['id']}")
                    if st.form_submit_button("Mark done"):
                        act(lambda: inbox.complete_action(sf, actor, a["id"], note), "Action completed.")
            elif a["note"]:
                st.caption(md_escape(f"Note: {a['note']}"))
            st.page_link("pages/case.py", label="Open the case", query_params={"case_id": a["case_id"]})
