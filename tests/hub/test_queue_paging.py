"""The queue at scale on both backends: keyset pages equal OFFSET pages for every sort (drafts and missing
pain included), a bounded count that is exact below the threshold and an estimate above it, and query plans
that read an index in order instead of sorting every matching case."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select, update

from bench.seed_bulk import seed_bulk_cases
from db.models import Case, CaseFlag
from hub import case_queue, cases
from hub.auth import actor_for


@pytest.fixture
def bulk(world):
    seed_bulk_cases(world.sf, 90, history="minimal")
    with world.sf.begin() as s:  # ties and gaps: equal priorities, missing pain, a few drafts
        s.execute(update(Case).where(Case.id % 3 == 0).values(priority=50.0))
        s.execute(update(Case).where(Case.id % 7 == 0).values(latest_pain=None))
        s.execute(update(Case).where(Case.id % 11 == 0).values(status="draft", submitted_at=None))
        ids = list(s.scalars(select(Case.id)))
        s.execute(insert(CaseFlag), [{"case_id": i, "code": code, "severity": "amber", "reason": "Test reason."}
                                     for i in ids for code, every in (("inertia", 5), ("opioid_red", 10))
                                     if i % every == 0])
    return world


def _walk(sf, actor, **kw) -> list[int]:
    seen, after, page = [], None, 1
    while True:
        p = cases.queue(sf, actor, page_size=7, page=page, after=after, **kw)
        seen += list(p.rows.case_id)
        if not p.has_next:
            return seen
        after, page = p.next_after, page + 1


@pytest.mark.parametrize("sort", list(cases.QUEUE_SORTS))
def test_keyset_pages_walk_the_same_order_as_one_big_page(bulk, sort):
    hub_member = actor_for(bulk.sf, "chair")
    pcps = [actor_for(bulk.sf, u) for u in ("pcp.a", "pcp.b")]
    for actor, kw in [(hub_member, {}), (hub_member, {"statuses": ["submitted", "triaged", "scheduled"]}),
                      (hub_member, {"conditions": ["knee_oa", "low_back_pain"]}),
                      (hub_member, {"flag_codes": ["inertia", "opioid_red"]})] + [(p, {}) for p in pcps]:
        page = cases.queue(bulk.sf, actor, sort=sort, page_size=200, **kw)
        everything = list(page.rows.case_id)
        assert page.total == len(everything) == len(set(everything))  # a case with two flags counts once
        assert _walk(bulk.sf, actor, sort=sort, **kw) == everything
        offset_page3 = list(cases.queue(bulk.sf, actor, sort=sort, page_size=7, page=3, **kw).rows.case_id)
        assert offset_page3 == everything[14:21]


def test_count_is_exact_below_the_threshold_and_an_estimate_above(bulk, monkeypatch):
    chair = actor_for(bulk.sf, "chair")
    exact = cases.queue(bulk.sf, chair)
    assert exact.total_exact and exact.total_text == f"{exact.total:,} case(s)"
    monkeypatch.setattr(case_queue, "COUNT_EXACT_UP_TO", 10)  # read where the queue is counted
    big = cases.queue(bulk.sf, chair)
    assert not big.total_exact and big.total >= 11
    if bulk.sf.kw["bind"].dialect.name == "postgresql":
        assert big.total_text.startswith("about")  # the planner's estimate
    else:
        assert big.total_text == "more than 10 cases"
    assert big.has_next  # paging still works without an exact count


def test_default_queue_reads_the_open_partial_index_in_order_on_sqlite(bulk):
    engine = bulk.sf.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plan")
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "LIMIT" in statement and "JOIN" not in statement:
            statements.append((statement, parameters))

    chair = actor_for(bulk.sf, "chair")
    event.listen(engine, "before_cursor_execute", grab)
    try:
        for sort in cases.QUEUE_SORTS:
            cases.queue(bulk.sf, chair, sort=sort, statuses=["submitted", "triaged", "scheduled"])
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(statements) == len(cases.QUEUE_SORTS)
    with engine.connect() as c:
        for sql, params in statements:
            plan = " | ".join(r[-1] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert "ix_hub_case_open_" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # no sort of every matching case
