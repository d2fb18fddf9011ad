"""What the wearable parsers produce (Day, RowError, ParseResult, ImportReport) and the bounds every
import runs within (ImportLimits, Deadline): size, record counts, plausible dates and time.

A file that breaks a bound is refused as a whole with a ValidationError naming the bound and what
to do; nothing is written. Parsing never touches the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hub.errors import ValidationError

# The daily metrics stored per day, and their valid ranges (the same as the wearable_day CHECKs).
METRICS: tuple[str, ...] = ("steps", "active_minutes", "sleep_hours", "resting_hr")
RANGES: dict[str, tuple[float, float]] = {
    "steps": (0, 200_000), "active_minutes": (0, 1440), "sleep_hours": (0, 24), "resting_hr": (20, 250),
}
INTEGER_METRICS = frozenset({"steps", "active_minutes", "resting_hr"})

# Days after today (server time) are refused; one day of slack for patients in timezones ahead.
FUTURE_SLACK = timedelta(days=1)
# No consumer wearable recorded daily data before this day: an earlier date is a broken clock or file.
EARLIEST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class ImportLimits:
    """The bounds of one import. The defaults fit a decade of iPhone + Apple Watch data with room
    to spare (a typical export.xml of several years is a few hundred MB, a few million records)."""

    max_xml_bytes: int = 1 << 30  # export.xml after unzipping (1 GiB)
    max_zip_ratio: int = 200  # declared uncompressed size / compressed size of export.xml
    max_records: int = 5_000_000  # <Record> elements read in one export
    max_records_per_day: int = 100_000  # step or exercise records on one day, all sources together
    max_csv_bytes: int = 20 << 20  # 20 MB: 40 years of daily rows is under 2 MB
    max_csv_rows: int = 40_000  # data rows (about 110 years of days)
    time_limit_s: float = 300.0  # the whole parse, wall clock


DEFAULT_LIMITS = ImportLimits()


def refuse(message: str) -> ValidationError:
    """The error for a file refused as a whole (nothing is imported)."""
    return ValidationError({"file": message})


class Deadline:
    """Wall-clock limit of one import; `check()` raises the refusal once it has passed."""

    def __init__(self, seconds: float | None, clock=time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds

    def check(self) -> None:
        if self._end is not None and self._clock() > self._end:
            raise refuse(f"The import took longer than {self.seconds:g} seconds and was stopped; nothing was "
                         f"imported. Export a shorter period (or split the file) and import the parts.")


def day_problem(d: date, today: date) -> str | None:
    """Why a day cannot be imported (too early or in the future), or None."""
    if d < EARLIEST_DAY:
        return f"date {d.isoformat()} is before {EARLIEST_DAY.isoformat()}; check the device's clock or the file"
    if d > today + FUTURE_SLACK:
        return f"date {d.isoformat()} is in the future; expected a day that has already happened"
    return None


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
