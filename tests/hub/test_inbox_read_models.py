"""The typed read models of the inbox, letters and actions (issue 8), on SQLite and PostgreSQL: the values
each row carries (patient name, case label, owner, opened / acknowledged state) and the grouping of my
actions by due date against today."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.models import Action, AuditEvent
from hub import correspondence, decisions, inbox, meetings
from hub.correspondence import LetterView
from hub.errors import NotFound
from hub.inbox import ActionView, InboxAction, InboxLetter, InboxView
from hub.letter_text import Section
from tests.hub.test_meetings import STARTS, full_form, submit

DAY = STARTS.date()


def decided_case(world) -> tuple[int, int]:
    """A case of practice A discussed today and finalised: (case id, letter id). Its actions: the PCP's
    'Explain OA and exercise safety' due in 7 days, physiotherapy's knee strengthening due in 14."""
    cid = submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    v = decisions.save(world.sf, world.chair, item, full_form(DAY), 0)
    return cid, decisions.finalise(world.sf, world.chair, item, v)


def test_inbox_letter_row_names_the_patient_and_its_state(world):
    cid, letter_id = decided_case(world)
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY)
    assert isinstance(box, InboxView)
    (row,) = box.letters
    assert isinstance(row, InboxLetter)
    assert (row.letter_id, row.case_id, row.patient_name) == (letter_id, cid, "P0 Test")
    assert row.case_label == f"Case {cid} · P0 Test"
    assert row.status == "sent" and not row.opened and not row.acknowledged and row.acknowledged_at is None
    assert row.sent_at is not None
    assert box.letters_to_read == (row,)

    inbox.open_letter(world.sf, world.pcp_a, letter_id)
    (row,) = inbox.inbox(world.sf, world.pcp_a, today=DAY).letters
    assert row.opened and not row.acknowledged
    inbox.acknowledge_letter(world.sf, world.pcp_a, letter_id)
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY)
    (row,) = box.letters
    assert row.acknowledged and row.status == "acknowledged" and row.acknowledged_at is not None
    assert box.letters_to_read == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = "sent"  # type: ignore[misc]


def test_inbox_action_rows_carry_the_case_patient_and_due_date(world):
    cid, _ = decided_case(world)
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY)
    (row,) = box.this_week
    assert isinstance(row, InboxAction)
    assert (row.case_id, row.patient_name, row.description) == (cid, "P0 Test", "Explain OA and exercise safety")
    assert row.case_label == f"Case {cid} · P0 Test"
    assert row.due_date == DAY + timedelta(days=7) and row.status == "open" and not row.overdue
    assert row.completed_at is None and row.note == ""
    assert box.open == (row,) and box.overdue == box.later == box.done == ()
    # the physiotherapy action is in the physiotherapist's inbox, not the GP's
    physio = inbox.inbox(world.sf, world.specialist, today=DAY)
    assert [a.description for a in physio.open] == ["Supervised knee strengthening, 6 weeks"]

    inbox.complete_action(world.sf, world.pcp_a, row.action_id, "Leaflet given")
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY)
    (done,) = box.done
    assert done.action_id == row.action_id and done.status == "done" and not done.overdue
    assert done.note == "Leaflet given" and done.completed_at is not None
    assert box.open == box.overdue == ()


