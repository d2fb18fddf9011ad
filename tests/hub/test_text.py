"""One validator for free text (control characters, one length limit per kind) used by every service
that stores text: a NUL byte or an over-long text gives a clear ValidationError and writes nothing, on
SQLite and PostgreSQL (where a NUL used to crash with a DataError). Identifiers are range-checked.
Fuzzing: the validators never raise anything but ValidationError."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.models import Action, AuditEvent, Comment, Patient, User
from hub import cases, decisions, inbox, meetings, records, users
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.errors import NotFound, ValidationError
from hub.records import ReviewInput, TreatmentInput
from hub.text import KINDS, MAX_ID, clean_text, parse_id
from hub.vocab import RED_FLAGS

STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)  # today: finalising needs the meeting day
NUL = "Knee\x00pain"


# ----------------------------------------------------------------------------- the validator


@pytest.mark.parametrize("kind", list(KINDS))
def test_nul_and_control_characters_are_refused_in_every_kind(kind):
    for bad, what in (("a\x00b", "NUL"), ("a\x1bb", "U+001B"), ("a\x7fb", "U+007F"), ("a\ud800b", "U+D800")):
        with pytest.raises(ValidationError) as exc:
            clean_text(bad, kind, field="f", label="thing")
        assert what in exc.value.errors["f"] and "thing" in exc.value.errors["f"]


def test_line_breaks_and_tabs_only_in_multiline_kinds():
    assert clean_text(" a\r\nb\tc\rd ", "note") == "a\nb\tc\nd"
    assert clean_text("a\nb", "long") == "a\nb"
    for kind in ("name", "title", "short", "link", "search"):
        with pytest.raises(ValidationError, match="one line"):
            clean_text("a\nb", kind, field="f")
        with pytest.raises(ValidationError, match="one line"):
            clean_text("a\tb", kind, field="f")
        with pytest.raises(ValidationError, match="one line"):
            clean_text("a\u2028b", kind, field="f")


@pytest.mark.parametrize("kind", list(KINDS))
def test_one_length_limit_per_kind(kind):
    limit = KINDS[kind].max_length
    assert clean_text("x" * limit, kind) == "x" * limit
    with pytest.raises(ValidationError, match=f"{limit:,} characters"):
        clean_text("x" * (limit + 1), kind, field="f")
    assert clean_text("  " + "x" * limit + "  ", kind) == "x" * limit  # surrounding space does not count


def test_kind_limits_fit_their_columns():
    from db.models import Meeting, Patient, Treatment, User

    assert KINDS["name"].max_length <= Patient.__table__.c.given_name.type.length
    assert KINDS["name"].max_length <= User.__table__.c.name.type.length
    assert KINDS["title"].max_length <= Meeting.__table__.c.title.type.length
    assert KINDS["title"].max_length <= Treatment.__table__.c.name.type.length
    assert KINDS["short"].max_length <= Treatment.__table__.c.dose_text.type.length
    assert KINDS["link"].max_length <= Meeting.__table__.c.video_link.type.length


def test_required_and_none():
    assert clean_text(None, "note") == ""
    with pytest.raises(ValidationError, match="Enter the title"):
        clean_text("   ", "title", field="t", required=True)
    with pytest.raises(ValidationError, match="must be text"):
        clean_text(5, "note", field="t")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.none(), st.integers(), st.binary()), st.sampled_from(list(KINDS)))
def test_fuzz_clean_text_only_raises_validation_error(value, kind):
    try:
        out = clean_text(value, kind, field="f")
    except ValidationError as exc:
        assert set(exc.errors) == {"f"} and exc.errors["f"]
    else:
        assert len(out) <= KINDS[kind].max_length and "\x00" not in out
        assert out == out.strip()


@pytest.mark.parametrize("raw,expected", [
    ("7", 7), (7, 7), (str(MAX_ID), MAX_ID), ("99999999999999999999", None), (str(MAX_ID + 1), None),
    ("0", None), ("-1", None), ("+5", None), (" 5", None), ("1e3", None), ("٣", None), ("", None), (None, None),
    (True, None), (-3, None), (2**70, None), ("0x10", None),
])
def test_parse_id_range_checks(raw, expected):
    assert parse_id(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers()))
def test_fuzz_parse_id(raw):
    value = parse_id(raw)
    assert value is None or (isinstance(value, int) and 1 <= value <= MAX_ID)


# ----------------------------------------------------------------------------- every service, both backends


def _count(sf, model) -> int:
    with sf() as s:
        return s.scalar(select(func.count()).select_from(model))


def _case_input(**kw) -> CaseInput:
    values = dict(new_patient=NewPatient(nhs_number="943 476 5919", given_name="Ann", family_name="Lee",
                                         birth_year=1960, sex="female"),
                  condition="knee_oa", pain_classification="secondary", clinical_question="What next?",
                  red_flags={k: False for k in RED_FLAGS}, baseline_pain=6)
    values.update(kw)
    return CaseInput(**values)


@pytest.fixture
def scene(world):
    """A submitted case on an agenda with a finalised decision (so an action exists)."""
    cid = cases.save_case(world.sf, world.pcp_a, _case_input(), submit=True).case_id
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    return world, cid, mid, item


def _form(**kw) -> DecisionForm:
    day = STARTS.date()
    values = dict(formulation="OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise", allergies="None known",
                  primary_outcome="nrs", follow_up_date=day + timedelta(days=56),
                  recommendations=[RecommendationInput("education", "Explain OA", owner_role="pcp",
                                                       due_date=day + timedelta(days=7))],
                  goals=[GoalInput("Walk", "alone", "20 minutes", day + timedelta(days=84), 2, 1,
                                   {-2: "5", -1: "10", 0: "20", 1: "30", 2: "45"})])
    values.update(kw)
    return DecisionForm(**values)


def test_nul_in_any_free_text_is_a_clear_validation_error_and_nothing_is_written(scene):
    world, cid, mid, item = scene
    sf = world.sf
    calls = {
        "patient given name": lambda: cases.save_case(sf, world.pcp_a, _case_input(
            new_patient=NewPatient(nhs_number="174 543 8912", given_name=NUL, family_name="Lee", birth_year=1960,
                                   sex="female"))),
        "clinical question": lambda: cases.save_case(sf, world.pcp_a, _case_input(
            patient_id=None, new_patient=NewPatient(nhs_number="174 543 8912", given_name="B", family_name="C",
                                                    birth_year=1960, sex="female"), clinical_question=NUL)),
        "goals": lambda: cases.save_case(sf, world.pcp_a, _case_input(
            new_patient=NewPatient(nhs_number="174 543 8912", given_name="B", family_name="C", birth_year=1960,
                                   sex="female"), goals_text=NUL)),
        "comment": lambda: cases.add_comment(sf, world.pcp_a, cid, NUL),
        "patient search": lambda: cases.practice_patients(sf, world.pcp_a, search=NUL),
        "treatment name": lambda: records.add_treatment(sf, world.pcp_a, cid, TreatmentInput(
            category="exercise", name=NUL, start_date=date.today())),
        "treatment notes": lambda: records.add_treatment(sf, world.pcp_a, cid, TreatmentInput(
            category="exercise", name="Walk", notes=NUL, start_date=date.today())),
        "review notes": lambda: records.add_review(sf, world.pcp_a, cid, ReviewInput(review_date=date.today(),
                                                                                   notes=NUL)),
        "meeting title": lambda: meetings.create_meeting(sf, world.chair, title=NUL, starts_at=STARTS),
        "video link": lambda: meetings.create_meeting(sf, world.chair, title="T", starts_at=STARTS,
                                                      video_link="https://x/\x00"),
        "preparation": lambda: meetings.save_preparation(sf, world.specialist, item, NUL),
        "quorum reason": lambda: meetings.finalise_meeting(sf, world.chair, mid, override_reason=NUL),
        "formulation": lambda: decisions.save(sf, world.chair, item, _form(formulation=NUL), 0),
        "recommendation": lambda: decisions.save(sf, world.chair, item, _form(recommendations=[
            RecommendationInput("education", NUL, owner_role="pcp", due_date=STARTS.date())]), 0),
        "goal level": lambda: decisions.save(sf, world.chair, item, _form(goals=[
            GoalInput("Walk", "alone", "20 minutes", STARTS.date() + timedelta(days=84), 2, 1,
                      {-2: NUL, -1: "10", 0: "20", 1: "30", 2: "45"})]), 0),
        "user name": lambda: users.create_user(sf, world.admin, username="new.user", name=NUL,
                                               password="a-long-password-1", roles=["pcp"],
                                               practice_id=world.practice_a),
        "user email": lambda: users.update_user(sf, world.admin, world.pcp_b.user_id, name="Dr B", roles=["pcp"],
                                                discipline=None, practice_id=world.practice_b, email="b\x00@x"),
    }
    before = [_count(sf, m) for m in (AuditEvent, Patient, Comment, User)]
    for name, call in calls.items():
        with pytest.raises(ValidationError) as exc:
            call()
        message = " ".join(exc.value.errors.values())
        assert "NUL" in message, (name, message)
        assert "SELECT" not in message and "INSERT" not in message, name
    assert [_count(sf, m) for m in (AuditEvent, Patient, Comment, User)] == before


def test_action_note_with_nul_is_refused(scene):
    world, cid, mid, item = scene
    v = decisions.save(world.sf, world.chair, item, _form(), 0)
    decisions.finalise(world.sf, world.chair, item, v)
    with world.sf() as s:
        action_id = s.scalar(select(Action.id).where(Action.case_id == cid))
    with pytest.raises(ValidationError, match="NUL"):
        inbox.complete_action(world.sf, world.pcp_a, action_id, NUL)
    with world.sf() as s:
        assert s.get(Action, action_id).status == "open"


def test_over_long_texts_are_refused_with_the_kind_limit(scene):
    world, cid, mid, item = scene
    huge = "x" * 100_000
    with pytest.raises(ValidationError, match="200 characters"):
        meetings.create_meeting(world.sf, world.chair, title=huge, starts_at=STARTS)
    with pytest.raises(ValidationError, match="2,000 characters"):
        meetings.save_preparation(world.sf, world.specialist, item, huge)
    with pytest.raises(ValidationError, match="100 characters"):
        users.create_user(world.sf, world.admin, username="long.name", name=huge, password="a-long-password-1",
                          roles=["pcp"], practice_id=world.practice_a)
    with pytest.raises(ValidationError, match="4,000 characters"):
        cases.save_case(world.sf, world.pcp_a, _case_input(
            new_patient=NewPatient(nhs_number="174 543 8912", given_name="B", family_name="C", birth_year=1960,
                                   sex="female"), clinical_question=huge))


def test_the_flush_guard_refuses_nul_in_any_string_column(world):
    with world.sf() as s:
        assert s.get(User, world.pcp_a.user_id).name == "Dr A"
    with pytest.raises(ValidationError, match="NUL"):
        with world.sf.begin() as s:
            s.get(User, world.pcp_a.user_id).name = NUL
    with world.sf() as s:
        assert s.get(User, world.pcp_a.user_id).name == "Dr A"


def test_out_of_range_ids_are_not_found_not_overflow(scene):
    world, cid, mid, item = scene
    for bad in (10**20, 2**31, -1, 0):
        with pytest.raises(NotFound):
            cases.case_header(world.sf, world.pcp_a, bad)
        with pytest.raises(NotFound):
            decisions.load(world.sf, world.chair, bad)
        with pytest.raises(NotFound):
            meetings.meeting_view(world.sf, world.chair, bad)
        with pytest.raises(NotFound):
            records.add_review(world.sf, world.pcp_a, bad, ReviewInput(review_date=date.today()))
        with pytest.raises(ValidationError):
            meetings.add_case(world.sf, world.chair, mid, bad)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=50))
def test_fuzz_comment_service_refuses_cleanly_and_writes_nothing_on_refusal(scene, body):
    world, cid, _mid, _item = scene
    before = _count(world.sf, Comment)
    try:
        cases.add_comment(world.sf, world.pcp_a, cid, body)
    except ValidationError:
        assert _count(world.sf, Comment) == before
    else:
        assert _count(world.sf, Comment) == before + 1


_any_text = st.one_of(st.none(), st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x20), max_size=5))


@settings(max_examples=200, deadline=None)
@given(question=_any_text, goals=_any_text, name=_any_text, notes=_any_text, dose=_any_text)
def test_fuzz_form_validators_return_messages_and_never_raise(question, goals, name, notes, dose):
    errors = cases.validate_case(_case_input(clinical_question=question, goals_text=goals or "",
                                             treatments=[TreatmentInput(category="exercise", name=name or "",
                                                                        notes=notes or "", dose_text=dose or "",
                                                                        start_date=date.today())]), submit=True)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())
    if any(v and "\x00" in v for v in (question, goals, name, notes, dose)):
        assert errors  # a NUL anywhere is always reported
    review = records.validate_review(ReviewInput(review_date=date.today(), notes=notes or ""))
    assert ("notes" in review) == (clean_ok(notes, "note") is False)


def clean_ok(value, kind) -> bool:
    try:
        clean_text(value, kind)
        return True
    except ValidationError:
        return False


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.text(max_size=12), st.floats(allow_nan=True), st.integers(), st.none(),
                     st.sampled_from(["inf", "-inf", "nan", "1e999", "9" * 400, "0x1"])))
def test_fuzz_settings_validator_only_raises_validation_error(raw):
    from hub import settings as hub_settings

    for key, spec in hub_settings.all_specs().items():
        try:
            value = hub_settings.validate(key, raw)
        except ValidationError as exc:
            assert key in exc.errors
        else:
            assert spec.minimum <= value <= spec.maximum


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formulation=st.text(max_size=40), description=st.text(max_size=40), level=st.text(max_size=20),
       title=st.text(max_size=30), name=st.text(max_size=30))
def test_fuzz_decision_meeting_and_user_services_refuse_cleanly(scene, formulation, description, level, title,
                                                                name):
    world, _cid, _mid, item = scene
    sf = world.sf
    before = _count(sf, AuditEvent)
    version = decisions.load(sf, world.chair, item).version
    form = _form(formulation=formulation, recommendations=[RecommendationInput(
        "education", description or "x", owner_role="pcp", due_date=STARTS.date() + timedelta(days=7))],
        goals=[GoalInput("Walk", "alone", "20 minutes", STARTS.date() + timedelta(days=84), 2, 1,
                         {-2: level or "5", -1: "10", 0: "20", 1: "30", 2: "45"})])
    for call in (lambda: decisions.save(sf, world.chair, item, form, version),
                 lambda: meetings.create_meeting(sf, world.chair, title=title, starts_at=STARTS, propose=False),
                 lambda: users.create_user(sf, world.admin, username="fuzz.user", name=name,
                                           password="a-long-password-1", roles=["specialist"],
                                           discipline="physiotherapy")):
        n = _count(sf, AuditEvent)
        try:
            call()
        except ValidationError as exc:
            assert exc.errors and _count(sf, AuditEvent) == n  # refused: nothing written
    with sf.begin() as s:  # keep the scene for the next example
        s.execute(User.__table__.delete().where(User.username == "fuzz.user"))
    assert _count(sf, AuditEvent) >= before


def test_every_new_session_factory_gets_the_flush_guard():
    """Each of many session factories, made and dropped one after another (as the tests do), refuses a NUL
    on flush. (The guard was skipped when SQLAlchemy's event registry, keyed by id(), still held a dropped
    factory at the same address: 2,999 of 3,000 fresh factories were seen as already guarded with the garbage
    collector off.)"""
    import gc

    from sqlalchemy import create_engine

    from db.engine import make_session_factory
    from db.models import Base, Practice

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[Practice.__table__])
    gc.disable()  # keep dropped factories' Session classes alive, as a busy test process does between collections
    try:
        for i in range(30):
            factory = make_session_factory(engine)
            with pytest.raises(ValidationError, match="NUL"):
                with factory.begin() as s:
                    s.add(Practice(code=f"P{i}", name="Knee\x00clinic"))
            del factory
    finally:
        gc.enable()
        engine.dispose()
