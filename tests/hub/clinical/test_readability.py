"""Flesch-Kincaid grade (hub.clinical.readability) and the reading level of every text the patient page says."""

from __future__ import annotations

import pytest

from hub import patient_text
from hub.clinical.readability import fk_grade, sentence_count, syllables, words


@pytest.mark.parametrize("word,n", [("cat", 1), ("water", 2), ("table", 2), ("questionnaire", 4), ("beautiful", 3),
                                    ("walked", 1), ("wanted", 2), ("make", 1), ("family", 3), ("NHS", 1),
                                    ("111", 1), ("anxiety", 4), ("depression", 3)])
def test_syllables(word, n):
    assert syllables(word) == n


def test_words_and_sentences():
    assert words("Call NHS 111. Then choose option 2!") == ["Call", "NHS", "111", "Then", "choose", "option", "2"]
    assert sentence_count("One. Two? Three!") == 3
    assert sentence_count("A list:\n- first\n- second") == 3
    assert sentence_count("") == 0 and fk_grade("") == 0.0


def test_grade_matches_the_formula_and_orders_texts():
    # 'The cat sat on the mat.': 6 words, 1 sentence, 6 syllables -> 0.39*6 + 11.8*1 - 15.59 = -1.45
    assert fk_grade("The cat sat on the mat.") == pytest.approx(-1.45, abs=0.01)
    simple = "Your answers are saved as you go. You can stop and come back later."
    hard = ("Patient-reported outcome measures facilitate longitudinal characterisation of multidimensional "
            "symptomatology, notwithstanding considerable heterogeneity in psychometric validation.")
    assert fk_grade(simple) < 4 < 8 < fk_grade(hard)


@pytest.mark.parametrize("text", patient_text.our_texts())
def test_every_patient_text_we_write_is_grade_8_or_below(text):
    assert fk_grade(text) <= 8, f"grade {fk_grade(text):.1f}: {text}"


def test_the_patient_page_as_a_whole_reads_at_grade_8_or_below():
    assert fk_grade("\n\n".join(patient_text.our_texts())) <= 8
