"""docs/CLINICAL.md section 3: pathway steps, medicine rule tables with precedence, escalation criteria."""

from __future__ import annotations

import pytest

from hub.clinical import pathway as W
from hub.clinical.drugs import drug_classes, resolve_drug


def rules(drug, condition, classification="secondary", **kw):
    return [(h.guideline, h.rule, h.blocks) for h in W.check_medicine(drug, condition, classification, **kw)]


def test_steps_are_ordered_s0_to_s8():
    ids = [s.id for s in W.pathway_steps()]
    assert ids == ["S0_SAFETY", "S1_ASSESS_CLASSIFY", "S2_STRATIFY", "S3_SELF_MANAGEMENT", "S4_ACTIVE_NON_PHARM",
                   "S5_PHARMACOLOGY", "S6_COMBINED_PROGRAMME", "S7_ESCALATE_TO_MDT_OR_SPECIALIST", "S8_REVIEW_LOOP"]
    assert set(W.step("S4_ACTIVE_NON_PHARM").rules_by_guideline) == {"NG59", "NG193", "NG226"}
    assert any("PHQ-9 item 9" in r["text"] for r in W.step("S0_SAFETY").rules)
    with pytest.raises(ValueError):
        W.step("S9")


@pytest.mark.parametrize(
    "condition, classification, guideline",
    [
        ("low_back_pain", "primary", "NG59"), ("sciatica", "secondary", "NG59"),
        ("knee_oa", "primary", "NG226"), ("hip_oa", "secondary", "NG226"), ("hand_oa", "secondary", "NG226"),
        ("widespread_pain", "primary", "NG193"), ("neck_pain", "primary", "NG193"),
        ("shoulder_pain", "secondary", None), ("tendinopathy", "secondary", None), ("other", None, None),
    ],
)
def test_precedence(condition, classification, guideline):
    assert W.governing_guideline(condition, classification) == guideline


@pytest.mark.parametrize("condition, classification", [("back", "primary"), ("knee_oa", "chronic")])
def test_unknown_condition_or_classification(condition, classification):
    with pytest.raises(ValueError):
        W.check_medicine("naproxen", condition, classification)


# ---------------------------------------------------------------- NG193 (chronic primary pain)


@pytest.mark.parametrize("drug", ["amitriptyline", "citalopram", "duloxetine", "fluoxetine", "paroxetine", "sertraline"])
def test_ng193_antidepressants_consider_from_18(drug):
    assert rules(drug, "widespread_pain", "primary", age=18) == [("NG193", "consider", False)]
    assert rules(drug, "widespread_pain", "primary", age=17) == [("NG193", "outside_age_range", False)]


@pytest.mark.parametrize(
    "drug",
    ["pregabalin", "gabapentin", "carbamazepine", "quetiapine", "diazepam", "corticosteroid trigger point injection",
     "ketamine", "lidocaine plaster", "local anaesthetic and corticosteroid trigger point injection", "naproxen",
     "ibuprofen gel", "oxycodone", "codeine", "tramadol", "paracetamol", "co-codamol"],
)
def test_ng193_do_not_initiate_blocks(drug):
    hits = W.check_medicine(drug, "widespread_pain", "primary", age=50)
    assert hits and all(h.rule == "do_not_initiate" and h.blocks and h.guideline == "NG193" for h in hits)
    assert W.blocks(hits)


def test_ng193_already_taking_is_review_not_block():
    hits = W.check_medicine("oxycodone", "widespread_pain", "primary", already_taking=True)
    assert [(h.rule, h.blocks) for h in hits] == [("review", False)]
    assert "1.2.11" in hits[0].note


def test_ng193_gabapentinoid_note_mentions_crps_exception():
    (hit,) = W.check_medicine("pregabalin", "neck_pain", "primary")
    assert "CRPS" in hit.note and hit.drug_class in {"antiepileptic", "anticonvulsant", "gabapentinoid"}


def test_ng193_scope_is_age_16_plus():
    assert rules("naproxen", "widespread_pain", "primary", age=15) == [("NG193", "outside_age_range", False)]


def test_ng193_not_applied_to_secondary_pain():
    assert W.check_medicine("oxycodone", "shoulder_pain", "secondary") == []


# ---------------------------------------------------------------- NG59 (LBP +- sciatica)


