"""Stepped care pathway, guideline medicine rules and escalation criteria (docs/CLINICAL.md section 3).

The ordered steps (tables/pathway_steps.yaml), the NICE rule tables NG193 / NG59 / NG226
(tables/medicine_rules.yaml) and the drug classes (tables/drugs.yaml) are data files; this
module only loads them and applies the precedence rule.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.clinical._data import load_yaml
from hub.clinical.drugs import DRUG_CLASSES, drug_classes, normalise_drug
from hub.clinical.opioids import co_prescription_flags

_STEPS_DATA: dict[str, Any] = load_yaml("pathway_steps.yaml")
_RULES_DATA: dict[str, Any] = load_yaml("medicine_rules.yaml")
_NONDRUG_DATA: dict[str, Any] = load_yaml("nondrug_rules.yaml")
PATHWAY_VERSION: str = str(_STEPS_DATA["version"])
RULES_VERSION: str = str(_RULES_DATA["version"])

CONDITIONS: tuple[str, ...] = tuple(_RULES_DATA["conditions"])
PAIN_CLASSIFICATIONS = ("primary", "secondary")
RULE_VALUES = ("offer", "consider", "do_not_initiate", "do_not_offer", "do_not_routinely_offer",
               "refer", "review", "see_guideline", "outside_age_range", "not_in_rule_table")
GUIDELINES: dict[str, dict[str, Any]] = _RULES_DATA["guidelines"]


@dataclass(frozen=True)
class PathwayStep:
    """One ordered step of the pathway (S0..S8) with its rule texts."""

    id: str
    title: str
    entry: str | None
    rules: tuple[dict[str, Any], ...]
    rules_by_guideline: dict[str, tuple[dict[str, Any], ...]]


def _load_steps() -> tuple[PathwayStep, ...]:
    out = []
    for s in _STEPS_DATA["steps"]:
        out.append(PathwayStep(
            id=s["id"], title=s.get("title", s["id"]), entry=s.get("entry"),
            rules=tuple(s.get("rules") or ()),
            rules_by_guideline={g: tuple(r) for g, r in (s.get("rules_by_guideline") or {}).items()},
        ))
    return tuple(out)


PATHWAY_STEPS: tuple[PathwayStep, ...] = _load_steps()


def _check_rule_tables() -> None:
    for gid, g in GUIDELINES.items():
        for rule in g["rules"]:
            if rule["rule"] not in RULE_VALUES:
                raise ValueError(f"medicine_rules.yaml {rule['id']}: unknown rule value {rule['rule']!r}")
            for cls in list(rule["classes"]) + list(rule.get("except_classes") or []):
                if cls not in DRUG_CLASSES:
                    raise ValueError(f"medicine_rules.yaml {rule['id']}: class {cls!r} not used by drugs.yaml")
            for cond in (rule.get("when") or {}).get("conditions", []):
                if cond not in CONDITIONS:
                    raise ValueError(f"medicine_rules.yaml {rule['id']}: unknown condition {cond!r}")


_check_rule_tables()


def pathway_steps() -> tuple[PathwayStep, ...]:
    """Return the ordered pathway steps S0..S8."""
    return PATHWAY_STEPS


def step(step_id: str) -> PathwayStep:
    """Return one pathway step by id (ValueError if unknown)."""
    for s in PATHWAY_STEPS:
        if s.id == step_id:
            return s
    raise ValueError(f"unknown pathway step {step_id!r}")


def _check_case(condition: str, pain_classification: str | None) -> None:
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    if pain_classification is not None and pain_classification not in PAIN_CLASSIFICATIONS:
        raise ValueError(f"pain_classification must be 'primary', 'secondary' or None, got {pain_classification!r}")


def governing_guideline(condition: str, pain_classification: str | None) -> str | None:
    """Which rule set applies: LBP/sciatica -> NG59, OA -> NG226, chronic primary pain -> NG193, else None."""
    _check_case(condition, pain_classification)
    for p in _RULES_DATA["precedence"]:
        if condition in (p.get("conditions") or ()):
            return str(p["guideline"])
        if p.get("pain_classification") is not None and p["pain_classification"] == pain_classification:
            return str(p["guideline"])
    return None


@dataclass(frozen=True)
class RuleHit:
    """A guideline rule that applies to a proposed medicine; ``blocks`` means an override reason is needed."""

    rule: str
    guideline: str
    drug_class: str | None
    note: str
    source: str
    blocks: bool
    rule_id: str = ""
    see: str | None = None


def _age(age: Any) -> int | None:
    if age is None:
        return None
    if isinstance(age, bool) or not isinstance(age, numbers.Integral) or not 0 <= int(age) <= 130:
        raise ValueError(f"age must be a whole number of years 0-130 or None, got {age!r}")
    return int(age)


def _when_ok(when: dict[str, Any], condition: str, age: int | None, acute: bool) -> bool:
    if "acute" in when and bool(when["acute"]) != acute:
        return False
    if "conditions" in when and condition not in when["conditions"]:
        return False
    if "min_age" in when and age is not None and age < when["min_age"]:
        return False
    if "max_age" in when and (age is None or age > when["max_age"]):
        return False
    return True


def check_medicine(
    drug_or_class: str,
    condition: str,
    pain_classification: str | None,
    age: int | None = None,
    acute: bool = False,
    already_taking: bool = False,
) -> list[RuleHit]:
    """Apply the governing guideline's medicine rules to a drug name or class; do_not_* hits block."""
    _check_case(condition, pain_classification)
    age_ = _age(age)
    if not isinstance(acute, bool) or not isinstance(already_taking, bool):
        raise ValueError("acute and already_taking must be True or False")
    name = normalise_drug(drug_or_class)
    gid = governing_guideline(condition, pain_classification)
    if gid is None:
        return []
    g = GUIDELINES[gid]
    if "min_age" in g and age_ is not None and age_ < g["min_age"]:
        return [RuleHit("outside_age_range", gid, None,
                        f"{gid} applies from age {g['min_age']}; this person is {age_}: seek specialist advice.",
                        f"{gid} age range", False, f"{gid}_AGE")]
    classes = drug_classes(name)
    if not classes:
        return [RuleHit("not_in_rule_table", gid, None,
                        f"'{name}' is not in the drug table: check {gid} by hand.", "drugs.yaml", False,
                        f"{gid}_UNKNOWN_DRUG")]
    hits: list[RuleHit] = []
    for rule in g["rules"]:
        matched = [c for c in rule["classes"] if c in classes]
        if not matched or any(c in classes for c in rule.get("except_classes") or ()):
            continue
        if not _when_ok(rule.get("when") or {}, condition, age_, acute):
            continue
        value, note, source = rule["rule"], " ".join(str(rule["note"]).split()), rule["source"]
        if already_taking and rule.get("already_taking"):
            at = rule["already_taking"]
            value, note, source = at["rule"], " ".join(str(at["note"]).split()), at["source"]
        elif already_taking and value == "do_not_initiate" and g.get("already_taking_rule"):
            at = g["already_taking_rule"]
            value, note, source = at["rule"], " ".join(str(at["note"]).split()), at["source"]
        hits.append(RuleHit(value, gid, matched[0], note, source, value.startswith("do_not_"), rule["id"],
                            rule.get("see")))
    return hits


