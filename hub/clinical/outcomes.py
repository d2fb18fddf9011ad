"""Response classification over time (docs/CLINICAL.md section 2): change classes, MIC bands, responder."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from hub import vocab
from hub.clinical.instrument_registry import INSTRUMENTS, instrument_id

# Percentages are compared after rounding to 9 decimals so that, e.g., 10 -> 7 is exactly 30 %.
_EPS_DIGITS = 9

IMMPACT_SUBSTANTIAL_PCT = 50.0
IMMPACT_MODERATE_PCT = 30.0
IMMPACT_MINIMAL_PCT = 10.0
PAIN_WORSE_PCT = 10.0  # DESIGN DEFAULT deterioration threshold
FARRAR_POINTS = 2.0
FARRAR_PCT = 30.0
# v0.2 raw floor: a 0-10 pain change smaller than this many points is never important, whatever the
# percentage says (IMMPACT asks for raw and percentage criteria). DESIGN DEFAULT, configurable.
RAW_FLOOR = 1.0

MSKHQ_MIC = 5.5
ODI_MIC_POINTS = 10.0
ODI_MIC_PCT = 30.0
TSK11_MIC = 4.0
PCS_MIC = 8.0
PCS_MIC_HIGH_BASELINE = 11.0
PCS_HIGH_BASELINE_ABOVE = 30.0
PSEQ_MIC = 6.0  # DESIGN DEFAULT (integer totals: 5.5 effectively requires 6)
BPI_INTERFERENCE_MIC = 1.0

CHANGE_CLASSES = ("improved", "no_important_change", "worse")
PAIN_CATEGORIES = ("substantial", "moderate", "minimal", "no_important_change", "worse", "not_applicable")


def _num(name: str, x: Any, lo: float, hi: float) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a number, got {x!r}")
    if not lo <= float(x) <= hi:
        raise ValueError(f"{name} = {x} is out of range {lo:g}-{hi:g}")
    return float(x)


def _pos(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or x < 0:
        raise ValueError(f"{name} must be a number >= 0, got {x!r}")
    return float(x)


def _r(x: float) -> float:
    return round(x, _EPS_DIGITS)


@dataclass(frozen=True)
class PainChange:
    """IMMPACT / Farrar classification of a pain NRS or PEG change (change > 0 = less pain)."""

    baseline: float
    follow_up: float
    change: float
    pct: float | None
    category: str
    farrar_important: bool


def classify_pain_change(
    baseline: float,
    follow_up: float,
    *,
    substantial_pct: float = IMMPACT_SUBSTANTIAL_PCT,
    moderate_pct: float = IMMPACT_MODERATE_PCT,
    minimal_pct: float = IMMPACT_MINIMAL_PCT,
    worse_pct: float = PAIN_WORSE_PCT,
    farrar_points: float = FARRAR_POINTS,
    farrar_pct: float = FARRAR_PCT,
    raw_floor: float = RAW_FLOOR,
) -> PainChange:
    """Classify a 0-10 pain (NRS/PEG) change (v0.2): a change smaller than the raw floor is never important;
    otherwise the IMMPACT percentage picks the category. Change and percentage are compared rounded to 2 dp."""
    b = _num("baseline", baseline, 0, 10)
    f = _num("follow_up", follow_up, 0, 10)
    if not 0 < minimal_pct <= moderate_pct <= substantial_pct:
        raise ValueError("pain thresholds must satisfy 0 < minimal_pct <= moderate_pct <= substantial_pct")
    floor = _pos("raw_floor", raw_floor)
    change = b - f
    c = round(change, 2)
    pct = None if b == 0 else change * 100 / b
    p = None if pct is None else round(pct, 2)
    if abs(c) < floor:
        category = "no_important_change"
    elif p is None:
        category = "worse" if -c >= floor else "no_important_change"
    elif p >= substantial_pct:
        category = "substantial"
    elif p >= moderate_pct:
        category = "moderate"
    elif p >= minimal_pct:
        category = "minimal"
    elif p > -worse_pct:
        category = "no_important_change"
    else:
        category = "worse"
    important = c >= farrar_points or (p is not None and p >= farrar_pct and c >= floor)
    return PainChange(b, f, change, pct, category, important)


def pain_change_text(pc: PainChange) -> str:
    """Both numbers and the category, as the clinician reads them: '3.0 → 3.3 (+0.3 points, +10%): no important
    change'."""
    rise = pc.follow_up - pc.baseline
    pct = "" if pc.pct is None else f", {-pc.pct:+.0f}%"
    return (f"{pc.baseline:.1f} → {pc.follow_up:.1f} ({rise:+.1f} points{pct}): "
            f"{pc.category.replace('_', ' ')}")


