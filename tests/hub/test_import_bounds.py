"""Wearable imports are bounded in time and memory: the Apple Health source de-duplication is one
sorted pass, sizes, record counts, records per day and dates are capped, zip bombs and damaged
files are refused with a message naming the problem, CSV encodings are decoded or named, and a
refused or timed-out import writes nothing (SQLite and PostgreSQL). Fuzzing: no crash other than
ValidationError, no write on refusal."""

from __future__ import annotations

import codecs
import io
import time
import zipfile
import zlib
from array import array
from bisect import bisect_right
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.models import AuditEvent, WearableDay
from hub import cases, wearables
from hub.cases import CaseInput, NewPatient
from hub.errors import ValidationError
from hub.vocab import RED_FLAGS
from hub.wearables import Day, ImportLimits, import_file, parse_apple_health, parse_csv

SAMPLE_XML = Path(__file__).resolve().parent.parent / "data" / "apple_health_export.xml"
HEADER = "date,steps,active_minutes,sleep_hours,resting_hr\n"
STEPS = wearables.STEP_TYPE

SMALL = ImportLimits(max_xml_bytes=1 << 20, max_records=500, max_records_per_day=100, max_csv_bytes=4096,
                     max_csv_rows=50, time_limit_s=60)


def submitted_case(world) -> int:
    inp = CaseInput(
        new_patient=NewPatient(nhs_number="943 476 5919", given_name="Ann", family_name="Lee", birth_year=1960,
                               sex="female"),
        condition="knee_oa", pain_classification="secondary", duration_months=18,
        clinical_question="Is she less active?", red_flags={k: False for k in RED_FLAGS}, baseline_pain=6,
    )
    return cases.save_case(world.sf, world.pcp_a, inp, submit=True).case_id


def _record(kind: str, start: str, end: str, value, unit: str | None = "count", source: str = "Watch") -> str:
    return (f'<Record type="{kind}" sourceName="{source}" unit="{unit}" startDate="{start} +0000" '
            f'endDate="{end} +0000" value="{value}"/>\n')


def _export(*records: str) -> io.BytesIO:
    body = "".join(records)
    return io.BytesIO(f'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_GB">\n{body}</HealthData>\n'
                      .encode("utf-8"))


def _reference_count_once(day, source_order) -> float:
    """The former (quadratic) de-duplication, kept as the reference for the semantics."""
    total = 0.0
    cover_start: list[int] = []
    cover_end: list[int] = []
    for src in sorted(day, key=lambda k: (source_order[k], k)):
        starts, ends, values = day[src]
        for s, e, v in zip(starts, ends, values):
            j = bisect_right(cover_end, s)
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


