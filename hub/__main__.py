"""Command line: `python -m hub demo --reset`, `migrate`, `verify-audit`, `backup OUT`, `restore IN`, ..."""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m hub`."""
    parser = argparse.ArgumentParser(prog="python -m hub", description="MSK Pain Hub administration")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="seed the synthetic demo cohort (empty database only, or --reset)")
    p_demo.add_argument("--reset", action="store_true", help="delete ALL data and re-seed the demo cohort")
    p_demo.add_argument("--seed", type=int, default=2026)
    sub.add_parser("migrate", help="upgrade the database schema to head")
    sub.add_parser("refresh-flags", help="recompute flags and queue priority of every case")
    p_work = sub.add_parser("worker", help="background worker: daily flag refresh and re-listing (one at a time)")
    p_work.add_argument("--once", action="store_true", help="check once and exit (for cron)")
    p_work.add_argument("--interval", type=float, default=30.0, help="seconds between checks (default 30)")
    p_work.add_argument("--parent-pid", type=int, help="exit when this process (the app) has ended")
    p_work.add_argument("--nice", type=int, default=10,
                        help="run at a lower CPU priority than the app by this much (Linux nice; default 10, "
                             "0 keeps the same): page runs and writes come first while a refresh runs")
    p_wear = sub.add_parser("import-wearables", help="import daily wearable data (CSV or Apple Health export)")
    p_wear.add_argument("case_id", type=int)
    p_wear.add_argument("file", help="a CSV (date,steps,active_minutes,sleep_hours,resting_hr) or export.xml/.zip")
    p_wear.add_argument("--kind", choices=["csv", "apple_health"], help="default: from the file name")
    p_wear.add_argument("--user", required=True, help="username of the PCP importing (their practice's cases only)")
    p_fhir = sub.add_parser("export-fhir", help="write a case as a FHIR R4 Bundle (JSON) to stdout or a file")
    p_fhir.add_argument("case_id", type=int)
    p_fhir.add_argument("--user", required=True, help="username of the clinician exporting (their scope applies)")
    p_fhir.add_argument("--out", help="file to write (default: stdout)")
    sub.add_parser("verify-audit", help="verify the audit trail's hash chain; reports the first broken link")
    p_backup = sub.add_parser("backup", help="back up the database to a new file (safe while the app runs)")
    p_backup.add_argument("out", help="file to write (must not exist)")
    p_restore = sub.add_parser("restore", help="restore a backup into the configured, EMPTY database")
    p_restore.add_argument("file", help="a file written by `python -m hub backup`")
    args = parser.parse_args(argv)

    from db.engine import database_url, make_engine, make_session_factory, upgrade_to_head
    from hub import bootstrap, demo

    url = database_url()
    if args.command in ("backup", "restore"):
        from hub import backup

        started = time.perf_counter()
        try:
            if args.command == "backup":
                path = backup.backup(url, args.out)
                print(f"Backup written to {path} ({path.stat().st_size / 1e6:.1f} MB) in "
                      f"{time.perf_counter() - started:.1f} s")
                return 0
            report = backup.restore(args.file, url)
        except backup.BackupError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print(f"Restored in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{k} {v}" for k, v in report.counts.items()))
        print(report.chain_message)
        return 0 if report.chain_ok else 3
    engine = make_engine(url)
    upgrade_to_head(engine)
    if args.command == "migrate":
        print(f"Database at head: {engine.url.render_as_string(hide_password=True)}")
        return 0
    sf = make_session_factory(engine)
    started = time.perf_counter()
    if args.command == "import-wearables":
        from hub import wearables
        from hub.auth import actor_for
        from hub.errors import HubError

        actor = actor_for(sf, args.user)
        if actor is None:
            print(f"No active user '{args.user}'.", file=sys.stderr)
            return 2
        kind = args.kind or ("csv" if args.file.lower().endswith(".csv") else "apple_health")

        def progress(done: int, total: int | None) -> None:
            if total:
                print(f"\r{done * 100 // total:3d}% read", end="", file=sys.stderr, flush=True)

        try:
            imported, errors = wearables.import_file(sf, actor, args.case_id, args.file, kind, progress=progress)
        except HubError as exc:
            print(f"\n{exc}", file=sys.stderr)
            return 1
        print("", file=sys.stderr)
        for e in errors:
            print(str(e), file=sys.stderr)
        print(f"Added {imported.added} day(s), updated {imported.updated}, unchanged {imported.unchanged}; "
              f"{imported.skipped_errors} row(s) skipped with errors")
        return 0
    if args.command == "export-fhir":
        from hub import audit, fhir
        from hub.auth import actor_for
        from hub.errors import HubError

        actor = actor_for(sf, args.user)
        if actor is None:
            print(f"No active user '{args.user}'.", file=sys.stderr)
            return 2
        try:
            text = fhir.export_case_json(sf, actor, args.case_id)
        except HubError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        with sf.begin() as s:
            audit.record(s, actor, "fhir.export", "case", args.case_id, {"via": "cli", "out": args.out or "stdout"})
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"Wrote {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "verify-audit":
        from hub import audit

        chain = audit.verify(sf)
        print(f"{chain.message()} ({time.perf_counter() - started:.1f} s)")
        return 0 if chain.ok else 3
    if args.command == "refresh-flags":
        from hub import worker

        result = worker.run_once(sf, force_full=True)
        if result.outcome == "locked":
            print("Another worker holds the lock and is refreshing flags; nothing done.")
            return 1
        print(f"Flags recomputed for {result.cases} cases in {result.seconds:.1f} s")
        return 0
    if args.command == "worker":
        import logging

        from hub import worker

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        worker.lower_priority(args.nice)
        if args.once:
            result = worker.run_once(sf)
            print({"locked": "Skipped: another worker holds the lock.",
                   "idle": "Nothing due: flags were refreshed today."}.get(
                result.outcome, f"Flags refresh ({result.outcome}) done in {result.seconds:.1f} s"))
            return 0
        worker.serve(sf, interval=args.interval, parent_pid=args.parent_pid)
        return 0
    if args.reset:
        try:
            demo.wipe(engine)
        except demo.DemoResetRefused as exc:
            print(str(exc), file=sys.stderr)
            return 1
    if not demo.is_empty(sf):
        print("The database already holds data; use `python -m hub demo --reset` to replace it.", file=sys.stderr)
        return 1
    counts = bootstrap.seed_demo_if_empty(sf, server=engine.dialect.name != "sqlite", seed=args.seed)
    if counts is None:
        print("Another process seeded the database at the same time.", file=sys.stderr)
        return 1
    print(f"Demo cohort seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
