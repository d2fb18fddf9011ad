"""The patient's plain-language version of the outcome letter (PRSB: "best practice for most outpatient
letters is writing directly to patients")."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from hub.clinical.opioids import OME_CAUTION
from hub.letter_text import (
    strong,
    make_block,
    TextBlock,
    bullet_blocks,
    flat,
    kind_label,
    gas_levels,
    text_lines,
    long_field,
    or_default,
    format_date,
)
from hub.vocab import CONDITIONS, DISCIPLINES, PAIN_CLASSIFICATIONS, label

if TYPE_CHECKING:
    from hub.letters import LetterData, LetterItem

GAS_LEVEL_PLAIN: dict[int, str] = {
    -2: "Much less than we hope",
    -1: "A bit less than we hope",
    0: "What we hope for",
    1: "A bit more than we hope",
    2: "Much more than we hope",
}
# Plain-language names of the recommendation types (patient version).
KIND_PLAIN: dict[str, str] = {
    "start_medicine": "Start a new medicine",
    "stop_medicine": "Stop a medicine",
    "taper_medicine": "Slowly reduce a medicine",
    "continue_medicine": "Keep taking a medicine",
    "increase_dose": "Take a higher dose of a medicine",
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

RELIST_PLAIN = ("The team will look at your care again if things do not get better, or if your GP asks them "
                "to.")
PATIENT_TITLE = "Your pain hub review: what the team advises"
CRISIS_ADVICE = ("If you feel very unwell or unsafe, or you are thinking about harming yourself, call 999 or go "
                 "to A&E now. For urgent help that is not an emergency, call NHS 111.")


def _patient_item(it: LetterItem) -> list[TextBlock]:
    when = f"by {format_date(it.due)}" if it.due else "no date set yet"
    who = or_default(flat(it.owner), "not decided yet")
    if who.lower() in ("patient", "the patient", "patient or carer", "patient or their carer"):
        who = "You"
    elif who.lower() in ("patient and carer", "patient and their carer"):
        who = "You and your carer"
    status = flat(it.status)
    done = " This has already been done." if status == "completed" else ""
    return [
        make_block("li", strong(KIND_PLAIN.get(flat(it.kind), kind_label(it.kind)) + ":"),
             " " + or_default(flat(it.description))),
        make_block("li2", f"Who: {who}. When: {when}.{done}"),
    ]


PATIENT_CHANGE_LABELS: dict[str, str] = {"start": "Start", "increase": "Take more", "reduce": "Take less, slowly",
                                         "stop": "Stop", "continue": "Keep taking"}

# What the letter says about the plan and the patient: only what was recorded (discussed, view).
AGREEMENT_PLAIN: dict[tuple[str | None, str | None], str] = {
    ("yes", "agrees"): "We talked with you about this plan, and you told us you agree with it.",
    ("yes", "disagrees"): "We talked with you about this plan, and you told us you do not agree with it. "
                          "Please talk to your GP about what you would like to do.",
    ("yes", "wants_time"): "We talked with you about this plan, and you told us you want time to decide. "
                           "Take the time you need, then tell your GP what you think.",
}
AGREEMENT_DISCUSSED = ("We talked with you about this plan. We have not written down what you think of it yet. "
                       "Please tell your GP what you think.")
AGREEMENT_NOT_YET = "We have not talked with you about this plan yet. Your GP will go through it with you."
AGREEMENT_UNKNOWN = ("We have not written down if this plan was talked through with you. Please talk to your GP "
                     "if you have any questions.")


def agreement_plain(discussed: str | None, view: str | None) -> str:
    """The patient version's sentence about the plan: it states only what was recorded."""
    if discussed == "yes":
        return AGREEMENT_PLAIN.get((discussed, view), AGREEMENT_DISCUSSED)
    if discussed == "not_yet":
        return AGREEMENT_NOT_YET
    return AGREEMENT_UNKNOWN


def suggest_patient_summary(kinds_and_drugs: list[tuple[str, str | None]], follow_up: date | None) -> str:
    """A plain-words first draft of "What this means for you", from the plan's coded parts only (kinds of
    recommendation, medicine names and the review date): it never copies clinician free text."""
    lines = ["The team looked at your care. This is what they suggest:"]
    for kind, drug in kinds_and_drugs:
        what = KIND_PLAIN.get(kind, "Other")
        lines.append(f"- {what}" + (f": {drug}." if drug else "."))
    if len(lines) == 1:
        lines = ["The team looked at your care. They do not suggest any changes for now."]
    lines.append("Your GP will talk this through with you.")
    if follow_up is not None:
        lines.append(f"We will check how you are getting on by {format_date(follow_up)}.")
    return "\n".join(lines)


