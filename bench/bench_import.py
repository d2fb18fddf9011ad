"""Wearable import benchmark: time and peak memory of `hub.wearables.import_file` (parse + write into a
fresh SQLite hub) for Apple Health exports. Run by hand, never by pytest:

    python -m bench.bench_import [--scenarios same-day,same-day-nested,large] [--large-mb 300] [--dir /tmp]

Scenarios (the files are generated in --dir, default a temp directory, and deleted afterwards):
* same-day         20,000 + 20,000 step records on one day from two sources (phone and watch) that
                   overlap minute by minute, the shape of a day when both devices count one walk;
* same-day-nested  20,000 one-second records of one source plus 20,000 records of the other source
                   that each span the whole day (the worst case for the former quadratic de-duplication);
* large            an export.xml of about --large-mb MB: 230 records a day (steps from two sources,
                   exercise, resting heart rate, sleep stages) with metadata, over as many days as it takes.

Each scenario runs in its own subprocess; peak memory is that process's maximum resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) minus the RSS after imports and database setup, and the
total maxrss. Output: one Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

STEPS = "HKQuantityTypeIdentifierStepCount"
EXERCISE = "HKQuantityTypeIdentifierAppleExerciseTime"
RHR = "HKQuantityTypeIdentifierRestingHeartRate"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
ASLEEP = "HKCategoryValueSleepAnalysisAsleep"
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n]>\n'
         '<HealthData locale="en_GB">\n <ExportDate value="2024-01-01 00:00:00 +0000"/>\n')
_F = "%Y-%m-%d %H:%M:%S"


def _rec(kind: str, src: str, a: datetime, b: datetime, value, unit: str | None = "count", extra: str = "") -> str:
    u = f' unit="{unit}"' if unit else ""
    return (f' <Record type="{kind}" sourceName="{src}" sourceVersion="17.0"{u} creationDate="{b:{_F}} +0000" '
            f'startDate="{a:{_F}} +0000" endDate="{b:{_F}} +0000" value="{value}"{extra}\n')


def write_same_day(path: Path, nested: bool) -> int:
    day = datetime(2024, 3, 5)
    with open(path, "w", encoding="utf-8") as f:
        f.write(_HEAD)
        for k in range(20_000):
            if nested:
                a = day + timedelta(seconds=4 * k)
                f.write(_rec(STEPS, "Watch", a, a + timedelta(seconds=1), 1) .replace('"\n', '"/>\n'))
            else:
                a = day + timedelta(seconds=4 * k)
                f.write(_rec(STEPS, "Watch", a, a + timedelta(seconds=60), 5).replace('"\n', '"/>\n'))
        for k in range(20_000):
            if nested:
                a, b = day + timedelta(seconds=k % 60), day + timedelta(hours=23, seconds=k % 60)
                f.write(_rec(STEPS, "iPhone", a, b, 1).replace('"\n', '"/>\n'))
            else:
                a = day + timedelta(seconds=4 * k + 2)
                f.write(_rec(STEPS, "iPhone", a, a + timedelta(seconds=60), 4).replace('"\n', '"/>\n'))
        f.write("</HealthData>\n")
    return 40_000


def write_large(path: Path, megabytes: int) -> int:
    """About `megabytes` MB of export.xml, realistic records a day back from 2024-12-31; returns records."""
    target = megabytes << 20
    meta = '  <MetadataEntry key="HKMetadataKeySyncIdentifier" value="0123456789abcdef0123456789abcdef"/>\n'
    n = 0
    day = datetime(2024, 12, 31)
    with open(path, "w", encoding="utf-8") as f:
        f.write(_HEAD)
        while f.tell() < target:
            chunk: list[str] = []
            for k in range(120):
                a = day + timedelta(hours=7, minutes=5 * k)
                chunk.append(_rec(STEPS, "iPhone", a, a + timedelta(minutes=4), 40) + f">\n{meta} </Record>\n")
                chunk.append(_rec(STEPS, "Watch", a + timedelta(minutes=1), a + timedelta(minutes=5), 45)
                             .replace('"\n', '"/>\n'))
            for k in range(30):
                a = day + timedelta(hours=18, minutes=k)
                chunk.append(_rec(EXERCISE, "Watch", a, a + timedelta(minutes=1), 1, "min").replace('"\n', '"/>\n'))
            for hr in (58, 62):
                chunk.append(_rec(RHR, "Watch", day, day + timedelta(hours=23), hr, "count/min")
                             .replace('"\n', '"/>\n'))
            night = day - timedelta(hours=1)
            for k in range(18):
                a = night + timedelta(minutes=25 * k)
                chunk.append(_rec(SLEEP, "Watch", a, a + timedelta(minutes=25), ASLEEP + ("Core", "Deep", "REM")[k % 3],
                                  None).replace('"\n', '"/>\n'))
            f.write("".join(chunk))
            n += 240 + 30 + 2 + 18
            day -= timedelta(days=1)
        f.write("</HealthData>\n")
    return n


def _child(path: str) -> None:
    """In a subprocess: a fresh SQLite hub with one case, then import_file(path); prints JSON."""
    import resource

    from db.engine import make_engine, make_session_factory, upgrade_to_head
    from db.models import Practice, User, UserRole
    from hub import cases, wearables
    from hub.access import Actor
    from hub.cases import CaseInput, NewPatient
    from hub.vocab import RED_FLAGS

    tmp = tempfile.mkdtemp()
    engine = make_engine(f"sqlite:///{tmp}/hub.db")
    upgrade_to_head(engine)
    sf = make_session_factory(engine)
    with sf.begin() as s:
        p = Practice(code="A", name="Practice A")
        s.add(p)
        s.flush()
        u = User(username="gp.bench", name="GP", password_hash="x", practice_id=p.id, roles=[UserRole(role="pcp")])
        s.add(u)
        s.flush()
        actor = Actor(u.id, "gp.bench", "GP", frozenset({"pcp"}), p.id, None)
    case_id = cases.save_case(sf, actor, CaseInput(
        new_patient=NewPatient(nhs_number="943 476 5919", given_name="Ann", family_name="Lee", birth_year=1960,
                               sex="female"),
        condition="knee_oa", pain_classification="secondary", duration_months=18, clinical_question="Activity?",
        red_flags={k: False for k in RED_FLAGS}, baseline_pain=6), submit=True).case_id
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    report, errors = wearables.import_file(sf, actor, case_id, path, "apple_health")
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "maxrss_mb": peak_kb / 1024, "delta_mb": (peak_kb - base_kb) / 1024,
                      "added": report.added, "errors": [str(e) for e in errors][:3]}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default="same-day,same-day-nested,large")
    ap.add_argument("--large-mb", type=int, default=300)
    ap.add_argument("--dir", default=None, help="where to write the generated files (deleted afterwards)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for name in args.scenarios.split(","):
            path = Path(tmp) / f"{name}.xml"
            t0 = time.perf_counter()
            records = (write_large(path, args.large_mb) if name == "large"
                       else write_same_day(path, nested=name.endswith("nested")))
            print(f"{name}: wrote {path.stat().st_size / 2**20:.0f} MB, {records:,} records in "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
            out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--child", str(path)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((name, path.stat().st_size / 2**20, records, r))
            path.unlink()
    print("| scenario | file MB | records | import s | peak RSS MB (process) | RSS growth MB | days added |")
    print("|---|---|---|---|---|---|---|")
    for name, mb, records, r in rows:
        print(f"| {name} | {mb:.0f} | {records:,} | {r['seconds']:.1f} | {r['maxrss_mb']:.0f} | {r['delta_mb']:.0f} "
              f"| {r['added']} |")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
