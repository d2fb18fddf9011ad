"""Browser tests: a real `streamlit run app.py` on a fresh demo database, driven by Playwright in
the system Chromium. Skipped with a reason when Chromium or Playwright is missing, unless
HUB_REQUIRE_E2E=1 (CI), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")


def _require_or_skip(reason: str):
    if os.environ.get("HUB_REQUIRE_E2E", "").strip() in ("1", "true", "yes"):
        pytest.fail(f"HUB_REQUIRE_E2E=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def playwright_api():
    """The Playwright driver (skip/fail when missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require_or_skip("the playwright package is not installed (pip install -r requirements-dev.txt)")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _require_or_skip(f"no system Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api):
    """Headless system Chromium (never a downloaded browser)."""
    b = playwright_api.chromium.launch(
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"])
    yield b
    b.close()


@pytest.fixture(scope="session")
def server_db_url(tmp_path_factory) -> str:
    """The SQLite URL of the database the e2e server uses (tests may prepare data in it)."""
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'hub.db'}"


@pytest.fixture(scope="session")
def server(tmp_path_factory, playwright_api, server_db_url):
    """`streamlit run app.py` on a free port with a fresh SQLite demo database."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=server_db_url, HUB_DEMO="1", HUB_COOKIE_SECRET="e2e-" + "s" * 44)
    log = open(tmp / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail(f"streamlit did not become healthy; log:\n{(tmp / 'streamlit.log').read_text()}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# Helpers live in browser_support; re-exported for modules that import them from here.
from browser_support import DEMO_PASSWORD, choose, login, wait_idle  # noqa: E402,F401
