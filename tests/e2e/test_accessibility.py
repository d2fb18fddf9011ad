"""axe-core on every page, for the demo users who use it: zero serious or critical violations."""

from __future__ import annotations

import re

import pytest

from accessibility import axe_available, violations
from browser_support import login, wait_idle

pytestmark = pytest.mark.e2e

PAGES = {
    "gp.north": ["queue", "submit", "inbox", "dashboard", "about", "case?case_id=1"],
    "chair": ["queue", "meetings", "meeting_room", "inbox"],
    "physio": ["meetings"],
    "admin": ["admin", "about"],
}


def test_every_page_has_no_serious_or_critical_axe_violation(browser, server):
    axe_available()
    found = {}
    for user, pages in PAGES.items():
        context, page = login(browser, server, user)
        found[(user, "after login")] = violations(page)
        for path in pages:
            page.goto(f"{server}/{path}")
            page.get_by_role("heading").first.wait_for()
            wait_idle(page)
            page.wait_for_timeout(500)
            found[(user, path)] = violations(page)
            if path == "meetings" and user == "chair":  # and the meeting room of the first agenda case
                href = page.get_by_role("link", name="Discuss in meeting room").first.get_attribute("href")
                item = re.search(r"item=(\d+)", href).group(1)
                page.goto(f"{server}/meeting_room?item={item}")
                page.get_by_role("heading", name=re.compile(r"^Meeting room · ")).wait_for()
                wait_idle(page)
                page.wait_for_timeout(500)
                found[(user, "meeting_room (case)")] = violations(page)
        context.close()
    bad = {k: v for k, v in found.items() if v}
    for k, v in bad.items():
        print(k, [(x["id"], x["impact"], x["nodes"][:2], x["html"][:1]) for x in v])
    assert not bad, bad
