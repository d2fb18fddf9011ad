"""Readability of the text we write for patients: the Flesch-Kincaid grade level (pure functions).

grade = 0.39 x (words / sentences) + 11.8 x (syllables / words) - 15.59

Syllables are counted with a rule-based estimate (vowel groups, silent final 'e', '-le' endings,
common suffixes), good to about one syllable in ten words: enough to hold patient text at or below
grade 8, the level the project sets for every page it writes for patients. Numbers, phone numbers
and abbreviations such as 'NHS' or 'GP' count as one word of one syllable per group of characters.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.,:]\d+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n\s*\n|:\s*\n|\n(?=\s*[-*•])")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")

# Words the rules get wrong that patients' text uses often.
_EXCEPTIONS = {
    "questionnaire": 4, "questionnaires": 4, "people": 2, "every": 2, "everything": 3, "evening": 2,
    "being": 2, "doing": 2, "going": 2, "area": 3, "idea": 3, "create": 2, "business": 2, "different": 3,
    "interest": 3, "usual": 3, "quiet": 2, "poem": 2, "fire": 1, "hour": 1, "hours": 1, "our": 1,
    "samaritans": 4, "anxiety": 4, "diet": 2, "science": 2, "anxious": 2, "worried": 2, "tired": 1, "likes": 1, "lives": 1, "the": 1,
}


def syllables(word: str) -> int:
    """Estimated syllables of one English word (at least 1)."""
    w = word.lower().strip("'")
    if not w:
        return 0
    if w.isdigit() or not w.isalpha():
        return 1
    if w in _EXCEPTIONS:
        return _EXCEPTIONS[w]
    if len(w) <= 3:
        return 1
    if w.isupper() and len(word) <= 4:
        return 1
    base = w
    for suffix in ("es", "ed"):
        if base.endswith(suffix) and not base.endswith(("ted", "ded", "ses", "zes", "ces", "ges", "shes", "ches",
                                                        "xes")):
            base = base[: -len(suffix)]
            break
    if base.endswith("e") and not base.endswith(("le", "ee", "ie")) and len(base) > 2:
        base = base[:-1]
    count = len(_VOWEL_GROUPS.findall(base))
    if base.endswith("le") and len(base) > 2 and base[-3] not in "aeiouy":
        count = max(count, 1)
    return max(1, count)


def words(text: str) -> list[str]:
    """The words of a text (letters with an inner apostrophe, or numbers)."""
    return _WORD.findall(text or "")


def sentence_count(text: str) -> int:
    """Sentences: ends of sentences ('.', '!', '?'), paragraph breaks and list items; at least 1 if any words."""
    parts = [p for p in _SENTENCE_END.split((text or "").strip()) if words(p)]
    return max(1, len(parts)) if words(text) else 0


def fk_grade(text: str) -> float:
    """Flesch-Kincaid grade level of a text (0.0 for a text without words)."""
    ws = words(text)
    if not ws:
        return 0.0
    n_sent = sentence_count(text)
    n_syll = sum(syllables(w) for w in ws)
    return 0.39 * (len(ws) / n_sent) + 11.8 * (n_syll / len(ws)) - 15.59
