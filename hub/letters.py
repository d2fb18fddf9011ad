"""Post-MDT outcome letters (docs/CLINICAL.md section 7): dataclasses in, the GP letter and the patient's
version out. Pure: no database, no streamlit.

* The GP letter follows the PRSB/ITK3 Outpatient Letter headings in the order and with the
  conformance of docs/CLINICAL.md 7.1, filled with the MDT content of 7.2.
* A Mandatory section is empty when its essential data is missing (``MANDATORY_RULES``); sending
  is blocked while any is empty (``Letter.can_send``). Empty Required/Optional sections are kept
  and show "None recorded".
* Text helpers and the block model are in hub.letter_text, the patient version in hub.letter_patient,
  PDF rendering in hub.letter_pdf and the minutes in hub.minutes; their public names are importable
  from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from hub.clinical.identifiers import format_nhs_number, validate_nhs_number
from hub.clinical.opioids import OME_CAUTION, ome_text
from hub.letter_patient import (  # noqa: F401  (re-exported)
    AGREEMENT_PLAIN,
    CRISIS_ADVICE,
    GAS_LEVEL_PLAIN,
    GLOSSARY,
    KIND_PLAIN,
    PATIENT_CHANGE_LABELS,
    PATIENT_TITLE,
    patient_blocks,
    agreement_plain,
    suggest_patient_summary,
)
from hub.letter_pdf import letter_pdf  # noqa: F401  (re-exported)
from hub.letter_text import (  # noqa: F401  (re-exported)
    AGREED,
    ALLERGIES,
    ASSESSMENT_SCALES,
    ATTENDANCE,
    CARE_PLANNING,
    CLINICAL_SUMMARY,
    CONCERNS,
    DEMOGRAPHICS,
    DIAGNOSES,
    DISTRIBUTION,
    GOALS,
    GP_PRACTICE,
    HCP_ACTIONS,
    INDIVIDUAL_REQUIREMENTS,
    INFORMATION,
    LEGAL,
    LETTER_TITLE,
    MANDATORY,
    MANDATORY_RULES,
    MEDICATIONS,
    NONE_RECORDED,
    NOT_RECORDED,
    OPTIONAL,
    PATIENT_ACTIONS,
    PERSON_COMPLETING,
    PLAN,
    PLAN_SUBHEADINGS,
    PROBLEMS,
    REFERRER,
    REQUIRED,
    RESEARCH,
    SAFETY_ALERTS,
    SECTION_SPECS,
    Letter,
    Section,
    strong,
    make_block,
    TextBlock,
    bullet_blocks,
    draft_banner,
    flat,
    fmt_number,
    kind_label,
    kv_block,
    gas_levels,
    text_lines,
    long_field,
    to_markdown,
    missing_text,
    or_default,
    to_plain,
    table_row,
    clean_text,
    escape_markdown,
    format_date,
    unescape_markdown,
)
from hub.minutes import MinutesCase, MinutesData, minutes_markdown, minutes_pdf  # noqa: F401  (re-exported)
from hub.vocab import (
    CONDITIONS,
    DISCIPLINES,
    DISCUSSED_WITH_PATIENT,
    PAIN_CLASSIFICATIONS,
    PATIENT_VIEWS,
    SEXES,
    label,
)

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
class MedicationChange:
    """One row of the letter's medication-changes table, from a medicine recommendation of the decision."""

    drug: str
    change: str  # 'start' | 'increase' | 'reduce' | 'stop' | 'continue'
    dose_schedule: str
    review_date: date | None
    rationale: str = ""


# Recommendation kind -> change code of the table (kinds absent from the vocabulary are simply never seen).
CHANGE_OF_KIND: dict[str, str] = {
    "start_medicine": "start", "increase_dose": "increase", "taper_medicine": "reduce",
    "stop_medicine": "stop", "continue_medicine": "continue",
}
CHANGE_LABELS: dict[str, str] = {"start": "Start", "increase": "Increase", "reduce": "Reduce", "stop": "Stop",
                                 "continue": "Continue"}
