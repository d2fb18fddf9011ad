"""Bank holidays in England and Wales, for counting working days (letters acknowledged within 2 working
days). Computed by the rules of the Banking and Financial Dealings Act 1971 and the royal
proclamations that set the regular days since 1978, with one-off extra days listed by year
(source: gov.uk/bank-holidays). Scotland and Northern Ireland have other days; a hub there should
extend EXTRA_DAYS / the rules before relying on the acknowledgement figures."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

# One-off bank holidays (jubilees, royal weddings, coronations, a state funeral), and the years in
# which the early May bank holiday moved to another date.
EXTRA_DAYS: dict[int, tuple[date, ...]] = {
    2011: (date(2011, 4, 29),),
    2012: (date(2012, 6, 5),),
    2022: (date(2022, 6, 3), date(2022, 9, 19)),
    2023: (date(2023, 5, 8),),
}
EARLY_MAY_MOVED: dict[int, date] = {1995: date(1995, 5, 8), 2020: date(2020, 5, 8)}
SPRING_MOVED: dict[int, date] = {2002: date(2002, 6, 4), 2012: date(2012, 6, 4), 2022: date(2022, 6, 2)}


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _first_monday(year: int, month: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    d = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=d.weekday())


def _next_weekday(d: date, taken: set[date]) -> date:
    while d.weekday() >= 5 or d in taken:
        d += timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of a year (from 1978), substitute days included."""
    easter = easter_sunday(year)
    days = {easter - timedelta(days=2), easter + timedelta(days=1),
            EARLY_MAY_MOVED.get(year, _first_monday(year, 5)),
            SPRING_MOVED.get(year, _last_monday(year, 5)),
            _last_monday(year, 8)}
    days.add(_next_weekday(date(year, 1, 1), set()))
    christmas = _next_weekday(date(year, 12, 25), set())
    days.add(christmas)
    days.add(_next_weekday(date(year, 12, 26), {christmas}))
    days.update(EXTRA_DAYS.get(year, ()))
    return frozenset(days)


def holidays_between(start: date, end: date) -> list[date]:
    """The bank holidays from start to end inclusive, sorted."""
    return sorted(d for y in range(start.year, end.year + 1) for d in bank_holidays(y) if start <= d <= end)
