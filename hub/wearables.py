"""Wearable data import into the record: a generic daily CSV (hub.wearables_csv) and the Apple Health
export (hub.apple_health), parsed into one `Day` per calendar day and upserted into WearableDay rows
of the case's patient; and the readers of those rows.

A missing value is a gap (NULL), never zero: an empty cell, a day without records, or a value that
failed validation all leave the field empty. Parsing never touches the database and runs within the
bounds of hub.wearable_data.ImportLimits (size, records, dates, time); a file refused as a whole
raises ValidationError before anything is written. `import_days` writes in one transaction with the
audit event and the flag recompute.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import distinct, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import WearableDay
from hub import audit, flags
from hub.access import Actor
from hub.apple_health import (  # noqa: F401 - re-exported: callers import these from hub.wearables
    APPLE_QUANTITIES, ASLEEP_PREFIX, EXERCISE_TYPE, PROGRESS_EVERY, RESTING_HR_TYPE, SLEEP_SESSION_GAP, SLEEP_TYPE,
    STEP_TYPE, count_once, parse_apple_health,
)
from hub.errors import EditConflict, ValidationError
from hub.records import case_for_write  # the record's scope check: a PCP of the case's practice
from hub.vocab import WEARABLE_SOURCES
from hub.wearable_data import (  # noqa: F401 - re-exported
    DEFAULT_LIMITS, EARLIEST_DAY, INTEGER_METRICS, METRICS, RANGES, Day, Deadline, ImportLimits, ImportReport,
    ParseResult, RowError,
)
from hub.wearables_csv import CSV_ACCEPTED_COLUMNS, CSV_COLUMNS, CSV_FORMAT, parse_csv  # noqa: F401 - re-exported
from db.engine import SessionFactory

# ----------------------------------------------------------------------------- import into the record


def _check_days(days: Sequence[Day]) -> list[str]:
    problems: list[str] = []
    seen: set[date] = set()
    for d in days:
        if not isinstance(d, Day) or not isinstance(d.day, date) or isinstance(d.day, datetime):
            problems.append(f"{d!r} is not a Day with a calendar date")
            continue
        if d.day in seen:
            problems.append(f"{d.day.isoformat()} is given twice")
        seen.add(d.day)
        for metric, value in d.values().items():
            if value is None:
                continue
            lo, hi = RANGES[metric]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
                problems.append(f"{d.day.isoformat()}: {metric} {value!r} is outside {lo:g}-{hi:g}")
            elif metric in INTEGER_METRICS and value != int(value):
                problems.append(f"{d.day.isoformat()}: {metric} {value!r} is not a whole number")
    return problems


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-6)


def import_days(session_factory: SessionFactory, actor: Actor, case_id: int, days: Sequence[Day], source: str, *,
                fields: Iterable[str] = METRICS, skipped_errors: int = 0) -> ImportReport:
    """Upsert days into the case patient's wearable record for one source (a PCP of the case's practice)."""
    if source not in WEARABLE_SOURCES:
        raise ValidationError({"source": f"Unknown wearable source '{source}'; expected one of "
                                         f"{', '.join(WEARABLE_SOURCES)}."})
    fields = tuple(fields)
    if not fields or any(f not in METRICS for f in fields):
        raise ValidationError({"fields": f"Fields must be some of {', '.join(METRICS)}."})
    problems = _check_days(days)
    if problems:
        raise ValidationError({"days": "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)"
                                                                   if len(problems) > 5 else "")})
    # Only covered fields are written: a day with none of them holds nothing to import.
    wanted = sorted((d for d in days if any(d.values(fields)[f] is not None for f in fields)), key=lambda d: d.day)
    try:
        with session_factory.begin() as s:
            case = case_for_write(s, actor, case_id)
            pid = case.patient_id
            existing: dict[date, WearableDay] = {}
            if wanted:
                q = select(WearableDay).where(WearableDay.patient_id == pid, WearableDay.source == source,
                                              WearableDay.day >= wanted[0].day, WearableDay.day <= wanted[-1].day)
                existing = {row.day: row for row in s.scalars(q)}
            added = unchanged = updated = 0
            new_rows: list[dict[str, Any]] = []
            for d in wanted:
                values = d.values(fields)
                row = existing.get(d.day)
                if row is None:
                    new_rows.append({"patient_id": pid, "day": d.day, "source": source, **values})
                    added += 1
                elif all(_same(getattr(row, f), v) for f, v in values.items()):
                    unchanged += 1
                else:
                    for f, v in values.items():
                        setattr(row, f, v)
                    updated += 1
            if new_rows:
                s.execute(insert(WearableDay), new_rows)
            audit.record(s, actor, "wearables.import", "patient", pid,
                         {"case_id": case_id, "source": source, "fields": list(fields), "added": added,
                          "unchanged": unchanged, "updated": updated, "skipped_errors": skipped_errors,
                          "first_day": wanted[0].day if wanted else None,
                          "last_day": wanted[-1].day if wanted else None})
            s.flush()
            flags.recompute_patient(s, pid)
    except IntegrityError:
        raise EditConflict("The patient's wearable data changed during the import (another import at the same "
                           "time?); nothing was written. Run the import again.") from None
    return ImportReport(added, unchanged, updated, skipped_errors)


def check_can_import(session_factory: SessionFactory, actor: Actor, case_id: int) -> None:
    """Raise NotFound / PermissionDenied unless the actor may import into this case's record."""
    with session_factory() as s:
        case_for_write(s, actor, case_id)


