"""Background work out of the web process: `python -m hub worker` owns the daily refresh of date-dependent
flags and the follow-through re-listing (and the full recompute after a setting changes).

Exactly one worker runs the refresh at a time across any number of app and worker processes: it holds a
database lock first (PostgreSQL: a session-level `pg_try_advisory_lock`; SQLite: the `worker_lock` row,
claimed with a conditional UPDATE that only succeeds when the row is free or its lease expired, renewed
while the work runs). A worker that does not get the lock skips this round.

`python -m hub worker --once` checks once and exits (for cron); without it the worker polls every
`--interval` seconds. The app starts one worker per server process as a child process (ui.runtime), unless
HUB_WORKER=external says a separate worker service runs it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from db.models import WorkerLock, utcnow
from hub import flags
from db.engine import SessionFactory

LOCK_NAME = "flags-refresh"
LEASE = timedelta(minutes=5)
log = logging.getLogger("hub.worker")


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLock:
    """A named lock across processes: `acquire()` is non-blocking (True when held), `renew()` extends the
    SQLite lease, `release()` frees it. Use as `with DbLock(engine) as held: if held: ...`."""

    def __init__(self, engine: Engine, name: str = LOCK_NAME, lease: timedelta = LEASE) -> None:
        self.engine, self.name, self.lease = engine, name, lease
        self.owner = _owner_id()
        self.held = False
        self._conn: Connection | None = None  # PostgreSQL: the session that holds the advisory lock

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        if self._postgres:
            conn = self.engine.connect()
            # The key names this database and schema (test schemas share one database) and the lock.
            got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(current_database() || '.' || "
                                    "current_schema() || '.' || :name))"), {"name": self.name}).scalar()
            conn.commit()  # a session-level lock outlives the transaction; keep the connection
            if got:
                self._conn = conn
            else:
                conn.close()
            self.held = bool(got)
            return self.held
        now = utcnow()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(WorkerLock).where(WorkerLock.name == self.name,
                                         (WorkerLock.owner.is_(None)) | (WorkerLock.expires_at < now))
                .values(owner=self.owner, expires_at=now + self.lease)).rowcount
            missing = conn.execute(select(WorkerLock.name).where(WorkerLock.name == self.name)).first() is None
            if not claimed and missing:  # the migration adds the row; a database without it gets it here
                try:  # (SQLite only here: an IntegrityError does not end its transaction)
                    conn.execute(insert(WorkerLock).values(name=self.name, owner=self.owner,
                                                           expires_at=now + self.lease))
                    claimed = 1
                except IntegrityError:  # another worker inserted it first: it holds the lock
                    claimed = 0
        self.held = bool(claimed)
        return self.held

    def renew(self) -> bool:
        """Extend the lease (SQLite); False if another worker took the lock over after it expired."""
        if not self.held or self._postgres:
            return self.held
        with self.engine.begin() as conn:
            ok = conn.execute(update(WorkerLock).where(WorkerLock.name == self.name, WorkerLock.owner == self.owner)
                              .values(expires_at=utcnow() + self.lease)).rowcount
        self.held = bool(ok)
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        if self._postgres and self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(hashtext(current_database() || '.' || "
                                        "current_schema() || '.' || :name))"), {"name": self.name})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        else:
            with self.engine.begin() as conn:
                conn.execute(update(WorkerLock).where(WorkerLock.name == self.name, WorkerLock.owner == self.owner)
                             .values(owner=None, expires_at=None))
        self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass(frozen=True)
class RunResult:
    """What one check did: 'locked' (another worker holds the lock), 'idle' (nothing due), 'daily' or 'full'."""

    outcome: str
    seconds: float = 0.0
    cases: int | None = None  # cases recomputed, when known (a full recompute)


def _renewer(lock: DbLock, stop: threading.Event) -> threading.Thread:
    """Keep a SQLite lease alive while a long refresh runs (PostgreSQL needs nothing)."""
    def run() -> None:
        while not stop.wait(lock.lease.total_seconds() / 3):
            lock.renew()

    return threading.Thread(target=run, name="worker-lock-lease", daemon=True)


def lower_priority(by: int) -> int:
    """Lower this process's CPU priority by `by` (Linux nice) so the app's page runs and writes get the
    processor first while a refresh runs: the refresh then takes longer on a busy machine, the users do not
    wait for it. Returns the new niceness (unchanged where the platform has no nice)."""
    if by <= 0 or not hasattr(os, "nice"):
        return os.nice(0) if hasattr(os, "nice") else 0
    return os.nice(by)


def run_once(session_factory: SessionFactory, today: date | None = None, *, force_full: bool = False) -> RunResult:
    """One check: take the lock (or return 'locked'), then run the refresh that is due (see
    hub.flags.refresh_if_stale), or every case when force_full."""
    engine = session_factory.kw["bind"]
    lock = DbLock(engine)
    if not lock.acquire():
        return RunResult("locked")
    stop = threading.Event()
    renewer = _renewer(lock, stop)
    renewer.start()
    started = time.perf_counter()
    cases = None
    try:
        if force_full:
            cases = flags.recompute_all(session_factory, today)
            outcome = "full"
        else:
            outcome = flags.refresh_if_stale(session_factory, today) or "idle"
    finally:
        stop.set()
        renewer.join()
        lock.release()
    result = RunResult(outcome, time.perf_counter() - started, cases)
    if outcome != "idle":
        log.info("flags refresh %s in %.1f s", outcome, result.seconds)
    return result


def serve(session_factory: SessionFactory, interval: float = 30.0, parent_pid: int | None = None,
          stop: threading.Event | None = None) -> None:
    """Check every `interval` seconds until stopped (or until the parent process is gone)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            return  # the app that started us has ended
        try:
            run_once(session_factory)
        except Exception:  # a failed round is retried at the next one; the worker keeps running
            log.exception("flags refresh failed at %s", datetime.now().isoformat(timespec="seconds"))
        stop.wait(interval)


def start_child(url: str, interval: float = 30.0):
    """Start `python -m hub worker` for this database as a child process of the calling (app) process; it
    exits when its parent does. Returns the Popen, or None when HUB_WORKER is 'external' or 'off'."""
    import atexit
    import subprocess
    import sys
    from pathlib import Path

    mode = os.environ.get("HUB_WORKER", "child").strip().lower()
    if mode in ("external", "off", "0", "no"):
        return None
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "worker", "--interval", str(interval), "--parent-pid", str(os.getpid())],
        cwd=str(Path(__file__).resolve().parent.parent), env=env, stdin=subprocess.DEVNULL)
    atexit.register(_stop_child, proc)
    return proc


def _stop_child(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
