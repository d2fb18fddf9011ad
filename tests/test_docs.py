"""The documents the code, tables, UI and README cite are in the repository and say what is cited.

- every "CLINICAL.md <section>" citation names a numbered heading of docs/CLINICAL.md;
- no file points at the team's private working papers (outside the repository);
- every relative file path the README mentions exists (or is a git-ignored file made at run time);
- the documents the About page shows exist.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hub import documents

ROOT = Path(__file__).resolve().parents[1]
CLINICAL = ROOT / "docs" / "CLINICAL.md"
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".txt", ".toml", ".ini", ".cfg", ".json", ".html", ".css", ".js",
                 ".sh", ""}
# Built from parts so that this file does not match its own check.
FORBIDDEN = ("../" + "shared", "TECH" + "-NOTES", "/work/" + "shared")
# "CLINICAL.md 4.1", "docs/CLINICAL.md section 3.1", "CLINICAL.md §2", "CLINICAL.md 0.4-0.6 and section 1".
CITATION = re.compile(r"CLINICAL\.md(?:\s+(?:section|§))?\s*§?\s*(\d+(?:\.\d+)?)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?"
                      r"(?:\s+and\s+(?:section\s+)?(\d+(?:\.\d+)?))?")
HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)?)\.?\s+\S", re.M)


def repo_files() -> list[Path]:
    """Tracked files (git), else every file outside generated folders."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = [ROOT / p for p in out.split("\0") if p]
        # files added in the working tree but not yet committed are checked too
        out = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        files += [ROOT / p for p in out.split("\0") if p]
    else:
        skip = {".git", "data", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
        files = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in files if p.is_file() and p.suffix in TEXT_SUFFIXES]


def read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def clinical_sections() -> set[str]:
    return set(HEADING.findall(read(CLINICAL)))


def citations() -> list[tuple[str, int, str]]:
    """(file, line, section) of every numbered CLINICAL.md citation outside docs/CLINICAL.md itself."""
    found = []
    for p in repo_files():
        if p == CLINICAL:
            continue
        for n, line in enumerate(read(p).splitlines(), 1):
            for m in CITATION.finditer(line):
                lo, hi, extra = m.groups()
                secs = [lo]
                if hi:  # a range such as 0.4-0.6: both ends must exist
                    secs.append(hi)
                if extra:
                    secs.append(extra)
                found += [(str(p.relative_to(ROOT)), n, s) for s in secs]
    return found


def test_clinical_reference_has_every_numbered_section_and_the_sign_off_warning():
    text = read(CLINICAL)
    sections = clinical_sections()
    expected = ({str(i) for i in range(12)} | {f"0.{i}" for i in range(1, 7)} | {f"1.{i}" for i in range(1, 14)}
                | {"2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4", "6.1",
                   "6.2", "7.1", "7.2"})
    assert expected <= sections, sorted(expected - sections)
    assert "NOT signed off" in text and "DESIGN DEFAULT" in text and "UNVERIFIED" in text
    assert "hazard-log/HAZARD-LOG.md" in text
    for h in (f"H{i}" for i in range(1, 13)):
        assert re.search(rf"^\| {h} \|", text, re.M), f"section 11 has no row for {h}"


def test_every_clinical_citation_names_an_existing_section():
    found = citations()
    # the code cites the reference in many places: an empty result means the pattern broke
    assert len(found) >= 30, found
    sections = clinical_sections()
    missing = [f"{f}:{n} cites section {s}" for f, n, s in found if s not in sections]
    assert not missing, "\n".join(missing)


def test_citations_point_at_the_repository_document():
    """A bare "CLINICAL.md" reads like the private paper: citations say docs/CLINICAL.md."""
    bare = []
    for p in repo_files():
        for n, line in enumerate(read(p).splitlines(), 1):
            for m in re.finditer(r"(?<![\w/.-])CLINICAL\.md", line):
                if p == CLINICAL or p.name == "test_docs.py":
                    continue
                bare.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    # README links the document relative to its own folder, which is docs/: "](docs/CLINICAL.md)"
    assert not bare, "\n".join(bare)


def test_no_file_points_outside_the_repository_for_its_documents():
    hits = []
    for p in repo_files():
        text = read(p)
        for word in FORBIDDEN:
            if word in text:
                n = text[:text.index(word)].count("\n") + 1
                hits.append(f"{p.relative_to(ROOT)}:{n} mentions {word!r}")
    assert not hits, "\n".join(hits)