MEDICATION_TABLE_HEADER = ("Drug", "Change", "Dose and schedule", "Review date")


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
    safety_netting: str
    safety_alerts: list[str]
    follow_up_date: date | None
    rediscussion_criteria: str
    completed_by: str
    completed_by_role: str
    completed_on: date
    distribution: list[str]
    date_of_birth: date | None = None
    address: str = ""
    postcode: str = ""
    practice_ods_code: str = ""
    discussed_with_patient: str | None = None  # 'not_yet' / 'yes' / None (not recorded)
    patient_view: str | None = None  # 'agrees' / 'disagrees' / 'wants_time' / 'not_yet_asked' / None
    patient_summary: str = ""  # "What this means for you" (the patient version's own text)
    medication_changes: list[MedicationChange] = field(default_factory=list)
    ome_excluded: tuple[str, ...] = ()  # opioids not counted in total_ome ("methadone — specialist advice")

    @property
    def ome_text(self) -> str:
        """The OME as shown: '24 mg/day', or 'at least 24 mg/day (excludes: ...)'; '' when not on opioids."""
        if self.total_ome is None and not self.ome_excluded:
            return ""
        return ome_text(self.total_ome or 0.0, self.ome_excluded)


GAS_LEVEL_LABELS: dict[int, str] = {  # docs/CLINICAL.md 6.2
    -2: "much less than expected",
    -1: "less than expected",
    0: "expected outcome",
    1: "more than expected",
    2: "much more than expected",
}
STATUS_LABELS: dict[str, str] = {"requested": "Requested", "planned": "Planned", "completed": "Completed"}


# --------------------------------------------------------------------------------------------
# Section builders (each returns [] when the section has no content)
# --------------------------------------------------------------------------------------------


def identity_lines(d: LetterData) -> list[tuple[str, str]]:
    """The patient's identifiers, shown in both letter versions: name, date of birth, NHS number (3-3-4),
    address and registered practice with its ODS code."""
    if d.date_of_birth is not None:
        dob = format_date(d.date_of_birth)
    else:
        dob = NOT_RECORDED + (f" (year of birth {d.birth_year})" if d.birth_year else "")
    valid, _ = validate_nhs_number(d.nhs_number or "")
    address = ", ".join(x for x in (flat(d.address), flat(d.postcode)) if x)
    return [("Name", flat(d.patient_name) or NOT_RECORDED), ("Date of birth", dob),
            ("NHS number", format_nhs_number(d.nhs_number) if valid else NOT_RECORDED),
            ("Address", address or NOT_RECORDED), ("Registered GP practice", practice_text(d) or NOT_RECORDED)]


def practice_text(d: LetterData) -> str:
    """'Northgate Medical Centre (ODS code Z99901)'."""
    name = flat(d.practice_name)
    if not name:
        return ""
    return f"{name} (ODS code {flat(d.practice_ods_code)})" if flat(d.practice_ods_code) else name


# Standard names of the scores (the glossary of the patient version explains these exact names).
SCORE_NAMES: dict[str, str] = {
    "phq9": "PHQ-9", "gad7": "GAD-7", "mskhq": "MSK-HQ", "startmsk": "STarT MSK", "start_msk": "STarT MSK",
    "sbst": "STarT Back", "sbst6": "STarT Back (6-item)", "peg": "PEG", "nrs": "NRS", "odi": "ODI", "pcs": "PCS",
    "tsk11": "TSK-11", "tsk17": "TSK-17", "pseq": "PSEQ", "bpi": "BPI", "ompsq": "ÖMPSQ-10",
}


def score_line(instrument: str, total: float, on: date | None, band: str | None = None) -> str:
    """'PHQ-9 12.0 (3 March 2026) moderate': the standard name and the score to one decimal."""
    code = flat(instrument).lower().replace("-", "").replace(" ", "")
    name = SCORE_NAMES.get(code, flat(instrument).upper())
    when = f" ({format_date(on)})" if on else ""
    band_text = f" {flat(band).replace('_', ' ')}" if flat(band) else ""
    return f"{name} {float(total):.1f}{when}{band_text}"


def suggest_summary_for(d: LetterData) -> str:
    """The plain-words draft of "What this means for you" for a letter whose chair left it empty."""
    drugs = {c.drug for c in d.medication_changes}
    pairs = [(r.kind, next((x for x in drugs if x and x.lower() in r.description.lower()), None))
             for r in d.recommendations]
    return suggest_patient_summary(pairs, d.follow_up_date)


def _demographics(d: LetterData) -> list[TextBlock]:
    valid, _ = validate_nhs_number(d.nhs_number or "")
    if not flat(d.patient_name) or not valid:
        return []
    lines = identity_lines(d)
    return [kv_block(k, v) for k, v in lines[:4]] + [kv_block("Sex", label(SEXES, flat(d.sex)))]


def _gp_practice(d: LetterData) -> list[TextBlock]:
    if not flat(d.practice_name):
        return []
    return [kv_block("Practice", d.practice_name), kv_block("ODS code", d.practice_ods_code)]


