"""Wearable data import: a generic daily CSV and the Apple Health export, parsed into one `Day` per
calendar day and upserted into WearableDay rows of the case's patient.

A missing value is a gap (NULL), never zero: an empty cell, a day without records, or a value that
failed validation all leave the field empty. Parsing never touches the database; `import_days`
writes in one transaction with the audit event and the flag recompute.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import zipfile
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET

import pandas as pd
from sqlalchemy import distinct, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import WearableDay
from hub import audit, flags
from hub.access import Actor
from hub.errors import EditConflict, ValidationError
from hub.records import _case_for_write  # the record's scope check: a PCP of the case's practice
from hub.vocab import WEARABLE_SOURCES

# The daily metrics stored per day, and their valid ranges (the same as the wearable_day CHECKs).
METRICS: tuple[str, ...] = ("steps", "active_minutes", "sleep_hours", "resting_hr")
RANGES: dict[str, tuple[float, float]] = {
    "steps": (0, 200_000), "active_minutes": (0, 1440), "sleep_hours": (0, 24), "resting_hr": (20, 250),
}
INTEGER_METRICS = frozenset({"steps", "active_minutes", "resting_hr"})

# ----------------------------------------------------------------------------- generic CSV format

CSV_COLUMNS: tuple[str, ...] = ("date", "steps", "active_minutes", "sleep_hours", "resting_hr")
# sleep_minutes may replace sleep_hours (converted to hours); no other column is read.
CSV_ACCEPTED_COLUMNS: tuple[str, ...] = CSV_COLUMNS + ("sleep_minutes",)

CSV_FORMAT = """\
Generic wearable CSV: one row per day, comma-separated, UTF-8 (an Excel byte-order mark is fine).

The first line is the header. `date` is required; the other columns are optional and in any order:

    date,steps,active_minutes,sleep_hours,resting_hr
    2024-03-01,8120,34,7.5,61
    2024-03-02,,12,,63

* date            ISO date YYYY-MM-DD, each day at most once, not in the future
* steps           whole number of steps that day, 0-200000
* active_minutes  minutes of activity / exercise that day, 0-1440 (decimals are rounded)
* sleep_hours     hours asleep in the night ending that day, 0-24 -- or instead
  sleep_minutes   minutes asleep, 0-1440 (converted to hours)
* resting_hr      resting heart rate in beats per minute, 20-250 (decimals are rounded)

An empty cell (or NA, N/A, -) means no data that day: it is stored as a gap, never as zero. A column
that is not in the header is left as it was for days already imported. A header naming a unit, such
as `sleep (min)` or `steps (km)`, is rejected: rename the column to one of the names above. Rows with
a problem are listed with their line number and skipped; the other rows are imported.
"""

_EMPTY_CELLS = frozenset({"", "na", "n/a", "-", "null", "none"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNIT_HEADER = re.compile(r"(?P<name>[^(\[]*?)_?[(\[](?P<unit>[^)\]]*)[)\]]_?")
_EXPECTED = {
    "steps": "a whole number of steps from 0 to 200000",
    "active_minutes": "minutes from 0 to 1440",
    "sleep_hours": "hours from 0 to 24",
    "sleep_minutes": "minutes from 0 to 1440",
    "resting_hr": "beats per minute from 20 to 250",
}
# Days after today (server time) are refused; one day of slack for patients in timezones ahead.
_FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Day:
    """One calendar day of wearable data; None is a gap (no data), never zero."""

    day: date
    steps: int | None = None
    active_minutes: int | None = None
    sleep_hours: float | None = None
    resting_hr: int | None = None

    def values(self, fields: Iterable[str] = METRICS) -> dict[str, Any]:
        """The metric values of the day, by field name."""
        return {f: getattr(self, f) for f in fields}

    @property
    def has_data(self) -> bool:
        """True if any metric has a value."""
        return any(v is not None for v in self.values().values())


@dataclass(frozen=True)
class RowError:
    """A row (CSV line) or a group of records (Apple Health) that was not imported, and why.

    `line` is the file line number (None when the error is not tied to one line); `count` is how
    many rows or records the error stands for.
    """

    line: int | None
    message: str
    count: int = 1

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass
class ParseResult:
    """Parsed days (good rows), the errors of the rows left out, and the metrics the file covers."""

    days: list[Day] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    fields: tuple[str, ...] = METRICS

    @property
    def skipped(self) -> int:
        """Rows or records left out because of an error."""
        return sum(e.count for e in self.errors)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: days added, days already identical, days changed, rows/records skipped."""

    added: int
    unchanged: int
    updated: int
    skipped_errors: int