def test_pages_show_no_specification_section_labels():
    """Clinicians read plain words, not "CLINICAL.md §3" labels: pages and ui/ never cite the document."""
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in repo_files()
            if p.suffix == ".py" and p.relative_to(ROOT).parts[0] in ("pages", "ui")
            for n, line in enumerate(read(p).splitlines(), 1) if "CLINICAL.md" in line]
    assert not hits, hits


_TOP = {p.relative_to(ROOT).parts[0] for p in ROOT.iterdir()}
_PATHLIKE = re.compile(r"^\.?[\w.-]+(?:/[\w.-]*)*$")
_FILE_EXT = re.compile(r"\.(md|py|txt|toml|ini|yaml|yml|cfg|json|png|db|sh)$")


def _git_ignored(rel: str) -> bool:
    if not (shutil.which("git") and (ROOT / ".git").exists()):
        return rel.startswith(("data/", ".streamlit/secrets.toml", ".venv/"))
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", rel], cwd=ROOT).returncode == 0


def readme_paths(text: str | None = None) -> set[str]:
    """Relative paths the README mentions: link targets, inline code and path-like words in code blocks."""
    text = read(ROOT / "README.md") if text is None else text
    blocks = re.findall(r"```.*?```", text, re.S)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    out: set[str] = set()
    for target in re.findall(r"\]\(([^)#\s]+)", prose):
        if "://" not in target and not target.startswith("mailto:"):
            out.add(target)
    for code in re.findall(r"`([^`\n]+)`", prose):
        code = code.strip()
        if " " in code or "://" in code or code.startswith("/") or not _PATHLIKE.match(code):
            continue
        if "/" in code or _FILE_EXT.search(code):
            out.add(code)
    for block in blocks:
        for word in re.findall(r"[\w./-]+", block):
            word = word.rstrip(".,;:")
            if "/" in word and "://" not in word and not word.startswith("/") and word.split("/")[0] in _TOP:
                out.add(word)
    return out


def test_every_relative_path_in_the_readme_exists():
    paths = readme_paths()
    for must in ("docs/CLINICAL.md", "docs/TECHNICAL-NOTES.md", "docs/hazard-log/HAZARD-LOG.md", "CONTRIBUTING.md"):
        assert must in paths, f"README does not mention {must}"
    assert not missing_paths(paths), f"README mentions files that are not in the repository: {missing_paths(paths)}"


def missing_paths(paths: set[str]) -> list[str]:
    return [p for p in sorted(paths) if not (ROOT / p).exists() and not _git_ignored(p)]


def test_readme_path_check_would_catch_a_missing_file():
    """Links, inline code and code-block paths are all seen, and a file that is not there is reported."""
    sample = ("See [the notes](docs/NO-SUCH-NOTES.md) and `hub/no_such_module.py`; run `python -m hub worker`.\n"
              "```bash\npython bench/no_such_bench.py --out data/x.json\n```\n")
    paths = readme_paths(sample)
    assert {"docs/NO-SUCH-NOTES.md", "hub/no_such_module.py", "bench/no_such_bench.py"} <= paths
    assert "python -m hub worker" not in paths
    assert missing_paths(paths) == ["bench/no_such_bench.py", "docs/NO-SUCH-NOTES.md", "hub/no_such_module.py"]


@pytest.mark.parametrize("doc", documents.DOCUMENTS, ids=lambda d: d.repo_path)
def test_documents_shown_on_the_about_page_exist(doc):
    text = doc.text()
    assert text is not None and text.startswith("# MSK Pain Hub"), doc.repo_path


def test_technical_notes_citations_name_existing_headings():
    """A comment such as (see docs/TECHNICAL-NOTES.md, "Navigation before the authenticator") names a heading."""
    notes = read(ROOT / "docs" / "TECHNICAL-NOTES.md")
    headings = {h.strip().lower() for h in re.findall(r"^#{2,4}\s+(.+)$", notes, re.M)}
    cited = [(p, n, m.group(1)) for p in repo_files() if p.name != "test_docs.py"
             for n, line in enumerate(read(p).splitlines(), 1)
             for m in re.finditer(r'TECHNICAL-NOTES\.md,?\s+"([^"]+)"', line)]
    assert cited, "app.py cites the navigation note"
    missing = [f"{p.relative_to(ROOT)}:{n} cites {h!r}" for p, n, h in cited if h.strip().lower() not in headings]
    assert not missing, "\n".join(missing)
