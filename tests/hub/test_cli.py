"""`python -m hub` commands on a temporary SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path, *args):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_demo_seed_refuses_twice_and_reset_reseeds(tmp_path):
    first = run(tmp_path, "demo")
    assert first.returncode == 0 and "patient 150" in first.stdout
    again = run(tmp_path, "demo")
    assert again.returncode == 1 and "--reset" in again.stderr
    reset = run(tmp_path, "demo", "--reset")
    assert reset.returncode == 0 and "hub_case" in reset.stdout
    flags = run(tmp_path, "refresh-flags")
    assert flags.returncode == 0 and "Flags recomputed for" in flags.stdout


def test_export_fhir_needs_a_user_in_scope(tmp_path):
    import json

    assert run(tmp_path, "demo").returncode == 0
    nobody = run(tmp_path, "export-fhir", "1", "--user", "nobody")
    assert nobody.returncode == 2 and "No active user" in nobody.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.db") as con:
        submitted = con.execute("SELECT id FROM hub_case WHERE status = 'submitted' LIMIT 1").fetchone()[0]
        draft = con.execute("SELECT id FROM hub_case WHERE status = 'draft' LIMIT 1").fetchone()[0]
    out = tmp_path / "b.json"
    ok = run(tmp_path, "export-fhir", str(submitted), "--user", "chair", "--out", str(out))
    assert ok.returncode == 0
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    refused = run(tmp_path, "export-fhir", str(draft), "--user", "chair")
    assert refused.returncode == 1 and "not" in refused.stderr.lower()
    with sqlite3.connect(tmp_path / "cli.db") as con:
        assert con.execute("SELECT count(*) FROM audit_event WHERE action = 'fhir.export'").fetchone()[0] == 1


def test_import_wearables_is_idempotent_and_scoped(tmp_path):
    import sqlite3

    assert run(tmp_path, "demo").returncode == 0
    with sqlite3.connect(tmp_path / "cli.db") as con:
        case_id = con.execute("SELECT c.id FROM hub_case c JOIN practice p ON p.id = c.practice_id "
                              "WHERE p.code = 'NORTH' AND c.status = 'submitted' LIMIT 1").fetchone()[0]
    sample = str(ROOT / "tests" / "data" / "wearables_sample.csv")
    first = run(tmp_path, "import-wearables", str(case_id), sample, "--user", "gp.north")
    assert first.returncode == 0 and "Added 7 day(s)" in first.stdout
    again = run(tmp_path, "import-wearables", str(case_id), sample, "--user", "gp.north")
    assert "Added 0 day(s)" in again.stdout and "unchanged 7" in again.stdout
    other = run(tmp_path, "import-wearables", str(case_id), sample, "--user", "gp.river")
    assert other.returncode == 1 and "not in your scope" in other.stderr
