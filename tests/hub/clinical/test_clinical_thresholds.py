"""Configurable thresholds, and the purity rules of hub.clinical (no streamlit, no database, no I/O)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from hub.clinical import instruments, opioids, outcomes, pathway, signals, thresholds
from hub.clinical.goals import gas_t_score

CLINICAL_DIR = Path(instruments.__file__).parent


def test_defaults_cover_every_threshold_and_are_in_range():
    d = thresholds.defaults()
    assert len(d) == len(thresholds.THRESHOLDS) >= 40
    for t in thresholds.THRESHOLDS:
        assert t.min <= t.default <= t.max, t.key
        assert t.source_label in thresholds.SOURCE_LABELS and t.source_text and t.description and t.unit
        assert thresholds.validate(t.key, t.default) == t.default


@pytest.mark.parametrize(
    "key, expected",
    [("opioid.red_ome", 120), ("opioid.amber_ome", 90), ("opioid.cdc_amber_mme", 50), ("opioid.cdc_red_mme", 90),
     ("pcs.clinically_relevant_min", 30), ("ompsq10.high_risk_min", 50), ("startmsk.medium_min", 5),
     ("startmsk.high_min", 9), ("pseq.mic", 6), ("mskhq.mic", 5.5), ("inertia.min_consecutive", 2),
     ("inertia.max_weeks", 12), ("inertia.onset_window_weeks.antidepressant", 6), ("gas.rho", 0.3),
     ("escalation.e2_min_steps", 2), ("escalation.e2_min_step_weeks", 8), ("disengagement.dna_window_months", 6),
     ("pain.worse_pct", 10), ("odi.min_answered", 9)],
)
def test_spec_values(key, expected):
    assert thresholds.defaults()[key] == expected


def test_design_defaults_are_labelled():
    for key in ("pseq.mic", "pain.worse_pct", "inertia.max_weeks", "escalation.e2_min_steps"):
        assert thresholds.get(key).source_label == thresholds.DESIGN
    assert thresholds.get("startmsk.high_min").source_label == thresholds.UNVERIFIED


def test_validate_rejects_bad_settings():
    for key, bad in (("opioid.red_ome", 0), ("opioid.red_ome", "120"), ("inertia.min_consecutive", 2.5),
                     ("gas.rho", 1.0), ("pcs.clinically_relevant_min", True)):
        with pytest.raises(ValueError):
            thresholds.validate(key, bad)
    with pytest.raises(ValueError):
        thresholds.get("no.such.key")


def _default(fn, param):
    return inspect.signature(fn).parameters[param].default


@pytest.mark.parametrize(
    "fn, param, key",
    [
        (outcomes.mskhq_change_class, "mic", "mskhq.mic"),
        (outcomes.pseq_change_class, "mic", "pseq.mic"),
        (outcomes.tsk11_change_class, "mic", "tsk11.mic"),
        (outcomes.odi_change_class, "mic_points", "odi.mic_points"),
        (outcomes.bpi_interference_change_class, "mic", "bpi.interference_mic"),
        (signals.therapeutic_inertia_flag, "min_consecutive", "inertia.min_consecutive"),
        (signals.therapeutic_inertia_flag, "max_weeks", "inertia.max_weeks"),
        (signals.missed_appointments_signal, "window_months", "disengagement.dna_window_months"),
        (signals.prom_plateau_signal, "min_weeks", "disengagement.plateau_min_weeks"),
        (pathway.escalation_criteria, "ome_min", "escalation.e4_ome_min"),
        (pathway.escalation_criteria, "phq9_min", "escalation.e3_phq9_min"),
        (gas_t_score, "rho", "gas.rho"),
    ],
)
def test_function_defaults_match_declared_thresholds(fn, param, key):
    assert _default(fn, param) == thresholds.defaults()[key]


def test_opioid_flag_uses_declared_thresholds():
    d = thresholds.defaults()
    assert opioids.opioid_flag(d["opioid.red_ome"]) == "red"
    assert opioids.opioid_flag(d["opioid.amber_ome"]) == "amber"
    assert opioids.opioid_flag(d["opioid.amber_ome"] - 0.01) == "none"


# ------------------------------------------------------------------------ purity rules

FORBIDDEN_IMPORTS = {"streamlit", "sqlalchemy", "db", "requests", "urllib", "http", "socket", "sqlite3", "psycopg",
                     "pandas", "plotly", "alembic"}


@pytest.mark.parametrize("path", sorted(CLINICAL_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_forbidden_imports_and_docstrings(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"
    assert any(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body) or path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for n in names:
            assert n.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {n}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            pytest.fail(f"{path.name} calls open(); only _data.load_yaml reads bundled files")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{path.name}: {node.name} has no docstring"


def test_import_pulls_in_no_streamlit_or_database():
    code = ("import sys, hub.clinical.instruments, hub.clinical.outcomes, hub.clinical.pathway, "
            "hub.clinical.opioids, hub.clinical.signals, hub.clinical.goals, hub.clinical.identifiers, "
            "hub.clinical.thresholds; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'sqlalchemy', 'db')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=CLINICAL_DIR.parent.parent, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_only_phq9_gad7_item_text_files_are_bundled():
    data = CLINICAL_DIR / "tables"
    text_files = [p.name for p in data.iterdir() if "text" in p.name]
    assert text_files == ["item_text.en.yaml"]


def test_bundled_tables_are_not_git_ignored():
    """The repository ignores directories named data/; the rule tables must still be committed."""
    tables = sorted(str(p.relative_to(CLINICAL_DIR.parent.parent)) for p in (CLINICAL_DIR / "tables").glob("*.yaml"))
    assert len(tables) >= 6
    out = subprocess.run(["git", "check-ignore", *tables], cwd=CLINICAL_DIR.parent.parent, capture_output=True,
                         text=True)
    if out.returncode not in (0, 1):  # 128: not a git checkout (e.g. an installed package): nothing to check
        pytest.skip("not inside a git work tree")
    assert out.stdout.strip() == "", f"git-ignored rule tables: {out.stdout}"
