"""Scoring of the PROMs and screening tools of docs/CLINICAL.md section 1 (pure functions).

Responses are dicts of integer codes keyed ``<PREFIX>_Q<n>``; results are frozen
dataclasses; invalid input raises ``ValueError`` naming the item. Interpretation bands
live in ``tables/bands.yaml`` (loaded once at import); the cut-offs that the spec calls
configurable can be overridden by keyword arguments.

The registry (which instruments exist, their items, licences and bundled item text) is
hub.clinical.instrument_registry; its names are re-exported here.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from hub.clinical._data import load_yaml

# The registry's names used here or by callers of this module (`instruments.get_instrument`, ...), re-exported.
from hub.clinical.instrument_registry import BPI_INTERFERENCE_KEYS, BPI_SEVERITY_KEYS, SBST6_KEPT
from hub.clinical.instrument_registry import INSTRUMENTS as INSTRUMENTS
from hub.clinical.instrument_registry import SCORING_ALGORITHM_VERSION as SCORING_ALGORITHM_VERSION
from hub.clinical.instrument_registry import InstrumentSpec as InstrumentSpec
from hub.clinical.instrument_registry import ItemSpec as ItemSpec
from hub.clinical.instrument_registry import get_instrument as get_instrument
from hub.clinical.instrument_registry import instrument_id as instrument_id
from hub.clinical.instrument_registry import item_text as item_text

BANDS: dict[str, Any] = load_yaml("bands.yaml")
BANDS_VERSION: str = str(BANDS["version"])


# ------------------------------------------------------------------------ validation


def _check_code(instrument: str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{instrument}: item {key} must be an integer code {lo}-{hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{instrument}: item {key} = {value} is out of range {lo}-{hi}")
    return int(value)


def _complete(instrument: str, r: Mapping[str, Any]) -> dict[str, int]:
    """validate_responses without allow_missing: every scored item is present (typed as such)."""
    return cast("dict[str, int]", validate_responses(instrument, r))


def validate_responses(
    instrument: str | InstrumentSpec, r: Mapping[str, Any], *, allow_missing: bool = False
) -> dict[str, int | None]:
    """Check keys, types and ranges of a response dict; return {key: code or None}."""
    spec = instrument if isinstance(instrument, InstrumentSpec) else get_instrument(instrument)
    if not isinstance(r, Mapping):
        raise ValueError(f"{spec.id}: responses must be a dict keyed {spec.all_keys[0]}..., got {type(r).__name__}")
    known = set(spec.all_keys)
    unknown = sorted(str(k) for k in r if k not in known)
    if unknown:
        raise ValueError(f"{spec.id}: unknown item key(s) {', '.join(unknown)}; expected {', '.join(spec.all_keys)}")
    out: dict[str, int | None] = {}
    missing = []
    for it in spec.items:
        value = r.get(it.key)
        if value is None:
            if it.required and it.scored:
                missing.append(it.key)
            out[it.key] = None
            continue
        out[it.key] = _check_code(spec.id, it.key, value, it.min, it.max)
    if missing and not allow_missing:
        n = len([i for i in spec.items if i.required and i.scored])
        raise ValueError(f"{spec.id}: item(s) {', '.join(missing)} missing (all {n} items are required)")
    return out


def missing_items(instrument: str, r: Mapping[str, Any]) -> list[str]:
    """List the required items that are absent or None in ``r`` (ranges are still checked)."""
    spec = get_instrument(instrument)
    v = validate_responses(spec, r, allow_missing=True)
    return [i.key for i in spec.items if i.required and i.scored and v[i.key] is None]


def _bands(instrument: str, name: str = "bands") -> list[dict[str, Any]]:
    return list(BANDS[instrument].get(name) or [])


def band_for(value: float, bands: Sequence[Mapping[str, Any]]) -> str | None:
    """Return the name of the highest band whose ``min`` the value reaches (None if no bands)."""
    chosen = None
    for b in sorted(bands, key=lambda b: b["min"]):
        if value >= b["min"]:
            chosen = str(b["band"])
    return chosen


def _cut(value: Any, default: Any, name: str) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return value


# --------------------------------------------------------------------- result types


@dataclass(frozen=True)
class SBSTResult:
    """STarT Back (9-item) result."""

    total: int
    distress: int
    risk: str  # 'low' | 'medium' | 'high'


@dataclass(frozen=True)
class SBST6Result:
    """STarT Back 6-item result (low vs not low)."""

    total: int
    risk: str  # 'low' | 'not_low'


@dataclass(frozen=True)
class OMPSQResult:
    """ÖMPSQ-10 result."""

    total: int
    high_risk: bool


@dataclass(frozen=True)
class BPIResult:
    """BPI-SF severity and interference (interference None when < 4 of 7 answered)."""

    severity: float
    interference: float | None
    interference_answered: int
    severity_band: str | None


@dataclass(frozen=True)
class TSK17Result:
    """TSK-17 result."""

    total: int
    high: bool


@dataclass(frozen=True)
class PCSResult:
    """Pain Catastrophizing Scale result with subscales."""

    total: int
    rumination: int
    magnification: int
    helplessness: int
    clinically_relevant: bool


@dataclass(frozen=True)
class PSEQResult:
    """PSEQ result."""

    total: int
    band: str


@dataclass(frozen=True)
class PHQ9Result:
    """PHQ-9 result; safety_alert is True when item 9 > 0 whatever the total."""

    total: int
    band: str
    safety_alert: bool


@dataclass(frozen=True)
class GAD7Result:
    """GAD-7 result."""

    total: int
    band: str
    positive: bool


@dataclass(frozen=True)
class ScoredAssessment:
    """Instrument-independent result of ``score`` (what the app stores and charts)."""

    instrument_id: str
    total: float | None
    band: str | None
    safety_alert: bool
    detail: dict[str, Any] = field(default_factory=dict)
    instrument_version: str = ""
    scoring_algorithm_version: str = SCORING_ALGORITHM_VERSION
    bands_version: str = BANDS_VERSION


# ---------------------------------------------------------------------- instruments


def score_sbst(r: Mapping[str, int]) -> SBSTResult:
    """Score the 9-item STarT Back tool (Keele order; distress subscale = Q5-Q9)."""
    v = _complete("SBST", r)
    cfg = BANDS["SBST"]
    positive = [v[f"SBST_Q{i}"] for i in range(1, 9)] + [1 if v["SBST_Q9"] >= cfg["item9_positive_min"] else 0]
    total = sum(positive)
    distress = sum(positive[4:])
    if total <= cfg["low_max_total"]:
        risk = "low"
    elif distress >= cfg["high_min_distress"]:
        risk = "high"
    else:
        risk = "medium"
    return SBSTResult(total, distress, risk)


def score_sbst6(r: Mapping[str, int]) -> SBST6Result:
    """Score the 6-item STarT Back version (Q2, Q5, Q6 removed; total <= 2 low)."""
    v = _complete("SBST6", r)
    cfg = BANDS["SBST"]
    total = sum(v[k] for k in SBST6_KEPT[:-1]) + (1 if v["SBST_Q9"] >= cfg["item9_positive_min"] else 0)
    return SBST6Result(total, "low" if total <= BANDS["SBST6"]["low_max_total"] else "not_low")


def band_start_msk(total: int, medium_min: int | None = None, high_min: int | None = None) -> str:
    """Band a clinician-entered STarT MSK total 0-12 (cut-offs configurable; 9-12 UNVERIFIED)."""
    total = _check_code("STARTMSK", "STARTMSK_TOTAL", total, 0, 12)
    bands = {b["band"]: b["min"] for b in _bands("STARTMSK")}
    med = _cut(medium_min, bands["medium"], "medium_min")
    high = _cut(high_min, bands["high"], "high_min")
    if not 0 < med < high <= 12:
        raise ValueError(f"STarT MSK cut-offs must satisfy 0 < medium_min < high_min <= 12, got {med}, {high}")
    return "high" if total >= high else "medium" if total >= med else "low"


_OMPSQ_REVERSED = frozenset({"OMPSQ_Q3", "OMPSQ_Q4", "OMPSQ_Q8"})


def score_ompsq10(r: Mapping[str, int], high_risk_min: float | None = None) -> OMPSQResult:
    """Score the ÖMPSQ-10 (items 3, 4, 8 reversed as 10 - x; high risk at >= 50 by default)."""
    v = _complete("OMPSQ", r)
    total = sum((10 - x) if k in _OMPSQ_REVERSED else x for k, x in v.items())
    cut = _cut(high_risk_min, BANDS["OMPSQ"]["high_risk_min"], "high_risk_min")
    return OMPSQResult(total, total >= cut)


def score_mskhq(r: Mapping[str, int]) -> int:
    """Score the MSK-HQ: sum of the 14 item scores 0-4 (4 = best), 0-56; all items required."""
    v = validate_responses("MSKHQ", r)
    return sum(v[k] for k in INSTRUMENTS["MSKHQ"].item_keys)  # type: ignore[misc]


def score_peg(r: Mapping[str, int]) -> float:
    """Score the PEG: unrounded mean of its 3 items (0-10, higher = worse)."""
    v = validate_responses("PEG", r)
    return sum(v.values()) / 3  # type: ignore[arg-type]


def score_nrs(r: Mapping[str, int]) -> float:
    """Return the single 0-10 pain NRS value as a float."""
    return float(validate_responses("NRS", r)["NRS_Q1"])  # type: ignore[arg-type]


def score_bpi(r: Mapping[str, int], min_interference_answered: int | None = None) -> BPIResult:
    """Score the BPI-SF: severity = mean of 4 items; interference = mean of answered items if >= 4 of 7."""
    v = validate_responses("BPI", r)
    severity = sum(v[k] for k in BPI_SEVERITY_KEYS) / 4  # type: ignore[misc]
    answered = [v[k] for k in BPI_INTERFERENCE_KEYS if v[k] is not None]
    need = _cut(min_interference_answered, BANDS["BPI"]["interference_min_answered"], "min_interference_answered")
    interference = sum(answered) / len(answered) if answered and len(answered) >= need else None  # type: ignore[arg-type]
    return BPIResult(severity, interference, len(answered), band_for(severity, _bands("BPI", "severity_bands")))


def score_tsk11(r: Mapping[str, int]) -> int:
    """Score the TSK-11: sum of 11 items coded 1-4 (no reversed items), 11-44."""
    v = validate_responses("TSK11", r)
    return sum(v.values())  # type: ignore[arg-type]


_TSK17_REVERSED = frozenset({"TSK17_Q4", "TSK17_Q8", "TSK17_Q12", "TSK17_Q16"})


def score_tsk17(r: Mapping[str, int], high_above: float | None = None) -> TSK17Result:
    """Score the TSK-17 (items 4, 8, 12, 16 reversed as 5 - x); high when total > 37."""
    v = _complete("TSK17", r)
    total = sum((5 - x) if k in _TSK17_REVERSED else x for k, x in v.items())
    return TSK17Result(total, total > _cut(high_above, BANDS["TSK17"]["high_above"], "high_above"))


_PCS_RUMINATION = (8, 9, 10, 11)
_PCS_MAGNIFICATION = (6, 7, 13)
_PCS_HELPLESSNESS = (1, 2, 3, 4, 5, 12)


def score_pcs(r: Mapping[str, int], cutoff: float | None = None) -> PCSResult:
    """Score the PCS (0-52) with its subscales; clinically relevant at >= 30 by default."""
    v = validate_responses("PCS", r)

    def sub(items: tuple[int, ...]) -> int:
        return sum(v[f"PCS_Q{i}"] for i in items)  # type: ignore[misc]

    total = sum(v.values())  # type: ignore[arg-type]
    cut = _cut(cutoff, BANDS["PCS"]["clinically_relevant_min"], "cutoff")
    return PCSResult(total, sub(_PCS_RUMINATION), sub(_PCS_MAGNIFICATION), sub(_PCS_HELPLESSNESS), total >= cut)


def score_pseq(r: Mapping[str, int]) -> PSEQResult:
    """Score the PSEQ (0-60, higher = better) and band it (severe/moderate/mild/minimal)."""
    v = validate_responses("PSEQ", r)
    total = sum(v.values())  # type: ignore[arg-type]
    return PSEQResult(total, band_for(total, _bands("PSEQ")) or "")


def phq9_item9_alert(r: Mapping[str, Any]) -> bool:
    """True when PHQ-9 item 9 (thoughts of self-harm) is answered above 0; other items may be missing."""
    if not isinstance(r, Mapping):
        raise ValueError("PHQ9: responses must be a dict")
    key = BANDS["PHQ9"]["safety_item"]
    value = r.get(key)
    if value is None:
        return False
    return bool(_check_code("PHQ9", key, value, 0, 3) >= BANDS["PHQ9"]["safety_min"])


def score_phq9(r: Mapping[str, int]) -> PHQ9Result:
    """Score the PHQ-9 (0-27), band it, and raise the item-9 safety alert."""
    v = validate_responses("PHQ9", r)
    total = sum(v[k] for k in INSTRUMENTS["PHQ9"].item_keys)  # type: ignore[misc]
    return PHQ9Result(total, band_for(total, _bands("PHQ9")) or "", phq9_item9_alert(r))


def score_gad7(r: Mapping[str, int], positive_min: float | None = None) -> GAD7Result:
    """Score the GAD-7 (0-21), band it, and screen positive at >= 10 by default."""
    v = validate_responses("GAD7", r)
    total = sum(v.values())  # type: ignore[arg-type]
    cut = _cut(positive_min, BANDS["GAD7"]["positive_min"], "positive_min")
    return GAD7Result(total, band_for(total, _bands("GAD7")) or "", total >= cut)


def score_odi(r: Mapping[str, int | None], min_answered: int | None = None) -> float | None:
    """Score the ODI as a percent: sum / (5 x answered) x 100; None when fewer than 9 sections answered."""
    v = validate_responses("ODI", r, allow_missing=True)
    answered = [x for x in v.values() if x is not None]
    need = _cut(min_answered, BANDS["ODI"]["min_answered"], "min_answered")
    if not answered or len(answered) < need:
        return None
    return sum(answered) / (5 * len(answered)) * 100


# ----------------------------------------------------------------------- dispatcher


def _scored(spec: InstrumentSpec, total: float | None, band: str | None, safety: bool = False,
            **detail: Any) -> ScoredAssessment:
    return ScoredAssessment(spec.id, total, band, safety, dict(detail), spec.version)


def _d_sbst(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_sbst(r, **kw)
    return _scored(INSTRUMENTS["SBST"], x.total, x.risk, distress=x.distress)


def _d_sbst6(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_sbst6(r, **kw)
    return _scored(INSTRUMENTS["SBST6"], x.total, x.risk)


def _d_startmsk(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    v = validate_responses("STARTMSK", r)
    total = v["STARTMSK_TOTAL"]
    return _scored(INSTRUMENTS["STARTMSK"], total, band_start_msk(total, **kw))  # type: ignore[arg-type]


def _d_ompsq(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_ompsq10(r, **kw)
    return _scored(INSTRUMENTS["OMPSQ"], x.total, "high_risk" if x.high_risk else "low_risk", high_risk=x.high_risk)


def _d_bpi(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_bpi(r, **kw)
    return _scored(INSTRUMENTS["BPI"], x.severity, x.severity_band, severity=x.severity,
                   interference=x.interference, interference_answered=x.interference_answered)


def _d_tsk17(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_tsk17(r, **kw)
    return _scored(INSTRUMENTS["TSK17"], x.total, "high" if x.high else "not_high", high=x.high)


def _d_pcs(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_pcs(r, **kw)
    return _scored(INSTRUMENTS["PCS"], x.total,
                   "clinically_relevant" if x.clinically_relevant else "not_clinically_relevant",
                   rumination=x.rumination, magnification=x.magnification, helplessness=x.helplessness,
                   clinically_relevant=x.clinically_relevant)


def _d_pseq(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_pseq(r, **kw)
    return _scored(INSTRUMENTS["PSEQ"], x.total, x.band)


def _d_phq9(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_phq9(r, **kw)
    return _scored(INSTRUMENTS["PHQ9"], x.total, x.band, x.safety_alert)


def _d_gad7(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    x = score_gad7(r, **kw)
    return _scored(INSTRUMENTS["GAD7"], x.total, x.band, positive=x.positive)


def _d_odi(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
    total = score_odi(r, **kw)
    answered = sum(1 for k in INSTRUMENTS["ODI"].item_keys if r.get(k) is not None)
    return _scored(INSTRUMENTS["ODI"], total, None, answered=answered)


def _simple(instrument: str, fn: Callable[..., float]) -> Callable[..., ScoredAssessment]:
    def run(r: Mapping[str, Any], **kw: Any) -> ScoredAssessment:
        return _scored(INSTRUMENTS[instrument], fn(r, **kw), None)

    return run


_DISPATCH: dict[str, Callable[..., ScoredAssessment]] = {
    "SBST": _d_sbst, "SBST6": _d_sbst6, "STARTMSK": _d_startmsk, "OMPSQ": _d_ompsq,
    "MSKHQ": _simple("MSKHQ", score_mskhq), "PEG": _simple("PEG", score_peg), "BPI": _d_bpi,
    "TSK11": _simple("TSK11", score_tsk11), "TSK17": _d_tsk17, "PCS": _d_pcs, "PSEQ": _d_pseq,
    "PHQ9": _d_phq9, "GAD7": _d_gad7, "ODI": _d_odi, "NRS": _simple("NRS", score_nrs),
}


def score(instrument: str, responses: Mapping[str, Any], *, partial: bool = False, **options: Any) -> ScoredAssessment:
    """Score any registered instrument; with partial=True missing items give total None instead of ValueError.

    Out-of-range codes always raise. With ``partial`` the PHQ-9 item-9 safety alert is still
    evaluated on an incomplete form. ``options`` are passed to the instrument's scorer
    (e.g. ``cutoff=`` for PCS, ``high_risk_min=`` for ÖMPSQ-10).
    """
    spec = get_instrument(instrument)
    if partial:
        missing = missing_items(spec.id, responses)
        if missing:
            safety = phq9_item9_alert(responses) if spec.id == "PHQ9" else False
            return _scored(spec, None, None, safety, missing=missing, not_scored_reason=(
                f"{len(missing)} required item(s) missing; not scored (no imputation)"))
    return _DISPATCH[spec.id](responses, **options)
