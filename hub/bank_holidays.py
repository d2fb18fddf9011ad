"""Bank holidays of the four UK nations, for counting working days (letters acknowledged within 2
working days). The dates come from the `holidays` package (UK subdivisions ENG, WLS, SCT, NIR), which
follows gov.uk/bank-holidays and the Scottish and Northern Irish proclamations: substitute days when a
holiday falls on a weekend, and one-off days (jubilees, the 2023 coronation, the 2022 state funeral).

Only days on which banks close count: a holiday that falls on a Saturday or Sunday is left out (its
substitute weekday is in the list instead)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from hub.vocab import NATIONS

DEFAULT_NATION = "eng"


@lru_cache(maxsize=256)
def bank_holidays(year: int, nation: str = DEFAULT_NATION) -> frozenset[date]:
    """The weekday bank holidays of a year in a nation ('eng', 'wls', 'sct' or 'nir'), substitute days included."""
    if nation not in NATIONS:
        raise ValueError(f"nation must be one of {', '.join(NATIONS)}, got {nation!r}")
    days = holidays.country_holidays("GB", subdiv=nation.upper(), years=year)
    return frozenset(d for d in days if d.year == year and d.weekday() < 5)


def holidays_between(start: date, end: date, nation: str = DEFAULT_NATION) -> list[date]:
    """The bank holidays of a nation from start to end inclusive, sorted."""
    return sorted(d for y in range(start.year, end.year + 1) for d in bank_holidays(y, nation) if start <= d <= end)
