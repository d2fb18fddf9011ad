"""docs/CLINICAL.md section 4: OME conversion, dose flags, co-prescription flags."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical import opioids as P

FAST = settings(max_examples=80, deadline=None)


def oral(drug, mg):
    return {"drug": drug, "route": "oral", "daily_dose_mg": mg}


def patch(drug, mcg):
    return {"drug": drug, "route": "transdermal", "patch_mcg_per_h": mcg}


UNCONV = "unconvertible"

# (case, prescriptions, UK OME, CDC MME or UNCONV, UK flag)
CASES = [
    ("codeine 60 QDS", [oral("codeine", 240)], 24, 36, "none"),
    ("tramadol 100 QDS", [oral("tramadol", 400)], 40, 80, "none"),
    ("oxycodone MR 40 BD", [oral("oxycodone", 80)], 120, 120, "red"),
    ("morphine MR 60 BD", [oral("morphine", 120)], 120, 120, "red"),
    ("fentanyl 25", [patch("fentanyl", 25)], 60, 60, "none"),
    ("fentanyl 12", [patch("fentanyl", 12)], 30, 28.8, "none"),
    ("buprenorphine 10", [patch("buprenorphine", 10)], 24, UNCONV, "none"),
    ("buprenorphine 5", [patch("buprenorphine", 5)], 12, UNCONV, "none"),
    ("tapentadol 100 BD", [oral("tapentadol", 200)], 80, 80, "none"),
    ("dihydrocodeine 30 QDS", [oral("dihydrocodeine", 120)], 12, UNCONV, "none"),
    ("fentanyl 25 + morphine IR 20", [patch("fentanyl", 25), oral("morphine", 20)], 80, 80, "none"),
    ("oxycodone 40 + tramadol 400", [oral("oxycodone", 40), oral("tramadol", 400)], 100, 140, "amber"),
]


@pytest.mark.parametrize("case, rx, uk, cdc, flag", CASES)
def test_worked_examples(case, rx, uk, cdc, flag):
    r_uk = P.daily_ome(rx)
    assert r_uk.total == pytest.approx(uk) and r_uk.complete, case
    assert P.opioid_flag(r_uk.total) == flag
    r_us = P.daily_ome(rx, table="US_CDC_2022")
    if cdc == UNCONV:
        assert r_us.unconvertible and not r_us.complete and r_us.total == 0
        assert r_us.unconvertible[0].reason
    else:
        assert r_us.total == pytest.approx(cdc) and r_us.complete


def test_oxycodone_plus_tramadol_breakdown():
    r = P.daily_ome([oral("oxycodone", 40), oral("tramadol", 400)])
    assert [i.ome for i in r.items] == [60, 40]
    assert "oxycodone" in r.items[0].label and "60" in r.items[0].label


@pytest.mark.parametrize("mcg, ome", [(11.9, 28.56), (12, 30), (12.25, 30), (12.5, 30), (12.6, 30.24), (25, 60), (50, 120), (75, 180), (100, 240), (37.5, 90)])
def test_fentanyl_uk_lookup(mcg, ome):
    assert P.daily_ome([patch("fentanyl", mcg)]).total == pytest.approx(ome)


@pytest.mark.parametrize("mcg, mg", [(5, 12), (10, 24), (20, 48), (35, 84), (52.5, 126), (70, 168)])
def test_buprenorphine_uk(mcg, mg):
    assert P.daily_ome([patch("buprenorphine", mcg)]).total == pytest.approx(mg)


def test_methadone_uk_unconvertible_and_not_zeroed():
    r = P.daily_ome([oral("methadone", 30), oral("morphine", 40)])
    assert r.total == 40 and not r.complete
    assert r.unconvertible[0].drug == "methadone" and "specialist" in r.unconvertible[0].reason
    assert P.daily_ome([oral("methadone", 30)], table="US_CDC_2022").total == pytest.approx(141)


def test_unknown_route_drug_and_non_opioid():
    r = P.daily_ome([{"drug": "morphine", "route": "subcutaneous", "daily_dose_mg": 10},
                     oral("madeupine", 10), oral("naproxen", 1000)])
    assert r.total == 0 and len(r.unconvertible) == 2 and r.ignored == ("naproxen",)


@pytest.mark.parametrize(
    "rx",
    [
        [oral("morphine", -1)],
        [oral("morphine", True)],
        [oral("morphine", "10")],
        [{"drug": "morphine", "route": "oral"}],
        [{"drug": "fentanyl", "route": "transdermal", "daily_dose_mg": 10}],
        [{"route": "oral", "daily_dose_mg": 10}],
    ],
)
def test_invalid_prescriptions_raise(rx):
    with pytest.raises(ValueError):
        P.daily_ome(rx)


def test_unknown_table_raises():
    with pytest.raises(ValueError):
        P.daily_ome([oral("morphine", 10)], table="XX")


@pytest.mark.parametrize("ome, flag", [(0, "none"), (89.9, "none"), (90, "amber"), (119.9, "amber"), (120, "red")])
def test_uk_flag_boundaries(ome, flag):
    assert P.opioid_flag(ome) == flag


@pytest.mark.parametrize("ome, flag", [(49, "none"), (50, "amber"), (90, "red"), (140, "red")])
def test_cdc_profile(ome, flag):
    assert P.opioid_flag(ome, profile="CDC") == flag


def test_flag_overrides_and_validation():
    assert P.opioid_flag(100, red=100) == "red"
    assert P.opioid_flag(100, amber=110, red=130) == "none"
    for bad in (-1, True, None, "90"):
        with pytest.raises(ValueError):
            P.opioid_flag(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        P.opioid_flag(50, amber=130, red=120)
    with pytest.raises(ValueError):
        P.opioid_flag(50, profile="FR")


@FAST
@given(st.sampled_from(["morphine", "codeine", "tramadol", "tapentadol", "oxycodone", "hydromorphone"]),
       st.floats(0, 2000), st.floats(0, 2000), st.sampled_from(["UK_FPM", "US_CDC_2022"]))
def test_ome_monotone_in_oral_dose(drug, a, b, table):
    lo, hi = sorted((a, b))
    assert P.daily_ome([oral(drug, lo)], table).total <= P.daily_ome([oral(drug, hi)], table).total


@FAST
@given(st.sampled_from(["fentanyl", "buprenorphine"]), st.floats(0, 300), st.floats(0, 300))
def test_ome_monotone_in_patch_strength_uk(drug, a, b):
    lo, hi = sorted((a, b))
    assert P.daily_ome([patch(drug, lo)]).total <= P.daily_ome([patch(drug, hi)]).total


@FAST
@given(st.lists(st.tuples(st.sampled_from(["morphine", "oxycodone", "codeine"]), st.floats(0, 500)), max_size=5))
def test_total_is_sum_of_items(rx):
    r = P.daily_ome([oral(d, mg) for d, mg in rx])
    assert r.total == pytest.approx(sum(i.ome for i in r.items), abs=1e-6) and r.total >= 0


@FAST
@given(st.floats(0, 1000), st.floats(0, 1000))
def test_flag_monotone(a, b):
    order = {"none": 0, "amber": 1, "red": 2}
    lo, hi = sorted((a, b))
    assert order[P.opioid_flag(lo)] <= order[P.opioid_flag(hi)]


def test_drug_class_helpers():
    assert P.is_opioid("oxycodone") and P.is_opioid("Codeine") and not P.is_opioid("naproxen")
    assert P.is_benzodiazepine("diazepam") and not P.is_benzodiazepine("pregabalin")
    assert P.is_gabapentinoid("pregabalin") and P.is_gabapentinoid("gabapentin")


def test_co_prescription_flags():
    flags = P.co_prescription_flags(["oxycodone", "diazepam", "pregabalin", "naproxen"])
    assert [f.code for f in flags] == ["opioid_benzodiazepine", "opioid_gabapentinoid"]
    assert flags[0].opioids == ("oxycodone",) and flags[0].others == ("diazepam",)
    assert P.co_prescription_flags(["diazepam", "pregabalin"]) == []
    assert [f.code for f in P.co_prescription_flags(["tramadol", "gabapentin"])] == ["opioid_gabapentinoid"]
    with pytest.raises(ValueError):
        P.co_prescription_flags("oxycodone")  # type: ignore[arg-type]


def test_ome_increase_without_benefit():
    assert P.ome_increase_without_benefit(60, 90, prom_improved=False) is True
    assert P.ome_increase_without_benefit(60, 90, prom_improved=True) is False
    assert P.ome_increase_without_benefit(90, 60, prom_improved=False) is False