NONDRUG_TREATMENTS: dict[str, dict[str, Any]] = _NONDRUG_DATA["treatments"]
NONDRUG_RULES: dict[str, list[dict[str, Any]]] = _NONDRUG_DATA["guidelines"]


def _check_nondrug_tables() -> None:
    for gid, rules in NONDRUG_RULES.items():
        if gid not in GUIDELINES:
            raise ValueError(f"nondrug_rules.yaml: unknown guideline {gid!r}")
        for rule in rules:
            if rule["rule"] not in RULE_VALUES:
                raise ValueError(f"nondrug_rules.yaml {rule['id']}: unknown rule value {rule['rule']!r}")
            for t in rule["treatments"]:
                if t not in NONDRUG_TREATMENTS:
                    raise ValueError(f"nondrug_rules.yaml {rule['id']}: unknown treatment {t!r}")
            for cond in rule.get("conditions") or ():
                if cond not in CONDITIONS:
                    raise ValueError(f"nondrug_rules.yaml {rule['id']}: unknown condition {cond!r}")


_check_nondrug_tables()


def _mentions(text: str, terms: Sequence[str]) -> bool:
    import re

    return any(re.search(r"(?<![a-z0-9])" + re.escape(t.lower()) + r"(?![a-z0-9])", text) for t in terms)


