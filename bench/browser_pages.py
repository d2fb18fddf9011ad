"""Browser-measured page times (Chromium, a real `streamlit run` server, no AppTest): the case page for a small
and a big history against a floor page (About: the same login gate, navigation and almost nothing else),
rotated in each round so that load drift hits all three. Run by hand:

    python -m bench.browser_pages DATABASE_URL SMALL_CASE_ID BIG_CASE_ID [--rounds 8]

e.g. on a database kept by `python -m bench.bench_scale --keep DIR` (its DIR/small-1000.ids holds the two
case ids). Each time is from `page.goto` to the end of the script run (no skeleton left), logged in as chair.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from browser_support import login, streamlit_server, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser_pages")
    p.add_argument("database_url")
    p.add_argument("small_case", type=int)
    p.add_argument("big_case", type=int)
    p.add_argument("--rounds", type=int, default=8)
    args = p.parse_args(argv)
    os.environ["HUB_WORKER"] = "off"  # no refresh running during the measurement
    targets = {"floor (About)": "about", "case page, small history": f"case?case_id={args.small_case}",
               "case page, big history": f"case?case_id={args.big_case}"}
    times: dict[str, list[float]] = {k: [] for k in targets}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(args.database_url, Path(tmp)) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        context, page = login(browser, url, "chair")
        names = list(targets)
        for name in names:  # warm-up: first run of each page script, first figure build
            page.goto(f"{url}/{targets[name]}")
            wait_idle(page)
        for r in range(args.rounds):
            for name in names[r % 3:] + names[:r % 3]:
                t0 = time.perf_counter()
                page.goto(f"{url}/{targets[name]}")
                wait_idle(page)
                times[name].append((time.perf_counter() - t0) * 1000)
                loads.append(os.getloadavg()[0])
        context.close()
        browser.close()
    floor = statistics.median(times["floor (About)"])
    print(f"Chromium, {args.rounds} rotated rounds, mean load {statistics.mean(loads):.2f}")
    print("| page | median ms | min ms | × floor |\n|---|---|---|---|")
    for name, xs in times.items():
        print(f"| {name} | {statistics.median(xs):.0f} | {min(xs):.0f} | {statistics.median(xs) / floor:.2f} |")
    big = statistics.median(times["case page, big history"])
    small = statistics.median(times["case page, small history"])
    print(f"big / small = {big / small:.2f} (target ≤ 1.5); big / floor = {big / floor:.2f} (target ≤ 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
