"""Database constraints back the service validation, on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from db.models import Case, Patient, Practice, Treatment, User, WearableDay


@pytest.fixture
def base(sf):
    with sf.begin() as s:
        p = Practice(code="P", name="P")
        s.add(p)
        s.flush()
        u = User(username="doc", name="Doc", password_hash="x", practice_id=p.id)
        s.add(u)
        s.flush()
        pt = Patient(practice_id=p.id, nhs_number="9434765919", given_name="A", family_name="B", birth_year=1960,
                     sex="female")
        s.add(pt)
        s.flush()
        return sf, p.id, u.id, pt.id


def _insert(sf, obj):
    with sf.begin() as s:
        s.add(obj)


def test_submitted_case_needs_a_question(base):
    sf, practice_id, user_id, patient_id = base
    with pytest.raises(IntegrityError):
        _insert(sf, Case(patient_id=patient_id, practice_id=practice_id, referrer_id=user_id, condition="knee_oa",
                         pain_classification="secondary", status="submitted", clinical_question=" ",
                         submitted_at=date.today()))


def test_submitted_case_cannot_carry_red_flags(base):
    sf, practice_id, user_id, patient_id = base
    with pytest.raises(IntegrityError):
        _insert(sf, Case(patient_id=patient_id, practice_id=practice_id, referrer_id=user_id, condition="knee_oa",
                         pain_classification="secondary", status="submitted", clinical_question="Q?",
                         red_flag_count=1, submitted_at=date.today()))


@pytest.mark.parametrize("field,value", [("condition", "gout"), ("status", "lost"), ("baseline_pain", 11)])
def test_case_vocabulary_and_ranges(base, field, value):
    sf, practice_id, user_id, patient_id = base
    kwargs = dict(patient_id=patient_id, practice_id=practice_id, referrer_id=user_id, condition="knee_oa",
                  pain_classification="secondary")
    kwargs[field] = value
    with pytest.raises(IntegrityError):
        _insert(sf, Case(**kwargs))


def test_foreign_keys_are_enforced(base):
    sf, practice_id, user_id, _ = base
    with pytest.raises(IntegrityError):
        _insert(sf, Case(patient_id=9999, practice_id=practice_id, referrer_id=user_id, condition="knee_oa",
                         pain_classification="secondary"))


def test_medicine_needs_drug_and_dates_in_order(base):
    sf, _, _, patient_id = base
    with pytest.raises(IntegrityError):
        _insert(sf, Treatment(patient_id=patient_id, category="medicine", name="x", start_date=date(2025, 1, 1)))
    with pytest.raises(IntegrityError):
        _insert(sf, Treatment(patient_id=patient_id, category="exercise", name="x", start_date=date(2025, 1, 2),
                              end_date=date(2025, 1, 1)))


def test_wearable_day_is_unique_per_source_and_in_range(base):
    sf, _, _, patient_id = base
    _insert(sf, WearableDay(patient_id=patient_id, day=date(2025, 1, 1), source="csv", steps=5000))
    with pytest.raises(IntegrityError):
        _insert(sf, WearableDay(patient_id=patient_id, day=date(2025, 1, 1), source="csv", steps=10))
    with pytest.raises(IntegrityError):
        _insert(sf, WearableDay(patient_id=patient_id, day=date(2025, 1, 2), source="csv", sleep_hours=25))


def test_nhs_number_unique(base):
    sf, practice_id, _, _ = base
    with pytest.raises(IntegrityError):
        _insert(sf, Patient(practice_id=practice_id, nhs_number="9434765919", given_name="C", family_name="D",
                            birth_year=1970, sex="male"))


def test_queue_indexes_exist(sf):
    engine = sf.kw["bind"]
    names = {ix["name"] for ix in inspect(engine).get_indexes("hub_case")}
    assert {"ix_hub_case_queue_status", "ix_hub_case_queue_practice", "ix_hub_case_queue_condition",
            "ix_hub_case_queue_priority"} <= names


def test_migrations_match_models(sf):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.base import Base

    engine = sf.kw["bind"]
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
