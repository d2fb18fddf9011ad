"""The first frames before the login gate show no navigation: no page list (admin pages included) ever appears
in the DOM of an anonymous visit, not even for a moment."""

from __future__ import annotations

import pytest

from browser_support import new_context, wait_idle

pytestmark = pytest.mark.e2e

# Installed before any of the app's scripts: records every navigation element or page link that is ever
# attached to the document (a MutationObserver sees nodes that are removed again a frame later).
NAV_WATCH = """
window.__hubNavSeen = [];
const NAV = '[data-testid="stSidebarNav"], [data-testid="stSidebarNavItems"], [data-testid="stSidebarNavLink"], '
          + '[data-testid="stPageLink-NavLink"], [data-testid="stTopNavLink"], a[href$="/admin"], a[href$="admin"]';
function hubCheck(node) {
  if (!(node instanceof Element)) return;
  const hits = node.matches(NAV) ? [node] : Array.from(node.querySelectorAll(NAV));
  for (const el of hits) window.__hubNavSeen.push((el.getAttribute('data-testid') || el.tagName) + ': '
                                                  + (el.textContent || '').trim().slice(0, 80));
}
new MutationObserver(changes => {
  for (const c of changes) for (const n of c.addedNodes) hubCheck(n);
}).observe(document, {subtree: true, childList: true});
"""


@pytest.mark.parametrize("path", ["", "admin", "case?case_id=1"])
def test_no_page_list_ever_appears_before_login(browser, server, path):
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    context.add_init_script(NAV_WATCH)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server}/{path}")
    page.get_by_label("Username").wait_for()
    wait_idle(page)
    page.wait_for_timeout(1500)  # any late rerun (the cookie component's) too
    seen = page.evaluate("window.__hubNavSeen")
    if path == "":
        page.screenshot(path="/tmp/ux/first_frame_login.png")
    context.close()
    assert seen == [], seen


def test_after_login_the_menu_lists_the_users_pages_only(browser, server):
    from browser_support import login

    context, page = login(browser, server, "gp.north")
    sidebar = page.get_by_test_id("stSidebar")
    links = [t.strip().split("\n")[-1] for t in sidebar.get_by_role("link").all_inner_texts()]
    page.screenshot(path="/tmp/ux/menu_gp.png")
    assert links[:6] == ["Case queue", "Submit a case", "Case", "Inbox", "Outcome dashboard", "About"], links
    assert "Users and settings" not in links
    page.get_by_role("link", name="Outcome dashboard").click()
    page.get_by_role("heading", name="Outcome dashboard").first.wait_for()
    # every page keeps its own address: a reload of the user's first page is not "Page not found"
    page.goto(f"{server}/queue")
    page.get_by_role("heading", name="Case queue").first.wait_for()
    wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    context.close()
    context, page = login(browser, server, "admin")
    links = [t.strip().split("\n")[-1] for t in page.get_by_test_id("stSidebar").get_by_role("link").all_inner_texts()]
    page.goto(f"{server}/admin")
    page.get_by_role("heading", name="Users and settings").first.wait_for()
    wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    page.goto(server)  # the root address opens the user's first page
    page.get_by_role("heading", name="Users and settings").first.wait_for()
    context.close()
    assert links[:2] == ["Users and settings", "About"], links
