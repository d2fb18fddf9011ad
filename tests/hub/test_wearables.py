"""Wearable import: generic CSV and Apple Health parsing, idempotent upsert with scope, audit and flag
recompute on SQLite and PostgreSQL, weekly summary and the days-with-data window."""

from __future__ import annotations

import io
import math
import random
import tracemalloc
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.models import AuditEvent, Case, WearableDay
from hub import audit, cases, records, wearables
from hub.cases import CaseInput, NewPatient
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.vocab import RED_FLAGS
from hub.wearables import Day, import_days, import_file, parse_apple_health, parse_csv

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_CSV = DATA / "wearables_sample.csv"
SAMPLE_XML = DATA / "apple_health_export.xml"
HEADER = "date,steps,active_minutes,sleep_hours,resting_hr\n"


def submitted_case(world, pcp=None) -> int:
    """A submitted case of practice A (so hub members can see it)."""
    inp = CaseInput(
        new_patient=NewPatient(nhs_number="943 476 5919", given_name="Ann", family_name="Lee", birth_year=1960,
                               sex="female"),
        condition="knee_oa", pain_classification="secondary", duration_months=18,
        clinical_question="Is she less active since the new medicine?", red_flags={k: False for k in RED_FLAGS},
        baseline_pain=6,
    )
    return cases.save_case(world.sf, pcp or world.pcp_a, inp, submit=True).case_id


def wearable_rows(sf) -> list[tuple]:
    with sf() as s:
        return [tuple(r) for r in s.execute(
            select(WearableDay.day, WearableDay.source, WearableDay.steps, WearableDay.active_minutes,
                   WearableDay.sleep_hours, WearableDay.resting_hr).order_by(WearableDay.day, WearableDay.source))]


def import_events(sf) -> list[dict]:
    with sf() as s:
        return [e.changes for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "wearables.import")
                                             .order_by(AuditEvent.id))]


# ----------------------------------------------------------------------------- CSV parsing


def test_sample_csv_parses_with_gaps_as_none():
    result = parse_csv(SAMPLE_CSV.read_bytes())
    assert result.errors == []
    assert result.fields == wearables.METRICS
    by_day = {d.day: d for d in result.days}
    assert len(by_day) == 7 and date(2024, 3, 5) not in by_day  # a day without a row is a gap
    assert by_day[date(2024, 3, 1)] == Day(date(2024, 3, 1), 8120, 34, 7.5, 61)
    assert by_day[date(2024, 3, 3)].sleep_hours is None
    assert by_day[date(2024, 3, 6)].resting_hr is None
    assert by_day[date(2024, 3, 7)].steps is None and by_day[date(2024, 3, 7)].active_minutes is None


