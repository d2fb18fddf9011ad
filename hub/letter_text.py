"""Letter text building blocks shared by the outcome letter, its patient version and the minutes: cleaning
and escaping user text, one block model rendered to plain text and Markdown, and the letter's section
structure (PRSB headings, conformance, mandatory rules).

Every piece of user text is cleaned (control characters dropped) and backslash-escaped for Markdown, so it
can never become markup, a link or raw HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.vocab import RECOMMENDATION_TYPES, label

# --------------------------------------------------------------------------------------------
# Letter out
# --------------------------------------------------------------------------------------------

MANDATORY, REQUIRED, OPTIONAL = "Mandatory", "Required", "Optional"
NONE_RECORDED = "None recorded"
NOT_RECORDED = "Not recorded"


@dataclass(frozen=True)
class Section:
    """One PRSB heading of the letter; ``body`` is plain text ("- " bullets, "  - " sub-bullets)."""

    title: str
    code: str | None
    conformance: str
    body: str

    @property
    def empty(self) -> bool:
        """True when the section has no content (a Mandatory one then blocks sending)."""
        return not self.body.strip()


@dataclass(frozen=True)
class Letter:
    """A built letter: structured sections, the GP letter and the patient's plain-language version."""

    sections: tuple[Section, ...]
    missing_mandatory: tuple[str, ...]
    markdown: str
    patient_markdown: str

    @property
    def can_send(self) -> bool:
        """True when no Mandatory section is empty."""
        return not self.missing_mandatory


# Section titles (docs/CLINICAL.md 7.1) and their order in the letter.
DEMOGRAPHICS = "Patient demographics"
GP_PRACTICE = "GP practice"
ATTENDANCE = "Attendance details"
CLINICAL_SUMMARY = "Clinical summary"
ALLERGIES = "Allergies and adverse reactions"
PERSON_COMPLETING = "Person completing record"
REFERRER = "Referrer details"
DIAGNOSES = "Diagnoses"
PROBLEMS = "Problems and issues"
PLAN = "Plan and requested actions"
INFORMATION = "Information and advice given"
SAFETY_ALERTS = "Safety alerts"
INDIVIDUAL_REQUIREMENTS = "Individual requirements"
LEGAL = "Legal information"
RESEARCH = "Participation in research"
DISTRIBUTION = "Distribution list"
ASSESSMENT_SCALES = "Assessment scales"
MEDICATIONS = "Medications and medical devices"
CONCERNS = "Patient and carer concerns, expectations and wishes"

# (title, SNOMED CT section code or None where docs/CLINICAL.md gives none, conformance), in letter order.
# "Procedures" and "History" (Required) and the other Optional headings are omitted: the MDT
# performs no procedures, the history is in the referral, and there is no data for them.
SECTION_SPECS: tuple[tuple[str, str | None, str], ...] = (
    (DEMOGRAPHICS, "886731000000109", MANDATORY),
    (GP_PRACTICE, "886711000000101", MANDATORY),
    (ATTENDANCE, "1077881000000105", MANDATORY),
    (CLINICAL_SUMMARY, "887181000000106", MANDATORY),
    (ALLERGIES, "886921000000105", MANDATORY),
    (PERSON_COMPLETING, "887231000000104", MANDATORY),
    (REFERRER, None, REQUIRED),
    (DIAGNOSES, None, REQUIRED),
    (PROBLEMS, None, REQUIRED),
    (PLAN, "887201000000105", REQUIRED),
    (INFORMATION, None, REQUIRED),
    (SAFETY_ALERTS, None, REQUIRED),
    (INDIVIDUAL_REQUIREMENTS, None, REQUIRED),
    (LEGAL, None, REQUIRED),
    (RESEARCH, None, REQUIRED),
    (DISTRIBUTION, None, REQUIRED),
    (ASSESSMENT_SCALES, "887141000000103", OPTIONAL),
    (MEDICATIONS, "933361000000108", OPTIONAL),
    (CONCERNS, None, OPTIONAL),
)

