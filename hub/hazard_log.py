"""The clinical risk management file (hazard log, DCB0129 style): load docs/hazard-log/hazards.yaml, score
each hazard on the DCB0129 5x5 matrix and write the readable document HAZARD-LOG.md beside it.

    python -m hub.hazard_log            write docs/hazard-log/HAZARD-LOG.md
    python -m hub.hazard_log --check    exit 1 when the document is not what the data generates
    python -m hub.hazard_log --verify   exit 1 when a control names a test that does not exist
    python -m hub.hazard_log --run      run every control test named in the log with pytest
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "docs" / "hazard-log"
DATA = LOG_DIR / "hazards.yaml"
DOCUMENT = LOG_DIR / "HAZARD-LOG.md"

SEVERITY = {1: "Minor", 2: "Significant", 3: "Considerable", 4: "Major", 5: "Catastrophic"}
LIKELIHOOD = {1: "Very low", 2: "Low", 3: "Medium", 4: "High", 5: "Very high"}
# DCB0129 / DCB0160 risk matrix: MATRIX[likelihood][severity] -> risk rating 1..5.
MATRIX = {
    5: {1: 3, 2: 4, 3: 4, 4: 5, 5: 5},
    4: {1: 2, 2: 3, 3: 3, 4: 4, 5: 5},
    3: {1: 2, 2: 2, 3: 3, 4: 3, 5: 4},
    2: {1: 1, 2: 2, 3: 2, 4: 3, 5: 4},
    1: {1: 1, 2: 1, 3: 2, 4: 2, 5: 3},
}
RATING = {
    1: "Acceptable",
    2: "Acceptable where further reduction is impractical",
    3: "Undesirable: accept only if further reduction is impractical",
    4: "Mandatory elimination or control",
    5: "Unacceptable",
}


@dataclass(frozen=True)
class Control:
    """One control of a hazard and the tests that verify it."""

    description: str
    tests: tuple[str, ...]
    pending: str | None = None


@dataclass(frozen=True)
class Hazard:
    """One hazard: cause, effect, initial and residual risk, controls."""

    id: str
    title: str
    cause: str
    effect: str
    initial: tuple[int, int]  # (severity, likelihood)
    residual: tuple[int, int]
    controls: tuple[Control, ...]

    @property
    def initial_risk(self) -> int:
        """DCB0129 risk rating before the controls."""
        return risk(*self.initial)

    @property
    def residual_risk(self) -> int:
        """DCB0129 risk rating with the controls in place."""
        return risk(*self.residual)


def risk(severity: int, likelihood: int) -> int:
    """Risk rating (1-5) of a severity and likelihood on the DCB0129 matrix."""
    if severity not in SEVERITY or likelihood not in LIKELIHOOD:
        raise ValueError(f"severity and likelihood must be 1-5, got {severity!r}, {likelihood!r}")
    return MATRIX[likelihood][severity]


def _pair(h: dict[str, Any], key: str) -> tuple[int, int]:
    v = h.get(key) or {}
    severity, likelihood = v.get("severity"), v.get("likelihood")
    if not isinstance(severity, int) or not isinstance(likelihood, int):
        raise ValueError(f"severity and likelihood must be 1-5, got {severity!r}, {likelihood!r}")
    risk(severity, likelihood)  # validates the range
    return severity, likelihood


def load(path: Path = DATA) -> tuple[dict[str, Any], list[Hazard]]:
    """The log's header fields and its hazards; ValueError on a malformed entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    hazards = []
    seen = set()
    for h in raw["hazards"]:
        for field in ("id", "title", "cause", "effect", "controls"):
            if not h.get(field):
                raise ValueError(f"hazard {h.get('id', '?')}: '{field}' is missing")
        if h["id"] in seen:
            raise ValueError(f"hazard {h['id']} appears twice")
        seen.add(h["id"])
        controls = []
        for c in h["controls"]:
            if not c.get("description") or not c.get("tests"):
                raise ValueError(f"hazard {h['id']}: every control needs a description and at least one test")
            controls.append(Control(" ".join(str(c["description"]).split()), tuple(c["tests"]), c.get("pending")))
        hz = Hazard(h["id"], h["title"], " ".join(str(h["cause"]).split()), " ".join(str(h["effect"]).split()),
                    _pair(h, "initial"), _pair(h, "residual"), tuple(controls))
        if hz.residual_risk > hz.initial_risk:
            raise ValueError(f"hazard {hz.id}: residual risk is higher than the initial risk")
        hazards.append(hz)
    header = {k: v for k, v in raw.items() if k != "hazards"}
    return header, hazards


def control_tests(hazards: list[Hazard]) -> list[tuple[str, str, str | None]]:
    """Every (hazard id, pytest node id, pending branch) the log names."""
    return [(h.id, t, c.pending) for h in hazards for c in h.controls for t in c.tests]


