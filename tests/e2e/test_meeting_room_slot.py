"""A typical hub outcome recorded in the meeting room within a 10-minute slot, counted in interactions.

The chair opens the first case of today's meeting and records: pathway step, formulation, the answer to the
referrer, a response to every open flag, 3 recommendations with owners (templates), the shared decision
(what matters, the agreed plan, discussed with the patient), one SMART goal with its five GAS levels, the
follow-up review, allergies, and finalises. Every click, fill, option chosen and key pressed counts 1; the
test prints the count and holds it to at most 30. It then checks what was stored, and that a hub member in
another browser follows the chair to the case and sees the saved discussion without reloading.

Screenshots of the room before and after finalising are written to /tmp (paths printed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from browser_support import login, streamlit_server, wait_idle

pytestmark = pytest.mark.e2e

MAX_INTERACTIONS = 30
TEMPLATES = ("Exercise programme", "Psychological therapy", "Social prescribing")


@dataclass(frozen=True)
class Hub:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def hub(tmp_path_factory, playwright_api):
    """The app on a fresh SQLite demo database of this module's own."""
    tmp = tmp_path_factory.mktemp("e2e_slot")
    database_url = f"sqlite:///{tmp / 'hub.db'}"
    with streamlit_server(database_url, tmp, secret="e2e-" + "r" * 44) as url:
        yield Hub(url, database_url)


@pytest.fixture(scope="module")
def db(hub):
    from db.engine import make_engine, make_session_factory

    engine = make_engine(hub.database_url)
    yield make_session_factory(engine)
    engine.dispose()


class Counted:
    """The user's hands: every click, fill, option and key press is one interaction."""

    def __init__(self, page):
        self.page = page
        self.count = 0
        self.log: list[str] = []

    def _note(self, what: str) -> None:
        self.count += 1
        self.log.append(what)

    def click(self, locator, what: str) -> None:
        locator.click()
        self._note(f"click {what}")
        wait_idle(self.page)

    def fill(self, locator, text: str, what: str, commit: bool = True) -> None:
        """Type into a field. Outside a form Streamlit takes the text when the field loses focus, which the
        user's next click does anyway; blur() stands in for that (not counted)."""
        locator.fill(text)
        self._note(f"fill {what}")
        if commit:
            locator.blur()
            wait_idle(self.page)

    def choose(self, label: str, option: str) -> None:
        """A selectbox: open it (1), pick the option (1)."""
        self.click(self.page.get_by_label(label, exact=True), f"open {label}")
        self.click(self.page.get_by_role("option", name=option, exact=True).first, f"option {option}")


def _full_screenshot(page, path: str) -> None:
    """The whole page (Streamlit scrolls inside its own container, so grow the viewport to its height)."""
    height = page.evaluate("Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": min(int(height), 7000)})
    page.wait_for_timeout(600)
    page.screenshot(path=path)
    page.set_viewport_size(size)
    print(f"screenshot: {path}")


