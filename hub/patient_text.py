"""Everything the patient's questionnaire page says, and the questions of a chosen set, one step each.

Plain language: every text written here is held at Flesch-Kincaid grade 8 or below (tested in
tests/hub/test_patient_text.py). The PHQ-9 and GAD-7 items are the instruments' own validated words,
shown as published (their text may be bundled: see hub/clinical/tables/item_text.en.yaml); other
instruments whose wording is licensed (PEG, MSK-HQ) are offered only when the organisation has put its
licensed copy in instrument_text/<ID>.en.json; STarT MSK is never self-completed here (its licence
allows only a total score entered by a clinician from the licensed copy).
Nothing in this module imports streamlit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from hub.clinical import instruments

# ---------------------------------------------------------------------------------------- page texts

TITLE = "Your questions from {practice}"
WELCOME = ("Hello {first_name}. {practice} would like to know how you are. "
           "Please answer a few questions about your pain and how you feel. "
           "It takes about {minutes} minutes.")
WELCOME_POINTS = (
    "Your answers go to your GP practice and the team who help with your pain.",
    "Your answers are saved as you go. You can stop and come back to this link later.",
    "Please do not share this link. It is only for you.",
)
START = "Start"
NEXT = "Next"
BACK = "Back"
SEND = "Send my answers"
PROGRESS = "Question {n} of {total}"
CHOOSE_ONE = "Please choose one answer to go on."
OPTIONAL = "You can leave this empty if you like."
TOO_LONG = "Please make this shorter. You can write up to {limit} letters and spaces."
CHECK_TITLE = "Ready to send"
CHECK_BODY = ("You have come to the end of the questions. Press Send my answers to send them to {practice}. "
              "You can go back to change an answer first.")
END_TITLE = "Thank you"
END_BODY = ("Thank you, {first_name}. Your answers have been sent to {practice}. You can now close this page.")
END_SAFETY_NET = ("If your pain gets much worse, or you feel unwell, contact your GP practice. "
                  "If the practice is closed, call NHS 111.")
NEUTRAL_TITLE = "This link cannot be used"
NEUTRAL_BODY = ("This link does not work. It may be out of date or it may have been used already. "
                "If your GP practice asked you to answer some questions, please contact them to get a new link.")
SAVED = "Your answers so far are saved."

CRISIS_TITLE = "Please get help now if you need it"
CRISIS_BODY = (
    "Thank you for telling us. If you think you might act on these thoughts, or you are not safe, "
    "call 999 or go to A&E now.",
    "For urgent help that is not an emergency, call NHS 111 and choose option 2 for mental health help.",
    "You can talk to Samaritans at any time, day or night. Call 116 123 for free.",
    "We will let your GP practice know about this answer so they can contact you. "
    "Nobody reads these answers straight away, so please use the numbers above if you need help now.",
)

# The free-text questions (our own words).
TEXT_QUESTIONS: dict[str, tuple[str, str]] = {
    "what_matters": ("What matters most to you in your life right now?",
                     "For example, being able to walk the dog, work, or play with your grandchildren."),
    "goals": ("What would you like to be able to do again? Write your goals in your own words.",
              "For example, walk to the shops and back without stopping."),
    "questions": ("What questions would you like the pain team to answer at their meeting?",
                  "Write each question on a new line."),
}
TEXT_LIMIT = 2000

# Pain numeric rating scale: a generic 0-10 scale, our own wording.
NRS_QUESTION = "How bad has your pain been on average over the last week?"
NRS_HELP = "Choose a number from 0 to 10. 0 means no pain. 10 means pain as bad as you can imagine."

# Patient Global Impression of Change: our own wording of a 7-point scale; code 1 = very much better.
PGIC_QUESTION = "Since your care for this pain started, how has your health changed?"
PGIC_HELP = "Think about your pain, what you can do, and how you feel."
PGIC_OPTIONS: tuple[tuple[int, str], ...] = (
    (1, "Very much better"), (2, "Much better"), (3, "A little better"), (4, "No change"),
    (5, "A little worse"), (6, "Much worse"), (7, "Very much worse"),
)
PGIC_LABELS = dict(PGIC_OPTIONS)

# What the practice picks from (codes stored on the invitation) and the label a clinician sees.
SET_LABELS: dict[str, str] = {
    "nrs": "Pain score 0-10 (NRS)",
    "peg": "PEG (pain, enjoyment, general activity)",
    "mskhq": "MSK-HQ",
    "phq9": "PHQ-9 (mood)",
    "gad7": "GAD-7 (anxiety)",
    "startmsk": "STarT MSK",
    "pgic": "How things have changed (PGIC, at follow-up)",
    "what_matters": "What matters to me",
    "goals": "My goals in my words",
    "questions": "Questions I want the team to answer (before a meeting)",
}
# Scored instruments in the order the patient meets them.
SCORED_ORDER = ("nrs", "peg", "mskhq", "phq9", "gad7")
TEXT_ORDER = ("what_matters", "goals", "questions")


def licensed_text_dir() -> Path:
    """Where an organisation puts its licensed instrument wording (git-ignored)."""
    return Path(os.environ.get("HUB_INSTRUMENT_TEXT_DIR", Path(__file__).resolve().parents[1] / "instrument_text"))


def licensed_text(instrument_id: str, lang: str = "en") -> dict | None:
    """The licensed wording of an instrument loaded from instrument_text/<ID>.<lang>.json, or None.

    Format: {"stem": "...", "items": {"<KEY>": {"text": "...", "options": [{"code": 0, "text": "..."}]}}};
    items without options are numeric scales from the item's min to max.
    """
    path = licensed_text_dir() / f"{instrument_id.upper()}.{lang}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    spec = instruments.get_instrument(instrument_id)
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, dict) or any(k not in items for k in spec.item_keys):
        return None
    return data


def availability(code: str) -> tuple[bool, str]:
    """Whether a set item can be completed by the patient through a link here, and why not."""
    if code in ("nrs", "phq9", "gad7", "pgic", *TEXT_ORDER):
        return True, ""
    if code == "startmsk":
        return False, ("STarT MSK: its licence allows only the total score, entered by a clinician from the "
                       "licensed copy; it cannot be completed by the patient here.")
    if code in ("peg", "mskhq"):
        if licensed_text(code) is not None:
            return True, ""
        return False, (f"{SET_LABELS[code]}: its wording is licensed and is not in the repository; add the "
                       f"licensed copy as instrument_text/{code.upper()}.en.json to offer it.")
    return False, f"Unknown item {code!r}."


@dataclass(frozen=True)
class Step:
    """One page of the patient's questionnaire: a choice question (scored item) or a free-text question."""

    key: str                      # draft key: item key (e.g. 'PHQ9_Q9'), 'PGIC', or a text field
    kind: str                     # 'choice' or 'text'
    instrument: str | None        # 'phq9', 'nrs', ... for scored items; 'pgic'; None for text
    question: str
    help: str = ""
    stem: str = ""
    options: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    required: bool = True
    ours: bool = True             # True when the project wrote the words (held at FK grade <= 8)


