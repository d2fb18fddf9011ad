"""Queue benchmark: the case-queue service, the queue and case pages (AppTest) and the case timeline
at growing case counts, on SQLite (default) or PostgreSQL. Run by hand, never by pytest:

    python -m bench.bench_queue [--sizes 1000,10000,100000] [--backend sqlite|postgresql] [--repeat N]

See bench/README.md for what each column means and how to read the query plans.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import secrets
import shlex
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import sqlalchemy  # noqa: E402
import streamlit  # noqa: E402
from sqlalchemy import Engine, create_engine, event, func, select, text  # noqa: E402

from db.engine import SessionFactory, make_engine, make_session_factory, upgrade_to_head  # noqa: E402
from db.models import Assessment, Case, Review, Treatment, WearableDay  # noqa: E402
from bench.seed_bulk import seed_bulk_cases  # noqa: E402
from hub import cases, demo, records  # noqa: E402
from hub.access import HUB_VISIBLE_STATUSES, Actor  # noqa: E402
from hub.auth import actor_for  # noqa: E402

APP = PROJECT_ROOT / "app.py"
DEFAULT_RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HUB_DEFAULT_STATUSES = ["submitted", "triaged", "scheduled"]
CHAIR, PCP = "chair", "gp.north"
FILTER_CONDITION = "low_back_pain"
APPTEST_TIMEOUT = 60
TARGET_RATIO = 2.0

_started = time.perf_counter()


def log(message: str) -> None:
    """Print a progress line (with seconds since start) to stderr."""
    print(f"[{time.perf_counter() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- timing


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of fn() in milliseconds over `repeat` runs, after one untimed warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def guarded(errors: dict[str, str], label: str, fn: Callable[[], Any]) -> Any:
    """fn()'s result, or None after recording its exception under `label` (one broken part must not sink the run)."""
    try:
        return fn()
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        errors[label] = message
        log(f"ERROR in {label}: {message[:300]}")
        return None


