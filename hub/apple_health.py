"""The Apple Health export (export.xml, or the export.zip the Health app writes), parsed as a bounded
stream into one Day per local day.

Bounds (hub.wearable_data.ImportLimits): the unzipped size, declared and actual, the compression
ratio, the number of records, the records of one day and the wall-clock time; a file past any of
them, a damaged zip or stream and a file that is not well-formed XML are refused as a whole (nothing
is imported). Records dated before 2000 or in the future are left out and counted.
"""

from __future__ import annotations

import heapq
import io
import math
import os
import re
import zipfile
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import IO, Any
from xml.etree import ElementTree as ET

from hub.errors import ValidationError
from hub.wearable_data import (
    DEFAULT_LIMITS, EARLIEST_DAY, FUTURE_SLACK, METRICS, RANGES, Day, Deadline, ImportLimits, ParseResult, RowError,
    refuse,
)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
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

    def __init__(self, raw: IO, total: int | None, progress: Callable[[int, int | None], None] | None,
                 limits: ImportLimits = DEFAULT_LIMITS, deadline: Deadline | None = None):
        self.raw, self.total, self.progress = raw, total, progress
        self.limits, self.deadline = limits, deadline or Deadline(None)
        self.bytes_read = 0
        self._next_report = PROGRESS_EVERY
        self._head_done = False

    def _raw_read(self, n: int) -> bytes:
        data = self.raw.read(n)
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.bytes_read += len(data)
        if self.bytes_read > self.limits.max_xml_bytes:
            raise refuse(_too_large(self.limits))
        self.deadline.check()
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


def _too_large(limits: ImportLimits) -> str:
    return (f"The Apple Health export.xml is larger than {limits.max_xml_bytes / 2**20:.4g} MB once unzipped, "
            f"more than any real export of a few years needs (or the zip is not a Health export); "
            f"nothing was imported.")


def _open_apple_export(source: Any, limits: ImportLimits = DEFAULT_LIMITS
                       ) -> tuple[IO, int | None, list[IO | zipfile.ZipFile]]:
    """The export.xml stream (from a path, a file object, or the export.zip the Health app writes),
    its size when known, and the handles this function opened (to close)."""
    opened: list[IO | zipfile.ZipFile] = []
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
        info = members[0]
        if info.file_size > limits.max_xml_bytes:
            raise refuse(_too_large(limits))
        if info.file_size > max(1 << 20, limits.max_zip_ratio * max(info.compress_size, 1)):
            raise refuse(f"The zip file expands {info.file_size // max(info.compress_size, 1):,} times, far more "
                         f"than a Health export does; it was not opened and nothing was imported.")
        member = zf.open(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        for h in reversed(opened):
            h.close()
        raise refuse(f"The zip file is damaged or cannot be opened ({_reason(exc)}); export again from the Health "
                     f"app and upload the new export.zip.") from None
    except BaseException:
        for h in reversed(opened):
            h.close()
        raise
    opened.append(member)
    return member, info.file_size, opened


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in text)[:120]


# One source's records of one metric on one day: (starts, ends) in seconds since 1970 (wall clock as
# written) and values, as compact arrays.
_SourceDay = tuple[array, array, array]


