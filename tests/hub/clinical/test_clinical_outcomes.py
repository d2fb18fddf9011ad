"""docs/CLINICAL.md section 2 (and the change examples of section 1): response classification."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical import outcomes as O

FAST = settings(max_examples=80, deadline=None)


# Pain change v0.2: every row of the worked-example table (raw floor 1.0 point).
PAIN_CHANGE_V02 = [
    (8, 5, 3, 37.5, "moderate", True),
    (6, 3, 3, 50.0, "substantial", True),
    (10, 7, 3, 30.0, "moderate", True),
    (3, 1, 2, 66.7, "substantial", True),
    (2, 1, 1, 50.0, "substantial", True),
    (7, 6, 1, 14.3, "minimal", False),
    (4, 3, 1, 25.0, "minimal", False),
    (6.0, 4.8, 1.2, 20.0, "minimal", False),
    (5, 5, 0, 0.0, "no_important_change", False),
    (1.0, 0.67, 0.33, 33.0, "no_important_change", False),
    (3.0, 3.3, -0.3, -10.0, "no_important_change", False),
    (3.0, 3.33, -0.33, -11.0, "no_important_change", False),
    (8.0, 8.9, -0.9, -11.25, "no_important_change", False),
    (8.0, 9.0, -1, -12.5, "worse", False),
    (5, 7, -2, -40.0, "worse", False),
    (0, 2, -2, None, "worse", False),
    (0, 0.67, -0.67, None, "no_important_change", False),
    (0, 0, 0, None, "no_important_change", False),
]


@pytest.mark.parametrize("baseline, follow, change, pct, category, farrar", PAIN_CHANGE_V02)
def test_classify_pain_change_table(baseline, follow, change, pct, category, farrar):
    r = O.classify_pain_change(baseline, follow)
    assert round(r.change, 2) == change
    assert (None if r.pct is None else round(r.pct, 2)) == (None if pct is None else pytest.approx(pct, abs=0.05))
    assert r.category == category
    assert r.farrar_important is farrar


def test_raw_floor_is_configurable():
    assert O.classify_pain_change(3.0, 3.5, raw_floor=0.5).category == "worse"
    assert O.classify_pain_change(3.0, 3.5).category == "no_important_change"


def test_pain_change_text_shows_both_numbers():
    assert O.pain_change_text(O.classify_pain_change(3.0, 3.3)) == "3.0 → 3.3 (+0.3 points, +10%): no important change"


def test_peg_example_7_to_4_67_is_moderate():
    r = O.classify_pain_change(7.00, 4.67)
    assert round(r.pct, 1) == 33.3 and r.category == "moderate"


@pytest.mark.parametrize(
    "baseline, follow, category",
    [(10, 9, "minimal"), (10, 9.1, "no_important_change"), (5, 6, "worse"), (5, 5.5, "no_important_change"), (5, 5.45, "no_important_change"),
     (10, 5, "substantial"), (10, 5.1, "moderate"), (7.0, 4.9, "moderate")],
)
def test_pain_category_boundaries(baseline, follow, category):
    assert O.classify_pain_change(baseline, follow).category == category


@pytest.mark.parametrize("bad", [(-1, 5), (5, 11), (True, 3), ("5", 3), (None, 3)])
def test_pain_change_invalid(bad):
    with pytest.raises(ValueError):
        O.classify_pain_change(*bad)


@FAST
@given(st.floats(0.1, 10), st.floats(0, 10), st.floats(0, 10))
def test_pain_category_monotone_in_follow_up(baseline, f1, f2):
    order = {c: i for i, c in enumerate(("worse", "no_important_change", "minimal", "moderate", "substantial"))}
    lo, hi = sorted((f1, f2))
    assert order[O.classify_pain_change(baseline, lo).category] >= order[O.classify_pain_change(baseline, hi).category]


# ----------------------------------------------------------- MSK-HQ, TSK-11, PCS, PSEQ, ODI, BPI


@pytest.mark.parametrize("baseline, follow, expected",
                         [(24, 30, "improved"), (24, 29, "no_important_change"), (30, 24, "worse")])
def test_mskhq_change_class(baseline, follow, expected):
    assert O.mskhq_change_class(baseline, follow) == expected


@pytest.mark.parametrize("baseline, follow, expected", [(30, 26, "improved"), (30, 27, "no_important_change"),
                                                        (26, 30, "worse")])
def test_tsk11_change(baseline, follow, expected):
    assert O.tsk11_change_class(baseline, follow) == expected


@pytest.mark.parametrize("baseline, follow, expected", [(33, 22, "improved"), (26, 19, "no_important_change"),
                                                        (33, 23, "no_important_change"), (26, 18, "improved"),
                                                        (30, 22, "improved")])
def test_pcs_change(baseline, follow, expected):
    assert O.pcs_change_class(baseline, follow) == expected


def test_pcs_mic_depends_on_baseline():
    assert O.pcs_mic(33) == 11 and O.pcs_mic(26) == 8 and O.pcs_mic(30) == 8


@pytest.mark.parametrize("mic, expected", [(5.5, "improved"), (8.5, "no_important_change"), (6, "improved")])
def test_pseq_change_config(mic, expected):
    assert O.pseq_change_class(33, 40, mic=mic) == expected


def test_pseq_default_mic_is_6():
    assert O.pseq_change_class(33, 39) == "improved"
    assert O.pseq_change_class(33, 38) == "no_important_change"


@pytest.mark.parametrize("baseline, follow, expected", [(40, 30, "improved"), (20, 14, "improved"),
                                                        (40, 31, "no_important_change"), (30, 40, "worse"),
                                                        (20, 15, "no_important_change")])
def test_odi_change(baseline, follow, expected):
    assert O.odi_change_class(baseline, follow) == expected


@pytest.mark.parametrize("baseline, follow, expected", [(6.43, 5.43, "improved"), (6.43, 5.5, "no_important_change"),
                                                        (5.0, 6.0, "worse")])
def test_bpi_interference_change(baseline, follow, expected):
    assert O.bpi_interference_change_class(baseline, follow) == expected


@FAST
@given(st.integers(0, 56), st.integers(0, 56))
def test_mskhq_change_class_is_antisymmetric(a, b):
    flip = {"improved": "worse", "worse": "improved", "no_important_change": "no_important_change"}
    assert O.mskhq_change_class(a, b) == flip[O.mskhq_change_class(b, a)]


# ------------------------------------------------------------------------ generic classify_change


def test_classify_change_points_and_band():
    c = O.classify_change("MSKHQ", 24, 30)
    assert (c.change, c.improvement, c.category, c.important, c.direction) == (6, 6, "improved", True, "better")
    assert (c.mic_band_low, c.mic_band_high) == (18.5, 29.5)
    c = O.classify_change("TSK-11", 30, 26)
    assert (c.change, c.improvement, c.category) == (-4, 4, "improved")
    c = O.classify_change("PCS", 33, 22)
    assert c.mic == 11 and c.category == "improved"


def test_classify_change_pain_uses_immpact():
    c = O.classify_change("PEG", 7.0, 4.67)
    assert c.category == "moderate" and c.important and c.direction == "better"
    # v0.2: worse needs +10% AND the 1-point raw floor, so from 7.0 the band reaches 8.0 (not 7.7)
    assert c.mic_band_low == pytest.approx(4.9) and c.mic_band_high == pytest.approx(8.0)
    low = O.classify_change("PEG", 3.0, 3.3)
    assert low.category == "no_important_change" and (low.mic_band_low, low.mic_band_high) == (2.0, 4.0)
    assert O.classify_change("NRS", 5, 5).category == "no_important_change"


def test_classify_change_rejects_prognostic_tools_and_out_of_range():
    for iid in ("SBST", "STARTMSK", "OMPSQ", "TSK17"):
        with pytest.raises(ValueError, match="not an outcome measure"):
            O.classify_change(iid, 3, 2)
    with pytest.raises(ValueError):
        O.classify_change("MSKHQ", 24, 57)


@FAST
@given(st.sampled_from(["MSKHQ", "ODI", "TSK11", "PCS", "PSEQ", "PHQ9", "GAD7", "PEG", "NRS", "BPI"]), st.data())
def test_classify_change_band_is_consistent_with_category(iid, data):
    from hub.clinical.instruments import INSTRUMENTS

    spec = INSTRUMENTS["BPI" if iid == "BPI" else iid]
    b = data.draw(st.integers(int(spec.min_total), int(spec.max_total)))
    f = data.draw(st.integers(int(spec.min_total), int(spec.max_total)))
    c = O.classify_change(iid, b, f)
    assert c.mic_band_low <= b <= c.mic_band_high
    better_side = f > c.mic_band_high if spec.higher_is_better else f < c.mic_band_low
    if c.direction == "better":
        assert better_side or f in (c.mic_band_low, c.mic_band_high)
    if c.mic_band_low < f < c.mic_band_high:
        assert c.direction == "none"


# --------------------------------------------------------------------------------- responder


@pytest.mark.parametrize(
    "instrument, baseline, latest, gas, expected",
    [
        ("PEG", 7.0, 4.67, None, True),
        ("PEG", 7.0, 5.0, None, False),
        ("NRS", 10, 7, None, True),
        ("MSKHQ", 24, 29.5, None, True),
        ("MSKHQ", 24, 29, None, False),
        ("ODI", 40, 30, None, True),
        ("ODI", 20, 14, None, True),
        ("ODI", 40, 31, None, False),
        ("ODI", 40, 31, True, True),
        ("PEG", None, None, None, None),
        ("PEG", None, None, False, False),
        # v0.2 (2.3 via 2.2): a third of a point is not a response, whatever the percentage
        ("PEG", 1.0, 0.67, None, False),
        ("NRS", 2, 1, None, True),
        ("PEG", 3.0, 2.1, None, False),
    ],
)
def test_is_responder(instrument, baseline, latest, gas, expected):
    assert O.is_responder(instrument, baseline, latest, gas_met=gas) is expected


def test_is_responder_rejects_unknown_primary():
    with pytest.raises(ValueError):
        O.is_responder("SBST", 5, 3)
