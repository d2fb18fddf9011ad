"""Follow-through in the browser: a PCP records a worse pain score and the follow-up review, and the
case reappears in the hub's queue with that reason."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from browser_support import choose, login, wait_idle

pytestmark = pytest.mark.e2e


def _returned_case_due_for_review(db_url: str) -> int:
    """Prepare (through the services) a Northgate case decided 70 days ago with its follow-up due 10 days ago."""
    from db.models import Case, Practice
    from hub.bootstrap import prepare
    from hub import cases, decisions, meetings, records
    from hub.auth import actor_for

    engine, sf = prepare(db_url)  # the server creates its database on the first request: same code path
    chair, gp = actor_for(sf, "chair"), actor_for(sf, "gp.north")
    with sf() as s:
        case_id = s.scalar(select(Case.id).join(Practice, Practice.id == Case.practice_id)
                           .where(Practice.code == "NORTH", Case.status == "submitted", Case.safety_alert.is_(False))
                           .order_by(Case.id).limit(1))
    records.add_assessment(sf, gp, case_id, "nrs", date.today() - timedelta(days=75), {"NRS_Q1": 6})
    starts = datetime.combine(date.today() - timedelta(days=70), datetime.min.time()).replace(hour=13)
    mid = meetings.create_meeting(sf, chair, title="Past MDT", starts_at=starts, propose=False)
    item = meetings.add_case(sf, chair, mid, case_id)
    header_flags = [f.code for f in cases.case_header(sf, chair, case_id).open_flags]
    form = decisions.DecisionForm(
        formulation="Persistent pain with fear avoidance", pathway_step="S4_ACTIVE_NON_PHARM",
        answer="Graded exercise and a medicines review", allergies="No known drug allergies", primary_outcome="nrs",
        follow_up_date=date.today() - timedelta(days=10),
        flag_responses={c: {"response": "change", "note": "addressed in plan"} for c in header_flags},
        recommendations=[decisions.RecommendationInput("exercise_programme", "Graded exercise", owner_role="pcp",
                                                       due_date=date.today() + timedelta(days=10))])
    version = decisions.save(sf, chair, item, form, 0)
    decisions.finalise(sf, chair, item, version)
    engine.dispose()
    return case_id


def test_worse_pain_at_review_relists_the_case(browser, server, server_db_url):
    case_id = _returned_case_due_for_review(server_db_url)
    ctx, gp = login(browser, server, "gp.north")
    gp.goto(f"{server}/case?case_id={case_id}")
    wait_idle(gp)
    gp.get_by_text("status: Returned to PCP").wait_for()

    # a worse pain score ...
    gp.get_by_role("tab", name="Assessments").click()
    gp.get_by_text("Record an assessment").click()
    wait_idle(gp)
    choose(gp, "Instrument", "Pain numeric rating scale (0-10)")
    field = gp.get_by_label(re.compile(r"^Item 1: answer code 0 to 10"))
    field.fill("8")
    field.press("Tab")
    gp.get_by_role("button", name="Save assessment").click()
    gp.get_by_text("Assessment saved.").wait_for()
    wait_idle(gp)

    # ... and the follow-up review
    gp.get_by_role("tab", name="Reviews").click()
    gp.get_by_text("Record a review").click()
    wait_idle(gp)
    gp.get_by_role("button", name="Save review").click()
    gp.get_by_text("Review saved.").wait_for()
    wait_idle(gp)
    gp.get_by_text("status: Submitted").wait_for()
    ctx.close()

    # the hub sees it back in the queue, with the reason
    cctx, chair = login(browser, server, "chair")
    flag_filter = chair.get_by_label("Flag", exact=True)
    flag_filter.click()
    flag_filter.type("Re-list")
    chair.get_by_role("option", name="Re-listed", exact=True).first.click()
    chair.keyboard.press("Escape")
    wait_idle(chair)
    chair.get_by_text("Open a case by link").click()
    chair.get_by_role("link", name=re.compile(rf"^Case {case_id} ·")).click()
    chair.get_by_role("heading", name=re.compile(rf"^Case {case_id}:")).wait_for()
    wait_idle(chair)
    chair.get_by_text(re.compile(r"Re-listed.*no important improvement")).first.wait_for()
    assert chair.get_by_text(re.compile(r"NRS 6\.0 at the hub decision → 8\.0")).count() >= 1
    cctx.close()