def timed_s(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and its wall time in seconds."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


# ----------------------------------------------------------------------------- databases


def postgres_base_url() -> str:
    """TEST_POSTGRES_URL (normalised to the psycopg driver), else the local test database."""
    url = os.environ.get("TEST_POSTGRES_URL", "").strip() or DEFAULT_PG_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class TempDatabase:
    """A temporary benchmark database: URL, engine and session factory, and what to remove afterwards."""

    backend: str
    url: str
    engine: Engine
    sf: Any
    tmp_dir: Path | None = None
    pg_base: str | None = None
    pg_schema: str | None = None

    def drop(self) -> None:
        """Dispose the engine and delete the database (the temp directory or the PostgreSQL schema)."""
        self.engine.dispose()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if self.pg_schema is not None:
            admin = create_engine(self.pg_base)
            try:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA IF EXISTS "{self.pg_schema}" CASCADE'))
            finally:
                admin.dispose()


def create_database(backend: str) -> TempDatabase:
    """A fresh, empty database: a SQLite temp file, or a new schema in the PostgreSQL test database."""
    if backend == "sqlite":
        tmp_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        url = f"sqlite:///{tmp_dir / 'hub.db'}"
        engine = make_engine(url)
        return TempDatabase(backend, url, engine, make_session_factory(engine), tmp_dir=tmp_dir)
    base = postgres_base_url()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    return TempDatabase(backend, url, engine, make_session_factory(engine), pg_base=base, pg_schema=schema)


def analyze(db: TempDatabase) -> None:
    """Planner statistics: VACUUM ANALYZE on PostgreSQL (autovacuum's steady state), ANALYZE on SQLite."""
    if db.backend == "sqlite":
        with db.engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        tables = c.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars()
        for table in list(tables):
            c.exec_driver_sql(f'VACUUM ANALYZE "{table}"')


def count_cases(sf: SessionFactory) -> int:
    """Number of cases in the database."""
    with sf() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def _history_count(model) -> Any:
    """Correlated subquery: rows of `model` for the case's patient."""
    return select(func.count()).where(model.patient_id == Case.patient_id).correlate(Case).scalar_subquery()


def rich_case(sf: SessionFactory) -> tuple[int, int]:
    """The hub-visible case whose patient has the most history rows (all four record tables), and that count."""
    score = sum((_history_count(m) for m in (Treatment, Assessment, Review, WearableDay)), start=0)
    with sf() as s:
        row = s.execute(select(Case.id, score.label("n")).where(Case.status.in_(HUB_VISIBLE_STATUSES))
                        .order_by(score.desc(), Case.id).limit(1)).one()
    return int(row.id), int(row.n)


def recompute_flags(sf: SessionFactory, errors: dict[str, str]) -> float | str | None:
    """Seconds taken by hub.flags.recompute_all(sf), None when that does not exist, or 'error'."""
    try:
        from hub import flags
    except ImportError:
        return None
    except Exception as exc:  # the module exists but does not import (edited concurrently)
        errors["recompute all flags"] = f"import hub.flags: {type(exc).__name__}: {exc}"
        return "error"
    fn = getattr(flags, "recompute_all", None)
    if fn is None:
        return None
    took = guarded(errors, "recompute all flags", partial(timed_s, partial(fn, sf)))
    return "error" if took is None else took[1]


# ----------------------------------------------------------------------------- queue service


@dataclass
class QueueTimings:
    """Median queue-service times (ms) by variant, and the deep page that was timed."""

    main: dict[str, float | str] = field(default_factory=dict)
    extra: dict[str, float | str] = field(default_factory=dict)
    deep_page: int = 1
    pcp_deep_page: int = 1
    chair_total: int = 0
    pcp_total: int = 0


def first_practice_id(actor: Actor, sf: SessionFactory) -> int:
    """The PCP's practice (used as the practice filter), else the first practice."""
    if actor.practice_id is not None:
        return actor.practice_id
    from hub.users import list_practices

    return list_practices(sf)[0][0]


def bench_queue_service(sf: SessionFactory, chair: Actor, pcp: Actor, repeat: int, deep_page: int,
                        errors: dict[str, str]) -> QueueTimings:
    """Time hub.cases.queue for the chair and the PCP: defaults, a filter, a deep page and every sort."""
    q = partial(cases.queue, sf)
    t = QueueTimings()
    first = q(chair, statuses=HUB_DEFAULT_STATUSES)
    t.chair_total, t.deep_page = first.total, min(deep_page, first.pages)
    pcp_first = q(pcp, statuses=HUB_DEFAULT_STATUSES)
    pcp_all = q(pcp)
    t.pcp_total, t.pcp_deep_page = pcp_all.total, min(deep_page, pcp_all.pages)
    practice_id = first_practice_id(pcp, sf)
    if len(first.rows) == 0 or len(pcp_first.rows) == 0:
        raise RuntimeError("the queue is empty: seeding did not produce hub-visible cases")

    variants: list[tuple[dict[str, float], str, Callable[[], Any]]] = [
        # "default" = the service's own default sort (whatever cases.queue declares), page 1.
        (t.main, "chair default", partial(q, chair, statuses=HUB_DEFAULT_STATUSES)),
        (t.main, "pcp default", partial(q, pcp, statuses=HUB_DEFAULT_STATUSES)),
        (t.main, "filtered", partial(q, chair, statuses=HUB_DEFAULT_STATUSES, conditions=[FILTER_CONDITION],
                                     practice_ids=[practice_id])),
        (t.main, "deep page", partial(q, chair, statuses=HUB_DEFAULT_STATUSES, page=t.deep_page)),
    ]
    variants += [(t.main, f"sort {sort}", partial(q, chair, statuses=HUB_DEFAULT_STATUSES, sort=sort))
                 for sort in cases.QUEUE_SORTS]
    # What a PCP's queue page asks for (no status filter: drafts included), its deep page and a filter.
    variants += [
        (t.extra, "pcp all statuses", partial(q, pcp)),
        (t.extra, "pcp deep page", partial(q, pcp, page=t.pcp_deep_page)),
        (t.extra, "pcp filtered", partial(q, pcp, conditions=[FILTER_CONDITION])),
    ]
    for store, label, fn in variants:
        value = guarded(errors, f"queue: {label}", partial(median_ms, fn, repeat))
        store[label] = value if value is not None else "error"
    return t


# ----------------------------------------------------------------------------- pages (AppTest)


_PATCHED = False


def keep_v2_pages_mode() -> None:
    """Apply tests/pages/conftest.py's PagesManager patch so app.py (navigation, login gate) runs under AppTest."""
    global _PATCHED
    if _PATCHED:
        return
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init_v2_only(self, *args, **kwargs):
        """PagesManager.__init__, then v1 pages-directory mode off."""
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_v2_only
    _PATCHED = True


def _titles(at) -> list[str]:
    """Titles shown by the last AppTest run."""
    return [t.value for t in at.title]


def _problems(at) -> str:
    """Uncaught exceptions of the last AppTest run as one string (st.error boxes are clinical alerts, not failures)."""
    return " | ".join(str(getattr(e, "message", e)) for e in at.exception)


def _errors_shown(at) -> str:
    """st.error messages of the last AppTest run (for diagnostics when a page did not render)."""
    return " | ".join(e.value for e in at.error)


def check_queue_page(at) -> None:
    """Raise unless the last run rendered the case queue with a table of cases."""
    problems = _problems(at)
    if problems or "Case queue" not in _titles(at) or len(at.dataframe) == 0:
        raise RuntimeError(f"queue page did not render: titles={_titles(at)} exceptions={problems!r} "
                           f"errors shown={_errors_shown(at)!r}")


def check_case_page(at, case_id: int) -> None:
    """Raise unless the last run rendered the given case."""
    titles = _titles(at)
    problems = _problems(at)
    if problems or not titles or not titles[0].startswith(f"Case {case_id}:"):
        raise RuntimeError(f"case page did not render case {case_id}: titles={titles} exceptions={problems!r} "
                           f"errors shown={_errors_shown(at)!r}")


def time_app_runs(at, repeat: int, check: Callable[[Any], None]) -> float:
    """Median ms of at.run() over `repeat` runs after one warm-up; the page is checked after warm-up and last run."""
    at.run()
    check(at)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    check(at)
    return statistics.median(times)


def login_as(username: str, password: str):
    """An AppTest of app.py logged in through the login form (as tests/pages/conftest.py's login helper)."""
    from streamlit.testing.v1 import AppTest

    logging.disable(logging.WARNING)  # from_file warns "missing ScriptRunContext" outside a script run
    try:
        at = AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT)
    finally:
        logging.disable(logging.NOTSET)
    at.run()
    inputs = {t.label: t for t in at.text_input}
    if "Username" not in inputs:
        raise RuntimeError(f"no login form: titles={_titles(at)} exceptions={_problems(at)!r} "
                           f"errors shown={_errors_shown(at)!r}")
    inputs["Username"].input(username)
    inputs["Password"].input(password)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    at.run()  # the browser's timed fragment reruns the app once after a form login
    if not at.session_state["authentication_status"]:
        raise RuntimeError(f"login as {username} failed: exceptions={_problems(at)!r} "
                           f"errors shown={_errors_shown(at)!r}")
    return at