# What makes each Mandatory section non-empty (shown in the letter when it is missing).
MANDATORY_RULES: dict[str, str] = {
    DEMOGRAPHICS: "the patient's name and a valid NHS number are required",
    GP_PRACTICE: "the patient's GP practice is required",
    ATTENDANCE: "the MDT meeting date is required",
    CLINICAL_SUMMARY: "the MDT's answer to the referral question is required",
    ALLERGIES: 'an allergy statement is required (e.g. "No known drug allergies")',
    PERSON_COMPLETING: "the name of the person completing the letter is required",
}

# Sub-headings of "Plan and requested actions" (PRSB) plus the goals of docs/CLINICAL.md 7.2 item 7.
HCP_ACTIONS = "Actions for healthcare professionals"
PATIENT_ACTIONS = "Actions for patient or their carer"
GOALS = "Goals (SMART) with Goal Attainment Scaling levels"
AGREED = "Agreed with patient"
CARE_PLANNING = "Care planning arrangements"
PLAN_SUBHEADINGS: tuple[str, ...] = (HCP_ACTIONS, PATIENT_ACTIONS, GOALS, AGREED, CARE_PLANNING)

# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------

_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters with a Markdown/GFM/HTML (or Streamlit: "$" maths, ":red[...]", ":material/x:") meaning; ":",
# "." and "@" also stop a bare URL, "www." address or e-mail address in user text becoming a link.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-!|<>~=&$:.@")
_MD_UNESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])|\*\*")


