"""Post-MDT outcome letters and meeting minutes (CLINICAL.md section 7): dataclasses in, text/PDF out.

Pure rendering: no database, no streamlit, no I/O except reading the shipped fonts.

* The GP letter follows the PRSB/ITK3 Outpatient Letter headings in the order and with the
  conformance of CLINICAL.md 7.1, filled with the MDT content of 7.2.
* A Mandatory section is empty when its essential data is missing (``MANDATORY_RULES``); sending
  is blocked while any is empty (``Letter.can_send``). Empty Required/Optional sections are kept
  and show "None recorded".
* Every piece of user text is cleaned (control characters dropped) and backslash-escaped for
  Markdown, so it can never become markup, a link or raw HTML.
* PDFs are built with fpdf2 and the DejaVu Sans fonts shipped in ``hub/fonts`` (Unicode names,
  "≥", "→"), A4, with a header (title and NHS number) and page numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hub.clinical.identifiers import format_nhs_number, validate_nhs_number
from hub.vocab import CONDITIONS, DISCIPLINES, PAIN_CLASSIFICATIONS, RECOMMENDATION_TYPES, SEXES, label

# --------------------------------------------------------------------------------------------
# Data in
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterItem:
    """A recommendation or action line of the plan."""

    kind: str
    description: str
    owner: str
    due: date | None
    for_patient: bool = False
    status: str = "requested"
    rationale: str = ""


@dataclass(frozen=True)
class LetterGoal:
    """A SMART goal with its Goal Attainment Scaling levels (-2..+2)."""

    text: str
    levels: dict[int, str]
    due: date | None


@dataclass(frozen=True)
class LetterData:
    """Everything the outcome letter is built from (already loaded and labelled by the caller)."""

    patient_name: str
    nhs_number: str
    birth_year: int | None
    sex: str
    practice_name: str
    referrer_name: str
    meeting_date: date | None
    meeting_type: str
    attendees: list[tuple[str, str]]
    chair_name: str
    clinical_question: str
    answer: str
    condition: str
    pain_classification: str
    formulation: str
    pathway_step: str
    allergies: str
    assessment_lines: list[str]
    medication_lines: list[str]
    total_ome: float | None
    flags_and_responses: list[str]
    recommendations: list[LetterItem]
    goals: list[LetterGoal]
    what_matters: str
    beliefs_concerns: str
    options_discussed: str
    option_preferred: str
    options_declined: str
    agreed_with_patient: bool | None
    safety_netting: str
    safety_alerts: list[str]
    follow_up_date: date | None
    rediscussion_criteria: str
    completed_by: str
    completed_by_role: str
    completed_on: date
    distribution: list[str]


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


# Section titles (CLINICAL.md 7.1) and their order in the letter.
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

# (title, SNOMED CT section code or None where CLINICAL.md gives none, conformance), in letter order.
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

# Sub-headings of "Plan and requested actions" (PRSB) plus the goals of CLINICAL.md 7.2 item 7.
HCP_ACTIONS = "Actions for healthcare professionals"
PATIENT_ACTIONS = "Actions for patient or their carer"
GOALS = "Goals (SMART) with Goal Attainment Scaling levels"
AGREED = "Agreed with patient"
CARE_PLANNING = "Care planning arrangements"
PLAN_SUBHEADINGS: tuple[str, ...] = (HCP_ACTIONS, PATIENT_ACTIONS, GOALS, AGREED, CARE_PLANNING)

GAS_LEVEL_LABELS: dict[int, str] = {  # CLINICAL.md 6.2
    -2: "much less than expected",
    -1: "less than expected",
    0: "expected outcome",
    1: "more than expected",
    2: "much more than expected",
}
GAS_LEVEL_PLAIN: dict[int, str] = {
    -2: "Much less than we hope",
    -1: "A bit less than we hope",
    0: "What we hope for",
    1: "A bit more than we hope",
    2: "Much more than we hope",
}
STATUS_LABELS: dict[str, str] = {"requested": "Requested", "planned": "Planned", "completed": "Completed"}

# Plain-language names of the recommendation types (patient version).
KIND_PLAIN: dict[str, str] = {
    "start_medicine": "Start a new medicine",
    "stop_medicine": "Stop a medicine",
    "taper_medicine": "Slowly reduce a medicine",
    "continue_medicine": "Keep taking a medicine",
    "refer": "A referral to another service",
    "exercise_programme": "Exercise",
    "psychological_therapy": "Talking therapy",
    "investigation": "A test",
    "social_prescribing": "Support in your community",
    "education": "Information and advice",
    "other": "Other",
}

# Words the patient version explains whenever they appear in it (pattern, term, explanation).
GLOSSARY: tuple[tuple[str, str, str], ...] = (
    (r"MDT", "MDT", "multidisciplinary team: health professionals from different specialties (for example "
     "doctors, physiotherapists, psychologists and pharmacists) who look at your care together."),
    (r"OME", "OME", "oral morphine equivalent: a way of adding up the strength of all your opioid painkillers, "
     "compared with morphine taken by mouth."),
    (r"PEG", "PEG", "a 3-question score of how bad your pain is and how much it gets in the way of enjoying life "
     "and daily activities. It goes from 0 to 10. Lower is better."),
    (r"NRS", "NRS", "numeric rating scale: your pain scored from 0 (no pain) to 10 (worst pain imaginable)."),
    (r"PHQ-9", "PHQ-9", "a 9-question score of low mood (depression). It goes from 0 to 27. Higher means more "
     "symptoms."),
    (r"GAD-7", "GAD-7", "a 7-question score of anxiety. It goes from 0 to 21. Higher means more symptoms."),
    (r"MSK-HQ", "MSK-HQ", "a questionnaire about how joint, back or muscle problems affect your life. It goes "
     "from 0 to 56. Higher is better."),
    (r"MSK(?!-HQ)", "MSK", "musculoskeletal: to do with muscles, bones and joints."),
    (r"PSEQ", "PSEQ", "a questionnaire about how confident you feel doing things even when you are in pain. "
     "It goes from 0 to 60. Higher is better."),
    (r"PCS", "PCS", "a questionnaire about how much you worry about and focus on pain. It goes from 0 to 52. "
     "Higher means more worry."),
    (r"TSK(?:-1[17])?", "TSK", "a questionnaire about how worried you are that moving will cause pain or harm. "
     "Higher means more worry."),
    (r"ODI", "ODI", "a questionnaire about how back pain affects daily activities. Higher means more difficulty."),
    (r"BPI", "BPI", "Brief Pain Inventory: a questionnaire about how bad your pain is and how it affects you."),
    (r"STarT(?: Back| MSK)?", "STarT", "a short questionnaire that helps choose how much support you need."),
    (r"CBT", "CBT", "cognitive behavioural therapy: a talking therapy that helps you change unhelpful thoughts "
     "and habits."),
    (r"ACT", "ACT", "acceptance and commitment therapy: a talking therapy that helps you live well alongside "
     "pain."),
    (r"PMP", "PMP", "pain management programme: a group course that teaches ways to live well with pain."),
    (r"NSAIDs?", "NSAID", "anti-inflammatory painkillers, such as ibuprofen or naproxen."),
    (r"MR", "MR", "modified release: a tablet that releases the medicine slowly over many hours."),
    (r"OA", "OA", "osteoarthritis: wear and repair changes in a joint that can cause pain and stiffness."),
    (r"NICE", "NICE", "the National Institute for Health and Care Excellence, which writes national health "
     "guidance."),
    (r"NG\d+", "NG number", "the number of a NICE guideline (for example NG193 is about long-term pain)."),
    (r"GAS", "GAS", "goal attainment scaling: a way of measuring how well a goal has been met."),
    (r"SMART", "SMART", "a goal that is specific, measurable, achievable, realistic and has a date."),
    (r"PRSB", "PRSB", "Professional Record Standards Body: it sets how health records and letters are laid out."),
)
_GLOSSARY_RE = tuple((re.compile(rf"(?<![A-Za-z0-9]){p}(?![A-Za-z0-9])"), t, e) for p, t, e in GLOSSARY)

_CLASSIFICATION_PLAIN: dict[str, str] = {
    "primary": "This means pain that has lasted more than 3 months and is not better explained by another "
               "condition. It is real pain, and it can get better with the right support.",
    "secondary": "This means long-lasting pain that is caused by another condition, such as arthritis.",
}

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


def _lines(text: object) -> list[str]:
    return [ln.strip() for ln in clean_text(text).split("\n") if ln.strip()]


def _flat(text: object) -> str:
    return " ".join(_lines(text))


def escape_markdown(text: object) -> str:
    """Backslash-escape one line of user text so Markdown renders it literally (no markup, links or HTML)."""
    s = _AUTOLINK_RE.sub(WORD_JOINER, _flat(text))
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


def _fmt_number(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.1f}"


def _or(value: str, default: str = NOT_RECORDED) -> str:
    return value if value else default


# --------------------------------------------------------------------------------------------
# Block model: one document model rendered to plain text, Markdown and PDF
# --------------------------------------------------------------------------------------------

_Part = tuple[str, bool]  # (text, bold)


@dataclass(frozen=True)
class _Block:
    kind: str  # 'h1' | 'h2' | 'h3' | 'p' | 'kv' | 'li' | 'li2' | 'banner'
    parts: tuple[_Part, ...]

    @property
    def plain(self) -> str:
        return "".join(t for t, _ in self.parts)


def _blk(kind: str, *parts: str | _Part) -> _Block:
    return _Block(kind, tuple((p, False) if isinstance(p, str) else p for p in parts))


def _b(text: str) -> _Part:
    return (text, True)


def _kv(label_: str, value: object, default: str = NOT_RECORDED) -> _Block:
    return _blk("kv", _b(label_ + ":"), " " + _or(_flat(value), default))


def _long(label_: str, value: object, default: str = NOT_RECORDED) -> list[_Block]:
    """A labelled multi-line field: the first line after the label, the others as paragraphs."""
    lines = _lines(value) or [default]
    return [_blk("p", _b(label_ + ":"), " " + lines[0])] + [_blk("p", ln) for ln in lines[1:]]


_LIST_KINDS = frozenset({"kv", "li", "li2"})


def _md_inline(parts: tuple[_Part, ...]) -> str:
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


def _md_block(b: _Block) -> str:
    text = _md_inline(b.parts)
    return {
        "h1": "# " + text, "h2": "## " + text, "h3": "### " + text, "p": text, "kv": "- " + text,
        "li": "- " + text, "li2": "  - " + text, "banner": "> " + text,
    }[b.kind]


def _markdown(blocks: list[_Block]) -> str:
    out: list[str] = []
    prev: _Block | None = None
    for b in blocks:
        if prev is not None:
            same_list = prev.kind in _LIST_KINDS and b.kind in _LIST_KINDS
            out.append("\n" if same_list else "\n\n")
        out.append(_md_block(b))
        prev = b
    return "".join(out) + "\n"


def _plain(blocks: list[_Block]) -> str:
    prefix = {"li": "- ", "li2": "  - "}
    return "\n".join(prefix.get(b.kind, "") + b.plain for b in blocks)


# --------------------------------------------------------------------------------------------
# Section builders (each returns [] when the section has no content)
# --------------------------------------------------------------------------------------------


def _demographics(d: LetterData) -> list[_Block]:
    valid, _ = validate_nhs_number(d.nhs_number or "")
    if not _flat(d.patient_name) or not valid:
        return []
    return [
        _kv("Name", d.patient_name),
        _kv("NHS number", format_nhs_number(d.nhs_number)),
        _kv("Year of birth", "" if d.birth_year is None else str(d.birth_year)),
        _kv("Sex", label(SEXES, _flat(d.sex))),
    ]


def _gp_practice(d: LetterData) -> list[_Block]:
    return [_kv("Practice", d.practice_name)] if _flat(d.practice_name) else []


def _attendance(d: LetterData) -> list[_Block]:
    if d.meeting_date is None:
        return []
    disciplines: list[str] = []
    for _, disc in d.attendees:
        lab = label(DISCIPLINES, _flat(disc))
        if lab and lab not in disciplines:
            disciplines.append(lab)
    blocks = [
        _kv("Meeting", d.meeting_type),
        _kv("Date", format_date(d.meeting_date)),
        _kv("Chair (lead clinician)", d.chair_name),
        _kv("Disciplines present", ", ".join(disciplines)),
        _blk("p", _b("Attendees:")),
    ]
    if d.attendees:
        blocks += [_blk("li", f"{_flat(n)} ({label(DISCIPLINES, _flat(disc)) or NOT_RECORDED})")
                   for n, disc in d.attendees]
    else:
        blocks.append(_blk("li", NOT_RECORDED))
    return blocks


def _clinical_summary(d: LetterData) -> list[_Block]:
    if not _flat(d.answer):
        return []
    return [
        *_long("Referral question", d.clinical_question),
        *_long("MDT answer", d.answer),
        *_long("Pain classification", label(PAIN_CLASSIFICATIONS, _flat(d.pain_classification))),
        *_long("Formulation", d.formulation),
        *_long("Pathway step", d.pathway_step),
    ]


def _allergies(d: LetterData) -> list[_Block]:
    return [_blk("p", ln) for ln in _lines(d.allergies)]


def _person_completing(d: LetterData) -> list[_Block]:
    if not _flat(d.completed_by):
        return []
    return [_kv("Name", d.completed_by), _kv("Role", d.completed_by_role),
            _kv("Date completed", format_date(d.completed_on))]


def _referrer(d: LetterData) -> list[_Block]:
    if not _flat(d.referrer_name):
        return []
    return [_kv("Referrer", d.referrer_name), _kv("Practice", d.practice_name)]


def _diagnoses(d: LetterData) -> list[_Block]:
    if not (_flat(d.condition) or _flat(d.pain_classification)):
        return []
    return [_kv("Condition", label(CONDITIONS, _flat(d.condition))),
            _kv("Pain classification", label(PAIN_CLASSIFICATIONS, _flat(d.pain_classification)))]


def _bullets(lines: list[str]) -> list[_Block]:
    return [_blk("li", _flat(x)) for x in lines if _flat(x)]


def _kind_label(kind: str) -> str:
    return label(RECOMMENDATION_TYPES, _flat(kind)) or "Action"


def _item_blocks(it: LetterItem) -> list[_Block]:
    blocks = [
        _blk("li", _b(_kind_label(it.kind) + ":"), " " + _or(_flat(it.description))),
        _blk("li2", f"Owner: {_or(_flat(it.owner))} · Due: {format_date(it.due) or 'no date set'} · "
                    f"Status: {label(STATUS_LABELS, _flat(it.status)) or NOT_RECORDED}"),
    ]
    if _flat(it.rationale):
        blocks.append(_blk("li2", "Rationale: " + _flat(it.rationale)))
    return blocks


def _levels(g: LetterGoal) -> dict[int, str]:
    """GAS levels with text, keyed by int (string keys from JSON, e.g. "-2", are accepted)."""
    out: dict[int, str] = {}
    for k, v in (g.levels or {}).items():
        try:
            lvl = int(k)
        except (TypeError, ValueError):
            continue
        if _flat(v):
            out[lvl] = _flat(v)
    return out


def _goal_blocks(goals: list[LetterGoal]) -> list[_Block]:
    blocks: list[_Block] = []
    for i, g in enumerate(goals, 1):
        blocks.append(_blk("li", _b(f"Goal {i}:"), " " + _or(_flat(g.text))))
        blocks.append(_blk("li2", f"Review by: {format_date(g.due) or 'no date set'}"))
        levels = _levels(g)
        if not levels:
            blocks.append(_blk("li2", "GAS levels: not recorded"))
        for lvl in sorted(levels):
            blocks.append(_blk("li2", f"GAS {lvl:+d}".replace("+0", "0")
                               + f" ({GAS_LEVEL_LABELS.get(lvl, 'level')}): {levels[lvl]}"))
    return blocks


def _agreed_text(agreed: bool | None) -> str:
    if agreed is True:
        return "Yes: the plan was agreed with the patient."
    if agreed is False:
        return "No: the patient did not agree the plan (see Patient and carer concerns, expectations and wishes)."
    return NOT_RECORDED


def _plan(d: LetterData) -> list[_Block]:
    hcp = [r for r in d.recommendations if not r.for_patient]
    pat = [r for r in d.recommendations if r.for_patient]
    if not (hcp or pat or d.goals or d.agreed_with_patient is not None or d.follow_up_date
            or _flat(d.rediscussion_criteria)):
        return []
    none = [_blk("p", NONE_RECORDED)]
    blocks = [_blk("h3", HCP_ACTIONS)]
    blocks += [b for it in hcp for b in _item_blocks(it)] or none
    blocks.append(_blk("h3", PATIENT_ACTIONS))
    blocks += [b for it in pat for b in _item_blocks(it)] or none
    blocks.append(_blk("h3", GOALS))
    blocks += _goal_blocks(list(d.goals)) or none
    blocks += [_blk("h3", AGREED), _blk("p", _agreed_text(d.agreed_with_patient))]
    blocks += [_blk("h3", CARE_PLANNING),
               _kv("Follow-up date", format_date(d.follow_up_date), "Not set"),
               _kv("Re-discussion criteria", d.rediscussion_criteria, NONE_RECORDED)]
    return blocks


def _information(d: LetterData) -> list[_Block]:
    return [_blk("li", f"{_or(_flat(r.description))} (by {_or(_flat(r.owner))})")
            for r in d.recommendations if _flat(r.kind) == "education"]


def _safety(d: LetterData) -> list[_Block]:
    blocks = _bullets(list(d.safety_alerts))
    if _flat(d.safety_netting):
        blocks += _long("Safety-netting advice", d.safety_netting)
    return blocks


def _medications(d: LetterData) -> list[_Block]:
    blocks = _bullets(list(d.medication_lines))
    if d.total_ome is not None:
        blocks.append(_kv("Total oral morphine equivalent (OME)", f"{_fmt_number(d.total_ome)} mg/day"))
    return blocks


def _concerns(d: LetterData) -> list[_Block]:
    fields = (("What matters to the patient", d.what_matters), ("Beliefs and concerns", d.beliefs_concerns),
              ("Options discussed", d.options_discussed), ("Preferred option", d.option_preferred),
              ("Options declined", d.options_declined))
    if not any(_flat(v) for _, v in fields):
        return []
    return [b for lab, v in fields for b in _long(lab, v)]


_BUILDERS = {
    DEMOGRAPHICS: _demographics, GP_PRACTICE: _gp_practice, ATTENDANCE: _attendance,
    CLINICAL_SUMMARY: _clinical_summary, ALLERGIES: _allergies, PERSON_COMPLETING: _person_completing,
    REFERRER: _referrer, DIAGNOSES: _diagnoses, PROBLEMS: lambda d: _bullets(list(d.flags_and_responses)),
    PLAN: _plan, INFORMATION: _information, SAFETY_ALERTS: _safety,
    INDIVIDUAL_REQUIREMENTS: lambda d: [], LEGAL: lambda d: [], RESEARCH: lambda d: [],
    DISTRIBUTION: lambda d: _bullets(list(d.distribution)),
    ASSESSMENT_SCALES: lambda d: _bullets(list(d.assessment_lines)),
    MEDICATIONS: _medications, CONCERNS: _concerns,
}

LETTER_TITLE = "Pain hub outcome letter"


def _missing_text(title: str) -> str:
    return f"Missing (mandatory): {MANDATORY_RULES.get(title, 'this section is required')}."


def _draft_banner(missing: tuple[str, ...]) -> _Block:
    return _blk("banner", _b("Draft: cannot be sent."),
                " Mandatory sections not completed: " + "; ".join(missing) + ".")


def build_letter(data: LetterData) -> Letter:
    """Build the PRSB-structured GP letter, its sendability and the patient's plain-language version."""
    sections: list[Section] = []
    doc: list[_Block] = [_blk("h1", LETTER_TITLE)]
    section_blocks: list[list[_Block]] = []
    for title, code, conformance in SECTION_SPECS:
        blocks = _BUILDERS[title](data)
        section_blocks.append(blocks)
        sections.append(Section(title, code, conformance, _plain(blocks) if blocks else ""))
    missing = tuple(s.title for s in sections if s.conformance == MANDATORY and s.empty)
    if missing:
        doc.append(_draft_banner(missing))
    for s, blocks in zip(sections, section_blocks):
        doc.append(_blk("h2", s.title))
        if blocks:
            doc += blocks
        elif s.conformance == MANDATORY:
            doc.append(_blk("p", _b(_missing_text(s.title))))
        else:
            doc.append(_blk("p", NONE_RECORDED))
    return Letter(tuple(sections), missing, _markdown(doc), _markdown(_patient_blocks(data)))


