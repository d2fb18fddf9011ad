"""How many demo cases carry each flag, overall and by trajectory (alarm load of the demo cohort).

Usage: python -m bench.demo_flag_counts [--json OUT]
Seeds the demo (hub.demo.seed_all) into a temporary SQLite database and counts the flags stored on
each case, per flag code and per trajectory of the synthetic patient.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import select


def main(argv: list[str]) -> int:
    from db.engine import make_engine, make_session_factory, upgrade_to_head
    from db.models import Case, Patient
    from hub import flags
    from hub.demo import seed_all
    from hub.demo.history import plan_cohort

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        sf = make_session_factory(engine)
        seed_all(sf)
        trajectory = {p.nhs: p.trajectory for p in plan_cohort(2026, 150, date.today())}
        overall: Counter = Counter()
        by_traj: dict[str, Counter] = defaultdict(Counter)
        cases_by_traj: Counter = Counter()
        priority_by_traj: dict[str, list[float]] = defaultdict(list)
        with sf() as s:
            rows = s.execute(select(Case, Patient.nhs_number).join(Patient, Patient.id == Case.patient_id)).all()
            case_flags = flags.for_cases(s, [case.id for case, _ in rows])
            for case, nhs in rows:
                t = trajectory.get(nhs, "?")
                cases_by_traj[t] += 1
                priority_by_traj[t].append(float(case.priority or 0))
                for code in {f.code for f in case_flags[case.id]}:
                    overall[code] += 1
                    by_traj[t][code] += 1
        engine.dispose()
    out = {"cases": dict(cases_by_traj), "overall": dict(sorted(overall.items())),
           "by_trajectory": {t: dict(sorted(c.items())) for t, c in sorted(by_traj.items())},
           "mean_priority": {t: round(sum(v) / len(v), 1) for t, v in sorted(priority_by_traj.items()) if v}}
    text = json.dumps(out, indent=1)
    if "--json" in argv:
        Path(argv[argv.index("--json") + 1]).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
