"""Script runs per cold load with a valid login cookie, in Chromium against a real server (`streamlit run
app.py`), counted by the page's run counter (tests/e2e/browser_support.RUN_COUNTER):

    python -m bench.cold_load_runs /tmp/scale/small-1000.db      # a copy of the database is used

Logs in as `chair` with the form, then opens /about and / three times each in new tabs of the same
browser (the cookie is sent with the websocket handshake) and prints the runs and the time to the page."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]

from browser_support import login, streamlit_server, wait_idle  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp())
    db = work / "hub.db"
    shutil.copy(sys.argv[1], db)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        with streamlit_server(f"sqlite:///{db}", work) as url:
            ctx, _ = login(browser, url, "chair")
            for target in ("/about", "/"):
                for _ in range(3):
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(url + target)
                    wait_idle(page)
                    page.get_by_text("Logged in as").wait_for()
                    ready = time.perf_counter() - t0
                    page.wait_for_timeout(2500)  # count a late rerun too
                    runs = page.evaluate("window.__hubRuns")
                    print(f"cold load {target}: {runs} run(s), page in {ready * 1000:.0f} ms")
                    page.close()
        browser.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