def test_bad_rows_are_reported_with_line_and_field_and_good_rows_kept():
    text = (HEADER
            + "2024-03-01,8000,30,7.5,60\n"        # line 2 good
            + "01/03/2024,8000,30,7.5,60\n"        # line 3 date format
            + "2024-03-03,12x,30,7.5,60\n"         # line 4 steps not a number
            + "2024-03-04,5.3,30,7.5,60\n"         # line 5 steps not whole (km in the steps column?)
            + "2024-03-05,8000,30,7.5,300\n"       # line 6 resting HR out of range
            + "2024-03-06,250000,-5,25,60\n"       # line 7 three problems in one row
            + "2024-03-07,8000,30,7,60,99\n"       # line 8 too many values
            + ",8000,30,7.5,60\n"                  # line 9 date missing
            + "2024-02-30,8000,30,7.5,60\n"        # line 10 impossible date
            + f"{(date.today() + timedelta(days=5)).isoformat()},1,1,1,60\n"  # line 11 future
            + "2024-03-12,0,0,0,20\n")             # line 12 good: explicit zeros are data, 20 bpm is in range
    result = parse_csv(text)
    assert [d.day for d in result.days] == [date(2024, 3, 1), date(2024, 3, 12)]
    assert result.days[1] == Day(date(2024, 3, 12), 0, 0, 0.0, 20)
    by_line = {e.line: str(e) for e in result.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert all(msg.startswith(f"Line {line}: ") for line, msg in by_line.items())
    assert "date '01/03/2024'" in by_line[3] and "YYYY-MM-DD" in by_line[3]
    assert "steps '12x' is not a number" in by_line[4] and "0 to 200000" in by_line[4]
    assert "steps 5.3 is not a whole number" in by_line[5]
    assert "resting_hr 300 is out of range" in by_line[6] and "20 to 250" in by_line[6]
    assert "steps 250000" in by_line[7] and "active_minutes -5" in by_line[7] and "sleep_hours 25" in by_line[7]
    assert "6 values" in by_line[8] and "5 columns" in by_line[8]
    assert "date is missing" in by_line[9]
    assert "2024-02-30" in by_line[10]
    assert "future" in by_line[11]
    assert result.skipped == 9


@pytest.mark.parametrize("column, unit", [("sleep (min)", "min"), ("steps (km)", "km"), ("Steps [km]", "km"),
                                          ("resting_hr (bpm)", "bpm"), ("active minutes (h)", "h")])
def test_header_with_a_unit_is_rejected_with_a_clear_message(column, unit):
    result = parse_csv(f"date,{column}\n2024-03-01,420\n")
    assert result.days == []
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.line == 1
    assert f"'{column}'" in error.message and f"('{unit}')" in error.message and "not read" in error.message
    if column.startswith("sleep"):
        assert "sleep_hours" in error.message and "sleep_minutes" in error.message


@pytest.mark.parametrize("header, expected", [
    ("day,steps", "no 'date' column"),
    ("steps,sleep_hours", "no 'date' column"),
    ("2024-03-01,5000,30,7.5,60", "the first line is data, not the header"),
    ("date,calories", "'calories' is not one that is read"),
    ("date,steps,steps", "appears twice"),
    ("date,sleep_hours,sleep_minutes", "either 'sleep_hours' or 'sleep_minutes'"),
    ("date", "no data column"),
    ("date;steps;sleep_hours", "semicolons"),
    ("", "empty"),
])
def test_bad_header_rejects_the_file(header, expected):
    result = parse_csv(f"{header}\n2024-03-01,1000\n" if header else "\n\n")
    assert result.days == [] and len(result.errors) >= 1
    assert any(expected in e.message for e in result.errors), [str(e) for e in result.errors]


def test_sleep_minutes_are_converted_to_hours_and_ranged_in_minutes():
    text = "Date, Sleep Minutes ,steps\n2024-03-01,450,100\n2024-03-02,425,\n2024-03-03,1500,1\n2024-03-04,,5\n"
    result = parse_csv(text)
    assert result.fields == ("steps", "sleep_hours")
    assert [(d.day.day, d.sleep_hours, d.steps) for d in result.days] == [(1, 7.5, 100), (2, 7.08, None),
                                                                         (4, None, 5)]
    assert len(result.errors) == 1 and result.errors[0].line == 4
    assert "sleep_minutes 1500 is out of range" in result.errors[0].message and "0 to 1440" in result.errors[0].message


def test_duplicate_date_is_an_error_on_the_later_row():
    result = parse_csv(HEADER + "2024-03-01,100,,,\n2024-03-02,200,,,\n2024-03-01,300,,,\n")
    assert [(d.day, d.steps) for d in result.days] == [(date(2024, 3, 1), 100), (date(2024, 3, 2), 200)]
    assert [e.line for e in result.errors] == [4]
    assert "2024-03-01 already appears on line 2" in result.errors[0].message


def test_empty_cells_and_na_are_gaps_and_an_empty_day_is_no_day():
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "2024-03-01,NA,-,,n/a\r\n2024-03-02,10,,7,\r\n\r\n"
    result = parse_csv(io.BytesIO(text.encode("utf-8")))
    assert result.errors == []
    assert result.days == [Day(date(2024, 3, 2), steps=10, sleep_hours=7.0)]


def test_decimals_are_rounded_for_minutes_and_heart_rate_and_kept_for_sleep():
    result = parse_csv(HEADER + "2024-03-01,8000,30.6,7.333,61.4\n")
    assert result.days == [Day(date(2024, 3, 1), 8000, 31, 7.33, 61)]


_day_strategy = st.builds(
    Day,
    day=st.dates(date(2015, 1, 1), date(2024, 12, 31)),
    steps=st.none() | st.integers(0, 200_000),
    active_minutes=st.none() | st.integers(0, 1440),
    sleep_hours=st.none() | st.integers(0, 2400).map(lambda x: x / 100),
    resting_hr=st.none() | st.integers(20, 250),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_day_strategy, max_size=40, unique_by=lambda d: d.day))
