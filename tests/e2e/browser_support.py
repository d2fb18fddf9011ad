"""Browser helpers for the e2e tests (a module of its own: every test folder has a conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "pain-hub-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(database_url: str, workdir: Path, secret: str = "e2e-" + "s" * 44):
    """Run `streamlit run app.py` on a free port against `database_url` (demo seeded when empty); yields its URL."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, HUB_DEMO="1", HUB_COOKIE_SECRET=secret)
    log_path = workdir / "streamlit.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not become healthy; log:\n{log_path.read_text()}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# Counts the script runs the page has started: every change of stApp's data-test-script-state to
# 'running'. Installed in every page of a context made by new_context(), before the app's own scripts.
RUN_COUNTER = """
window.__hubRuns = 0;
new MutationObserver(changes => {
  for (const c of changes) {
    if (c.target.getAttribute('data-test-script-state') === 'running') window.__hubRuns += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


def new_context(browser, **kwargs):
    """A browser context whose pages count Streamlit's script runs (for wait_idle)."""
    context = browser.new_context(**kwargs)
    context.add_init_script(RUN_COUNTER)
    return context


def wait_idle(page, timeout: float = 60_000, rerun_within: float = 250) -> None:
    """Wait until Streamlit finished the current run (as Streamlit's own e2e suite does).

    An action that triggers a rerun starts it a moment later: the page's run counter (RUN_COUNTER) tells
    when it has started, so the wait ends as soon as the rerun has, instead of always sleeping. An action
    that triggers no rerun waits at most `rerun_within` ms for one."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    seen = getattr(page, "_hub_runs_seen", None)
    runs = page.evaluate("typeof window.__hubRuns === 'number' ? window.__hubRuns : null")
    if runs is None:
        page.wait_for_timeout(rerun_within)  # a page without the counter: the old fixed wait
    elif seen is None or runs <= seen:
        # first wait on this page: its first run surely comes (allow for the websocket to connect)
        first = seen is None
        try:
            page.wait_for_function(f"window.__hubRuns > {0 if first else seen}",
                                   timeout=5_000 if first else rerun_within)
        except PlaywrightTimeout:
            pass  # no rerun came: nothing to wait for
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
                           timeout=timeout)
    page._hub_runs_seen = page.evaluate("typeof window.__hubRuns === 'number' ? window.__hubRuns : null")


def login(browser, server: str, username: str, password: str = DEMO_PASSWORD):
    """A new browser context logged in as the user; returns (context, page)."""
    context = new_context(browser, viewport={"width": 1400, "height": 1000})
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
    # the cookie component's reply reruns the page once more (the user's own navigation): let it finish
    wait_idle(page, rerun_within=1500)
    return context, page


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label."""
    box = page.get_by_label(label, exact=True)
    box.click()
    # The list is virtualised (only the options in view exist): type to filter it down to the option.
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)