# --------------------------------------------------------------------------------------------
# Patient version
# --------------------------------------------------------------------------------------------

PATIENT_TITLE = "Your pain hub review: what the team advises"
CRISIS_ADVICE = ("If you feel very unwell or unsafe, or you are thinking about harming yourself, call 999 or go "
                 "to A&E now. For urgent help that is not an emergency, call NHS 111.")


def _patient_item(it: LetterItem) -> list[_Block]:
    when = f"by {format_date(it.due)}" if it.due else "no date set yet"
    who = _or(_flat(it.owner), "not decided yet")
    if who.lower() in ("patient", "the patient", "patient or carer", "patient or their carer"):
        who = "You"
    elif who.lower() in ("patient and carer", "patient and their carer"):
        who = "You and your carer"
    status = _flat(it.status)
    done = " This has already been done." if status == "completed" else ""
    return [
        _blk("li", _b(KIND_PLAIN.get(_flat(it.kind), _kind_label(it.kind)) + ":"),
             " " + _or(_flat(it.description))),
        _blk("li2", f"Who: {who}. When: {when}.{done}"),
    ]


def _patient_blocks(d: LetterData) -> list[_Block]:
    name = _flat(d.patient_name)
    b: list[_Block] = [_blk("h1", PATIENT_TITLE), _blk("p", f"Dear {name}," if name else "Dear patient,")]
    when = f" on {format_date(d.meeting_date)}" if d.meeting_date else ""
    b.append(_blk("p", f"Your GP asked a team of health professionals who specialise in long-term pain for advice "
                       f"about your care. The team met{when} to talk about it. This letter explains what they "
                       f"advise and what happens next. Your GP gets a more detailed letter."))
    if d.attendees:
        b.append(_blk("h2", "Who was at the meeting"))
        b += [_blk("li", f"{_flat(n)} ({label(DISCIPLINES, _flat(disc)) or 'health professional'})")
              for n, disc in d.attendees]
        if _flat(d.chair_name):
            b.append(_blk("p", f"The meeting was led by {_flat(d.chair_name)}."))

    b.append(_blk("h2", "What the team thinks"))
    if _flat(d.clinical_question):
        b += _long("Your GP asked", d.clinical_question)
    b += _long("The team's answer", d.answer, "The team's answer has not been written yet.")
    cond = label(CONDITIONS, _flat(d.condition))
    if cond and cond.lower() != "other":
        b.append(_blk("p", f"Your condition: {cond}."))
    pc = _flat(d.pain_classification)
    pc_code = pc if pc in PAIN_CLASSIFICATIONS else next(
        (k for k, v in PAIN_CLASSIFICATIONS.items() if v.lower() == pc.lower()), "")
    if pc:
        text = f"The team describes your pain as {label(PAIN_CLASSIFICATIONS, pc).lower()}."
        b.append(_blk("p", text + (" " + _CLASSIFICATION_PLAIN[pc_code] if pc_code else "")))
    if _flat(d.formulation):
        b += _long("How the team understands your pain", d.formulation)

    b.append(_blk("h2", "What happens next"))
    hcp = [r for r in d.recommendations if not r.for_patient]
    pat = [r for r in d.recommendations if r.for_patient]
    b.append(_blk("h3", "What your care team will do"))
    b += [x for it in hcp for x in _patient_item(it)] or [_blk("p", "Nothing new for now.")]
    b.append(_blk("h3", "What you can do"))
    b += [x for it in pat for x in _patient_item(it)] or [_blk("p", "Nothing new for now.")]
    if d.goals:
        b.append(_blk("h3", "Your goals"))
        for g in d.goals:
            b.append(_blk("li", _b("Goal:"), " " + _or(_flat(g.text))))
            if g.due:
                b.append(_blk("li2", f"We hope you can do this by {format_date(g.due)}."))
            levels = _levels(g)
            for lvl in sorted(levels):
                b.append(_blk("li2", f"{GAS_LEVEL_PLAIN.get(lvl, 'Level')}: {levels[lvl]}"))
    b.append(_blk("h3", "Do you agree with this plan?"))
    if d.agreed_with_patient is True:
        b.append(_blk("p", "You agreed with this plan."))
    elif d.agreed_with_patient is False:
        b.append(_blk("p", "You did not agree with all of this plan. Please talk to your GP about what you would "
                           "like to do."))
    else:
        b.append(_blk("p", "We have not recorded whether you agree with this plan. Please talk to your GP if you "
                           "have questions or concerns."))

    concerns = (("What matters most to you", d.what_matters), ("Your worries about your pain", d.beliefs_concerns),
                ("Options we talked about", d.options_discussed), ("The option you preferred", d.option_preferred),
                ("Options you did not want", d.options_declined))
    if any(_flat(v) for _, v in concerns):
        b.append(_blk("h2", "What matters to you"))
        b += [x for lab, v in concerns if _flat(v) for x in _long(lab, v)]

    meds = [m for m in (_flat(x) for x in d.medication_lines) if m]
    if meds or d.total_ome:
        b.append(_blk("h2", "Your medicines"))
        b += [_blk("li", m) for m in meds]
        if d.total_ome:
            b.append(_blk("p", f"All your opioid painkillers together are as strong as about "
                               f"{_fmt_number(d.total_ome)} mg of morphine a day. Doctors call this your oral "
                               f"morphine equivalent (OME)."))
    if any(_flat(x) for x in d.assessment_lines):
        b.append(_blk("h2", "Your questionnaire scores"))
        b.append(_blk("p", "These are the scores from the questionnaires you filled in. "
                           "The words at the end of this letter explain what they mean."))
        b += _bullets(list(d.assessment_lines))

    b.append(_blk("h2", "Your allergies"))
    if _flat(d.allergies):
        b.append(_blk("p", f"Our records say: {_flat(d.allergies)}. Please tell your GP if this is wrong."))
    else:
        b.append(_blk("p", "We do not have a record of your allergies. Please tell your GP about any allergies."))

    b.append(_blk("h2", "Your next review"))
    if d.follow_up_date:
        b.append(_blk("p", f"Your next review is planned for {format_date(d.follow_up_date)}."))
    else:
        b.append(_blk("p", "A date for your next review has not been set yet. Your GP practice will contact you."))
    if _flat(d.rediscussion_criteria):
        b += _long("The team will look at your care again if", d.rediscussion_criteria)

    b.append(_blk("h2", "If things get worse"))
    if _flat(d.safety_netting):
        b += [_blk("p", ln) for ln in _lines(d.safety_netting)]
    b.append(_blk("p", CRISIS_ADVICE))

    closing = []
    if _flat(d.completed_by):
        role = f" ({_flat(d.completed_by_role)})" if _flat(d.completed_by_role) else ""
        closing.append(_blk("p", f"Written by {_flat(d.completed_by)}{role} on {format_date(d.completed_on)}."))
    practice = f": {_flat(d.practice_name)}" if _flat(d.practice_name) else ""
    closing.append(_blk("p", f"If anything in this letter is wrong or unclear, please contact your GP "
                             f"practice{practice}."))

    text = "\n".join(x.plain for x in b + closing)
    used = [(t, e) for rx, t, e in _GLOSSARY_RE if rx.search(text)]
    if used:
        b.append(_blk("h2", "Words we used"))
        b += [_blk("li", _b(t + ":"), " " + e) for t, e in used]
    return b + closing


