"""The synthetic demo cohort (hub.demo): coverage of every code and signal, consistency with
docs/CLINICAL.md, determinism, reset, bulk benchmark cases; on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from db.engine import make_engine, make_session_factory, upgrade_to_head
from db.models import Assessment, AuditEvent, Case, Patient, Practice, Review, Treatment, User, WearableDay
from bench.seed_bulk import seed_bulk_cases
from hub import demo
from hub.auth import check_password
from hub.clinical.identifiers import validate_nhs_number
from hub.vocab import CASE_STATUSES, CONDITIONS, RED_FLAGS, TREATMENT_CATEGORIES

TODAY = date(2026, 3, 2)

CHANGE_EVENTS = {"drug_start", "drug_stop", "dose_change", "taper_start", "referral", "new_nonpharm_intervention",
                 "psych_intervention", "goal_revision", "adherence_intervention"}
JUST_CODES = {"patient_declined", "recent_change_within_onset_window", "awaiting_investigation_or_specialist",
              "adherence_support_given", "close_to_target", "competing_priority", "shared_decision_to_maintain"}
PAIN = ("nrs", "peg")

# ----------------------------------------------------------------------------- independent reference scoring
# Written from docs/CLINICAL.md section 1 and 4.1, not from hub.demo, so a scoring slip in the demo shows up here.

PHQ9_BANDS = [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"), (20, "severe")]
GAD7_BANDS = [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")]


def ref_band(total, bands):
    return [name for minimum, name in bands if total >= minimum][-1]


def ref_score(instrument: str, r: dict) -> tuple[float, str | None, bool]:
    """(total, band, safety_alert) per docs/CLINICAL.md section 1."""
    if instrument == "nrs":
        assert set(r) == {"NRS_Q1"} and 0 <= r["NRS_Q1"] <= 10
        return float(r["NRS_Q1"]), None, False
    if instrument == "peg":
        assert set(r) == {"PEG_Q1", "PEG_Q2", "PEG_Q3"} and all(0 <= v <= 10 for v in r.values())
        return sum(r.values()) / 3, None, False
    if instrument == "mskhq":
        assert set(r) == {f"MSKHQ_Q{i}" for i in range(1, 15)} and all(0 <= v <= 4 for v in r.values())
        return float(sum(r.values())), None, False
    if instrument == "phq9":
        # The demo holds one PHQ-9 entered with item 9 left blank (it raises 'phq9_item9_unanswered').
        assert set(r) in ({f"PHQ9_Q{i}" for i in range(1, 10)}, {f"PHQ9_Q{i}" for i in range(1, 9)})
        assert all(0 <= v <= 3 for v in r.values())
        total = sum(r.values())
        return float(total), ref_band(total, PHQ9_BANDS), r.get("PHQ9_Q9", 0) > 0
    if instrument == "tsk11":
        assert set(r) == {f"TSK11_Q{i}" for i in range(1, 12)} and all(1 <= v <= 4 for v in r.values())
        return float(sum(r.values())), None, False
    if instrument == "gad7":
        assert set(r) == {f"GAD7_Q{i}" for i in range(1, 8)} and all(0 <= v <= 3 for v in r.values())
        total = sum(r.values())
        return float(total), ref_band(total, GAD7_BANDS), False
    if instrument == "sbst":
        assert set(r) == {f"SBST_Q{i}" for i in range(1, 10)}
        assert all(r[f"SBST_Q{i}"] in (0, 1) for i in range(1, 9)) and 0 <= r["SBST_Q9"] <= 4
        q9 = 1 if r["SBST_Q9"] >= 3 else 0
        total = sum(r[f"SBST_Q{i}"] for i in range(1, 9)) + q9
        distress = sum(r[f"SBST_Q{i}"] for i in range(5, 9)) + q9
        risk = "low" if total <= 3 else "high" if distress >= 4 else "medium"
        return float(total), risk, False
    if instrument == "startmsk":
        assert set(r) == {"STARTMSK_TOTAL"} and 0 <= r["STARTMSK_TOTAL"] <= 12
        t = r["STARTMSK_TOTAL"]
        return float(t), "low" if t <= 4 else "medium" if t <= 8 else "high", False
    raise AssertionError(f"unexpected instrument {instrument}")


UK_OME = {"morphine": 1.0, "codeine": 0.1, "dihydrocodeine": 0.1, "tramadol": 0.1, "tapentadol": 0.4,
          "oxycodone": 1.5, "hydromorphone": 5.0}
FENTANYL = {12: 30, 25: 60, 50: 120, 75: 180, 100: 240}


def daily_ome(items: list[dict]) -> float:
    """Total OME of a patient's current medicines: hub.clinical.opioids.daily_ome when it exists."""
    try:
        from hub.clinical.opioids import daily_ome as clinical_daily_ome
    except ImportError:
        clinical_daily_ome = None
    rx = [{k: v for k, v in i.items() if v is not None} for i in items]
    if clinical_daily_ome is not None:
        return float(clinical_daily_ome(rx).total)
    total = 0.0
    for i in rx:
        if i.get("route") == "transdermal":
            if i["drug"] == "fentanyl":
                total += FENTANYL[int(i["patch_mcg_per_h"])]
            elif i["drug"] == "buprenorphine":
                total += 2.4 * i["patch_mcg_per_h"]
        else:
            total += UK_OME.get(i["drug"], 0.0) * i.get("daily_dose_mg", 0.0)
    return total


