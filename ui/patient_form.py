"""The patient's questionnaire page (no login, no navigation): opened through ?invite=TOKEN.

Shows nothing but the patient's first name, the practice's name and the questions, one question a page
with the progress, saving every answer on the server as it is given (reopening the link resumes where the
patient was). Every unusable link gets the same neutral page. Never shows scores or bands. All words come
from hub.patient_text (held at reading grade 8 or below); user and database text is escaped.
"""

from __future__ import annotations

import os

import streamlit as st

from hub import invitations
from hub import patient_text as txt
from hub.errors import ValidationError
from hub.invitations import InvitationUnavailable
from ui.common import md_escape

PREFIX = "pv_"


def _client_address() -> str | None:
    """The client's address for the rate limit (the proxy's X-Forwarded-For only when HUB_TRUST_PROXY=1)."""
    if os.environ.get("HUB_TRUST_PROXY", "").strip() in ("1", "true", "yes"):
        forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
        if forwarded:
            return forwarded
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "unknown"


def _neutral() -> None:
    st.title(txt.NEUTRAL_TITLE)
    st.markdown(txt.NEUTRAL_BODY)


def _crisis() -> None:
    with st.container(border=True):
        st.header(txt.CRISIS_TITLE)
        for line in txt.CRISIS_BODY:
            st.markdown(md_escape(line).replace("\\&", "&"))


def _end(first_name: str, practice: str, crisis: bool) -> None:
    st.title(txt.END_TITLE)
    st.markdown(md_escape(txt.END_BODY.format(first_name=first_name, practice=practice)))
    if crisis:
        _crisis()
    st.markdown(md_escape(txt.END_SAFETY_NET))


def _go(token: str, position: int) -> None:
    st.session_state[PREFIX + "pos"] = position
    try:
        invitations.save_position(_sf(), token, position)
    except InvitationUnavailable:
        st.session_state[PREFIX + "dead"] = True


def _sf():
    from ui import runtime

    return runtime.session_factory()


def _save(token: str, key: str, widget_key: str, position: int) -> None:
    """on_change of an answer: save it at once on the server."""
    value = st.session_state.get(widget_key)
    try:
        if invitations.save_answer(_sf(), token, key, value, position=position):
            st.session_state[PREFIX + "crisis"] = True
        st.session_state[PREFIX + "error"] = None
        if key == "PHQ9_Q9" and isinstance(value, int) and value > 0:
            st.session_state[PREFIX + "crisis"] = True
    except ValidationError as exc:
        st.session_state[PREFIX + "error"] = next(iter(exc.errors.values()))
    except InvitationUnavailable:
        st.session_state[PREFIX + "dead"] = True


