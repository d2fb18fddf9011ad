"""Flags and priority stored on cases: the demo cohort shows every flag type; inputs recompute them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Case, CaseFlag
from hub import cases, demo, flags, records, settings, worker
from hub.auth import actor_for
from hub.clinical.case_review import FLAG_GROUPS

TODAY = date(2026, 11, 27)


def seed_demo_with_flags(sf) -> None:
    demo.seed_demo(sf, today=TODAY)
    flags.recompute_all(sf, TODAY)


@pytest.fixture
def demo_sf(clone_db):
    """A copy of the demo cohort with its flags (seeded once per backend and session)."""
    return clone_db(f"demo-{TODAY}", seed_demo_with_flags)[0]


def test_demo_cohort_shows_every_flag_type_with_reasons(demo_sf):
    with demo_sf() as s:
        present = set(s.scalars(select(CaseFlag.code).distinct()))
        for group, codes in FLAG_GROUPS.items():
            assert present & set(codes), f"no {group} flag in the demo cohort"
        assert "appropriate_restraint" in present
        # Clinical safety v0.2 flags, stored like the others (hazards H2 and H11).
        assert {"distress", "phq9_item9_unanswered", "opioid_escalation_without_benefit", "explore_beliefs"} <= present
        for f in s.scalars(select(CaseFlag)):
            assert len(f.reason) > 15 and f.reason[0].isupper() or f.reason[0].isdigit(), f.reason
        assert s.scalar(select(func.count()).select_from(Case).where(Case.safety_alert.is_(True))) >= 1
        assert s.scalar(select(func.max(Case.ome_total))) >= 120


def test_queue_orders_by_priority_with_reasons_and_filters_by_flag(demo_sf):
    chair = actor_for(demo_sf, "chair")
    page = cases.queue(demo_sf, chair, page_size=50, today=TODAY)
    prios = list(page.rows.priority)
    assert prios == sorted(prios, reverse=True)
    assert page.rows.iloc[0].why.startswith("Safety alert")
    inertia = cases.queue(demo_sf, chair, flag_codes=["inertia"], page_size=200, today=TODAY)
    assert inertia.total > 0 and all("Therapeutic inertia" in f for f in inertia.rows["flags"])
    alerts = cases.open_safety_alerts(demo_sf, chair)
    assert alerts and "PHQ-9 item 9" in alerts[0]["reason"]
    # the banner's count is of all alerts, not of the ones listed
    assert cases.count_open_safety_alerts(demo_sf, chair) == len(alerts)
    assert len(cases.open_safety_alerts(demo_sf, chair, limit=1)) == 1 < cases.count_open_safety_alerts(demo_sf, chair)
    gp = actor_for(demo_sf, "gp.north")
    assert cases.count_open_safety_alerts(demo_sf, gp) == len(cases.open_safety_alerts(demo_sf, gp, limit=100))


def test_safety_alert_stays_until_action_recorded(demo_sf):
    chair = actor_for(demo_sf, "chair")
    case_id = cases.open_safety_alerts(demo_sf, chair)[0]["case_id"]
    alert = records.open_safety_alerts(demo_sf, chair, case_id)[0]
    records.record_safety_action(demo_sf, chair, case_id, alert["id"], "Phoned patient today; safety plan agreed")
    header = cases.case_header(demo_sf, chair, case_id)
    assert not any(f.code == "safety_phq9" for f in header.flags)
    with demo_sf() as s:
        assert s.get(Case, case_id).safety_alert is False
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "safety.action")) == 1
        resolved = s.scalars(select(AuditEvent).where(AuditEvent.action == "flag.resolved",
                                                      AuditEvent.entity_id == str(case_id))).all()
        assert [e.changes["code"] for e in resolved] == ["safety_phq9"] and resolved[0].actor_id is None
        raised = s.scalars(select(AuditEvent.changes).where(AuditEvent.action == "flag.raised",
                                                            AuditEvent.entity_id == str(case_id))).all()
        assert "safety_phq9" in {c["code"] for c in raised}


def test_new_assessment_recomputes_flags_in_the_same_transaction(demo_sf):
    with demo_sf() as s:
        case = s.scalars(select(Case).where(Case.safety_alert.is_(False), Case.status == "submitted")
                         .order_by(Case.id)).first()
    pcp = next(actor_for(demo_sf, u["username"]) for u in demo.DEMO_USERS
               if "pcp" in u["roles"] and actor_for(demo_sf, u["username"]).practice_id == case.practice_id)
    records.add_assessment(demo_sf, pcp, case.id, "phq9", date.today(),
                           {f"PHQ9_Q{i}": v for i, v in enumerate([1, 1, 1, 1, 1, 1, 1, 1, 2], 1)})
    header = cases.case_header(demo_sf, pcp, case.id)
    assert header.flags[0].code == "safety_phq9"
    assert header.priority >= 100


def test_setting_change_recomputes_priority(demo_sf):
    admin = actor_for(demo_sf, "admin")
    chair = actor_for(demo_sf, "chair")
    before = cases.queue(demo_sf, chair, flag_codes=["inertia"], page_size=1).rows.iloc[0]
    settings.update(demo_sf, admin, "priority.amber_flag", 40)
    assert flags.refreshed_on(demo_sf) is None  # the change marked flags stale; the worker recomputes
    assert worker.run_once(demo_sf).outcome == "full"
    after = cases.case_header(demo_sf, chair, int(before.case_id))
    assert after.priority > before.priority
    assert any("+40" in r for r in after.priority_reasons)


def test_derived_state_does_not_bump_the_edit_version(demo_sf):
    with demo_sf() as s:
        case_id, version = s.execute(select(Case.id, Case.version).order_by(Case.id)).first()
    flags.recompute_all(demo_sf)
    with demo_sf() as s:
        assert s.get(Case, case_id).version == version


def test_flag_read_back_from_its_stored_form_is_the_same_typed_flag():
    from hub.clinical.case_review import Flag

    red = Flag("opioid_red", "red", "OME 150 mg/day", {"ome": 150.0})
    assert Flag.from_stored(red.as_dict()) == red and Flag.from_stored({"code": "x"}).severity == "info"
    assert red.label == "Opioid dose (red)" and red.is_open


def test_typed_reader_returns_flags_worst_first_with_evidence_and_repeated_codes(demo_sf):
    """case_flag is the only store: a case's flags come back in the evaluated order, with their evidence, a code
    that occurs twice (two unactioned PHQ-9 alerts) at both places, and the label from the code."""
    from sqlalchemy import event

    from hub.clinical.case_review import CaseEvaluation, Flag

    evaluated = (
        Flag("safety_phq9", "red", "PHQ-9 item 9 answered above 0 on 3 Nov", {"on": "2026-11-03", "mode": None}),
        Flag("opioid_red", "red", "150 mg OME/day (≥ 120)", {"ome": 150.0}),
        Flag("safety_phq9", "red", "PHQ-9 item 9 answered above 0 on 20 Nov", {"on": "2026-11-20", "mode": None}),
        Flag("co_prescription", "amber", "Opioid with a gabapentinoid", {"drugs": ["morphine", "pregabalin"]}),
        Flag("appropriate_restraint", "info", "No change by decision"),
    )
    with demo_sf() as s:
        cid, other = s.scalars(select(Case.id).order_by(Case.id).limit(2)).all()
    with demo_sf.begin() as s:
        flags._store(s, {cid: CaseEvaluation(evaluated, None, 150.0, 99.0, (), None)}, TODAY)
    engine = demo_sf.kw["bind"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with demo_sf() as s:
        assert flags.for_case(s, cid) == evaluated
        event.listen(engine, "before_cursor_execute", count)
        try:
            both = flags.for_cases(s, [cid, other, cid])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1  # one query for any number of cases
        assert both[cid] == evaluated and both[other] == flags.for_case(s, other)
        assert [f.label for f in both[cid]][:2] == ["Safety alert", "Opioid dose (red)"]
        assert both[cid][3].evidence == {"drugs": ["morphine", "pregabalin"]}
        # one row per code (the queue's flag filter reads one index entry per case), the repeat inside it
        rows = s.execute(select(CaseFlag.code, CaseFlag.position).where(CaseFlag.case_id == cid)
                         .order_by(CaseFlag.position)).all()
        assert [tuple(r) for r in rows] == [("safety_phq9", 0), ("opioid_red", 1), ("co_prescription", 3),
                                            ("appropriate_restraint", 4)]
        assert flags.for_cases(s, []) == {}


def test_stored_flags_are_the_evaluated_flags_for_every_demo_case(demo_sf):
    with demo_sf.begin() as s:
        ids = list(s.scalars(select(Case.id)))
        results = flags.recompute_cases(s, ids, TODAY)
        stored = flags.for_cases(s, ids)
    assert stored == {cid: ev.flags for cid, ev in results.items()}


def test_flag_rows_carry_the_cases_queue_keys_as_written_by_the_recompute(demo_sf):
    """The recompute inserts case_flag rows with their copies of the case's keys (no second UPDATE): they equal
    what sync_flag_keys copies from hub_case, for every row of the demo."""
    from db.models import OPEN_CASE_STATUSES

    def copies(s):
        return sorted(s.execute(select(CaseFlag.case_id, CaseFlag.code, CaseFlag.is_open, CaseFlag.priority,
                                       CaseFlag.submitted_at, CaseFlag.latest_pain, CaseFlag.practice_id,
                                       CaseFlag.condition, CaseFlag.unsubmitted)).all())

    with demo_sf.begin() as s:
        flags.recompute_cases(s, list(s.scalars(select(Case.id))), TODAY)
        written = copies(s)
        flags.sync_flag_keys(s.connection(), list(s.scalars(select(Case.id))))
        assert copies(s) == written and len(written) > 50
        case = {c.id: c for c in s.scalars(select(Case))}
        assert all((r.is_open, r.priority, r.practice_id, r.unsubmitted)
                   == (case[r.case_id].status in OPEN_CASE_STATUSES, case[r.case_id].priority,
                       case[r.case_id].practice_id, case[r.case_id].submitted_at is None) for r in written)


def test_a_recompute_that_changes_nothing_only_dates_the_cases(demo_sf):
    """Most cases come out of a refresh as they went in: they get today's date and no rewrite of their
    priority columns or flag rows (whose indexes made most of a full recompute's cost); a changed case is
    rewritten as before, flags, copies and history included."""
    from sqlalchemy import update

    ids = [cid for cid, n in _flag_counts(demo_sf).items() if n][:20]
    with demo_sf.begin() as s:
        s.execute(update(Case).where(Case.id.in_(ids)).values(flags_computed_on=None))
        before = flags.for_cases(s, ids)
        updated = dict(s.execute(select(Case.id, Case.updated_at).where(Case.id.in_(ids))).all())
    seen = _recompute_statements(demo_sf, ids)
    writes = [q for q in seen if q.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not [q for q in writes if "CASE_FLAG" in q.split(" WHERE ")[0]], writes
    case_sets = [q.split(" WHERE ")[0] for q in writes if q.startswith("UPDATE HUB_CASE SET")]
    assert case_sets and all("FLAGS_COMPUTED_ON" in q and "PRIORITY" not in q for q in case_sets), writes
    with demo_sf() as s:
        assert flags.for_cases(s, ids) == before
        assert set(s.scalars(select(Case.flags_computed_on).where(Case.id.in_(ids)))) == {TODAY}
        assert dict(s.execute(select(Case.id, Case.updated_at).where(Case.id.in_(ids))).all()) == updated
    # Another priority with the same flags (as a week more of waiting gives): the case's columns and its flag
    # rows' copy of the priority are written, the flag rows are not replaced.
    with demo_sf.begin() as s:
        s.execute(update(Case).where(Case.id == ids[0]).values(priority=-5.0))
        s.execute(update(CaseFlag).where(CaseFlag.case_id == ids[0]).values(priority=-5.0))
    seen = _recompute_statements(demo_sf, ids)
    assert not [q for q in seen if q.startswith(("DELETE FROM CASE_FLAG", "INSERT INTO CASE_FLAG"))], seen
    with demo_sf() as s:
        restored = s.get(Case, ids[0]).priority
        assert restored >= 0
        assert set(s.scalars(select(CaseFlag.priority).where(CaseFlag.case_id == ids[0]))) == {restored}
        assert flags.for_cases(s, ids) == before


def _flag_counts(sf) -> dict[int, int]:
    with sf() as s:
        return dict(s.execute(select(CaseFlag.case_id, func.count()).group_by(CaseFlag.case_id)).all())


def _recompute_statements(sf, ids: list[int]) -> list[str]:
    """The SQL statements (upper case, one line each) a recompute of these cases sends."""
    from sqlalchemy import event

    seen: list[str] = []
    engine = sf.kw["bind"]

    def log(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", log)
    try:
        with sf.begin() as s:
            flags.recompute_cases(s, ids, TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", log)
    return seen
