"""Load test: many logged-in users at once, without a browser, against one or two app processes.

Each virtual user speaks Streamlit's own wire protocol: a websocket to `/_stcore/stream` carrying
protobuf `BackMsg.rerun_script` messages (a `ClientState` with the page, the query string and widget
values) and reading `ForwardMsg`s until `script_finished`. A user logs in through the login form's
widgets, then repeats: open the case queue, open a case from it, press "Next" on the queue, with a
think time between actions. Every script run is timed from sending the request to `script_finished`.

    # one app process, 10/50/100 users, PostgreSQL (a fresh schema is made and dropped), worker running
    python -m bench.load_test --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test --processes 1
    # two app processes behind the sticky-session proxy (bench/sticky_proxy.py)
    python -m bench.load_test --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test --processes 2

It prints, per number of users: page runs done, p50 / p95 / max run time, errors, the app processes'
CPU use (seconds and % of the machine's cores) and the load average. Bounded: every level stops after
--duration seconds; only 127.0.0.1 is contacted. Not a test: run by hand, report the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_USERS = ("gp.north", "gp.river", "gp.hill", "chair", "physio", "psych", "pharm", "rheum", "dr.pain")
LOAD_PASSWORD = "load-test-" + secrets.token_hex(8)
_CASE_LINK = re.compile(r"^Case (\d+)\b")


# ----------------------------------------------------------------------------- protocol client


@dataclass
class Run:
    """What one script run showed: its elements (kind, widget id, label) and the navigation's pages."""

    elements: list[tuple[str, str, str]]
    pages: dict[str, str]
    seconds: float
    error: str | None = None

    def widget(self, label_start: str, kinds: tuple[str, ...] = ("button", "text_input")) -> str | None:
        for kind, wid, label in self.elements:
            if kind in kinds and wid and label.startswith(label_start):
                return wid
        return None

    def case_ids(self) -> list[int]:
        return [int(m.group(1)) for kind, _, label in self.elements if kind == "page_link"
                for m in [_CASE_LINK.match(label)] if m]


