"""Planning the cohort (one trajectory, condition and course per patient) and simulating each patient's
treatment history: background treatments, medicine starts, changes and reviews over time."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hub.demo.catalogue import (
    BACKGROUND_CATEGORIES,
    CONDITION_MIX,
    COURSE_DAYS,
    DRUGS,
    EXERCISE,
    INJECTION,
    NONDRUG,
    OA,
    TRAJECTORY_SHARES,
    format_dose,
    ome_mg_per_day,
)
from hub.demo.people import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, PRACTICES, nhs_numbers
from hub.records import treatment_label


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def ramp(x: float) -> float:
    """Smooth step from 0 (x <= 0) to 1 (x >= 1)."""
    x = clamp(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class Plan:
    """One synthetic patient before simulation."""

    index: int
    practice: int
    nhs: str
    given: str
    family: str
    sex: str
    age: int
    condition: str
    pain_class: str
    trajectory: str
    start: date
    baseline: float
    pain_instrument: str
    distress: float
    wears: bool
    safety: bool
    case_status: str | None
    params: dict[str, float] = field(default_factory=dict)


def _weighted_sequence(rng: random.Random, weights: Mapping[str, float], n: int) -> list[str]:
    """n items covering every key once (when n allows) and the rest in proportion to the weights."""
    keys = list(weights)
    total = sum(weights.values())
    counts = {k: max(1 if n >= len(keys) else 0, round(n * w / total)) for k, w in weights.items()}
    while sum(counts.values()) > n:
        k = max(counts, key=lambda c: (counts[c], c))
        counts[k] -= 1
    while sum(counts.values()) < n:
        k = max(keys, key=lambda c: (weights[c] * n / total - counts[c], c))
        counts[k] += 1
    seq = [k for k in keys for _ in range(counts[k])]
    rng.shuffle(seq)
    return seq


# 'discussed' is transient (a decision is finalised in the same transaction that returns the case), so
# the demo has none at rest; returned and closed cases get their past meetings in hub.demo.meetings.
_CASE_STATUS_WEIGHTS = {"draft": 7, "submitted": 30, "triaged": 24, "scheduled": 12, "returned": 18, "closed": 9}


def plan_cohort(seed: int, n_patients: int, today: date) -> list[Plan]:
    rng = random.Random(seed)
    conditions = _weighted_sequence(rng, {k: v[0] for k, v in CONDITION_MIX.items()}, n_patients)
    trajectories = _weighted_sequence(rng, TRAJECTORY_SHARES, n_patients)
    nhs = nhs_numbers(rng, n_patients)
    # About 8% of patients have no hub case (managed in the practice); keep every condition on some case.
    by_condition: dict[str, list[int]] = {}
    for i, c in enumerate(conditions):
        by_condition.setdefault(c, []).append(i)
    no_case: set[int] = set()
    candidates = [i for i in range(n_patients) if len(by_condition[conditions[i]]) >= 3]
    rng.shuffle(candidates)
    for i in candidates[: n_patients * 8 // 100]:
        if sum(1 for j in by_condition[conditions[i]] if j not in no_case) > 2:
            no_case.add(i)
    with_case = [i for i in range(n_patients) if i not in no_case]
    statuses = _weighted_sequence(rng, _CASE_STATUS_WEIGHTS, len(with_case))
    case_status = dict(zip(with_case, statuses))
    # 2-3 patients with a recent PHQ-9 item 9 > 0 (same-day safety review).
    distressed = [i for i in range(n_patients) if trajectories[i] in ("worsening", "high_dose_opioid", "disengaging")]
    safety = set(rng.sample(distressed, min(3, len(distressed))))

    plans: list[Plan] = []
    for i in range(n_patients):
        prng = random.Random(seed * 1_000_003 + i * 17 + 1)
        cond, traj = conditions[i], trajectories[i]
        _, lo, hi = CONDITION_MIX[cond]
        age = prng.randint(lo, hi)
        sex = prng.choices(("female", "male", "other"), weights=(56, 43, 1))[0]
        names = FEMALE_NAMES if sex == "female" else MALE_NAMES if sex == "male" else FEMALE_NAMES + MALE_NAMES
        given = prng.choice(names)
        family = prng.choice(FAMILY_NAMES)
        if cond == "widespread_pain":
            pain_class = "primary"
        elif cond in ("low_back_pain", "neck_pain"):
            pain_class = "primary" if prng.random() < 0.4 else "secondary"
        else:
            pain_class = "secondary"
        start = today - timedelta(days=prng.randint(400, 700))
        baseline = {"improving": prng.uniform(6.0, 8.0), "plateaued": prng.uniform(5.5, 7.5),
                    "worsening": prng.uniform(5.0, 6.5), "disengaging": prng.uniform(5.5, 7.5),
                    "high_dose_opioid": prng.uniform(6.8, 8.2)}[traj]
        distress = clamp(prng.uniform(0.15, 0.6) + {"improving": 0.0, "plateaued": 0.1, "worsening": 0.2,
                                                     "disengaging": 0.2, "high_dose_opioid": 0.25}[traj], 0, 1)
        params = {
            "t0": prng.uniform(0.15, 0.35),  # improving: when it starts to work
            "drop": prng.uniform(0.42, 0.6),  # improving: fraction of pain lost
            "rise": prng.uniform(1.6, 2.8),  # worsening: points gained
            "steps": clamp(9000 - (age - 25) * 75 + prng.uniform(-1500, 1500), 1800, 11000),
            "hr": prng.uniform(60, 76),
            "sleep": prng.uniform(6.3, 7.4),
            "ome_target": prng.choice((120, 120, 140, 170)),  # high-dose opioid: where the dose creep stops
        }
        plans.append(Plan(
            index=i, practice=i % len(PRACTICES), nhs=nhs[i], given=given, family=family, sex=sex, age=age,
            condition=cond, pain_class=pain_class, trajectory=traj, start=start, baseline=baseline,
            pain_instrument="peg" if prng.random() < 0.4 else "nrs", distress=distress,
            wears=prng.random() < 0.8, safety=i in safety, case_status=case_status.get(i), params=params,
        ))
    return plans


def pain_at(p: Plan, d: date, today: date) -> float:
    """The patient's underlying pain (0-10) on a day, before measurement noise."""
    t = (d - p.start).days / max(1, (today - p.start).days)
    b, k = p.baseline, p.params
    if p.trajectory == "improving":
        v = b * (1 - k["drop"] * ramp((t - k["t0"]) / 0.45))
    elif p.trajectory == "plateaued":
        v = b + 0.25 * math.sin(t * 9)
    elif p.trajectory == "worsening":
        v = b + k["rise"] * ramp(t / 0.9)
    elif p.trajectory == "disengaging":
        v = b - 0.9 * ramp(t / 0.3) + 1.1 * ramp((t - 0.45) / 0.5)
    else:
        v = b + 0.6 * t
    return clamp(v, 0.0, 10.0)