def clean_text(text: object) -> str:
    """User text as a safe string: None -> "", newlines normalised, tabs to spaces, control characters removed."""
    if text is None:
        return ""
    s = str(text).replace("\r\n", "\n").replace("\t", " ")
    s = s.translate({0x0D: "\n", 0x0B: "\n", 0x0C: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n"})
    return _CONTROL_RE.sub("", s)


def text_lines(text: object) -> list[str]:
    return [ln.strip() for ln in clean_text(text).split("\n") if ln.strip()]


def flat(text: object) -> str:
    return " ".join(text_lines(text))


def escape_markdown(text: object) -> str:
    """Backslash-escape one line of user text so Markdown renders it literally (no markup, links or HTML)."""
    s = _AUTOLINK_RE.sub(WORD_JOINER, flat(text))
    out = []
    for ch in s:
        out.append("\\" + ch if ch in _MD_SPECIAL else ch)
    escaped = "".join(out)
    # "1." at the start of a line would start an ordered list.
    return re.sub(r"^(\d+)\.", r"\1\\.", escaped)


# Renderers such as Streamlit's turn bare URLs, 'www.' and e-mail addresses into links after parsing, in the
# text the escapes resolved to: an invisible word joiner inside '://', after 'www' and after '@' stops that
# (unescape_markdown removes it again for the PDF and plain text).
WORD_JOINER = "\u2060"
_AUTOLINK_RE = re.compile(r"(?i)(?<=:)(?=\\?/\\?/)|(?<=www)(?=\\?\.)|(?<=@)")


def unescape_markdown(text: str) -> str:
    """Inverse of escape_markdown for the Markdown this module writes (also drops ** bold markers)."""
    return _MD_UNESCAPE_RE.sub(lambda m: m.group(1) or "", text).replace(WORD_JOINER, "")


def format_date(d: date | None) -> str:
    """A date as '1 July 2026' ('' for None)."""
    return "" if d is None else f"{d.day} {d:%B %Y}"


def fmt_number(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.1f}"


def or_default(value: str, default: str = NOT_RECORDED) -> str:
    return value if value else default


# --------------------------------------------------------------------------------------------
# Block model: one document model rendered to plain text, Markdown and PDF
# --------------------------------------------------------------------------------------------

Part = tuple[str, bool]  # (text, bold)


@dataclass(frozen=True)
class TextBlock:
    kind: str  # 'h1' | 'h2' | 'h3' | 'p' | 'kv' | 'li' | 'li2' | 'banner' | 'row' (a table row, parts = cells)
    parts: tuple[Part, ...]

    @property
    def plain(self) -> str:
        if self.kind == "row":
            return table_line([t for t, _ in self.parts])
        return "".join(t for t, _ in self.parts)


def _cell(text: object) -> str:
    return flat(text).replace("|", "/")


def table_line(cells: list[str]) -> str:
    """One table row as plain text: '| a | b |' (a '|' inside a cell becomes '/')."""
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def parse_table_line(line: str) -> list[str]:
    """The cells of a '| a | b |' line."""
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def table_row(*cells: str, header: bool = False) -> TextBlock:
    """A table row; the first row of a run of rows is the header."""
    return TextBlock("row", tuple((_cell(c), header) for c in cells))


def make_block(kind: str, *parts: str | Part) -> TextBlock:
    return TextBlock(kind, tuple((p, False) if isinstance(p, str) else p for p in parts))


def strong(text: str) -> Part:
    return (text, True)


def kv_block(label_: str, value: object, default: str = NOT_RECORDED) -> TextBlock:
    return make_block("kv", strong(label_ + ":"), " " + or_default(flat(value), default))


def long_field(label_: str, value: object, default: str = NOT_RECORDED) -> list[TextBlock]:
    """A labelled multi-line field: the first line after the label, the others as paragraphs."""
    lines = text_lines(value) or [default]
    return [make_block("p", strong(label_ + ":"), " " + lines[0])] + [make_block("p", ln) for ln in lines[1:]]


_LIST_KINDS = frozenset({"kv", "li", "li2"})


def _md_inline(parts: tuple[Part, ...]) -> str:
    out = []
    for text, bold in parts:
        if bold:
            esc = escape_markdown(text)
            if esc:
                out.append(f"**{esc}**")
        else:
            # Keep one leading/trailing space of plain runs (they separate bold labels from values).
            lead = " " if text.startswith(" ") else ""
            trail = " " if text.endswith(" ") and text.strip() else ""
            out.append(lead + escape_markdown(text) + trail)
    return "".join(out).strip()


def _md_block(b: TextBlock) -> str:
    if b.kind == "row":
        return "| " + " | ".join(escape_markdown(t) or " " for t, _ in b.parts) + " |"
    text = _md_inline(b.parts)
    return {
        "h1": "# " + text, "h2": "## " + text, "h3": "### " + text, "p": text, "kv": "- " + text,
        "li": "- " + text, "li2": "  - " + text, "banner": "> " + text,
    }[b.kind]


def to_markdown(blocks: list[TextBlock]) -> str:
    out: list[str] = []
    prev: TextBlock | None = None
    for b in blocks:
        if prev is not None:
            same_list = (prev.kind in _LIST_KINDS and b.kind in _LIST_KINDS) or (prev.kind == b.kind == "row")
            out.append("\n" if same_list else "\n\n")
        out.append(_md_block(b))
        if b.kind == "row" and (prev is None or prev.kind != "row"):
            out.append("\n|" + "---|" * len(b.parts))
        prev = b
    return "".join(out) + "\n"


def to_plain(blocks: list[TextBlock]) -> str:
    prefix = {"li": "- ", "li2": "  - "}
    return "\n".join(prefix.get(b.kind, "") + b.plain for b in blocks)

LETTER_TITLE = "Pain hub outcome letter"


def missing_text(title: str) -> str:
    return f"Missing (mandatory): {MANDATORY_RULES.get(title, 'this section is required')}."


def draft_banner(missing: tuple[str, ...]) -> TextBlock:
    return make_block("banner", strong("Draft: cannot be sent."),
                " Mandatory sections not completed: " + "; ".join(missing) + ".")



def bullet_blocks(lines: list[str]) -> list[TextBlock]:
    return [make_block("li", flat(x)) for x in lines if flat(x)]


def kind_label(kind: str) -> str:
    return label(RECOMMENDATION_TYPES, flat(kind)) or "Action"


def gas_levels(g) -> dict[int, str]:
    """GAS levels with text, keyed by int (string keys from JSON, e.g. "-2", are accepted)."""
    out: dict[int, str] = {}
    for k, v in (g.levels or {}).items():
        try:
            lvl = int(k)
        except (TypeError, ValueError):
            continue
        if flat(v):
            out[lvl] = flat(v)
    return out