def _attendance(d: LetterData) -> list[TextBlock]:
    if d.meeting_date is None:
        return []
    disciplines: list[str] = []
    for _, disc in d.attendees:
        lab = label(DISCIPLINES, flat(disc))
        if lab and lab not in disciplines:
            disciplines.append(lab)
    blocks = [
        kv_block("Meeting", d.meeting_type),
        kv_block("Date", format_date(d.meeting_date)),
        kv_block("Chair (lead clinician)", d.chair_name),
        kv_block("Disciplines present", ", ".join(disciplines)),
        make_block("p", strong("Attendees:")),
    ]
    if d.attendees:
        blocks += [make_block("li", f"{flat(n)} ({label(DISCIPLINES, flat(disc)) or NOT_RECORDED})")
                   for n, disc in d.attendees]
    else:
        blocks.append(make_block("li", NOT_RECORDED))
    return blocks


def _clinical_summary(d: LetterData) -> list[TextBlock]:
    if not flat(d.answer):
        return []
    return [
        *long_field("Referral question", d.clinical_question),
        *long_field("MDT answer", d.answer),
        *long_field("Pain classification", label(PAIN_CLASSIFICATIONS, flat(d.pain_classification))),
        *long_field("Formulation", d.formulation),
        *long_field("Pathway step", d.pathway_step),
    ]


def _allergies(d: LetterData) -> list[TextBlock]:
    return [make_block("p", ln) for ln in text_lines(d.allergies)]


def _person_completing(d: LetterData) -> list[TextBlock]:
    if not flat(d.completed_by):
        return []
    return [kv_block("Name", d.completed_by), kv_block("Role", d.completed_by_role),
            kv_block("Date completed", format_date(d.completed_on))]


def _referrer(d: LetterData) -> list[TextBlock]:
    if not flat(d.referrer_name):
        return []
    return [kv_block("Referrer", d.referrer_name), kv_block("Practice", d.practice_name)]


def _diagnoses(d: LetterData) -> list[TextBlock]:
    if not (flat(d.condition) or flat(d.pain_classification)):
        return []
    return [kv_block("Condition", label(CONDITIONS, flat(d.condition))),
            kv_block("Pain classification", label(PAIN_CLASSIFICATIONS, flat(d.pain_classification)))]


def _item_blocks(it: LetterItem) -> list[TextBlock]:
    blocks = [
        make_block("li", strong(kind_label(it.kind) + ":"), " " + or_default(flat(it.description))),
        make_block("li2", f"Owner: {or_default(flat(it.owner))} · Due: {format_date(it.due) or 'no date set'} · "
                    f"Status: {label(STATUS_LABELS, flat(it.status)) or NOT_RECORDED}"),
    ]
    if flat(it.rationale):
        blocks.append(make_block("li2", "Rationale: " + flat(it.rationale)))
    return blocks


def _goal_blocks(goals: list[LetterGoal]) -> list[TextBlock]:
    blocks: list[TextBlock] = []
    for i, g in enumerate(goals, 1):
        blocks.append(make_block("li", strong(f"Goal {i}:"), " " + or_default(flat(g.text))))
        blocks.append(make_block("li2", f"Review by: {format_date(g.due) or 'no date set'}"))
        levels = gas_levels(g)
        if not levels:
            blocks.append(make_block("li2", "GAS levels: not recorded"))
        for lvl in sorted(levels):
            blocks.append(make_block("li2", f"GAS {lvl:+d}".replace("+0", "0")
                               + f" ({GAS_LEVEL_LABELS.get(lvl, 'level')}): {levels[lvl]}"))
    return blocks


def agreement_lines(discussed: str | None, view: str | None) -> list[tuple[str, str]]:
    """What was recorded about the patient and the plan, and nothing more: two separate facts."""
    return [("Discussed with the patient", label(DISCUSSED_WITH_PATIENT, discussed) or NOT_RECORDED),
            ("Patient's view", label(PATIENT_VIEWS, view) or NOT_RECORDED)]


def _plan(d: LetterData) -> list[TextBlock]:
    hcp = [r for r in d.recommendations if not r.for_patient]
    pat = [r for r in d.recommendations if r.for_patient]
    if not (hcp or pat or d.goals or d.discussed_with_patient or d.patient_view or d.follow_up_date
            or flat(d.rediscussion_criteria)):
        return []
    none = [make_block("p", NONE_RECORDED)]
    blocks = [make_block("h3", HCP_ACTIONS)]
    blocks += [b for it in hcp for b in _item_blocks(it)] or none
    blocks.append(make_block("h3", PATIENT_ACTIONS))
    blocks += [b for it in pat for b in _item_blocks(it)] or none
    blocks.append(make_block("h3", GOALS))
    blocks += _goal_blocks(list(d.goals)) or none
    blocks += [make_block("h3", AGREED)] + [kv_block(k, v) for k, v in agreement_lines(d.discussed_with_patient,
                                                                             d.patient_view)]
    blocks += [make_block("h3", CARE_PLANNING),
               kv_block("Follow-up date", format_date(d.follow_up_date), "Not set"),
               kv_block("Re-discussion criteria", d.rediscussion_criteria, NONE_RECORDED)]
    return blocks


