"""Bulk cases for benchmarks, written with bulk inserts on top of (or without) the demo cohort. Not part of
the product: the hub never imports it.

`history="demo"` (default) gives each case a demo-like record: treatments (medicines with opioid and
gabapentinoid courses, physiotherapy, psychology), PROMs (pain every 6-8 weeks, PHQ-9/GAD-7/MSK-HQ, some
not returned, rare PHQ-9 item 9 alerts), reviews (attended with or without changes, missed), wearable days
for some patients, and for discussed/returned cases a past hub meeting with a final decision, actions and a
goal, so that the flag mix after a recompute resembles the demo's. `history="minimal"` is the old cohort
(3-5 pain scores each)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from db.models import (
    Action,
    AgendaItem,
    Assessment,
    Case,
    Decision,
    Goal,
    Meeting,
    Patient,
    Practice,
    Review,
    Treatment,
    User,
    UserRole,
    WearableDay,
)
from hub import audit
from hub.auth import hash_password
from hub.demo.catalogue import BACK, CONDITION_MIX, GOALS, QUESTIONS, SITE
from hub.demo.history import at_minute, clamp
from hub.demo.people import (
    DEMO_PASSWORD,
    DEMO_USERS,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    PRACTICES,
    create_users,
    nhs_numbers,
)
from hub.vocab import RED_FLAGS
from db.engine import SessionFactory


_BULK_STATUS = {"submitted": 40, "triaged": 30, "scheduled": 12, "returned": 14, "closed": 4}
_DEMO_STATUS = {"submitted": 30, "triaged": 24, "scheduled": 11, "discussed": 3, "returned": 20, "closed": 9,
                "draft": 3}
_BULK_QUESTIONS = tuple(q for qs in QUESTIONS.values() for q in qs)


def seed_bulk_cases(session_factory: SessionFactory, n_cases: int, *, seed: int = 7, today: date | None = None,
                    history: str = "demo") -> None:
    """Add n_cases cases (one new patient each) fast, for benchmarks; `history` is
    "demo" (demo-like records and status mix, drafts included; see the module docstring) or "minimal"
    (submitted-or-later cases with a few pain scores)."""
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
                    uid = create_users(s, {code: pid}, [demo_name])[demo_name]
                else:
                    user = User(username=f"gp.bench{pid}", name=f"Dr Bench {code.title()}",
                                password_hash=hash_password(DEMO_PASSWORD), practice_id=pid,
                                roles=[UserRole(role="pcp")])
                    s.add(user)
                    s.flush()
                    uid = user.id
            referrers.append((pid, uid))
        existing = set(s.scalars(select(Patient.nhs_number)))
    numbers = nhs_numbers(rng, n_cases, existing)

    conditions = list(CONDITION_MIX)
    cond_weights = [v[0] for v in CONDITION_MIX.values()]
    mix = _DEMO_STATUS if history == "demo" else _BULK_STATUS
    statuses, status_weights = list(mix), list(mix.values())
    meetings = _past_meetings(session_factory, today) if history == "demo" else []
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
            _, lo, hi = CONDITION_MIX[cond]
            created = at_minute(today - timedelta(days=rng.randint(181, 900)), 9 * 60)
            patient_rows.append({
                "practice_id": practice_id, "nhs_number": numbers[k],
                "given_name": rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES),
                "family_name": rng.choice(FAMILY_NAMES),
                "birth_year": today.year - rng.randint(lo, hi), "sex": sex, "created_at": created,
            })
            plan.append((practice_id, referrer_id, cond))
        with session_factory.begin() as s:
            ids = list(s.scalars(patient_table.insert().returning(patient_table.c.id, sort_by_parameter_order=True),
                                 patient_rows))
            case_rows, assessment_rows = [], []
            for pid, (practice_id, referrer_id, cond) in zip(ids, plan):
                status = rng.choices(statuses, status_weights)[0]
                submitted = at_minute(today - timedelta(days=rng.randint(1, 180)), rng.randint(8 * 60, 18 * 60))
                pain = rng.uniform(4.0, 8.5)
                trend = rng.uniform(-0.5, 0.3)
                n_scores = rng.randint(3, 5)
                last_day = submitted.date() + timedelta(days=rng.randint(0, 20))
                if last_day > today:
                    last_day = today
                latest = None
                for j in range(n_scores):
                    d = last_day - timedelta(days=28 * (n_scores - 1 - j))
                    v = int(clamp(round(pain + trend * j + rng.gauss(0, 0.6)), 0, 10))
                    assessment_rows.append({
                        "patient_id": pid, "instrument": "nrs", "instrument_version": "1", "scoring_version": "1",
                        "administered_on": d, "mode": "self", "status": "completed", "responses": {"NRS_Q1": v},
                        "total": float(v), "band": None, "safety_alert": False, "entered_by": None,
                        "created_at": at_minute(d, 600),
                    })
                    latest = (float(v), d)
                    if j == 0:
                        baseline = float(v)
                changed = submitted + timedelta(hours=rng.randint(0, 24 * 10)) if status != "submitted" else submitted
                risk_tool = "sbst" if cond in BACK else "start_msk"
                case_rows.append({
                    "patient_id": pid, "practice_id": practice_id, "referrer_id": referrer_id, "condition": cond,
                    "pain_classification": "primary" if cond == "widespread_pain" else "secondary",
                    "duration_months": rng.randint(6, 240), "clinical_question": rng.choice(_BULK_QUESTIONS).format(
                        Name="The patient", Pron="They", pron="they", obj="them", poss="their", site=SITE[cond],
                        Site=SITE[cond].capitalize(), months=rng.randint(6, 36), n_meds=rng.randint(2, 4),
                        first=baseline, last=latest[0], recent="physiotherapy", drug="codeine",
                        treatments="analgesics and physiotherapy", opioid="opioids", ome=rng.choice((60, 90, 120)),
                        co=""),
                    "red_flags": red_flags, "red_flag_count": 0, "baseline_pain": baseline, "risk_tool": risk_tool,
                    "risk_band": rng.choice(("low", "medium", "high")), "goals_text": rng.choice(GOALS[cond]),
                    "concerns_text": "", "status": status, "created_at": submitted - timedelta(hours=2),
                    "updated_at": changed, "submitted_at": submitted, "status_changed_at": changed,
                    "latest_pain": latest[0], "latest_pain_instrument": "nrs", "latest_pain_on": latest[1],
                    "priority": 0.0, "priority_reasons": [], "version": 1,
                })
            if history == "demo":
                for row in case_rows:  # a draft has not been submitted
                    if row["status"] == "draft":
                        row["submitted_at"] = None
                case_ids = list(s.scalars(case_table.insert().returning(case_table.c.id, sort_by_parameter_order=True),
                                          case_rows))
                assessment_rows = _demo_histories(s, rng, ids, case_ids, case_rows, meetings, today)
            else:
                s.execute(case_table.insert(), case_rows)
            if assessment_rows:
                s.execute(assessment_table.insert(), assessment_rows)
    with session_factory.begin() as s:
        audit.record(s, None, "demo.bulk_seed", "demo", None, {"seed": seed, "n_cases": n_cases, "today": today})


# ----------------------------------------------------------------------------- demo-like histories

# (drug, route, daily mg or patch microgram/h): the doses span none / amber / red OME.
_OPIOIDS = (("codeine", "oral", 240.0), ("tramadol", "oral", 200.0), ("oxycodone", "oral", 40.0),
            ("oxycodone", "oral", 80.0), ("morphine", "oral", 120.0), ("buprenorphine", "transdermal", 10.0))
_OTHER_MEDS = (("paracetamol", "oral", 4000.0), ("naproxen", "oral", 1000.0), ("amitriptyline", "oral", 20.0),
               ("duloxetine", "oral", 60.0))
_GABAPENTINOIDS = (("pregabalin", "oral", 300.0), ("gabapentin", "oral", 1800.0))
_NONPHARM = ("exercise", "education", "psychological", "manual_therapy", "social_prescribing", "acupuncture")
_CHANGES = ("dose_change", "drug_start", "new_nonpharm_intervention", "referral", "psych_intervention")


def _past_meetings(session_factory: SessionFactory, today: date) -> list[tuple[int, date]]:
    """A past hub meeting every two weeks over the last 10 months (id, day), for bulk decisions."""
    with session_factory.begin() as s:
        chair = s.scalar(select(User.id).order_by(User.id).limit(1))
        out = []
        for k in range(2, 22):
            day = today - timedelta(days=14 * k)
            m = Meeting(title=f"Bench hub meeting {day:%d %b %Y}", starts_at=at_minute(day, 13 * 60), chair_id=chair,
                        status="finalised", finalised_at=at_minute(day, 16 * 60))
            s.add(m)
            s.flush()
            out.append((m.id, day))
        return out


def _medicine(pid: int, drug: str, route: str, dose: float, start: date, end: date | None) -> dict:
    patch = dose if route == "transdermal" else None
    return {"patient_id": pid, "category": "medicine", "name": drug.capitalize(), "drug": drug, "route": route,
            "daily_dose_mg": None if patch else dose, "patch_mcg_per_h": patch, "dose_text": "",
            "start_date": start, "end_date": end, "status": "stopped" if end else "active",
            "reason_stopped": "ineffective" if end else None, "adherence_pct": None, "notes": "",
            "created_by": None, "created_at": at_minute(start, 9 * 60)}


def _demo_histories(s, rng: random.Random, patient_ids: list[int], case_ids: list[int], case_rows: list[dict],
                    meetings: list[tuple[int, date]], today: date) -> list[dict]:
    """Insert treatments, reviews, wearable days and decisions of these cases; return their assessment rows."""
    treatments, reviews, wearables, assessments = [], [], [], []
    decided: list[tuple[int, int, int, date, dict]] = []  # (case id, patient id, meeting id, day, case row)
    for pid, cid, row in zip(patient_ids, case_ids, case_rows):
        start = (row["submitted_at"] or row["created_at"]).date() - timedelta(days=rng.randint(90, 300))
        span = max(30, (today - start).days)
        # Treatments: 4-9 courses; about a third on an opioid, some with a gabapentinoid too.
        on_opioid = rng.random() < 0.35
        if on_opioid:
            drug, route, dose = rng.choice(_OPIOIDS)
            treatments.append(_medicine(pid, drug, route, dose, start + timedelta(days=rng.randint(0, 60)), None))
            if rng.random() < 0.3:
                g = rng.choice(_GABAPENTINOIDS)
                treatments.append(_medicine(pid, *g, start + timedelta(days=rng.randint(30, 90)), None))
        for _ in range(rng.randint(1, 3)):
            m = rng.choice(_OTHER_MEDS)
            st = start + timedelta(days=rng.randint(0, span // 2))
            treatments.append(_medicine(pid, *m, st, st + timedelta(days=rng.randint(30, 120))
                                        if rng.random() < 0.5 else None))
        for _ in range(rng.randint(2, 4)):
            cat = rng.choice(_NONPHARM)
            st = start + timedelta(days=rng.randint(0, span - 1))
            end = st + timedelta(days=rng.randint(28, 84))
            treatments.append({"patient_id": pid, "category": cat, "name": cat.replace("_", " ").capitalize(),
                               "drug": None, "route": None, "daily_dose_mg": None, "patch_mcg_per_h": None,
                               "dose_text": "", "start_date": st, "end_date": end if end < today else None,
                               "status": "stopped" if end < today else "active",
                               "reason_stopped": "completed" if end < today else None, "adherence_pct": None,
                               "notes": "", "created_by": None, "created_at": at_minute(st, 9 * 60)})
        # PROMs every 6-8 weeks: pain (NRS or PEG), PHQ-9 / GAD-7 / MSK-HQ every other time; some not returned.
        pain = rng.uniform(4.5, 8.5)
        trend = rng.choice((-0.25, -0.1, 0.0, 0.0, 0.05))
        non_returner = rng.random() < 0.15
        d, j = start, 0
        while d <= today:
            last_two = (today - d).days < 100
            returned = not (non_returner and last_two)
            v = int(clamp(round(pain + trend * j + rng.gauss(0, 0.6)), 0, 10))
            for inst, total, responses in (("nrs", float(v), {"NRS_Q1": v}),) + ((
                    ("phq9", float(rng.randint(3, 18)), {}), ("gad7", float(rng.randint(2, 15)), {}),
                    ("mskhq", float(rng.randint(15, 45)), {})) if j % 2 == 0 else ()):
                safety = inst == "phq9" and returned and rng.random() < 0.004
                if safety:
                    responses = {"PHQ9_Q9": 1}
                assessments.append({
                    "patient_id": pid, "instrument": inst, "instrument_version": "1", "scoring_version": "1",
                    "administered_on": d, "mode": "self", "status": "completed" if returned else "not_returned",
                    "responses": responses if returned else {}, "total": total if returned else None,
                    "band": None, "safety_alert": safety, "entered_by": None, "created_at": at_minute(d, 600)})
            d += timedelta(days=rng.randint(42, 56))
            j += 1
        # Reviews every 6-10 weeks; some patients miss the recent ones, some reviews change nothing.
        disengaging = rng.random() < 0.18
        inert = rng.random() < 0.3
        d = start + timedelta(days=rng.randint(14, 40))
        while d <= today:
            recent = (today - d).days < 120
            attendance = "dna" if disengaging and recent and rng.random() < 0.8 else (
                "cancelled" if rng.random() < 0.04 else "attended")
            changes = [] if attendance != "attended" or (inert and recent) else (
                [rng.choice(_CHANGES)] if rng.random() < 0.6 else [])
            reviews.append({"patient_id": pid, "case_id": cid, "review_date": d, "attendance": attendance,
                            "mode": "face_to_face", "management_changes": changes,
                            "inaction_justifications": [] if changes or inert or attendance != "attended"
                            else ["shared_decision_to_maintain"],
                            "adherence_pct": rng.randint(50, 100) if attendance == "attended" else None,
                            "treatment_too_much": rng.random() < 0.03 if attendance == "attended" else None,
                            "notes": "", "reviewer_id": None, "created_at": at_minute(d, 11 * 60)})
            d += timedelta(days=rng.randint(42, 70))
        # Wearables for about one patient in eight: the last 70 days, some wearing it less lately.
        if rng.random() < 0.12:
            dropping = rng.random() < 0.25
            for k in range(70):
                day = today - timedelta(days=k)
                if dropping and k < 28 and rng.random() < 0.7:
                    continue
                wearables.append({"patient_id": pid, "day": day, "source": "demo",
                                  "steps": rng.randint(1500, 9000), "active_minutes": rng.randint(5, 60),
                                  "sleep_hours": round(rng.uniform(5, 8.5), 1), "resting_hr": rng.randint(55, 80)})
        if row["status"] in ("discussed", "returned", "closed") and meetings:
            mid, day = rng.choice(meetings)
            decided.append((cid, pid, mid, day, row))
    s.execute(Treatment.__table__.insert(), treatments)
    s.execute(Review.__table__.insert(), reviews)
    if wearables:
        s.execute(WearableDay.__table__.insert(), wearables)
    _decisions(s, rng, decided, today)
    return assessments


def _decisions(s, rng: random.Random, decided: list, today: date) -> None:
    """One agenda item and final decision per discussed case, with 1-3 actions (some open past their due
    date) and a SMART goal, so that follow-through re-listing has something to look at."""
    if not decided:
        return
    items = s.scalars(AgendaItem.__table__.insert().returning(AgendaItem.__table__.c.id,
                                                                sort_by_parameter_order=True),
                      [{"meeting_id": mid, "case_id": cid, "position": k, "minutes": 10, "status": "discussed"}
                       for k, (cid, _, mid, _, _) in enumerate(decided)]).all()
    decision_rows = []
    for item_id, (cid, _, _, day, _) in zip(items, decided):
        decision_rows.append({
            "case_id": cid, "agenda_item_id": item_id, "status": "final", "formulation": "Bench formulation.",
            "pathway_step": "", "answer": "See plan.", "flag_responses": {}, "agreed_plan": "Plan as discussed.",
            "primary_outcome": "nrs", "follow_up_date": day + timedelta(days=rng.choice((42, 56, 84))),
            "flags_at_decision": [], "updated_at": at_minute(day, 15 * 60), "finalised_at": at_minute(day, 16 * 60),
            "version": 1})
    dids = s.scalars(Decision.__table__.insert().returning(Decision.__table__.c.id, sort_by_parameter_order=True),
                     decision_rows).all()
    actions, goals = [], []
    for did, (cid, _, _, day, _) in zip(dids, decided):
        for k in range(rng.randint(1, 3)):
            due = day + timedelta(days=rng.choice((14, 28, 42)))
            done = rng.random() < 0.7 or due >= today
            actions.append({"case_id": cid, "decision_id": did, "description": f"Bench action {k + 1}",
                            "owner_role": "pcp", "due_date": due, "status": "done" if done else "open",
                            "completed_at": at_minute(min(due, today), 10 * 60) if done else None, "note": "",
                            "created_at": at_minute(day, 16 * 60)})
        goals.append({"decision_id": did, "case_id": cid, "position": 0, "target_activity": "Walk to the shops",
                      "support_needed": "", "performance_quantifier": "three times a week", "set_date": day,
                      "due_date": day + timedelta(days=84), "importance": 2, "difficulty": 1,
                      "levels": {"-2": "no walking", "-1": "once", "0": "three times", "1": "four", "2": "daily"},
                      "baseline_level": -1, "achieved_level": None})
    s.execute(Action.__table__.insert(), actions)
    s.execute(Goal.__table__.insert(), goals)