# ----------------------------------------------------------------------------- simulation of one patient


class Regimen:
    """The patient's treatment rows as they are started, changed and stopped over time."""

    def __init__(self, today: date, created_by: int | None):
        self.rows: list[dict[str, Any]] = []
        self.today = today
        self.created_by = created_by

    def add(self, category: str, name: str, start: date, *, end: date | None = None, reason: str | None = None,
            drug_key: str | None = None, dose: float | None = None, adherence: int | None = None,
            notes: str = "", planned: bool = False, route: str | None = None) -> dict[str, Any]:
        drug = daily = patch = None
        dose_text = ""
        if drug_key is not None:
            drug, route, _ladder, _cls = DRUGS[drug_key]
            if route == "transdermal":
                patch = dose
            elif dose is not None:
                daily = dose
            name = ("Ibuprofen 5% gel" if drug_key == "ibuprofen_gel"
                    else treatment_label("medicine", "", drug, route, daily, patch))
            dose_text = format_dose(drug_key, dose)
        if planned:
            status, end, reason = "planned", None, None
        elif end is not None and end <= self.today:
            status = "stopped"
            reason = reason or "completed"
        else:
            status, end, reason = "active", None, None
        row = {
            "category": category, "name": name, "drug": drug, "route": route, "daily_dose_mg": daily,
            "patch_mcg_per_h": patch, "dose_text": dose_text, "start_date": start, "end_date": end,
            "status": status, "reason_stopped": reason, "adherence_pct": adherence, "notes": notes,
            "created_by": self.created_by, "created_at": at_minute(min(start, self.today), 9 * 60),
            "_key": drug_key, "_dose": dose,
        }
        self.rows.append(row)
        return row

    def stop(self, row: dict[str, Any], d: date, reason: str, notes: str | None = None) -> None:
        row["end_date"] = max(d, row["start_date"])
        row["status"] = "stopped"
        row["reason_stopped"] = reason
        if notes:
            row["notes"] = (row["notes"] + " " + notes).strip()

    def active(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "active"]

    def active_meds(self, cls: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.active() if r["_key"] and (cls is None or DRUGS[r["_key"]][3] == cls)]

    def has(self, key: str) -> bool:
        return any(r["_key"] == key for r in self.active())

    def ome(self) -> float:
        return sum(ome_mg_per_day(r["drug"], r["route"], r["daily_dose_mg"], r["patch_mcg_per_h"])
                   for r in self.active_meds())

    def change_dose(self, row: dict[str, Any], d: date, step: int, adherence: int | None, why: str) -> dict | None:
        ladder = DRUGS[row["_key"]][2]
        if row["_dose"] not in ladder:
            return None
        idx = ladder.index(row["_dose"]) + step
        if not 0 <= idx < len(ladder) or d <= row["start_date"]:
            return None
        new_dose = ladder[idx]
        self.stop(row, d - timedelta(days=1), "other", f"Dose {'increased' if step > 0 else 'reduced'} {d:%d %b %Y}.")
        return self.add("medicine", "", d, drug_key=row["_key"], dose=new_dose, adherence=adherence, notes=why)