@pytest.mark.parametrize(
    "drug, acute, expected",
    [
        ("naproxen", False, [("NG59", "consider", False)]),
        ("codeine", True, [("NG59", "consider", False)]),
        ("oxycodone", True, [("NG59", "do_not_offer", True)]),
        ("codeine", False, [("NG59", "do_not_offer", True)]),
        ("oxycodone", False, [("NG59", "do_not_offer", True)]),
        ("paracetamol", False, [("NG59", "do_not_offer", True)]),
        ("paracetamol", True, [("NG59", "do_not_offer", True)]),
        ("sertraline", False, [("NG59", "do_not_offer", True)]),
        ("duloxetine", False, [("NG59", "do_not_offer", True)]),
        ("amitriptyline", False, [("NG59", "do_not_offer", True)]),
        ("pregabalin", False, [("NG59", "do_not_offer", True)]),
        ("epidural steroid injection", False, [("NG59", "do_not_offer", True)]),
        ("radiofrequency denervation", False, [("NG59", "refer", False)]),
        ("diazepam", False, []),
    ],
)
def test_ng59_rules(drug, acute, expected):
    assert rules(drug, "low_back_pain", "secondary", acute=acute) == expected


def test_ng59_applies_even_if_lbp_classified_primary():
    assert rules("naproxen", "low_back_pain", "primary") == [("NG59", "consider", False)]


# H1: NICE NG59 December 2020 sciatica rules (they replace "follow CG173" for these classes).
@pytest.mark.parametrize("drug", ["pregabalin", "gabapentin", "carbamazepine", "lamotrigine", "prednisolone",
                                  "dexamethasone", "methylprednisolone", "diazepam", "lorazepam"])
def test_h1_sciatica_do_not_offer_blocks(drug):
    hits = W.check_medicine(drug, "sciatica", "secondary", age=50)
    assert [(h.guideline, h.rule, h.blocks) for h in hits] == [("NG59", "do_not_offer", True)]
    assert "sciatica" in hits[0].note and "2020" in hits[0].source


@pytest.mark.parametrize("drug", ["morphine", "oxycodone", "codeine", "tramadol"])
def test_h1_no_opioids_for_chronic_sciatica(drug):
    hits = W.check_medicine(drug, "sciatica", "secondary", acute=False)
    assert W.blocks(hits) and any("chronic sciatica" in h.note for h in hits)


@pytest.mark.parametrize("drug", ["pregabalin", "prednisolone", "diazepam", "oxycodone"])
def test_h1_sciatica_already_taking_gets_review(drug):
    hits = W.check_medicine(drug, "sciatica", "secondary", already_taking=True)
    assert [(h.rule, h.blocks) for h in hits] == [("review", False)]
    assert "risks of continuing" in hits[0].note


def test_h1_oral_corticosteroids_in_drug_table():
    from hub.clinical.drugs import drug_classes

    for drug in ("prednisolone", "dexamethasone", "methylprednisolone", "Prednisolone 5 mg tablets"):
        assert "oral_corticosteroid" in drug_classes(drug)
    assert "intra_articular_corticosteroid" in drug_classes("methylprednisolone injection")


def test_sciatica_antidepressant_still_points_to_cg173():
    (hit,) = W.check_medicine("amitriptyline", "sciatica", "secondary")
    assert (hit.rule, hit.blocks, hit.see) == ("see_guideline", False, "CG173")


# H9: NG193 "consider" names six antidepressants; others get no NG193 rule (and are not blocked).
@pytest.mark.parametrize("drug", ["venlafaxine", "nortriptyline", "escitalopram", "imipramine"])
def test_h9_other_antidepressants_get_no_ng193_rule(drug):
    assert W.check_medicine(drug, "widespread_pain", "primary", age=40) == []


# ---------------------------------------------------------------- NG226 (OA)


@pytest.mark.parametrize(
    "drug, condition, expected",
    [
        ("ibuprofen gel", "knee_oa", [("NG226", "offer", False)]),
        ("ibuprofen gel", "hip_oa", [("NG226", "consider", False)]),
        ("ibuprofen gel", "hand_oa", [("NG226", "consider", False)]),
        ("naproxen", "knee_oa", [("NG226", "consider", False)]),
        ("paracetamol", "knee_oa", [("NG226", "do_not_routinely_offer", True)]),
        ("codeine", "hip_oa", [("NG226", "do_not_routinely_offer", True)]),
        ("oxycodone", "knee_oa", [("NG226", "do_not_offer", True)]),
        ("glucosamine", "knee_oa", [("NG226", "do_not_offer", True)]),
        ("hyaluronan injection", "knee_oa", [("NG226", "do_not_offer", True)]),
        ("triamcinolone injection", "knee_oa", [("NG226", "consider", False)]),
        ("acupuncture", "knee_oa", [("NG226", "do_not_offer", True)]),
        ("knee replacement", "knee_oa", [("NG226", "refer", False)]),
    ],
)
def test_ng226_rules(drug, condition, expected):
    assert rules(drug, condition, "primary") == expected


def test_co_codamol_in_oa_is_one_rule_hit():
    hits = W.check_medicine("co-codamol", "knee_oa", "secondary")
    assert [h.rule_id for h in hits] == ["NG226_PARACETAMOL_WEAK_OPIOID"]