# --------------------------------------------------------------------------------------------
# Minutes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesCase:
    """One agenda item of a meeting: the question, the outcome and its actions."""

    case_label: str
    question: str
    outcome: str
    actions: list[tuple[str, str, date | None]]


@dataclass(frozen=True)
class MinutesData:
    """A meeting's minutes: attendance, quorum and the cases."""

    title: str
    meeting_date: date
    chair_name: str
    video_link: str
    attendees: list[tuple[str, str]]
    quorum_met: bool
    quorum_note: str
    cases: list[MinutesCase]


def _minutes_blocks(m: MinutesData) -> list[_Block]:
    b = [_blk("h1", _or(_flat(m.title), "MDT meeting minutes")),
         _kv("Date", format_date(m.meeting_date)), _kv("Chair", m.chair_name),
         _kv("Video link", m.video_link, "None")]
    b.append(_blk("h2", f"Attendees ({len(m.attendees)})"))
    b += [_blk("li", f"{_flat(n)} ({label(DISCIPLINES, _flat(disc)) or NOT_RECORDED})") for n, disc in m.attendees]
    if not m.attendees:
        b.append(_blk("p", NONE_RECORDED))
    b.append(_blk("h2", "Quorum"))
    b.append(_blk("p", _b("Quorum:"), " met." if m.quorum_met else " NOT met."))
    b += [_blk("p", ln) for ln in _lines(m.quorum_note)]
    b.append(_blk("h2", "Cases"))
    if not m.cases:
        b.append(_blk("p", "No cases on the agenda."))
    for i, c in enumerate(m.cases, 1):
        b.append(_blk("h3", f"{i}. {_or(_flat(c.case_label), 'Case')}"))
        b += _long("Question", c.question)
        b += _long("Outcome", c.outcome)
        b.append(_blk("p", _b("Actions:")))
        if c.actions:
            b += [_blk("li", f"{_or(_flat(desc))} (owner: {_or(_flat(owner))}; due: "
                             f"{format_date(due) or 'no date set'})") for desc, owner, due in c.actions]
        else:
            b.append(_blk("li", "None"))
    return b