def nondrug_treatments_in(text: str, investigation: bool = False) -> list[str]:
    """Codes of the non-drug treatments (nondrug_rules.yaml) a recommendation's words mention."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {text!r}")
    low = " ".join(text.lower().split())
    found = []
    for code, t in NONDRUG_TREATMENTS.items():
        terms = t.get("investigation_terms", t["terms"]) if investigation else t["terms"]
        if _mentions(low, terms):
            found.append(code)
    return found


def check_treatment(
    text: str,
    condition: str,
    pain_classification: str | None,
    investigation: bool = False,
) -> list[RuleHit]:
    """Apply the governing guideline's non-drug rows to a referral or non-drug treatment described in words."""
    _check_case(condition, pain_classification)
    gid = governing_guideline(condition, pain_classification)
    if gid is None:
        return []
    found = nondrug_treatments_in(text, investigation)
    hits: list[RuleHit] = []
    for rule in NONDRUG_RULES.get(gid, ()):
        if rule.get("conditions") and condition not in rule["conditions"]:
            continue
        for code in (c for c in found if c in rule["treatments"]):
            value = rule["rule"]
            hits.append(RuleHit(value, gid, code, " ".join(str(rule["note"]).split()), rule["source"],
                                value.startswith("do_not_"), rule["id"]))
    return hits


def treatment_label(code: str) -> str:
    """Readable name of a non-drug treatment code (or of a drug class)."""
    return str(NONDRUG_TREATMENTS.get(code, {}).get("label", code.replace("_", " ")))


def blocks(hits: Sequence[RuleHit]) -> bool:
    """True when any hit blocks (a structured override reason is then required)."""
    return any(h.blocks for h in hits)


# --------------------------------------------------------------------------- S7 criteria

E2_MIN_STEPS = 2
E2_MIN_STEP_WEEKS = 8
E3_PHQ9_MIN = 15
E3_GAD7_MIN = 15
E3_PCS_MIN = 30
E4_OME_MIN = 120

ESCALATION_ACTIONS = {
    "E1": "Urgent specialist pathway (not a routine MDT)",
    "E2": "Refer to MDT hub",
    "E3": "MDT plus a parallel mental-health pathway",
    "E4": "MDT opioid stewardship review",
    "E5": "Specialist referral",
    "E6": "MDT",
    "E7": "MDT discussion item",
}


@dataclass(frozen=True)
class EscalationCriterion:
    """An escalation criterion (E1-E7) that is met, with its action and the reasons."""

    id: str
    action: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """The reasons joined into one sentence."""
        return "; ".join(self.reasons)


def _n(name: str, x: Any) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a number or None, got {x!r}")
    return float(x)


def _b(name: str, x: Any) -> bool:
    if not isinstance(x, bool):
        raise ValueError(f"{name} must be True or False, got {x!r}")
    return x


