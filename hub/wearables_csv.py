"""The generic daily wearable CSV (see CSV_FORMAT), read as a bounded stream.

Good rows become Days and each bad row one RowError naming its line and field. A file that cannot be
read as a whole -- too large, too many rows, an encoding that is not text, a malformed CSV -- is
refused with a ValidationError that names the problem (nothing is imported).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from datetime import date
from typing import IO, Any

from hub.wearable_data import (
    DEFAULT_LIMITS, EARLIEST_DAY, INTEGER_METRICS, METRICS, RANGES, Day, Deadline, ImportLimits, ParseResult,
    RowError, day_problem, refuse,
)

CSV_COLUMNS: tuple[str, ...] = ("date", "steps", "active_minutes", "sleep_hours", "resting_hr")
# sleep_minutes may replace sleep_hours (converted to hours); no other column is read.
CSV_ACCEPTED_COLUMNS: tuple[str, ...] = CSV_COLUMNS + ("sleep_minutes",)

CSV_FORMAT = """\
Generic wearable CSV: one row per day, comma-separated, UTF-8 (an Excel byte-order mark is fine).

The first line is the header. `date` is required; the other columns are optional and in any order:

    date,steps,active_minutes,sleep_hours,resting_hr
    2024-03-01,8120,34,7.5,61
    2024-03-02,,12,,63

* date            ISO date YYYY-MM-DD, each day at most once, from 2000-01-01, not in the future
* steps           whole number of steps that day, 0-200000
* active_minutes  minutes of activity / exercise that day, 0-1440 (decimals are rounded)
* sleep_hours     hours asleep in the night ending that day, 0-24 -- or instead
  sleep_minutes   minutes asleep, 0-1440 (converted to hours)
* resting_hr      resting heart rate in beats per minute, 20-250 (decimals are rounded)

An empty cell (or NA, N/A, -) means no data that day: it is stored as a gap, never as zero. A column
that is not in the header is left as it was for days already imported. A header naming a unit, such
as `sleep (min)` or `steps (km)`, is rejected: rename the column to one of the names above. Rows with
a problem are listed with their line number and skipped; the other rows are imported. A file over
20 MB or 40,000 rows is refused as a whole.
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
_SNIFF = 1 << 16


