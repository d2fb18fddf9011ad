"""Small rendering helpers shared by the pages: errors, escaping, navigation to a case."""

from __future__ import annotations

import re
import time

import streamlit as st

from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from hub.text import MAX_ID, parse_id  # noqa: F401 - MAX_ID for number inputs

# Every ASCII punctuation character may be backslash-escaped in (GitHub-flavoured) Markdown, and escaping
# them all leaves nothing for the parser to act on: no emphasis, code, link, image or HTML tag, no entity
# (&), no Streamlit directive (':material/x:', ':red[...]', '$maths$').
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
# Streamlit's renderer also turns bare URLs, 'www.' addresses and e-mail addresses into links AFTER parsing,
# in the text the escapes resolved to, so escaping cannot stop it: an invisible word joiner (U+2060) inside
# '://', after 'www' and after '@' makes the text no longer look like an address to it.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")


def _break_autolinks(text: str) -> str:
    return _AUTOLINK.sub(WORD_JOINER, text)


def md_escape(text: object) -> str:
    """User text made safe for every place Streamlit renders Markdown: st.markdown / st.caption /
    st.info..., widget and expander labels, page_link labels, radio options. It shows literally, never
    as markup, a link, an image or HTML, and fetches nothing. None is "". Not for plain-text places
    (st.text, selectbox/multiselect options, dataframes), where the backslashes would show."""
    return _MD_SPECIAL.sub(r"\\\1", _break_autolinks("" if text is None else str(text)))


def query_id(name: str, what: str) -> int | None:
    """The identifier in the address's query parameter `name` (e.g. ?case_id=7), or None when absent.

    A value that is not a whole number from 1 to hub.text.MAX_ID shows "no such {what}" and stops the
    page: it never reaches the database (where a huge number would overflow)."""
    raw = st.query_params.get(name)
    if raw is None:
        return None
    value = parse_id(raw)
    if value is None:
        st.error(f"There is no such {what}: '{md_escape(str(raw)[:30])}' in the address is not a {what} number. "
                 f"Open it from the list instead.")
        st.stop()
    return value


def show_error(exc: Exception) -> None:
    """Turn a hub error into a clear message on the page."""
    if isinstance(exc, ValidationError):
        st.error("Nothing was saved. Please correct: \n\n" + "\n".join(f"- {md_escape(m)}" for m in exc.errors.values()))
    elif isinstance(exc, EditConflict):
        st.warning(md_escape(str(exc)))
    elif isinstance(exc, (PermissionDenied, NotFound)):
        st.error(md_escape(str(exc)))
    else:
        raise exc


def errors_at_top(errors: dict[str, str], anchors: dict[str, str] | None = None) -> None:
    """Every refusal summarised where the eye starts, each a link to the field it belongs to (when the form
    placed an anchor there: `anchors` maps an error key to its anchor id)."""
    anchors = anchors or {}
    lines = "\n".join(f"- [{md_escape(m)}](#{anchors[k]})" if k in anchors else f"- {md_escape(m)}"
                       for k, m in errors.items())
    st.error(f"**Nothing was saved: {len(errors)} thing{'s' if len(errors) != 1 else ''} to fix** "
             f"(each is also marked beside its field)\n\n{lines}", icon=":material/error:")


def anchor(name: str) -> None:
    """An invisible link target for the error summary (a fixed id of ours, never user text)."""
    st.html(f'<span id="{name}"></span>')


def field_error(errors: dict[str, str], key: str) -> None:
    """Show the error for one field right beside it, if any, with the anchor `err-<key>` the summary at the
    top links to."""
    if key in errors:
        anchor(f"err-{key}")
        st.error(md_escape(errors[key]), icon="⚠️")


def open_case(case_id: int) -> None:
    """Go to the case page for a case."""
    st.switch_page("pages/case.py", query_params={"case_id": int(case_id)})


NOTICE_KEY = "page_notice"
CASE_NOTICE = "case_notice"
AUTH_NOTICE = "auth_notice"
NOTICE_SECONDS = 10.0


def leave_notice(message: str, key: str = NOTICE_KEY) -> None:
    """Leave a message for the user about the action just done, shown by `show_notice` after the rerun."""
    st.session_state[key] = (message, None)  # not shown yet


def show_notice(key: str = NOTICE_KEY, show=None) -> None:
    """Show the message left by the last action (a success message unless `show` says otherwise).

    It is shown on every run in the few seconds after it was first shown, not popped by the first one: a
    component (the login cookie's, a chart's) can rerun the page at once, and a one-shot message would be gone
    before the user saw it. The seconds count from the first showing, not from the action, so a slow rerun
    on a busy server cannot expire a message nobody has seen. A later run drops it."""
    entry = st.session_state.get(key)
    if not entry:
        return
    message, first_shown = entry
    now = time.monotonic()
    if first_shown is None:
        st.session_state[key] = (message, now)
    elif now - first_shown > NOTICE_SECONDS:
        del st.session_state[key]
        return
    (show or st.success)(message)


def act(fn, message: str) -> None:
    """Run a service call from a button or form: on success rerun with `message` shown once; a hub error is
    shown as a clear message and the user's input stays on screen."""
    try:
        fn()
    except (ValidationError, EditConflict, PermissionDenied, NotFound) as exc:
        show_error(exc)
        return
    leave_notice(message)
    st.rerun()


_STICKY = "_sticky_"


def sticky(key: str, initial) -> str:
    """A widget key whose value survives a page switch (Streamlit drops the state of widgets a run does not
    draw, so the queue's filters were lost on the way to a case and back): before the widget is drawn its
    state is set from the last value seen, or to `initial`. Call `remember` after the widgets."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(_STICKY + key, initial)
    return key


def remember(*keys: str) -> None:
    """Keep the current value of sticky widgets for the next visit of the page."""
    for key in keys:
        if key in st.session_state:
            st.session_state[_STICKY + key] = st.session_state[key]


# Streamlit draws st.caption in a faded grey that fails WCAG AA contrast (4.5:1) on white: axe-core
# reports it as a serious violation. One rule for every page darkens it (about 8:1) and keeps it smaller.
_LEGIBLE_CSS = "<style>[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p " \
               "{ color: #44464f !important; opacity: 1 !important; }</style>"


def legible_captions() -> None:
    """Make every caption of the page readable (call once per run, from app.py)."""
    st.html(_LEGIBLE_CSS)
