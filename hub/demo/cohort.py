"""The synthetic demo cohort: three practices, their clinicians and ~150 patients with a year or more of
treatments, PROMs, reviews and wearable days, deterministic for a given seed and date. This module assembles
each patient (plan -> treatment history -> measures -> hub case) and writes the cohort with bulk inserts, so
a fresh start seeds in a few seconds; it also wipes and resets the demo database.

No real patient data anywhere: names are drawn from common-name lists, NHS numbers come from the
never-issued test range 999 000 0000 - 999 999 9999. Each patient follows one trajectory (improving,
plateaued, worsening, disengaging, high-dose opioid) so that every signal of docs/CLINICAL.md
section 5 and every opioid rule of its section 4 has something to show. The parts: hub.demo.people (practices,
users, identities), hub.demo.catalogue (what histories are drawn from), hub.demo.history (planning and
treatment histories), hub.demo.measures (PROMs, risk tools, wearable days).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Engine, MetaData, Table, delete, func, select, text

from db.models import (
    Assessment,
    AuditEvent,
    Case,
    Patient,
    Practice,
    Review,
    Treatment,
    User,
    UserRole,
    WearableDay,
)
from hub import audit
from hub.demo.catalogue import CONCERNS, DRUGS, GOALS, QUESTIONS, SITE, TRAJECTORIES, format_dose
from hub.demo.history import (
    Plan,
    Regimen,
    add_background,
    apply_change,
    at_minute,
    clamp,
    decide_changes,
    plan_cohort,
    ramp,
)
from hub.demo.measures import add_safety_examples, simulate_assessments, simulate_wearables
from hub.demo.people import DEMO_PASSWORD, DEMO_USERS, PRACTICE_ODS, PRACTICES, create_users, identity, pcp_username
from hub.records import treatment_label
from hub.vocab import RED_FLAGS
from db.engine import SessionFactory


def _simulate(p: Plan, today: date, seed: int, pcp_id: int | None) -> dict[str, Any]:
    """Treatments, assessments, reviews, wearable days and the case of one patient (rows without ids)."""
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 2)
    span = max(1, (today - p.start).days)
    reg = Regimen(today, pcp_id)
    add_background(reg, rng, p)

    # Reviews every 4-8 weeks; management changes happen there and shape the treatment record.
    reviews: list[dict[str, Any]] = []
    d = p.start + timedelta(days=rng.randint(7, 21))
    dna_recent = 0
    while d <= today:
        t = (d - p.start).days / span
        if p.trajectory == "disengaging":
            p_dna = 0.05 + 0.45 * ramp((t - 0.35) / 0.5)
            p_cancel = 0.05 + 0.1 * t
        else:
            p_dna, p_cancel = 0.05, 0.05
        u = rng.random()
        attendance = "dna" if u < p_dna else "cancelled" if u < p_dna + p_cancel else "attended"
        # A disengaging patient misses at least two of the last six months' appointments (docs/CLINICAL.md 5.4).
        if p.trajectory == "disengaging" and (today - d).days <= 150 and dna_recent < 2 and attendance == "attended":
            attendance = "dna"
        if p.trajectory == "disengaging" and (today - d).days <= 150 and attendance == "dna":
            dna_recent += 1
        mode = rng.choices(("face_to_face", "telephone", "video", "telemedicine_checkin"), (50, 30, 8, 12))[0]
        changes: list[str] = []
        justifications: list[str] = []
        notes: list[str] = []
        adherence = too_much = None
        if attendance == "attended":
            if p.trajectory == "disengaging":
                adherence = int(clamp(88 - 60 * ramp((t - 0.2) / 0.7) + rng.uniform(-6, 6), 5, 100))
                too_much = t > 0.45 and rng.random() < 0.7
            else:
                adherence = int(clamp(rng.gauss(82 if p.trajectory != "plateaued" else 76, 8), 30, 100))
                too_much = p.trajectory == "high_dose_opioid" and rng.random() < 0.1
            wanted, justifications = decide_changes(rng, p, t, reg)
            for kind in dict.fromkeys(wanted):
                note = apply_change(kind, reg, rng, p, d, adherence)
                if note is not None:
                    changes.append(kind)
                    notes.append(note)
            if not changes and not justifications and wanted:
                # Nothing could be changed after all: a clinician would record why.
                justifications = ["shared_decision_to_maintain"]
            if justifications and not notes:
                notes.append({"patient_declined": "Options discussed; patient prefers not to change anything now.",
                              "recent_change_within_onset_window": "Recent change needs time to work.",
                              "awaiting_investigation_or_specialist": "Awaiting specialist opinion.",
                              "adherence_support_given": "Adherence support given.",
                              "close_to_target": "Close to agreed goal.",
                              "competing_priority": "Other health problems took priority today.",
                              "shared_decision_to_maintain": "Agreed together to continue current plan."}
                             [justifications[0]])
            elif not notes:
                notes.append("Reviewed. Continue.")
        else:
            notes.append("Did not attend; letter sent." if attendance == "dna" else "Cancelled by patient.")
        reviews.append({
            "review_date": d, "attendance": attendance, "mode": mode, "management_changes": changes,
            "inaction_justifications": justifications, "adherence_pct": adherence, "treatment_too_much": too_much,
            "notes": " ".join(notes), "reviewer_id": pcp_id, "created_at": at_minute(d, rng.randint(8 * 60, 18 * 60)),
        })
        d += timedelta(days=rng.randint(28, 56))

    # High-dose opioid patients must end at or above 120 mg OME/day whatever the review dates allowed.
    if p.trajectory == "high_dose_opioid":
        for row in reg.active_meds("strong"):
            while reg.ome() < 120:
                ladder = DRUGS[row["_key"]][2]
                idx = ladder.index(row["_dose"])
                if idx + 1 >= len(ladder):
                    break
                row.update(_dose=ladder[idx + 1])
                if row["route"] == "transdermal":
                    row["patch_mcg_per_h"] = ladder[idx + 1]
                else:
                    row["daily_dose_mg"] = ladder[idx + 1]
                row["name"] = treatment_label("medicine", "", row["drug"], row["route"], row["daily_dose_mg"],
                                              row["patch_mcg_per_h"])
                row["dose_text"] = format_dose(row["_key"], ladder[idx + 1])

    assessments = simulate_assessments(p, today, rng, pcp_id)
    add_safety_examples(p, today, seed, reg, assessments)
    wearables = simulate_wearables(p, today, seed) if p.wears else []
    return {"treatments": reg.rows, "assessments": assessments, "reviews": reviews, "wearables": wearables,
            "regimen": reg}


# ----------------------------------------------------------------------------- cases

_SUBMITTED_DAYS_AGO = {"submitted": (1, 21), "triaged": (5, 35), "scheduled": (12, 50), "discussed": (25, 65),
                       "returned": (35, 80), "closed": (55, 90)}


def _pronouns(sex: str) -> tuple[str, str, str]:
    if sex == "female":
        return "she", "her", "her"
    if sex == "male":
        return "he", "him", "his"
    return "they", "them", "their"


def _case_row(p: Plan, sim: dict[str, Any], today: date, seed: int, practice_id: int, pcp_id: int) -> dict:
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 4)
    status = p.case_status or "draft"
    pain = [a for a in sim["assessments"] if a["instrument"] in ("nrs", "peg") and a["status"] == "completed"]
    first, latest = pain[0], pain[-1]
    risk = next(a for a in sim["assessments"] if a["instrument"] in ("sbst", "startmsk"))
    reg: Regimen = sim["regimen"]
    meds = reg.active_meds()
    analgesics = [r for r in meds if DRUGS[r["_key"]][3] != "benzodiazepine"]
    nondrug = sorted({r["name"].split(":")[0].split("(")[0].strip().lower() for r in reg.rows
                      if r["category"] not in ("medicine",) and r["start_date"] <= today})
    recent_rows = [r for r in reg.rows if r["category"] != "medicine" and r["start_date"] <= today]
    recent = (recent_rows[-1]["name"][0].lower() + recent_rows[-1]["name"][1:]) if recent_rows else "physiotherapy"
    strong = reg.active_meds("strong") or reg.active_meds("weak")
    co = [r["drug"] for r in meds if DRUGS[r["_key"]][3] in ("gabapentinoid", "benzodiazepine")]
    reducible = strong or [r for r in meds if DRUGS[r["_key"]][3] == "gabapentinoid"] or meds
    drug_to_reduce = reducible[0] if reducible else None
    pron, obj, poss = _pronouns(p.sex)
    n = len(analgesics)
    treatments = ", ".join(([f"{n} analgesic{'s' if n != 1 else ''}"] if n else []) + nondrug[:2]) or "usual care"
    months = max(12, (today - p.start).days // 30)
    words = {
        "Name": p.given, "Pron": pron.capitalize(), "pron": pron, "obj": obj, "poss": poss,
        "site": SITE[p.condition], "Site": SITE[p.condition].capitalize(), "months": months,
        "n_meds": len(analgesics), "first": round(first["total"], 1), "last": round(latest["total"], 1),
        "recent": recent, "drug": drug_to_reduce["drug"] if drug_to_reduce else "the painkillers",
        "treatments": treatments,
        "opioid": ", ".join(r["name"].lower() for r in strong) or "opioids",
        "ome": round(reg.ome()), "co": (" plus " + " and ".join(co)) if co else "",
    }
    templates = [q for q in QUESTIONS[p.trajectory] if len(analgesics) >= 2 or "{n_meds}" not in q]
    question = rng.choice(templates).format(**words)
    goals = " ".join(rng.sample(GOALS[p.condition], min(2, len(GOALS[p.condition]))))
    concerns = rng.choice(CONCERNS[p.trajectory]).format(**words)
    if status == "draft":
        created = at_minute(today - timedelta(days=rng.randint(1, 12)), rng.randint(8 * 60, 17 * 60))
        submitted = None
        changed = created
        if rng.random() < 0.4:
            question = ""  # a draft may not have its question yet
    else:
        lo, hi = _SUBMITTED_DAYS_AGO[status]
        submitted = at_minute(today - timedelta(days=rng.randint(lo, hi)), rng.randint(8 * 60, 18 * 60))
        created = submitted - timedelta(days=rng.randint(0, 4), minutes=rng.randint(5, 300))
        changed = submitted if status == "submitted" else submitted + timedelta(
            days=rng.randint(0, max(0, (datetime.combine(today, time(0)) - submitted).days - 1)),
            minutes=rng.randint(10, 300))
    duration = months + rng.randint(6, 84)
    return {
        "patient_id": None, "practice_id": practice_id, "referrer_id": pcp_id, "condition": p.condition,
        "pain_classification": p.pain_class, "duration_months": min(duration, 1200),
        "clinical_question": question, "red_flags": {k: False for k in RED_FLAGS}, "red_flag_count": 0,
        "baseline_pain": round(first["total"], 2), "risk_tool": "sbst" if risk["instrument"] == "sbst" else "start_msk", "risk_band": risk["band"],
        "goals_text": goals, "concerns_text": concerns, "status": status, "created_at": created,
        "updated_at": changed, "submitted_at": submitted, "status_changed_at": changed,
        "latest_pain": latest["total"], "latest_pain_instrument": latest["instrument"],
        "latest_pain_on": latest["administered_on"], "priority": 0.0, "priority_reasons": [],
        "version": 1,
    }


# ----------------------------------------------------------------------------- public API


def is_empty(session_factory: SessionFactory) -> bool:
    """True when the database holds no practice (so the demo may be seeded)."""
    with session_factory() as s:
        return s.scalar(select(Practice.id).limit(1)) is None


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def seed_demo(session_factory: SessionFactory, *, seed: int = 2026, n_patients: int = 150, today: date | None = None,
              password: str = DEMO_PASSWORD) -> dict:
    """Seed the synthetic demo cohort into an empty database; returns row counts per table. Every demo user
    gets `password` (the published demo password unless the caller chose another)."""
    today = today or date.today()
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1.")
    plans = plan_cohort(seed, n_patients, today)
    with session_factory.begin() as s:
        if s.scalar(select(Practice.id).limit(1)) is not None:
            raise RuntimeError("The database already holds practices: the demo cohort seeds an empty database only "
                               "(use reset_demo to replace everything).")
        taken = s.scalars(select(User.username).where(User.username.in_([u["username"] for u in DEMO_USERS]))).all()
        if taken:
            raise RuntimeError(f"Demo usernames already exist: {', '.join(sorted(taken))}.")
        practices = [Practice(code=code, name=name, ods_code=PRACTICE_ODS.get(code)) for code, name in PRACTICES]
        s.add_all(practices)
        s.flush()
        practice_ids = {pr.code: pr.id for pr in practices}
        user_ids = create_users(s, practice_ids, password=password)
        for pr in practices:  # each practice's PCP is its safety responder (hub.safety)
            pr.safety_responder_id = user_ids[pcp_username(pr.code)]
        pcp_ids = [user_ids[pcp_username(code)] for code, _ in PRACTICES]
        practice_list = [practice_ids[code] for code, _ in PRACTICES]

        sims = [_simulate(p, today, seed, pcp_ids[p.practice]) for p in plans]
        patient_rows = [{
            "practice_id": practice_list[p.practice], "nhs_number": p.nhs, "given_name": p.given,
            "family_name": p.family, "birth_year": today.year - p.age, "sex": p.sex,
            "created_at": at_minute(p.start - timedelta(days=1), 9 * 60), **identity(p, today),
        } for p in plans]
        # Core tables (a mapped class's __table__ is typed as a FromClause; these are Tables).
        patient_table, case_table = cast(Table, Patient.__table__), cast(Table, Case.__table__)
        patient_ids = list(s.scalars(patient_table.insert().returning(patient_table.c.id,
                                                                      sort_by_parameter_order=True), patient_rows))

        case_plans = [(p, sim, pid) for p, sim, pid in zip(plans, sims, patient_ids) if p.case_status is not None]
        case_rows = []
        for p, sim, pid in case_plans:
            row = _case_row(p, sim, today, seed, practice_list[p.practice], pcp_ids[p.practice])
            row["patient_id"] = pid
            case_rows.append(row)
        case_ids = list(s.scalars(case_table.insert().returning(case_table.c.id, sort_by_parameter_order=True),
                                  case_rows)) if case_rows else []
        case_of_patient = {pid: cid for (_, _, pid), cid in zip(case_plans, case_ids)}

        treatments, assessments, reviews, wearables = [], [], [], []
        for sim, pid in zip(sims, patient_ids):
            treatments += [{**_strip(r), "patient_id": pid, "drug_coded": True if r["drug"] else None}
                           for r in sim["treatments"]]
            assessments += [{**r, "patient_id": pid} for r in sim["assessments"]]
            reviews += [{**r, "patient_id": pid, "case_id": case_of_patient.get(pid)} for r in sim["reviews"]]
            wearables += [{**r, "patient_id": pid} for r in sim["wearables"]]
        # Core executemany on the tables: the ORM bulk path splits batches wherever the pattern of
        # NULL values changes, which costs ten thousand round trips here.
        for model, rows in ((Treatment, treatments), (Assessment, assessments), (Review, reviews),
                            (WearableDay, wearables)):
            for i in range(0, len(rows), 20_000):
                s.execute(cast(Table, model.__table__).insert(), rows[i:i + 20_000])

        counts = {
            "practice": len(practices), "user_account": len(user_ids),
            "user_role": sum(len(u["roles"]) for u in DEMO_USERS), "patient": len(patient_ids),
            "hub_case": len(case_ids), "treatment": len(treatments), "assessment": len(assessments),
            "review": len(reviews), "wearable_day": len(wearables),
        }
        trajectories = {t: sum(1 for p in plans if p.trajectory == t) for t in TRAJECTORIES}
        audit.record(s, None, "demo.seed", "demo", None,
                     {"seed": seed, "n_patients": n_patients, "today": today, "counts": counts,
                      "trajectories": trajectories})
    return counts


def _all_tables(engine: Engine) -> list:
    from sqlalchemy.schema import sort_tables

    md = MetaData()
    md.reflect(bind=engine)
    # practice.safety_responder_id closes a cycle (user_account -> practice -> user_account): sort without it
    # (wipe clears that column first).
    return [t for t in sort_tables(md.tables.values(), skip_fn=lambda fk: fk.parent.name == "safety_responder_id")
            if t.name != "alembic_version"]


class DemoResetRefused(RuntimeError):
    """`demo --reset` on a database where somebody changed data after the demo was seeded."""


def non_demo_events(session_factory: SessionFactory) -> int:
    """How many audit events record a change of data that the demo seed did not make: events after the
    demo's completion marker (or any, if the database was never seeded as a demo) other than logins,
    reads, downloads and system bookkeeping."""
    from hub.audit import is_read_action

    with session_factory() as s:
        marker = s.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.action.in_(("demo.complete",))))
        q = select(AuditEvent.action).where(AuditEvent.seq > (marker or 0))
        if marker is None:
            q = q.where(AuditEvent.action != "demo.seed")
        return sum(1 for (action,) in s.execute(q) if not is_read_action(action))


def wipe(engine: Engine) -> None:
    """Delete all rows of every table (schema and alembic_version kept) and restart the audit chain.
    Refuses (DemoResetRefused) when the database holds non-demo events: real work is never wiped."""
    from db.engine import make_session_factory
    from hub.audit import GENESIS_HASH

    n = non_demo_events(make_session_factory(engine))
    if n:
        raise DemoResetRefused(
            f"This database holds {n} audit events of changes made after the demo was seeded (or it was never a "
            "demo): `demo --reset` refuses to delete them. Back it up (`python -m hub backup FILE`) and use a new, "
            "empty database for the demo instead.")
    tables = _all_tables(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE practice SET safety_responder_id = NULL"))
        for table in reversed(tables):
            if table.name == "audit_chain":
                conn.execute(table.update().values(seq=0, last_hash=GENESIS_HASH))
            elif table.name == "audit_event" and engine.dialect.name == "postgresql":
                # audit rows refuse DELETE (trigger); a demo's trail is emptied with TRUNCATE
                conn.execute(text("TRUNCATE TABLE audit_event"))
            else:
                conn.execute(delete(table))


def reset_demo(engine: Engine, *, seed: int = 2026, n_patients: int = 150, today: date | None = None) -> dict:
    """Wipe the database (refused when it holds non-demo events, see `wipe`) and seed the demo cohort again."""
    from db.engine import make_session_factory

    wipe(engine)
    return seed_demo(make_session_factory(engine), seed=seed, n_patients=n_patients, today=today)


def cohort_counts(session_factory: SessionFactory) -> dict[str, int]:
    """Rows per demo table (what seed_demo reports), read from the database."""
    models = {"practice": Practice, "user_account": User, "user_role": UserRole, "patient": Patient,
              "hub_case": Case, "treatment": Treatment, "assessment": Assessment, "review": Review,
              "wearable_day": WearableDay}
    with session_factory() as s:
        return {name: int(s.scalar(select(func.count()).select_from(m)) or 0) for name, m in models.items()}

