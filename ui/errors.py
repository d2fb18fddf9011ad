"""One guard around every page run: an unexpected exception is logged with its traceback under a short
error reference, and the user sees only the reference (never the exception text, server paths or SQL).
Streamlit's own error details are off outside development (.streamlit/config.toml
`client.showErrorDetails = "none"`); HUB_DEV=1 shows the traceback on the page as well, for development."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Callable

import streamlit as st

log = logging.getLogger("hub.errors")


def development() -> bool:
    """HUB_DEV=1: tracebacks on the page (never in production)."""
    return os.environ.get("HUB_DEV", "").strip().lower() in ("1", "true", "yes")


def new_reference() -> str:
    """A short error reference (8 hex characters) to search the server log by."""
    return secrets.token_hex(4)


def guarded(run: Callable[[], object], where: str = "page") -> None:
    """Run the page; an exception (not Streamlit's stop/rerun, which are BaseException) becomes a message
    with an error reference, and the traceback goes to the server log under that reference."""
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - the one place that turns every unexpected error into a reference
        ref = new_reference()
        log.error("error reference %s: unhandled %s in %s", ref, type(exc).__name__, where, exc_info=exc)
        st.error(f"Something went wrong and this page could not be shown completely. Nothing you did not save "
                 f"was written. If it happens again, give your administrator the error reference **{ref}**.",
                 icon=":material/error:")
        if development():
            st.exception(exc)
