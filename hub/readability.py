"""Readability of plain-language text: the Flesch-Kincaid grade level (used to keep the patient letter's
own wording at or below school grade 8). Pure: text in, numbers out.

Flesch-Kincaid grade = 0.39 x (words / sentences) + 11.8 x (syllables / words) - 15.59 (Kincaid et al.
1975, US Navy research branch report 8-75). Syllables are counted with the usual English heuristic (groups of
vowels, a silent final "e" dropped), which is close to, not identical with, a dictionary count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s|$)|\n+")
_VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Syllables of one English word (heuristic; at least 1)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    n = len(_VOWEL_GROUP_RE.findall(w))
    # A silent final "e" ("make", "there"), but not "-le" after a consonant ("table") or a word like "be".
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    elif w.endswith("le") and len(w) > 2 and w[-3] in "aeiouy" and n > 1:
        n -= 1
    # "-ed" is silent except after t or d ("walked" 1, "wanted" 2).
    if w.endswith("ed") and len(w) > 3 and w[-3] not in "td" and n > 1:
        n -= 1
    return max(1, n)


@dataclass(frozen=True)
class Readability:
    """Counts and the Flesch-Kincaid grade of a text."""

    sentences: int
    words: int
    syllables: int
    grade: float


def flesch_kincaid(text: str) -> Readability:
    """Flesch-Kincaid grade of a text. Every line counts as the end of a sentence (headings and bullet points
    are read as separate units). Raises ValueError for text without words."""
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    units = [u for u in _SENTENCE_END_RE.split(text) if _WORD_RE.search(u)]
    words = _WORD_RE.findall(text)
    if not words:
        raise ValueError("text has no words to measure")
    syllables = sum(count_syllables(w) for w in words)
    grade = 0.39 * (len(words) / len(units)) + 11.8 * (syllables / len(words)) - 15.59
    return Readability(len(units), len(words), syllables, round(grade, 2))


def flesch_kincaid_grade(text: str) -> float:
    """Just the grade (see flesch_kincaid)."""
    return flesch_kincaid(text).grade