def test_csv_round_trip_keeps_every_value_and_every_gap(days):
    cells = [[d.day.isoformat()] + ["" if v is None else str(v) for v in d.values().values()] for d in days]
    lines = [HEADER.strip()] + [",".join(row) for row in cells]
    result = parse_csv("\n".join(lines) + "\n")
    assert result.errors == []
    assert result.days == [d for d in days if d.has_data]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_csv_parser_never_raises_and_accounts_for_every_data_row(text):
    result = parse_csv(HEADER + text)
    assert all(e.line is not None and e.line >= 2 for e in result.errors)
    assert len({e.line for e in result.errors}) == len(result.errors)  # one error per bad row


# ----------------------------------------------------------------------------- import into the record


def test_import_adds_then_reimport_adds_nothing_twice(world):
    case_id = submitted_case(world)
    report, errors = import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    assert errors == []
    assert report == wearables.ImportReport(added=7, unchanged=0, updated=0, skipped_errors=0)
    first = wearable_rows(world.sf)
    assert len(first) == 7 and {r[1] for r in first} == {"csv"}

    with open(SAMPLE_CSV, "rb") as f:  # the same file again, as a file object this time
        again, _ = import_file(world.sf, world.pcp_a, case_id, f, "csv")
    assert again == wearables.ImportReport(added=0, unchanged=7, updated=0, skipped_errors=0)
    assert wearable_rows(world.sf) == first
    events = import_events(world.sf)
    assert [(e["added"], e["unchanged"], e["updated"]) for e in events] == [(7, 0, 0), (0, 7, 0)]