_source_day = st.lists(st.tuples(st.integers(0, 600), st.sampled_from([0, 0, 1, 5, 30, 200, 700]),
                                 st.integers(0, 500)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_source_day, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_one_pass_deduplication_gives_the_former_totals(sources, rnd):
    day = {src: (array("q", [s for s, _, _ in recs]), array("q", [s + d for s, d, _ in recs]),
                 array("d", [float(v) for _, _, v in recs])) for src, recs in enumerate(sources)}
    order = {src: rnd.choice([-sum(v[2]), 0.0]) for src, v in day.items()}  # ties broken by source id
    assert wearables.count_once(day, order) == pytest.approx(_reference_count_once(day, order), abs=1e-6)


def test_twenty_thousand_plus_twenty_thousand_same_day_records_take_seconds_not_minutes():
    day = "2024-03-05"
    recs = []
    for k in range(20_000):  # one source: 20,000 one-second records spread over the day
        recs.append(_record(STEPS, _at(day, 4 * k), _at(day, 4 * k + 1), 1, source="Watch"))
    for k in range(20_000):  # the other: 20,000 records that each span almost the whole day
        recs.append(_record(STEPS, _at(day, k % 60), _at(day, 23 * 3600 + k % 60), 1, source="iPhone"))
    data = _export(*recs)
    started = time.perf_counter()
    result = parse_apple_health(data)
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"{elapsed:.1f} s"  # the former code ran past 10 minutes
    assert len(result.days) == 1 and result.errors == []
    # equal totals: the first source counts in full, the other only for the time it alone recorded
    assert 20_000 <= result.days[0].steps <= 40_000


def _at(day: str, seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{day} {h:02d}:{m:02d}:{s:02d}"


# ----------------------------------------------------------------------------- Apple Health bounds


def _zip(name: str, data: bytes, method=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", method) as zf:
        zf.writestr(name, data)
    packed.seek(0)
    return packed


def _padded_export(size: int) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_GB">\n'
    return head + b"<!--" + b" " * size + b"-->\n</HealthData>\n"


def test_zip_bomb_is_refused_by_its_declared_size_before_reading():
    bomb = _zip("apple_health_export/export.xml", _padded_export(3 << 20))  # 3 MB of spaces: a few KB zipped
    calls = []
    with pytest.raises(ValidationError) as exc:
        parse_apple_health(bomb, progress=lambda *a: calls.append(a), limits=SMALL)
    assert "larger than 1 MB once unzipped" in str(exc.value)
    assert calls == []  # refused before the first byte was inflated


def test_zip_bomb_is_refused_by_its_compression_ratio():
    bomb = _zip("export.xml", _padded_export(2 << 20))
    with pytest.raises(ValidationError, match="expands .* times"):
        parse_apple_health(bomb, limits=ImportLimits(max_zip_ratio=50))


def test_zip_whose_header_understates_its_size_is_refused_while_streaming():
    """A forged local header that declares a small size: the actual bytes inflated are counted."""
    body = _padded_export(3 << 20)
    bomb = _zip("export.xml", body)
    # forge the central directory's uncompressed size (offset 24 in the record) to 1000 bytes
    raw = bytearray(bomb.getvalue())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (1000).to_bytes(4, "little")
    with pytest.raises(ValidationError):
        result = parse_apple_health(io.BytesIO(bytes(raw)), limits=SMALL)
        assert result.days == []  # never reached: zipfile stops at the declared size and the CRC fails


def test_xml_larger_than_the_cap_is_refused_while_streaming():
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        parse_apple_health(io.BytesIO(_padded_export(2 << 20)), limits=SMALL)


def test_corrupt_zip_data_is_a_message_not_a_zlib_error():
    packed = bytearray(_zip("export.xml", SAMPLE_XML.read_bytes() * 20).getvalue())
    start = 30 + len("export.xml")  # the deflated data follows the local header
    for i in range(start + 20, start + 60):
        packed[i] ^= 0x5A
    with pytest.raises(ValidationError) as exc:
        parse_apple_health(io.BytesIO(bytes(packed)))
    assert "zip file is damaged" in str(exc.value)
    assert not isinstance(exc.value.__cause__, zlib.error)


def test_truncated_and_foreign_zips_are_messages():
    whole = _zip("export.xml", SAMPLE_XML.read_bytes()).getvalue()
    with pytest.raises(ValidationError, match="damaged"):
        parse_apple_health(io.BytesIO(whole[: len(whole) // 2]))
    with pytest.raises(ValidationError, match="no export.xml"):
        parse_apple_health(_zip("notes.txt", b"hello"))


def test_record_count_and_records_per_day_are_capped():
    many = _export(*[_record(STEPS, _at(f"2024-03-{1 + k // 90:02d}", k), _at(f"2024-03-{1 + k // 90:02d}", k), 1)
                     for k in range(600)])
    with pytest.raises(ValidationError, match="more than 500 records"):
        parse_apple_health(many, limits=SMALL)
    one_day = _export(*[_record(STEPS, _at("2024-03-01", k), _at("2024-03-01", k + 1), 1) for k in range(150)])
    with pytest.raises(ValidationError, match="more than 100 step records on 2024-03-01"):
        parse_apple_health(one_day, limits=SMALL)


def test_implausible_dates_are_left_out_and_counted():
    future = (date.today() + timedelta(days=5)).isoformat()
    result = parse_apple_health(_export(
        _record(STEPS, "0001-01-01 08:00:00", "0001-01-01 08:10:00", 10),
        _record(STEPS, "1999-12-31 08:00:00", "1999-12-31 08:10:00", 10),
        _record(STEPS, f"{future} 08:00:00", f"{future} 08:10:00", 10),
        _record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 10),
    ))
    assert result.days == [Day(date(2024, 3, 1), steps=10)]
    messages = " ".join(e.message for e in result.errors)
    assert "2 step record(s)" in messages and "before 2000-01-01" in messages
    assert "1 step record(s)" in messages and "in the future" in messages
    assert result.skipped == 3


def test_time_limit_stops_a_slow_parse():
    clock = iter(range(0, 10_000, 7))  # each check advances the clock 7 s
    deadline = wearables.Deadline(30, clock=lambda: next(clock))
    with pytest.raises(ValidationError, match="longer than 30 seconds"):
        parse_apple_health(io.BytesIO(SAMPLE_XML.read_bytes() * 1), deadline=deadline)


# ----------------------------------------------------------------------------- CSV bounds and encodings


def test_csv_dates_before_2000_are_row_errors():
    result = parse_csv(HEADER + "0001-01-01,10,,,\n1999-12-31,10,,,\n2000-01-01,10,,,\n")
    assert result.days == [Day(date(2000, 1, 1), steps=10)]
    assert [e.line for e in result.errors] == [2, 3]
    assert all("before 2000-01-01" in e.message for e in result.errors)


def test_csv_row_and_size_caps_refuse_the_file():
    rows = "".join(f"{date(2020, 1, 1) + timedelta(days=i)},100,,,\n" for i in range(60))
    with pytest.raises(ValidationError, match="more than 50 data rows"):
        parse_csv(io.BytesIO((HEADER + rows).encode()), limits=ImportLimits(max_csv_rows=50))
    with pytest.raises(ValidationError, match="larger than"):
        parse_csv(io.BytesIO((HEADER + rows * 3).encode()), limits=ImportLimits(max_csv_bytes=2048))


def test_csv_is_read_as_a_stream():
    """An endless CSV is refused at the row cap after reading about 1 MB: it is never read whole."""
    class Endless(io.RawIOBase):
        def __init__(self):
            self.served = 0

        def readable(self):
            return True

        def readinto(self, b):
            line = b"2024-01-01,100,,,\n" * (len(b) // 18) if self.served else HEADER.encode()
            b[:len(line)] = line
            self.served += len(line)
            return len(line)

    src = Endless()
    with pytest.raises(ValidationError, match="more than 40,000 data rows"):
        parse_csv(io.BufferedReader(src))
    assert src.served < (2 << 20)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1252"])
def test_csv_encodings_are_decoded(encoding):
    text = HEADER + "2024-03-01,8000,30,7.5,60\n"
    data = text.encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    result = parse_csv(io.BytesIO(data))
    assert result.errors == [] and result.days == [Day(date(2024, 3, 1), 8000, 30, 7.5, 60)]


def test_binary_and_broken_encodings_are_named():
    with pytest.raises(ValidationError, match="NUL bytes"):
        parse_csv(io.BytesIO(b"PK\x03\x04\x00\x00\x14\x00binary\x00stuff"))
    good_start = (HEADER + "2024-03-01,1,,,\n" * 5000).encode()  # past the sniffed head, then bad UTF-8
    with pytest.raises(ValidationError, match="not readable as UTF-8"):
        parse_csv(io.BytesIO(good_start + b"2024-03-02,\xff\xfe,,,\n"))


# ----------------------------------------------------------------------------- nothing written


def _counts(sf) -> tuple[int, int]:
    with sf() as s:
        return (s.scalar(select(func.count()).select_from(WearableDay)),
                s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "wearables.import")))


def test_refused_and_timed_out_imports_write_nothing(world):
    case_id = submitted_case(world)
    before = _counts(world.sf)
    bomb = _zip("export.xml", _padded_export(3 << 20))
    with pytest.raises(ValidationError):
        import_file(world.sf, world.pcp_a, case_id, bomb, "apple_health", limits=SMALL)
    with pytest.raises(ValidationError, match="longer than 0 seconds"):
        import_file(world.sf, world.pcp_a, case_id, io.BytesIO(SAMPLE_XML.read_bytes()), "apple_health",
                    limits=ImportLimits(time_limit_s=0))
    big = HEADER + "".join(f"{date(2020, 1, 1) + timedelta(days=i)},100,,,\n" for i in range(60))
    with pytest.raises(ValidationError):
        import_file(world.sf, world.pcp_a, case_id, io.BytesIO(big.encode()), "csv", limits=SMALL)
    assert _counts(world.sf) == before == (0, 0)
    report, _ = import_file(world.sf, world.pcp_a, case_id, io.BytesIO(SAMPLE_XML.read_bytes()), "apple_health")
    assert report.added == 3 and _counts(world.sf) == (3, 1)


_fuzz_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                  HealthCheck.function_scoped_fixture])


@_fuzz_settings
@given(st.binary(max_size=2000))
def test_fuzz_csv_bytes_only_ever_give_validation_errors(data):
    try:
        result = parse_csv(io.BytesIO(data), limits=SMALL)
    except ValidationError as exc:
        assert "file" in exc.errors
    else:
        assert all(isinstance(d, Day) for d in result.days)


_xml_base = _export(_record(STEPS, "2024-03-01 08:00:00", "2024-03-01 08:10:00", 42),
                    _record(STEPS, "2024-03-01 08:05:00", "2024-03-01 08:20:00", 40, source="iPhone")).getvalue()
_zip_base = _zip("export.xml", _xml_base).getvalue()


@_fuzz_settings
@given(st.sampled_from([_xml_base, _zip_base]), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                        max_size=8), st.integers(0, 10_000))
def test_fuzz_mutated_exports_only_ever_give_validation_errors(base, flips, cut):
    data = bytearray(base)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    data = bytes(data[: max(1, cut % (len(data) + 1))])
    try:
        result = parse_apple_health(io.BytesIO(data), limits=SMALL)
    except ValidationError as exc:
        assert "file" in exc.errors
    else:
        assert all(isinstance(d, Day) for d in result.days)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), kind=st.sampled_from(["csv", "apple_health"]))
def test_fuzz_import_file_writes_nothing_when_it_refuses(world_once, data, kind):
    world, case_id = world_once
    before = _counts(world.sf)
    try:
        import_file(world.sf, world.pcp_a, case_id, io.BytesIO(data), kind,
                    limits=SMALL)
    except ValidationError:
        assert _counts(world.sf) == before


@pytest.fixture
def world_once(world):
    return world, submitted_case(world)
