"""The patient's questionnaire link in a phone-sized browser (390 x 844): no login and no navigation, one
question a page with progress, the connection dropped half way and the link reopened to resume, the end page;
the same neutral page for a wrong, used, expired and revoked link; the PHQ-9 item-9 path end to end (crisis
routes shown at once, the alert on the case for the practice); axe-core on every kind of patient page (no
serious or critical violations). Timings are printed (pytest -s) and written next to the server log."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from playwright.sync_api import expect

from browser_support import login, wait_idle

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
TIMINGS: dict[str, float] = {}


def _prepare(db_url: str, items: list[str], *, practice: str = "NORTH", skip: int = 0, expired: bool = False,
             revoked: bool = False) -> tuple[str, int]:
    """A fresh invitation (through the services) for a case of the practice with no open safety alert."""
    from db.models import Case, Practice, utcnow
    from hub import invitations
    from hub.auth import actor_for
    from hub.bootstrap import prepare

    engine, sf = prepare(db_url)
    gp = actor_for(sf, "gp.north")
    with sf() as s:
        case_id = s.scalars(select(Case.id).join(Practice, Practice.id == Case.practice_id)
                            .where(Practice.code == practice, Case.status == "submitted",
                                   Case.safety_alert.is_(False)).order_by(Case.id.desc())).all()[skip]
    now = utcnow() - timedelta(days=30) if expired else None
    link = invitations.create(sf, gp, case_id, items, now=now)
    if revoked:
        invitations.revoke(sf, gp, link.invitation_id)
    engine.dispose()
    return link.token, case_id


def _axe(page, name: str) -> None:
    """No serious or critical axe-core violations on this page."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing: run `npm install --prefix tests/e2e/axe` ({AXE})")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    TIMINGS.setdefault("axe_pages", 0)
    TIMINGS["axe_pages"] += 1
    print(f"axe {name}: {len(result)} violation(s), serious/critical: {bad or 'none'}; others: "
          f"{[(v['id'], v['impact']) for v in result if v not in bad]}")
    assert not bad, f"axe on {name}: {bad}"


def _phone(browser):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    return ctx, page


def _open(page, server: str, token: str) -> None:
    page.goto(f"{server}/?invite={token}")
    wait_idle(page)


def _choose(page, option: str, keyboard: bool = False) -> None:
    radio = page.get_by_role("radio", name=option, exact=True)
    if keyboard:
        radio.focus()
        page.keyboard.press("Space")
    else:
        page.get_by_text(option, exact=True).first.click()
    expect(radio).to_be_checked()
    wait_idle(page)


def _next(page, keyboard: bool = False, expect_progress: bool = True) -> None:
    """Press Next and wait until the next question (or the end of the questions) is on the screen: a rerun may
    start later than wait_idle's first look, so wait for what the click must change."""
    before = _progress(page) if expect_progress else None
    button = page.get_by_role("button", name="Next")
    if keyboard:
        button.focus()
        page.keyboard.press("Enter")
    else:
        button.click()
    wait_idle(page)
    if before is not None:
        page.wait_for_function(
            "before => { const t = [...document.querySelectorAll('[data-testid=stMarkdownContainer] strong')]"
            ".map(e => e.innerText).find(x => /^Question \\d+ of \\d+$/.test(x)); return t !== before; }",
            arg=before)
        wait_idle(page)


def _progress(page) -> str:
    return page.get_by_text(re.compile(r"^Question \d+ of \d+$")).first.inner_text()


def _no_staff_chrome(page) -> None:
    assert page.locator("[role='dialog']").count() == 0
    assert page.locator("[data-testid='stSidebar']").count() == 0
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    assert page.get_by_label("Username").count() == 0