def _information(d: LetterData) -> list[TextBlock]:
    return [make_block("li", f"{or_default(flat(r.description))} (by {or_default(flat(r.owner))})")
            for r in d.recommendations if flat(r.kind) == "education"]


def _safety(d: LetterData) -> list[TextBlock]:
    blocks = bullet_blocks(list(d.safety_alerts))
    if flat(d.safety_netting):
        blocks += long_field("Safety-netting advice", d.safety_netting)
    return blocks


def medication_rows(changes: list[MedicationChange], labels: dict[str, str] | None = None) -> list[TextBlock]:
    """The medication-changes table: a header row and one row per change."""
    if not changes:
        return []
    labels = labels or CHANGE_LABELS
    rows = [table_row(*MEDICATION_TABLE_HEADER, header=True)]
    for c in changes:
        default = {"continue": "As now", "stop": "Not applicable"}.get(c.change, NOT_RECORDED)
        rows.append(table_row(flat(c.drug).capitalize() or NOT_RECORDED, labels.get(c.change, c.change),
                         flat(c.dose_schedule) or default, format_date(c.review_date) or "Not set"))
    return rows


def _medications(d: LetterData) -> list[TextBlock]:
    blocks = bullet_blocks(list(d.medication_lines))
    if d.ome_text:
        blocks.append(kv_block("Total oral morphine equivalent (OME)", f"{d.ome_text} ({OME_CAUTION})"))
    if d.medication_changes:
        blocks.append(make_block("p", strong("Medication changes:")))
        blocks += medication_rows(list(d.medication_changes))
        blocks += [make_block("p", f"{flat(c.drug).capitalize()}: {flat(c.rationale)}")
                   for c in d.medication_changes if flat(c.rationale)]
    return blocks


def _concerns(d: LetterData) -> list[TextBlock]:
    fields = (("What matters to the patient", d.what_matters), ("Beliefs and concerns", d.beliefs_concerns),
              ("Options discussed", d.options_discussed), ("Preferred option", d.option_preferred),
              ("Options declined", d.options_declined))
    if not any(flat(v) for _, v in fields):
        return []
    return [b for lab, v in fields for b in long_field(lab, v)]


_BUILDERS = {
    DEMOGRAPHICS: _demographics, GP_PRACTICE: _gp_practice, ATTENDANCE: _attendance,
    CLINICAL_SUMMARY: _clinical_summary, ALLERGIES: _allergies, PERSON_COMPLETING: _person_completing,
    REFERRER: _referrer, DIAGNOSES: _diagnoses, PROBLEMS: lambda d: bullet_blocks(list(d.flags_and_responses)),
    PLAN: _plan, INFORMATION: _information, SAFETY_ALERTS: _safety,
    INDIVIDUAL_REQUIREMENTS: lambda d: [], LEGAL: lambda d: [], RESEARCH: lambda d: [],
    DISTRIBUTION: lambda d: bullet_blocks(list(d.distribution)),
    ASSESSMENT_SCALES: lambda d: bullet_blocks(list(d.assessment_lines)),
    MEDICATIONS: _medications, CONCERNS: _concerns,
}


def build_letter(data: LetterData) -> Letter:
    """Build the PRSB-structured GP letter, its sendability and the patient's plain-language version."""
    sections: list[Section] = []
    doc: list[TextBlock] = [make_block("h1", LETTER_TITLE)]
    section_blocks: list[list[TextBlock]] = []
    for title, code, conformance in SECTION_SPECS:
        blocks = _BUILDERS[title](data)
        section_blocks.append(blocks)
        sections.append(Section(title, code, conformance, to_plain(blocks) if blocks else ""))
    missing = tuple(s.title for s in sections if s.conformance == MANDATORY and s.empty)
    if missing:
        doc.append(draft_banner(missing))
    for s, blocks in zip(sections, section_blocks):
        doc.append(make_block("h2", s.title))
        if blocks:
            doc += blocks
        elif s.conformance == MANDATORY:
            doc.append(make_block("p", strong(missing_text(s.title))))
        else:
            doc.append(make_block("p", NONE_RECORDED))
    return Letter(tuple(sections), missing, to_markdown(doc), to_markdown(patient_blocks(data)))