def collect_node_ids(files: list[str]) -> set[str]:
    """Test node ids (parameters stripped) that pytest collects from these files, in a subprocess."""
    if not files:
        return set()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
                          cwd=ROOT, capture_output=True, text=True)
    ids = set()
    for line in proc.stdout.splitlines():
        if "::" in line and not line.startswith(" "):
            ids.add(line.strip().split("[")[0])
    return ids


def missing_tests(hazards: list[Hazard], collected: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(missing, pending): control tests that do not exist, and those waiting for another branch's test file
    (a pending control's file is absent). Once the file exists, its tests must exist."""
    named = control_tests(hazards)
    files = sorted({t.split("::")[0] for _, t, _ in named if (ROOT / t.split("::")[0]).exists()})
    if collected is None:
        collected = collect_node_ids(files)
    missing, pending = [], []
    for hid, test, branch in named:
        if not (ROOT / test.split("::")[0]).exists() and branch:
            pending.append(f"{hid}: {test} (branch {branch})")
        elif test not in collected:
            missing.append(f"{hid}: {test}")
    return missing, pending


def _risk_text(pair: tuple[int, int]) -> str:
    s, li = pair
    return f"{risk(s, li)} ({SEVERITY[s]} × {LIKELIHOOD[li]})"


def render(header: dict[str, Any], hazards: list[Hazard]) -> str:
    """The readable hazard log (Markdown), generated from the data."""
    cso = header.get("clinical_safety_officer") or "not yet named"
    out = [
        "# Hazard log — MSK Pain Hub (clinical risk management file)",
        "",
        "<!-- Generated by `python -m hub.hazard_log` from hazards.yaml. Do not edit by hand. -->",
        "",
        f"Version {header.get('version', '?')}. Clinical Safety Officer: **{cso}**.",
        "",
        f"**Status:** {' '.join(str(header.get('status', '')).split())}",
        "",
        "Each hazard has its cause, effect, initial risk, the controls with the automated tests that verify "
        "each control (pytest node ids), and the residual risk with the controls in place. Risk ratings use "
        "the DCB0129 5×5 matrix below; the scores are the development team's proposal for the Clinical Safety "
        "Officer to review.",
        "",
        "## Risk matrix (rating = likelihood × severity)",
        "",
        "| Likelihood \\ Severity | " + " | ".join(SEVERITY.values()) + " |",
        "|---|" + "---|" * len(SEVERITY),
    ]
    for li in sorted(LIKELIHOOD, reverse=True):
        out.append(f"| {LIKELIHOOD[li]} | " + " | ".join(str(MATRIX[li][s]) for s in SEVERITY) + " |")
    out += ["", "Ratings: " + "; ".join(f"{k} = {v}" for k, v in RATING.items()) + ".", "",
            "## Summary", "", "| ID | Hazard | Initial risk | Residual risk | Controls | Tests |",
            "|---|---|---|---|---|---|"]
    for h in hazards:
        n_tests = sum(len(c.tests) for c in h.controls)
        out.append(f"| {h.id} | {h.title} | {h.initial_risk} | {h.residual_risk} | {len(h.controls)} | {n_tests} |")
    for h in hazards:
        out += ["", f"## {h.id}. {h.title}", "",
                f"- **Cause:** {h.cause}",
                f"- **Effect:** {h.effect}",
                f"- **Initial risk:** {_risk_text(h.initial)}",
                f"- **Residual risk:** {_risk_text(h.residual)}",
                "", "Controls:", ""]
        for i, c in enumerate(h.controls, 1):
            pending = f" *(tests written on branch `{c.pending}`)*" if c.pending else ""
            out.append(f"{i}. {c.description}{pending}")
            out += [f"   - `{t}`" for t in c.tests]
    return "\n".join(out) + "\n"


def summary_rows() -> list[dict[str, Any]]:
    """One row per hazard for the About page."""
    _, hazards = load()
    return [{"ID": h.id, "Hazard": h.title, "Initial risk": h.initial_risk, "Residual risk": h.residual_risk,
             "Controls": len(h.controls), "Tests": sum(len(c.tests) for c in h.controls)} for h in hazards]


def main(argv: list[str]) -> int:
    """Write, check or run the hazard log (see the module docstring)."""
    header, hazards = load()
    text = render(header, hazards)
    if "--check" in argv:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            print(f"{DOCUMENT} is out of date: run python -m hub.hazard_log", file=sys.stderr)
            return 1
        return 0
    if "--verify" in argv:
        missing, pending = missing_tests(hazards)
        for m in missing:
            print(f"missing control test: {m}", file=sys.stderr)
        for m in pending:
            print(f"pending: {m}")
        return 1 if missing else 0
    if "--run" in argv:
        present = [t for _, t, _ in control_tests(hazards) if (ROOT / t.split("::")[0]).exists()]
        return subprocess.call([sys.executable, "-m", "pytest", "-q", *sorted(set(present))], cwd=ROOT)
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)} ({len(hazards)} hazards)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