def test_gaps_stay_gaps_never_zero(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    rows = {r[0]: r for r in wearable_rows(world.sf)}
    assert date(2024, 3, 5) not in rows                           # no row for a day without data
    assert rows[date(2024, 3, 3)][4] is None                      # no sleep that night: NULL
    assert rows[date(2024, 3, 6)][5] is None
    assert rows[date(2024, 3, 7)][2:4] == (None, None)
    assert not any(v == 0 for r in rows.values() for v in r[2:])  # nothing written as zero


def test_changed_values_update_and_new_days_add(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    text = SAMPLE_CSV.read_text().replace("2024-03-02,10452,51,8.25,60", "2024-03-02,10452,51,,60")
    text = text.replace("2024-03-04,7311,28,6.75,62", "2024-03-04,7400,28,6.75,62") + "2024-03-09,5000,20,7,60\n"
    report, errors = import_file(world.sf, world.pcp_a, case_id, io.StringIO(text), "csv")
    assert errors == []
    assert report == wearables.ImportReport(added=1, unchanged=5, updated=2, skipped_errors=0)
    rows = {r[0]: r for r in wearable_rows(world.sf)}
    assert rows[date(2024, 3, 2)][4] is None          # the value was removed from the file: now a gap
    assert rows[date(2024, 3, 4)][2] == 7400
    assert rows[date(2024, 3, 9)][2:] == (5000, 20, 7.0, 60)
    assert len(rows) == 8


def test_a_column_absent_from_the_file_is_left_as_it_was(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    report, _ = import_file(world.sf, world.pcp_a, case_id, io.StringIO("date,steps\n2024-03-01,9999\n"), "csv")
    assert report.updated == 1
    rows = {r[0]: r for r in wearable_rows(world.sf)}
    assert rows[date(2024, 3, 1)][2:] == (9999, 34, 7.5, 61)


def test_bad_rows_are_counted_and_the_good_ones_imported(world):
    case_id = submitted_case(world)
    text = HEADER + "2024-03-01,8000,30,7.5,60\n2024-03-02,lots,30,7.5,60\n2024-03-03,,,,300\n"
    report, errors = import_file(world.sf, world.pcp_a, case_id, io.StringIO(text), "csv")
    assert (report.added, report.skipped_errors) == (1, 2)
    assert [e.line for e in errors] == [3, 4]
    assert import_events(world.sf)[-1]["skipped_errors"] == 2


def test_only_a_pcp_of_the_practice_may_import_and_nothing_is_written(world):
    case_id = submitted_case(world)
    days = [Day(date(2024, 3, 1), steps=100)]
    with pytest.raises(NotFound):
        import_days(world.sf, world.pcp_b, case_id, days, "csv")
    with pytest.raises(PermissionDenied):
        import_days(world.sf, world.specialist, case_id, days, "csv")
    with pytest.raises(PermissionDenied):
        import_days(world.sf, world.chair, case_id, days, "csv")
    with pytest.raises(NotFound):
        import_days(world.sf, world.admin, case_id, days, "csv")
    for actor, error in ((world.pcp_b, NotFound), (world.specialist, PermissionDenied)):
        calls = []
        with pytest.raises(error):  # refused before the file is even parsed
            import_file(world.sf, actor, case_id, SAMPLE_XML, "apple_health", progress=lambda *a: calls.append(a))
        assert calls == []
    assert wearable_rows(world.sf) == []
    assert import_events(world.sf) == []


def test_import_writes_one_audit_event_with_the_counts(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    with world.sf() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "wearables.import")).one()
        patient_id = s.get(Case, case_id).patient_id
    assert event.actor_id == world.pcp_a.user_id
    assert (event.entity, event.entity_id) == ("patient", str(patient_id))
    assert event.changes == {"case_id": case_id, "source": "csv", "fields": list(wearables.METRICS), "added": 7,
                             "unchanged": 0, "updated": 0, "skipped_errors": 0, "first_day": "2024-03-01",
                             "last_day": "2024-03-08"}


def test_flags_are_recomputed_inside_the_import_transaction(world, monkeypatch):
    case_id = submitted_case(world)
    seen = []
    original = wearables.flags.recompute_patient

    def spy(s, patient_id, today=None):
        rows = s.scalar(select(func.count()).select_from(WearableDay).where(WearableDay.patient_id == patient_id))
        # audit events recorded in this transaction are appended to the hash chain at its commit
        events = sum(1 for e in audit.pending(s) if e.action == "wearables.import")
        seen.append((s.in_transaction(), rows, events))
        return original(s, patient_id, today)

    monkeypatch.setattr(wearables.flags, "recompute_patient", spy)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    assert seen == [(True, 7, 1)]  # the new rows and the audit event are in the same, still open transaction


def test_import_days_validates_before_writing(world):
    case_id = submitted_case(world)
    with pytest.raises(ValidationError) as exc:
        import_days(world.sf, world.pcp_a, case_id, [Day(date(2024, 3, 1), steps=-1)], "csv")
    assert "steps" in exc.value.errors["days"]
    with pytest.raises(ValidationError):
        import_days(world.sf, world.pcp_a, case_id,
                    [Day(date(2024, 3, 1), steps=1), Day(date(2024, 3, 1), steps=2)], "csv")
    with pytest.raises(ValidationError) as exc:
        import_days(world.sf, world.pcp_a, case_id, [Day(date(2024, 3, 1), steps=1)], "fitbit")
    assert "source" in exc.value.errors
    with pytest.raises(ValidationError):
        import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "garmin")
    assert wearable_rows(world.sf) == [] and import_events(world.sf) == []


def test_sources_are_kept_apart_and_window_counts_days_with_any_data(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    report, errors = import_file(world.sf, world.pcp_a, case_id, SAMPLE_XML, "apple_health")
    assert report.added == 3 and report.skipped_errors == 1 and len(errors) == 1
    assert len(wearable_rows(world.sf)) == 10  # 2024-03-01..03 from both sources
    with world.sf.begin() as s:
        pid = s.get(Case, case_id).patient_id
        s.add(WearableDay(patient_id=pid, day=date(2024, 3, 5), source="demo"))  # a row with no value at all
    assert wearables.wearable_days_in_window(world.sf, pid, date(2024, 3, 1), date(2024, 3, 8)) == 7
    assert wearables.wearable_days_in_window(world.sf, pid, date(2024, 3, 2), date(2024, 3, 4)) == 3
    assert wearables.wearable_days_in_window(world.sf, pid, date(2024, 3, 9), date(2024, 3, 30)) == 0
    with world.sf() as s:  # a session works too (the disengagement signal runs inside a transaction)
        assert wearables.wearable_days_in_window(s, pid, date(2024, 3, 5), date(2024, 3, 5)) == 0
        assert wearables.wearable_days_in_window(s, pid + 1, date(2024, 3, 1), date(2024, 3, 8)) == 0


def test_apple_health_import_is_idempotent(world):
    case_id = submitted_case(world)
    first, _ = import_file(world.sf, world.pcp_a, case_id, str(SAMPLE_XML), "apple_health")
    again, _ = import_file(world.sf, world.pcp_a, case_id, io.BytesIO(SAMPLE_XML.read_bytes()), "apple_health")
    assert (first.added, first.unchanged) == (3, 0)
    assert (again.added, again.unchanged, again.updated) == (0, 3, 0)
    rows = wearable_rows(world.sf)
    assert rows == [(date(2024, 3, 1), "apple_health", 4700, 25, None, 61),
                    (date(2024, 3, 2), "apple_health", 3000, None, 7.33, 58),
                    (date(2024, 3, 3), "apple_health", 5000, None, 0.5, None)]


def test_a_file_without_good_rows_writes_nothing(world):
    case_id = submitted_case(world)
    report, errors = import_file(world.sf, world.pcp_a, case_id, io.StringIO("date,steps (km)\n2024-03-01,3\n"),
                                 "csv")
    assert report == wearables.ImportReport(0, 0, 0, 1) and len(errors) == 1
    assert wearable_rows(world.sf) == [] and import_events(world.sf) == []


# ----------------------------------------------------------------------------- Apple Health parsing


def _record(kind: str, start: str, end: str, value, unit: str | None = "count", source: str = "Watch") -> str:
    unit_attr = f' unit="{unit}"' if unit is not None else ""
    return (f'<Record type="{kind}" sourceName="{source}"{unit_attr} startDate="{start} +0000" '
            f'endDate="{end} +0000" value="{value}"/>\n')


def _export(*records: str) -> io.BytesIO:
    body = "".join(records)
    return io.BytesIO(f'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_GB">\n{body}</HealthData>\n'
                      .encode("utf-8"))


STEPS, EXERCISE, RHR, SLEEP = (wearables.STEP_TYPE, wearables.EXERCISE_TYPE, wearables.RESTING_HR_TYPE,
                               wearables.SLEEP_TYPE)
ASLEEP = "HKCategoryValueSleepAnalysisAsleep"


def test_apple_sample_aggregates_per_local_day():
    result = parse_apple_health(SAMPLE_XML)
    assert result.days == [
        # steps summed across iPhone and Watch; exercise summed; resting HR the mean of 60 and 62
        Day(date(2024, 3, 1), steps=4700, active_minutes=25, resting_hr=61),
        # the night 23:10-06:40: asleep stages only (not InBed, not Awake), all counted on the morning's day
        Day(date(2024, 3, 2), steps=3000, sleep_hours=round(440 / 60, 2), resting_hr=58),
        # local date as written (+0100); the km step record and the HeartRate record are not counted
        Day(date(2024, 3, 3), steps=5000, sleep_hours=0.5),
    ]
    assert len(result.errors) == 1 and "'km'" in result.errors[0].message


def test_apple_sleep_counts_asleep_time_once_on_the_day_it_ends():
    result = parse_apple_health(_export(
        _record(SLEEP, "2024-03-01 22:30:00", "2024-03-02 07:00:00", "HKCategoryValueSleepAnalysisInBed", None,
                "iPhone"),
        _record(SLEEP, "2024-03-01 23:00:00", "2024-03-01 23:45:00", ASLEEP + "Core", None),
        _record(SLEEP, "2024-03-01 23:45:00", "2024-03-02 00:30:00", "HKCategoryValueSleepAnalysisAwake", None),
        _record(SLEEP, "2024-03-02 00:30:00", "2024-03-02 06:30:00", ASLEEP + "Deep", None),
        # a second app records the same night: overlapping time counts once
        _record(SLEEP, "2024-03-02 01:00:00", "2024-03-02 06:00:00", ASLEEP, None, "SleepApp"),
        # an afternoon nap is a separate sleep, on its own day
        _record(SLEEP, "2024-03-02 15:00:00", "2024-03-02 15:45:00", ASLEEP + "Unspecified", None),
        # in bed only, never asleep: no sleep recorded, not zero
        _record(SLEEP, "2024-03-03 23:00:00", "2024-03-04 06:00:00", "HKCategoryValueSleepAnalysisInBed", None),
    ))
    assert result.errors == []
    assert result.days == [Day(date(2024, 3, 2), sleep_hours=round((45 + 360 + 45) / 60, 2))]


def test_apple_resting_hr_is_the_mean_and_steps_of_one_walk_count_once_across_sources():
    result = parse_apple_health(_export(
        # the phone in the pocket and the watch on the wrist count the same ten minutes
        _record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 1000, source="iPhone"),
        _record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 900.6, source="Watch"),
        # only the watch was there (the phone on the bedside table)
        _record(STEPS, "2024-03-01 23:55:00", "2024-03-02 00:05:00", 50, source="Watch"),
        _record(RHR, "2024-03-01 00:00:00", "2024-03-01 12:00:00", 55, "count/min"),
        _record(RHR, "2024-03-01 12:00:00", "2024-03-01 23:00:00", 58, "count/min"),
        _record(RHR, "2024-03-01 23:00:00", "2024-03-01 23:30:00", 60, "count/min"),
        _record(EXERCISE, "2024-03-02 10:00:00", "2024-03-02 10:01:00", 1, "min"),
        _record(EXERCISE, "2024-03-02 10:01:00", "2024-03-02 10:02:00", 1, "min"),
    ))
    # the iPhone counted more over the export, so its 1000 stand for the shared ten minutes; the watch's
    # 50 steps at midnight count because no other source recorded that time (the sum would be 1951)
    assert result.days == [Day(date(2024, 3, 1), steps=1050, resting_hr=58),
                           Day(date(2024, 3, 2), active_minutes=2)]


