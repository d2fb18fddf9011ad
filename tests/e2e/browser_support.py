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
    # the real navigation replaces the post-login links (a rerun later): wait for it, so a test never sees both
    page.get_by_test_id("stSidebarNavItems").wait_for()
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSidebarUserContent\"] "
                           "[data-testid=\"stPageLink-NavLink\"][href=\"about\"]').length === 0")
    wait_idle(page)
    return context, page


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its label."""
    box = page.get_by_label(label, exact=True)
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)
