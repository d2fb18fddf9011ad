"""The primary outcome of a case and its response: which instrument (chosen at MDT, else the first with
data), its baseline, and the change since baseline or since the hub decision, with the minimal
important change band. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from hub import vocab
from hub.clinical import outcomes
from hub.clinical.case_records import CaseRecord, Response
from hub.clinical.signals import fmt_day

PRIMARY_OUTCOMES: tuple[str, ...] = tuple(vocab.PRIMARY_OUTCOMES)
DEFAULT_MIC = {"peg": None, "nrs": None, "mskhq": outcomes.MSKHQ_MIC, "odi": outcomes.ODI_MIC_POINTS}


def setting_value(settings: Mapping[str, Any], key: str, default: Any) -> Any:
    """A setting by key, with the default when it is missing or None."""
    value = settings.get(key, default)
    return default if value is None else value


def choose_primary_outcome(record: CaseRecord) -> str | None:
    """The case's primary outcome: the one chosen at MDT, else the first of PEG, NRS, MSK-HQ, ODI with data."""
    if record.primary_outcome:
        return record.primary_outcome
    have = {a.instrument for a in record.assessments if a.completed and a.total is not None}
    for code in PRIMARY_OUTCOMES:
        if code in have:
            return code
    return "nrs" if record.baseline_pain is not None else None


def series_of(record: CaseRecord, instrument: str) -> list[tuple[date, float]]:
    """The completed values of an instrument up to the record's day, oldest first."""
    pts = sorted((a.on, float(a.total)) for a in record.assessments
                 if a.instrument == instrument and a.completed and a.total is not None and a.on <= record.today)
    return pts


def baseline_of(record: CaseRecord, instrument: str, pts: list[tuple[date, float]]) -> tuple[date | None, float | None]:
    """Baseline = the latest value on or before submission, else the first value; NRS falls back to the
    pain score given at submission."""
    if record.submitted_on is not None:
        before = [p for p in pts if p[0] <= record.submitted_on]
        if before:
            return before[-1]
    if pts:
        return pts[0]
    if instrument == "nrs" and record.baseline_pain is not None:
        return record.submitted_on, float(record.baseline_pain)
    return None, None


def primary_response(record: CaseRecord, settings: Mapping[str, Any] | None = None) -> Response | None:
    """Classify the primary outcome's change since baseline (docs/CLINICAL.md section 2)."""
    settings = settings or {}
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    pts = series_of(record, instrument)
    base_on, base = baseline_of(record, instrument, pts)
    latest_on, latest = (pts[-1] if pts else (None, None))
    band = target = None
    if base is not None:
        if instrument in ("peg", "nrs"):
            pct = float(setting_value(settings, "pain.moderate_pct", 30.0))
            floor = float(setting_value(settings, "pain.raw_floor", outcomes.RAW_FLOOR))
            target = round(max(0.0, min(base * (1 - pct / 100), base - floor)), 2)  # v0.2: % and raw floor
            band = (target, base)
        elif instrument == "mskhq":
            mic = float(setting_value(settings, "mskhq.mic", outcomes.MSKHQ_MIC))
            band, target = (base, base + mic), base + mic
        elif instrument == "odi":
            mic = float(setting_value(settings, "odi.mic_points", outcomes.ODI_MIC_POINTS))
            band, target = (base - mic, base), base - mic
    if base is None or latest is None or latest_on == base_on:
        return Response(instrument, base, base_on, latest, latest_on, None, None,
                        "No follow-up value since baseline yet", band, target)
    c = outcomes.classify_change(instrument, base, latest,
                                 raw_floor=float(setting_value(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))
    text = (f"{instrument.upper()} {format_score(base)} ({fmt_day(base_on, record.today) if base_on else 'baseline'}) → "
            f"{format_score(latest)} ({fmt_day(cast(date, latest_on), record.today)}): {c.category.replace('_', ' ')}")
    return Response(instrument, base, base_on, latest, latest_on, c.category, c.important, text, band, target)


def format_score(value: float) -> str:
    """A score as a clinician reads it: PEG means to one decimal (3.3, not 3.33333), whole scores bare."""
    return f"{round(value, 1):g}"


def response_since(record: CaseRecord, since: date, settings: Mapping[str, Any] | None = None) -> Response | None:
    """Change of the primary outcome since a date (the hub decision): value at or before it vs the latest."""
    settings = settings or {}
    instrument = choose_primary_outcome(record)
    if instrument is None:
        return None
    pts = series_of(record, instrument)
    before = [p for p in pts if p[0] <= since]
    after = [p for p in pts if p[0] > since]
    if not before:
        return Response(instrument, None, None, None, None, None, None, "No value at the hub decision to compare with")
    base_on, base = before[-1]
    if not after:
        return Response(instrument, base, base_on, None, None, None, None,
                        f"No {instrument.upper()} since the hub decision yet")
    latest_on, latest = after[-1]
    c = outcomes.classify_change(instrument, base, latest,
                                 raw_floor=float(setting_value(settings, "pain.raw_floor", outcomes.RAW_FLOOR)))
    text = (f"Since the hub decision: {instrument.upper()} {format_score(base)} ({fmt_day(base_on, record.today)}) → "
            f"{format_score(latest)} ({fmt_day(latest_on, record.today)}): {c.category.replace('_', ' ')}")
    return Response(instrument, base, base_on, latest, latest_on, c.category, c.important, text)


def mic_for(instrument: str, baseline: float | None, settings: Mapping[str, Any]) -> float | None:
    """The minimal important change of an instrument (from the settings), or None when there is none."""
    if instrument in ("peg", "nrs"):
        if not baseline:
            return None
        return baseline * float(setting_value(settings, "pain.moderate_pct", 30.0)) / 100
    if instrument == "mskhq":
        return float(setting_value(settings, "mskhq.mic", outcomes.MSKHQ_MIC))
    if instrument == "odi":
        return float(setting_value(settings, "odi.mic_points", outcomes.ODI_MIC_POINTS))
    return None