def test_apple_overlapping_sources_count_the_uncovered_share_of_a_record():
    result = parse_apple_health(_export(
        # the watch (largest total) covers 09:00-09:30
        _record(STEPS, "2024-03-05 09:00:00", "2024-03-05 09:30:00", 3000, source="Watch"),
        # the phone's 09:20-09:40: half of it is covered, so half of its 800 steps count
        _record(STEPS, "2024-03-05 09:20:00", "2024-03-05 09:40:00", 800, source="iPhone"),
        # an instantaneous phone record inside covered time counts nothing, one outside counts in full
        _record(STEPS, "2024-03-05 09:10:00", "2024-03-05 09:10:00", 30, source="iPhone"),
        _record(STEPS, "2024-03-05 12:00:00", "2024-03-05 12:00:00", 20, source="iPhone"),
        # two records of one source never cancel each other, even when they overlap
        _record(STEPS, "2024-03-05 15:00:00", "2024-03-05 15:10:00", 500, source="Watch"),
        _record(STEPS, "2024-03-05 15:05:00", "2024-03-05 15:15:00", 500, source="Watch"),
    ))
    assert result.days == [Day(date(2024, 3, 5), steps=3000 + 400 + 20 + 1000)]


def test_count_once_is_never_more_than_the_sum_nor_less_than_the_largest_source():
    from array import array

    rng = random.Random(5)
    for _ in range(300):
        day = {}
        for src in range(rng.randint(1, 3)):
            starts = [rng.randint(0, 3600) for _ in range(rng.randint(1, 6))]
            ends = [s + rng.choice((0, rng.randint(1, 900))) for s in starts]
            values = [float(rng.randint(0, 500)) for _ in starts]
            day[src] = (array("q", starts), array("q", ends), array("d", values))
        order = {src: -sum(v[2]) for src, v in day.items()}
        total = wearables.count_once(day, order)
        per_source = [sum(v[2]) for v in day.values()]
        assert max(per_source) - 1e-9 <= total <= sum(per_source) + 1e-9