def dispose_app_engine(url: str) -> None:
    """Dispose the engine the app cached for this URL (ui.runtime) and clear Streamlit's resource cache."""
    logging.disable(logging.WARNING)  # "missing ScriptRunContext": calling the cached function outside a run
    try:
        from ui import runtime

        runtime.dispose_engine(url)
    except Exception as exc:  # only tidying up
        log(f"could not dispose the app's engine: {exc}")
    finally:
        logging.disable(logging.NOTSET)
    streamlit.cache_resource.clear()


def bench_pages(url: str, case_id: int, repeat: int, errors: dict[str, str]) -> dict[str, float | str]:
    """Median ms of at.run() of the queue page (as chair) and of the case page for case_id ('error' if broken)."""
    keep_v2_pages_mode()
    env = {"DATABASE_URL": url, "HUB_DEMO": "0", "HUB_COOKIE_SECRET": secrets.token_urlsafe(36)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out: dict[str, float | str] = {"queue page": "error", "case page": "error"}
        at = guarded(errors, "pages: login", partial(login_as, CHAIR, demo.DEMO_PASSWORD))
        if at is None:
            return out
        out["queue page"] = guarded(errors, "pages: queue page", partial(time_app_runs, at, repeat,
                                                                         check_queue_page)) or "error"
        at.switch_page("pages/case.py")
        at.query_params["case_id"] = str(case_id)
        out["case page"] = guarded(errors, "pages: case page",
                                   partial(time_app_runs, at, repeat, partial(check_case_page, case_id=case_id))
                                   ) or "error"
        return out
    finally:
        dispose_app_engine(url)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ----------------------------------------------------------------------------- query plans


def capture_queue_sql(engine: Engine, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SELECTs on hub_case (statement, parameters) that fn() sends to the database."""
    captured: list[tuple[str, Any]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        """Record one statement as sent to the driver."""
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return [(s, p) for s, p in captured if s.lstrip().upper().startswith("SELECT") and "hub_case" in s]


def statement_label(sql: str) -> str:
    """'count' for the queue's COUNT(*) statement, 'page' for the row query."""
    return "count" if re.search(r"\bcount\s*\(", sql, re.I) and "LIMIT" not in sql.upper() else "page"


def plan_lines(engine: Engine, backend: str, sql: str, params: Any) -> list[str]:
    """The query plan of one statement: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL)."""
    with engine.connect() as c:
        if backend == "sqlite":
            rows = c.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            depth: dict[int, int] = {0: 0}
            lines = []
            for node_id, parent, _unused, detail in rows:
                depth[node_id] = depth.get(parent, 0) + 1
                lines.append("  " * (depth[node_id] - 1) + str(detail))
            return lines
        rows = c.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) {sql}", params).all()
        return [r[0] for r in rows]


def index_verdict(backend: str, lines: list[str]) -> str:
    """One line on how a plan reads hub_case: the indexes it uses, full scans, and sorts not served by an index."""
    plan = "\n".join(lines)
    if backend == "sqlite":
        used = sorted(set(re.findall(r"(?:SEARCH|SCAN) hub_case USING (?:COVERING )?INDEX (\w+)", plan)))
        full_scan = bool(re.search(r"SCAN hub_case(?! USING)", plan))
        sort = "USE TEMP B-TREE FOR ORDER BY" in plan
    else:
        used = sorted(set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? "
                                     r"(?:using|on) (ix_hub_case\w*|pk_hub_case\w*)", plan)))
        full_scan = bool(re.search(r"Seq Scan on hub_case", plan))
        sort = bool(re.search(r"\bSort\b", plan))
    parts = [f"uses index on hub_case: {'yes (' + ', '.join(used) + ')' if used else 'NO'}"]
    if full_scan:
        parts.append("full scan of hub_case")
    if sort:
        parts.append("own sort step (ORDER BY not read in index order; cheap only if few rows reach it — "
                     "see the raw time)")
    return "; ".join(parts)


