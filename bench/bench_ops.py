"""Operations benchmarks: audit chain verification for N events, and backup/restore of the demo and of a
hub with many cases, on SQLite or PostgreSQL.

    python -m bench.bench_ops verify [--events 1000000] [--backend sqlite|postgresql]
    python -m bench.bench_ops backup [--cases 100000] [--backend sqlite|postgresql]

PostgreSQL uses TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test): a fresh
schema `bench_<hex>` (and a fresh database for the restore), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text, update

from db.engine import make_engine, make_session_factory, upgrade_to_head
from db.models import AuditChain, AuditEvent, utcnow
from hub import audit
from db.engine import SessionFactory

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Database:
    """A fresh database for one benchmark (SQLite temp file or a PostgreSQL schema)."""

    def __init__(self, backend: str, tmp: Path):
        self.backend, self.schema = backend, None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'bench.db'}"
        else:
            base = os.environ.get("TEST_POSTGRES_URL", PG_DEFAULT)
            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            admin = create_engine(base)
            with admin.begin() as c:
                c.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.base = base
            self.url = f"{base}?options=-csearch_path%3D{self.schema}"
        self.engine = make_engine(self.url)
        upgrade_to_head(self.engine)
        self.sf = make_session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.schema:
            admin = create_engine(self.base)
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


def fill_chain(sf: SessionFactory, n: int, batch: int = 20_000) -> None:
    """Append n chained events quickly (the same hashes hub.audit computes, inserted in batches)."""
    with sf() as s:
        seq, prev = s.execute(select(AuditChain.seq, AuditChain.last_hash)).one()
    start = utcnow() - timedelta(days=365)
    done = 0
    while done < n:
        rows = []
        for _ in range(min(batch, n - done)):
            seq += 1
            at = start + timedelta(seconds=seq)
            changes = {"field": ["old value", f"new value {seq}"], "case_id": seq % 5000}
            digest = audit.event_hash(prev, seq, at, None, "bench.event", "case", str(seq % 5000), changes)
            rows.append({"seq": seq, "at": at, "actor_id": None, "action": "bench.event", "entity": "case",
                         "entity_id": str(seq % 5000), "changes": changes, "prev_hash": prev, "hash": digest})
            prev = digest
        with sf.begin() as s:
            s.execute(insert(AuditEvent), rows)
            s.execute(update(AuditChain).where(AuditChain.id == 1).values(seq=seq, last_hash=prev))
        done += len(rows)
        if done % 200_000 < batch:
            log(f"  {done:,} events written")


def bench_verify(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.backend, Path(tmp))
        try:
            t0 = time.perf_counter()
            fill_chain(db.sf, args.events)
            log(f"filled {args.events:,} events in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            report = audit.verify(db.sf)
            elapsed = time.perf_counter() - t0
            print(f"verify-audit, {args.backend}, {report.checked:,} events: {elapsed:.1f} s "
                  f"({report.checked / elapsed:,.0f} events/s) -> {report.message()}")
        finally:
            db.close()


def bench_backup(args) -> None:
    from bench.seed_bulk import seed_bulk_cases
    from hub import backup, demo

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, n_cases in (("demo", 0), (f"{args.cases:,} cases", args.cases)):
            db = Database(args.backend, tmp / label.replace(" ", "_").replace(",", ""))
            restore_db = None
            try:
                t0 = time.perf_counter()
                demo.seed_all(db.sf)
                if n_cases:
                    have = demo.cohort_counts(db.sf)["hub_case"]
                    seed_bulk_cases(db.sf, n_cases - have)
                log(f"{label}: seeded in {time.perf_counter() - t0:.1f} s")
                out = tmp / f"{label.replace(' ', '_').replace(',', '')}.backup"
                t0 = time.perf_counter()
                backup.backup(db.url, out)
                t_backup = time.perf_counter() - t0
                if args.backend == "sqlite":
                    target = f"sqlite:///{tmp / (out.stem + '-restored.db')}"
                else:
                    name = f"restore_{uuid.uuid4().hex[:10]}"
                    admin = create_engine(db.base, isolation_level="AUTOCOMMIT")
                    with admin.connect() as c:
                        c.execute(text(f'CREATE DATABASE "{name}"'))
                    admin.dispose()
                    restore_db = name
                    target = f"{db.base.rpartition('/')[0]}/{name}?options=-csearch_path%3D{db.schema}"
                t0 = time.perf_counter()
                report = backup.restore(out, target)
                t_restore = time.perf_counter() - t0
                print(f"{args.backend}, {label}: backup {t_backup:.1f} s ({out.stat().st_size / 1e6:.0f} MB), "
                      f"restore {t_restore:.1f} s (incl. migrate check and audit chain verification: "
                      f"{report.chain_message}); rows: {report.counts}")
            finally:
                db.close()
                if restore_db:
                    admin = create_engine(db.base, isolation_level="AUTOCOMMIT")
                    with admin.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{restore_db}" WITH (FORCE)'))
                    admin.dispose()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_ops", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--events", type=int, default=1_000_000)
    v.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    b = sub.add_parser("backup")
    b.add_argument("--cases", type=int, default=100_000)
    b.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = p.parse_args(argv)
    (bench_verify if args.what == "verify" else bench_backup)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