def count_once(day: Mapping[int, _SourceDay], source_order: Mapping[int, float]) -> float:
    """One day's total of a metric, counting time recorded by several sources once.

    The Health app does the same with its source priority: an iPhone in the pocket and an Apple Watch
    on the wrist both count one walk. Sources are taken in `source_order` (lowest first: the source
    with the largest total over the whole export, i.e. the device worn most). A record counts in full
    where no source taken before it recorded the same time, and in proportion to the part of its
    interval that is not covered where one did; an instantaneous record counts unless it falls in
    covered time. Records of one source never cancel each other.

    One sorted pass, O(n log n) for n records whatever their number of sources or overlaps: the day
    is cut at every record boundary into elementary segments, each tagged with the best (lowest)
    rank of the sources covering it; a record of rank p is covered where that rank is below p. The
    covered length of each record is then a range sum over the segments of rank < p, answered with
    a Fenwick tree while segments are added in rank order."""
    ranked = sorted(day, key=lambda k: (source_order[k], k))
    if len(ranked) == 1:
        return float(sum(day[ranked[0]][2]))
    intervals: list[tuple[int, int, int]] = []  # (start, end, rank) of records with a duration
    for rank, src in enumerate(ranked):
        starts, ends, _values = day[src]
        intervals.extend((s, e, rank) for s, e in zip(starts, ends) if e > s)
    intervals.sort()
    coords = sorted({t for s, e, _r in intervals for t in (s, e)})
    n_seg = max(len(coords) - 1, 0)
    seg_rank = [len(ranked)] * n_seg  # best rank covering each segment; len(ranked) = uncovered
    active: list[tuple[int, int]] = []  # heap of (rank, end) of the intervals open at a segment
    k = 0
    for i in range(n_seg):
        t = coords[i]
        while k < len(intervals) and intervals[k][0] <= t:
            heapq.heappush(active, (intervals[k][2], intervals[k][1]))
            k += 1
        while active and active[0][1] <= t:
            heapq.heappop(active)
        if active:
            seg_rank[i] = active[0][0]
    by_rank: defaultdict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(seg_rank):
        by_rank[r].append(i)
    tree = [0] * (n_seg + 1)  # Fenwick tree of covered segment lengths, by segment index

    def add(i: int, length: int) -> None:
        i += 1
        while i <= n_seg:
            tree[i] += length
            i += i & -i

    def prefix(i: int) -> int:  # sum of segments [0, i)
        total = 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    total = 0.0
    for rank, src in enumerate(ranked):
        for i in by_rank.get(rank - 1, ()):  # segments whose best rank is below `rank` are now all added
            add(i, coords[i + 1] - coords[i])
        starts, ends, values = day[src]
        for s, e, v in zip(starts, ends, values):
            if e > s:
                overlap = prefix(bisect_left(coords, e)) - prefix(bisect_left(coords, s))
                total += v * (1 - overlap / (e - s))
            else:
                i = bisect_right(coords, s) - 1
                if not (0 <= i < n_seg and seg_rank[i] < rank):
                    total += v
    return total


class _AppleAggregator:
    """Per-day totals of the records read, and counts of records rejected (per type and reason)."""

    def __init__(self, limits: ImportLimits = DEFAULT_LIMITS, today: date | None = None) -> None:
        self.limits = limits
        today = today or date.today()
        # Record days (the 'YYYY-MM-DD' the record starts on) outside this range are left out and counted;
        # ISO dates compare as strings.
        self.first_key, self.last_key = EARLIEST_DAY.isoformat(), (today + FUTURE_SLACK).isoformat()
        self.records = 0
        self.per_day: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.too_early: defaultdict[str, int] = defaultdict(int)
        self.in_future: defaultdict[str, int] = defaultdict(int)
        # Steps and exercise minutes: every record kept (compactly) until the end, because an iPhone and
        # an Apple Watch both count the same walk; time counted by one source is counted once (count_once).
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
        self.records += 1
        if self.records > self.limits.max_records:
            raise refuse(f"The export holds more than {self.limits.max_records:,} records, more than this hub "
                         f"imports at once; export a shorter period (Health app: choose the dates) and import "
                         f"the parts. Nothing was imported.")
        kind = a.get("type") or ""
        spec = APPLE_QUANTITIES.get(kind)
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
            if not self._plausible(kind, key):
                return
            if metric == "resting_hr":
                self.sums[metric][key] += value
                self.hr_counts[key] += 1
                return
            span = self._interval(kind, a)
            if span is None:
                return
            src = self.source_ids.setdefault(a.get("sourceName") or "", len(self.source_ids))
            self.per_day[(metric, key)] += 1
            if self.per_day[(metric, key)] > self.limits.max_records_per_day:
                raise refuse(f"The export holds more than {self.limits.max_records_per_day:,} {_LABELS[kind]} "
                             f"records on {key}, far more than any device writes in a day; the file looks "
                             f"damaged or generated. Nothing was imported.")
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
            if not self._plausible(kind, (a.get("startDate") or "")[:10]):
                return
            span = self._interval(kind, a)
            if span is not None:
                self.sleep_start.append(span[0])
                self.sleep_end.append(span[1])

    def _plausible(self, kind: str, key: str) -> bool:
        """False (and counted) for a record dated before EARLIEST_DAY or after tomorrow."""
        if _ISO_DATE.fullmatch(key):
            if key < self.first_key:
                self.too_early[kind] += 1
                return False
            if key > self.last_key:
                self.in_future[kind] += 1
                return False
        return True  # a malformed date is counted where it is parsed

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

    def result(self, deadline: Deadline | None = None) -> ParseResult:
        """The days and the errors, once every record has been read."""
        deadline = deadline or Deadline(None)
        errors: list[RowError] = []
        per_day: defaultdict[date, dict[str, Any]] = defaultdict(dict)
        bad_day_keys: defaultdict[str, int] = defaultdict(int)

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
                totals = {}
                for key, day in self.counted[metric].items():
                    totals[key] = count_once(day, order)
                    deadline.check()
            for key, value in totals.items():
                d = day_of(key, kind)
                if d is not None:
                    per_day[d][metric] = int(round(value))
        for d, seconds in self._sleep_by_day().items():
            per_day[d]["sleep_hours"] = round(seconds / 3600, 2)

        days: list[Day] = []
        first, last = date.fromisoformat(self.first_key), date.fromisoformat(self.last_key)
        for d in sorted(per_day):
            values = per_day[d]
            if not first <= d <= last:  # a sleep that ends outside the range
                (self.too_early if d < first else self.in_future)[SLEEP_TYPE] += 1
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
        for kind, n in sorted(self.too_early.items()):
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) ({kind}) are dated before "
                                         f"{self.first_key}; the device's clock was probably wrong. They were not "
                                         f"imported.", n))
        for kind, n in sorted(self.in_future.items()):
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) ({kind}) are dated after {self.last_key}, "
                                         f"in the future (the phone's clock may be wrong); they were not imported.", n))
        bad_dates = defaultdict(int, self.bad_dates)
        for kind, n in bad_day_keys.items():
            bad_dates[kind] += n
        for kind, n in sorted(bad_dates.items()):
            errors.append(RowError(None, f"{n} {_LABELS[kind]} record(s) or day(s) ({kind}) have a date that is "
                                         f"not in the form 'YYYY-MM-DD hh:mm:ss +zzzz'; they were not imported.", n))
        return ParseResult(days, errors, METRICS)


