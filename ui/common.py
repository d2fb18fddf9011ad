"""Small rendering helpers shared by the pages: errors, escaping, navigation to a case."""

from __future__ import annotations

import re

import streamlit as st

from hub.errors import EditConflict, NotFound, PermissionDenied, ValidationError

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$])")


def md_escape(text: str | None) -> str:
    """Escape user text for use inside markdown so it shows literally (never as markup or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


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


def field_error(errors: dict[str, str], key: str) -> None:
    """Show the error for one field right beside it, if any."""
    if key in errors:
        st.error(errors[key], icon="⚠️")


def open_case(case_id: int) -> None:
    """Go to the case page for a case."""
    st.switch_page("pages/case.py", query_params={"case_id": int(case_id)})