# ----------------------------------------------------------------------------- helpers


def fresh_sqlite(path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    return engine, make_session_factory(engine)


def checksum(sf) -> str:
    """SHA-256 of the key columns of every demo table, keyed by NHS number (ids and hashes left out)."""
    h = hashlib.sha256()
    with sf() as s:
        queries = [
            select(Patient.nhs_number, Patient.given_name, Patient.family_name, Patient.birth_year, Patient.sex,
                   Practice.code).join(Practice, Practice.id == Patient.practice_id),
            select(Patient.nhs_number, Case.status, Case.condition, Case.pain_classification, Case.clinical_question,
                   Case.goals_text, Case.concerns_text, Case.submitted_at, Case.baseline_pain, Case.latest_pain,
                   Case.latest_pain_on, Case.risk_tool, Case.risk_band, Case.duration_months, Case.red_flags)
            .join(Patient, Patient.id == Case.patient_id),
            select(Patient.nhs_number, Treatment.category, Treatment.name, Treatment.drug, Treatment.route,
                   Treatment.daily_dose_mg, Treatment.patch_mcg_per_h, Treatment.start_date, Treatment.end_date,
                   Treatment.status, Treatment.reason_stopped, Treatment.adherence_pct, Treatment.notes)
            .join(Patient, Patient.id == Treatment.patient_id),
            select(Patient.nhs_number, Assessment.instrument, Assessment.administered_on, Assessment.status,
                   Assessment.responses, Assessment.total, Assessment.band, Assessment.safety_alert)
            .join(Patient, Patient.id == Assessment.patient_id),
            select(Patient.nhs_number, Review.review_date, Review.attendance, Review.mode, Review.management_changes,
                   Review.inaction_justifications, Review.adherence_pct, Review.treatment_too_much, Review.notes)
            .join(Patient, Patient.id == Review.patient_id),
            select(Patient.nhs_number, WearableDay.day, WearableDay.steps, WearableDay.active_minutes,
                   WearableDay.sleep_hours, WearableDay.resting_hr)
            .join(Patient, Patient.id == WearableDay.patient_id),
        ]
        for q in queries:
            rows = sorted(json.dumps([str(v) if not isinstance(v, (dict, list)) else v for v in row],
                                     sort_keys=True, default=str) for row in s.execute(q))
            h.update(str(len(rows)).encode())
            for r in rows:
                h.update(r.encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One demo cohort (default size and seed) on a temporary SQLite file, shared by the read-only tests."""
    engine, sf = fresh_sqlite(tmp_path_factory.mktemp("demo") / "t.db")
    started = time.perf_counter()
    counts = demo.seed_demo(sf, today=TODAY)
    seconds = time.perf_counter() - started
    print(f"\nseed_demo (150 patients, SQLite): {seconds:.2f} s  {counts}")
    yield {"engine": engine, "sf": sf, "counts": counts, "seconds": seconds}
    engine.dispose()


def rows(sf, q):
    with sf() as s:
        return s.execute(q).all()


def current_meds(sf) -> dict[int, list[dict]]:
    meds: dict[int, list[dict]] = defaultdict(list)
    for r in rows(sf, select(Treatment.patient_id, Treatment.drug, Treatment.route, Treatment.daily_dose_mg,
                             Treatment.patch_mcg_per_h)
                  .where(Treatment.category == "medicine", Treatment.status == "active")):
        meds[r.patient_id].append({"drug": r.drug, "route": r.route, "daily_dose_mg": r.daily_dose_mg,
                                   "patch_mcg_per_h": r.patch_mcg_per_h})
    return meds


def pain_series(sf) -> dict[int, list[tuple[date, float]]]:
    out: dict[int, list] = defaultdict(list)
    for r in rows(sf, select(Assessment.patient_id, Assessment.administered_on, Assessment.total)
                  .where(Assessment.instrument.in_(PAIN), Assessment.status == "completed")
                  .order_by(Assessment.patient_id, Assessment.administered_on, Assessment.id)):
        out[r.patient_id].append((r.administered_on, r.total))
    return out


# ----------------------------------------------------------------------------- the cohort


def test_seed_is_fast_and_counts_match_the_database(seeded):
    print(f"seed_demo took {seeded['seconds']:.2f} s")
    assert seeded["seconds"] < 20, "seed_demo must stay a few seconds (bulk inserts, one bcrypt hash)"
    assert demo.cohort_counts(seeded["sf"]) == seeded["counts"]
    c = seeded["counts"]
    assert c["practice"] >= 3 and c["patient"] >= 150
    assert c["hub_case"] >= 120 and c["wearable_day"] > 30_000 and c["assessment"] > 3000 and c["review"] > 900


def test_practices_and_demo_users(seeded):
    sf = seeded["sf"]
    with sf() as s:
        practices = {p.code: p for p in s.scalars(select(Practice))}
        assert {code: p.name for code, p in practices.items()} == {
            "NORTH": "Northgate Medical Centre", "RIVER": "Riverside Surgery", "HILL": "Hillview Health Centre"}
        users = {u.username: u for u in s.scalars(select(User))}
        assert set(users) == {u["username"] for u in demo.DEMO_USERS}
        assert len({u.password_hash for u in users.values()}) == 1, "one bcrypt hash reused for all demo users"
        for spec in demo.DEMO_USERS:
            u = users[spec["username"]]
            assert sorted(r.role for r in u.roles) == sorted(spec["roles"])
            assert u.discipline == spec["discipline"]
            assert (u.practice.code if u.practice else None) == spec["practice_code"]
            assert u.name.strip() and u.active and not u.locked
        hashed = users["gp.north"].password_hash
    assert hashed.startswith("$2") and check_password(demo.DEMO_PASSWORD, hashed)
    assert not check_password("wrong-password", hashed)
    assert users["chair"].discipline == "pain_medicine"
    assert {u["username"]: u["discipline"] for u in demo.DEMO_USERS if "specialist" in u["roles"]} == {
        "dr.pain": "pain_medicine", "physio": "physiotherapy", "psych": "psychology", "pharm": "pharmacy",
        "rheum": "rheumatology", "chair": "pain_medicine"}


def test_patients_have_valid_test_range_nhs_numbers_and_adult_ages(seeded):
    pts = rows(seeded["sf"], select(Patient.nhs_number, Patient.birth_year, Patient.sex, Patient.practice_id))
    assert len(pts) >= 150
    assert len({p.nhs_number for p in pts}) == len(pts)
    for p in pts:
        assert validate_nhs_number(p.nhs_number) == (True, "valid"), p.nhs_number
        assert "9990000000" <= p.nhs_number <= "9999999999"
        assert 25 <= TODAY.year - p.birth_year <= 85
    assert {p.sex for p in pts} >= {"female", "male"}
    per_practice = defaultdict(int)
    for p in pts:
        per_practice[p.practice_id] += 1
    assert len(per_practice) == 3 and min(per_practice.values()) >= 40


def test_every_patient_has_a_year_of_history_ending_today(seeded):
    sf = seeded["sf"]
    span = {r.patient_id: (r.first, r.last) for r in rows(
        sf, select(Assessment.patient_id, func.min(Assessment.administered_on).label("first"),
                   func.max(Assessment.administered_on).label("last")).group_by(Assessment.patient_id))}
    reviews = {r.patient_id: r.n for r in rows(
        sf, select(Review.patient_id, func.count().label("n")).group_by(Review.patient_id))}
    patient_ids = [r.id for r in rows(sf, select(Patient.id))]
    for pid in patient_ids:
        first, last = span[pid]
        assert (last - first).days >= 365, pid
        assert last >= TODAY - timedelta(days=35), pid
        assert reviews.get(pid, 0) >= 6, pid
    with sf() as s:
        latest = [s.scalar(select(func.max(col))) for col in
                  (Assessment.administered_on, Review.review_date, WearableDay.day)]
    assert all(d <= TODAY for d in latest)


def test_every_condition_and_classification(seeded):
    cases = rows(seeded["sf"], select(Case.condition, Case.pain_classification))
    assert {c.condition for c in cases} == set(CONDITIONS)
    for c in cases:
        if c.condition == "widespread_pain":
            assert c.pain_classification == "primary"
        if c.condition in ("knee_oa", "hip_oa", "hand_oa"):
            assert c.pain_classification == "secondary"
    lbp = {c.pain_classification for c in cases if c.condition in ("low_back_pain", "neck_pain")}
    assert lbp == {"primary", "secondary"}


def test_treatments_cover_every_category_and_the_named_medicines(seeded):
    tr = rows(seeded["sf"], select(Treatment))
    tr = [t for (t,) in tr]
    assert {t.category for t in tr} == set(TREATMENT_CATEGORIES)
    drugs = {t.drug for t in tr if t.category == "medicine"}
    assert drugs >= {"paracetamol", "naproxen", "ibuprofen", "codeine", "tramadol", "oxycodone", "morphine",
                     "fentanyl", "buprenorphine", "tapentadol", "amitriptyline", "duloxetine", "pregabalin",
                     "gabapentin", "diazepam"}
    assert any(t.drug == "ibuprofen" and t.route == "topical" for t in tr)
    assert any("CBT" in t.name for t in tr if t.category == "psychological")
    for t in tr:
        if t.category == "medicine" and t.route == "transdermal":
            assert t.patch_mcg_per_h and t.daily_dose_mg is None, t.name
        if t.status == "stopped":
            assert t.end_date is not None and t.end_date <= TODAY and t.reason_stopped, t.name
        else:
            assert t.end_date is None and t.reason_stopped is None, t.name
        if t.status != "planned":
            assert t.start_date <= TODAY
        assert t.adherence_pct is None or 0 <= t.adherence_pct <= 100
    assert {t.status for t in tr} == {"active", "stopped", "planned"}
    assert {t.reason_stopped for t in tr if t.reason_stopped} >= {"ineffective", "side_effects", "completed",
                                                                    "patient_choice"}


def test_assessment_totals_and_bands_follow_clinical_md(seeded):
    asm = [a for (a,) in rows(seeded["sf"], select(Assessment))]
    assert {a.instrument for a in asm} == {"nrs", "peg", "mskhq", "phq9", "gad7", "sbst", "startmsk", "tsk11"}
    not_returned = 0
    for a in asm:
        if a.status == "not_returned":
            not_returned += 1
            assert a.total is None and a.band is None and not a.safety_alert
            continue
        total, band, safety = ref_score(a.instrument, a.responses)
        assert a.total == pytest.approx(total), (a.instrument, a.responses)
        assert a.band == band, (a.instrument, a.responses)
        assert a.safety_alert == safety
    assert not_returned >= 50


def test_assessments_agree_with_hub_clinical_instruments_when_available(seeded):
    from hub.clinical.instruments import score

    names = {"phq9": "PHQ9", "gad7": "GAD7", "mskhq": "MSKHQ", "peg": "PEG", "sbst": "SBST", "nrs": "NRS",
             "startmsk": "STARTMSK", "tsk11": "TSK11"}
    checked = 0
    for (a,) in rows(seeded["sf"], select(Assessment).where(Assessment.status == "completed",
                                                            Assessment.instrument.in_(list(names)))):
        if a.instrument == "phq9" and "PHQ9_Q9" not in a.responses:
            continue  # the paper form with item 9 blank: not scorable, flagged instead
        result = score(names[a.instrument], a.responses)
        assert float(result.total) == pytest.approx(a.total), (a.instrument, a.responses)
        assert result.band == a.band
        assert bool(result.safety_alert) == a.safety_alert
        checked += 1
    assert checked > 1000


def test_recent_phq9_safety_alerts_for_two_or_three_patients(seeded):
    alerts = rows(seeded["sf"], select(Assessment.patient_id, Assessment.administered_on, Assessment.responses)
                  .where(Assessment.safety_alert.is_(True)))
    assert 2 <= len({a.patient_id for a in alerts}) <= 3
    assert all(a.responses["PHQ9_Q9"] > 0 for a in alerts)
    assert all(a.administered_on >= TODAY - timedelta(days=30) for a in alerts)


def test_cases_statuses_questions_and_derived_pain(seeded):
    sf = seeded["sf"]
    with sf() as s:
        cases = list(s.scalars(select(Case)))
        pcp_of_practice = {u.practice_id: u.id for u in s.scalars(select(User).where(User.practice_id.is_not(None)))}
        n_patients = s.scalar(select(func.count()).select_from(Patient))
    # 'discussed' is transient: finalising a decision returns the case in the same transaction.
    assert {c.status for c in cases} == set(CASE_STATUSES) - {"discussed"}
    by_status = defaultdict(int)
    for c in cases:
        by_status[c.status] += 1
    assert by_status["submitted"] + by_status["triaged"] > len(cases) / 2, "the queue is busy"
    assert n_patients - 25 <= len(cases) < n_patients, "most patients, not all, have a case"
    assert len({c.patient_id for c in cases}) == len(cases)
    latest = {}
    for pid, d, total, instrument in ((r.patient_id, r.administered_on, r.total, r.instrument) for r in rows(
            sf, select(Assessment.patient_id, Assessment.administered_on, Assessment.total, Assessment.instrument)
            .where(Assessment.instrument.in_(PAIN), Assessment.status == "completed")
            .order_by(Assessment.administered_on, Assessment.id))):
        latest[pid] = (d, total, instrument)
    for c in cases:
        assert c.referrer_id == pcp_of_practice[c.practice_id]
        assert set(c.red_flags) == set(RED_FLAGS) and not any(c.red_flags.values()) and c.red_flag_count == 0
        assert (c.latest_pain_on, c.latest_pain, c.latest_pain_instrument) == latest[c.patient_id]
        assert c.baseline_pain is not None and 0 <= c.baseline_pain <= 10
        assert c.risk_tool in ("sbst", "start_msk") and c.risk_band in ("low", "medium", "high")
        assert (c.risk_tool == "sbst") == (c.condition in ("low_back_pain", "sciatica"))
        assert c.goals_text.strip() and c.concerns_text.strip()
        assert c.duration_months >= 12 and c.version == 1
        if c.status == "draft":
            assert c.submitted_at is None
        else:
            assert c.clinical_question.strip() and "{" not in c.clinical_question
            assert TODAY - timedelta(days=91) <= c.submitted_at.date() < TODAY
            assert c.created_at <= c.submitted_at <= c.status_changed_at
    assert any("what next?" in c.clinical_question for c in cases)


def test_reviews_use_the_signal_vocabularies(seeded):
    rv = rows(seeded["sf"], select(Review.attendance, Review.management_changes, Review.inaction_justifications,
                                   Review.adherence_pct, Review.treatment_too_much, Review.case_id))
    assert {r.attendance for r in rv} == {"attended", "dna", "cancelled"}
    used_changes, used_just = set(), set()
    for r in rv:
        assert set(r.management_changes) <= CHANGE_EVENTS and set(r.inaction_justifications) <= JUST_CODES
        used_changes |= set(r.management_changes)
        used_just |= set(r.inaction_justifications)
        if r.attendance != "attended":
            assert not r.management_changes and not r.inaction_justifications and r.adherence_pct is None
        else:
            assert 0 <= r.adherence_pct <= 100 and r.treatment_too_much is not None
    assert used_changes == CHANGE_EVENTS and used_just == JUST_CODES
    assert any(r.treatment_too_much for r in rv)
    assert any(r.case_id is None for r in rv) and any(r.case_id is not None for r in rv)


def test_every_trajectory_shows_in_the_data(seeded):
    sf = seeded["sf"]
    pain = pain_series(sf)
    reviews: dict[int, list] = defaultdict(list)
    for r in rows(sf, select(Review).order_by(Review.patient_id, Review.review_date)):
        reviews[r[0].patient_id].append(r[0])
    returned: dict[int, list[str]] = defaultdict(list)
    for r in rows(sf, select(Assessment.patient_id, Assessment.status).where(Assessment.instrument.in_(PAIN))
                  .order_by(Assessment.patient_id, Assessment.administered_on)):
        returned[r.patient_id].append(r.status)

    improving = [p for p, v in pain.items() if v[-1][1] <= 0.7 * v[0][1]]
    worsening = [p for p, v in pain.items() if v[-1][1] >= v[0][1] + 1.5]
    plateaued = []
    for p, rv in reviews.items():
        attended = [r for r in rv if r.attendance == "attended"]
        last = attended[-3:]
        if len(last) == 3 and (last[-1].review_date - last[0].review_date).days >= 56 and all(
                not r.management_changes and not r.inaction_justifications for r in last):
            values = [t for d, t in pain[p] if d >= last[0].review_date - timedelta(days=28)]
            if values and max(values) - min(values) <= 2.5 and values[-1] > 3:
                plateaued.append(p)
    disengaging = []
    for p, rv in reviews.items():
        dnas = [r for r in rv if r.attendance == "dna" and r.review_date >= TODAY - timedelta(days=182)]
        adherence = [r.adherence_pct for r in rv if r.adherence_pct is not None]
        if len(dnas) >= 2 and returned[p][-2:] == ["not_returned", "not_returned"] and adherence \
                and adherence[-1] <= adherence[0] / 2:
            disengaging.append(p)
    high_dose = [p for p, meds in current_meds(sf).items() if daily_ome(meds) >= 120]
    shares = {"improving": improving, "plateaued": plateaued, "worsening": worsening, "disengaging": disengaging,
              "high_dose_opioid": high_dose}
    for name, patients in shares.items():
        assert len(patients) >= 5, f"too few {name} patients: {len(patients)}"
    with sf() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "demo.seed")).one()
    assert event.actor_id is None and event.changes["counts"] == seeded["counts"]
    assert set(event.changes["trajectories"]) == set(demo.TRAJECTORIES)
    assert all(n > 0 for n in event.changes["trajectories"].values())


def test_high_dose_opioids_and_co_prescription(seeded):
    meds = current_meds(seeded["sf"])
    high = {p: m for p, m in meds.items() if daily_ome(m) >= 120}
    assert len(high) >= 10
    assert {d["drug"] for m in high.values() for d in m} >= {"oxycodone", "morphine", "fentanyl"}
    co = [p for p, m in high.items() if {d["drug"] for d in m} & {"diazepam", "pregabalin", "gabapentin"}]
    assert 0 < len(co) < len(high), "some, not all, high-dose patients have a sedative co-prescribed"
    assert any(d["drug"] == "diazepam" for p in co for d in high[p])
    others = [daily_ome(m) for p, m in meds.items() if p not in high]
    assert max(others) < 90, "only the high-dose trajectory reaches opioid doses that flag"


def test_wearables_have_rhythm_and_gaps_never_zeros(seeded):
    sf = seeded["sf"]
    wd = rows(sf, select(WearableDay.patient_id, WearableDay.day, WearableDay.steps, WearableDay.sleep_hours,
                         WearableDay.resting_hr, WearableDay.source).order_by(WearableDay.patient_id, WearableDay.day))
    n_patients = len(rows(sf, select(Patient.id)))
    by_patient: dict[int, list] = defaultdict(list)
    for r in wd:
        by_patient[r.patient_id].append(r)
    assert 0.65 * n_patients <= len(by_patient) <= 0.92 * n_patients
    assert all(r.steps is not None and r.steps > 0 for r in wd), "a missing day is no row, never zero steps"
    assert all(r.source == "demo" for r in wd)
    assert any(r.sleep_hours is None for r in wd) and all(r.sleep_hours is None or r.sleep_hours > 0 for r in wd)
    gaps = sum(1 for days in by_patient.values() for a, b in zip(days, days[1:]) if (b.day - a.day).days > 1)
    long_gaps = sum(1 for days in by_patient.values() for a, b in zip(days, days[1:]) if (b.day - a.day).days > 3)
    assert gaps > 500 and long_gaps > 20
    sunday = [r.steps for r in wd if r.day.weekday() == 6]
    weekday = [r.steps for r in wd if r.day.weekday() < 5]
    assert sum(sunday) / len(sunday) < 0.95 * sum(weekday) / len(weekday)
    # Disengaging patients wear the device less as time goes on: some patients' last quarter is much sparser.
    sparser = 0
    for days in by_patient.values():
        first_q = sum(1 for r in days if r.day < days[0].day + timedelta(days=90))
        last_q = sum(1 for r in days if r.day >= TODAY - timedelta(days=90))
        if last_q < 0.6 * first_q:
            sparser += 1
    assert sparser >= 5


# ----------------------------------------------------------------------------- seeding rules


def test_seed_refuses_a_non_empty_database(seeded):
    assert not demo.is_empty(seeded["sf"])
    with pytest.raises(RuntimeError):
        demo.seed_demo(seeded["sf"], today=TODAY)
    assert demo.cohort_counts(seeded["sf"]) == seeded["counts"]


def test_same_seed_and_date_give_identical_data(seeded, tmp_path):
    _, sf2 = fresh_sqlite(tmp_path / "again.db")
    assert demo.is_empty(sf2)
    demo.seed_demo(sf2, today=TODAY)
    assert checksum(sf2) == checksum(seeded["sf"])
    _, sf3 = fresh_sqlite(tmp_path / "other.db")
    demo.seed_demo(sf3, seed=99, n_patients=30, today=TODAY)
    assert checksum(sf3) != checksum(seeded["sf"])


def test_reset_demo_replaces_everything_and_keeps_the_schema(seeded, tmp_path):
    engine, sf = fresh_sqlite(tmp_path / "reset.db")
    demo.seed_demo(sf, seed=5, n_patients=20, today=TODAY)
    seed_bulk_cases(sf, 30, today=TODAY)
    counts = demo.reset_demo(engine, today=TODAY)
    assert counts == seeded["counts"] == demo.cohort_counts(sf)
    assert checksum(sf) == checksum(seeded["sf"])
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1
        assert conn.execute(text("select count(*) from audit_event")).scalar() == 1
    # The default (today = the real date) works too.
    assert demo.reset_demo(engine)["patient"] == 150


def test_seed_bulk_cases_adds_cases_fast(seeded, tmp_path):
    _, sf = fresh_sqlite(tmp_path / "bulk.db")
    demo.seed_demo(sf, n_patients=12, today=TODAY)
    before = demo.cohort_counts(sf)
    started = time.perf_counter()
    seed_bulk_cases(sf, 2000, today=TODAY, history="minimal")
    print(f"\nseed_bulk_cases(2000): {time.perf_counter() - started:.2f} s")
    after = demo.cohort_counts(sf)
    assert after["hub_case"] == before["hub_case"] + 2000 and after["patient"] == before["patient"] + 2000
    assert after["practice"] == 3 and after["user_account"] == before["user_account"]
    with sf() as s:
        bulk = list(s.scalars(select(Case).where(Case.id > before["hub_case"])))
        nhs = s.scalars(select(Patient.nhs_number)).all()
        n_pain = s.scalar(select(func.count()).select_from(Assessment)
                          .where(Assessment.patient_id.in_([c.patient_id for c in bulk[:200]])))
    assert len(bulk) == 2000 and len(set(nhs)) == len(nhs) and all(validate_nhs_number(n)[0] for n in nhs)
    assert {c.status for c in bulk} <= set(CASE_STATUSES) - {"draft"} and len({c.status for c in bulk}) >= 5
    assert {c.practice_id for c in bulk} == {1, 2, 3}
    assert all(c.latest_pain is not None and c.latest_pain_on <= TODAY for c in bulk)
    assert all(TODAY - timedelta(days=181) <= c.submitted_at.date() <= TODAY for c in bulk)
    assert 3 * 200 <= n_pain <= 5 * 200


def test_seed_bulk_cases_on_an_empty_database(tmp_path):
    _, sf = fresh_sqlite(tmp_path / "bulk_empty.db")
    seed_bulk_cases(sf, 50, seed=3, today=TODAY)
    counts = demo.cohort_counts(sf)
    assert counts["practice"] == 3 and counts["hub_case"] == 50 and counts["patient"] == 50
    with sf() as s:
        pcps = s.scalars(select(User.username).order_by(User.username)).all()
    assert pcps == ["gp.hill", "gp.north", "gp.river"]


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_engine():
    """A fresh schema on TEST_POSTGRES_URL, migrated to head, dropped afterwards."""
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if not url:
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
            pytest.fail("HUB_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("TEST_POSTGRES_URL is not set: PostgreSQL variant of the demo tests skipped")
    schema = f"demo_t_{os.getpid()}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade_to_head(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.mark.postgres
def test_seed_and_reset_on_postgresql(pg_engine, seeded):
    sf = make_session_factory(pg_engine)
    assert "patient" in inspect(pg_engine).get_table_names()
    assert demo.is_empty(sf)
    started = time.perf_counter()
    counts = demo.seed_demo(sf, today=TODAY)
    print(f"\nseed_demo (150 patients, PostgreSQL): {time.perf_counter() - started:.2f} s")
    assert counts == seeded["counts"] == demo.cohort_counts(sf)
    assert checksum(sf) == checksum(seeded["sf"]), "same cohort on both backends"
    with pytest.raises(RuntimeError):
        demo.seed_demo(sf, today=TODAY)

    seed_bulk_cases(sf, 500, today=TODAY)
    assert demo.cohort_counts(sf)["hub_case"] == counts["hub_case"] + 500

    assert demo.reset_demo(pg_engine, today=TODAY) == counts
    assert checksum(sf) == checksum(seeded["sf"])
    with pg_engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1
    # Sequences still hand out fresh ids after the bulk inserts and the reset.
    with sf.begin() as s:
        s.add(Practice(code="EXTRA", name="Extra practice"))
    assert not demo.is_empty(sf)


def test_demo_shows_every_v02_flag_with_a_readable_reason(seeded):
    """Clinical safety v0.2: the demo carries each new flag on at least one case, with a reason a clinician reads."""
    from hub import flags as hub_flags
    from hub.clinical.case_review import evaluate_case

    with seeded["sf"]() as s:
        cases = s.execute(select(Case.id, Case.patient_id, Case.condition, Case.pain_classification, Case.risk_band,
                                 Case.submitted_at, Case.baseline_pain, Case.primary_outcome, Case.status,
                                 Case.relisted_reason)).all()
        records = hub_flags._records_for(s, cases, TODAY)
    found: dict[str, list[str]] = defaultdict(list)
    for rec in records.values():
        for f in evaluate_case(rec).flags:
            found[f.code].append(f.reason)
    expect = {"distress": "Consider a parallel mental-health pathway", "phq9_item9_unanswered": "ask item 9 now",
              "opioid_escalation_without_benefit": "not improved", "explore_beliefs": "explore the patient's beliefs",
              "appropriate_restraint": "onset window"}
    for code, words in expect.items():
        assert any(words in r for r in found[code]), (code, found[code][:3])
    for code in expect:
        assert all("None" not in r and "_" not in r.split(":")[0] for r in found[code]), found[code][:3]