# ---------------------------------------------------------------- drug names


@pytest.mark.parametrize(
    "name, cls",
    [("pregabalin", "gabapentinoid"), ("oxycodone", "strong_opioid"), ("naproxen", "oral_nsaid"),
     ("ibuprofen gel", "topical_nsaid"), ("amitriptyline", "tca"), ("diazepam", "benzodiazepine"),
     ("paracetamol", "paracetamol"), ("codeine", "weak_opioid"), ("glucosamine", "glucosamine"),
     ("Oxycodone MR 20 mg", "strong_opioid"), ("ketoprofen cream", "topical_nsaid"), ("Lyrica", "gabapentinoid"),
     ("opioid", "opioid"), ("benzodiazepine", "benzodiazepine")],
)
def test_drug_classes(name, cls):
    assert cls in drug_classes(name)


def test_unknown_drug_is_never_silently_allowed():
    assert drug_classes("madeupine") == frozenset() and resolve_drug("madeupine") is None
    (hit,) = W.check_medicine("madeupine", "knee_oa", "secondary")
    assert hit.rule == "not_in_rule_table" and "by hand" in hit.note
    assert W.check_medicine("madeupine", "shoulder_pain", "secondary") == []
    with pytest.raises(ValueError):
        W.check_medicine("", "knee_oa", "secondary")


def test_blocks_exactly_the_do_not_rules_over_every_drug_and_condition():
    from hub.clinical.drugs import DRUGS

    seen = set()
    for condition in W.CONDITIONS:
        for classification in ("primary", "secondary"):
            for drug in DRUGS:
                for acute in (False, True):
                    for h in W.check_medicine(drug, condition, classification, age=40, acute=acute):
                        assert h.blocks == h.rule.startswith("do_not_"), (drug, condition, h)
                        assert h.rule in W.RULE_VALUES and h.note and h.source
                        seen.add(h.rule_id)
    every_rule = {r["id"] for g in W.GUIDELINES.values() for r in g["rules"]}
    assert every_rule - seen == {"NG193_ANTIDEPRESSANT_UNDER_18"}  # needs age < 18


@pytest.mark.parametrize("age", [-1, 200, 17.5, True, "40"])
def test_invalid_age(age):
    with pytest.raises(ValueError):
        W.check_medicine("naproxen", "widespread_pain", "primary", age=age)


# ---------------------------------------------------------------- escalation E1-E7


def ids(**kw):
    return [c.id for c in W.escalation_criteria(**kw)]


def test_no_criteria_by_default():
    assert W.escalation_criteria() == []


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"red_flag": True}, ["E1"]),
        ({"completed_step_weeks": [8, 10], "responder": False}, ["E2"]),
        ({"completed_step_weeks": [8, 7], "responder": False}, []),
        ({"completed_step_weeks": [8, 10], "responder": True}, []),
        ({"completed_step_weeks": [8, 10], "responder": None}, []),
        ({"phq9_total": 15}, ["E3"]),
        ({"phq9_total": 14}, []),
        ({"gad7_total": 15}, ["E3"]),
        ({"phq9_item9": 1}, ["E3"]),
        ({"pcs_total": 30, "risk_band": "high"}, ["E3"]),
        ({"pcs_total": 30, "risk_band": "medium"}, []),
        ({"pcs_total": 29, "risk_band": "high"}, []),
        ({"ome": 120}, ["E4"]),
        ({"ome": 119}, []),
        ({"opioid_escalated_without_benefit": True}, ["E4"]),
        ({"current_drugs": ["morphine", "diazepam"]}, ["E4"]),
        ({"current_drugs": ["morphine", "naproxen"]}, []),
        ({"suspected_crps": True}, ["E5"]),
        ({"oa_joint_replacement_criteria": True}, ["E5"]),
        ({"classification_disputed": True}, ["E6"]),
        ({"inertia_flag": True}, ["E7"]),
        ({"disengagement_flag": True}, ["E7"]),
        ({"red_flag": True, "ome": 150, "inertia_flag": True}, ["E1", "E4", "E7"]),
    ],
)
def test_escalation_criteria(kwargs, expected):
    assert ids(**kwargs) == expected


def test_escalation_reasons_and_thresholds():
    (c,) = W.escalation_criteria(phq9_total=16, phq9_item9=2)
    assert c.action.startswith("MDT") and "PHQ-9 16" in c.reason and "item 9" in c.reason
    assert ids(ome=100, ome_min=90) == ["E4"]
    assert ids(completed_step_weeks=[8], responder=False, min_steps=1) == ["E2"]
    with pytest.raises(ValueError):
        W.escalation_criteria(red_flag="yes")  # type: ignore[arg-type]