def test_apple_unknown_units_are_rejected_once_per_type_and_unit():
    result = parse_apple_health(_export(
        *[_record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 1.2, "km") for _ in range(3)],
        _record(STEPS, "2024-03-01 09:00:00", "2024-03-01 09:10:00", 700, "count"),
        *[_record(EXERCISE, "2024-03-01 09:00:00", "2024-03-01 09:10:00", 0.5, "hr") for _ in range(2)],
        _record(RHR, "2024-03-01 00:00:00", "2024-03-01 09:10:00", 1.1, "Hz"),
        _record(RHR, "2024-03-01 00:00:00", "2024-03-01 09:10:00", "abc", "count/min"),
    ))
    assert result.days == [Day(date(2024, 3, 1), steps=700)]
    messages = [e.message for e in result.errors]
    assert len(messages) == 4
    assert result.skipped == 3 + 2 + 1 + 1
    assert any("3 step record(s)" in m and "'km'" in m and "expected 'count'" in m for m in messages)
    assert any("2 exercise-time record(s)" in m and "'hr'" in m and "expected 'min'" in m for m in messages)
    assert any("'Hz'" in m and "expected 'count/min'" in m for m in messages)
    assert any("not a valid number" in m for m in messages)


def test_apple_daily_total_out_of_range_drops_only_that_value():
    result = parse_apple_health(_export(
        *[_record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 60000) for _ in range(4)],
        _record(RHR, "2024-03-01 00:00:00", "2024-03-01 23:00:00", 62, "count/min"),
    ))
    assert result.days == [Day(date(2024, 3, 1), resting_hr=62)]
    assert len(result.errors) == 1 and "2024-03-01: steps adds up to 240000" in result.errors[0].message


