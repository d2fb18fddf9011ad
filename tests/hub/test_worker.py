"""The background worker on both backends: one runner across processes (database lock), --once for cron,
the daily refresh recomputes only what the date can change, batched reads, settings publish and the
worker recomputes (nothing runs in the caller's thread)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import event, select, update
from test_followthrough import MEETING
from test_meetings import submit

from db.engine import make_engine
from db.models import Case, Setting, WorkerLock
from hub import cases, flags, settings, worker

TODAY = date.today()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _engine_url(sf) -> str:
    return sf.kw["bind"].url.render_as_string(hide_password=False)


def test_lock_is_exclusive_across_engines_and_free_again_after_release(sf):
    url = _engine_url(sf)
    e1, e2 = make_engine(url), make_engine(url)  # two connection pools, as two processes would have
    try:
        a, b = worker.DbLock(e1), worker.DbLock(e2)
        assert a.acquire() is True
        assert b.acquire() is False  # one runs, the other skips
        assert a.renew() is True
        a.release()
        assert b.acquire() is True
        assert worker.DbLock(e1).acquire() is False
        b.release()
    finally:
        e1.dispose()
        e2.dispose()


def test_sqlite_lease_that_expired_can_be_taken_over(sqlite_url):
    from db.engine import upgrade_to_head

    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    a = worker.DbLock(engine, lease=timedelta(seconds=-1))  # a crashed worker: its lease is already over
    assert a.acquire() is True
    b = worker.DbLock(engine)
    assert b.acquire() is True  # taken over
    assert a.renew() is False  # the old holder notices it lost the lock
    with engine.connect() as c:
        assert c.execute(select(WorkerLock.owner)).scalar() == b.owner
    b.release()
    engine.dispose()


def test_run_once_skips_while_another_worker_holds_the_lock_then_recomputes(world):
    cid = submit(world, 0)
    flags.mark_stale(world.sf)
    with world.sf.begin() as s:
        s.execute(update(Case).where(Case.id == cid).values(priority=-1.0, flags_computed_on=None))
    other = worker.DbLock(make_engine(_engine_url(world.sf)))
    assert other.acquire()
    try:
        assert worker.run_once(world.sf).outcome == "locked"
        with world.sf() as s:
            assert s.get(Case, cid).priority == -1.0  # nothing ran
    finally:
        other.release()
    assert worker.run_once(world.sf).outcome == "full"
    with world.sf() as s:
        assert s.get(Case, cid).priority >= 0 and s.get(Case, cid).flags_computed_on == TODAY
    assert flags.refreshed_on(world.sf) == TODAY
    assert worker.run_once(world.sf).outcome == "idle"  # nothing due until tomorrow


def test_daily_refresh_recomputes_open_cases_not_computed_today_only(world):
    open_id, closed_id = submit(world, 0), submit(world, 1)
    cases.change_status(world.sf, world.chair, closed_id, "closed")
    yesterday = TODAY - timedelta(days=1)
    with world.sf.begin() as s:
        s.execute(update(Case).values(priority=-1.0, flags_computed_on=yesterday))
        s.merge(Setting(key=flags.REFRESH_KEY, value=yesterday.isoformat()))
    assert flags.refresh_if_stale(world.sf) == "daily"
    with world.sf() as s:
        assert s.get(Case, open_id).priority >= 0 and s.get(Case, open_id).flags_computed_on == TODAY
        assert s.get(Case, closed_id).priority == -1.0  # a closed case's flags do not move with the date
    assert flags.recompute_due(world.sf) == 0  # computed today already: nothing left to do


def test_worker_once_from_the_command_line_recomputes_and_a_second_skips_while_locked(world):
    cid = submit(world, 0)
    flags.mark_stale(world.sf)
    with world.sf.begin() as s:
        s.execute(update(Case).where(Case.id == cid).values(priority=-1.0))
    env = {**os.environ, "DATABASE_URL": _engine_url(world.sf)}
    holder = worker.DbLock(make_engine(_engine_url(world.sf)))
    assert holder.acquire()
    try:
        out = subprocess.run([sys.executable, "-m", "hub", "worker", "--once"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        assert "another worker holds the lock" in out.stdout
    finally:
        holder.release()
    out = subprocess.run([sys.executable, "-m", "hub", "worker", "--once"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "full" in out.stdout
    with world.sf() as s:
        assert s.get(Case, cid).priority >= 0


def decided_case(world, i: int) -> int:
    """A case returned after a final hub decision (follow-up ahead) with an action and a goal."""
    from hub import decisions, meetings, records
    from hub.decisions import DecisionForm, GoalInput, RecommendationInput

    cid = submit(world, i)
    records.add_assessment(world.sf, world.pcp_a, cid, "nrs", TODAY - timedelta(days=70), {"NRS_Q1": 6})
    mid = meetings.create_meeting(world.sf, world.chair, title=f"MDT {i}", starts_at=MEETING)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    form = DecisionForm(
        formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
        allergies="No known drug allergies", primary_outcome="nrs", follow_up_date=TODAY + timedelta(days=40),
        recommendations=[RecommendationInput("exercise_programme", "Knee class", owner_role="pcp",
                                             due_date=TODAY + timedelta(days=7))],
        goals=[GoalInput("Walk the dog", "", "20 minutes", TODAY + timedelta(days=30), 3, 2,
                         {-2: "5 min", -1: "10 min", 0: "20 min", 1: "30 min", 2: "45 min"}, recommendation=1)])
    v = decisions.save(world.sf, world.chair, item, form, 0)
    decisions.finalise(world.sf, world.chair, item, v)
    return cid


def _statements(sf, fn) -> int:
    engine = sf.kw["bind"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_recompute_reads_in_batches_not_per_case(world):
    ids = [decided_case(world, i) for i in range(2)]

    def recompute(case_ids):
        with world.sf.begin() as s:
            flags.recompute_cases(s, case_ids, TODAY)

    two = _statements(world.sf, lambda: recompute(ids))
    ids += [decided_case(world, i) for i in range(2, 5)]
    with world.sf() as s:
        assert {s.get(Case, c).status for c in ids} == {"returned"}
    five = _statements(world.sf, lambda: recompute(ids))
    assert five == two  # the same statements for 2 or 5 returned cases with decisions, actions and goals


def test_a_setting_change_marks_flags_stale_and_the_worker_recomputes(world):
    submit(world, 0)
    flags.recompute_all(world.sf)
    assert flags.refreshed_on(world.sf) == TODAY
    settings.update(world.sf, world.admin, "priority.amber_flag", 40)
    assert flags.refreshed_on(world.sf) is None  # published, and hub.flags marked every case stale
    assert worker.run_once(world.sf).outcome == "full"
    assert flags.refreshed_on(world.sf) == TODAY
    settings.update(world.sf, world.admin, "security.max_login_attempts", 6)
    assert flags.refreshed_on(world.sf) == TODAY  # security settings do not touch flags


def _niceness(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[16])  # field 19 of /proc/PID/stat


def test_worker_runs_at_a_lower_cpu_priority_than_the_app(sqlite_url):
    """The app's page runs and writes get the processor first while a refresh runs (issue 12: page runs and
    writes during a refresh stay near their times without it)."""
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        import pytest

        pytest.skip("no /proc: niceness is read from /proc/PID/stat (Linux)")
    env = {**os.environ, "DATABASE_URL": sqlite_url}
    subprocess.run([sys.executable, "-m", "hub", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    mine = _niceness(os.getpid())
    for args, lowered in ((["--interval", "30"], 10), (["--interval", "30", "--nice", "0"], 0)):
        proc = subprocess.Popen([sys.executable, "-m", "hub", "worker", *args], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import time

            deadline = time.monotonic() + 60
            while _niceness(proc.pid) == mine and lowered and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5 if not lowered else 0)
            assert _niceness(proc.pid) == min(mine + lowered, 19)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_a_refresh_never_overwrites_flags_a_clinician_write_recomputed_while_it_ran(world, monkeypatch):
    """The refresh reads a chunk, a PCP records a PHQ-9 with item 9 above 0 for one of its cases (that write
    recomputes the case and raises the safety alert), then the refresh writes: it must not put back the
    flags it evaluated from the records it read before the PHQ-9 (the alert would vanish until the next
    recompute)."""
    from hub import records

    cid = submit(world, 0)
    flags.mark_stale(world.sf)
    read = flags._records_for
    raced: list[int] = []

    def read_then_a_clinician_writes(s, cases, today):
        out = read(s, cases, today)
        if not raced:
            raced.append(cid)  # once (the clinician's own write reads records through here too)
            records.add_assessment(world.sf, world.pcp_a, cid, "phq9", TODAY,
                                   {f"PHQ9_Q{i}": v for i, v in enumerate([1, 1, 0, 0, 0, 0, 0, 0, 2], 1)})
        return out

    monkeypatch.setattr(flags, "_records_for", read_then_a_clinician_writes)
    assert flags.recompute_all(world.sf) >= 1
    assert raced
    with world.sf() as s:
        assert s.get(Case, cid).safety_alert is True
        assert "safety_phq9" in [f.code for f in flags.for_case(s, cid)]
    monkeypatch.setattr(flags, "_records_for", read)
    flags.recompute_all(world.sf)  # and the next refresh, with nobody writing, keeps it
    with world.sf() as s:
        assert "safety_phq9" in [f.code for f in flags.for_case(s, cid)]