def _read_text(source: Any) -> str:
    """The text of a CSV given as text, bytes, a pathlib path or a (text or binary) file object."""
    if isinstance(source, os.PathLike):
        with open(source, "rb") as f:
            return _read_text(f)
    data = source.read() if hasattr(source, "read") else source
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")  # Excel on Windows; the cells are digits anyway
    if not isinstance(data, str):
        raise TypeError("parse_csv needs text, bytes or a file object")
    return data.lstrip("\ufeff")


def _header_errors(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index by accepted name, and the problems of the header."""
    problems: list[str] = []
    columns: dict[str, int] = {}
    if header and _ISO_DATE.fullmatch(header[0].strip()):
        return columns, [f"the first line is data, not the header; add the header line "
                         f"{','.join(CSV_COLUMNS)} (or the columns you have) at the top"]
    accepted = ", ".join(CSV_COLUMNS) + " (or sleep_minutes instead of sleep_hours)"
    for idx, raw in enumerate(header):
        name = re.sub(r"[\s\-]+", "_", raw.strip().lower())
        unit = _UNIT_HEADER.fullmatch(name)
        if unit:
            base = unit["name"].strip("_")
            if base.startswith("sleep"):
                hint = ("name it 'sleep_hours' with hours asleep, or 'sleep_minutes' with minutes asleep "
                        "(no unit in the name)")
            elif base.startswith("step"):
                hint = "name it 'steps' with the number of steps (a distance cannot be turned into steps)"
            elif base.startswith(("active", "exercise")):
                hint = "name it 'active_minutes' with the minutes of activity"
            elif "hr" in base or "heart" in base or "pulse" in base:
                hint = "name it 'resting_hr' with the resting heart rate in beats per minute"
            else:
                hint = f"the columns read are {accepted}"
            problems.append(f"column '{raw.strip()}' has a unit ('{unit['unit'].strip()}') that is not read; {hint}.")
            continue
        if not name:
            problems.append(f"column {idx + 1} of the header is empty; every column needs a name ({accepted}).")
        elif name not in CSV_ACCEPTED_COLUMNS:
            problems.append(f"column '{raw.strip()}' is not one that is read; the columns are {accepted}.")
        elif name in columns:
            problems.append(f"column '{name}' appears twice in the header.")
        else:
            columns[name] = idx
    if "date" not in columns:
        problems.append(f"the header has no 'date' column; the first line must name the columns, e.g. "
                        f"{','.join(CSV_COLUMNS)}")
    if not problems:
        if "sleep_hours" in columns and "sleep_minutes" in columns:
            problems.append("give sleep once: either 'sleep_hours' or 'sleep_minutes', not both.")
        if len(columns) == 1 and "date" in columns:
            problems.append(f"the header has no data column; add at least one of {accepted}.")
    return columns, problems


def _parse_value(name: str, raw: str) -> tuple[float | int | None, str | None]:
    """A CSV cell as the stored value (sleep_minutes converted to hours), or the problem with it."""
    text = raw.strip()
    if text.lower() in _EMPTY_CELLS:
        return None, None
    expected = _EXPECTED[name]
    if not _NUMBER.fullmatch(text):
        return None, f"{name} '{text}' is not a number; expected {expected}"
    x = float(text)
    if x < 0:
        return None, f"{name} {text} is negative; expected {expected}"
    if name == "steps" and x != int(x):
        return None, f"{name} {text} is not a whole number; expected {expected}"
    lo, hi = (0, 1440) if name == "sleep_minutes" else RANGES[name]
    if not (lo <= x <= hi):
        return None, f"{name} {text} is out of range; expected {expected}"
    if name == "sleep_minutes":
        return round(x / 60, 2), None
    value: float | int = int(round(x)) if name in INTEGER_METRICS else round(x, 2)
    return value, None


def _parse_date(raw: str, today: date) -> tuple[date | None, str | None]:
    text = raw.strip()
    if not text:
        return None, "date is missing; expected a date in the form YYYY-MM-DD (e.g. 2024-03-02)"
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        d = date.fromisoformat(text)
    except ValueError:
        return None, f"date '{text}' is not a date in the form YYYY-MM-DD (e.g. 2024-03-02)"
    if d > today + _FUTURE_SLACK:
        return None, f"date {text} is in the future; expected a day that has already happened"
    return d, None


def parse_csv(fileobj_or_text: Any) -> ParseResult:
    """Parse the generic daily CSV (see CSV_FORMAT): good rows become Days, each bad row one RowError.

    A str is the CSV text itself (pass a pathlib.Path or an open file to read a file).
    """
    text = _read_text(fileobj_or_text)
    today = date.today()
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    for row in reader:
        if any(c.strip() for c in row):
            header, header_line = row, reader.line_num
            break
    if header is None:
        return ParseResult([], [RowError(1, f"the file is empty; the first line must be the header, e.g. "
                                            f"{','.join(CSV_COLUMNS)}")])
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons" if ";" in header[0] else "tabs"
        return ParseResult([], [RowError(header_line, f"the columns are separated by {sep}; save the file as "
                                                      f"comma-separated CSV with the header {','.join(CSV_COLUMNS)}")])
    columns, problems = _header_errors(header)
    if problems:
        return ParseResult([], [RowError(header_line, p) for p in problems])
    metric_columns = {name: idx for name, idx in columns.items() if name != "date"}
    fields = tuple(m for m in METRICS
                   if m in metric_columns or (m == "sleep_hours" and "sleep_minutes" in metric_columns))
    days: list[Day] = []
    errors: list[RowError] = []
    seen: dict[date, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            errors.append(RowError(line, f"the row has {len(row)} values but the header has {len(header)} "
                                         f"columns; check for a stray comma (decimals use a point: 7.5)"))
            continue
        cells = row + [""] * (len(header) - len(row))
        row_problems: list[str] = []
        d, problem = _parse_date(cells[columns["date"]], today)
        if problem:
            row_problems.append(problem)
        elif d in seen:
            row_problems.append(f"date {d.isoformat()} already appears on line {seen[d]}; each day may appear "
                                f"only once")
        else:
            seen[d] = line
        values: dict[str, Any] = {}
        for name, idx in metric_columns.items():
            value, problem = _parse_value(name, cells[idx])
            if problem:
                row_problems.append(problem)
            elif value is not None:
                values["sleep_hours" if name == "sleep_minutes" else name] = value
        if row_problems:
            errors.append(RowError(line, "; ".join(row_problems) + "."))
            continue
        if values:  # a dated row with only empty cells is a day without data: nothing to store
            days.append(Day(day=d, **values))
    return ParseResult(days, errors, fields)


# ----------------------------------------------------------------------------- Apple Health export

STEP_TYPE = "HKQuantityTypeIdentifierStepCount"
EXERCISE_TYPE = "HKQuantityTypeIdentifierAppleExerciseTime"
RESTING_HR_TYPE = "HKQuantityTypeIdentifierRestingHeartRate"
SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
# Quantity types read: type -> (metric, the one unit accepted, how values of a day combine).
APPLE_QUANTITIES: dict[str, tuple[str, str, str]] = {
    STEP_TYPE: ("steps", "count", "sum"),
    EXERCISE_TYPE: ("active_minutes", "min", "sum"),
    RESTING_HR_TYPE: ("resting_hr", "count/min", "mean"),
}
# Asleep values: AsleepUnspecified/Core/Deep/REM (iOS 16+) and Asleep (older); InBed and Awake are not sleep.
ASLEEP_PREFIX = "HKCategoryValueSleepAnalysisAsleep"
# Asleep intervals closer than this belong to one sleep, counted on the day that sleep ends.
SLEEP_SESSION_GAP = timedelta(hours=2)
PROGRESS_EVERY = 1 << 20  # report progress about every 1 MB read
_READ_CHUNK = 1 << 16
_HEAD_LIMIT = 1 << 22  # look for the DOCTYPE in the first 4 MB only
_LABELS = {STEP_TYPE: "step", EXERCISE_TYPE: "exercise-time", RESTING_HR_TYPE: "resting heart rate",
           SLEEP_TYPE: "sleep"}
# Control characters XML 1.0 forbids; some exports contain them (e.g. \x0b in device names).
_BAD_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_DOCTYPE_OPENING = re.compile(rb"[\[>]")
_DOCTYPE_SUBSET_END = re.compile(rb"\]\s*>")
_ELEMENT_START = re.compile(rb"<[A-Za-z]")
_EPOCH = datetime(1970, 1, 1)


class _ExportStream:
    """Binary reader between the file and iterparse: counts bytes read for progress, drops the
    DOCTYPE internal subset (malformed in exports since iOS 16, and never needed) keeping line
    numbers, and deletes control characters that XML forbids."""

    def __init__(self, raw: IO, total: int | None, progress: Callable[[int, int | None], None] | None):
        self.raw, self.total, self.progress = raw, total, progress
        self.bytes_read = 0
        self._next_report = PROGRESS_EVERY
        self._head_done = False

    def _raw_read(self, n: int) -> bytes:
        data = self.raw.read(n)
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.bytes_read += len(data)
        if self.progress is not None and self.bytes_read >= self._next_report:
            self.progress(self.bytes_read, self.total)
            self._next_report = self.bytes_read + PROGRESS_EVERY
        return data

    def _head(self) -> bytes:
        buf = b""
        while True:
            chunk = self._raw_read(_READ_CHUNK)
            buf += chunk
            start = buf.find(b"<!DOCTYPE")
            if start >= 0:
                opening = _DOCTYPE_OPENING.search(buf, start)
                if opening is not None and opening.group() == b">":
                    return buf  # a DOCTYPE without an internal subset is harmless
                end = _DOCTYPE_SUBSET_END.search(buf, opening.end()) if opening is not None else None
                if end is not None:
                    removed = buf[start:end.end()]
                    return buf[:start] + b"\n" * removed.count(b"\n") + buf[end.end():]
            elif _ELEMENT_START.search(buf):
                return buf  # the first element started: there is no DOCTYPE
            if not chunk or len(buf) > _HEAD_LIMIT:
                return buf

    def read(self, n: int = -1) -> bytes:
        """Up to about n cleaned bytes; b'' only at the end of the file."""
        n = n if n and n > 0 else _READ_CHUNK
        while True:
            if not self._head_done:
                self._head_done = True
                data = self._head()
                eof = not data
            else:
                data = self._raw_read(n)
                eof = not data
            cleaned = data.translate(None, _BAD_CONTROL_BYTES)
            if cleaned or eof:
                return cleaned


def _stream_size(f: IO) -> int | None:
    try:
        return os.fstat(f.fileno()).st_size - f.tell()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    try:
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _open_apple_export(source: Any) -> tuple[IO, int | None, list[IO]]:
    """The export.xml stream (from a path, a file object, or the export.zip the Health app writes),
    its size when known, and the handles this function opened (to close)."""
    opened: list[IO] = []
    f = source
    if isinstance(source, (str, os.PathLike)):
        f = open(source, "rb")  # noqa: SIM115 - closed by the caller through `opened`
        opened.append(f)
    elif isinstance(source, (bytes, bytearray)):
        f = io.BytesIO(source)
    try:
        seekable = f.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        return f, _stream_size(f), opened
    here = f.tell()
    magic = f.read(4)
    f.seek(here)
    if magic != b"PK\x03\x04":
        return f, _stream_size(f), opened
    try:
        zf = zipfile.ZipFile(f)
        opened.append(zf)
        members = [i for i in zf.infolist()
                   if i.filename.replace("\\", "/").rsplit("/", 1)[-1].lower() == "export.xml"]
        if not members:
            raise ValidationError({"file": "The zip file holds no export.xml; upload the export.zip the Health "
                                           "app created, or the export.xml inside it."})
        member = zf.open(members[0])
    except zipfile.BadZipFile:
        for h in reversed(opened):
            h.close()
        raise ValidationError({"file": "The zip file is damaged; export again from the Health app."}) from None
    except BaseException:
        for h in reversed(opened):
            h.close()
        raise
    opened.append(member)
    return member, members[0].file_size, opened


# One source's records of one metric on one day: (starts, ends) in seconds since 1970 (wall clock as
# written) and values, as compact arrays.
_SourceDay = tuple[array, array, array]


def _count_once(day: Mapping[int, _SourceDay], source_order: Mapping[int, float]) -> float:
    """One day's total of a metric, counting time recorded by several sources once.

    The Health app does the same with its source priority: an iPhone in the pocket and an Apple Watch
    on the wrist both count one walk. Sources are taken in `source_order` (lowest first: the source
    with the largest total over the whole export, i.e. the device worn most). A record counts in full
    where no source taken before it recorded the same time, and in proportion to the part of its
    interval that is not covered where one did; an instantaneous record counts unless it falls in
    covered time. Records of one source never cancel each other."""
    total = 0.0
    cover_start: list[int] = []  # disjoint, sorted intervals recorded by the sources taken so far
    cover_end: list[int] = []
    for src in sorted(day, key=lambda k: (source_order[k], k)):
        starts, ends, values = day[src]
        for s, e, v in zip(starts, ends, values):
            j = bisect_right(cover_end, s)  # the first covered interval that ends after s
            if e > s:
                overlap = 0
                while j < len(cover_start) and cover_start[j] < e:
                    overlap += min(e, cover_end[j]) - max(s, cover_start[j])
                    j += 1
                total += v * (1 - overlap / (e - s))
            elif not (j < len(cover_start) and cover_start[j] <= s):
                total += v
        merged: list[list[int]] = []
        for s, e in sorted([*zip(cover_start, cover_end), *((s, e) for s, e in zip(starts, ends) if e > s)]):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        cover_start = [s for s, _ in merged]
        cover_end = [e for _, e in merged]
    return total


class _AppleAggregator:
    """Per-day totals of the records read, and counts of records rejected (per type and reason)."""

    def __init__(self) -> None:
        # Steps and exercise minutes: every record kept (compactly) until the end, because an iPhone and
        # an Apple Watch both count the same walk; time counted by one source is counted once (_count_once).
        self.counted: dict[str, defaultdict[str, dict[int, _SourceDay]]] = {
            metric: defaultdict(dict) for metric, _unit, how in APPLE_QUANTITIES.values() if how == "sum"}
        self.source_totals: dict[str, defaultdict[int, float]] = {m: defaultdict(float) for m in self.counted}
        self.source_ids: dict[str, int] = {}
        # Resting heart rate: the mean of the day's records, whatever their source.
        self.sums: dict[str, defaultdict[str, float]] = {"resting_hr": defaultdict(float)}
        self.hr_counts: defaultdict[str, int] = defaultdict(int)
        # Asleep intervals as wall-clock seconds since 1970 (compact: millions fit in a few MB).
        self.sleep_start = array("q")
        self.sleep_end = array("q")
        self.bad_units: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.bad_values: defaultdict[str, int] = defaultdict(int)
        self.bad_dates: defaultdict[str, int] = defaultdict(int)

    def add(self, a: dict[str, str]) -> None:
        """Take one top-level <Record>'s attributes into the totals."""
        kind = a.get("type")
        spec = APPLE_QUANTITIES.get(kind)  # type: ignore[arg-type]
        if spec is not None:
            metric, unit, _how = spec
            if a.get("unit") != unit:
                self.bad_units[(kind, a.get("unit") or "")] += 1
                return
            try:
                value = float(a.get("value", ""))
            except ValueError:
                self.bad_values[kind] += 1
                return
            if not math.isfinite(value) or value < 0:
                self.bad_values[kind] += 1
                return
            key = (a.get("startDate") or "")[:10]
            if metric == "resting_hr":
                self.sums[metric][key] += value
                self.hr_counts[key] += 1
                return
            span = self._interval(kind, a)
            if span is None:
                return
            src = self.source_ids.setdefault(a.get("sourceName") or "", len(self.source_ids))
            per_source = self.counted[metric][key]
            if src not in per_source:
                per_source[src] = (array("q"), array("q"), array("d"))
            starts, ends, values = per_source[src]
            starts.append(span[0])
            ends.append(span[1])
            values.append(value)
            self.source_totals[metric][src] += value
        elif kind == SLEEP_TYPE:
            if not (a.get("value") or "").startswith(ASLEEP_PREFIX):
                return
            span = self._interval(kind, a)
            if span is not None:
                self.sleep_start.append(span[0])
                self.sleep_end.append(span[1])

    def _interval(self, kind: str, a: dict[str, str]) -> tuple[int, int] | None:
        """A record's start and end as wall-clock seconds since 1970, or None (counted as rejected)."""
        try:
            start = datetime.fromisoformat((a.get("startDate") or "")[:19])
            end = datetime.fromisoformat((a.get("endDate") or "")[:19])
        except ValueError:
            self.bad_dates[kind] += 1
            return None
        if end < start:
            self.bad_values[kind] += 1
            return None
        second = timedelta(seconds=1)
        return (start - _EPOCH) // second, (end - _EPOCH) // second

    def _sleep_by_day(self) -> dict[date, float]:
        """Seconds asleep per day: overlapping intervals (several sources) count once, and each sleep
        (asleep intervals less than SLEEP_SESSION_GAP apart) counts on the day it ends."""
        gap = SLEEP_SESSION_GAP // timedelta(seconds=1)
        totals: defaultdict[date, float] = defaultdict(float)
        order = sorted(range(len(self.sleep_start)), key=self.sleep_start.__getitem__)
        sessions: list[tuple[int, int]] = []  # (end, seconds asleep) of each sleep
        for i in order:
            s, e = self.sleep_start[i], self.sleep_end[i]
            if sessions and s <= sessions[-1][0] + gap:
                end, asleep = sessions[-1]
                sessions[-1] = (max(end, e), asleep + max(0, e - max(s, end)))
            else:
                sessions.append((e, e - s))
        for end, asleep in sessions:
            if asleep > 0:
                totals[(_EPOCH + timedelta(seconds=end)).date()] += asleep
        return totals

    def result(self) -> ParseResult:
        """The days and the errors, once every record has been read."""
        errors: list[RowError] = []
        per_day: defaultdict[date, dict[str, Any]] = defaultdict(dict)
        bad_day_keys: defaultdict[str, int] = defaultdict(int)
        today = date.today()

        def day_of(key: str, kind: str) -> date | None:
            try:
                if not _ISO_DATE.fullmatch(key):
                    raise ValueError
                return date.fromisoformat(key)
            except ValueError:
                bad_day_keys[kind] += 1
                return None

        for kind, (metric, _unit, how) in APPLE_QUANTITIES.items():
            if how == "mean":
                totals = {key: total / self.hr_counts[key] for key, total in self.sums[metric].items()}
            else:
                order = {src: -t for src, t in self.source_totals[metric].items()}  # largest total first
                totals = {key: _count_once(day, order) for key, day in self.counted[metric].items()}
            for key, value in totals.items():
                d = day_of(key, kind)
                if d is not None:
                    per_day[d][metric] = int(round(value))
        for d, seconds in self._sleep_by_day().items():
            per_day[d]["sleep_hours"] = round(seconds / 3600, 2)

        days: list[Day] = []
        for d in sorted(per_day):
            values = per_day[d]
            if d > today + _FUTURE_SLACK:
                errors.append(RowError(None, f"{d.isoformat()}: this day is in the future (the phone's clock "
                                             f"may be wrong); its data was not imported."))
                continue
            for metric in list(values):
                lo, hi = RANGES[metric]
                if not (lo <= values[metric] <= hi):
                    errors.append(RowError(None, f"{d.isoformat()}: {metric} adds up to {values[metric]:g}, "
                                                 f"outside {lo:g}-{hi:g}; that value was not imported."))
                    del values[metric]
            if values:
                days.append(Day(day=d, **values))

        for (kind, unit), n in sorted(self.bad_units.items()):
            metric, expected, _how = APPLE_QUANTITIES[kind]
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) ({kind}) use the unit '{unit}', which is "
                                         f"not read; expected '{expected}'. They were not imported.", n))
        for kind, n in sorted(self.bad_values.items()):
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) ({kind}) have a value that is not a "
                                         f"valid number or time span; they were not imported.", n))
        bad_dates = defaultdict(int, self.bad_dates)
        for kind, n in bad_day_keys.items():
            bad_dates[kind] += n
        for kind, n in sorted(bad_dates.items()):
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) or day(s) ({kind}) have a date that is "
                                         f"not in the form 'YYYY-MM-DD hh:mm:ss +zzzz'; they were not imported.", n))
        return ParseResult(days, errors, METRICS)


