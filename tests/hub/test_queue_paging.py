"""The queue at scale on both backends: keyset pages equal OFFSET pages for every sort (drafts and missing
pain included), a bounded count that is exact below the threshold and an estimate above it, and query plans
that read an index in order instead of sorting every matching case."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select, update

from bench.seed_bulk import seed_bulk_cases
from db.models import Case, CaseFlag
from hub import case_queue, cases, flags, workflow
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
        flags.sync_flag_keys(s.connection(), ids)  # the copies of the case's keys, as hub.flags writes them
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


OPEN = ["submitted", "triaged", "scheduled"]


def _flag_variants(world) -> list[tuple[str, dict]]:
    """Flag filters that read case_flag alone: a PCP's queue (every status, or open), with a condition or two
    flags, and the hub's open queue with a condition (one or two) or a practice."""
    return [("pcp.a", {"flag_codes": ["inertia"]}), ("pcp.b", {"flag_codes": ["inertia", "opioid_red"]}),
            ("pcp.a", {"flag_codes": ["inertia"], "conditions": ["knee_oa"]}),
            ("pcp.a", {"flag_codes": ["inertia"], "statuses": OPEN}),
            ("chair", {"flag_codes": ["inertia"], "statuses": OPEN, "conditions": ["low_back_pain"]}),
            ("chair", {"flag_codes": ["inertia", "opioid_red"], "statuses": OPEN,
                       "conditions": ["knee_oa", "low_back_pain"]}),
            ("chair", {"flag_codes": ["opioid_red"], "statuses": OPEN, "practice_ids": [world.practice_b]})]


def _expected(sf, actor, flag_codes, statuses=None, conditions=None, practice_ids=None) -> set[int]:
    """The same filter computed in Python over every case and every flag row."""
    with sf() as s:
        flagged = {cid for cid, code in s.execute(select(CaseFlag.case_id, CaseFlag.code)) if code in flag_codes}
        rows = s.execute(select(Case.id, Case.practice_id, Case.status, Case.condition)).all()
    visible = (lambda r: r.practice_id == actor.practice_id) if actor.has("pcp") else (lambda r: r.status in OPEN)
    return {r.id for r in rows if r.id in flagged and visible(r) and (not statuses or r.status in statuses)
            and (not conditions or r.condition in conditions) and (not practice_ids or r.practice_id in practice_ids)}


@pytest.mark.parametrize("sort", list(cases.QUEUE_SORTS))
def test_flag_filters_from_case_flag_return_the_rows_of_a_filter_over_every_case(bulk, sort, monkeypatch):
    for user, kw in _flag_variants(bulk):
        actor = actor_for(bulk.sf, user)
        page = cases.queue(bulk.sf, actor, sort=sort, page_size=200, **kw)
        got = list(page.rows.case_id)
        assert got and set(got) == _expected(bulk.sf, actor, **kw), (user, kw)
        assert page.total == len(got) == len(set(got))
        assert _walk(bulk.sf, actor, sort=sort, **kw) == got  # keyset pages
        assert list(cases.queue(bulk.sf, actor, sort=sort, page_size=7, page=3, **kw).rows.case_id) == got[14:21]
        plan = case_queue._flag_plan(actor, kw.get("statuses"), kw.get("conditions"), kw.get("practice_ids"), sort)
        assert plan is not None  # read from case_flag alone
        with monkeypatch.context() as m:  # the same order as the filter on hub_case
            m.setattr(case_queue, "_flag_plan", lambda *a: None)
            assert list(cases.queue(bulk.sf, actor, sort=sort, page_size=200, **kw).rows.case_id) == got