def _points_class(better_delta: float, mic: float) -> str:
    d = _r(better_delta)
    if d >= mic:
        return "improved"
    if d <= -mic:
        return "worse"
    return "no_important_change"


def mskhq_change_class(baseline: float, follow: float, mic: float = MSKHQ_MIC) -> str:
    """MSK-HQ (higher = better): improved if follow - baseline >= MIC, worse if <= -MIC."""
    b, f = _num("baseline", baseline, 0, 56), _num("follow", follow, 0, 56)
    return _points_class(f - b, _pos("mic", mic))


def odi_change_class(baseline: float, follow: float, mic_points: float = ODI_MIC_POINTS,
                     mic_pct: float = ODI_MIC_PCT) -> str:
    """ODI (lower = better): improved if it falls >= 10 points or >= 30 %; worse if it rises >= 10 points."""
    b, f = _num("baseline", baseline, 0, 100), _num("follow", follow, 0, 100)
    fall = b - f
    if _r(fall) >= mic_points or (b > 0 and _r(fall * 100 / b) >= mic_pct):
        return "improved"
    if _r(-fall) >= mic_points:  # deterioration on points only: DESIGN DEFAULT
        return "worse"
    return "no_important_change"


def tsk11_change_class(baseline: float, follow: float, mic: float = TSK11_MIC) -> str:
    """TSK-11 (lower = better): improved on a reduction of >= 4 points, worse on a rise of >= 4."""
    b, f = _num("baseline", baseline, 11, 44), _num("follow", follow, 11, 44)
    return _points_class(b - f, _pos("mic", mic))


def pcs_mic(baseline: float, mic: float = PCS_MIC, mic_high: float = PCS_MIC_HIGH_BASELINE,
            high_baseline_above: float = PCS_HIGH_BASELINE_ABOVE) -> float:
    """PCS MIC for a baseline: 11 when baseline > 30, otherwise 8 (Monticone 2022)."""
    b = _num("baseline", baseline, 0, 52)
    return mic_high if b > high_baseline_above else mic


def pcs_change_class(baseline: float, follow: float, mic: float | None = None) -> str:
    """PCS (lower = better): important reduction if >= MIC (8, or 11 when baseline > 30)."""
    b, f = _num("baseline", baseline, 0, 52), _num("follow", follow, 0, 52)
    return _points_class(b - f, pcs_mic(b) if mic is None else _pos("mic", mic))


def pseq_change_class(baseline: float, follow: float, mic: float = PSEQ_MIC) -> str:
    """PSEQ (higher = better): improved if it rises >= MIC (default 6)."""
    b, f = _num("baseline", baseline, 0, 60), _num("follow", follow, 0, 60)
    return _points_class(f - b, _pos("mic", mic))


def bpi_interference_change_class(baseline: float, follow: float, mic: float = BPI_INTERFERENCE_MIC) -> str:
    """BPI interference (lower = better): improved on a decrease of >= 1 point (IMMPACT)."""
    b, f = _num("baseline", baseline, 0, 10), _num("follow", follow, 0, 10)
    return _points_class(b - f, _pos("mic", mic))


@dataclass(frozen=True)
class ChangeClass:
    """Generic change classification for charts.

    ``change`` = follow_up - baseline (raw units), ``pct`` = change / baseline x 100
    (None when baseline is 0), ``improvement`` = change signed so that positive is better.
    ``mic_band_low``/``mic_band_high`` bound the values around the baseline that count as
    no important change; values beyond them are important improvement / worsening.
    """

    instrument_id: str
    baseline: float
    follow_up: float
    change: float
    pct: float | None
    improvement: float
    category: str
    important: bool
    direction: str  # 'better' | 'worse' | 'none'
    higher_is_better: bool
    mic: float
    mic_unit: str
    mic_band_low: float
    mic_band_high: float


_PAIN_IDS = {"PEG", "NRS", "BPI_SEVERITY"}
_POINT_IDS = {"MSKHQ", "ODI", "TSK11", "PCS", "PSEQ", "PHQ9", "GAD7", "BPI_INTERFERENCE"}


def _change_id(name: str) -> str:
    key = "".join(ch for ch in str(name).upper() if ch.isalnum() or ch == "_")
    if key in ("BPI_SEVERITY", "BPI_INTERFERENCE"):
        return key
    if key == "BPI":
        return "BPI_INTERFERENCE"
    return instrument_id(name)


