"""Drug name -> drug classes, from the bundled table tables/drugs.yaml (shared by pathway and opioids)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hub.clinical._data import load_yaml

_TABLE: dict[str, Any] = load_yaml("drugs.yaml")
DRUGS_VERSION: str = str(_TABLE["version"])
DRUGS: dict[str, frozenset[str]] = {str(k): frozenset(v) for k, v in _TABLE["drugs"].items()}
ALIASES: dict[str, str] = {str(k): str(v) for k, v in (_TABLE.get("aliases") or {}).items()}
DRUG_CLASSES: frozenset[str] = frozenset(c for classes in DRUGS.values() for c in classes)
_FORM_WORDS = frozenset(_TABLE.get("formulation_words") or ())
_TOPICAL_WORDS = frozenset(_TABLE.get("topical_words") or ())

OPIOID_COMPONENTS: dict[str, str] = {str(k): str(v) for k, v in (_TABLE.get("opioid_components") or {}).items()}


@dataclass(frozen=True)
class PickItem:
    """One entry of the medicine pick-list: what the form shows, the table's drug name and the usual route."""

    label: str
    drug: str
    route: str


PICKLIST: tuple[PickItem, ...] = tuple(PickItem(str(x["label"]), str(x["drug"]), str(x["route"]))
                                       for x in _TABLE.get("picklist") or ())

for _alias, _target in ALIASES.items():
    if _target not in DRUGS:  # fail at import, not in clinic
        raise ValueError(f"drugs.yaml: alias {_alias!r} points to unknown drug {_target!r}")
for _item in PICKLIST:
    if _item.drug not in DRUGS:
        raise ValueError(f"drugs.yaml: pick-list entry {_item.label!r} names unknown drug {_item.drug!r}")
for _combo, _component in OPIOID_COMPONENTS.items():
    if _combo not in DRUGS or _component not in DRUGS:
        raise ValueError(f"drugs.yaml: opioid component {_combo!r} -> {_component!r} names an unknown drug")


def normalise_drug(name: str) -> str:
    """Lower-case a drug name and collapse its whitespace ('  Oxycodone  MR' -> 'oxycodone mr')."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"drug name must be a non-empty string, got {name!r}")
    return " ".join(name.lower().replace("_", " ").split())


def resolve_drug(name: str) -> str | None:
    """Return the table's drug name for a typed name (aliases, strengths and forms stripped), or None."""
    n = normalise_drug(name)
    if n in DRUGS:
        return n
    if n in ALIASES:
        return ALIASES[n]
    words = n.split()
    while len(words) > 1 and (words[-1] in _FORM_WORDS or any(ch.isdigit() for ch in words[-1])
                              or words[-1] in ("mg", "mcg", "microgram", "micrograms", "/h", "ug/h")):
        words = words[:-1]
        cand = " ".join(words)
        if cand in DRUGS:
            return cand
        if cand in ALIASES:
            return ALIASES[cand]
    return None


@lru_cache(maxsize=4096)  # a pure function of the name, asked for every medicine of every case in a recompute
def drug_classes(name: str) -> frozenset[str]:
    """Classes of a drug name, or the class itself when a class name is given; empty if unknown."""
    n = normalise_drug(name)
    resolved = resolve_drug(n)
    if resolved is not None:
        return DRUGS[resolved]
    key = n.replace(" ", "_").replace("-", "_")
    if key in DRUG_CLASSES:
        return frozenset({key})
    words = n.split()
    if len(words) >= 2 and words[-1] in _TOPICAL_WORDS:
        base = resolve_drug(" ".join(words[:-1]))
        if base is not None and "nsaid" in DRUGS[base]:
            return frozenset({"nsaid", "topical_nsaid"})
    return frozenset()


def is_known_drug(name: str) -> bool:
    """True if the name (or class name) is in the drug table."""
    return bool(drug_classes(name))


@dataclass(frozen=True)
class CodedMedicine:
    """A medicine name as chosen or typed: the table's drug name when it is coded, else the text as entered."""

    drug: str
    coded: bool
    route: str | None = None


def code_medicine(text: str) -> CodedMedicine:
    """Code a medicine chosen from the pick-list or typed: a pick-list label, generic name or UK brand becomes
    the table's drug name (coded); anything else is kept as typed (lower-case) and marked not coded."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("enter a medicine name")
    raw = " ".join(text.split())
    for item in PICKLIST:
        if raw.lower() == item.label.lower():
            return CodedMedicine(item.drug, True, item.route)
    resolved = resolve_drug(raw)
    if resolved is not None:
        return CodedMedicine(resolved, True, None)
    return CodedMedicine(normalise_drug(raw), False, None)
