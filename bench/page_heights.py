"""Page heights in Chromium for the demo users (issue 11: the GP's inbox and the specialist's Hub meetings page
were 7,537 px and 13,094 px): a real `streamlit run` server on a fresh copy of the embedded demo, 1440 px wide,
each page's full scroll height after its script run. Run by hand:

    python -m bench.page_heights [--db sqlite:////tmp/heights.db]

Without --db the server seeds the demo into a temporary SQLite file at its first start, as the app does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from browser_support import login, streamlit_server, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

PAGES = (("gp.north", "inbox"), ("gp.river", "inbox"), ("physio", "meetings"), ("psych", "meetings"),
         ("chair", "meetings"), ("chair", "queue"), ("gp.north", "queue"))
# The main column's height (collapsed expanders hold their content hidden: the largest scrollHeight of any
# element would count it).
HEIGHT = "document.querySelector('[data-testid=stMainBlockContainer]').getBoundingClientRect().height"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.page_heights")
    p.add_argument("--db", help="database URL (default: a fresh demo in a temporary SQLite file)")
    p.add_argument("--screenshots", type=Path, help="save a full-page screenshot of each page in this folder")
    args = p.parse_args(argv)
    os.environ["HUB_WORKER"] = "off"
    with tempfile.TemporaryDirectory() as tmp:
        # An empty database: the server seeds the demo at its first start, as the app does.
        url_db = args.db or f"sqlite:///{Path(tmp) / 'heights.db'}"
        with streamlit_server(url_db, Path(tmp)) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            print("| user | page | height px (1440 px wide) |\n|---|---|---|")
            for user, path in PAGES:
                context, page = login(browser, url, user)
                page.set_viewport_size({"width": 1440, "height": 900})
                page.goto(f"{url}/{path}")
                page.get_by_role("heading").first.wait_for()
                wait_idle(page)
                page.wait_for_timeout(500)
                height = int(page.evaluate(HEIGHT))
                print(f"| {user} | {path} | {height:,} |")
                if args.screenshots:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    page.set_viewport_size({"width": 1440, "height": min(height, 8000)})
                    page.wait_for_timeout(600)
                    page.screenshot(path=str(args.screenshots / f"{user}-{path}.png"))
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