def render() -> None:
    """The whole patient page."""
    ss = st.session_state
    token = st.query_params.get("invite")
    if ss.get(PREFIX + "done"):
        _end(ss[PREFIX + "first_name"], ss[PREFIX + "practice"], bool(ss.get(PREFIX + "crisis")))
        return
    if ss.get(PREFIX + "token") != token:  # a new link in this browser tab: start afresh
        for k in [k for k in ss if str(k).startswith(PREFIX)]:
            del ss[k]
        ss[PREFIX + "token"] = token
    view = invitations.open_link(_sf(), token, _client_address(), audit_access=not ss.get(PREFIX + "audited"))
    if view is None or ss.get(PREFIX + "dead"):
        _neutral()
        return
    ss[PREFIX + "audited"] = True
    ss[PREFIX + "first_name"], ss[PREFIX + "practice"] = view.first_name, view.practice
    if view.safety_raised:
        ss[PREFIX + "crisis"] = True
    steps = list(view.steps)
    n = len(steps)
    if PREFIX + "pos" not in ss:
        ss[PREFIX + "pos"] = -1 if (view.position == 0 and not view.draft) else min(view.position, n)
        ss[PREFIX + "resumed"] = bool(view.draft)
    pos = ss[PREFIX + "pos"]

    st.title(md_escape(txt.TITLE.format(practice=view.practice)))
    if pos < 0:
        st.markdown(md_escape(txt.WELCOME.format(first_name=view.first_name, practice=view.practice,
                                                 minutes=txt.minutes_for(steps))))
        st.markdown("\n".join(f"- {md_escape(p)}" for p in txt.WELCOME_POINTS))
        st.button(txt.START, type="primary", key=PREFIX + "start", on_click=_go, args=(token, 0))
        return
    if ss.get(PREFIX + "resumed"):
        st.success(txt.SAVED)
    if ss.get(PREFIX + "crisis"):
        _crisis()

    if pos >= n:  # check page, then send
        st.header(txt.CHECK_TITLE)
        st.markdown(md_escape(txt.CHECK_BODY.format(practice=view.practice)))
        missing = invitations.missing_answers(steps, view.draft)
        if ss.get(PREFIX + "error"):
            st.error(ss[PREFIX + "error"])
        c1, c2 = st.columns(2)
        c1.button(txt.BACK, key=PREFIX + "back_end", on_click=_go, args=(token, missing[0] if missing else n - 1))
        c2.button(txt.SEND, type="primary", key=PREFIX + "send", on_click=_send, args=(token, missing))
        return

    step = steps[pos]
    st.markdown(f"**{md_escape(txt.PROGRESS.format(n=pos + 1, total=n))}**")
    st.progress((pos + 1) / (n + 1))
    widget_key = f"{PREFIX}w_{step.key}"
    saved = view.draft.get(step.key)
    if step.stem:
        st.markdown(md_escape(step.stem))
    if step.kind == "choice":
        codes = [c for c, _ in step.options]
        labels = dict(step.options)
        # The question is the project's own wording (or the published item text), never user text: shown as
        # written, so that its accessible name carries no escape characters.
        st.radio(step.question, codes, index=codes.index(saved) if saved in codes else None,
                 format_func=lambda c: labels[c], key=widget_key, on_change=_save,
                 args=(token, step.key, widget_key, pos), horizontal=step.instrument == "nrs")
        if step.help:
            st.markdown(md_escape(step.help))
    else:
        if step.help:
            st.markdown(md_escape(step.help))
        st.text_area(step.question, value=saved or "", max_chars=txt.TEXT_LIMIT, key=widget_key,
                     on_change=_save, args=(token, step.key, widget_key, pos))
        st.markdown(md_escape(txt.OPTIONAL))
    if ss.get(PREFIX + "error"):
        st.error(ss[PREFIX + "error"])
    c1, c2 = st.columns(2)
    c1.button(txt.BACK, key=f"{PREFIX}back_{pos}", on_click=_back, args=(token, pos))
    c2.button(txt.NEXT, type="primary", key=f"{PREFIX}next_{pos}", on_click=_next,
              args=(token, step.key, step.kind, widget_key, pos))


# Buttons act in callbacks, before the script runs: the run that follows draws the new page at once (a
# st.rerun() after the click would leave the old question on screen for a moment, where a quick tap could
# land on the wrong question).


def _back(token: str, pos: int) -> None:
    st.session_state[PREFIX + "error"] = None
    _go(token, pos - 1)


def _next(token: str, key: str, kind: str, widget_key: str, pos: int) -> None:
    ss = st.session_state
    if kind == "text":
        _save(token, key, widget_key, pos + 1)
    elif ss.get(widget_key) is None:
        ss[PREFIX + "error"] = txt.CHOOSE_ONE
        return
    if not ss.get(PREFIX + "error"):
        _go(token, pos + 1)


def _send(token: str, missing: list[int]) -> None:
    ss = st.session_state
    try:
        invitations.submit(_sf(), token)
    except ValidationError:
        ss[PREFIX + "error"] = txt.CHOOSE_ONE
        _go(token, missing[0] if missing else 0)
    except InvitationUnavailable:
        ss[PREFIX + "dead"] = True
    else:
        ss[PREFIX + "done"] = True
