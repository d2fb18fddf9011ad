"""Bank holidays of the four UK nations (the `holidays` package), as hub.bank_holidays serves them."""

from __future__ import annotations

from datetime import date

import pytest

from hub.bank_holidays import bank_holidays, holidays_between
from hub.dashboard import working_days_between


def _days(year: int, nation: str = "eng") -> list[str]:
    return sorted(d.strftime("%m-%d") for d in bank_holidays(year, nation))


@pytest.mark.parametrize("year, expected", [
    # gov.uk/bank-holidays, England and Wales
    (2022, ["01-03", "04-15", "04-18", "05-02", "06-02", "06-03", "08-29", "09-19", "12-26", "12-27"]),
    (2023, ["01-02", "04-07", "04-10", "05-01", "05-08", "05-29", "08-28", "12-25", "12-26"]),
    (2024, ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"]),
    (2025, ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"]),
    (2026, ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"]),
    (2027, ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"]),
])
def test_england_and_wales(year, expected):
    assert _days(year) == expected
    assert _days(year, "wls") == expected


def test_england_substitute_and_one_off_days():
    # New Year's Day 2022 was a Saturday: Monday 3 January instead; Christmas on a Sunday: Tuesday 27 Dec
    assert date(2022, 1, 3) in bank_holidays(2022) and date(2022, 1, 1) not in bank_holidays(2022)
    assert date(2022, 12, 27) in bank_holidays(2022)
    # Platinum Jubilee (spring bank holiday moved to Thursday 2 June, extra day Friday 3 June), state funeral
    assert {date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19)} <= bank_holidays(2022)
    assert date(2022, 5, 30) not in bank_holidays(2022)
    # Coronation of King Charles III, Monday 8 May 2023
    assert date(2023, 5, 8) in bank_holidays(2023)


def test_scotland():
    days = bank_holidays(2026, "sct")
    assert date(2026, 1, 2) in days  # 2nd January
    assert date(2026, 11, 30) in days  # St Andrew's Day
    assert date(2026, 8, 3) in days and date(2026, 8, 31) not in days  # summer holiday early in August
    assert date(2026, 4, 6) not in days  # no Easter Monday
    # 2 January 2027 is a Saturday: substituted by Monday 4 January
    assert date(2027, 1, 4) in bank_holidays(2027, "sct")
    # St Andrew's Day 2025 fell on a Sunday: Monday 1 December instead
    assert date(2025, 12, 1) in bank_holidays(2025, "sct")


def test_northern_ireland():
    days = bank_holidays(2026, "nir")
    assert date(2026, 3, 17) in days  # St Patrick's Day
    assert date(2026, 7, 13) in days and date(2026, 7, 12) not in days  # 12 July on a Sunday: Monday 13 July
    assert date(2025, 7, 14) in bank_holidays(2025, "nir")  # 12 July 2025 a Saturday: Monday 14 July
    assert date(2027, 7, 12) in bank_holidays(2027, "nir")  # a Monday
    assert date(2026, 4, 6) in days  # Easter Monday, as in England


def test_only_weekdays_and_unknown_nation_refused():
    for nation in ("eng", "wls", "sct", "nir"):
        assert all(d.weekday() < 5 for y in range(2022, 2028) for d in bank_holidays(y, nation))
    with pytest.raises(ValueError, match="nation must be one of"):
        bank_holidays(2026, "iom")


def test_holidays_between_spans_years():
    assert holidays_between(date(2026, 12, 20), date(2027, 1, 5), "sct") == [
        date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2027, 1, 4)]


def test_working_days_depend_on_the_nation():
    # sent Friday 27 Nov 2026, acknowledged Tuesday 1 Dec: St Andrew's Day (Mon 30 Nov) only in Scotland
    assert working_days_between(date(2026, 11, 27), date(2026, 12, 1)) == 2
    assert working_days_between(date(2026, 11, 27), date(2026, 12, 1), "sct") == 1
    # sent Monday 16 March 2026, acknowledged Wednesday 18 March: St Patrick's Day only in Northern Ireland
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 18), "eng") == 2
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 18), "nir") == 1