def test_flag_filter_copies_follow_a_case_that_changes_practice_condition_or_status(bulk):
    pcp_a, pcp_b, chair = (actor_for(bulk.sf, u) for u in ("pcp.a", "pcp.b", "chair"))
    with bulk.sf() as s:
        cid = s.scalar(select(Case.id).where(Case.practice_id == bulk.practice_a, Case.status == "submitted",
                                             Case.id.in_(select(CaseFlag.case_id).where(CaseFlag.code == "inertia")))
                       .order_by(Case.id))
        condition = s.get(Case, cid).condition
    other = next(c for c in ("hip_oa", "neck_pain") if c != condition)

    def ids(actor, **kw) -> set[int]:
        return set(cases.queue(bulk.sf, actor, flag_codes=["inertia"], page_size=200, **kw).rows.case_id)

    assert cid in ids(pcp_a) and cid not in ids(pcp_b) and cid in ids(chair, statuses=OPEN, conditions=[condition])
    with bulk.sf.begin() as s:  # any ORM change of the case reaches its case_flag rows (after_flush)
        case = s.get(Case, cid)
        case.practice_id, case.condition = bulk.practice_b, other
    assert cid not in ids(pcp_a) and cid in ids(pcp_b)
    assert cid in ids(chair, statuses=OPEN, conditions=[other])
    assert cid not in ids(chair, statuses=OPEN, conditions=[condition])
    assert cid in ids(pcp_b, conditions=[other]) and cid not in ids(pcp_b, conditions=[condition])
    with bulk.sf.begin() as s:  # (cases.change_status would also recompute the flags, dropping the test's flag)
        workflow.move(s.get(Case, cid), "closed")
    assert cid not in ids(chair, statuses=OPEN, conditions=[other])
    assert cid in ids(pcp_b) and cid not in ids(pcp_b, statuses=OPEN)  # a PCP sees every status
    with bulk.sf() as s:
        row = s.scalars(select(CaseFlag).where(CaseFlag.case_id == cid)).first()
        assert (row.practice_id, row.condition, row.is_open) == (bulk.practice_b, other, False)


def test_flag_filters_read_a_case_flag_index_in_order_on_sqlite(bulk):
    """The PCP's flag filter (each sort it serves) and the hub's flag + condition filter walk a case_flag index
    in the sort's order and stop after the page: no temporary B-tree sorts the matching rows."""
    engine = bulk.sf.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plan")
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "FROM case_flag" in statement and "ORDER BY" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    pcp, chair = actor_for(bulk.sf, "pcp.a"), actor_for(bulk.sf, "chair")
    expected = []
    event.listen(engine, "before_cursor_execute", grab)
    try:
        for sort, index in (("priority", "practice_priority"), ("waiting", "practice_submitted"),
                            ("pain", "practice_pain"), ("newest", "practice_newest")):
            after = cases.queue(bulk.sf, pcp, flag_codes=["inertia"], sort=sort, page_size=3).next_after
            cases.queue(bulk.sf, pcp, flag_codes=["inertia"], sort=sort, page_size=3, page=2, after=after)
            expected += [index, index]  # the first page, and the next one by its cursor
        cases.queue(bulk.sf, chair, flag_codes=["inertia"], statuses=OPEN, conditions=["low_back_pain"])
        expected.append("open_condition")
        cases.queue(bulk.sf, pcp, flag_codes=["inertia"], conditions=["knee_oa"])
        expected.append("practice_condition")
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(statements) == len(expected)
    with engine.connect() as c:
        for (sql, params), index in zip(statements, expected):
            plan = " | ".join(r[-1] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert f"INDEX ix_case_flag_{index} (code=? AND " in plan, plan
            assert "TEMP B-TREE" not in plan and "hub_case" not in plan, plan


def test_a_queue_page_reads_its_rows_flags_in_one_query(bulk):
    engine = bulk.sf.kw["bind"]
    statements: list[str] = []

    def grab(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        page = cases.queue(bulk.sf, actor_for(bulk.sf, "chair"), page_size=25)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(page.rows) == 25
    assert len([st for st in statements if "case_flag.evidence" in st]) == 1  # not one per row
    with bulk.sf() as s:
        shown = flags.for_cases(s, list(page.rows.case_id))
    assert list(page.rows["flags"]) == [", ".join(f.label for f in shown[cid] if f.is_open)
                                        for cid in page.rows.case_id]
    assert any("Therapeutic inertia" in f for f in page.rows["flags"])
