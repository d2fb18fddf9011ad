"""The flag-filtered queue at two sizes, in CPU time of this process (SQLite runs in-process, so the figure
moves far less with the shared machine's load than wall time). Uses two databases seeded by bench_scale:

    python -m bench.bench_scale --small 1000 --large 20000 --keep /tmp/scale --rounds 1 --no-refresh
    python -m bench.flag_filter_cpu /tmp/scale/small-1000.db /tmp/scale/large-20000.db --repeat 41

Sizes are measured interleaved (ABBA); medians in ms of CPU time; the 1-minute load average is printed."""

from __future__ import annotations

import argparse
import os
import statistics
import time

from db.engine import make_engine, make_session_factory
from hub import cases
from hub.auth import actor_for

OPEN = ["submitted", "triaged", "scheduled"]


def variants(sf) -> dict:
    chair, pcp = actor_for(sf, "chair"), actor_for(sf, "gp.north")
    out = {}
    for sort in cases.QUEUE_SORTS:
        for code in ("inertia", "safety_phq9"):
            out[f"hub {code}, sort {sort}"] = (lambda s=sort, c=code: cases.queue(sf, chair, statuses=OPEN,
                                                                                 flag_codes=[c], sort=s))
    out["hub inertia + opioid_red"] = lambda: cases.queue(sf, chair, statuses=OPEN,
                                                          flag_codes=["inertia", "opioid_red"])
    out["hub inertia, condition filter"] = lambda: cases.queue(sf, chair, statuses=OPEN, flag_codes=["inertia"],
                                                               conditions=["low_back_pain"])
    out["PCP inertia (all statuses)"] = lambda: cases.queue(sf, pcp, flag_codes=["inertia"])
    for sort in ("waiting", "newest", "pain"):
        out[f"PCP inertia, sort {sort}"] = lambda s=sort: cases.queue(sf, pcp, flag_codes=["inertia"], sort=s)
    out["PCP inertia, condition filter"] = lambda: cases.queue(sf, pcp, flag_codes=["inertia"],
                                                               conditions=["low_back_pain"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("small")
    ap.add_argument("large")
    ap.add_argument("--repeat", type=int, default=41)
    a = ap.parse_args()
    small, large = (variants(make_session_factory(make_engine(f"sqlite:///{p}"))) for p in (a.small, a.large))
    print(f"load {os.getloadavg()[0]:.2f}")
    for name in small:
        times: dict[str, list[float]] = {"small": [], "large": []}
        small[name](), large[name]()  # warm-up
        for r in range(a.repeat):
            for label, v in ((("small", small), ("large", large)) if r % 2 == 0 else
                             (("large", large), ("small", small))):
                c0 = time.process_time()
                v[name]()
                times[label].append((time.process_time() - c0) * 1000)
        s, b = statistics.median(times["small"]), statistics.median(times["large"])
        print(f"{name:36s} small {s:6.2f} ms  large {b:6.2f} ms  ratio {b / s:5.2f}")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
