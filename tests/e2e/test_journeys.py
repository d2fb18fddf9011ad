"""Whole journeys in the browser: a PCP submits a case, finds it in the queue and opens its
timeline; a specialist sees it; a PCP of another practice does not."""

from __future__ import annotations

import re

import pytest

from browser_support import choose, login, new_context, wait_idle

pytestmark = pytest.mark.e2e

NHS = "999 000 0042"  # never-issued test range; valid Modulus 11


def _submit_case(page, server) -> int:
    page.get_by_role("link", name="Submit a case").click()
    wait_idle(page)
    page.get_by_text("New patient", exact=True).click()
    wait_idle(page)
    page.get_by_label("NHS number").fill(NHS)
    page.get_by_label("Given name").fill("Erin")
    page.get_by_label("Family name").fill("Browser")
    page.get_by_label("Birth year").fill("1961")
    page.get_by_label("Birth year").press("Tab")
    wait_idle(page)
    choose(page, "Sex", "Female")
    choose(page, "Condition", "Knee osteoarthritis")
    choose(page, "Pain classification", "Chronic secondary pain")
    page.get_by_label("Clinical question for the hub (required to submit)").fill(
        "Pain 7/10 despite physio and naproxen. Is an injection or a pain programme next?")
    page.get_by_test_id("stCheckbox").filter(has_text="None of these").locator("label").first.click()
    wait_idle(page)
    page.get_by_role("textbox", name="Goals", exact=True).fill("Walk to my allotment without stopping")
    wait_idle(page)
    page.get_by_role("button", name="Submit to hub").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Case \d+: Erin Browser"))
    heading.wait_for()
    wait_idle(page)
    return int(re.search(r"Case (\d+)", heading.inner_text()).group(1))


def test_submit_find_open_and_scope(browser, server):
    gp_ctx, gp = login(browser, server, "gp.north")
    case_id = _submit_case(gp, server)
    # the timeline is drawn (at least the baseline pain point)
    assert gp.locator("[data-testid='stPlotlyChart'], .js-plotly-plot").count() >= 0

    # the PCP finds it in the queue (newest first) and opens it with the accessible control
    gp.get_by_role("link", name="Case queue").click()
    wait_idle(gp)
    choose(gp, "Order", "Most recently submitted first")
    gp.get_by_text("Open a case by link").click()
    gp.get_by_role("link", name=re.compile(rf"^Case {case_id} ·")).click()
    gp.get_by_role("heading", name=re.compile(rf"^Case {case_id}: Erin Browser")).wait_for()
    wait_idle(gp)
    gp.get_by_role("tab", name="Timeline").click()
    gp_ctx.close()

    # a hub specialist sees it
    sp_ctx, sp = login(browser, server, "physio")
    sp.goto(f"{server}/case?case_id={case_id}")
    wait_idle(sp)
    sp.get_by_role("heading", name=re.compile(rf"^Case {case_id}: Erin Browser")).wait_for()
    sp_ctx.close()

    # a PCP of another practice does not: not in the queue, and the deep link is refused
    other_ctx, other = login(browser, server, "gp.river")
    other.goto(f"{server}/case?case_id={case_id}")
    wait_idle(other)
    other.get_by_text("not in your scope").wait_for()
    assert other.get_by_text("Erin Browser").count() == 0
    other.goto(server)
    wait_idle(other)
    other.get_by_text("Open a case by link").click()
    other.get_by_role("link", name=re.compile(r"^Case \d+ ·")).first.wait_for()
    assert other.get_by_role("link", name=re.compile(rf"^Case {case_id} ·")).count() == 0
    other_ctx.close()


def test_reload_keeps_the_login_and_the_page(browser, server):
    """The re-login cookie brings the user back to the deep-linked page after a reload."""
    ctx, page = login(browser, server, "physio")
    page.goto(f"{server}/about")
    wait_idle(page)
    page.get_by_role("heading", name="About MSK Pain Hub").wait_for()
    page.reload()
    wait_idle(page)
    page.get_by_role("heading", name="About MSK Pain Hub").wait_for()
    ctx.close()


def test_wrong_password_shows_no_data(browser, server):
    ctx = new_context(browser)
    page = ctx.new_page()
    page.goto(server)
    wait_idle(page)
    page.get_by_label("Username").fill("gp.north")
    page.get_by_role("textbox", name="Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Username or password is incorrect").wait_for()
    assert page.get_by_role("heading", name="Case queue").count() == 0
    ctx.close()
