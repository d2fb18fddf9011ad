"""Clinician-side panels of the patient's voice: invite the patient (link + QR code the practice sends by its
own route), the case's invitations with their state, and the patient's own words beside the clinicians'."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import streamlit as st

from hub import invitations
from hub.errors import HubError
from hub.vocab import INVITATION_OCCASIONS
from ui.common import md_escape, show_error


def _base_url() -> str:
    """Where patients reach the app: HUB_PUBLIC_URL, else the address this page was opened at."""
    configured = os.environ.get("HUB_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    u = urlparse(st.context.url or "")
    return f"{u.scheme}://{u.netloc}" if u.netloc else ""


def _show_link(case_id: int) -> None:
    issued = st.session_state.get(f"invite_link_{case_id}")
    if not issued:
        return
    url = invitations.link_for(issued["token"], _base_url())
    with st.container(border=True):
        st.markdown(f"**Link for the patient** (expires {issued['expires_at']:%d %b %Y %H:%M} UTC). Send it by the "
                    "practice's own SMS or letter route; the hub sends nothing. It is shown only now: if it is lost, "
                    "use *New link* (the old one stops working, answers so far are kept).")
        st.code(url, language=None)
        st.image(invitations.qr_png(url), caption="QR code of the link", width=220)
        if st.button("Done: hide the link", key=f"invite_hide_{case_id}"):
            st.session_state.pop(f"invite_link_{case_id}", None)
            st.rerun()


def invitations_panel(sf, actor, case_id: int) -> None:
    """The case's questionnaire invitations and, for who may invite, the form to invite the patient."""
    try:
        rows = invitations.for_case(sf, actor, case_id)
    except HubError as exc:
        show_error(exc)
        return
    _show_link(case_id)
    for r in rows:
        line = (f"**{md_escape(r['occasion'])}** · {md_escape(r['state_label'])} · {md_escape(r['items'])}"
                + (f" · due {r['due_on']:%d %b %Y}" if r["due_on"] and r["state"] == "scheduled" else "")
                + (f" · sent {r['issued_at']:%d %b %Y}" if r["issued_at"] else "")
                + (f" · completed {r['completed_at']:%d %b %Y %H:%M}" if r["completed_at"] else "")
                + (f" · {r['answered']} answer(s) saved so far" if r["state"] == "open" and r["answered"] else ""))
        cols = st.columns([6, 1, 1])
        cols[0].markdown(line)
        if not r["can_manage"]:
            continue
        try:
            if r["state"] == "scheduled" and r["issuable"] and cols[1].button("Issue link", key=f"inv_issue_{r['id']}"):
                link = invitations.issue_scheduled(sf, actor, r["id"])
                st.session_state[f"invite_link_{case_id}"] = {"token": link.token, "expires_at": link.expires_at}
                st.rerun()
            if r["state"] in ("open", "expired") and cols[1].button("New link", key=f"inv_new_{r['id']}"):
                link = invitations.replace(sf, actor, r["id"])
                st.session_state[f"invite_link_{case_id}"] = {"token": link.token, "expires_at": link.expires_at}
                st.rerun()
            if r["state"] in ("open", "scheduled") and cols[2].button("Revoke", key=f"inv_revoke_{r['id']}"):
                invitations.revoke(sf, actor, r["id"])
                st.rerun()
        except HubError as exc:
            show_error(exc)
    if not rows:
        st.info("The patient has not been invited to answer questionnaires through a link yet.")
    if not invitations.may_invite(sf, actor, case_id):
        return
    st.markdown("**Invite the patient**")
    occasion = st.selectbox("When", list(INVITATION_OCCASIONS), format_func=INVITATION_OCCASIONS.get,
                            key=f"invite_occasion_{case_id}")
    choices = invitations.item_choices(occasion)
    available = [c["code"] for c in choices if c["available"]]
    labels = {c["code"]: c["label"] for c in choices}
    not_offered = [c for c in choices if not c["available"]]
    if not_offered:
        with st.expander("Not offered here, and why"):
            for c in not_offered:
                st.markdown(f"- {md_escape(c['reason'])}")
    with st.form(f"invite_form_{case_id}_{occasion}"):
        default = [c for c in invitations.default_items(occasion) if c in available]
        items = st.multiselect("Questionnaires and questions", available, default=default,
                               format_func=labels.get, key=f"invite_items_{case_id}_{occasion}")
        if st.form_submit_button("Create the patient's link"):
            try:
                link = invitations.create(sf, actor, case_id, items, occasion)
            except HubError as exc:
                show_error(exc)
            else:
                st.session_state[f"invite_link_{case_id}"] = {"token": link.token, "expires_at": link.expires_at}
                st.rerun()


def patient_words_panel(sf, actor, case_id: int, clinicians: dict[str, str] | None = None) -> None:
    """The patient's own words (what matters, goals, questions for the team, change since care started) from
    the questionnaires they completed, beside what the clinicians recorded."""
    try:
        words = invitations.patient_words(sf, actor, case_id)
    except HubError as exc:
        show_error(exc)
        return
    if not words and not clinicians:
        return
    with st.expander("The patient's words (completed by the patient) beside the clinicians'", expanded=bool(words)):
        left, right = st.columns(2)
        with left:
            st.markdown("**In the patient's words**")
            if not words:
                st.text("The patient has not completed a questionnaire link yet.")
            for w in words[:3]:
                st.markdown(f"*{md_escape(w['occasion'])}, completed {w['completed_at']:%d %b %Y}*")
                for key, title in (("what_matters", "What matters to me"), ("goals", "My goals"),
                                   ("questions", "Questions I want the team to answer"),
                                   ("pgic", "How things have changed since care started")):
                    if w[key]:
                        st.markdown(f"**{title}**")
                        st.text(w[key])
        with right:
            st.markdown("**Recorded by clinicians**")
            for title, value in (clinicians or {}).items():
                st.markdown(f"**{md_escape(title)}**")
                st.text(value or "—")


def dashboard_section(sf, actor, practice_ids: list[int], start, end) -> None:
    """The dashboard's patient's-voice measures: links sent, completed, time to complete, by practice, and
    hub discussions that had the patient's own input."""
    from hub import dashboard

    try:
        v = dashboard.patient_voice(sf, actor, practice_ids=practice_ids or None, start=start, end=end)
    except HubError as exc:
        show_error(exc)
        return
    st.header("The patient's voice")
    m = st.columns(4)
    m[0].metric("Questionnaire links sent", v["sent"], help="Links issued to patients in the period.")
    m[1].metric("Completed by the patient", v["completed"],
                help="Of the links sent in the period, those the patient completed.")
    m[1].markdown(f"{v['completion_rate']:.0%} completed" if v["completion_rate"] is not None else "—")
    m[2].metric("Median time to complete", "—" if v["median_hours_to_complete"] is None
                else f"{v['median_hours_to_complete']:g} h", help="From the link being issued to the set being sent.")
    m[3].metric("Hub discussions", f"{v['discussions_with_patient_input']} of {v['discussions']}",
                help="Final hub decisions in the period whose case had a questionnaire set completed by the patient "
                     "before the meeting.")
    m[3].markdown("had the patient's own answers")  # a short label: a long one is cut off at 1280 px
    if v["by_practice"]:
        with st.expander(f"Completion by practice ({len(v['by_practice'])})"):
            st.dataframe(v["by_practice"], hide_index=True, width="stretch")