def import_file(session_factory: SessionFactory, actor: Actor, case_id: int, path_or_fileobj: Any, kind: str,
                progress: Callable[[int, int | None], None] | None = None, *,
                limits: ImportLimits = DEFAULT_LIMITS) -> tuple[ImportReport, list[RowError]]:
    """Check access, parse a 'csv' or 'apple_health' file, import its good days; returns the report and errors.

    The parse runs within `limits` (size, records, dates, limits.time_limit_s of wall-clock time); a
    file refused as a whole, or one that takes too long, raises ValidationError and writes nothing.
    progress(done, total) is called while reading (bytes; total None when unknown)."""
    if kind not in ("csv", "apple_health"):
        raise ValidationError({"kind": "The file kind is 'csv' or 'apple_health'."})
    check_can_import(session_factory, actor, case_id)  # before a long parse, not only after it
    deadline = Deadline(limits.time_limit_s)
    if kind == "apple_health":
        result = parse_apple_health(path_or_fileobj, progress, limits=limits, deadline=deadline)
    else:
        source = Path(path_or_fileobj) if isinstance(path_or_fileobj, (str, os.PathLike)) else path_or_fileobj
        result = parse_csv(source, limits=limits, deadline=deadline)
        if progress is not None:
            progress(1, 1)
    deadline.check()  # nothing is written after the time is up
    if not result.days:
        return ImportReport(0, 0, 0, result.skipped), result.errors
    report = import_days(session_factory, actor, case_id, result.days, kind, fields=result.fields,
                         skipped_errors=result.skipped)
    return report, result.errors


# ----------------------------------------------------------------------------- reading


def weekly_summary(wearables_df: pd.DataFrame, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Per week (Monday start): mean steps, active minutes and sleep hours over days with data, and days with data.

    `wearables_df` is the timeline's frame (day, steps, active_minutes, sleep_hours, resting_hr,
    source). A day with several sources takes the larger value, as the timeline's daily points do.
    The weeks run from the week of `start` (default: the first day with data) to the week of `end`
    (default: the last day with data); a week without data has NaN means and days_with_data 0.
    """
    columns = ["week_start", "mean_steps", "mean_active_minutes", "mean_sleep_hours", "days_with_data"]
    means = {"steps": "mean_steps", "active_minutes": "mean_active_minutes", "sleep_hours": "mean_sleep_hours"}
    if wearables_df is None or wearables_df.empty:
        daily = pd.DataFrame(columns=list(METRICS), index=pd.DatetimeIndex([], name="day"), dtype="float64")
    else:
        df = pd.DataFrame({"day": pd.to_datetime(wearables_df["day"]).dt.normalize()})
        for m in METRICS:
            df[m] = (pd.to_numeric(wearables_df[m], errors="coerce").astype("float64")
                     if m in wearables_df else float("nan"))
        daily = df.groupby("day")[list(METRICS)].max()
        daily = daily[daily.notna().any(axis=1)]
    lo = pd.Timestamp(start) if start is not None else (daily.index.min() if len(daily) else None)
    hi = pd.Timestamp(end) if end is not None else (daily.index.max() if len(daily) else None)
    if lo is None or hi is None or lo > hi:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith("mean") else "object") for c in columns})
    daily = daily[(daily.index >= lo) & (daily.index <= hi)]
    weeks = pd.date_range(lo - pd.Timedelta(days=lo.weekday()), hi - pd.Timedelta(days=hi.weekday()), freq="7D")
    week_of = daily.index - pd.to_timedelta(daily.index.day_of_week, unit="D")
    grouped = daily.groupby(week_of)
    out = grouped[list(means)].mean().rename(columns=means).reindex(weeks)
    out["days_with_data"] = grouped.size().reindex(weeks, fill_value=0).astype(int)
    out.insert(0, "week_start", [w.date() for w in weeks])
    return out.reset_index(drop=True)[columns]


def wearable_days_in_window(session_or_factory, patient_id: int, start: date, end: date) -> int:
    """Days from start to end (inclusive) on which the patient has any wearable value (no access check)."""
    q = (select(func.count(distinct(WearableDay.day)))
         .where(WearableDay.patient_id == patient_id, WearableDay.day >= start, WearableDay.day <= end,
                or_(*(getattr(WearableDay, m).is_not(None) for m in METRICS))))
    if isinstance(session_or_factory, Session):
        return int(session_or_factory.scalar(q) or 0)
    with session_or_factory() as s:
        return int(s.scalar(q) or 0)