def test_apple_export_zip_control_characters_and_no_doctype():
    xml = _export(_record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 42, source="Ann\x0bs iPhone"))
    result = parse_apple_health(io.BytesIO(xml.getvalue()))
    assert result.days == [Day(date(2024, 3, 1), steps=42)] and result.errors == []
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
        zf.writestr("apple_health_export/export.xml", SAMPLE_XML.read_bytes())
    packed.seek(0)
    calls = []
    zipped = parse_apple_health(packed, progress=lambda done, total: calls.append((done, total)))
    assert zipped.days == parse_apple_health(SAMPLE_XML).days
    assert calls[-1] == (SAMPLE_XML.stat().st_size, SAMPLE_XML.stat().st_size)


def test_apple_wrong_or_broken_file_imports_nothing():
    wrong = parse_apple_health(io.BytesIO(b'<?xml version="1.0"?>\n<ClinicalDocument><x/></ClinicalDocument>'))
    assert wrong.days == [] and "not an Apple Health export" in wrong.errors[0].message
    broken = io.BytesIO(_export(_record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 42)).getvalue()[:-20])
    result = parse_apple_health(broken)
    assert result.days == [] and len(result.errors) == 1
    assert result.errors[0].line is not None and "not valid XML" in result.errors[0].message


def _write_large_export(path: Path, days: int) -> int:
    """Write days x 250 records (200 step, 30 exercise, 2 resting HR, 18 sleep) one by one; returns records."""
    start = datetime(2023, 1, 1)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData ANY>\n]>\n'
                '<HealthData locale="en_GB">\n <ExportDate value="2024-01-01 00:00:00 +0000"/>\n')
        meta = '  <MetadataEntry key="HKMetadataKeySyncIdentifier" value="0123456789abcdef0123456789abcdef"/>\n'
        for i in range(days):
            day = start + timedelta(days=i)
            for k in range(200):
                t = day + timedelta(hours=7, minutes=4 * k)
                f.write(f' <Record type="{STEPS}" sourceName="Synthetic Phone" sourceVersion="17.0" unit="count" '
                        f'creationDate="{t:%Y-%m-%d %H:%M:%S} +0000" startDate="{t:%Y-%m-%d %H:%M:%S} +0000" '
                        f'endDate="{t + timedelta(minutes=3):%Y-%m-%d %H:%M:%S} +0000" value="10">\n{meta} </Record>\n')
            for k in range(30):
                t = day + timedelta(hours=18, minutes=k)
                f.write(f' <Record type="{EXERCISE}" sourceName="Synthetic Watch" unit="min" '
                        f'startDate="{t:%Y-%m-%d %H:%M:%S} +0000" endDate="{t + timedelta(minutes=1):%Y-%m-%d %H:%M:%S}'
                        f' +0000" value="1"/>\n')
            for hr in (59, 61):
                f.write(f' <Record type="{RHR}" sourceName="Synthetic Watch" unit="count/min" '
                        f'startDate="{day:%Y-%m-%d} 0{hr - 59}:00:00 +0000" endDate="{day:%Y-%m-%d} 23:00:00 +0000" '
                        f'value="{hr}"/>\n')
            # the night before this day: 18 asleep stages of 25 min from 23:00, ending 06:30 this day
            night = day - timedelta(hours=1)
            for k in range(18):
                a, b = night + timedelta(minutes=25 * k), night + timedelta(minutes=25 * (k + 1))
                stage = ("Core", "Deep", "REM")[k % 3]
                f.write(f' <Record type="{SLEEP}" sourceName="Synthetic Watch" startDate="{a:%Y-%m-%d %H:%M:%S} '
                        f'+0000" endDate="{b:%Y-%m-%d %H:%M:%S} +0000" value="{ASLEEP}{stage}"/>\n')
            n += 250
        f.write("</HealthData>\n")
    return n