def minutes_markdown(m: MinutesData) -> str:
    """The meeting minutes as escaped Markdown."""
    return _markdown(_minutes_blocks(m))


def minutes_pdf(m: MinutesData) -> bytes:
    """The meeting minutes as an A4 PDF."""
    blocks = _minutes_blocks(m)
    title = blocks[0].plain
    pdf = _new_pdf(title, format_date(m.meeting_date), "")
    _pdf_render(pdf, [(b.kind, b.plain) for b in blocks])
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------

FONT_DIR = Path(__file__).resolve().parent / "fonts"
_SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT = "DejaVu"
_NB_ALIAS = "{hub-nb}"  # total-pages alias; unlike fpdf2's "{nb}" it will not occur in clinical text


def _font_file(name: str) -> Path:
    for folder in (FONT_DIR, _SYSTEM_FONT_DIR):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {FONT_DIR} (ship hub/fonts/{name})")


def _new_pdf(title: str, right: str, footer_note: str):
    from fpdf import FPDF  # imported here so the Markdown API works without fpdf2

    class _PDF(FPDF):
        def header(self) -> None:
            self.set_font(_FONT, "B", 10)
            right_w = self.get_string_width(right) + 2 if right else 0
            self.set_text_color(60, 60, 60)
            if right and self.get_string_width(title) + right_w + 4 < self.epw:
                self.cell(self.epw - right_w, 6, title)
                self.set_font(_FONT, "", 10)
                self.cell(right_w, 6, right, align="R", new_x="LMARGIN", new_y="NEXT")
            else:
                self.multi_cell(0, 5, title, new_x="LMARGIN", new_y="NEXT")
                if right:
                    self.set_font(_FONT, "", 10)
                    self.multi_cell(0, 5, right, new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.set_text_color(0, 0, 0)
            self.ln(5)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(_FONT, "", 8)
            self.set_text_color(90, 90, 90)
            text = f"Page {self.page_no()} of {_NB_ALIAS}"
            if footer_note:
                text = f"{footer_note}   ·   {text}"
            self.cell(0, 5, text, align="C")
            self.set_text_color(0, 0, 0)

    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(_FONT, "", str(_font_file("DejaVuSans.ttf")))
    pdf.add_font(_FONT, "B", str(_font_file("DejaVuSans-Bold.ttf")))
    pdf.alias_nb_pages(_NB_ALIAS)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(title)
    pdf.set_creator("MSK Pain Hub")
    pdf.add_page()
    return pdf


_PDF_STYLE = {  # kind -> (style, size, line height, space before)
    "h1": ("B", 15, 7.5, 0), "h2": ("B", 12.5, 6.5, 4), "h3": ("B", 11, 5.5, 2.5),
    "banner": ("B", 10.5, 5.5, 1), "p": ("", 10, 5, 1), "kv": ("", 10, 5, 0.5),
    "li": ("", 10, 5, 0.5), "li2": ("", 9.5, 4.8, 0),
}


def _pdf_render(pdf, lines: list[tuple[str, str]]) -> None:
    """Write (kind, plain text) lines: headings bold and kept with what follows, bullets indented."""
    for kind, text in lines:
        style, size, h, before = _PDF_STYLE.get(kind, _PDF_STYLE["p"])
        if before:
            pdf.ln(before)
        if kind in ("h1", "h2", "h3") and pdf.get_y() > pdf.page_break_trigger - 25:
            pdf.add_page()
        pdf.set_font(_FONT, style, size)
        if kind in ("li", "li2"):
            indent = 4 if kind == "li" else 10
            bullet = "•" if kind == "li" else "–"
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(4, h, bullet)
            pdf.multi_cell(pdf.epw - indent - 4, h, text, align="L", new_x="LMARGIN", new_y="NEXT")
        elif kind == "banner":
            pdf.set_fill_color(255, 235, 205)
            pdf.multi_cell(0, h, text, fill=True, border=1, padding=1.5, align="L", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(0, h, text, align="L", new_x="LMARGIN", new_y="NEXT")
        if kind == "h1":
            pdf.ln(2)


def _body_lines(body: str) -> list[tuple[str, str]]:
    out = []
    for line in body.split("\n"):
        if not line.strip():
            continue
        if line in PLAN_SUBHEADINGS:
            out.append(("h3", line))
        elif line.startswith("  - "):
            out.append(("li2", line[4:]))
        elif line.startswith("- "):
            out.append(("li", line[2:]))
        else:
            out.append(("p", line))
    return out


def _markdown_lines(md: str) -> list[tuple[str, str]]:
    """Parse the Markdown subset this module writes back into (kind, plain text) lines."""
    out = []
    for line in md.split("\n"):
        if not line.strip():
            continue
        for prefix, kind in (("### ", "h3"), ("## ", "h2"), ("# ", "h1"), ("  - ", "li2"), ("- ", "li"),
                             ("> ", "banner")):
            if line.startswith(prefix):
                out.append((kind, unescape_markdown(line[len(prefix):])))
                break
        else:
            out.append(("p", unescape_markdown(line)))
    return out


def _letter_nhs_number(letter: Letter) -> str:
    for s in letter.sections:
        if s.title == DEMOGRAPHICS:
            m = re.search(r"^NHS number: (.+)$", s.body, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return ""


def letter_pdf(letter: Letter, title: str = LETTER_TITLE, patient_version: bool = False) -> bytes:
    """The GP letter (or, with patient_version, the patient's version) as an A4 PDF."""
    nhs = _letter_nhs_number(letter)
    draft = "" if letter.can_send else "DRAFT: not for sending"
    pdf = _new_pdf(_flat(title) or LETTER_TITLE, f"NHS number: {nhs}" if nhs else "", draft)
    if patient_version:
        _pdf_render(pdf, _markdown_lines(letter.patient_markdown))
        return bytes(pdf.output())
    lines: list[tuple[str, str]] = [("h1", _flat(title) or LETTER_TITLE)]
    if letter.missing_mandatory:
        lines.append(("banner", _draft_banner(letter.missing_mandatory).plain))
    for s in letter.sections:
        lines.append(("h2", s.title))
        if not s.empty:
            lines += _body_lines(s.body)
        elif s.conformance == MANDATORY:
            lines.append(("p", _missing_text(s.title)))
        else:
            lines.append(("p", NONE_RECORDED))
    _pdf_render(pdf, lines)
    return bytes(pdf.output())