def escalation_criteria(
    *,
    red_flag: bool = False,
    completed_step_weeks: Sequence[float] = (),
    responder: bool | None = None,
    phq9_total: float | None = None,
    gad7_total: float | None = None,
    phq9_item9: int | None = None,
    pcs_total: float | None = None,
    risk_band: str | None = None,
    ome: float | None = None,
    opioid_escalated_without_benefit: bool = False,
    current_drugs: Sequence[str] = (),
    suspected_crps: bool = False,
    rf_denervation_candidate: bool = False,
    sciatica_surgical_opinion: bool = False,
    oa_joint_replacement_criteria: bool = False,
    diagnostic_uncertainty: bool = False,
    classification_disputed: bool = False,
    inertia_flag: bool = False,
    disengagement_flag: bool = False,
    min_steps: int = E2_MIN_STEPS,
    min_step_weeks: float = E2_MIN_STEP_WEEKS,
    phq9_min: float = E3_PHQ9_MIN,
    gad7_min: float = E3_GAD7_MIN,
    pcs_min: float = E3_PCS_MIN,
    ome_min: float = E4_OME_MIN,
) -> list[EscalationCriterion]:
    """Evaluate escalation criteria E1-E7 from plain values; return the criteria met with reasons."""
    met: list[EscalationCriterion] = []

    def add(cid: str, reasons: list[str]) -> None:
        if reasons:
            met.append(EscalationCriterion(cid, ESCALATION_ACTIONS[cid], tuple(reasons)))

    add("E1", ["Red flag / suspected serious pathology"] if _b("red_flag", red_flag) else [])

    weeks = [_n("completed_step_weeks", w) for w in completed_step_weeks]
    long_steps = [w for w in weeks if w is not None and w >= min_step_weeks]
    if responder is not None and not isinstance(responder, bool):
        raise ValueError(f"responder must be True, False or None, got {responder!r}")
    add("E2", [f"{len(long_steps)} completed S4/S5 steps of >= {min_step_weeks:g} weeks and not a responder"]
        if len(long_steps) >= min_steps and responder is False else [])

    e3: list[str] = []
    phq9, gad7, pcs = _n("phq9_total", phq9_total), _n("gad7_total", gad7_total), _n("pcs_total", pcs_total)
    item9 = _n("phq9_item9", phq9_item9)
    if item9 is not None and item9 > 0:
        e3.append(f"PHQ-9 item 9 = {item9:g} (safety first: same-day review)")
    if phq9 is not None and phq9 >= phq9_min:
        e3.append(f"PHQ-9 {phq9:g} (>= {phq9_min:g})")
    if gad7 is not None and gad7 >= gad7_min:
        e3.append(f"GAD-7 {gad7:g} (>= {gad7_min:g})")
    if pcs is not None and pcs >= pcs_min and risk_band == "high":
        e3.append(f"PCS {pcs:g} (>= {pcs_min:g}) with high STarT risk")
    add("E3", e3)

    e4: list[str] = []
    ome_ = _n("ome", ome)
    if ome_ is not None and ome_ >= ome_min:
        e4.append(f"{ome_:g} mg OME/day (>= {ome_min:g})")
    if _b("opioid_escalated_without_benefit", opioid_escalated_without_benefit):
        e4.append("Opioid escalated without functional benefit")
    e4 += [f.reason for f in co_prescription_flags(list(current_drugs))]
    add("E4", e4)

    e5 = [label for flag, label in (
        (_b("suspected_crps", suspected_crps), "Suspected CRPS (expedite)"),
        (_b("rf_denervation_candidate", rf_denervation_candidate), "Radiofrequency denervation candidate (NG59 criteria)"),
        (_b("sciatica_surgical_opinion", sciatica_surgical_opinion), "Sciatica: surgical opinion"),
        (_b("oa_joint_replacement_criteria", oa_joint_replacement_criteria), "OA joint replacement criteria met"),
    ) if flag]
    add("E5", e5)

    add("E6", [label for flag, label in (
        (_b("diagnostic_uncertainty", diagnostic_uncertainty), "Diagnostic uncertainty"),
        (_b("classification_disputed", classification_disputed), "Chronic primary vs secondary classification disputed"),
    ) if flag])

    add("E7", [label for flag, label in (
        (_b("inertia_flag", inertia_flag), "Therapeutic inertia flag"),
        (_b("disengagement_flag", disengagement_flag), "Disengagement flag"),
    ) if flag])
    return met