def classify_change(instrument: str, baseline: float, follow_up: float, mic: float | None = None,
                    raw_floor: float = RAW_FLOOR) -> ChangeClass:
    """Classify the change of an outcome measure and give its MIC band (PEG/NRS use IMMPACT categories)."""
    iid = _change_id(instrument)
    spec = INSTRUMENTS["BPI" if iid.startswith("BPI") else iid]
    if iid not in _PAIN_IDS | _POINT_IDS:
        raise ValueError(f"{iid} has no MIC: it is a prognostic/screening tool, not an outcome measure")
    lo, hi = float(spec.min_total), float(spec.max_total)
    b = _num("baseline", baseline, lo, hi)
    f = _num("follow_up", follow_up, lo, hi)
    change = f - b
    pct = change * 100 / b if b != 0 else None
    hib = spec.higher_is_better
    improvement = change if hib else -change

    if iid in _PAIN_IDS:
        moderate = IMMPACT_MODERATE_PCT if mic is None else _pos("mic", mic)
        pc = classify_pain_change(b, f, moderate_pct=moderate, minimal_pct=min(IMMPACT_MINIMAL_PCT, moderate),
                                  substantial_pct=max(IMMPACT_SUBSTANTIAL_PCT, moderate), raw_floor=raw_floor)
        category = pc.category
        important = category in ("moderate", "substantial", "worse")
        direction = ("better" if category in ("moderate", "substantial") else
                     "worse" if category == "worse" else "none")
        # v0.2: an important change needs both the percentage and the raw floor.
        floor = _pos("raw_floor", raw_floor)
        band_low = max(lo, min(b * (1 - moderate / 100), b - floor))
        band_high = min(hi, max(b * (1 + PAIN_WORSE_PCT / 100), b + floor))
        return ChangeClass(iid, b, f, change, pct, improvement, category, important, direction, hib,
                           moderate, "percent", round(band_low, 6), round(band_high, 6))

    if iid == "ODI":
        m_points = ODI_MIC_POINTS if mic is None else _pos("mic", mic)
        category = odi_change_class(b, f, mic_points=m_points)
        improve_need = min(m_points, b * ODI_MIC_PCT / 100) if b > 0 else m_points
        band_low, band_high = max(lo, b - improve_need), min(hi, b + m_points)
        m = m_points
    else:
        if mic is not None:
            m = _pos("mic", mic)
        elif iid == "PCS":
            m = pcs_mic(b)
        elif iid == "BPI_INTERFERENCE":
            m = BPI_INTERFERENCE_MIC
        else:
            m = float(spec.mic)  # type: ignore[arg-type]
        category = _points_class(improvement, m)
        band_low, band_high = max(lo, b - m), min(hi, b + m)
    direction = {"improved": "better", "worse": "worse"}.get(category, "none")
    return ChangeClass(iid, b, f, change, pct, improvement, category, category != "no_important_change",
                       direction, hib, m, "points", round(band_low, 6), round(band_high, 6))


RESPONDER_INSTRUMENTS: tuple[str, ...] = tuple(code.upper() for code in vocab.PRIMARY_OUTCOMES)


def is_responder(
    primary_instrument: str,
    baseline: float | None,
    latest: float | None,
    gas_met: bool | None = None,
    *,
    pain_pct: float = IMMPACT_MODERATE_PCT,
    mskhq_mic: float = MSKHQ_MIC,
    odi_points: float = ODI_MIC_POINTS,
    odi_pct: float = ODI_MIC_PCT,
    raw_floor: float = RAW_FLOOR,
) -> bool | None:
    """Hub responder rule (2.3): moderate important improvement of the primary outcome, or GAS target met.

    Returns None only when there is neither a baseline/latest pair nor a GAS result.
    """
    iid = _change_id(primary_instrument)
    if iid not in RESPONDER_INSTRUMENTS:
        raise ValueError(f"primary outcome must be one of {', '.join(RESPONDER_INSTRUMENTS)}, got {primary_instrument!r}")
    if gas_met is not None and not isinstance(gas_met, bool):
        raise ValueError(f"gas_met must be True, False or None, got {gas_met!r}")
    if gas_met:
        return True
    if baseline is None or latest is None:
        return False if gas_met is False else None
    if iid in ("PEG", "NRS"):
        # v0.2: the same rule as 2.2 -- at least moderate AND at least the raw floor.
        pc = classify_pain_change(baseline, latest, moderate_pct=pain_pct,
                                  minimal_pct=min(IMMPACT_MINIMAL_PCT, pain_pct),
                                  substantial_pct=max(IMMPACT_SUBSTANTIAL_PCT, pain_pct), raw_floor=raw_floor)
        return pc.category in ("moderate", "substantial")
    if iid == "MSKHQ":
        return mskhq_change_class(baseline, latest, mic=mskhq_mic) == "improved"
    return odi_change_class(baseline, latest, mic_points=odi_points, mic_pct=odi_pct) == "improved"
