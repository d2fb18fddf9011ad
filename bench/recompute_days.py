"""A full flag recompute of a seeded database as on a later day, so that waiting-time points, review and PROM
windows and due dates move (a recompute on the day the flags were computed changes nothing and costs less).

    python -m bench.recompute_days sqlite:////tmp/scale/large-100000.db 7 0

Each argument after the URL is a number of days from today; the runs go in that order (end with 0 to leave
the database as of today). Prints, per run: cases, how many priorities changed, wall and CPU seconds, and the
1-minute load average before and after.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta

from sqlalchemy import select

from db.engine import make_engine, make_session_factory
from db.models import Case
from hub import flags


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    sf = make_session_factory(make_engine(args[0]))
    for days in (int(a) for a in args[1:]):
        day = date.today() + timedelta(days=days)
        with sf() as s:
            before = {r[0]: r[1] for r in s.execute(select(Case.id, Case.priority))}
        load0 = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        n = flags.recompute_all(sf, day)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with sf() as s:
            after = {r[0]: r[1] for r in s.execute(select(Case.id, Case.priority))}
        changed = sum(1 for k, v in after.items() if v != before.get(k))
        print(f"recompute as of {day} ({days:+d} days): {n:,} cases, {changed:,} priorities changed, "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU (this process; SQLite runs in it), "
              f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