class Session:
    """One browser tab's worth of Streamlit session, spoken over the websocket protocol."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pages: dict[str, str] = {}
        self.ws = None

    async def __aenter__(self) -> Session:
        import websockets

        ws_url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.base_url,
                                           max_size=None, open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, page: str = "", query: str = "", widgets: list[tuple[str, str, object]] | None = None) -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query
        state.page_script_hash = self.pages.get(page, "")
        for wid, kind, value in widgets or []:
            w = state.widget_states.widgets.add()
            w.id = wid
            setattr(w, kind, value)
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        elements: list[tuple[str, str, str]] = []
        error = None
        started_run = False  # a run starts with new_session; messages before it belong to an earlier run
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), self.timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                started_run, elements, error = True, [], None
            elif not started_run:
                continue
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                ek = fm.delta.new_element.WhichOneof("type")
                el = getattr(fm.delta.new_element, ek)
                label = getattr(el, "label", "") or getattr(el, "body", "")
                elements.append((ek, getattr(el, "id", ""), label))
                if ek == "exception":
                    error = f"exception: {getattr(el, 'message', '')[:200]}"
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
            elif kind == "script_finished":
                if fm.script_finished == 2:  # FINISHED_EARLY_FOR_RERUN: the page asked for a rerun; wait for it
                    started_run = False
                    continue
                return Run(elements, dict(self.pages), time.perf_counter() - started, error)

    async def login(self, username: str, password: str) -> Run:
        first = await self.run()
        ids = [first.widget("Username"), first.widget("Password"), first.widget("Log in")]
        if None in ids:
            raise RuntimeError(f"no login form on the first run: {[e[2] for e in first.elements][:8]}")
        done = await self.run(widgets=[(ids[0], "string_value", username), (ids[1], "string_value", password),
                                       (ids[2], "trigger_value", True)])
        if not any(kind == "button" and label == "Log out" for kind, _, label in done.elements) and not any(
                kind == "page_link" for kind, _, _ in done.elements):
            raise RuntimeError(f"login as {username} failed")
        return done


# ----------------------------------------------------------------------------- virtual users


@dataclass
class Results:
    runs: dict[str, list[float]] = field(default_factory=lambda: {"queue": [], "case": [], "next": []})
    logins: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def all_runs(self) -> list[float]:
        return [x for v in self.runs.values() for x in v]


async def virtual_user(base_url: str, username: str, password: str, deadline: float, think: tuple[float, float],
                       results: Results, rng: random.Random) -> None:
    try:
        async with Session(base_url) as s:
            t0 = time.perf_counter()
            await s.login(username, password)
            results.logins.append(time.perf_counter() - t0)
            while time.perf_counter() < deadline:
                queue = await s.run(page="queue")
                results.runs["queue"].append(queue.seconds)
                if queue.error:
                    results.errors.append(queue.error)
                await asyncio.sleep(rng.uniform(*think))
                ids = queue.case_ids()
                if ids and time.perf_counter() < deadline:
                    case = await s.run(page="case", query=f"case_id={rng.choice(ids)}")
                    results.runs["case"].append(case.seconds)
                    if case.error:
                        results.errors.append(case.error)
                    await asyncio.sleep(rng.uniform(*think))
                if time.perf_counter() >= deadline:
                    break
                queue = await s.run(page="queue")
                results.runs["queue"].append(queue.seconds)
                nxt = queue.widget("Next")
                if nxt:
                    page2 = await s.run(page="queue", widgets=[(nxt, "trigger_value", True)])
                    results.runs["next"].append(page2.seconds)
                await asyncio.sleep(rng.uniform(*think))
    except Exception as e:  # noqa: BLE001 - a failed user is counted, the others go on
        results.errors.append(f"{username}: {type(e).__name__}: {e}"[:200])


# ----------------------------------------------------------------------------- processes and CPU


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_tree(pids: list[int]) -> list[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (d / "stat").read_text()
                parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = set(pids), list(pids)
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sorted(tree)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in _proc_tree(pids):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _wait_health(port: int, timeout: float = 120.0) -> None:
    import urllib.request

    end = time.time() + timeout
    while time.time() < end:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        time.sleep(0.5)
    raise RuntimeError(f"app on port {port} did not become healthy")


def prepare_database(url: str) -> None:
    """Migrate and seed the demo cohort, then give the demo users a password known to this run only."""
    from sqlalchemy import update

    from db.engine import make_engine, make_session_factory, upgrade_to_head
    from db.models import User
    from hub import demo
    from hub.auth import hash_password

    engine = make_engine(url)
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    if demo.is_empty(sf):
        demo.seed_all(sf)
    with sf.begin() as s:
        s.execute(update(User).values(password_hash=hash_password(LOAD_PASSWORD)))
    engine.dispose()


@dataclass
class Deployment:
    base_url: str
    app_pids: list[int]
    procs: list[subprocess.Popen]

    def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def start(url: str, processes: int, worker: bool, logdir: Path) -> Deployment:
    env = dict(os.environ, DATABASE_URL=url, HUB_DEMO="0", HUB_COOKIE_SECRET=secrets.token_hex(32),
               PYTHONPATH=str(ROOT))
    procs, app_pids, ports = [], [], []
    for i in range(processes):
        port = _free_port()
        log = open(logdir / f"app{i}.log", "w")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                              "--server.address", "127.0.0.1", "--server.port", str(port),
                              "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        app_pids.append(p.pid)
        ports.append(port)
    if worker and (ROOT / "hub" / "worker.py").exists():
        log = open(logdir / "worker.log", "w")  # noqa: SIM115
        procs.append(subprocess.Popen([sys.executable, "-m", "hub", "worker"], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))
    for port in ports:
        _wait_health(port)
    if processes == 1:
        return Deployment(f"http://127.0.0.1:{ports[0]}", app_pids, procs)
    proxy_port = _free_port()
    log = open(logdir / "proxy.log", "w")  # noqa: SIM115
    backends = [a for port in ports for a in ("--backend", f"127.0.0.1:{port}")]
    procs.append(subprocess.Popen([sys.executable, "-m", "bench.sticky_proxy", "--listen", str(proxy_port),
                                   *backends], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True))
    _wait_health(proxy_port)
    return Deployment(f"http://127.0.0.1:{proxy_port}", app_pids, procs)


# ----------------------------------------------------------------------------- a level


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


async def level(dep: Deployment, users: int, duration: float, think: tuple[float, float], ramp: float,
                usernames: tuple[str, ...], seed: int) -> dict:
    results = Results()
    rng = random.Random(seed)
    cpu0, wall0, load0 = cpu_seconds(dep.app_pids), time.perf_counter(), os.getloadavg()[0]
    deadline = time.perf_counter() + ramp + duration
    tasks = []
    for i in range(users):
        tasks.append(asyncio.create_task(virtual_user(dep.base_url, usernames[i % len(usernames)], LOAD_PASSWORD,
                                                      deadline, think, results, random.Random(rng.random()))))
        await asyncio.sleep(ramp / max(users, 1))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - wall0
    cpu = cpu_seconds(dep.app_pids) - cpu0
    runs = results.all_runs()
    return {"users": users, "runs": len(runs), "p50_ms": 1000 * _pct(runs, 50), "p95_ms": 1000 * _pct(runs, 95),
            "max_ms": 1000 * max(runs, default=float("nan")),
            "per_kind": {k: (len(v), 1000 * _pct(v, 50), 1000 * _pct(v, 95)) for k, v in results.runs.items()},
            "login_p50_ms": 1000 * _pct(results.logins, 50), "logins": len(results.logins),
            "errors": len(results.errors), "error_sample": results.errors[:3], "cpu_s": cpu,
            "cpu_pct_of_machine": 100 * cpu / wall / (os.cpu_count() or 1), "wall_s": wall,
            "load_before": load0, "load_after": os.getloadavg()[0],
            "runs_per_s": len(runs) / wall if wall else 0.0, "median_all": statistics.median(runs) if runs else None}


def _print(processes: int, r: dict) -> None:
    kinds = "  ".join(f"{k} n={n} p50={a:.0f} p95={b:.0f}" for k, (n, a, b) in r["per_kind"].items())
    print(f"{processes} proc  {r['users']:>3} users  runs {r['runs']:>5} ({r['runs_per_s']:.1f}/s)  "
          f"p50 {r['p50_ms']:.0f} ms  p95 {r['p95_ms']:.0f} ms  max {r['max_ms']:.0f} ms  errors {r['errors']}  "
          f"app CPU {r['cpu_s']:.0f} s = {r['cpu_pct_of_machine']:.0f}% of {os.cpu_count()} cores  "
          f"load {r['load_before']:.1f}->{r['load_after']:.1f}  login p50 {r['login_p50_ms']:.0f} ms", flush=True)
    print(f"      {kinds}", flush=True)
    if r["error_sample"]:
        print(f"      errors: {r['error_sample']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Load test: concurrent logged-in users over Streamlit's protocol.")
    p.add_argument("--postgres", help="PostgreSQL URL; a fresh schema is created for the run and dropped after")
    p.add_argument("--sqlite", help="SQLite file path instead of PostgreSQL (one process only makes sense)")
    p.add_argument("--processes", type=int, default=1, choices=(1, 2, 3, 4))
    p.add_argument("--users", default="10,50,100", help="comma-separated numbers of concurrent users")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of steady load per level")
    p.add_argument("--ramp", type=float, default=10.0, help="seconds over which the users log in")
    p.add_argument("--think", default="1,3", help="think time range in seconds between actions")
    p.add_argument("--no-worker", action="store_true", help="do not start `python -m hub worker`")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if not args.postgres and not args.sqlite:
        p.error("give --postgres URL or --sqlite PATH")
    think = tuple(float(x) for x in args.think.split(","))
    levels = [int(x) for x in args.users.split(",")]
    logdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"hub-load-{uuid.uuid4().hex[:6]}"
    logdir.mkdir(parents=True)

    schema = None
    if args.postgres:
        from sqlalchemy import create_engine, text

        schema = f"load_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.postgres)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(args.sqlite).resolve()}"
    dep = None
    try:
        t = time.perf_counter()
        prepare_database(url)
        print(f"database ready in {time.perf_counter() - t:.0f} s; logs in {logdir}", flush=True)
        dep = start(url, args.processes, not args.no_worker, logdir)
        print(f"{args.processes} app process(es) at {dep.base_url}; cores {os.cpu_count()}", flush=True)
        for n in levels:
            r = asyncio.run(level(dep, n, args.duration, think, args.ramp, DEFAULT_USERS, args.seed + n))
            _print(args.processes, r)
    finally:
        if dep is not None:
            dep.stop()
        if schema:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
