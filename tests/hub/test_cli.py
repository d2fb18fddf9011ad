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
