"""Scale benchmark: does the hub stay flat from a small to a large cohort? Run by hand, never by pytest:

    python -m bench.bench_scale [--small 1000] [--large 100000] [--backend sqlite|postgresql] [--rounds 8]
                                [--keep DIR] [--no-refresh]

Both databases get the demo cohort plus bulk cases with demo-like histories (bench.seed_bulk), then a
full flag recompute (timed at the large size). Every measurement is taken on both sizes interleaved in
one run, ABBA (round r measures small-large when r is even, large-small when odd), so that drift in the
machine's load hits both sizes alike; the 1-minute load average is recorded beside each figure. The
queue's count is never cached in a timed run (known_total is not passed). Each ratio gets a verdict
that refuses to call an implausible or noisy ratio a pass. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import plotly.io  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from bench.bench_queue import TempDatabase, analyze, create_database, log  # noqa: E402
from bench.seed_bulk import seed_bulk_cases  # noqa: E402
from db.engine import SessionFactory, make_engine, make_session_factory, upgrade_to_head  # noqa: E402
from db.models import Assessment, Case, Patient, Review, Treatment, WearableDay  # noqa: E402
from hub import cases, charts, demo, flags, records  # noqa: E402
from hub import settings as hub_settings  # noqa: E402
from hub.auth import actor_for  # noqa: E402

TARGET = 1.5
OPEN = ["submitted", "triaged", "scheduled"]
DEFAULT_RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"


def load1() -> float:
    return os.getloadavg()[0]


# ----------------------------------------------------------------------------- cohorts


def showcase_cases(sf: SessionFactory, today: date) -> tuple[int, int]:
    """Two cases for the case page: a new one with three pain scores, and one with a long history
    (100 treatments, 100 PROMs, 20 reviews, 3 years of wearable days). Returns (small id, big id)."""
    import random

    rng = random.Random(5)
    with sf() as s:
        donors = s.execute(select(Case.id, Case.patient_id).where(Case.status == "submitted")
                           .order_by(Case.id).limit(2)).all()
    small_id, small_pid = donors[0]
    big_id, big_pid = donors[1]
    with sf.begin() as s:
        for pid in (small_pid, big_pid):
            for model in (Treatment, Assessment, Review, WearableDay):
                s.execute(model.__table__.delete().where(model.__table__.c.patient_id == pid))
        s.execute(Assessment.__table__.insert(), [
            {"patient_id": small_pid, "instrument": "nrs", "administered_on": today - timedelta(days=30 * i),
             "status": "completed", "responses": {"NRS_Q1": 6}, "total": 6.0, "safety_alert": False,
             "mode": "self", "instrument_version": "1", "scoring_version": "1"} for i in range(3)])
        cats = ["medicine", "exercise", "psychological", "injection", "education", "manual_therapy"]
        drugs = [("oxycodone", 40.0), ("pregabalin", 300.0), ("naproxen", 1000.0), ("codeine", 240.0)]
        rows = []
        for i in range(100):
            cat = cats[i % len(cats)]
            start = today - timedelta(days=rng.randint(20, 1090))
            end = start + timedelta(days=rng.randint(14, 120))
            drug, dose = drugs[i % len(drugs)] if cat == "medicine" else (None, None)
            rows.append({"patient_id": big_pid, "category": cat, "name": f"{cat} {i}", "drug": drug,
                         "route": "oral" if drug else None, "daily_dose_mg": dose, "start_date": start,
                         "end_date": end if end < today else None, "status": "stopped" if end < today else "active"})
        s.execute(Treatment.__table__.insert(), rows)
        s.execute(Assessment.__table__.insert(), [
            {"patient_id": big_pid, "instrument": ("nrs", "peg", "phq9", "gad7", "mskhq")[i % 5],
             "administered_on": today - timedelta(days=11 * i), "status": "completed", "responses": {},
             "total": float(rng.randint(2, 9)), "safety_alert": False, "mode": "self", "instrument_version": "1",
             "scoring_version": "1"} for i in range(100)])
        s.execute(Review.__table__.insert(), [
            {"patient_id": big_pid, "case_id": big_id, "review_date": today - timedelta(days=50 * i),
             "attendance": ("attended", "attended", "dna", "cancelled")[i % 4], "mode": "face_to_face",
             "management_changes": [], "inaction_justifications": [], "notes": ""} for i in range(20)])
        s.execute(WearableDay.__table__.insert(), [
            {"patient_id": big_pid, "day": today - timedelta(days=k), "source": "demo",
             "steps": rng.randint(1500, 9000), "sleep_hours": round(rng.uniform(5, 8.5), 1)}
            for k in range(3 * 365) if k % 13])
        with s.begin_nested():
            flags.recompute_patient(s, small_pid, today)
            flags.recompute_patient(s, big_pid, today)
    return small_id, big_id


@dataclass
class Cohort:
    label: str
    n: int
    db: TempDatabase | None
    sf: Any
    url: str
    seed_s: float = 0.0
    recompute_s: float = 0.0
    recompute_cpu_s: float = 0.0  # CPU time of this process (SQLite work included): less load-dependent
    small_case: int = 0
    big_case: int = 0
    flag_mix: dict[str, int] = field(default_factory=dict)


def build_cohort(label: str, n: int, backend: str, keep: Path | None, today: date) -> Cohort:
    """A database with the demo cohort plus bulk cases up to n, flags recomputed (reused from --keep)."""
    if keep is not None and backend == "sqlite":
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / f"{label}-{n}.db"
        url = f"sqlite:///{path}"
        fresh = not (keep / f"{label}-{n}.ids").exists()  # the ids file is written once seeding has finished
        if fresh and path.exists():
            path.unlink()  # a half-seeded database from an interrupted run
        engine = make_engine(url)
        sf = make_session_factory(engine)
        db = None
    else:
        db = create_database(backend)
        url, sf, engine, fresh = db.url, db.sf, db.engine, True
    upgrade_to_head(engine)
    c = Cohort(label, n, db, sf, url)
    if fresh:
        log(f"{label}: seeding demo + bulk to {n:,} cases")
        t0 = time.perf_counter()
        demo.seed_all(sf, today=today)  # cohort, flags, the demo's hub meetings and invitations, as a first start does
        with sf() as s:
            have = s.scalar(select(func.count()).select_from(Case))
        if n > have:
            seed_bulk_cases(sf, n - have, today=today)
        c.seed_s = time.perf_counter() - t0
        log(f"{label}: seeded in {c.seed_s:.0f} s; full flag recompute")
        t0, cpu0 = time.perf_counter(), time.process_time()
        flags.recompute_all(sf, today)
        c.recompute_s, c.recompute_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        log(f"{label}: recomputed in {c.recompute_s:.0f} s ({c.recompute_cpu_s:.0f} s CPU)")
        c.small_case, c.big_case = showcase_cases(sf, today)
        if db is not None:
            analyze(db) if backend == "postgresql" else None
        if keep is not None:
            (keep / f"{label}-{n}.ids").write_text(f"{c.small_case} {c.big_case} {c.seed_s} {c.recompute_s} "
                                                   f"{c.recompute_cpu_s}")
    else:
        small, big, seed_s, rec_s, *cpu = (keep / f"{label}-{n}.ids").read_text().split()
        c.small_case, c.big_case, c.seed_s, c.recompute_s = int(small), int(big), float(seed_s), float(rec_s)
        c.recompute_cpu_s = float(cpu[0]) if cpu else 0.0
    with sf() as s:
        from db.models import CaseFlag

        c.n = s.scalar(select(func.count()).select_from(Case))
        c.flag_mix = dict(s.execute(select(CaseFlag.code, func.count()).group_by(CaseFlag.code)).all())
    return c


# ----------------------------------------------------------------------------- variants


def case_page(sf: SessionFactory, actor, case_id: int, cached: bool) -> None:
    """What the case page computes server-side: header, record, and the timeline figure as Streamlit sends it."""
    header = cases.case_header(sf, actor, case_id)
    data = records.timeline(sf, actor, case_id)
    build = charts.cached_case_timeline if cached else (lambda cid, *a, **k: charts.case_timeline(*a, **k))
    fig = build(case_id, data.treatments, data.assessments, data.reviews, data.wearables, date.today(),
                ome=data.ome, response=header.response)
    plotly.io.to_json(fig.to_dict(), validate=False)


def variants(c: Cohort) -> dict[str, Callable[[], Any]]:
    chair = actor_for(c.sf, "chair")
    pcp = actor_for(c.sf, "gp.north")
    sf = c.sf
    out: dict[str, Callable[[], Any]] = {}
    for sort in cases.QUEUE_SORTS:
        out[f"hub queue, sort {sort}"] = lambda sort=sort: cases.queue(sf, chair, statuses=OPEN, sort=sort)
    out["hub queue, all statuses"] = lambda: cases.queue(sf, chair)
    out["hub queue, condition filter"] = lambda: cases.queue(sf, chair, statuses=OPEN, conditions=["low_back_pain"])
    out["hub queue, practice filter"] = lambda: cases.queue(sf, chair, statuses=OPEN,
                                                           practice_ids=[pcp.practice_id])
    out["hub queue, flag filter (inertia)"] = lambda: cases.queue(sf, chair, statuses=OPEN, flag_codes=["inertia"])
    out["hub queue, flag filter (safety, rare)"] = lambda: cases.queue(sf, chair, statuses=OPEN,
                                                                      flag_codes=["safety_phq9"])
    for sort in ("waiting", "newest", "pain"):
        out[f"hub queue, flag filter (inertia), sort {sort}"] = lambda sort=sort: cases.queue(
            sf, chair, statuses=OPEN, flag_codes=["inertia"], sort=sort)
    out["hub queue, flag filter (inertia) + condition"] = lambda: cases.queue(
        sf, chair, statuses=OPEN, flag_codes=["inertia"], conditions=["low_back_pain"])
    out["PCP queue, flag filter (inertia)"] = lambda: cases.queue(sf, pcp, flag_codes=["inertia"])
    for sort in ("waiting", "newest", "pain"):
        out[f"PCP queue, flag filter (inertia), sort {sort}"] = lambda sort=sort: cases.queue(
            sf, pcp, flag_codes=["inertia"], sort=sort)
    out["PCP queue, flag filter (inertia) + condition"] = lambda: cases.queue(
        sf, pcp, flag_codes=["inertia"], conditions=["low_back_pain"])
    # Page 20 by keyset: the cursor is found once (untimed); the timed call reads that page.
    after = None
    for _ in range(19):
        p = cases.queue(sf, chair, statuses=OPEN, after=after, known_total=1)
        after = p.next_after
    out["hub queue, page 20 (keyset)"] = lambda: cases.queue(sf, chair, statuses=OPEN, after=after, page=20)
    for sort in ("priority", "waiting"):
        out[f"PCP queue, sort {sort}"] = lambda sort=sort: cases.queue(sf, pcp, sort=sort)
    out["case page, small history"] = lambda: case_page(sf, chair, c.small_case, cached=False)
    out["case page, big history"] = lambda: case_page(sf, chair, c.big_case, cached=False)
    out["case page, big history (figure cached)"] = lambda: case_page(sf, chair, c.big_case, cached=True)
    return out


@dataclass
class Sample:
    ms: float
    load: float


def measure(a: Cohort, b: Cohort, rounds: int, only: str = "") -> dict[str, dict[str, list[Sample]]]:
    """Every variant (or those whose name contains `only`) on both cohorts, interleaved ABBA, after one untimed
    warm-up each."""
    va, vb = variants(a), variants(b)
    results: dict[str, dict[str, list[Sample]]] = {}
    for name in [n for n in va if only in n]:
        va[name]()
        vb[name]()
        got: dict[str, list[Sample]] = {a.label: [], b.label: []}
        for r in range(rounds):
            order = ((a, va), (b, vb)) if r % 2 == 0 else ((b, vb), (a, va))
            for cohort, fns in order:
                t0 = time.perf_counter()
                fns[name]()
                got[cohort.label].append(Sample((time.perf_counter() - t0) * 1000, load1()))
        results[name] = got
        log(f"{name}: {statistics.median(s.ms for s in got[a.label]):.1f} / "
            f"{statistics.median(s.ms for s in got[b.label]):.1f} ms")
    return results


def spread(xs: list[float]) -> float:
    """Interquartile range relative to the median (0 = perfectly steady)."""
    if len(xs) < 4:
        return 0.0
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) / max(statistics.median(xs), 1e-9)


def verdict(ratio: float, spread_a: float, spread_b: float) -> str:
    """'meets' only for a plausible ratio measured steadily; never a pass for a ratio that cannot be right."""
    noisy = max(spread_a, spread_b) > 0.5
    if ratio < 0.5:
        return "implausible (large faster than small): rerun" if not noisy else "implausible and noisy: rerun"
    if ratio > 3 and noisy:
        return "noisy: no verdict, rerun"
    if noisy:
        return f"noisy: no verdict ({'within' if ratio <= TARGET else 'over'} {TARGET}x)"
    return "meets" if ratio <= TARGET else f"exceeds {TARGET}x"


# ----------------------------------------------------------------------------- refresh


REFRESH_KINDS = {"daily": "daily", "same": "nothing changed", "weights": "every priority changes"}


def refresh_figures(c: Cohort, rounds: int, kinds: tuple[str, ...] = tuple(REFRESH_KINDS)) -> list[str]:
    """The daily refresh at this size, and queue page and write times while a full refresh runs in a worker
    process against without it (`kinds`: which of daily, same, weights)."""
    lines = []
    if "daily" in kinds:
        with c.sf.begin() as s:
            s.execute(update(Case).values(flags_computed_on=date.today() - timedelta(days=1)))
        t0, l0 = time.perf_counter(), load1()
        n = flags.recompute_due(c.sf)
        lines.append(f"| daily refresh (open cases not computed today) | {n:,} cases | "
                     f"{time.perf_counter() - t0:.1f} s | load {l0:.2f} → {load1():.2f} |")
    chair = actor_for(c.sf, "chair")
    pcp = actor_for(c.sf, "gp.north")
    with c.sf() as s:
        case_id = s.scalar(select(Case.id).join(Patient, Patient.id == Case.patient_id)
                           .where(Case.practice_id == pcp.practice_id, Case.status == "submitted").limit(1))

    def page() -> None:
        cases.queue(c.sf, chair, statuses=OPEN)

    def write() -> None:
        records.add_assessment(c.sf, pcp, case_id, "nrs", date.today(), {"NRS_Q1": 5})

    def sample(fn) -> list[float]:
        out = []
        for _ in range(rounds):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
            time.sleep(0.2)
        return out

    quiet = {"page": sample(page), "write": sample(write)}
    admin = actor_for(c.sf, "admin")
    weight = "priority.per_week_waiting"
    for kind in (REFRESH_KINDS[k] for k in ("same", "weights") if k in kinds):
        if kind == "every priority changes":  # an admin changes a weight: every waiting case's priority moves
            with c.sf() as s:
                before = int(hub_settings.get(s, weight))
            hub_settings.update(c.sf, admin, weight, before + 1)
        flags.mark_stale(c.sf)
        with c.sf() as s:
            before_priority = dict(s.execute(select(Case.id, Case.priority)).all())
        env = {**os.environ, "DATABASE_URL": c.url}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "hub", "worker", "--once"], cwd=PROJECT_ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(3)  # let it get going
        busy = {"page": sample(page), "write": sample(write)}
        still_running = proc.poll() is None
        out, _ = proc.communicate()
        took = time.perf_counter() - t0
        with c.sf() as s:
            moved = sum(1 for cid, p in s.execute(select(Case.id, Case.priority)) if before_priority.get(cid) != p)
        lines.append(f"| full refresh, {kind} | {moved:,} priorities changed | {took:.1f} s (worker at nice 10) | "
                     f"{out.strip().splitlines()[-1] if out.strip() else ''} |")
        for k in ("page", "write"):
            q, b = statistics.median(quiet[k]), statistics.median(busy[k])
            lines.append(f"| queue {k if k == 'page' else 'write (assessment + recompute)'} during it | "
                         f"{q:.1f} ms quiet → {b:.1f} ms busy (p95 {max(busy[k]):.1f}) | ratio {b / q:.2f} | "
                         f"{'worker still running at the end' if still_running else 'worker done while sampling'} |")
        if kind == "every priority changes":
            hub_settings.update(c.sf, admin, weight, before)
            flags.recompute_all(c.sf)  # leave the database as seeded: the next run's "nothing changed" holds
    return lines


# ----------------------------------------------------------------------------- report


def report(a: Cohort, b: Cohort, results, refresh: list[str], args, started_load: float) -> str:
    lines = [f"# Scale bench: {a.n:,} vs {b.n:,} cases ({args.backend})", "",
             f"Command: `python -m bench.bench_scale {' '.join(sys.argv[1:])}`  ",
             f"Date: {time.strftime('%Y-%m-%d %H:%M')}; CPUs: {os.cpu_count()}; load at start {started_load:.2f}; "
             f"{args.rounds} rounds ABBA per variant; medians in ms.", "",
             f"Seed: small {a.seed_s:.0f} s, large {b.seed_s:.0f} s. **Full flag recompute at {b.n:,} cases: "
             f"{b.recompute_s:.1f} s** wall, {b.recompute_cpu_s:.1f} s CPU (small {a.recompute_s:.1f} s).", "",
             f"Flag mix at {b.n:,}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(b.flag_mix.items(),
                                                                                 key=lambda kv: -kv[1])), "",
             f"| variant | {a.n:,} ms (load) | {b.n:,} ms (load) | ratio | spread | verdict |",
             "|---|---|---|---|---|---|"]
    for name, got in results.items():
        ma = statistics.median(s.ms for s in got[a.label])
        mb = statistics.median(s.ms for s in got[b.label])
        la = statistics.mean(s.load for s in got[a.label])
        lb = statistics.mean(s.load for s in got[b.label])
        sa, sb = spread([s.ms for s in got[a.label]]), spread([s.ms for s in got[b.label]])
        ratio = mb / ma if ma else float("inf")
        lines.append(f"| {name} | {ma:.1f} ({la:.2f}) | {mb:.1f} ({lb:.2f}) | {ratio:.2f} | "
                     f"{sa:.2f} / {sb:.2f} | {verdict(ratio, sa, sb)} |")
    if refresh:
        lines += ["", f"## Background refresh at {b.n:,} cases", "", "| what | figure | | |", "|---|---|---|---|",
                  *refresh]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_scale")
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=100_000)
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--rounds", type=int, default=8, help="ABBA rounds per variant (each size measured once a round)")
    p.add_argument("--keep", type=Path, help="SQLite: keep (and reuse) the seeded databases in this folder")
    p.add_argument("--no-refresh", dest="refresh", action="store_false",
                   help="skip the refresh figures (daily refresh; page and write during a full refresh)")
    p.add_argument("--refresh-kinds", default="daily,same,weights",
                   help="which refresh figures: daily (the daily refresh), same (a full refresh in which nothing "
                        "changes), weights (a full refresh after a priority weight changed)")
    p.add_argument("--output", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--only", default="", help="measure only the variants whose name contains this text "
                                              "(e.g. 'flag filter')")
    args = p.parse_args(argv)
    started_load = load1()
    today = date.today()
    a = build_cohort("small", args.small, args.backend, args.keep, today)
    b = build_cohort("large", args.large, args.backend, args.keep, today)
    try:
        results = measure(a, b, args.rounds, args.only)
        refresh = refresh_figures(b, max(5, args.rounds), tuple(args.refresh_kinds.split(","))) if args.refresh else []
        text = report(a, b, results, refresh, args, started_load)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(text)
    finally:
        for c in (a, b):
            if c.db is not None:
                c.db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