def test_typical_outcome_in_at_most_30_interactions_and_attendees_follow(hub, db, browser):
    from db.models import Decision, Letter
    from hub import meetings
    from hub.auth import actor_for

    chair_ctx, page = login(browser, hub.url, "chair")  # the first page load seeds the demo database
    chair_actor = actor_for(db, "chair")
    starts = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)
    mid = meetings.create_meeting(db, chair_actor, title="E2E slot MDT", starts_at=starts)
    agenda = meetings.meeting_view(db, chair_actor, mid).agenda
    first = agenda[0]

    # a hub member is in the room first, on the agenda's last case; the chair's choice will move them
    physio_ctx, physio = login(browser, hub.url, "physio")
    physio.goto(f"{hub.url}/meeting_room?item={agenda[-1].item_id}")
    physio.get_by_role("heading", name=re.compile(r"^Meeting room · ")).wait_for()
    wait_idle(physio)

    page.goto(f"{hub.url}/meetings?meeting={mid}")
    page.get_by_role("heading", name="Hub meetings").wait_for()
    wait_idle(page)
    hands = Counted(page)
    hands.click(page.locator(f"a[href$='item={first.item_id}']").first, "Discuss in meeting room")
    page.get_by_role("heading", name=re.compile(rf"^Meeting room · Case {first.case_id} ")).wait_for()
    wait_idle(page)
    _full_screenshot(page, "/tmp/mdt-room-slot-before.png")

    hands.choose("Pathway step", "S6 Combined physical and psychological programme")
    hands.fill(page.get_by_label("Formulation / working diagnosis", exact=True),
               "E2E slot: chronic pain with deconditioning and low confidence in activity.", "formulation")
    hands.fill(page.get_by_label("Answer to the referrer's question", exact=True),
               "E2E slot: a simpler plan built around graded activity, with psychology support.", "answer")
    flag_groups = [g for g in page.get_by_test_id("stRadio").all()  # the responses to the case's flags
                   if "Change management" in g.inner_text()]
    for group in flag_groups:
        hands.click(group.get_by_text("Change management", exact=True), "flag response")
    for label in TEMPLATES:
        hands.click(page.get_by_role("button", name=re.compile(rf"\+ {label}$")), f"template {label}")
    hands.fill(page.get_by_label("What matters to the patient", exact=True),
               "Walking the dog and getting back to work part-time.", "what matters")
    hands.fill(page.get_by_label("Plan agreed with the patient", exact=True),
               "Graded exercise with the physiotherapist, then psychology; review in 3 months.", "agreed plan")
    hands.click(page.get_by_test_id("stRadio").filter(has_text="Discussed with the patient")
                .get_by_text("Yes", exact=True), "discussed: yes")
    hands.click(page.get_by_test_id("stRadio").filter(has_text="The patient's view of the plan")
                .get_by_text("Agrees with the plan", exact=True), "patient's view: agrees")
    goal = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=re.compile("Add goal")))
    hands.fill(goal.get_by_label("Activity (what the patient will do)"), "Walk the dog", "goal activity", False)
    hands.fill(goal.get_by_label("How much (number and unit)"), "20 minutes, 5 days a week", "goal amount", False)
    levels = {"0 expected": "20 minutes 5 days a week", "−1": "10 minutes 5 days a week",
              "−2": "No regular walks", "+1": "30 minutes 5 days a week", "+2": "45 minutes daily"}
    for level, text in levels.items():
        hands.fill(goal.get_by_label(re.compile(rf"^GAS {re.escape(level)}")), text, f"GAS {level}", False)
    hands.click(goal.get_by_role("button", name=re.compile("Add goal")), "Add goal")
    page.get_by_text(re.compile(r"^Goal 1: Walk the dog")).first.wait_for()
    hands.click(page.get_by_test_id("stButtonGroup").get_by_text("3 months", exact=True), "follow-up in 3 months")
    hands.fill(page.get_by_label("Allergies and adverse reactions (mandatory for the letter)", exact=True),
               "No known drug allergies", "allergies")
    summary = page.get_by_text("Finalising sends:").locator("xpath=ancestor::*[@data-testid='stMarkdownContainer']")
    assert "Outcome letter to" in summary.inner_text() and "Action 3 for" in summary.inner_text()
    hands.click(page.get_by_role("button", name=re.compile("Finalise decision and send letter")), "Finalise")
    page.get_by_text("Decision final: actions created, letter sent to the GP, case returned.").wait_for()
    wait_idle(page)
    _full_screenshot(page, "/tmp/mdt-room-slot-after.png")

    print(f"meeting-room interactions: {hands.count} ({len(flag_groups)} open flag(s)): " + "; ".join(hands.log))
    assert hands.count <= MAX_INTERACTIONS, hands.log

    with db() as s:
        d = s.scalar(select(Decision).where(Decision.agenda_item_id == first.item_id))
        assert d.status == "final" and d.pathway_step == "S6_COMBINED_PROGRAMME"
        assert [(r.kind, r.owner_role) for r in d.recommendations] == [
            ("exercise_programme", "physiotherapy"), ("psychological_therapy", "psychology"),
            ("social_prescribing", "social_prescribing")]
        assert d.discussed_with_patient in (True, "yes")
        assert len(d.goals) == 1 and d.goals[0].target_activity == "Walk the dog"
        assert d.goals[0].levels == {"0": levels["0 expected"], "-1": levels["−1"], "-2": levels["−2"],
                                     "1": levels["+1"], "2": levels["+2"]}
        assert d.follow_up_date == starts.date() + timedelta(days=91)
        assert s.scalar(select(Letter).where(Letter.decision_id == d.id)) is not None

    # the physiotherapist's room moved to the chair's case and shows the saved discussion, with no reload
    physio.get_by_role("heading", name=re.compile(rf"^Meeting room · Case {first.case_id} ")).wait_for(
        timeout=30_000)
    physio.get_by_text(re.compile(r"^Saved discussion, as Dr Katherine Ward saved it")).wait_for(timeout=30_000)
    physio.get_by_text("Formulation: E2E slot: chronic pain", exact=False).wait_for()
    chair_ctx.close()
    physio_ctx.close()
