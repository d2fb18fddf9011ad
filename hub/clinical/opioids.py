"""Opioid stewardship (docs/CLINICAL.md section 4): daily OME, dose flags, co-prescription flags."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.clinical._data import load_yaml
from hub.clinical.drugs import OPIOID_COMPONENTS, drug_classes, normalise_drug, resolve_drug

_CONV: dict[str, Any] = load_yaml("opioid_conversion.yaml")
CONVERSION_VERSION: str = str(_CONV["version"])
TABLES: dict[str, dict[str, Any]] = _CONV["tables"]

# Thresholds (mg OME/day), docs/CLINICAL.md 4.2. UK default; optional CDC profile. All configurable.
PROFILES: dict[str, dict[str, float]] = {
    "UK": {"amber": 90.0, "red": 120.0},
    "CDC": {"amber": 50.0, "red": 90.0},
}
_PROFILE_ALIASES = {"UK": "UK", "UK_FPM": "UK", "CDC": "CDC", "US": "CDC", "US_CDC": "CDC",
                    "US_CDC_2022": "CDC", "CDC_2016": "CDC"}
_ORAL_ROUTES = frozenset({"oral", "po", "by mouth"})
_TD_ROUTES = frozenset({"transdermal", "td", "patch"})
_SL_ROUTES = frozenset({"sublingual", "sl"})
# CDC 2022 caution 3, shown beside every OME figure.
OME_CAUTION = "for risk, not for converting between opioids"
_DECIMALS = 3


@dataclass(frozen=True)
class OMEItem:
    """One converted prescription: daily dose x factor = OME (mg/day)."""

    drug: str
    route: str
    dose: float
    unit: str  # 'mg/day' or 'microgram/h'
    factor: float | None  # None when a strength lookup was used
    ome: float
    label: str
    recheck: bool = False  # factor from secondary sources only: re-check against fpm.ac.uk


@dataclass(frozen=True)
class UnconvertibleItem:
    """A prescription that could not be converted (flagged, never counted as 0)."""

    drug: str
    route: str
    reason: str
    short: str = ""  # a few words for "excludes: methadone — specialist advice"

    @property
    def excludes_text(self) -> str:
        """'methadone — specialist advice' (the drug and why it is not counted)."""
        return f"{self.drug} — {self.short or self.reason}"


@dataclass(frozen=True)
class OMEResult:
    """Daily OME total over the convertible items, with the breakdown and what was not converted."""

    total: float
    items: tuple[OMEItem, ...]
    unconvertible: tuple[UnconvertibleItem, ...]
    table: str
    ignored: tuple[str, ...] = ()  # non-opioid drugs passed in (not part of the OME)

    @property
    def complete(self) -> bool:
        """False when some opioid could not be converted, so the total is a lower bound."""
        return not self.unconvertible


def is_opioid(drug: str) -> bool:
    """True if the drug (or class name) is an opioid in the drug table."""
    return "opioid" in drug_classes(drug)


def is_benzodiazepine(drug: str) -> bool:
    """True if the drug is a benzodiazepine."""
    return "benzodiazepine" in drug_classes(drug)


def is_gabapentinoid(drug: str) -> bool:
    """True if the drug is a gabapentinoid (gabapentin, pregabalin)."""
    return "gabapentinoid" in drug_classes(drug)


def _dose(rx: Mapping[str, Any], key: str) -> float:
    value = rx.get(key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"prescription {rx.get('drug')!r}: {key} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"prescription {rx.get('drug')!r}: {key} must be >= 0, got {value}")
    return float(value)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _convert(rx: Mapping[str, Any], table_id: str, table: Mapping[str, Any]) -> OMEItem | UnconvertibleItem:
    raw = str(rx["drug"])
    drug = resolve_drug(raw) or normalise_drug(raw)
    route = normalise_drug(str(rx.get("route") or ("transdermal" if "patch_mcg_per_h" in rx else "oral")))
    recheck = set(table.get("recheck") or ())
    if drug in table.get("unconvertible", {}):
        return UnconvertibleItem(drug, route, table["unconvertible"][drug],
                                 (table.get("unconvertible_short") or {}).get(drug, "no conversion factor"))
    if rx.get("daily_dose_mg", 0) is None and rx.get("patch_mcg_per_h") is None:
        return UnconvertibleItem(drug, route, "no daily dose recorded, so its OME cannot be counted",
                                 "no dose recorded")
    if route in _TD_ROUTES:
        if "patch_mcg_per_h" not in rx:
            raise ValueError(f"prescription {raw!r}: transdermal needs patch_mcg_per_h")
        rate = _dose(rx, "patch_mcg_per_h")
        for row in (table.get("transdermal_lookup") or {}).get(drug, []):
            if row["min"] <= rate <= row["max"]:
                ome = float(row["ome"])
                return OMEItem(drug, "transdermal", rate, "microgram/h", None, ome,
                               f"{drug} {_fmt(rate)} microgram/h patch = {_fmt(ome)} mg OME/day ({table_id} lookup)")
        factor = (table.get("transdermal_mcg_per_h") or {}).get(drug)
        if factor is None:
            return UnconvertibleItem(drug, route, f"no transdermal factor for {drug} in {table_id}",
                                     "no patch factor")
        ome = round(rate * factor, _DECIMALS)
        return OMEItem(drug, "transdermal", rate, "microgram/h", float(factor), ome,
                       f"{drug} {_fmt(rate)} microgram/h x {_fmt(factor)} = {_fmt(ome)} mg OME/day")
    if route in _ORAL_ROUTES or route in _SL_ROUTES:
        kind = "oral" if route in _ORAL_ROUTES else "sublingual"
        if "daily_dose_mg" not in rx:
            raise ValueError(f"prescription {raw!r}: {kind} needs daily_dose_mg")
        dose = _dose(rx, "daily_dose_mg")
        # A combination product's dose is its opioid component's mg/day (co-codamol -> codeine).
        component = OPIOID_COMPONENTS.get(drug)
        factor = (table.get(f"{kind}_mg") or {}).get(component or drug)
        if factor is None:
            if component:
                return UnconvertibleItem(drug, route, f"no {kind} factor for its component {component} in {table_id}",
                                         f"no factor for {component}")
            return UnconvertibleItem(drug, route, f"no {kind} factor for {drug} in {table_id}",
                                     f"no {kind} factor")
        ome = round(dose * factor, _DECIMALS)
        check = f"{component or drug} {kind}" in recheck
        name = f"{drug} ({component} component)" if component else drug
        return OMEItem(drug, kind, dose, "mg/day", float(factor), ome,
                       f"{name} {kind} {_fmt(dose)} mg/day x {_fmt(factor)} = {_fmt(ome)} mg OME/day"
                       + (" (factor to re-check against fpm.ac.uk)" if check else ""), check)
    return UnconvertibleItem(drug, route, f"route {route!r} has no factor in {table_id} "
                                          "(oral, sublingual and transdermal only)", f"no factor for {route}")


def daily_ome(rx_list: Iterable[Mapping[str, Any]], table: str = "UK_FPM") -> OMEResult:
    """Sum the daily oral morphine equivalent of opioid prescriptions; unconvertible items are listed, not zeroed.

    Each rx is ``{"drug", "route", "daily_dose_mg"}`` or ``{"drug", "route": "transdermal", "patch_mcg_per_h"}``.
    PRN items: pass the maximum daily dose actually taken (DESIGN DEFAULT).
    """
    if table not in TABLES:
        raise ValueError(f"unknown conversion table {table!r}; choose one of {', '.join(TABLES)}")
    if isinstance(rx_list, Mapping) or isinstance(rx_list, (str, bytes)):
        raise ValueError("rx_list must be a list of prescription dicts")
    items: list[OMEItem] = []
    unconvertible: list[UnconvertibleItem] = []
    ignored: list[str] = []
    for rx in rx_list:
        if not isinstance(rx, Mapping) or not rx.get("drug"):
            raise ValueError(f"each prescription must be a dict with a 'drug', got {rx!r}")
        classes = drug_classes(str(rx["drug"]))
        if classes and "opioid" not in classes:
            ignored.append(normalise_drug(str(rx["drug"])))
            continue
        if not classes:
            unconvertible.append(UnconvertibleItem(normalise_drug(str(rx["drug"])), str(rx.get("route", "")),
                                                   "drug not in the drug table: check it by hand",
                                                   "not coded, check by hand"))
            continue
        out = _convert(rx, table, TABLES[table])
        (items if isinstance(out, OMEItem) else unconvertible).append(out)  # type: ignore[arg-type]
    total = round(float(sum(i.ome for i in items)), _DECIMALS)
    return OMEResult(total, tuple(items), tuple(unconvertible), table, tuple(ignored))


@dataclass(frozen=True)
class OMESummary:
    """An OME total as shown to people: the figure, what it excludes, and the text with its caution."""

    total: float
    excluded: tuple[str, ...]  # "methadone — specialist advice"
    text: str  # "24 mg/day" or "at least 24 mg/day (excludes: methadone — specialist advice)"
    on_opioids: bool
    recheck: tuple[str, ...] = ()  # items converted with a factor still to re-check

    @property
    def lower_bound(self) -> bool:
        """True when some opioid is not counted, so the total is only a lower bound."""
        return bool(self.excluded)

    @property
    def text_with_caution(self) -> str:
        """The text followed by the caution: '24 mg/day (for risk, not for converting between opioids)'."""
        return f"{self.text} ({OME_CAUTION})"


def ome_text(total: float, excluded: Sequence[str] = ()) -> str:
    """'24 mg/day', or when any opioid is not counted 'at least 24 mg/day (excludes: methadone — specialist advice)'."""
    if isinstance(total, bool) or not isinstance(total, numbers.Real) or total < 0:
        raise ValueError(f"total must be a number >= 0, got {total!r}")
    figure = f"{round(float(total), 1):g} mg/day"
    if not excluded:
        return figure
    return f"at least {figure} (excludes: {'; '.join(excluded)})"


def summarise_ome(result: OMEResult) -> OMESummary:
    """The OME result as shown: a lower bound naming what it excludes whenever an opioid is unconvertible."""
    excluded = tuple(dict.fromkeys(u.excludes_text for u in result.unconvertible))
    return OMESummary(result.total, excluded, ome_text(result.total, excluded),
                      bool(result.items or result.unconvertible), tuple(i.label for i in result.items if i.recheck))


def rx_of(drug: str, route: str | None, daily_dose_mg: float | None, patch_mcg_per_h: float | None) -> dict[str, Any]:
    """A stored medicine as a prescription dict for daily_ome; a dose of 0 mg/day stays 0 (None = not recorded)."""
    # The route decides which dose counts: a patch strength on an oral medicine is ignored, not a crash.
    if route is None and patch_mcg_per_h is not None:
        route = "transdermal"
    rx: dict[str, Any] = {"drug": drug, "route": route or "oral"}
    if (route or "") in _TD_ROUTES:
        rx["patch_mcg_per_h"] = patch_mcg_per_h
        if patch_mcg_per_h is None:
            rx["daily_dose_mg"] = None
    else:
        rx["daily_dose_mg"] = daily_dose_mg
    return rx


def ome_summary(medicines: Iterable[Mapping[str, Any]], table: str = "UK_FPM") -> OMESummary:
    """OME summary of a list of medicines (each a dict drug, route, daily_dose_mg, patch_mcg_per_h; non-opioids ignored)."""
    rx = [rx_of(str(m["drug"]), m.get("route"), m.get("daily_dose_mg"), m.get("patch_mcg_per_h"))
          for m in medicines if m.get("drug")]
    # A name not in the drug table (not coded) may be an opioid: it is listed as excluded, never dropped.
    opioid_rx = [r for r in rx if is_opioid(r["drug"]) or not drug_classes(r["drug"])]
    return summarise_ome(daily_ome(opioid_rx, table))


def opioid_thresholds(profile: str = "UK", amber: float | None = None, red: float | None = None) -> tuple[float, float]:
    """Return the (amber, red) OME thresholds of a profile, with any overrides applied."""
    key = _PROFILE_ALIASES.get(str(profile).upper())
    if key is None:
        raise ValueError(f"unknown opioid profile {profile!r}; choose UK or CDC")
    a = PROFILES[key]["amber"] if amber is None else amber
    r = PROFILES[key]["red"] if red is None else red
    for name, v in (("amber", a), ("red", r)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v <= 0:
            raise ValueError(f"{name} threshold must be a positive number, got {v!r}")
    if a > r:
        raise ValueError(f"amber threshold ({a}) must not exceed red ({r})")
    return float(a), float(r)


def opioid_flag(ome: float, profile: str = "UK", amber: float | None = None, red: float | None = None) -> str:
    """Flag a daily OME: 'red' at >= red (UK 120), 'amber' at >= amber (UK 90), else 'none' (inclusive)."""
    if isinstance(ome, bool) or not isinstance(ome, numbers.Real) or ome < 0:
        raise ValueError(f"ome must be a number >= 0, got {ome!r}")
    a, r = opioid_thresholds(profile, amber, red)
    return "red" if ome >= r else "amber" if ome >= a else "none"


@dataclass(frozen=True)
class CoPrescriptionFlag:
    """An opioid co-prescribed with a benzodiazepine or a gabapentinoid (CDC 2022 caution)."""

    code: str  # 'opioid_benzodiazepine' | 'opioid_gabapentinoid'
    opioids: tuple[str, ...]
    others: tuple[str, ...]
    reason: str


def co_prescription_flags(drug_list: Sequence[str]) -> list[CoPrescriptionFlag]:
    """Flag opioid + benzodiazepine and opioid + gabapentinoid combinations in a list of drug names."""
    if isinstance(drug_list, str):
        raise ValueError("drug_list must be a list of drug names, not one string")
    names = [normalise_drug(d) for d in drug_list]
    opioids = tuple(dict.fromkeys(n for n in names if is_opioid(n)))
    flags: list[CoPrescriptionFlag] = []
    if not opioids:
        return flags
    for code, test, label in (("opioid_benzodiazepine", is_benzodiazepine, "benzodiazepine"),
                              ("opioid_gabapentinoid", is_gabapentinoid, "gabapentinoid")):
        others = tuple(dict.fromkeys(n for n in names if test(n)))
        if others:
            flags.append(CoPrescriptionFlag(code, opioids, others,
                                            f"Opioid ({', '.join(opioids)}) with {label} ({', '.join(others)}): "
                                            "higher risk of respiratory depression; review"))
    return flags


def ome_increase_without_benefit(previous_ome: float, current_ome: float, prom_improved: bool | None) -> bool:
    """True when the OME rose since the last review while the primary PROM has not improved (4.3)."""
    for name, v in (("previous_ome", previous_ome), ("current_ome", current_ome)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    return current_ome > previous_ome and prom_improved is not True