def patient_blocks(d: LetterData) -> list[TextBlock]:
    from hub.letters import identity_lines, medication_rows, suggest_summary_for

    name = flat(d.patient_name)
    b: list[TextBlock] = [make_block("h1", PATIENT_TITLE)]
    b += [make_block("kv", strong(k + ":"), " " + v) for k, v in identity_lines(d)]
    b.append(make_block("p", f"Dear {name}," if name else "Dear patient,"))
    when = f" on {format_date(d.meeting_date)}" if d.meeting_date else ""
    b.append(make_block("p", f"Your GP asked a team who care for people with long-term pain to look at your care. "
                       f"The team met{when}. This letter says what they suggest and what happens next. "
                       f"Your GP gets a longer letter."))
    if d.attendees:
        b.append(make_block("h2", "Who was at the meeting"))
        b += [make_block("li", f"{flat(n)} ({label(DISCIPLINES, flat(disc)) or 'health professional'})")
              for n, disc in d.attendees]
        if flat(d.chair_name):
            b.append(make_block("p", f"The meeting was led by {flat(d.chair_name)}."))

    # The patient version's own text, written by the chair; never the referral question, the
    # formulation or flag names (those are written for clinicians).
    b.append(make_block("h2", "What this means for you"))
    summary = text_lines(d.patient_summary) or text_lines(suggest_summary_for(d))
    for ln in summary:
        b.append(make_block("li", ln[2:]) if ln.startswith("- ") else make_block("p", ln))
    cond = label(CONDITIONS, flat(d.condition))
    if cond and cond.lower() != "other":
        b.append(make_block("p", f"Your condition: {cond}."))
    pc = flat(d.pain_classification)
    pc_code = pc if pc in PAIN_CLASSIFICATIONS else next(
        (k for k, v in PAIN_CLASSIFICATIONS.items() if v.lower() == pc.lower()), "")
    if pc:
        text = f"The team describes your pain as {label(PAIN_CLASSIFICATIONS, pc).lower()}."
        b.append(make_block("p", text + (" " + _CLASSIFICATION_PLAIN[pc_code] if pc_code else "")))

    b.append(make_block("h2", "What happens next"))
    hcp = [r for r in d.recommendations if not r.for_patient]
    pat = [r for r in d.recommendations if r.for_patient]
    b.append(make_block("h3", "What your care team will do"))
    b += [x for it in hcp for x in _patient_item(it)] or [make_block("p", "Nothing new for now.")]
    b.append(make_block("h3", "What you can do"))
    b += [x for it in pat for x in _patient_item(it)] or [make_block("p", "Nothing new for now.")]
    if d.goals:
        b.append(make_block("h3", "Your goals"))
        for g in d.goals:
            b.append(make_block("li", strong("Goal:"), " " + or_default(flat(g.text))))
            if g.due:
                b.append(make_block("li2", f"We hope you can do this by {format_date(g.due)}."))
            levels = gas_levels(g)
            for lvl in sorted(levels):
                b.append(make_block("li2", f"{GAS_LEVEL_PLAIN.get(lvl, 'Level')}: {levels[lvl]}"))
    b.append(make_block("h3", "Did we talk with you about this plan?"))
    b.append(make_block("p", agreement_plain(d.discussed_with_patient, d.patient_view)))

    concerns = (("What matters most to you", d.what_matters), ("Options we talked about", d.options_discussed),
                ("The option you preferred", d.option_preferred), ("Options you did not want", d.options_declined))
    if any(flat(v) for _, v in concerns):
        b.append(make_block("h2", "What matters to you"))
        b += [x for lab, v in concerns if flat(v) for x in long_field(lab, v)]

    if d.medication_changes:
        b.append(make_block("h2", "Changes to your medicines"))
        b += medication_rows(list(d.medication_changes), PATIENT_CHANGE_LABELS)
    meds = [m for m in (flat(x) for x in d.medication_lines) if m]
    if meds or d.ome_text:
        b.append(make_block("h2", "Your medicines"))
        b += [make_block("li", m) for m in meds]
        if d.ome_text:
            b.append(make_block("p", f"All your opioid painkillers together, counted as morphine taken by mouth: "
                               f"{d.ome_text} ({OME_CAUTION}). Doctors call this your oral morphine equivalent "
                               f"(OME). They use it to judge risk. It is not a guide for changing from one opioid "
                               f"to another."))
    if any(flat(x) for x in d.assessment_lines):
        b.append(make_block("h2", "Your questionnaire scores"))
        b.append(make_block("p", "These are the scores from the questionnaires you filled in. "
                           "The words at the end of this letter explain what they mean."))
        b += bullet_blocks(list(d.assessment_lines))

    b.append(make_block("h2", "Your allergies"))
    if flat(d.allergies):
        b.append(make_block("p", f"Our records say: {flat(d.allergies)}. Please tell your GP if this is wrong."))
    else:
        b.append(make_block("p", "We do not have a record of your allergies. Please tell your GP about any allergies."))

    b.append(make_block("h2", "Your next review"))
    if d.follow_up_date:
        b.append(make_block("p", f"Your next review is planned for {format_date(d.follow_up_date)}."))
    else:
        b.append(make_block("p", "A date for your next review has not been set yet. "
                                 "Your GP practice will contact you."))
    # The GP letter's re-discussion criteria name the hub's flags; the patient gets plain words instead.
    b.append(make_block("p", RELIST_PLAIN))

    b.append(make_block("h2", "If things get worse"))
    if flat(d.safety_netting):
        b += [make_block("p", ln) for ln in text_lines(d.safety_netting)]
    b.append(make_block("p", CRISIS_ADVICE))

    closing = []
    if flat(d.completed_by):
        role = f" ({flat(d.completed_by_role)})" if flat(d.completed_by_role) else ""
        closing.append(make_block("p", f"Written by {flat(d.completed_by)}{role} on {format_date(d.completed_on)}."))
    practice = f": {flat(d.practice_name)}" if flat(d.practice_name) else ""
    closing.append(make_block("p", f"If anything in this letter is wrong or unclear, please contact your GP "
                             f"practice{practice}."))

    text = "\n".join(x.plain for x in b + closing)
    used = [(t, e) for rx, t, e in _GLOSSARY_RE if rx.search(text)]
    if used:
        b.append(make_block("h2", "Words we used"))
        b += [make_block("li", strong(t + ":"), " " + e) for t, e in used]
    return b + closing