def parse_apple_health(fileobj: Any, progress: Callable[[int, int | None], None] | None = None) -> ParseResult:
    """Stream an Apple Health export.xml or export.zip (path, bytes or binary file) into one Day per local day.

    Read with iterparse, clearing each element as it completes, so memory stays flat for exports of
    hundreds of MB. Per day (the local date as written in the record): steps summed (unit "count"),
    exercise minutes summed ("min") -- time recorded by several sources (phone and watch) counted once,
    see _count_once --, resting heart rate averaged ("count/min"), and hours asleep --
    the Asleep* sleep-analysis values, not InBed or Awake; time recorded by several sources counts
    once; each sleep (asleep intervals less than SLEEP_SESSION_GAP apart) counts on the day it ends.
    Records with another unit are left out, with one RowError per type and unit. A file that is not
    well-formed XML gives no days at all (partial totals would be wrong). progress(bytes_read,
    total_bytes or None) is called about every MB and once at the end.
    """
    raw, total, opened = _open_apple_export(fileobj)
    stream = _ExportStream(raw, total, progress)
    agg = _AppleAggregator()
    try:
        depth = 0
        root: ET.Element | None = None
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = elem
                    if elem.tag != "HealthData":
                        return ParseResult([], [RowError(None, f"This is not an Apple Health export.xml (it starts "
                                                               f"with <{elem.tag}>, not <HealthData>). In the Health "
                                                               f"app choose Profile > Export All Health Data and "
                                                               f"upload export.zip or the export.xml inside it.")])
                continue
            depth -= 1
            if depth == 1:
                # A direct child of <HealthData> is complete. Records nested in a Correlation repeat
                # top-level ones and are skipped. Clearing the root keeps memory flat.
                if elem.tag == "Record":
                    agg.add(elem.attrib)
                root.clear()  # type: ignore[union-attr]
    except ET.ParseError as exc:
        line = exc.position[0]
        return ParseResult([], [RowError(line, f"the file is not valid XML ({exc}), so nothing was imported. "
                                               f"Export again from the Health app and upload the new file.")])
    finally:
        for f in reversed(opened):
            f.close()
    if progress is not None:
        progress(stream.bytes_read, total if total is not None else stream.bytes_read)
    return agg.result()


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


def import_days(session_factory, actor: Actor, case_id: int, days: Sequence[Day], source: str, *,
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
            case = _case_for_write(s, actor, case_id)
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


def check_can_import(session_factory, actor: Actor, case_id: int) -> None:
    """Raise NotFound / PermissionDenied unless the actor may import into this case's record."""
    with session_factory() as s:
        _case_for_write(s, actor, case_id)


def import_file(session_factory, actor: Actor, case_id: int, path_or_fileobj: Any, kind: str,
                progress: Callable[[int, int | None], None] | None = None) -> tuple[ImportReport, list[RowError]]:
    """Check access, parse a 'csv' or 'apple_health' file, import its good days; returns the report and errors."""
    if kind not in ("csv", "apple_health"):
        raise ValidationError({"kind": "The file kind is 'csv' or 'apple_health'."})
    check_can_import(session_factory, actor, case_id)  # before a long parse, not only after it
    if kind == "apple_health":
        result = parse_apple_health(path_or_fileobj, progress)
    elif isinstance(path_or_fileobj, (str, os.PathLike)):
        result = parse_csv(Path(path_or_fileobj))
    else:
        result = parse_csv(path_or_fileobj)
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