@dataclass
class PlanReport:
    """Plans and raw execution times of the statements behind one queue call."""

    title: str
    statements: list[dict[str, Any]] = field(default_factory=list)


def explain_queue(db: TempDatabase, title: str, fn: Callable[[], Any], repeat: int) -> PlanReport:
    """Capture the SQL of one queue call, then report each statement's plan, index verdict and raw time."""
    report = PlanReport(title)
    for sql, params in capture_queue_sql(db.engine, fn):
        with db.engine.connect() as c:
            run = partial(_execute_all, c, sql, params)
            raw_ms = median_ms(run, max(3, repeat // 2))
        lines = plan_lines(db.engine, db.backend, sql, params)
        report.statements.append({"label": statement_label(sql), "sql": sql, "params": params, "plan": lines,
                                  "verdict": index_verdict(db.backend, lines), "raw_ms": raw_ms})
    return report


def _execute_all(conn, sql: str, params: Any) -> None:
    """Execute a captured statement on conn and fetch every row."""
    conn.exec_driver_sql(sql, params).fetchall()


# ----------------------------------------------------------------------------- one size


@dataclass
class SizeResult:
    """Everything measured at one database size."""

    requested: int
    cases: int = 0
    seed_demo_s: float = 0.0
    seed_bulk_s: float = 0.0
    recompute: float | str | None = None
    queue: QueueTimings | None = None
    pages: dict[str, float] = field(default_factory=dict)
    timeline_ms: float | None = None
    case_id: int = 0
    case_history_rows: int = 0
    plans: list[PlanReport] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def seed_s(self) -> float:
        """Total seeding time (demo cohort + bulk cases) in seconds."""
        return self.seed_demo_s + self.seed_bulk_s


def _fmt_log(value: Any, unit: str) -> str:
    """A measured value for a progress line."""
    return f"{value:.1f} {unit}" if isinstance(value, (int, float)) else str(value)


def seed(db: TempDatabase, res: SizeResult, n: int) -> None:
    """Migrate, seed the demo cohort, pick the case-page case, then bulk-seed up to n cases in total."""
    upgrade_to_head(db.engine)
    _, res.seed_demo_s = timed_s(partial(demo.seed_demo, db.sf))
    res.case_id, res.case_history_rows = rich_case(db.sf)  # a demo case: same id at every size
    existing = count_cases(db.sf)
    bulk = max(0, n - existing)
    _, res.seed_bulk_s = timed_s(partial(seed_bulk_cases, db.sf, bulk))
    res.cases = count_cases(db.sf)
    log(f"N={n:,}: seeded {res.cases:,} cases ({existing} demo + {bulk:,} bulk) in {res.seed_s:.1f}s")


def run_size(n: int, args: argparse.Namespace, explain: bool) -> SizeResult:
    """Build a database of n cases, time the queue service, the pages and the timeline, then drop it."""
    res = SizeResult(requested=n)
    db = create_database(args.backend)
    log(f"N={n:,}: {db.backend} database {db.pg_schema or db.tmp_dir}")
    try:
        if guarded(res.errors, "setup (migrate + seed)", partial(seed, db, res, n)) is None \
                and "setup (migrate + seed)" in res.errors:
            return res
        if args.recompute:
            res.recompute = recompute_flags(db.sf, res.errors)
            if res.recompute is not None:
                log(f"N={n:,}: recompute all flags: {_fmt_log(res.recompute, 's')}")
        if db.backend == "postgresql" or args.analyze:
            analyze(db)
        chair, pcp = actor_for(db.sf, CHAIR), actor_for(db.sf, PCP)
        if chair is None or pcp is None:
            res.errors["actors"] = f"demo users {CHAIR!r} / {PCP!r} are missing"
            return res
        res.queue = guarded(res.errors, "queue service",
                            partial(bench_queue_service, db.sf, chair, pcp, args.repeat, args.deep_page, res.errors))
        if res.queue:
            log(f"N={n:,}: queue service done (chair default {_fmt_log(res.queue.main['chair default'], 'ms')})")
        res.timeline_ms = guarded(res.errors, "timeline",
                                  partial(median_ms, partial(records.timeline, db.sf, chair, res.case_id), args.repeat))
        if args.pages:
            res.pages = bench_pages(db.url, res.case_id, args.repeat, res.errors)
            log(f"N={n:,}: pages done (queue {_fmt_log(res.pages['queue page'], 'ms')}, "
                f"case {_fmt_log(res.pages['case page'], 'ms')})")
        if explain and res.queue:
            hub_q = partial(cases.queue, db.sf, statuses=HUB_DEFAULT_STATUSES)
            todo = [("chair, default filters and sort (page 1)", partial(hub_q, chair)),
                    (f"chair, deep page {res.queue.deep_page}", partial(hub_q, chair, page=res.queue.deep_page)),
                    ("pcp (gp.north), default filters", partial(hub_q, pcp))]
            todo += [(f"chair, sort {sort}", partial(hub_q, chair, sort=sort)) for sort in cases.QUEUE_SORTS]
            for title, fn in todo:
                rep = guarded(res.errors, f"explain: {title}", partial(explain_queue, db, title, fn, args.repeat))
                if rep is not None:
                    res.plans.append(rep)
    finally:
        db.drop()
    return res


# ----------------------------------------------------------------------------- report


def fmt(value: float | str | None, digits: int = 1) -> str:
    """A table cell: a number with `digits` decimals, text as is, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def results_table(results: list[SizeResult]) -> str:
    """The main Markdown table: one row per size."""
    query_cols = list(dict.fromkeys(c for r in results if r.queue for c in r.queue.main))
    with_recompute = any(r.recompute is not None for r in results)
    head = ["cases"] + [f"{c} ms" for c in query_cols] + ["queue page ms", "case page ms", "timeline ms", "seed s"]
    if with_recompute:
        head.append("recompute all flags s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in results:
        q = r.queue.main if r.queue else {}
        cells = [f"{r.cases or r.requested:,}"]
        for c in query_cols:
            cell = fmt(q.get(c))
            if c == "deep page" and r.queue:
                cell += f" (p{r.queue.deep_page})"
            cells.append(cell)
        cells += [fmt(r.pages.get("queue page"), 0), fmt(r.pages.get("case page"), 0), fmt(r.timeline_ms),
                  fmt(r.seed_s)]
        if with_recompute:
            cells.append(fmt(r.recompute))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details_table(results: list[SizeResult]) -> str:
    """A second table: PCP variants, queue totals and the case used for the case page."""
    head = ["cases", "chair queue total", "pcp queue total (all statuses)", "pcp all statuses ms",
            "pcp deep page ms", "pcp filtered ms", "seed demo s", "seed bulk s", "case page case (history rows)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in results:
        q = r.queue
        lines.append("| " + " | ".join([
            f"{r.cases or r.requested:,}", f"{q.chair_total:,}" if q else "—", f"{q.pcp_total:,}" if q else "—",
            fmt(q.extra.get("pcp all statuses")) if q else "—",
            (fmt(q.extra.get("pcp deep page")) + f" (p{q.pcp_deep_page})") if q else "—",
            fmt(q.extra.get("pcp filtered")) if q else "—",
            fmt(r.seed_demo_s), fmt(r.seed_bulk_s), f"{r.case_id} ({r.case_history_rows:,})",
        ]) + " |")
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    """True for a positive measured number (not None, not 'error')."""
    return isinstance(value, (int, float)) and value > 0


def ratio_lines(results: list[SizeResult]) -> list[str]:
    """Largest-over-smallest ratios: the queue page (with the ≤ 2× target) and the chair's default query."""
    if len(results) < 2:
        return ["(one size only: no ratio)"]
    small, large = results[0], results[-1]
    out = []
    qs, ql = small.pages.get("queue page"), large.pages.get("queue page")
    if _is_number(qs) and _is_number(ql):
        ratio = ql / qs
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        out.append(f"Queue page at {large.cases:,} / at {small.cases:,} cases: **{ratio:.2f}×** "
                   f"(target ≤ {TARGET_RATIO:g}×: {verdict})")
    else:
        out.append("Queue page ratio: not measured (--no-pages, or the page failed at one end)")
    if small.queue and large.queue:
        for col in ("chair default", "pcp default", "deep page"):
            a, b = small.queue.main.get(col), large.queue.main.get(col)
            if _is_number(a) and _is_number(b):
                out.append(f"Queue query '{col}' at {large.cases:,} / at {small.cases:,}: {b / a:.1f}×")
    return out


def plan_text(backend: str, reports: list[PlanReport], cases_n: int) -> str:
    """The captured queue statements with their plans, index verdicts and raw execution times."""
    how = "EXPLAIN QUERY PLAN" if backend == "sqlite" else "EXPLAIN (ANALYZE)"
    out = [f"## Query plans at {cases_n:,} cases ({how})", ""]
    for rep in reports:
        out.append(f"### {rep.title}")
        for st in rep.statements:
            out += ["", f"**{st['label']}** statement — raw execution {st['raw_ms']:.1f} ms — {st['verdict']}", "",
                    "```sql", st["sql"].strip(), f"-- params: {st['params']!r}", "```", "", "```",
                    *st["plan"], "```"]
        out.append("")
    return "\n".join(out)


def load_average() -> str:
    """The 1-minute load average (other work on the machine makes the numbers noisy)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def environment_lines(backend: str, load_at_start: str) -> list[str]:
    """Versions and machine facts that the numbers depend on."""
    load_at_end, cpus = load_average(), os.cpu_count() or 1
    busy = any(v != "unknown" and float(v) > cpus for v in (load_at_start, load_at_end))
    out = [f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
           f"streamlit {streamlit.__version__}, {cpus} CPU(s), {platform.platform()}",
           f"- 1-minute load average: {load_at_start} at start, {load_at_end} at the end"
           + (" — above the CPU count: other work competed for the CPUs, expect noisy numbers" if busy else "")]
    if backend == "sqlite":
        out.append(f"- SQLite {sqlite3.sqlite_version} (temp file, WAL, synchronous=NORMAL)")
    else:
        try:
            eng = create_engine(postgres_base_url())
            with eng.connect() as c:
                out.append(f"- {c.exec_driver_sql('SELECT version()').scalar()}")
            eng.dispose()
        except Exception as exc:
            out.append(f"- PostgreSQL version unknown ({exc})")
    return out


def default_sort() -> str:
    """The sort hub.cases.queue uses when none is given."""
    import inspect

    return str(inspect.signature(cases.queue).parameters["sort"].default)


def render_report(results: list[SizeResult], args: argparse.Namespace, command: str, load_at_start: str) -> str:
    """The whole Markdown report (tables, ratios, environment and the largest size's plans)."""
    out = [f"# Queue benchmark — {args.backend} — {datetime.now():%Y-%m-%d %H:%M}", "",
           f"Command: `{command}`", "", *environment_lines(args.backend, load_at_start),
           f"- Median of {args.repeat} runs after one warm-up; times in ms unless marked s.",
           "- Queue variants (chair unless named): default = statuses submitted/triaged/scheduled, page 1, "
           f"the service's default sort ('{default_sort()}'); "
           f"filtered = + condition {FILTER_CONDITION} + practice of {PCP}; "
           f"deep page = page {args.deep_page} or the last page; sort X = default filters with that sort.",
           "", results_table(results), "", *ratio_lines(results), "", "Details:", "", details_table(results), ""]
    errors = [(r.cases or r.requested, k, v) for r in results for k, v in r.errors.items()]
    if errors:
        out += ["## Errors (cells marked 'error')", ""]
        out += [f"- N={n:,} — {k}: `{v[:400]}`" for n, k, v in errors]
        out.append("")
    last = results[-1] if results else None
    if last and last.plans:
        out.append(plan_text(args.backend, last.plans, last.cases))
    return "\n".join(out)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.bench_queue", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated total case counts")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (after one warm-up)")
    p.add_argument("--deep-page", type=int, default=200, help="page number of the deep-page variant")
    p.add_argument("--no-pages", dest="pages", action="store_false", help="skip the AppTest page timings")
    p.add_argument("--no-recompute", dest="recompute", action="store_false",
                   help="do not call hub.flags.recompute_all even if it exists")
    p.add_argument("--analyze", action="store_true",
                   help="run ANALYZE on SQLite too (PostgreSQL always gets VACUUM ANALYZE, as autovacuum would)")
    p.add_argument("--output", type=Path, default=DEFAULT_RESULTS, help="Markdown report file")
    args = p.parse_args(argv)
    try:
        args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        p.error("--sizes takes comma-separated integers, e.g. 1000,10000,100000")
    if not args.sizes or min(args.sizes) < 1 or args.repeat < 1:
        p.error("sizes and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at every size, print the report and write it to --output."""
    args = parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m bench.bench_queue", *(shlex.quote(a) for a in given)])
    load_at_start = load_average()
    results = []
    for n in args.sizes:
        results.append(run_size(n, args, explain=(n == args.sizes[-1])))
    report = render_report(results, args, command.strip(), load_at_start)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    log(f"report written to {args.output}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
