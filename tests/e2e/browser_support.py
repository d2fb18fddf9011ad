"""Browser helpers for the e2e tests (a module of its own: every test folder has a conftest.py)."""

from __future__ import annotations

import time

DEMO_PASSWORD = "pain-hub-demo"


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit finished the current run (as Streamlit's own e2e suite does)."""
    page.wait_for_timeout(250)  # let a rerun triggered by the last action start
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
                           timeout=timeout)


def login(browser, server: str, username: str, password: str = DEMO_PASSWORD):
    """A new browser context logged in as the user; returns (context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server)
    wait_idle(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Logged in as").wait_for()
    # The re-login cookie is written by the authenticator's component in the browser: wait for it
    # (and for the navigation that appears right after) before the test navigates away.
    deadline = time.time() + 20
    while not any(c["name"] == "msk_pain_hub_auth" for c in context.cookies()):
        if time.time() > deadline:
            raise AssertionError("the login cookie was never set")
        page.wait_for_timeout(200)
    page.get_by_role("link", name="About").first.wait_for()
    wait_idle(page)
    return context, page


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label."""
    box = page.get_by_label(label, exact=True)
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)
