"""In the browser, nothing leaves the app: the login page, a case page and the meeting room make no request
to another host (the page icon and fonts are served locally), and user text carrying Markdown/HTML
payloads (images, links, bare URLs, script) neither fetches from nor links to an outside address."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from browser_support import wait_idle
from browser_support import login as browser_login
from db.engine import make_engine, make_session_factory
from db.models import Patient
from hub import cases, decisions, meetings, records
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.records import ReviewInput, TreatmentInput
from hub.vocab import RED_FLAGS

pytestmark = pytest.mark.e2e

LOCAL = {"127.0.0.1", "localhost", ""}
LONG = ("Evil ![t](http://evil.invalid/x.png) [x](http://evil.invalid/l) <img src=http://evil.invalid/y> "
        "http://evil.invalid/z www.evil.invalid/w a@evil.invalid <script>window.pwned=1</script>")
SHORT = "Evil ![t](http://evil.invalid/n.png) <img src=http://evil.invalid/m>"


def _payload_case(url: str) -> tuple[int, int]:
    """A case of gp.north and an agenda item with a saved decision, every free text a payload."""
    engine = make_engine(url)
    sf = make_session_factory(engine)
    try:
        gp, chair = actor_for(sf, "gp.north"), actor_for(sf, "chair")
        with sf() as s:  # an NHS number not used by the demo (valid Modulus 11, never-issued range)
            taken = set(s.scalars(select(Patient.nhs_number)))
        nhs = next(n for n in ("9990000026", "9990000034", "9990000042", "9990000050", "9990000069")
                   if n not in taken)
        cid = cases.save_case(sf, gp, CaseInput(
            new_patient=NewPatient(nhs_number=nhs, given_name=SHORT, family_name="Payload", birth_year=1960,
                                   sex="female"),
            condition="knee_oa", pain_classification="secondary", clinical_question=LONG,
            red_flags={k: False for k in RED_FLAGS}, baseline_pain=7, goals_text=LONG, concerns_text=LONG,
            treatments=[TreatmentInput(category="exercise", name=SHORT, notes=LONG,
                                       start_date=date.today() - timedelta(days=20))]), submit=True).case_id
        cases.add_comment(sf, gp, cid, LONG)
        records.add_review(sf, gp, cid, ReviewInput(review_date=date.today(), notes=LONG))
        starts = datetime.combine(date.today() + timedelta(days=3), datetime.min.time()).replace(hour=9)
        mid = meetings.create_meeting(sf, chair, title=SHORT, starts_at=starts, propose=False)
        item = meetings.add_case(sf, chair, mid, cid)
        day = starts.date()
        form = DecisionForm(
            formulation=LONG, pathway_step="S4_ACTIVE_NON_PHARM", answer=LONG, allergies=LONG, what_matters=LONG,
            safety_netting=LONG, primary_outcome="nrs", follow_up_date=day + timedelta(days=56),
            recommendations=[RecommendationInput("exercise_programme", LONG, owner_role="pcp",
                                                 due_date=day + timedelta(days=14))],
            goals=[GoalInput(SHORT + " walk", SHORT, "20 minutes", day + timedelta(days=84), 3, 2,
                             {k: SHORT for k in (-2, -1, 0, 1, 2)}, recommendation=1)])
        decisions.save(sf, chair, item, form, 0)
        return cid, item
    finally:
        engine.dispose()


def _outside(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and (parsed.hostname or "") not in LOCAL


def _outside_links_and_images(page) -> list[str]:
    found = page.evaluate("""() => [
        ...[...document.querySelectorAll('a[href]')].map(a => 'a ' + a.href + ' in ' +
            (a.closest('[data-testid]') || a.parentElement).getAttribute('data-testid') + ' ' +
            (a.closest('[data-testid]') || a.parentElement).outerHTML.slice(0, 300)),
        ...[...document.querySelectorAll('img[src], image[href], iframe[src], script[src]')]
            .map(e => e.tagName + ' ' + (e.src || e.getAttribute('href'))),
    ]""")
    return [f for f in found if _outside(f.split(" ")[1])]


def test_no_request_or_link_leaves_the_app(browser, server, server_db_url):
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server)
    wait_idle(page)
    page.wait_for_timeout(1500)  # favicon and fonts load after the first paint
    login_requests = [u for u in requests if _outside(u)]
    assert login_requests == [], login_requests
    favicon = page.evaluate("() => [...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    assert favicon and not any(_outside(h) for h in favicon), favicon
    context.close()

    case_id, item_id = _payload_case(server_db_url)
    for user, path in (("gp.north", f"/case?case_id={case_id}"), ("chair", f"/meeting_room?item={item_id}")):
        context, page = browser_login(browser, server, user)
        seen: list[str] = []
        context.on("request", lambda r: seen.append(r.url))
        page.goto(server + path)
        wait_idle(page)
        for expander in page.locator("[data-testid='stExpander'] summary").all():
            if expander.is_visible():  # (those in other tabs are in the page, hidden)
                expander.click()
        wait_idle(page)
        page.wait_for_timeout(1500)
        assert page.get_by_text("evil.invalid", exact=False).first.is_visible() or \
            page.locator("text=evil").count() > 0, f"{user}: the payload text is not on the page"
        assert [u for u in seen if _outside(u)] == [], (user, [u for u in seen if _outside(u)])
        assert _outside_links_and_images(page) == [], user
        assert page.evaluate("() => window.pwned") is None
        context.close()