def parse_apple_health(fileobj: Any, progress: Callable[[int, int | None], None] | None = None, *,
                       limits: ImportLimits = DEFAULT_LIMITS, deadline: Deadline | None = None) -> ParseResult:
    """Stream an Apple Health export.xml or export.zip (path, bytes or binary file) into one Day per local day.

    Read with iterparse, clearing each element as it completes, so memory stays flat for exports of
    hundreds of MB. Per day (the local date as written in the record): steps summed (unit "count"),
    exercise minutes summed ("min") -- time recorded by several sources (phone and watch) counted once,
    see count_once --, resting heart rate averaged ("count/min"), and hours asleep --
    the Asleep* sleep-analysis values, not InBed or Awake; time recorded by several sources counts
    once; each sleep (asleep intervals less than SLEEP_SESSION_GAP apart) counts on the day it ends.
    Records with another unit are left out, with one RowError per type and unit. A file that is not
    well-formed XML gives no days at all (partial totals would be wrong). progress(bytes_read,
    total_bytes or None) is called about every MB and once at the end. A file past a bound of `limits`
    (or `deadline`), or a damaged zip, is refused with a ValidationError.
    """
    deadline = deadline or Deadline(limits.time_limit_s)
    raw, total, opened = _open_apple_export(fileobj, limits)
    stream = _ExportStream(raw, total, progress, limits, deadline)
    agg = _AppleAggregator(limits)
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
                                                               f"with <{_reason(elem.tag)}>, not <HealthData>). "
                                                               f"In the Health app choose Profile > Export All "
                                                               f"Health Data and upload export.zip or the export.xml "
                                                               f"inside it.")])
                continue
            depth -= 1
            if depth == 1:
                # A direct child of <HealthData> is complete. Records nested in a Correlation repeat
                # top-level ones and are skipped. Clearing the root keeps memory flat.
                if elem.tag == "Record":
                    agg.add(elem.attrib)
                root.clear()  # type: ignore[union-attr]
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise refuse(f"The zip file is damaged ({_reason(exc)}); export again from the Health app and upload the "
                     f"new export.zip. Nothing was imported.") from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise refuse(f"The file cannot be read as an Apple Health export ({_reason(exc)}); export again from the "
                     f"Health app and upload the new export.zip. Nothing was imported.") from None
    except ET.ParseError as exc:
        line = exc.position[0]
        return ParseResult([], [RowError(line, f"the file is not valid XML ({exc}), so nothing was imported. "
                                               f"Export again from the Health app and upload the new file.")])
    finally:
        for f in reversed(opened):
            f.close()
    if progress is not None:
        progress(stream.bytes_read, total if total is not None else stream.bytes_read)
    return agg.result(deadline)


