"""axe-core in the browser tests: inject the npm package's axe.min.js into a page and list the serious and
critical violations. The package lives in tests/e2e/axe (`npm ci` there; .ci/run does it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_available() -> bool:
    """True when axe-core is installed; otherwise skip (or fail when HUB_REQUIRE_E2E=1, as in CI)."""
    if AXE_JS.exists():
        return True
    reason = f"axe-core is not installed ({AXE_JS}); run `npm ci` in tests/e2e/axe"
    if os.environ.get("HUB_REQUIRE_E2E", "").strip() in ("1", "true", "yes"):
        pytest.fail(f"HUB_REQUIRE_E2E=1 but {reason}")
    pytest.skip(reason)


def violations(page, impacts=BLOCKING) -> list[dict]:
    """axe-core's violations of the page as it is now, of the given impacts, as short dicts."""
    # The app's caption style (ui.common.legible_captions) arrives with each script run: check the page as
    # users read it, once that style is in place.
    page.wait_for_function("[...document.querySelectorAll('style')].some(s => s.textContent.includes("
                           "'stCaptionContainer'))", timeout=10_000)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    found = _run_axe(page, impacts)
    if found:
        # While a rerun is under way Streamlit fades the elements it is about to redraw (data-stale): axe then
        # reports their contrast (CI saw it on a download button and a caption). A violation of the page is
        # there again once it is idle; a fade is not.
        found = _run_axe(page, impacts)
    return found


_IDLE = ("!document.querySelector('[data-stale=\"true\"]') && "
         "!!document.querySelector('[data-testid=\"stApp\"][data-test-script-state=\"notRunning\"]')")


def _run_axe(page, impacts) -> list[dict]:
    """axe on the page once no script runs and nothing is faded as stale (then the fade's transition ends)."""
    page.wait_for_function(_IDLE, timeout=60_000)
    page.wait_for_timeout(400)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"][:5]], "html": [n["html"][:160] for n in v["nodes"][:3]]}
            for v in result["violations"] if v["impact"] in impacts]