def test_patient_completes_the_set_on_a_phone_and_resumes_after_a_dropped_connection(browser, server,
                                                                                      server_db_url):
    token, case_id = _prepare(server_db_url, ["nrs", "phq9", "gad7", "what_matters", "goals"])
    started = time.perf_counter()
    ctx, page = _phone(browser)
    t = time.perf_counter()
    _open(page, server, token)
    TIMINGS["first_load_s"] = time.perf_counter() - t
    page.get_by_role("heading", name="Your questions from Northgate Medical Centre").wait_for()
    assert page.get_by_text("Hello ").first.inner_text().startswith("Hello ")
    _no_staff_chrome(page)
    _axe(page, "welcome")
    # Keyboard only: start, answer, next.
    start = page.get_by_role("button", name="Start")
    start.focus()
    page.keyboard.press("Enter")
    wait_idle(page)
    assert _progress(page) == "Question 1 of 19"
    _axe(page, "pain score question")
    _choose(page, "6", keyboard=True)
    _next(page, keyboard=True)
    assert _progress(page) == "Question 2 of 19"
    _axe(page, "PHQ-9 question")
    for i, option in enumerate(["Several days", "Not at all", "Several days", "More than half the days"]):
        t = time.perf_counter()
        _choose(page, option)
        _next(page)
        TIMINGS.setdefault("per_question_s", []).append(time.perf_counter() - t)
    assert _progress(page) == "Question 6 of 19"
    # Next without an answer: told what to do, not moved on.
    _next(page, expect_progress=False)
    page.get_by_text("Please choose one answer to go on.").wait_for()
    assert _progress(page) == "Question 6 of 19"
    _choose(page, "Not at all")
    # The connection drops half way (the phone closes the tab); the link is opened again later.
    ctx.close()
    ctx, page = _phone(browser)
    t = time.perf_counter()
    _open(page, server, token)
    TIMINGS["resume_load_s"] = time.perf_counter() - t
    page.get_by_text("Your answers so far are saved.").wait_for()
    assert _progress(page) == "Question 6 of 19"
    expect(page.get_by_role("radio", name="Not at all", exact=True)).to_be_checked()  # answered before the drop
    _next(page)
    # Back keeps answers.
    page.get_by_role("button", name="Back").click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"^Question 6 of 19$"))).to_be_visible()
    expect(page.get_by_role("radio", name="Not at all", exact=True)).to_be_checked()
    _next(page)
    for _ in range(7, 18):
        _choose(page, "Not at all")
        _next(page)
    assert _progress(page) == "Question 18 of 19"
    _axe(page, "free-text question")
    page.get_by_label("What matters most to you in your life right now?").fill("Playing with my grandchildren")
    _next(page)
    page.get_by_label("What would you like to be able to do again?", exact=False).fill("Walk to the shops")
    _next(page)
    page.get_by_role("heading", name="Ready to send").wait_for()
    _axe(page, "check page")
    page.get_by_role("button", name="Send my answers").click()
    wait_idle(page)
    page.get_by_role("heading", name="Thank you").wait_for()
    assert "Score" not in page.content() and "band" not in page.inner_text("body").lower()
    _axe(page, "end page")
    TIMINGS["journey_s"] = time.perf_counter() - started
    ctx.close()

    from db.models import Assessment, Case, Invitation
    from hub.bootstrap import prepare

    engine, sf = prepare(server_db_url)
    with sf() as s:
        inv = s.scalar(select(Invitation).where(Invitation.case_id == case_id).order_by(Invitation.id.desc()))
        assert inv.status == "completed" and inv.answers["what_matters"] == "Playing with my grandchildren"
        rows = s.scalars(select(Assessment).where(Assessment.id.in_(inv.assessment_ids))).all()
        assert sorted(a.instrument for a in rows) == ["gad7", "nrs", "phq9"]
        assert all(a.mode == "patient-completed" for a in rows)
        assert {a.instrument: a.total for a in rows} == {"nrs": 6.0, "phq9": 4.0, "gad7": 0.0}
        assert s.get(Case, case_id).latest_pain == 6.0
    engine.dispose()

    # The used link, a wrong one, an expired and a revoked one: one identical neutral page.
    expired, _ = _prepare(server_db_url, ["nrs"], skip=1, expired=True)
    revoked, _ = _prepare(server_db_url, ["nrs"], skip=2, revoked=True)
    texts = []
    ctx, page = _phone(browser)
    for name, tok in (("used", token), ("wrong", "x" * 43), ("expired", expired), ("revoked", revoked)):
        _open(page, server, tok)
        page.get_by_role("heading", name="This link cannot be used").wait_for()
        _no_staff_chrome(page)
        texts.append(page.inner_text("[data-testid='stMain']"))
    _axe(page, "neutral page")
    ctx.close()
    assert len(set(texts)) == 1, texts
    TIMINGS["per_question_mean_s"] = sum(TIMINGS["per_question_s"]) / len(TIMINGS["per_question_s"])
    print("timings:", json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in TIMINGS.items()
                                  if k != "per_question_s"}))


def test_item_9_shows_crisis_routes_at_once_and_alerts_the_practice(browser, server, server_db_url):
    token, case_id = _prepare(server_db_url, ["phq9"], skip=3)
    started = time.perf_counter()
    ctx, page = _phone(browser)
    _open(page, server, token)
    page.get_by_role("button", name="Start").click()
    wait_idle(page)
    for _ in range(8):
        _choose(page, "Several days")
        _next(page)
    assert _progress(page) == "Question 9 of 9"
    _choose(page, "Several days")
    # At once, on the same page: the crisis routes.
    page.get_by_role("heading", name="Please get help now if you need it").wait_for()
    body = page.inner_text("body")
    assert "999" in body and "NHS 111" in body and "option 2" in body and "116 123" in body
    _axe(page, "crisis routes")
    TIMINGS["item9_to_crisis_s"] = time.perf_counter() - started

    from db.models import Case
    from hub import flags
    from hub.bootstrap import prepare

    engine, sf = prepare(server_db_url)
    with sf() as s:  # raised before the set is sent
        case = s.get(Case, case_id)
        assert case.safety_alert
        reason = next(f.reason for f in flags.for_case(s, case_id) if f.code == "safety_phq9")
        assert "patient completed themselves" in reason
    engine.dispose()
    _next(page)
    page.get_by_role("button", name="Send my answers").click()
    wait_idle(page)
    page.get_by_role("heading", name="Thank you").wait_for()
    assert "116 123" in page.inner_text("body")  # still shown on the end page
    ctx.close()

    # The practice sees it on the case, naming the patient-completed form.
    gctx, gp = login(browser, server, "gp.north")
    gp.goto(f"{server}/case?case_id={case_id}")
    wait_idle(gp)
    gp.get_by_text("Reported by the patient on the questionnaire link").wait_for()
    gp.get_by_text("on a form the patient completed themselves").first.wait_for()
    gctx.close()
    print("timings:", json.dumps({"item9_to_crisis_s": round(TIMINGS["item9_to_crisis_s"], 2)}))
