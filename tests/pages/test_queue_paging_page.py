"""Queue paging with keyset cursors: Next and Previous walk the same order without gaps or repeats (Next is a
button callback, so the following page is drawn by the run the click starts)."""

from __future__ import annotations

from page_support import login

from bench.seed_bulk import seed_bulk_cases
from hub import cases
from hub.auth import actor_for


def test_next_and_previous_walk_the_queue_in_order(hub):
    seed_bulk_cases(hub.sf, 60, history="minimal")
    chair = actor_for(hub.sf, "physio")
    expected = list(cases.queue(hub.sf, chair, statuses=["submitted", "triaged", "scheduled"],
                                page_size=200).rows.case_id)
    assert len(expected) > 25
    at = login("physio")
    first = list(at.dataframe[0].value["case_id"])
    assert first == expected[:25]
    next(b for b in at.button if b.label == "Next ▶").click().run()
    second = list(at.dataframe[0].value["case_id"])
    assert second == expected[25:50]
    assert any("page 2" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "◀ Previous").click().run()
    assert list(at.dataframe[0].value["case_id"]) == first
