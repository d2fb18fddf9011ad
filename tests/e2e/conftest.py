"""Browser tests: a real `streamlit run app.py` on a fresh demo database, driven by Playwright in
the system Chromium. Skipped with a reason when Chromium or Playwright is missing, unless
HUB_REQUIRE_E2E=1 (CI), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from browser_support import streamlit_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")


def _require_or_skip(reason: str):
    if os.environ.get("HUB_REQUIRE_E2E", "").strip() in ("1", "true", "yes"):
        pytest.fail(f"HUB_REQUIRE_E2E=1 but {reason}")
    pytest.skip(reason)


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
def server_db_url(tmp_path_factory, db_templates) -> str:
    """The SQLite URL of the database the e2e server uses (tests may prepare data in it): a copy of the demo
    the app's start-up seeds (built once per session, shared with the other app-level tests)."""
    from tests_support import seed_app_demo

    url, _, _ = db_templates.clone("sqlite", "app-demo", seed_app_demo, tmp_path_factory.mktemp("e2e-db"))
    return url


@pytest.fixture(scope="session")
def server(tmp_path_factory, playwright_api, server_db_url):
    """`streamlit run app.py` on a free port with a fresh SQLite demo database."""
    with streamlit_server(server_db_url, tmp_path_factory.mktemp("e2e")) as url:
        yield url

