"""The safety responder's notice (hub.safety): their practice's open PHQ-9 item 9 alerts, oldest first, with links
to the cases; drawn at the top of the case queue and of the inbox."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import safety
from ui.common import md_escape


def responder_notice(sf, actor) -> safety.QueueNotice:
    """Draw the notice when the user is their practice's safety responder and alerts are open; returns what
    hub.safety.queue_notice said (the queue draws the generic banner for the other kinds)."""
    notice = safety.queue_notice(sf, actor)
    if notice.kind != "responder" or not notice.alerts:
        return notice
    today = date.today()
    with st.container(border=True, key="safety_responder_notice"):
        st.error(md_escape(notice.headline()) + ". PHQ-9 item 9 answered above 0: contact the patient today, then "
                 "record the action taken on the case.", icon=":material/emergency:")
        for a in notice.alerts:
            st.page_link("pages/case.py", label=f"Case {a.case_id} · {md_escape(a.patient)} · "
                                                f"{md_escape(a.source(today))}",
                         query_params={"case_id": a.case_id}, icon=":material/call:")
    return notice