def test_inbox_groups_my_open_actions_by_due_date_against_today(world):
    """Overdue: due before today. Due this week: today up to 7 days on. Later: after that. Each in due order."""
    cid, _ = decided_case(world)
    with world.sf.begin() as s:
        decision_id = s.scalar(select(Action.decision_id).where(Action.case_id == cid).limit(1))
        for name, days in (("in 8 days", 8), ("3 days ago", -3), ("today", 0), ("yesterday", -1)):
            s.add(Action(case_id=cid, decision_id=decision_id, description=name, owner_user_id=world.pcp_a.user_id,
                         due_date=DAY + timedelta(days=days)))
    # (the decision's own PCP action is due in 7 days)
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY)
    assert [a.description for a in box.overdue] == ["3 days ago", "yesterday"]
    assert all(a.overdue for a in box.overdue)
    assert [a.description for a in box.this_week] == ["today", "Explain OA and exercise safety"]
    assert [a.description for a in box.later] == ["in 8 days"]
    assert not any(a.overdue for a in box.this_week + box.later)
    assert box.open == box.this_week + box.later

    # A week on, the 7-day action is due today (this week), and the "today" action is overdue.
    box = inbox.inbox(world.sf, world.pcp_a, today=DAY + timedelta(days=7))
    assert [a.description for a in box.overdue] == ["3 days ago", "yesterday", "today"]
    assert [a.description for a in box.this_week] == ["Explain OA and exercise safety", "in 8 days"]
    assert box.later == ()
    assert inbox.counts(world.sf, world.pcp_a, today=DAY + timedelta(days=7)) == (1, 3)


def test_letter_view_carries_both_versions_and_opened_and_acknowledged_state(world):
    cid, letter_id = decided_case(world)
    view = correspondence.letter_for(world.sf, world.pcp_a, letter_id)
    assert isinstance(view, LetterView)
    assert (view.letter_id, view.case_id, view.status) == (letter_id, cid, "sent")
    assert "P0 Test" in view.markdown and "Knee OA with fear" in view.markdown  # the formulation
    assert view.patient_markdown and view.patient_markdown != view.markdown
    assert view.sections and all(isinstance(x, Section) for x in view.sections)
    assert view.sent_at is not None
    assert not view.opened and view.opened_at is None and not view.acknowledged and view.acknowledged_at is None
    assert correspondence.case_letters(world.sf, world.pcp_a, cid) == [view]

    # The hub's specialist may read it, but only the practice's opening counts (and is audited, once).
    assert not inbox.open_letter(world.sf, world.specialist, letter_id).opened
    opened = inbox.open_letter(world.sf, world.pcp_a, letter_id)
    assert opened.opened and opened.opened_at is not None and not opened.acknowledged
    assert inbox.open_letter(world.sf, world.pcp_a, letter_id).opened_at == opened.opened_at
    with world.sf() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "letter.open")) == 1
    assert correspondence.letter_for(world.sf, world.pcp_a, letter_id) == opened

    inbox.acknowledge_letter(world.sf, world.pcp_a, letter_id)
    (view,) = correspondence.case_letters(world.sf, world.chair, cid)
    assert view.acknowledged and view.status == "acknowledged" and view.acknowledged_at is not None
    assert view.opened_at == opened.opened_at
    with pytest.raises(NotFound):
        correspondence.letter_for(world.sf, world.pcp_b, letter_id)  # another practice's GP


def test_case_action_views_name_the_owner_and_flag_overdue(world):
    cid, _ = decided_case(world)
    views = inbox.case_actions(world.sf, world.pcp_a, cid, today=DAY + timedelta(days=10))
    assert all(isinstance(a, ActionView) for a in views)
    assert [(a.description, a.owner, a.due_date, a.status, a.overdue) for a in views] == [
        ("Explain OA and exercise safety", "Dr A", DAY + timedelta(days=7), "open", True),
        ("Supervised knee strengthening, 6 weeks", "Physiotherapy", DAY + timedelta(days=14), "open", False),
    ]
    assert {a.case_id for a in views} == {cid}
    inbox.complete_action(world.sf, world.pcp_a, views[0].action_id, "Leaflet given")
    first = inbox.case_actions(world.sf, world.pcp_a, cid, today=DAY + timedelta(days=10))[0]
    assert (first.status, first.overdue, first.note) == ("done", False, "Leaflet given")
    assert first.completed_at is not None
    with pytest.raises(NotFound):
        inbox.case_actions(world.sf, world.pcp_b, cid)
