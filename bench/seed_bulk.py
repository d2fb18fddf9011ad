"""Bulk cases for benchmarks: many submitted-or-later cases with a few pain scores each, written with bulk
inserts on top of (or without) the demo cohort. Not part of the product: the hub never imports it."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from db.models import Assessment, Case, Patient, Practice, User, UserRole
from hub import audit
from hub.auth import hash_password
from hub.demo.cohort import (
    DEMO_PASSWORD,
    DEMO_USERS,
    PRACTICES,
    _BACK,
    _CONDITION_MIX,
    _FAMILY,
    _FEMALE,
    _GOALS,
    _MALE,
    _QUESTIONS,
    _SITE,
    _at,
    _clamp,
    _create_users,
    _nhs_numbers,
)
from hub.vocab import RED_FLAGS


_BULK_STATUS = {"submitted": 40, "triaged": 30, "scheduled": 12, "returned": 14, "closed": 4}
_BULK_QUESTIONS = tuple(q for qs in _QUESTIONS.values() for q in qs)


def seed_bulk_cases(session_factory, n_cases: int, *, seed: int = 7, today: date | None = None) -> None:
    """Add n_cases submitted-or-later cases (one new patient each, a few pain scores) fast, for benchmarks."""
    today = today or date.today()
    rng = random.Random(seed)
    with session_factory.begin() as s:
        practices = s.execute(select(Practice.id, Practice.code).order_by(Practice.id)).all()
        if not practices:
            made = [Practice(code=code, name=name) for code, name in PRACTICES]
            s.add_all(made)
            s.flush()
            practices = [(pr.id, pr.code) for pr in made]
        referrers: list[tuple[int, int]] = []
        for pid, code in practices:
            uid = s.scalar(select(User.id).join(UserRole, UserRole.user_id == User.id)
                           .where(User.practice_id == pid, UserRole.role == "pcp").order_by(User.id).limit(1))
            if uid is None:
                demo_name = next((u["username"] for u in DEMO_USERS if u["practice_code"] == code), None)
                if demo_name is not None and s.scalar(select(User.id).where(User.username == demo_name)) is None:
                    uid = _create_users(s, {code: pid}, [demo_name])[demo_name]
                else:
                    user = User(username=f"gp.bench{pid}", name=f"Dr Bench {code.title()}",
                                password_hash=hash_password(DEMO_PASSWORD), practice_id=pid,
                                roles=[UserRole(role="pcp")])
                    s.add(user)
                    s.flush()
                    uid = user.id
            referrers.append((pid, uid))
        existing = set(s.scalars(select(Patient.nhs_number)))
    numbers = _nhs_numbers(rng, n_cases, existing)

    conditions = list(_CONDITION_MIX)
    cond_weights = [v[0] for v in _CONDITION_MIX.values()]
    statuses, status_weights = list(_BULK_STATUS), list(_BULK_STATUS.values())
    red_flags = {k: False for k in RED_FLAGS}
    chunk = 10_000
    patient_table, case_table, assessment_table = Patient.__table__, Case.__table__, Assessment.__table__
    for start in range(0, n_cases, chunk):
        n = min(chunk, n_cases - start)
        plan = []
        patient_rows = []
        for k in range(start, start + n):
            practice_id, referrer_id = referrers[k % len(referrers)]
            sex = "female" if rng.random() < 0.56 else "male"
            cond = rng.choices(conditions, cond_weights)[0]
            _, lo, hi = _CONDITION_MIX[cond]
            created = _at(today - timedelta(days=rng.randint(181, 900)), 9 * 60)
            patient_rows.append({
                "practice_id": practice_id, "nhs_number": numbers[k],
                "given_name": rng.choice(_FEMALE if sex == "female" else _MALE), "family_name": rng.choice(_FAMILY),
                "birth_year": today.year - rng.randint(lo, hi), "sex": sex, "created_at": created,
            })
            plan.append((practice_id, referrer_id, cond))
        with session_factory.begin() as s:
            ids = list(s.scalars(patient_table.insert().returning(patient_table.c.id, sort_by_parameter_order=True),
                                 patient_rows))
            case_rows, assessment_rows = [], []
            for pid, (practice_id, referrer_id, cond) in zip(ids, plan):
                status = rng.choices(statuses, status_weights)[0]
                submitted = _at(today - timedelta(days=rng.randint(1, 180)), rng.randint(8 * 60, 18 * 60))
                pain = rng.uniform(4.0, 8.5)
                trend = rng.uniform(-0.5, 0.3)
                n_scores = rng.randint(3, 5)
                last_day = submitted.date() + timedelta(days=rng.randint(0, 20))
                if last_day > today:
                    last_day = today
                latest = None
                for j in range(n_scores):
                    d = last_day - timedelta(days=28 * (n_scores - 1 - j))
                    v = int(_clamp(round(pain + trend * j + rng.gauss(0, 0.6)), 0, 10))
                    assessment_rows.append({
                        "patient_id": pid, "instrument": "nrs", "instrument_version": "1", "scoring_version": "1",
                        "administered_on": d, "mode": "self", "status": "completed", "responses": {"NRS_Q1": v},
                        "total": float(v), "band": None, "safety_alert": False, "entered_by": None,
                        "created_at": _at(d, 600),
                    })
                    latest = (float(v), d)
                    if j == 0:
                        baseline = float(v)
                changed = submitted + timedelta(hours=rng.randint(0, 24 * 10)) if status != "submitted" else submitted
                risk_tool = "sbst" if cond in _BACK else "start_msk"
                case_rows.append({
                    "patient_id": pid, "practice_id": practice_id, "referrer_id": referrer_id, "condition": cond,
                    "pain_classification": "primary" if cond == "widespread_pain" else "secondary",
                    "duration_months": rng.randint(6, 240), "clinical_question": rng.choice(_BULK_QUESTIONS).format(
                        Name="The patient", Pron="They", pron="they", obj="them", poss="their", site=_SITE[cond],
                        Site=_SITE[cond].capitalize(), months=rng.randint(6, 36), n_meds=rng.randint(2, 4),
                        first=baseline, last=latest[0], recent="physiotherapy", drug="codeine",
                        treatments="analgesics and physiotherapy", opioid="opioids", ome=rng.choice((60, 90, 120)),
                        co=""),
                    "red_flags": red_flags, "red_flag_count": 0, "baseline_pain": baseline, "risk_tool": risk_tool,
                    "risk_band": rng.choice(("low", "medium", "high")), "goals_text": rng.choice(_GOALS[cond]),
                    "concerns_text": "", "status": status, "created_at": submitted - timedelta(hours=2),
                    "updated_at": changed, "submitted_at": submitted, "status_changed_at": changed,
                    "latest_pain": latest[0], "latest_pain_instrument": "nrs", "latest_pain_on": latest[1],
                    "flags": [], "priority": 0.0, "priority_reasons": [], "version": 1,
                })
            s.execute(case_table.insert(), case_rows)
            s.execute(assessment_table.insert(), assessment_rows)
    with session_factory.begin() as s:
        audit.record(s, None, "demo.bulk_seed", "demo", None, {"seed": seed, "n_cases": n_cases, "today": today})
