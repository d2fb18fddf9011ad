"""`python -m hub` commands on a temporary SQLite database.

The commands run in-process (hub.__main__.main with DATABASE_URL set), on a copy of a database the CLI
seeded once per session (`cli.use_demo()`); one smoke test runs the real `python -m hub` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _database_url(url: str):
    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = before


def _seed_with_the_cli(sf) -> str:
    """Template: what `python -m hub demo` writes into an empty database; returns what it printed."""
    out = io.StringIO()
    with _database_url(sf.kw["bind"].url.render_as_string(hide_password=False)), redirect_stdout(out):
        assert main(["demo"]) == 0
    return out.getvalue()


@pytest.fixture
def cli(tmp_path, capsys, db_templates):
    """`cli(*args)` runs `python -m hub ARGS` in-process on this test's database (a copy of the demo the CLI
    seeded, or an empty file with `cli.empty()`); `cli.path` is the SQLite file."""

    class Cli:
        path: Path

        def use_demo(self) -> str:
            """A copy of the database `python -m hub demo` seeded (once per session); returns its output."""
            url, printed, _ = db_templates.clone("sqlite", "cli-demo", _seed_with_the_cli, tmp_path)
            self.path = Path(url.removeprefix("sqlite:///"))
            return printed

        def __call__(self, *args: str) -> Result:
            capsys.readouterr()
            with _database_url(f"sqlite:///{self.path}"):
                code = main(list(args))
            out, err = capsys.readouterr()
            return Result(code, out, err)

    return Cli()


def test_demo_seed_refuses_twice_and_reset_reseeds(cli):
    first = cli.use_demo()  # `python -m hub demo` on an empty database
    assert "Demo cohort seeded" in first and "patient 150" in first
    again = cli("demo")
    assert again.returncode == 1 and "--reset" in again.stderr
    reset = cli("demo", "--reset")
    assert reset.returncode == 0 and "hub_case" in reset.stdout
    flags = cli("refresh-flags")
    assert flags.returncode == 0 and "Flags recomputed for" in flags.stdout


def test_export_fhir_needs_a_user_in_scope(cli, tmp_path):
    cli.use_demo()
    nobody = cli("export-fhir", "1", "--user", "nobody")
    assert nobody.returncode == 2 and "No active user" in nobody.stderr
    with sqlite3.connect(cli.path) as con:
        submitted = con.execute("SELECT id FROM hub_case WHERE status = 'submitted' LIMIT 1").fetchone()[0]
        draft = con.execute("SELECT id FROM hub_case WHERE status = 'draft' LIMIT 1").fetchone()[0]
    out = tmp_path / "b.json"
    ok = cli("export-fhir", str(submitted), "--user", "chair", "--out", str(out))
    assert ok.returncode == 0
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    refused = cli("export-fhir", str(draft), "--user", "chair")
    assert refused.returncode == 1 and "not" in refused.stderr.lower()
    with sqlite3.connect(cli.path) as con:
        assert con.execute("SELECT count(*) FROM audit_event WHERE action = 'fhir.export'").fetchone()[0] == 1


def test_import_wearables_is_idempotent_and_scoped(cli):
    cli.use_demo()
    with sqlite3.connect(cli.path) as con:
        case_id = con.execute("SELECT c.id FROM hub_case c JOIN practice p ON p.id = c.practice_id "
                              "WHERE p.code = 'NORTH' AND c.status = 'submitted' LIMIT 1").fetchone()[0]
    sample = str(ROOT / "tests" / "data" / "wearables_sample.csv")
    first = cli("import-wearables", str(case_id), sample, "--user", "gp.north")
    assert first.returncode == 0 and "Added 7 day(s)" in first.stdout
    again = cli("import-wearables", str(case_id), sample, "--user", "gp.north")
    assert "Added 0 day(s)" in again.stdout and "unchanged 7" in again.stdout
    other = cli("import-wearables", str(case_id), sample, "--user", "gp.river")
    assert other.returncode == 1 and "not in your scope" in other.stderr


def test_python_m_hub_runs_as_a_program(cli):
    """Smoke test of the real entry point: `python -m hub` in a subprocess, its exit code and output."""
    cli.use_demo()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{cli.path}")
    run = subprocess.run([sys.executable, "-m", "hub", "refresh-flags"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert re.search(r"Flags recomputed for [1-9][0-9]+ cases", run.stdout), run.stdout
    again = subprocess.run([sys.executable, "-m", "hub", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 1 and "--reset" in again.stderr