def test_large_export_streams_with_flat_memory_and_reports_progress(tmp_path):
    path = tmp_path / "export.xml"
    assert _write_large_export(path, days=200) == 50_000
    size = path.stat().st_size
    assert size > 15_000_000
    calls: list[tuple[int, int | None]] = []
    tracemalloc.start()
    try:
        with open(path, "rb") as f:
            result = parse_apple_health(f, progress=lambda done, total: calls.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.errors == []
    assert len(result.days) == 200
    assert set(result.days) == {Day(date(2023, 1, 1) + timedelta(days=i), steps=2000, active_minutes=30,
                                    sleep_hours=7.5, resting_hr=60) for i in range(200)}
    # A tree of 50,000 elements would take several times the file's size; streaming stays far below it.
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte file"
    # progress: about every MB, increasing, with the total known, ending at 100 %
    assert len(calls) >= size // (1 << 20)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (size, size)
    assert all(b - a <= (1 << 20) + (1 << 16) for (a, _), (b, _) in zip(calls, calls[1:]))


# ----------------------------------------------------------------------------- weekly summary


def test_weekly_summary_means_over_days_with_data_and_nan_for_empty_weeks():
    df = pd.DataFrame([
        # week of Mon 2024-03-04
        (date(2024, 3, 4), 4000, 20, 7.0, 60, "csv"),
        (date(2024, 3, 5), 6000, None, None, 62, "csv"),
        (date(2024, 3, 5), 5000, 10, 8.0, None, "apple_health"),  # two sources on one day: the larger value
        (date(2024, 3, 6), None, None, None, None, "demo"),       # a row without values is not a day with data
        # week of 2024-03-11: nothing; week of 2024-03-18: one day
        (date(2024, 3, 24), 3000, None, 6.5, None, "csv"),
    ], columns=["day", "steps", "active_minutes", "sleep_hours", "resting_hr", "source"])
    out = wearables.weekly_summary(df)
    assert list(out.columns) == ["week_start", "mean_steps", "mean_active_minutes", "mean_sleep_hours",
                                 "days_with_data"]
    assert list(out.week_start) == [date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 18)]
    assert list(out.days_with_data) == [2, 0, 1]
    first, empty, last = out.to_dict("records")
    assert (first["mean_steps"], first["mean_active_minutes"], first["mean_sleep_hours"]) == (5000, 15, 7.5)
    assert all(math.isnan(empty[c]) for c in ("mean_steps", "mean_active_minutes", "mean_sleep_hours"))
    assert last["mean_steps"] == 3000 and math.isnan(last["mean_active_minutes"]) and last["mean_sleep_hours"] == 6.5


def test_weekly_summary_of_nothing_and_over_a_fixed_range():
    empty = pd.DataFrame(columns=["day", "steps", "active_minutes", "sleep_hours", "resting_hr", "source"])
    assert wearables.weekly_summary(empty).empty
    out = wearables.weekly_summary(empty, start=date(2024, 3, 6), end=date(2024, 3, 20))
    assert list(out.week_start) == [date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 18)]
    assert list(out.days_with_data) == [0, 0, 0] and out.mean_steps.isna().all()
    df = pd.DataFrame({"day": [date(2024, 3, 1), date(2024, 3, 12)], "steps": [100, 200]})  # start/end clip
    clipped = wearables.weekly_summary(df, start=date(2024, 3, 11), end=date(2024, 3, 31))
    assert list(clipped.week_start) == [date(2024, 3, 11), date(2024, 3, 18), date(2024, 3, 25)]
    assert list(clipped.days_with_data) == [1, 0, 0] and clipped.mean_steps[0] == 200
    assert clipped.mean_sleep_hours.isna().all()


def test_weekly_summary_of_the_case_timeline(world):
    case_id = submitted_case(world)
    import_file(world.sf, world.pcp_a, case_id, SAMPLE_CSV, "csv")
    out = wearables.weekly_summary(records.timeline(world.sf, world.chair, case_id).wearables)
    assert list(out.week_start) == [date(2024, 2, 26), date(2024, 3, 4)]
    assert list(out.days_with_data) == [3, 4]
    assert out.mean_steps[0] == pytest.approx((8120 + 10452 + 3890) / 3)
    assert out.mean_sleep_hours[1] == pytest.approx((6.75 + 7 + 7.25 + 6.5) / 4)
