"""The re-login cookie in the browser: a cold load with a valid cookie draws the page without waiting for a
browser component round trip (the server reads the cookie from the websocket handshake), and after
"Log out" a reload shows the login form (the cookie no longer logs anyone in)."""

from __future__ import annotations

import pytest

from browser_support import login, wait_idle

pytestmark = pytest.mark.e2e


def _settled_runs(page) -> int:
    wait_idle(page)
    page.get_by_text("Logged in as").wait_for()
    page.wait_for_timeout(2500)  # a late rerun (a component's value arriving) would be counted too
    return page.evaluate("window.__hubRuns")


def test_cold_load_with_the_cookie_takes_at_most_two_runs(browser, server):
    ctx, _ = login(browser, server, "chair")
    for path in ("/about", "/"):
        page = ctx.new_page()
        page.goto(server + path)
        runs = _settled_runs(page)
        # One run draws the page; the authenticator's cookie component then reports once (a second run).
        # Before the cookie was read on the first run, a third run came from the gate's own rerun.
        assert runs <= 2, runs
        page.close()
    ctx.close()


def test_logout_then_reload_shows_the_login_form(browser, server):
    ctx, page = login(browser, server, "physio")
    page.get_by_role("button", name="Log out").click()
    wait_idle(page)
    page.get_by_label("Username").wait_for()
    page.wait_for_timeout(1500)  # the cookie component deletes the cookie in the browser
    page.reload()
    wait_idle(page)
    page.get_by_label("Username").wait_for()
    assert page.get_by_text("Logged in as").count() == 0
    fresh = ctx.new_page()  # a new tab of the same browser: no login from a cookie either
    fresh.goto(server)
    wait_idle(fresh)
    fresh.get_by_label("Username").wait_for()
    assert fresh.get_by_text("Logged in as").count() == 0
    ctx.close()