def show_cell(text: str, limit: int = 40) -> str:
    """A cell as it may appear in a message: control characters escaped, long text cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


class _BoundedReader(io.RawIOBase):
    """Binary stream that refuses the file once more than `limit` bytes have been read."""

    def __init__(self, head: bytes, rest: IO, limit: int):
        self._head, self._rest, self._limit = head, rest, limit
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            data, self._head = self._head[:len(buffer)], self._head[len(buffer):]
        else:
            data = self._rest.read(len(buffer))
            if isinstance(data, str):
                raise refuse("The file could not be read as bytes; upload the CSV file itself.")
        self.bytes_read += len(data)
        if self.bytes_read > self._limit:
            raise refuse(f"The file is larger than {self._limit / 2**20:.3g} MB, which is far more than daily rows "
                         f"need (40 years of days is under 2 MB); check that this is the daily summary CSV.")
        buffer[:len(data)] = data
        return len(data)


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the bytes look like UTF-16 text without a byte-order mark."""
    even, odd = head[0:4096:2], head[1:4096:2]
    if len(odd) < 4:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _encoding_of(head: bytes) -> tuple[str, str]:
    """The codec and error mode for a file starting with `head` (refused if it is not text)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "strict"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"  # the BOM tells the byte order
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16, "strict"
    if b"\x00" in head:
        raise refuse("The file holds NUL bytes, so it is not a text CSV (a spreadsheet or binary file?); save it "
                     "as 'CSV UTF-8 (comma delimited)' and upload that.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8", "strict"
    except UnicodeDecodeError:
        return "cp1252", "replace"  # Excel on Windows; the cells are digits anyway


def open_csv_text(source: Any, limits: ImportLimits = DEFAULT_LIMITS) -> IO[str]:
    """A text stream of a CSV given as text, bytes, a pathlib path or a (text or binary) file object.

    Bytes are decoded by their byte-order mark (UTF-8, UTF-16), as UTF-16 when the bytes plainly are
    UTF-16 without a mark, else as UTF-8 (or Windows-1252 when the start is not UTF-8)."""
    if isinstance(source, str):
        if len(source) > limits.max_csv_bytes:
            raise refuse(f"The text is longer than {limits.max_csv_bytes / 2**20:.3g} MB; check that this is the daily "
                         f"summary CSV.")
        return io.StringIO(source.lstrip("\ufeff"), newline="")
    if isinstance(source, (bytes, bytearray, memoryview)):
        f = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        f = source
    else:
        raise TypeError("parse_csv needs text, bytes or a file object")
    head = f.read(_SNIFF)
    if isinstance(head, str):  # a file opened in text mode
        return open_csv_text(head + f.read(limits.max_csv_bytes + 1 - len(head)), limits)
    encoding, errors = _encoding_of(bytes(head))
    raw = _BoundedReader(bytes(head), f, limits.max_csv_bytes)
    return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors=errors, newline="")


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
        return None, f"{name} '{show_cell(text)}' is not a number; expected {expected}"
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
        return None, f"date '{show_cell(text)}' is not a date in the form YYYY-MM-DD (e.g. 2024-03-02)"
    problem = day_problem(d, today)
    return (None, problem) if problem else (d, None)


def parse_csv(fileobj_or_text: Any, *, limits: ImportLimits = DEFAULT_LIMITS,
              deadline: Deadline | None = None) -> ParseResult:
    """Parse the generic daily CSV (see CSV_FORMAT): good rows become Days, each bad row one RowError.

    A str is the CSV text itself (pass a pathlib.Path or an open file to read a file). The file is
    read as a stream; one that breaks a bound of `limits` (size, rows, time) or cannot be decoded is
    refused with a ValidationError.
    """
    if isinstance(fileobj_or_text, os.PathLike):
        with open(fileobj_or_text, "rb") as f:
            return parse_csv(f, limits=limits, deadline=deadline)
    deadline = deadline or Deadline(limits.time_limit_s)
    text = open_csv_text(fileobj_or_text, limits)
    try:
        return _parse_rows(csv.reader(text), limits, deadline)
    except UnicodeDecodeError as exc:
        raise refuse(f"The file is not readable as {exc.encoding.upper()} text ({exc.reason}); save it as "
                     f"'CSV UTF-8 (comma delimited)' and upload that.") from None
    except csv.Error as exc:
        raise refuse(f"The file is not a well-formed CSV ({show_cell(str(exc), 80)}); save it as comma-separated "
                     f"CSV with the header {','.join(CSV_COLUMNS)}.") from None


def _parse_rows(reader, limits: ImportLimits, deadline: Deadline) -> ParseResult:
    today = date.today()
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
    rows = 0
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        rows += 1
        if rows > limits.max_csv_rows:
            raise refuse(f"The file has more than {limits.max_csv_rows:,} data rows (one row per day); dates "
                         f"from {EARLIEST_DAY.year} to today need far fewer. Check that this is the daily summary "
                         f"CSV, or split it.")
        if rows % 1000 == 0:
            deadline.check()
        if len(row) > len(header):
            errors.append(RowError(line, f"the row has {len(row)} values but the header has {len(header)} "
                                         f"columns; check for a stray comma (decimals use a point: 7.5)"))
            continue
        cells = row + [""] * (len(header) - len(row))
        row_problems: list[str] = []
        d, problem = _parse_date(cells[columns["date"]], today)
        if problem or d is None:
            row_problems.append(problem or "date is missing")
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
        if values and d is not None:  # a dated row with only empty cells is a day without data: nothing to store
            days.append(Day(day=d, **values))
    return ParseResult(days, errors, fields)