def _bundled_steps(code: str) -> list[Step]:
    text = instruments.item_text(code.upper())
    options = tuple((int(o["code"]), str(o["text"])) for o in text["options"])
    spec = instruments.get_instrument(code)
    return [Step(key, "choice", code, str(text["items"][key]), stem=str(text["stem"]), options=options, ours=False)
            for key in spec.item_keys]


def _licensed_steps(code: str) -> list[Step]:
    data = licensed_text(code) or {}
    spec = instruments.get_instrument(code)
    steps = []
    for key in spec.item_keys:
        item = data["items"][key]
        item = item if isinstance(item, dict) else {"text": str(item)}
        it = spec.item(key)
        opts = tuple((int(o["code"]), str(o["text"])) for o in item.get("options") or []) or tuple(
            (v, str(v)) for v in range(it.min, it.max + 1))
        steps.append(Step(key, "choice", code, str(item.get("text", "")), help=str(item.get("help", "")),
                          stem=str(data.get("stem", "")), options=opts, ours=False))
    return steps


def steps_for(items: list[str] | tuple[str, ...]) -> list[Step]:
    """The questionnaire's steps for a chosen set, in a fixed order: pain, function, mood, change, words."""
    chosen = set(items)
    out: list[Step] = []
    for code in SCORED_ORDER:
        if code not in chosen or not availability(code)[0]:
            continue
        if code == "nrs":
            out.append(Step("NRS_Q1", "choice", "nrs", NRS_QUESTION, help=NRS_HELP,
                            options=tuple((v, str(v)) for v in range(0, 11))))
        elif code in ("phq9", "gad7"):
            out += _bundled_steps(code)
        else:
            out += _licensed_steps(code)
    if "pgic" in chosen:
        out.append(Step("PGIC", "choice", "pgic", PGIC_QUESTION, help=PGIC_HELP, options=PGIC_OPTIONS))
    for code in TEXT_ORDER:
        if code in chosen:
            question, help_text = TEXT_QUESTIONS[code]
            out.append(Step(code, "text", None, question, help=help_text, required=False))
    return out


def minutes_for(steps: list[Step]) -> int:
    """A rough time to complete: 15 seconds a choice, 90 seconds a free-text answer, at least 2 minutes."""
    seconds = sum(15 if s.kind == "choice" else 90 for s in steps)
    return max(2, round(seconds / 60))


def our_texts() -> list[str]:
    """Every text this module writes for patients (for the readability test), placeholders filled."""
    fill = {"practice": "Northgate Medical Centre", "first_name": "Sam", "minutes": 5, "n": 3, "total": 20,
            "limit": TEXT_LIMIT}
    texts = [TITLE, WELCOME, *WELCOME_POINTS, PROGRESS, CHOOSE_ONE, OPTIONAL, TOO_LONG, CHECK_TITLE, CHECK_BODY,
             END_TITLE, END_BODY, END_SAFETY_NET, NEUTRAL_TITLE, NEUTRAL_BODY, SAVED, CRISIS_TITLE, *CRISIS_BODY,
             NRS_QUESTION, NRS_HELP, PGIC_QUESTION, PGIC_HELP, *PGIC_LABELS.values()]
    for question, help_text in TEXT_QUESTIONS.values():
        texts += [question, help_text]
    return [t.format(**fill) for t in texts]
