"""AppTest helpers for the page tests (a module of its own: every test folder has a conftest.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def new_app() -> AppTest:
    """A fresh AppTest of app.py."""
    return AppTest.from_file(APP, default_timeout=30)


def login(username: str, password: str | None = None, settle: bool = True) -> AppTest:
    """An AppTest logged in as the user (after the post-login rerun)."""
    from tests_support import TEST_PASSWORD

    at = new_app()
    at.run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(password or TEST_PASSWORD)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    if settle:
        at.run()  # in the browser a timed fragment reruns the app once to show the user's navigation
    return at


def unescaped(markdown: str) -> str:
    """What a reader sees of Markdown that ui.common.md_escape wrote: backslash escapes and the invisible word
    joiners (which stop autolinking) removed."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")
