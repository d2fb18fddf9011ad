"""The registry of the PROMs and screening tools: each instrument's items and their code ranges,
direction, licence and whether its item text may ship (bundled text for PHQ-9 and GAD-7 only), with the
names and aliases an instrument is looked up by."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hub.clinical._data import load_yaml


SCORING_ALGORITHM_VERSION = "1.0.0"
ITEM_TEXT: dict[str, Any] = load_yaml("item_text.en.yaml")
# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ItemSpec:
    """One response item: its stable key and valid integer code range."""

    key: str
    min: int
    max: int
    required: bool = True
    scored: bool = True


@dataclass(frozen=True)
class InstrumentSpec:
    """Metadata of one instrument (docs/CLINICAL.md 0.4-0.6 and section 1)."""

    id: str
    name: str
    version: str
    items: tuple[ItemSpec, ...]
    higher_is_better: bool
    min_total: float
    max_total: float
    mic: float | None = None
    mic_unit: str | None = None  # 'points' or 'percent'
    mic_source: str = ""
    text_bundled: bool = False
    outcome_measure: bool = True  # False for prognostic screening tools
    licence: str = ""
    missing_data_rule: str = "all items required"
    scoring_algorithm_version: str = SCORING_ALGORITHM_VERSION

    @property
    def item_keys(self) -> tuple[str, ...]:
        """Keys of the scored items, in order."""
        return tuple(i.key for i in self.items if i.scored)

    @property
    def all_keys(self) -> tuple[str, ...]:
        """Keys of every accepted item, scored or not."""
        return tuple(i.key for i in self.items)

    def item(self, key: str) -> ItemSpec:
        """Return the item spec for ``key`` (KeyError if unknown)."""
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(key)


def _items(prefix: str, n: int, lo: int, hi: int, required: bool = True) -> tuple[ItemSpec, ...]:
    return tuple(ItemSpec(f"{prefix}_Q{i}", lo, hi, required) for i in range(1, n + 1))


_SBST_ITEMS = tuple(ItemSpec(f"SBST_Q{i}", 0, 1) for i in range(1, 9)) + (ItemSpec("SBST_Q9", 0, 4),)
SBST6_KEPT = ("SBST_Q1", "SBST_Q3", "SBST_Q4", "SBST_Q7", "SBST_Q8", "SBST_Q9")
_SBST6_ITEMS = tuple(
    it if it.key in SBST6_KEPT else ItemSpec(it.key, it.min, it.max, required=False, scored=False)
    for it in _SBST_ITEMS
)
BPI_SEVERITY_KEYS = ("BPI_WORST", "BPI_LEAST", "BPI_AVERAGE", "BPI_NOW")
BPI_INTERFERENCE_KEYS = tuple(f"BPI_I{i}" for i in range(1, 8))

INSTRUMENTS: dict[str, InstrumentSpec] = {
    s.id: s
    for s in (
        InstrumentSpec(
            "SBST", "Keele STarT Back Screening Tool (9-item)", "SBST-9 (Hill 2008; Keele order)",
            _SBST_ITEMS, higher_is_better=False, min_total=0, max_total=9, outcome_measure=False,
            licence="Keele (c) 2021: no licence for non-commercial use; commercial use needs Keele approval",
        ),
        InstrumentSpec(
            "SBST6", "Keele STarT Back Screening Tool (6-item)", "SBST-6 (Q2, Q5, Q6 removed)",
            _SBST6_ITEMS, higher_is_better=False, min_total=0, max_total=6, outcome_measure=False,
            licence="Keele (c) 2021: as SBST",
            missing_data_rule="the 6 retained items required (Q2, Q5, Q6 ignored if given)",
        ),
        InstrumentSpec(
            "STARTMSK", "Keele STarT MSK Tool (total score only)", "STarT MSK (Dunn 2021); total 0-12",
            (ItemSpec("STARTMSK_TOTAL", 0, 12),), higher_is_better=False, min_total=0, max_total=12,
            outcome_measure=False,
            licence="Keele (c) 2017: licence obligatory for all users (free for NHS); total score only",
            missing_data_rule="total entered by a clinician from the licensed copy",
        ),
        InstrumentSpec(
            "OMPSQ", "Orebro Musculoskeletal Pain Screening Questionnaire, short form (OMPSQ-10)",
            "OMPSQ-10 (Linton 2011)",
            (ItemSpec("OMPSQ_Q1", 1, 10),) + tuple(ItemSpec(f"OMPSQ_Q{i}", 0, 10) for i in range(2, 11)),
            higher_is_better=False, min_total=1, max_total=100, outcome_measure=False,
            licence="terms not found (UNVERIFIED)",
        ),
        InstrumentSpec(
            "MSKHQ", "Musculoskeletal Health Questionnaire (MSK-HQ)", "MSK-HQ v1 (Hill 2016), 14 items",
            _items("MSKHQ", 14, 0, 4) + (ItemSpec("MSKHQ_PA", 0, 7, required=False, scored=False),),
            higher_is_better=True, min_total=0, max_total=56, mic=5.5, mic_unit="points",
            mic_source="[V] Price et al. BMJ Open 2019", licence="Oxford University Innovation: licence required",
        ),
        InstrumentSpec(
            "PEG", "PEG (Pain, Enjoyment of life, General activity)", "PEG-3 (Krebs 2009)",
            _items("PEG", 3, 0, 10), higher_is_better=False, min_total=0, max_total=10,
            mic=30, mic_unit="percent", mic_source="IMMPACT >=30% reduction by analogy (PEG-specific UNVERIFIED)",
            licence="published article (UNVERIFIED)",
        ),
        InstrumentSpec(
            "BPI", "Brief Pain Inventory - Short Form (BPI-SF)", "BPI-SF (Cleeland 1991)",
            tuple(ItemSpec(k, 0, 10) for k in BPI_SEVERITY_KEYS)
            + tuple(ItemSpec(k, 0, 10, required=False) for k in BPI_INTERFERENCE_KEYS),
            higher_is_better=False, min_total=0, max_total=10, mic=1, mic_unit="points",
            mic_source="[V] IMMPACT 2008: interference 1-point decrease",
            licence="Cleeland (c): permission required, fees may apply",
            missing_data_rule="4 severity items required; interference scored if >= 4 of 7 answered",
        ),
        InstrumentSpec(
            "TSK11", "Tampa Scale for Kinesiophobia, 11-item (TSK-11)", "TSK-11 (Woby 2005)",
            _items("TSK11", 11, 1, 4), higher_is_better=False, min_total=11, max_total=44,
            mic=4, mic_unit="points", mic_source="[V] Woby et al. Pain 2005", licence="not found (UNVERIFIED)",
        ),
        InstrumentSpec(
            "TSK17", "Tampa Scale for Kinesiophobia, 17-item (TSK-17)", "TSK-17 (Kori 1990)",
            _items("TSK17", 17, 1, 4), higher_is_better=False, min_total=17, max_total=68,
            licence="not found (UNVERIFIED)",
        ),
        InstrumentSpec(
            "PCS", "Pain Catastrophizing Scale (PCS)", "PCS (Sullivan 1995)",
            _items("PCS", 13, 0, 4), higher_is_better=False, min_total=0, max_total=52,
            mic=8, mic_unit="points", mic_source="[V] Monticone et al. 2022 (11 when baseline > 30)",
            licence="Mapi Research Trust: licence required",
        ),
        InstrumentSpec(
            "PSEQ", "Pain Self-Efficacy Questionnaire (PSEQ)", "PSEQ-10 (Nicholas 2007)",
            _items("PSEQ", 10, 0, 6), higher_is_better=True, min_total=0, max_total=60,
            mic=6, mic_unit="points", mic_source="DESIGN DEFAULT 6 within [V] 5.5-8.5 (Dube 2021)",
            licence="not found (UNVERIFIED)",
        ),
        InstrumentSpec(
            "PHQ9", "Patient Health Questionnaire-9 (PHQ-9)", "PHQ-9 (Kroenke 2001)",
            _items("PHQ9", 9, 0, 3) + (ItemSpec("PHQ9_Q10", 0, 3, required=False, scored=False),),
            higher_is_better=False, min_total=0, max_total=27, mic=3.7, mic_unit="points",
            mic_source="[V] Bauer-Staeb 2021 average MCID 3.7 points (23%)", text_bundled=True,
            licence="Pfizer: no copyright restriction, no charge (keep attribution)",
        ),
        InstrumentSpec(
            "GAD7", "Generalized Anxiety Disorder-7 (GAD-7)", "GAD-7 (Spitzer 2006)",
            _items("GAD7", 7, 0, 3), higher_is_better=False, min_total=0, max_total=21,
            mic=3.3, mic_unit="points", mic_source="[V] Bauer-Staeb 2021 average MCID 3.3 points (28%)",
            text_bundled=True, licence="Pfizer: no copyright restriction, no charge (keep attribution)",
        ),
        InstrumentSpec(
            "ODI", "Oswestry Disability Index (ODI v2.1a)", "ODI v2.1a",
            _items("ODI", 10, 0, 5, required=False), higher_is_better=False, min_total=0, max_total=100,
            mic=10, mic_unit="points", mic_source="[V] Ostelo et al. Spine 2008 (10 points or 30%)",
            licence="not verified (UNVERIFIED)", missing_data_rule="scored if >= 9 of 10 sections answered",
        ),
        InstrumentSpec(
            "NRS", "Pain numeric rating scale (0-10)", "NRS 0-10",
            (ItemSpec("NRS_Q1", 0, 10),), higher_is_better=False, min_total=0, max_total=10,
            mic=30, mic_unit="percent", mic_source="[V] IMMPACT (Dworkin 2008); Farrar 2001",
        ),
    )
}

_ALIASES = {"OMPSQ10": "OMPSQ", "OMPSQSF": "OMPSQ", "STARTBACK": "SBST", "SBST9": "SBST", "MSKHQ14": "MSKHQ",
            "BPISF": "BPI", "PAINNRS": "NRS", "STARTMSKTOOL": "STARTMSK"}


def instrument_id(name: str) -> str:
    """Normalise an instrument name such as 'PHQ-9' or 'ÖMPSQ-10' to its registry id."""
    if not isinstance(name, str):
        raise ValueError(f"instrument id must be a string, got {name!r}")
    key = "".join(ch for ch in name.upper().replace("Ö", "O") if ch.isalnum())
    key = _ALIASES.get(key, key)
    if key not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; known: {', '.join(INSTRUMENTS)}")
    return key


def get_instrument(name: str) -> InstrumentSpec:
    """Return the registry entry of an instrument (accepts aliases such as 'PHQ-9')."""
    return INSTRUMENTS[instrument_id(name)]


def item_text(instrument: str, lang: str = "en") -> dict[str, Any]:
    """Return the bundled item text for PHQ-9 or GAD-7 (the only instruments whose text may ship)."""
    spec = get_instrument(instrument)
    if not spec.text_bundled:
        raise ValueError(
            f"{spec.id}: item text is not bundled (licence); load it from the organisation's licensed "
            f"copy (instrument_text/{spec.id}.{lang}.json)")
    if lang != ITEM_TEXT["language"]:
        raise ValueError(f"no bundled {spec.id} text for language {lang!r}")
    return copy.deepcopy(ITEM_TEXT[spec.id])
