"""docs/CLINICAL.md section 1: every worked example of every instrument, plus property-based tests."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical import instrument_registry
from hub.clinical import instruments as I


def resp(prefix: str, values, start: int = 1) -> dict[str, int | None]:
    """Build a response dict keyed PREFIX_Q1.. from a list of codes."""
    return {f"{prefix}_Q{i}": v for i, v in enumerate(values, start)}


FAST = settings(max_examples=60, deadline=None)


# ---------------------------------------------------------------- 1.1 SBST


@pytest.mark.parametrize(
    "case, q1_8, q9, total, distress, risk",
    [
        ("T1", [0, 0, 0, 0, 0, 0, 0, 0], 0, 0, 0, "low"),
        ("T2", [1, 1, 1, 0, 0, 0, 0, 0], 2, 3, 0, "low"),
        ("T3", [1, 1, 1, 1, 0, 0, 0, 0], 1, 4, 0, "medium"),
        ("T4", [1, 0, 0, 0, 1, 1, 1, 0], 3, 5, 4, "high"),
        ("T5", [0, 0, 0, 0, 1, 1, 1, 1], 0, 4, 4, "high"),
        ("T6", [1, 1, 1, 1, 1, 1, 1, 0], 2, 7, 3, "medium"),
        ("T7", [0, 0, 0, 0, 0, 0, 0, 0], 4, 1, 1, "low"),
    ],
)
def test_sbst_worked_examples(case, q1_8, q9, total, distress, risk):
    r = I.score_sbst(resp("SBST", q1_8 + [q9]))
    assert (r.total, r.distress, r.risk) == (total, distress, risk), case


def test_sbst_t8_q9_out_of_range():
    with pytest.raises(ValueError, match="SBST_Q9"):
        I.score_sbst(resp("SBST", [0] * 8 + [5]))


def test_sbst_t9_missing_item():
    r = resp("SBST", [0] * 8 + [0])
    del r["SBST_Q4"]
    with pytest.raises(ValueError, match="SBST_Q4"):
        I.score_sbst(r)


@pytest.mark.parametrize("bad", [True, 1.0, "1", None, -1, 2])
def test_sbst_rejects_bad_codes_naming_item(bad):
    r = resp("SBST", [0] * 9)
    r["SBST_Q3"] = bad
    with pytest.raises(ValueError, match="SBST_Q3"):
        I.score_sbst(r)


def test_sbst_rejects_unknown_key():
    r = resp("SBST", [0] * 9)
    r["SBST_Q10"] = 0
    with pytest.raises(ValueError, match="SBST_Q10"):
        I.score_sbst(r)


def test_sbst_result_is_frozen():
    r = I.score_sbst(resp("SBST", [0] * 9))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.total = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "items, risk, total",
    [
        # Q1, Q3, Q4, Q7, Q8 then Q9
        ({"SBST_Q1": 1, "SBST_Q3": 1, "SBST_Q4": 0, "SBST_Q7": 0, "SBST_Q8": 0, "SBST_Q9": 2}, "low", 2),
        ({"SBST_Q1": 1, "SBST_Q3": 1, "SBST_Q4": 0, "SBST_Q7": 0, "SBST_Q8": 0, "SBST_Q9": 3}, "not_low", 3),
        ({"SBST_Q1": 1, "SBST_Q3": 1, "SBST_Q4": 1, "SBST_Q7": 1, "SBST_Q8": 1, "SBST_Q9": 4}, "not_low", 6),
    ],
)
def test_sbst6(items, risk, total):
    r = I.score_sbst6(items)
    assert (r.total, r.risk) == (total, risk)


def test_sbst6_ignores_removed_items_of_a_nine_item_form():
    nine = resp("SBST", [0, 1, 0, 0, 1, 1, 0, 0, 0])  # only Q2, Q5, Q6 positive
    assert I.score_sbst(nine).total == 3
    assert I.score_sbst6(nine).total == 0


@FAST
@given(st.lists(st.integers(0, 1), min_size=8, max_size=8), st.integers(0, 4))
def test_sbst_properties(q1_8, q9):
    r = I.score_sbst(resp("SBST", q1_8 + [q9]))
    assert 0 <= r.distress <= 5 and 0 <= r.total <= 9 and r.distress <= r.total
    assert r.total == sum(q1_8) + (q9 >= 3)
    assert (r.risk == "low") == (r.total <= 3)
    assert (r.risk == "high") == (r.total >= 4 and r.distress >= 4)


@FAST
@given(st.lists(st.integers(0, 1), min_size=8, max_size=8), st.integers(0, 4), st.integers(0, 8))
def test_sbst_monotone_in_each_response(q1_8, q9, idx):
    values = q1_8 + [q9]
    hi = 4 if idx == 8 else 1
    if values[idx] == hi:
        return
    bigger = list(values)
    bigger[idx] += 1
    order = {"low": 0, "medium": 1, "high": 2}
    a, b = I.score_sbst(resp("SBST", values)), I.score_sbst(resp("SBST", bigger))
    assert b.total >= a.total and b.distress >= a.distress and order[b.risk] >= order[a.risk]


# ---------------------------------------------------------------- 1.2 STarT MSK


@pytest.mark.parametrize("total, band", [(0, "low"), (4, "low"), (5, "medium"), (8, "medium"), (9, "high"), (12, "high")])
def test_start_msk_bands(total, band):
    assert I.band_start_msk(total) == band


@pytest.mark.parametrize("total", [13, -1, True, 4.0, "4", None])
def test_start_msk_invalid(total):
    with pytest.raises(ValueError):
        I.band_start_msk(total)


def test_start_msk_cutoffs_are_configurable():
    assert I.band_start_msk(9, high_min=10) == "medium"
    assert I.band_start_msk(4, medium_min=4) == "medium"
    with pytest.raises(ValueError):
        I.band_start_msk(4, medium_min=9, high_min=9)


def test_start_msk_via_dispatcher():
    s = I.score("STARTMSK", {"STARTMSK_TOTAL": 7})
    assert (s.total, s.band) == (7, "medium")


# ---------------------------------------------------------------- 1.3 ÖMPSQ-10


@pytest.mark.parametrize(
    "case, raw, total, high",
    [
        ("T1", [8, 7, 3, 4, 6, 5, 8, 2, 7, 6], 68, True),
        ("T2", [3, 4, 9, 8, 2, 1, 3, 9, 3, 2], 22, False),
        ("T3 min", [1, 0, 10, 10, 0, 0, 0, 10, 0, 0], 1, False),
        ("T4 max", [10, 10, 0, 0, 10, 10, 10, 0, 10, 10], 100, True),
        ("T5 boundary", [5] * 10, 50, True),
        ("T6 boundary", [4] + [5] * 9, 49, False),
    ],
)
def test_ompsq_worked_examples(case, raw, total, high):
    r = I.score_ompsq10(resp("OMPSQ", raw))
    assert (r.total, r.high_risk) == (total, high), case


def test_ompsq_t7_q1_zero():
    with pytest.raises(ValueError, match="OMPSQ_Q1"):
        I.score_ompsq10(resp("OMPSQ", [0] + [5] * 9))


def test_ompsq_cutoff_configurable():
    assert I.score_ompsq10(resp("OMPSQ", [5] * 10), high_risk_min=51).high_risk is False


@FAST
@given(st.integers(1, 10), st.lists(st.integers(0, 10), min_size=9, max_size=9))
def test_ompsq_range(q1, rest):
    r = I.score_ompsq10(resp("OMPSQ", [q1] + rest))
    assert 1 <= r.total <= 100
    assert r.high_risk == (r.total >= 50)


# ---------------------------------------------------------------- 1.4 MSK-HQ


def test_mskhq_all_twos():
    assert I.score_mskhq(resp("MSKHQ", [2] * 14)) == 28


def test_mskhq_13_items_raises():
    with pytest.raises(ValueError, match="MSKHQ_Q14"):
        I.score_mskhq(resp("MSKHQ", [2] * 13))


def test_mskhq_activity_item_not_scored():
    r = resp("MSKHQ", [2] * 14)
    r["MSKHQ_PA"] = 7
    assert I.score_mskhq(r) == 28


@FAST
@given(st.lists(st.integers(0, 4), min_size=14, max_size=14))
def test_mskhq_range(values):
    assert I.score_mskhq(resp("MSKHQ", values)) == sum(values)


# ---------------------------------------------------------------- 1.5 PEG


@pytest.mark.parametrize("items, expected", [((7, 6, 8), 7.00), ((5, 4, 4), 4.33), ((8, 8, 7), 7.67)])
def test_peg(items, expected):
    assert round(I.score_peg(resp("PEG", items)), 2) == expected


def test_peg_is_unrounded_mean():
    assert I.score_peg(resp("PEG", (5, 4, 4))) == pytest.approx(13 / 3)


# ---------------------------------------------------------------- 1.6 BPI


def _bpi(worst=8, least=3, average=6, now=5, interference=(None,) * 7):
    r = {"BPI_WORST": worst, "BPI_LEAST": least, "BPI_AVERAGE": average, "BPI_NOW": now}
    r.update({f"BPI_I{i}": v for i, v in enumerate(interference, 1)})
    return r


def test_bpi_severity():
    assert round(I.score_bpi(_bpi()).severity, 2) == 5.50


@pytest.mark.parametrize(
    "items, expected",
    [
        ((7, 6, 5, 8, 4, 9, 6), 6.43),
        ((7, None, 5, None, 4, None, 6), 5.50),
        ((7, None, None, None, 4, None, 6), None),
    ],
)
def test_bpi_interference(items, expected):
    r = I.score_bpi(_bpi(interference=items))
    assert (None if r.interference is None else round(r.interference, 2)) == expected


def test_bpi_interference_absent_keys_count_as_unanswered():
    r = {"BPI_WORST": 1, "BPI_LEAST": 1, "BPI_AVERAGE": 1, "BPI_NOW": 1, "BPI_I1": 2, "BPI_I2": 4}
    assert I.score_bpi(r).interference is None


def test_bpi_severity_band_and_missing_severity():
    assert I.score_bpi(_bpi(8, 7, 7, 8)).severity_band == "severe"
    assert I.score_bpi(_bpi(4, 5, 5, 4)).severity_band == "mild"  # mean 4.5: band starting at 0
    with pytest.raises(ValueError, match="BPI_NOW"):
        I.score_bpi(_bpi(now=None))
    with pytest.raises(ValueError, match="BPI_I3"):
        I.score_bpi(_bpi(interference=(1, 1, 11, 1, 1, 1, 1)))


# ---------------------------------------------------------------- 1.7 TSK


def test_tsk11_example():
    assert I.score_tsk11(resp("TSK11", (3, 3, 2, 4, 2, 3, 3, 2, 3, 2, 3))) == 30


def test_tsk17_example_reversed_items():
    r = I.score_tsk17(resp("TSK17", (3, 3, 2, 1, 2, 3, 3, 2, 3, 2, 3, 1, 3, 2, 3, 2, 3)))
    assert (r.total, r.high) == (49, True)


def test_tsk17_boundary_37_is_not_high():
    # 13 straight items at 2 (26) + 4 reversed items coded 3 (5 - 3 = 2 each, 8) = 34; then +1 and +2 -> 37
    values = [2] * 17
    for i in (4, 8, 12, 16):
        values[i - 1] = 3
    values[0] = 3
    values[1] = 4
    assert I.score_tsk17(resp("TSK17", values)).total == 37
    assert I.score_tsk17(resp("TSK17", values)).high is False
    assert I.score_tsk17(resp("TSK17", values), high_above=36).high is True


@pytest.mark.parametrize("bad", [0, 5])
@pytest.mark.parametrize("fn, prefix, n", [(I.score_tsk11, "TSK11", 11), (I.score_tsk17, "TSK17", 17)])
def test_tsk_out_of_range(fn, prefix, n, bad):
    values = [2] * n
    values[n - 1] = bad
    with pytest.raises(ValueError, match=f"{prefix}_Q{n}"):
        fn(resp(prefix, values))


@FAST
@given(st.lists(st.integers(1, 4), min_size=17, max_size=17))
def test_tsk17_range_and_reversal(values):
    r = I.score_tsk17(resp("TSK17", values))
    assert 17 <= r.total <= 68
    flipped = list(values)
    flipped[3] = 5 - flipped[3]
    assert I.score_tsk17(resp("TSK17", flipped)).total - r.total == values[3] - flipped[3]


# ---------------------------------------------------------------- 1.8 PCS


@pytest.mark.parametrize(
    "items, expected",
    [
        ((3, 2, 3, 2, 1, 2, 3, 4, 3, 3, 4, 2, 1), (33, 14, 6, 13, True)),
        ((2,) * 13, (26, 8, 6, 12, False)),
        ((3, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 2, 1), (30, 12, 5, 13, True)),
    ],
)
def test_pcs(items, expected):
    r = I.score_pcs(resp("PCS", items))
    assert (r.total, r.rumination, r.magnification, r.helplessness, r.clinically_relevant) == expected


def test_pcs_cutoff_configurable():
    items = resp("PCS", (3, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 2, 1))
    assert I.score_pcs(items, cutoff=31).clinically_relevant is False


@FAST
@given(st.lists(st.integers(0, 4), min_size=13, max_size=13))
def test_pcs_subscales_partition_total(values):
    r = I.score_pcs(resp("PCS", values))
    assert r.rumination + r.magnification + r.helplessness == r.total
    assert 0 <= r.rumination <= 16 and 0 <= r.magnification <= 12 and 0 <= r.helplessness <= 24


# ---------------------------------------------------------------- 1.9 PSEQ


def test_pseq():
    r = I.score_pseq(resp("PSEQ", (4, 3, 5, 2, 3, 4, 3, 2, 4, 3)))
    assert (r.total, r.band) == (33, "mild")


@pytest.mark.parametrize("total, band", [(0, "severe"), (19, "severe"), (20, "moderate"), (30, "moderate"),
                                         (31, "mild"), (40, "mild"), (41, "minimal"), (60, "minimal")])
def test_pseq_band_boundaries(total, band):
    values = [min(6, max(0, total - 6 * i)) for i in range(10)]
    assert sum(values) == total
    assert I.score_pseq(resp("PSEQ", values)).band == band


# ---------------------------------------------------------------- 1.10 PHQ-9


@pytest.mark.parametrize(
    "items, total, band, safety",
    [
        ((2, 2, 1, 3, 2, 1, 1, 0, 0), 12, "moderate", False),
        ((3, 3, 2, 3, 2, 2, 2, 1, 1), 19, "moderately_severe", True),
        ((0, 0, 0, 0, 0, 0, 0, 0, 1), 1, "minimal", True),
    ],
)
def test_phq9(items, total, band, safety):
    r = I.score_phq9(resp("PHQ9", items))
    assert (r.total, r.band, r.safety_alert) == (total, band, safety)


@pytest.mark.parametrize("total, band", [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                                         (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"),
                                         (27, "severe")])
def test_phq9_band_boundaries(total, band):
    values = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
    if sum(values) < total:
        values[8] = total - sum(values)
    assert I.score_phq9(resp("PHQ9", values)).band == band


def test_phq9_difficulty_item_is_not_scored():
    r = resp("PHQ9", (1,) * 9)
    r["PHQ9_Q10"] = 3
    assert I.score_phq9(r).total == 9


def test_phq9_safety_alert_survives_incomplete_form():
    s = I.score("PHQ-9", {"PHQ9_Q1": 1, "PHQ9_Q9": 2}, partial=True)
    assert s.total is None and s.safety_alert is True and "PHQ9_Q2" in s.detail["missing"]
    with pytest.raises(ValueError, match="PHQ9_Q2"):
        I.score("PHQ9", {"PHQ9_Q1": 1, "PHQ9_Q9": 2})


@FAST
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9), st.integers(0, 8))
def test_phq9_monotone_and_safety(values, idx):
    r = I.score_phq9(resp("PHQ9", values))
    assert 0 <= r.total <= 27 and r.safety_alert == (values[8] > 0)
    if values[idx] < 3:
        bigger = list(values)
        bigger[idx] += 1
        assert I.score_phq9(resp("PHQ9", bigger)).total == r.total + 1


# ---------------------------------------------------------------- 1.11 GAD-7


@pytest.mark.parametrize(
    "items, total, band, positive",
    [((2, 1, 2, 1, 1, 2, 1), 10, "moderate", True), ((1, 1, 1, 0, 1, 0, 0), 4, "minimal", False)],
)
def test_gad7(items, total, band, positive):
    r = I.score_gad7(resp("GAD7", items))
    assert (r.total, r.band, r.positive) == (total, band, positive)


def test_gad7_positive_cutoff_configurable():
    assert I.score_gad7(resp("GAD7", (2, 1, 2, 1, 1, 2, 1)), positive_min=11).positive is False


# ---------------------------------------------------------------- 1.12 ODI


@pytest.mark.parametrize(
    "items, expected",
    [((2, 1, 2, 2, 1, 2, 2, 1, 2, 1), 32.00), ((2, 1, 2, 2, 1, 2, 2, 1, 3, None), 35.56)],
)
def test_odi(items, expected):
    assert round(I.score_odi(resp("ODI", items)), 2) == expected


def test_odi_fewer_than_nine_answered_is_not_scored():
    assert I.score_odi(resp("ODI", (2, 1, 2, 2, 1, 2, 2, 1, None, None))) is None
    assert I.score_odi(resp("ODI", (2, 1, 2, 2, 1, 2, 2, 1, 1))) is not None  # Q10 key absent


def test_odi_out_of_range():
    with pytest.raises(ValueError, match="ODI_Q2"):
        I.score_odi(resp("ODI", (2, 6, 2, 2, 1, 2, 2, 1, 2, 1)))


# ---------------------------------------------------------------- registry, dispatcher, text


SCORERS = {
    "SBST": I.score_sbst, "SBST6": I.score_sbst6, "OMPSQ": I.score_ompsq10, "MSKHQ": I.score_mskhq,
    "PEG": I.score_peg, "BPI": I.score_bpi, "TSK11": I.score_tsk11, "TSK17": I.score_tsk17, "PCS": I.score_pcs,
    "PSEQ": I.score_pseq, "PHQ9": I.score_phq9, "GAD7": I.score_gad7, "ODI": I.score_odi, "NRS": I.score_nrs,
}


def test_registry_declares_direction_per_spec_table():
    expected = {"MSKHQ": True, "PSEQ": True}
    for iid, spec in I.INSTRUMENTS.items():
        assert spec.higher_is_better == expected.get(iid, False), iid
        assert spec.min_total < spec.max_total and spec.items and spec.version and spec.name


def test_only_phq9_and_gad7_text_bundled():
    assert {i for i, s in I.INSTRUMENTS.items() if s.text_bundled} == {"PHQ9", "GAD7"}
    assert set(instrument_registry.ITEM_TEXT) - {"version", "language"} == {"PHQ9", "GAD7"}
    text = I.item_text("PHQ-9")
    assert set(text["items"]) == set(I.INSTRUMENTS["PHQ9"].item_keys)
    assert "Pfizer" in text["attribution"]
    assert set(I.item_text("GAD7")["items"]) == set(I.INSTRUMENTS["GAD7"].item_keys)
    with pytest.raises(ValueError, match="licen"):
        I.item_text("PCS")


@pytest.mark.parametrize("iid", sorted(SCORERS))
def test_dispatcher_agrees_with_instrument_function_at_extremes(iid):
    spec = I.INSTRUMENTS[iid]
    for pick in (lambda it: it.min, lambda it: it.max):
        r = {it.key: pick(it) for it in spec.items if it.scored}
        direct = SCORERS[iid](r)
        scored = I.score(iid, r)
        expected = getattr(direct, "total", getattr(direct, "severity", direct))
        assert scored.total == pytest.approx(expected)
        assert spec.min_total <= scored.total <= spec.max_total
        assert scored.instrument_id == iid and scored.instrument_version == spec.version


def test_extremes_reach_declared_min_and_max_totals():
    for iid in ("SBST", "OMPSQ", "MSKHQ", "PEG", "TSK11", "TSK17", "PCS", "PSEQ", "PHQ9", "GAD7", "ODI", "NRS"):
        spec = I.INSTRUMENTS[iid]
        reversed_ = {"OMPSQ_Q3", "OMPSQ_Q4", "OMPSQ_Q8", "TSK17_Q4", "TSK17_Q8", "TSK17_Q12", "TSK17_Q16"}
        low = {it.key: (it.max if it.key in reversed_ else it.min) for it in spec.items if it.scored}
        high = {it.key: (it.min if it.key in reversed_ else it.max) for it in spec.items if it.scored}
        assert I.score(iid, low).total == spec.min_total, iid
        assert I.score(iid, high).total == spec.max_total, iid


@FAST
@given(st.data())
def test_any_valid_response_scores_within_declared_range(data):
    iid = data.draw(st.sampled_from(sorted(SCORERS)))
    spec = I.INSTRUMENTS[iid]
    r = {it.key: data.draw(st.integers(it.min, it.max)) for it in spec.items if it.scored}
    s = I.score(iid, r)
    assert spec.min_total <= s.total <= spec.max_total


@FAST
@given(st.data())
def test_any_out_of_range_or_wrong_type_raises_naming_the_item(data):
    iid = data.draw(st.sampled_from(sorted(SCORERS)))
    spec = I.INSTRUMENTS[iid]
    r = {it.key: it.min for it in spec.items if it.scored}
    item = data.draw(st.sampled_from([it for it in spec.items if it.scored]))
    bad = data.draw(st.one_of(
        st.integers(max_value=item.min - 1), st.integers(min_value=item.max + 1),
        st.booleans(), st.floats(allow_nan=True), st.text(max_size=3),
    ))
    r[item.key] = bad
    with pytest.raises(ValueError, match=item.key):
        I.score(iid, r)


@pytest.mark.parametrize("bad", [None, [1, 2], "PHQ9_Q1=1"])
def test_non_dict_responses_raise(bad):
    with pytest.raises(ValueError):
        I.score_phq9(bad)


def test_unknown_instrument_and_aliases():
    assert I.instrument_id("ÖMPSQ-10") == "OMPSQ"
    assert I.instrument_id("phq-9") == "PHQ9"
    with pytest.raises(ValueError, match="unknown instrument"):
        I.score("EQ5D", {})


def test_bands_are_contiguous_and_cover_the_instrument_range():
    for iid, key in (("PHQ9", "bands"), ("GAD7", "bands"), ("PSEQ", "bands"), ("STARTMSK", "bands"),
                     ("BPI", "severity_bands")):
        bands = I.BANDS[iid][key]
        spec = I.INSTRUMENTS[iid]
        assert bands[0]["min"] == spec.min_total and bands[-1]["max"] == spec.max_total, iid
        for a, b in zip(bands, bands[1:]):
            assert b["min"] == a["max"] + 1, iid


def test_partial_scoring_of_a_complete_form_equals_normal_scoring():
    r = resp("PCS", (3, 2, 3, 2, 1, 2, 3, 4, 3, 3, 4, 2, 1))
    assert I.score("PCS", r, partial=True) == I.score("PCS", r)
    with pytest.raises(ValueError, match="PCS_Q2"):
        I.score("PCS", {**r, "PCS_Q2": 7}, partial=True)


def test_dispatcher_passes_configurable_cutoffs():
    r = resp("PCS", (3, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 2, 1))
    assert I.score("PCS", r).band == "clinically_relevant"
    assert I.score("PCS", r, cutoff=31).band == "not_clinically_relevant"