def at_minute(d: date, minutes: int) -> datetime:
    return datetime.combine(d, time(0, 0)) + timedelta(minutes=minutes)


def _course(reg: Regimen, rng: random.Random, p: Plan, category: str, start: date, adherence: int,
            notes: str = "") -> dict[str, Any]:
    if category == "exercise":
        name = rng.choice(EXERCISE[p.condition])
        route = None
    elif category == "injection":
        name, route = INJECTION[p.condition]
    else:
        name = rng.choice(NONDRUG[category])
        route = None
    lo, hi = COURSE_DAYS[category]
    length = rng.randint(lo, hi)
    ongoing = category in ("exercise", "social_prescribing") and rng.random() < 0.35
    end = None if ongoing else start + timedelta(days=length)
    reason = "completed"
    if end is not None and rng.random() < (0.35 if p.trajectory == "disengaging" else 0.12):
        end = start + timedelta(days=max(0, length // 2))
        reason = rng.choice(("patient_choice", "ineffective"))
    return reg.add(category, name, start, end=end, reason=reason, adherence=adherence, notes=notes, route=route)


def add_background(reg: Regimen, rng: random.Random, p: Plan) -> None:
    """Treatments before the hub history starts: what the patient arrives with."""
    s = p.start
    before = lambda lo, hi: s - timedelta(days=rng.randint(lo, hi))  # noqa: E731
    # Everyone has had some non-drug care; rotate categories so the cohort covers all of them.
    cat = BACKGROUND_CATEGORIES[p.index % len(BACKGROUND_CATEGORIES)]
    _course(reg, rng, p, cat, before(120, 400), rng.randint(55, 95))
    if cat != "education" and rng.random() < 0.6:
        _course(reg, rng, p, "education", before(200, 700), rng.randint(70, 100))
    if cat != "exercise" and rng.random() < 0.6:
        _course(reg, rng, p, "exercise", before(90, 500), rng.randint(40, 90))

    para = reg.add("medicine", "", before(300, 1100), drug_key="paracetamol", dose=rng.choice((2000, 4000)),
                   adherence=rng.randint(60, 95))
    if rng.random() < 0.45:
        reg.stop(para, before(20, 250), "ineffective")
    if p.condition in OA and rng.random() < 0.7:
        key = "ibuprofen_gel" if p.condition in ("knee_oa", "hand_oa") and rng.random() < 0.6 else "naproxen"
        reg.add("medicine", "", before(60, 500), drug_key=key, dose=500 if key == "naproxen" else None,
                adherence=rng.randint(60, 95))
    elif rng.random() < 0.45:
        nsaid = reg.add("medicine", "", before(200, 800), drug_key="naproxen", dose=1000,
                        adherence=rng.randint(60, 95))
        reg.stop(nsaid, before(30, 190), rng.choice(("side_effects", "side_effects", "ineffective")),
                 "Dyspepsia." if rng.random() < 0.5 else "")
    if p.condition == "sciatica" or (p.condition == "low_back_pain" and rng.random() < 0.25):
        key = "pregabalin" if p.index % 2 else "gabapentin"
        reg.add("medicine", "", before(60, 400), drug_key=key, dose=DRUGS[key][2][rng.randint(0, 1)],
                adherence=rng.randint(55, 95))
    if p.condition == "widespread_pain" or (p.pain_class == "primary" and rng.random() < 0.4):
        key = "amitriptyline" if p.index % 3 else "duloxetine"
        reg.add("medicine", "", before(60, 500), drug_key=key, dose=DRUGS[key][2][0], adherence=rng.randint(55, 95))

    if p.trajectory == "high_dose_opioid":
        cod = reg.add("medicine", "", before(500, 1000), drug_key="codeine", dose=240, adherence=90)
        strong_start = before(120, 400)
        reg.stop(cod, strong_start - timedelta(days=1), "ineffective")
        key = ("oxycodone", "morphine", "fentanyl")[p.index % 3]
        reg.add("medicine", "", strong_start, drug_key=key, dose=DRUGS[key][2][1 if key != "fentanyl" else 0],
                adherence=rng.randint(85, 100))
        # A few patients also take methadone, which has no UK conversion factor: their OME is shown as a
        # lower bound ("at least ... mg/day (excludes: methadone ...)"). No random draw, so the rest of the
        # cohort is unchanged.
        if p.index % 4 == 1:
            reg.add("medicine", "", strong_start + timedelta(days=30), drug_key="methadone", dose=30, adherence=95,
                    notes="Started by the community drug service; dose confirmed with them.")
        # Some co-prescription of a gabapentinoid or a benzodiazepine (docs/CLINICAL.md 4.3), not all.
        if p.index % 5 == 0:
            g = "pregabalin" if p.index % 2 else "gabapentin"
            if not reg.active_meds("gabapentinoid"):
                reg.add("medicine", "", before(60, 300), drug_key=g, dose=DRUGS[g][2][1],
                        adherence=rng.randint(70, 100))
        if p.index % 5 == 1:
            reg.add("medicine", "", before(30, 250), drug_key="diazepam", dose=DRUGS["diazepam"][2][rng.randint(0, 2)],
                    adherence=rng.randint(70, 100), notes="Started for muscle spasm; never reviewed.")
    elif rng.random() < 0.45:
        key = ("codeine", "tramadol", "buprenorphine", "tapentadol")[p.index % 4]
        ladder = DRUGS[key][2]
        row = reg.add("medicine", "", before(60, 600), drug_key=key, dose=ladder[rng.randint(0, len(ladder) - 2)],
                      adherence=rng.randint(60, 100))
        if p.trajectory == "improving" and rng.random() < 0.3:
            reg.stop(row, before(5, 50), "side_effects", "Constipation and drowsiness.")


_DRUG_START_POOL = {
    "improving": ("duloxetine", "amitriptyline", "naproxen", "ibuprofen_gel"),
    "plateaued": ("naproxen", "amitriptyline", "codeine", "ibuprofen_gel"),
    "worsening": ("tramadol", "codeine", "pregabalin", "duloxetine", "amitriptyline", "naproxen", "tapentadol"),
    "disengaging": ("amitriptyline", "duloxetine", "naproxen"),
    "high_dose_opioid": ("duloxetine", "amitriptyline", "pregabalin"),
}


def decide_changes(rng: random.Random, p: Plan, t: float, reg: Regimen) -> tuple[list[str], list[str]]:
    """Management change types and justifications a clinician records at an attended review."""
    traj = p.trajectory
    if traj == "improving":
        if t < 0.45:
            if rng.random() < 0.8:
                return rng.sample(["new_nonpharm_intervention", "psych_intervention", "drug_start", "referral",
                                   "goal_revision", "dose_change", "new_nonpharm_intervention"], rng.randint(1, 2)), []
            return [], [rng.choice(("recent_change_within_onset_window", "shared_decision_to_maintain"))]
        if rng.random() < 0.3:
            return [rng.choice(("goal_revision", "drug_stop", "taper_start"))], []
        return [], [rng.choice(("close_to_target", "shared_decision_to_maintain"))]
    if traj == "plateaued":
        if t < 0.3:
            if rng.random() < 0.55:
                return [rng.choice(("drug_start", "new_nonpharm_intervention", "dose_change", "referral"))], []
            return [], []
        if t < 0.4 and rng.random() < 0.5:
            return [], ["competing_priority"]
        return [], []  # therapeutic inertia: nothing changes and nobody says why
    if traj == "worsening":
        if rng.random() < 0.45:
            return rng.sample(["dose_change", "drug_start", "referral", "new_nonpharm_intervention",
                               "psych_intervention"], rng.randint(1, 2)), []
        if rng.random() < 0.65:
            return [], [rng.choice(("awaiting_investigation_or_specialist", "recent_change_within_onset_window",
                                    "patient_declined", "competing_priority"))]
        return [], []
    if traj == "disengaging":
        if t < 0.4 and rng.random() < 0.55:
            return [rng.choice(("new_nonpharm_intervention", "drug_start", "psych_intervention", "goal_revision"))], []
        if t >= 0.4 and rng.random() < 0.4:
            return [rng.choice(("adherence_intervention", "goal_revision", "adherence_intervention"))], []
        if rng.random() < 0.5:
            return [], [rng.choice(("patient_declined", "adherence_support_given", "competing_priority"))]
        return [], []
    # High-dose opioid: the dose creeps up until it passes 120 mg OME/day, then stays there.
    if reg.ome() < p.params["ome_target"]:
        extra = ["dose_change"]
        if rng.random() < 0.25:
            extra.append("referral")
        return extra, []
    if rng.random() < 0.3:
        return [rng.choice(("drug_start", "referral", "taper_start", "psych_intervention"))], []
    if rng.random() < 0.6:
        return [], [rng.choice(("patient_declined", "shared_decision_to_maintain",
                                "awaiting_investigation_or_specialist"))]
    return [], []


def apply_change(kind: str, reg: Regimen, rng: random.Random, p: Plan, d: date, adherence: int) -> str | None:
    """Make one management change happen in the treatment record; returns a note, or None if not possible."""
    traj = p.trajectory
    if kind == "drug_start":
        pool = [k for k in _DRUG_START_POOL[traj] if not reg.has(k)]
        pool = [k for k in pool if not (DRUGS[k][3] in ("weak", "strong") and
                                        (reg.active_meds("weak") or reg.active_meds("strong")))]
        pool = [k for k in pool if not (DRUGS[k][3] == "gabapentinoid" and reg.active_meds("gabapentinoid"))]
        if not pool:
            return None
        key = rng.choice(pool)
        ladder = DRUGS[key][2]
        reg.add("medicine", "", d, drug_key=key, dose=ladder[0] if ladder else None, adherence=adherence)
        return f"Started {DRUGS[key][0]}."
    if kind == "drug_stop":
        stoppable = [r for r in reg.active_meds() if DRUGS[r["_key"]][3] != "strong"]
        if not stoppable:
            return None
        med = rng.choice(stoppable)
        reason = "tapered" if DRUGS[med["_key"]][3] in ("weak", "gabapentinoid") else rng.choice(
            ("ineffective", "side_effects", "patient_choice"))
        reg.stop(med, d, reason)
        return f"Stopped {med['drug']}."
    if kind == "dose_change":
        if traj == "high_dose_opioid":
            meds = reg.active_meds("strong")
        else:
            meds = [r for r in reg.active_meds() if DRUGS[r["_key"]][2] and DRUGS[r["_key"]][3] != "strong"]
        rng.shuffle(meds)
        for med in meds:
            new = reg.change_dose(med, d, +1, adherence, "Dose increased at review.")
            if new is not None:
                return f"Increased {new['drug']} to {new['dose_text']}."
        return None
    if kind == "taper_start":
        for med in reg.active_meds("strong") + reg.active_meds("weak") + reg.active_meds("gabapentinoid"):
            ladder = DRUGS[med["_key"]][2]
            idx = ladder.index(med["_dose"]) if med["_dose"] in ladder else -1
            if idx <= 0:
                continue
            if traj == "high_dose_opioid":
                after = ome_mg_per_day(med["drug"], med["route"],
                                       None if med["route"] == "transdermal" else ladder[idx - 1],
                                       ladder[idx - 1] if med["route"] == "transdermal" else None)
                if reg.ome() - ome_mg_per_day(med["drug"], med["route"], med["daily_dose_mg"],
                                              med["patch_mcg_per_h"]) + after < 120:
                    continue
            new = reg.change_dose(med, d, -1, adherence, "Taper started: slow reduction agreed.")
            if new is not None:
                return f"Taper of {new['drug']} started."
        return None
    if kind == "new_nonpharm_intervention":
        cats = ["exercise", "acupuncture", "social_prescribing", "manual_therapy", "other", "education"]
        if p.condition in OA or p.condition in ("shoulder_pain", "tendinopathy"):
            cats.append("injection")
        if p.condition in ("knee_oa", "hip_oa") and p.age >= 50:
            cats.append("weight_management")
        cat = rng.choice(cats)
        course = _course(reg, rng, p, cat, d, adherence)
        return f"Started {course['name'][0].lower() + course['name'][1:]}."
    if kind == "psych_intervention":
        course = _course(reg, rng, p, "psychological", d + timedelta(days=rng.randint(14, 42)), adherence,
                         "Referred at review; waiting-list start.")
        if course["start_date"] > reg.today:
            course.update(status="planned", end_date=None, reason_stopped=None)
        return "Referred for psychological therapy."
    if kind == "referral":
        return rng.choice(("Referred to MSK physiotherapy.", "Referred to the pain hub MDT.",
                           "Referred for orthopaedic opinion.", "Referred to rheumatology.",
                           "Asked community pharmacist for a structured medication review."))
    if kind == "goal_revision":
        return "Goals revised with the patient: smaller, more achievable steps."
    if kind == "adherence_intervention":
        return "Discussed barriers to adherence; simplified regime and set text reminders."
    return None
