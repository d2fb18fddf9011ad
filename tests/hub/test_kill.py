"""kill -9 part-way: the demo seed (one transaction) and a decision's finalisation leave either nothing or
everything, and starting again works (SQLite and PostgreSQL, the work runs in a subprocess)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, inspect, select

from db.engine import make_engine, make_session_factory
from db.models import Action, AuditEvent, Decision, Letter
from hub import audit, decisions, demo, meetings
from test_meetings import STARTS, full_form, submit
from tests_support import url_of

ROOT = Path(__file__).resolve().parents[2]


def _spawn(code: str, url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "HUB_DEMO": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


SEED = """
import sys
from hub import bootstrap
print("ready", flush=True)
engine, sf = bootstrap.prepare(announce=lambda text: None)
print("seeded", flush=True)
"""


def _wait_for(proc: subprocess.Popen, word: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if word in line:
            return
        if proc.poll() is not None:
            raise AssertionError(f"subprocess ended: {proc.stderr.read()[-2000:]}")
    raise AssertionError(f"no '{word}' within {timeout} s")


def _demo_state(url: str) -> str:
    engine = make_engine(url)
    sf = make_session_factory(engine)
    try:
        if "practice" not in inspect(engine).get_table_names():
            return "empty"  # killed while the migrations ran: no table yet, nothing seeded
        if demo.is_empty(sf):
            with sf() as s:
                assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0  # nothing half-written
            return "empty"
        with sf() as s:
            assert s.scalar(select(func.count()).where(AuditEvent.action == "demo.complete")) == 1
        assert demo.cohort_counts(sf)["patient"] == 150
        assert audit.verify(sf).ok
        return "seeded"
    finally:
        engine.dispose()


def test_demo_seed_killed_at_random_moments_leaves_nothing_then_seeds(sf, database_url):
    rng = random.Random(20261201)
    states = []
    for _ in range(3):
        proc = _spawn(SEED, database_url)
        _wait_for(proc, "ready")
        time.sleep(rng.uniform(0.5, 6.0))
        proc.kill()  # SIGKILL
        proc.wait(30)
        states.append(_demo_state(database_url))
    assert "empty" in states  # at least one kill landed part-way (and left nothing)
    proc = _spawn(SEED, database_url)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "seeded" in out, err[-2000:]
    assert _demo_state(database_url) == "seeded"


FINALISE = """
import sys
from db.engine import make_engine, make_session_factory
from hub import decisions
from hub.auth import actor_for
sf = make_session_factory(make_engine())
chair = actor_for(sf, "chair")
item, version = int(sys.argv[1]), int(sys.argv[2])
print("ready", flush=True)
decisions.finalise(sf, chair, item, version)
print("finalised", flush=True)
"""


def test_finalise_killed_part_way_writes_all_or_nothing(world):
    database_url = url_of(world.sf)
    rng = random.Random(7)
    outcomes = []
    for round_ in range(4):
        submit(world, round_)
        mid = meetings.create_meeting(world.sf, world.chair, title=f"MDT {round_}",
                                      starts_at=STARTS)  # finalising needs the meeting day
        item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
        v = decisions.save(world.sf, world.chair, item, full_form(STARTS.date()), 0)
        proc = subprocess.Popen([sys.executable, "-c", FINALISE, str(item), str(v)], cwd=ROOT,
                                env={**os.environ, "DATABASE_URL": database_url, "HUB_DEMO": "0",
                                     "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(proc, "ready")
        time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()
        proc.wait(30)
        with world.sf() as s:
            d = s.scalar(select(Decision).where(Decision.agenda_item_id == item))
            letters = s.scalar(select(func.count()).select_from(Letter).where(Letter.decision_id == d.id))
            actions = s.scalar(select(func.count()).select_from(Action).where(Action.decision_id == d.id))
        if d.status == "final":
            assert (letters, actions) == (1, 2)
            outcomes.append("final")
        else:
            assert (letters, actions) == (0, 0)
            outcomes.append("nothing")
            # and it can be finalised afterwards
            decisions.finalise(world.sf, world.chair, item, d.version)
        assert audit.verify(world.sf).ok
    assert len(outcomes) == 4
