"""The synthetic demo cohort: three practices, their clinicians and ~150 patients with a year or more of
treatments, PROMs, reviews and wearable days, deterministic for a given seed and date.

No real patient data anywhere: names are drawn from common-name lists, NHS numbers come from the
never-issued test range 999 000 0000 - 999 999 9999. Each patient follows one trajectory (improving,
plateaued, worsening, disengaging, high-dose opioid) so that every signal of docs/CLINICAL.md section 5 and
every opioid rule of section 4 has something to show. Big tables are written with bulk inserts so a
fresh start seeds in a few seconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, MetaData, delete, func, select, text

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
from hub.auth import hash_password
from hub.clinical import opioids
from hub.clinical import instruments
from hub.clinical.identifiers import nhs_check_digit, validate_nhs_number
from hub.records import treatment_label
from hub.vocab import RED_FLAGS

DEMO_PASSWORD = "pain-hub-demo"

PRACTICES: tuple[tuple[str, str], ...] = (
    ("NORTH", "Northgate Medical Centre"),
    ("RIVER", "Riverside Surgery"),
    ("HILL", "Hillview Health Centre"),
)
# Fictitious ODS codes in the GP-practice format (a letter and five digits) for the demo practices.
PRACTICE_ODS: dict[str, str] = {"NORTH": "Z99901", "RIVER": "Z99902", "HILL": "Z99903"}
# Synthetic addresses: invented streets in an invented town, with postcodes in the NHS "ZZ99" pseudo
# district, which is well formed but never a real delivery address.
_STREETS = ("Example Street", "Sample Road", "Demo Lane", "Placeholder Avenue", "Fiction Close", "Mockup Way")
_TOWN = "Exampleton"

DEMO_USERS: list[dict[str, Any]] = [
    {"username": "gp.north", "name": "Dr Asha Patel", "roles": ["pcp"], "discipline": None, "practice_code": "NORTH"},
    {"username": "gp.river", "name": "Dr Tom Okafor", "roles": ["pcp"], "discipline": None, "practice_code": "RIVER"},
    {"username": "gp.hill", "name": "Dr Rhiannon Evans", "roles": ["pcp"], "discipline": None,
     "practice_code": "HILL"},
    {"username": "dr.pain", "name": "Dr Samuel Adeyemi", "roles": ["specialist"], "discipline": "pain_medicine",
     "practice_code": None},
    {"username": "physio", "name": "Megan Clarke", "roles": ["specialist"], "discipline": "physiotherapy",
     "practice_code": None},
    {"username": "psych", "name": "Dr Hannah Levy", "roles": ["specialist"], "discipline": "psychology",
     "practice_code": None},
    {"username": "pharm", "name": "Imran Qureshi", "roles": ["specialist"], "discipline": "pharmacy",
     "practice_code": None},
    {"username": "rheum", "name": "Dr Fiona MacLeod", "roles": ["specialist"], "discipline": "rheumatology",
     "practice_code": None},
    {"username": "chair", "name": "Dr Katherine Ward", "roles": ["chair", "specialist"],
     "discipline": "pain_medicine", "practice_code": None},
    {"username": "admin", "name": "Jordan Lee", "roles": ["admin"], "discipline": None, "practice_code": None},
]

TRAJECTORIES: tuple[str, ...] = ("improving", "plateaued", "worsening", "disengaging", "high_dose_opioid")
_TRAJECTORY_SHARES = {"improving": 0.25, "plateaued": 0.25, "worsening": 0.15, "disengaging": 0.20,
                      "high_dose_opioid": 0.15}

# Condition mix of chronic MSK pain in primary care (weights), with the age range typical of each.
_CONDITION_MIX: dict[str, tuple[float, int, int]] = {
    "knee_oa": (20, 50, 85),
    "hip_oa": (10, 52, 85),
    "hand_oa": (5, 50, 82),
    "low_back_pain": (22, 25, 75),
    "sciatica": (8, 28, 70),
    "neck_pain": (8, 25, 72),
    "shoulder_pain": (8, 35, 78),
    "tendinopathy": (6, 25, 65),
    "widespread_pain": (10, 25, 70),
    "other": (3, 30, 75),
}
_BACK = ("low_back_pain", "sciatica")
_OA = ("knee_oa", "hip_oa", "hand_oa")

_SITE = {"knee_oa": "knee", "hip_oa": "hip", "hand_oa": "hands", "low_back_pain": "back", "sciatica": "back and leg",
         "neck_pain": "neck", "shoulder_pain": "shoulder", "tendinopathy": "tendon", "widespread_pain": "whole body",
         "other": "joints"}

# ----------------------------------------------------------------------------- names

_FEMALE = ("Olivia", "Amelia", "Sarah", "Margaret", "Priya", "Fatima", "Emma", "Joanne", "Linda", "Grace",
           "Aisha", "Niamh", "Sian", "Chloe", "Patricia", "Helen", "Karen", "Mei", "Zainab", "Rachel", "Julie",
           "Susan", "Nadia", "Bethan", "Claire", "Ewa", "Deborah", "Hannah", "Sophie", "Janet", "Anita", "Ruth",
           "Lucy", "Kathleen", "Aaliyah", "Catherine", "Gillian", "Yasmin", "Maureen", "Isla")
_MALE = ("James", "Mohammed", "David", "Peter", "Arjun", "Daniel", "Michael", "Gareth", "Kwame", "Liam",
         "Robert", "Stephen", "Hassan", "Andrew", "Paul", "Tomasz", "Brian", "Oliver", "Rajesh", "Ian",
         "Christopher", "Keith", "Samuel", "Dylan", "Graham", "Wei", "Callum", "Anthony", "Imran", "Neil",
         "George", "Kevin", "Connor", "Trevor", "Yusuf", "Martin", "Owen", "Patrick", "Derek", "Harry")
_FAMILY = ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
           "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
           "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
           "Ward", "Morris", "Moore", "Khan", "Ali", "Begum", "Hussain", "Singh", "Kaur", "Nowak", "Murphy",
           "O'Brien", "Campbell", "Stewart", "MacDonald", "Okonkwo", "Mensah", "Chen", "Nguyen", "Shah",
           "Ahmed", "Baker", "Price", "Bennett", "Griffiths", "Kelly", "Lloyd", "Owen", "Parry", "Rees")


# ----------------------------------------------------------------------------- NHS numbers


def _test_range_nhs_number(k: int) -> str | None:
    """The k-th (0..999999) number of the test range 999 000 0000-999 999 9999, or None if it cannot be valid."""
    nine = f"999{k:06d}"
    check = nhs_check_digit(nine)
    if check is None:
        return None
    number = nine + str(check)
    return number if validate_nhs_number(number)[0] else None


def _nhs_numbers(rng: random.Random, n: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """n distinct valid test-range NHS numbers not in `exclude`, in a deterministic random order."""
    want = min(1_000_000, n + n // 4 + len(exclude) + 200)
    out: list[str] = []
    for k in rng.sample(range(1_000_000), want):
        number = _test_range_nhs_number(k)
        if number is not None and number not in exclude:
            out.append(number)
            if len(out) == n:
                return out
    raise ValueError(f"The NHS test range holds fewer than {n} unused valid numbers.")


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _ramp(x: float) -> float:
    """Smooth step from 0 (x <= 0) to 1 (x >= 1)."""
    x = _clamp(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


# ----------------------------------------------------------------------------- medicines

# drug key -> (drug, route, ladder of daily mg or patch microgram/h, opioid class)
_DRUGS: dict[str, tuple[str, str, tuple[float, ...], str]] = {
    "paracetamol": ("paracetamol", "oral", (2000, 4000), ""),
    "naproxen": ("naproxen", "oral", (500, 1000), "nsaid"),
    "ibuprofen_gel": ("ibuprofen", "topical", (), "nsaid"),
    "codeine": ("codeine", "oral", (120, 240), "weak"),
    "tramadol": ("tramadol", "oral", (100, 200, 400), "weak"),
    "tapentadol": ("tapentadol", "oral", (100, 200), "weak"),
    "buprenorphine": ("buprenorphine", "transdermal", (5, 10, 20), "weak"),
    "oxycodone": ("oxycodone", "oral", (40, 60, 80, 100), "strong"),
    "morphine": ("morphine", "oral", (60, 90, 120, 160), "strong"),
    "fentanyl": ("fentanyl", "transdermal", (25, 50, 75), "strong"),
    "amitriptyline": ("amitriptyline", "oral", (10, 20, 30), ""),
    "duloxetine": ("duloxetine", "oral", (30, 60), ""),
    "pregabalin": ("pregabalin", "oral", (150, 300, 600), "gabapentinoid"),
    "gabapentin": ("gabapentin", "oral", (900, 1800, 2400), "gabapentinoid"),
    "diazepam": ("diazepam", "oral", (4, 6, 10), "benzodiazepine"),
    "methadone": ("methadone", "oral", (30, 40), "strong"),
}
def ome_mg_per_day(drug: str | None, route: str | None, daily_dose_mg: float | None,
                   patch_mcg_per_h: float | None) -> float:
    """Oral morphine equivalent (mg/day, UK table) of one medicine via hub.clinical.opioids; 0 if not an opioid
    or not convertible."""
    drug = (drug or "").lower()
    if not drug or not opioids.is_opioid(drug):
        return 0.0
    rx = {"drug": drug, "route": route or "oral"}
    if patch_mcg_per_h:
        rx["patch_mcg_per_h"] = patch_mcg_per_h
    elif daily_dose_mg is not None:
        rx["daily_dose_mg"] = daily_dose_mg
    else:
        return 0.0
    return float(opioids.daily_ome([rx]).total)


def _dose_text(key: str, dose: float | None) -> str:
    d = dose or 0
    texts = {
        "paracetamol": "1 g four times a day" if d >= 4000 else "1 g twice a day",
        "naproxen": f"{d / 2:g} mg twice a day with omeprazole 20 mg",
        "ibuprofen_gel": "5% gel, apply up to three times a day",
        "codeine": f"{d / 4:g} mg four times a day",
        "tramadol": f"{d / 4:g} mg four times a day" if d >= 200 else f"{d / 2:g} mg twice a day",
        "tapentadol": f"{d / 2:g} mg twice a day (modified release)",
        "buprenorphine": f"{d:g} microgram/hour patch, changed every 7 days",
        "oxycodone": f"{d / 2:g} mg twice a day (modified release)",
        "morphine": f"{d / 2:g} mg twice a day (modified release)",
        "fentanyl": f"{d:g} microgram/hour patch, changed every 72 hours",
        "amitriptyline": f"{d:g} mg at night",
        "duloxetine": f"{d:g} mg once a day",
        "pregabalin": f"{d / 2:g} mg twice a day",
        "gabapentin": f"{d / 3:g} mg three times a day",
        "diazepam": f"{d / 2:g} mg twice a day",
        "methadone": f"{d:g} mg once a day (oral solution 1 mg/ml)",
    }
    return texts[key]


# ----------------------------------------------------------------------------- non-drug treatments

_EXERCISE = {
    "knee_oa": ("Physiotherapy: knee strengthening programme", "ESCAPE-pain group programme"),
    "hip_oa": ("Physiotherapy: hip strengthening programme", "ESCAPE-pain group programme"),
    "hand_oa": ("Hand therapy exercise programme",),
    "low_back_pain": ("Back exercise class (6 weeks)", "Graded activity programme"),
    "sciatica": ("Physiotherapy: nerve mobility and exercise programme",),
    "neck_pain": ("Physiotherapy: neck exercise programme",),
    "shoulder_pain": ("Physiotherapy: rotator cuff loading programme",),
    "tendinopathy": ("Physiotherapy: progressive tendon loading programme",),
    "widespread_pain": ("Graded exercise and hydrotherapy", "Gentle movement class"),
    "other": ("Physiotherapy: general exercise programme",),
}
_INJECTION = {
    "knee_oa": ("Intra-articular corticosteroid injection (knee)", "intra_articular"),
    "hip_oa": ("Image-guided corticosteroid injection (hip)", "intra_articular"),
    "hand_oa": ("Corticosteroid injection (thumb base)", "intra_articular"),
    "low_back_pain": ("Facet joint injection", "other"),
    "sciatica": ("Epidural corticosteroid injection", "other"),
    "neck_pain": ("Trigger point injection (trapezius)", "other"),
    "shoulder_pain": ("Subacromial corticosteroid injection", "other"),
    "tendinopathy": ("Corticosteroid injection (lateral elbow)", "other"),
    "widespread_pain": ("Trigger point injections", "other"),
    "other": ("Corticosteroid injection", "other"),
}
_NONDRUG: dict[str, tuple[str, ...]] = {
    "education": ("Pain education and self-management advice", "Versus Arthritis self-management course",
                  "Pain toolkit and sleep advice", "Group education session on persistent pain"),
    "psychological": ("Cognitive behavioural therapy (CBT) for persistent pain",
                      "Acceptance and commitment therapy (ACT) group",
                      "Pain management programme (psychology-led group)"),
    "acupuncture": ("Acupuncture (6 sessions)",),
    "social_prescribing": ("Social prescribing: community walking group", "Social prescribing: gardening group",
                           "Social prescribing: link worker support with benefits and housing"),
    "manual_therapy": ("Manual therapy with exercise (physiotherapy)",),
    "weight_management": ("Tier 2 weight management programme", "Dietitian-led weight management"),
    "other": ("TENS machine trial", "Occupational health workplace assessment"),
}
# Course length in days (0 = single session); None = ongoing.
_COURSE_DAYS: dict[str, tuple[int, int]] = {
    "education": (0, 42), "exercise": (42, 84), "injection": (0, 0), "psychological": (56, 84),
    "acupuncture": (42, 42), "social_prescribing": (90, 180), "manual_therapy": (35, 56),
    "weight_management": (84, 84), "other": (28, 60),
}
_BACKGROUND_CATEGORIES = ("education", "exercise", "injection", "psychological", "acupuncture",
                          "social_prescribing", "manual_therapy", "weight_management", "other")


# ----------------------------------------------------------------------------- words of GPs and patients

_QUESTIONS: dict[str, tuple[str, ...]] = {
    "improving": (
        "Much better since {recent} — pain down from {first:g} to {last:g}/10. Would the hub support reducing "
        "{drug} and stepping down to self-management?",
        "{Name} has responded well to {recent}. Please advise on a plan to deprescribe {drug} safely and keep "
        "the gains going.",
    ),
    "plateaued": (
        "Pain unchanged on {n_meds} analgesics over {months} months — what next? {Pron} fears exercise will "
        "damage {poss} {site}.",
        "{Name}'s {site} pain has been stuck around {last:g}/10 for {months} months on the same regime. We seem to "
        "be going round in circles — fresh ideas please.",
        "No progress after {months} months of {treatments}. Is there anything else we should be offering, or "
        "should we stop some of it?",
    ),
    "worsening": (
        "{Site} pain steadily worse over {months} months (now {last:g}/10) despite {treatments}. Sleep now poor. "
        "Should we consider an injection or surgical opinion, or is there another option?",
        "Deteriorating despite {treatments}; {pron} is struggling at work. Please advise on next steps and whether "
        "imaging or a specialist opinion is needed.",
    ),
    "disengaging": (
        "Has missed the last few appointments and stopped returning questionnaires. Says the exercises and "
        "tablets are 'too much'. How can we simplify the plan and re-engage {obj}?",
        "{Name} seems worn out by treatment: DNAs, adherence falling, says nothing helps. Would a simpler plan or "
        "a different approach help?",
    ),
    "high_dose_opioid": (
        "On {opioid} (about {ome:g} mg OME/day){co} with no functional gain. {Pron} is reluctant to reduce. "
        "Please advise on a taper plan and alternatives.",
        "Opioid dose has crept up to {ome:g} mg morphine equivalent a day{co}; pain still {last:g}/10. Help with "
        "a stewardship plan please — {pron} is anxious about stopping.",
    ),
}
_GOALS: dict[str, tuple[str, ...]] = {
    "knee_oa": ("I want to walk to the shops and back without stopping.",
                "To get down on the floor and play with my grandchildren.",
                "Manage the stairs at home without holding on with both hands."),
    "hip_oa": ("I'd like to walk the dog round the park again.", "Put my own socks and shoes on.",
               "Get through a night without the hip waking me."),
    "hand_oa": ("Open jars and do up buttons myself.", "Get back to knitting for my granddaughter."),
    "low_back_pain": ("To sit through a full shift at work.", "Sleep through the night without the pain waking me.",
                      "Lift my little one without worrying my back will go."),
    "sciatica": ("Drive to work without the leg pain kicking in.", "Walk for half an hour without having to stop."),
    "neck_pain": ("Work at my computer all morning without a headache.", "Turn my head to reverse the car."),
    "shoulder_pain": ("Hang the washing out and reach the top cupboard.", "Get back to swimming."),
    "tendinopathy": ("Get back to running 5k.", "Play tennis with my friends again.",
                     "Grip my tools at work without it hurting."),
    "widespread_pain": ("Have more good days than bad days.", "Go out with friends without paying for it for a week.",
                        "Feel less exhausted and get back to my choir."),
    "other": ("Do my own housework again.", "Get back to the allotment."),
}
_CONCERNS: dict[str, tuple[str, ...]] = {
    "improving": ("I don't want to go backwards if I come off the tablets.",
                  "Worried the pain will come back when the classes finish."),
    "plateaued": ("I'm scared exercise will wear out my {site} even more.",
                  "Nothing seems to work and I feel like I'm wasting everyone's time.",
                  "I don't want to end up in a wheelchair like my mum."),
    "worsening": ("It's getting worse and I'm frightened there's something serious going on.",
                  "I might lose my job if this carries on.", "Nobody believes how bad it is."),
    "disengaging": ("It's all too much — appointments, exercises, tablets — and none of it helps.",
                    "I can't keep taking time off work for appointments.",
                    "I'm fed up of filling in forms."),
    "high_dose_opioid": ("I'm worried I'm addicted to the tablets but scared of the pain if I stop.",
                         "The patches are the only thing that lets me function.",
                         "I feel foggy all the time on these tablets."),
}


# ----------------------------------------------------------------------------- planning


@dataclass
class _Plan:
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


def _weighted_sequence(rng: random.Random, weights: dict[str, float], n: int) -> list[str]:
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


def _plan_cohort(seed: int, n_patients: int, today: date) -> list[_Plan]:
    rng = random.Random(seed)
    conditions = _weighted_sequence(rng, {k: v[0] for k, v in _CONDITION_MIX.items()}, n_patients)
    trajectories = _weighted_sequence(rng, _TRAJECTORY_SHARES, n_patients)
    nhs = _nhs_numbers(rng, n_patients)
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

    plans: list[_Plan] = []
    for i in range(n_patients):
        prng = random.Random(seed * 1_000_003 + i * 17 + 1)
        cond, traj = conditions[i], trajectories[i]
        _, lo, hi = _CONDITION_MIX[cond]
        age = prng.randint(lo, hi)
        sex = prng.choices(("female", "male", "other"), weights=(56, 43, 1))[0]
        given = prng.choice(_FEMALE if sex == "female" else _MALE if sex == "male" else _FEMALE + _MALE)
        family = prng.choice(_FAMILY)
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
        distress = _clamp(prng.uniform(0.15, 0.6) + {"improving": 0.0, "plateaued": 0.1, "worsening": 0.2,
                                                     "disengaging": 0.2, "high_dose_opioid": 0.25}[traj], 0, 1)
        params = {
            "t0": prng.uniform(0.15, 0.35),  # improving: when it starts to work
            "drop": prng.uniform(0.42, 0.6),  # improving: fraction of pain lost
            "rise": prng.uniform(1.6, 2.8),  # worsening: points gained
            "steps": _clamp(9000 - (age - 25) * 75 + prng.uniform(-1500, 1500), 1800, 11000),
            "hr": prng.uniform(60, 76),
            "sleep": prng.uniform(6.3, 7.4),
            "ome_target": prng.choice((120, 120, 140, 170)),  # high-dose opioid: where the dose creep stops
        }
        plans.append(_Plan(
            index=i, practice=i % len(PRACTICES), nhs=nhs[i], given=given, family=family, sex=sex, age=age,
            condition=cond, pain_class=pain_class, trajectory=traj, start=start, baseline=baseline,
            pain_instrument="peg" if prng.random() < 0.4 else "nrs", distress=distress,
            wears=prng.random() < 0.8, safety=i in safety, case_status=case_status.get(i), params=params,
        ))
    return plans


def _pain_at(p: _Plan, d: date, today: date) -> float:
    """The patient's underlying pain (0-10) on a day, before measurement noise."""
    t = (d - p.start).days / max(1, (today - p.start).days)
    b, k = p.baseline, p.params
    if p.trajectory == "improving":
        v = b * (1 - k["drop"] * _ramp((t - k["t0"]) / 0.45))
    elif p.trajectory == "plateaued":
        v = b + 0.25 * math.sin(t * 9)
    elif p.trajectory == "worsening":
        v = b + k["rise"] * _ramp(t / 0.9)
    elif p.trajectory == "disengaging":
        v = b - 0.9 * _ramp(t / 0.3) + 1.1 * _ramp((t - 0.45) / 0.5)
    else:
        v = b + 0.6 * t
    return _clamp(v, 0.0, 10.0)


# ----------------------------------------------------------------------------- simulation of one patient


class _Regimen:
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
            drug, route, _ladder, _cls = _DRUGS[drug_key]
            if route == "transdermal":
                patch = dose
            elif dose is not None:
                daily = dose
            name = ("Ibuprofen 5% gel" if drug_key == "ibuprofen_gel"
                    else treatment_label("medicine", "", drug, route, daily, patch))
            dose_text = _dose_text(drug_key, dose)
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
            "created_by": self.created_by, "created_at": _at(min(start, self.today), 9 * 60),
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
        return [r for r in self.active() if r["_key"] and (cls is None or _DRUGS[r["_key"]][3] == cls)]

    def has(self, key: str) -> bool:
        return any(r["_key"] == key for r in self.active())

    def ome(self) -> float:
        return sum(ome_mg_per_day(r["drug"], r["route"], r["daily_dose_mg"], r["patch_mcg_per_h"])
                   for r in self.active_meds())

    def change_dose(self, row: dict[str, Any], d: date, step: int, adherence: int | None, why: str) -> dict | None:
        ladder = _DRUGS[row["_key"]][2]
        if row["_dose"] not in ladder:
            return None
        idx = ladder.index(row["_dose"]) + step
        if not 0 <= idx < len(ladder) or d <= row["start_date"]:
            return None
        new_dose = ladder[idx]
        self.stop(row, d - timedelta(days=1), "other", f"Dose {'increased' if step > 0 else 'reduced'} {d:%d %b %Y}.")
        return self.add("medicine", "", d, drug_key=row["_key"], dose=new_dose, adherence=adherence, notes=why)


def _at(d: date, minutes: int) -> datetime:
    return datetime.combine(d, time(0, 0)) + timedelta(minutes=minutes)


def _course(reg: _Regimen, rng: random.Random, p: _Plan, category: str, start: date, adherence: int,
            notes: str = "") -> dict[str, Any]:
    if category == "exercise":
        name = rng.choice(_EXERCISE[p.condition])
        route = None
    elif category == "injection":
        name, route = _INJECTION[p.condition]
    else:
        name = rng.choice(_NONDRUG[category])
        route = None
    lo, hi = _COURSE_DAYS[category]
    length = rng.randint(lo, hi)
    ongoing = category in ("exercise", "social_prescribing") and rng.random() < 0.35
    end = None if ongoing else start + timedelta(days=length)
    reason = "completed"
    if end is not None and rng.random() < (0.35 if p.trajectory == "disengaging" else 0.12):
        end = start + timedelta(days=max(0, length // 2))
        reason = rng.choice(("patient_choice", "ineffective"))
    return reg.add(category, name, start, end=end, reason=reason, adherence=adherence, notes=notes, route=route)


def _background(reg: _Regimen, rng: random.Random, p: _Plan) -> None:
    """Treatments before the hub history starts: what the patient arrives with."""
    s = p.start
    before = lambda lo, hi: s - timedelta(days=rng.randint(lo, hi))  # noqa: E731
    # Everyone has had some non-drug care; rotate categories so the cohort covers all of them.
    cat = _BACKGROUND_CATEGORIES[p.index % len(_BACKGROUND_CATEGORIES)]
    _course(reg, rng, p, cat, before(120, 400), rng.randint(55, 95))
    if cat != "education" and rng.random() < 0.6:
        _course(reg, rng, p, "education", before(200, 700), rng.randint(70, 100))
    if cat != "exercise" and rng.random() < 0.6:
        _course(reg, rng, p, "exercise", before(90, 500), rng.randint(40, 90))

    para = reg.add("medicine", "", before(300, 1100), drug_key="paracetamol", dose=rng.choice((2000, 4000)),
                   adherence=rng.randint(60, 95))
    if rng.random() < 0.45:
        reg.stop(para, before(20, 250), "ineffective")
    if p.condition in _OA and rng.random() < 0.7:
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
        reg.add("medicine", "", before(60, 400), drug_key=key, dose=_DRUGS[key][2][rng.randint(0, 1)],
                adherence=rng.randint(55, 95))
    if p.condition == "widespread_pain" or (p.pain_class == "primary" and rng.random() < 0.4):
        key = "amitriptyline" if p.index % 3 else "duloxetine"
        reg.add("medicine", "", before(60, 500), drug_key=key, dose=_DRUGS[key][2][0], adherence=rng.randint(55, 95))

    if p.trajectory == "high_dose_opioid":
        cod = reg.add("medicine", "", before(500, 1000), drug_key="codeine", dose=240, adherence=90)
        strong_start = before(120, 400)
        reg.stop(cod, strong_start - timedelta(days=1), "ineffective")
        key = ("oxycodone", "morphine", "fentanyl")[p.index % 3]
        reg.add("medicine", "", strong_start, drug_key=key, dose=_DRUGS[key][2][1 if key != "fentanyl" else 0],
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
                reg.add("medicine", "", before(60, 300), drug_key=g, dose=_DRUGS[g][2][1],
                        adherence=rng.randint(70, 100))
        if p.index % 5 == 1:
            reg.add("medicine", "", before(30, 250), drug_key="diazepam", dose=_DRUGS["diazepam"][2][rng.randint(0, 2)],
                    adherence=rng.randint(70, 100), notes="Started for muscle spasm; never reviewed.")
    elif rng.random() < 0.45:
        key = ("codeine", "tramadol", "buprenorphine", "tapentadol")[p.index % 4]
        ladder = _DRUGS[key][2]
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


def _decide_changes(rng: random.Random, p: _Plan, t: float, reg: _Regimen) -> tuple[list[str], list[str]]:
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


def _apply_change(kind: str, reg: _Regimen, rng: random.Random, p: _Plan, d: date, adherence: int) -> str | None:
    """Make one management change happen in the treatment record; returns a note, or None if not possible."""
    traj = p.trajectory
    if kind == "drug_start":
        pool = [k for k in _DRUG_START_POOL[traj] if not reg.has(k)]
        pool = [k for k in pool if not (_DRUGS[k][3] in ("weak", "strong") and
                                        (reg.active_meds("weak") or reg.active_meds("strong")))]
        pool = [k for k in pool if not (_DRUGS[k][3] == "gabapentinoid" and reg.active_meds("gabapentinoid"))]
        if not pool:
            return None
        key = rng.choice(pool)
        ladder = _DRUGS[key][2]
        reg.add("medicine", "", d, drug_key=key, dose=ladder[0] if ladder else None, adherence=adherence)
        return f"Started {_DRUGS[key][0]}."
    if kind == "drug_stop":
        pool = [r for r in reg.active_meds() if _DRUGS[r["_key"]][3] != "strong"]
        if not pool:
            return None
        row = rng.choice(pool)
        reason = "tapered" if _DRUGS[row["_key"]][3] in ("weak", "gabapentinoid") else rng.choice(
            ("ineffective", "side_effects", "patient_choice"))
        reg.stop(row, d, reason)
        return f"Stopped {row['drug']}."
    if kind == "dose_change":
        if traj == "high_dose_opioid":
            pool = reg.active_meds("strong")
        else:
            pool = [r for r in reg.active_meds() if _DRUGS[r["_key"]][2] and _DRUGS[r["_key"]][3] != "strong"]
        rng.shuffle(pool)
        for row in pool:
            new = reg.change_dose(row, d, +1, adherence, "Dose increased at review.")
            if new is not None:
                return f"Increased {new['drug']} to {new['dose_text']}."
        return None
    if kind == "taper_start":
        for row in reg.active_meds("strong") + reg.active_meds("weak") + reg.active_meds("gabapentinoid"):
            ladder = _DRUGS[row["_key"]][2]
            idx = ladder.index(row["_dose"]) if row["_dose"] in ladder else -1
            if idx <= 0:
                continue
            if traj == "high_dose_opioid":
                after = ome_mg_per_day(row["drug"], row["route"],
                                       None if row["route"] == "transdermal" else ladder[idx - 1],
                                       ladder[idx - 1] if row["route"] == "transdermal" else None)
                if reg.ome() - ome_mg_per_day(row["drug"], row["route"], row["daily_dose_mg"],
                                              row["patch_mcg_per_h"]) + after < 120:
                    continue
            new = reg.change_dose(row, d, -1, adherence, "Taper started: slow reduction agreed.")
            if new is not None:
                return f"Taper of {new['drug']} started."
        return None
    if kind == "new_nonpharm_intervention":
        cats = ["exercise", "acupuncture", "social_prescribing", "manual_therapy", "other", "education"]
        if p.condition in _OA or p.condition in ("shoulder_pain", "tendinopathy"):
            cats.append("injection")
        if p.condition in ("knee_oa", "hip_oa") and p.age >= 50:
            cats.append("weight_management")
        cat = rng.choice(cats)
        row = _course(reg, rng, p, cat, d, adherence)
        return f"Started {row['name'][0].lower() + row['name'][1:]}."
    if kind == "psych_intervention":
        row = _course(reg, rng, p, "psychological", d + timedelta(days=rng.randint(14, 42)), adherence,
                      "Referred at review; waiting-list start.")
        if row["start_date"] > reg.today:
            row.update(status="planned", end_date=None, reason_stopped=None)
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


def _simulate(p: _Plan, today: date, seed: int, pcp_id: int | None) -> dict[str, Any]:
    """Treatments, assessments, reviews, wearable days and the case of one patient (rows without ids)."""
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 2)
    span = max(1, (today - p.start).days)
    reg = _Regimen(today, pcp_id)
    _background(reg, rng, p)

    # Reviews every 4-8 weeks; management changes happen there and shape the treatment record.
    reviews: list[dict[str, Any]] = []
    d = p.start + timedelta(days=rng.randint(7, 21))
    dna_recent = 0
    while d <= today:
        t = (d - p.start).days / span
        if p.trajectory == "disengaging":
            p_dna = 0.05 + 0.45 * _ramp((t - 0.35) / 0.5)
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
                adherence = int(_clamp(88 - 60 * _ramp((t - 0.2) / 0.7) + rng.uniform(-6, 6), 5, 100))
                too_much = t > 0.45 and rng.random() < 0.7
            else:
                adherence = int(_clamp(rng.gauss(82 if p.trajectory != "plateaued" else 76, 8), 30, 100))
                too_much = p.trajectory == "high_dose_opioid" and rng.random() < 0.1
            wanted, justifications = _decide_changes(rng, p, t, reg)
            for kind in dict.fromkeys(wanted):
                note = _apply_change(kind, reg, rng, p, d, adherence)
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
            "notes": " ".join(notes), "reviewer_id": pcp_id, "created_at": _at(d, rng.randint(8 * 60, 18 * 60)),
        })
        d += timedelta(days=rng.randint(28, 56))

    # High-dose opioid patients must end at or above 120 mg OME/day whatever the review dates allowed.
    if p.trajectory == "high_dose_opioid":
        for row in reg.active_meds("strong"):
            while reg.ome() < 120:
                ladder = _DRUGS[row["_key"]][2]
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
                row["dose_text"] = _dose_text(row["_key"], ladder[idx + 1])

    assessments = _assessments(p, today, rng, pcp_id)
    _safety_v02_examples(p, today, seed, reg, assessments)
    wearables = _wearables(p, today, seed) if p.wears else []
    return {"treatments": reg.rows, "assessments": assessments, "reviews": reviews, "wearables": wearables,
            "regimen": reg}


def _pain_responses(instrument: str, level: float, rng: random.Random, noise: bool = True) -> tuple[dict, float]:
    if instrument == "nrs":
        v = int(round(_clamp(level, 0, 10)))
        return {"NRS_Q1": v}, float(v)
    q1 = int(round(_clamp(level, 0, 10)))
    q2 = int(_clamp(q1 + (rng.choice((-1, 0, 0, 1)) if noise else 0), 0, 10))
    q3 = int(_clamp(q1 + (rng.choice((-1, 0, 1, 1)) if noise else 0), 0, 10))
    return {"PEG_Q1": q1, "PEG_Q2": q2, "PEG_Q3": q3}, (q1 + q2 + q3) / 3


def _phq9(level: float, rng: random.Random, item9: int = 0) -> dict[str, Any]:
    r = {f"PHQ9_Q{i}": int(_clamp(round(level + rng.gauss(0, 0.55)), 0, 3)) for i in range(1, 9)}
    r["PHQ9_Q9"] = item9
    return r


def _row_assessment(instrument: str, d: date, responses: dict | None, total: float | None, band: str | None,
                    *, safety: bool = False, mode: str = "self", entered_by: int | None = None,
                    minutes: int = 600) -> dict[str, Any]:
    returned = responses is not None
    return {"instrument": instrument, "administered_on": d, "mode": mode,
            "status": "completed" if returned else "not_returned", "responses": responses or {},
            "total": total if returned else None, "band": band if returned else None, "safety_alert": safety,
            "entered_by": entered_by, "created_at": _at(d, minutes)}


def _assessments(p: _Plan, today: date, rng: random.Random, pcp_id: int | None) -> list[dict[str, Any]]:
    span = max(1, (today - p.start).days)
    rows: list[dict[str, Any]] = []

    def not_returned(d: date, scheduled_index: int, last_two: bool) -> bool:
        if scheduled_index == 0:
            return False
        t = (d - p.start).days / span
        if p.trajectory == "disengaging":
            if last_two:
                return True
            return rng.random() < 0.05 + 0.55 * _ramp((t - 0.45) / 0.4)
        return rng.random() < 0.03

    # Risk stratification at baseline: STarT Back for back pain, STarT MSK otherwise (clinician-entered total).
    risk = "high" if p.distress > 0.62 else "medium" if p.distress > 0.38 else "low"
    if p.condition in _BACK:
        probs = {"low": (0.3, 0.1, (0, 2)), "medium": (0.8, 0.3, (1, 3)), "high": (0.75, 0.85, (3, 4))}[risk]
        for _ in range(200):
            r = {f"SBST_Q{i}": int(rng.random() < (probs[0] if i <= 4 else probs[1])) for i in range(1, 9)}
            r["SBST_Q9"] = rng.randint(*probs[2])
            sbst = instruments.score_sbst(r)
            total, band = sbst.total, sbst.risk
            if band == risk:
                break
        rows.append(_row_assessment("sbst", p.start, r, float(total), band))
    else:
        total = {"low": rng.randint(1, 4), "medium": rng.randint(5, 8), "high": rng.randint(9, 12)}[risk]
        rows.append(_row_assessment("startmsk", p.start, {"STARTMSK_TOTAL": total}, float(total),
                                    instruments.band_start_msk(total), mode="clinician", entered_by=pcp_id))

    # Pain NRS or PEG every ~4 weeks.
    dates = []
    d = p.start
    while d <= today:
        dates.append(d)
        d += timedelta(days=28 + rng.randint(-3, 3))
    pain_rows = []
    for k, d in enumerate(dates):
        last_two = k >= len(dates) - 2
        if not_returned(d, k, last_two):
            pain_rows.append(_row_assessment(p.pain_instrument, d, None, None, None))
            continue
        level = _pain_at(p, d, today) + rng.gauss(0, 0.4 if p.trajectory == "improving" else 0.5)
        responses, total = _pain_responses(p.pain_instrument, level, rng)
        pain_rows.append(_row_assessment(p.pain_instrument, d, responses, total, None))
    # An improving patient's latest score is at least 30% below the first (IMMPACT moderate, docs/CLINICAL.md 2).
    done = [r for r in pain_rows if r["status"] == "completed"]
    if p.trajectory == "improving" and done and done[-1]["total"] > 0.65 * done[0]["total"]:
        responses, total = _pain_responses(p.pain_instrument, math.floor(0.6 * done[0]["total"]), rng, noise=False)
        done[-1].update(responses=responses, total=total)
    rows.extend(pain_rows)

    # MSK-HQ, PHQ-9 and GAD-7 every ~3 months.
    d = p.start
    k = 0
    quarter_dates = []
    while d <= today:
        quarter_dates.append(d)
        d += timedelta(days=91 + rng.randint(-7, 7))
    for k, d in enumerate(quarter_dates):
        pain = _pain_at(p, d, today)
        last_two = k >= len(quarter_dates) - 2
        if not_returned(d, k, last_two):
            for instrument in ("mskhq", "phq9", "gad7"):
                rows.append(_row_assessment(instrument, d, None, None, None, minutes=610))
            continue
        health = _clamp(4 * (1 - pain / 10) * 1.1 + 0.2 - 0.6 * p.distress, 0, 4)
        msk = {f"MSKHQ_Q{i}": int(_clamp(round(health + rng.gauss(0, 0.6)), 0, 4)) for i in range(1, 15)}
        rows.append(_row_assessment("mskhq", d, msk, float(sum(msk.values())), None, minutes=610))
        mood = _clamp(p.distress * (0.4 + pain / 8), 0, 2.6)
        phq = _phq9(mood, rng)
        phq_score = instruments.score_phq9(phq)
        rows.append(_row_assessment("phq9", d, phq, float(phq_score.total), phq_score.band, minutes=612))
        anx = _clamp(p.distress * (0.3 + pain / 9), 0, 2.6)
        gad = {f"GAD7_Q{i}": int(_clamp(round(anx + rng.gauss(0, 0.55)), 0, 3)) for i in range(1, 8)}
        gad_score = instruments.score_gad7(gad)
        rows.append(_row_assessment("gad7", d, gad, float(gad_score.total), gad_score.band, minutes=614))

    if p.safety:
        # A recent PHQ-9 with thoughts of self-harm: same-day clinician review (docs/CLINICAL.md 1.10).
        d = today - timedelta(days=rng.randint(2, 20))
        phq = _phq9(2.0, rng, item9=rng.choice((1, 1, 2)))
        phq_score = instruments.score_phq9(phq)
        rows.append(_row_assessment("phq9", d, phq, float(phq_score.total), phq_score.band,
                                    safety=phq_score.safety_alert, minutes=700))
    return rows


# Patients who show the clinical safety v0.2 prompts (by plan index; each has a hub case):
# a PHQ-9 entered from a paper form with item 9 left blank, and fear of movement with physiotherapy declined.
ITEM9_BLANK_PATIENTS = (2,)
DECLINED_PHYSIO_PATIENTS = (7, 23)


def _safety_v02_examples(p: _Plan, today: date, seed: int, reg: _Regimen, rows: list[dict[str, Any]]) -> None:
    """TSK-11 for patients with psychosocial risk, and the few examples above. Uses its own random stream so
    the rest of the cohort is the same as before these were added."""
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 7)
    if p.distress > 0.55:
        # Fear of movement measured at baseline when psychosocial risk is raised (pathway step S2).
        target = int(_clamp(round(16 + 22 * p.distress + rng.gauss(0, 2)), 11, 44))
        if p.index in DECLINED_PHYSIO_PATIENTS:
            target = max(target, 33)
        items = [1] * 11
        for k in range(target - 11):
            items[k % 11] += 1
        rows.append(_row_assessment("tsk11", p.start, {f"TSK11_Q{i + 1}": v for i, v in enumerate(items)},
                                    float(sum(items)), None, mode="self", minutes=620))
    if p.index in DECLINED_PHYSIO_PATIENTS:
        start = today - timedelta(days=rng.randint(70, 100))
        reg.add("exercise", "Physiotherapy-led graded exercise programme", start,
                end=start + timedelta(days=rng.randint(10, 20)), reason="patient_choice", adherence=30,
                notes="Stopped after two sessions: worried the exercises would make the pain worse.")
    if p.index in ITEM9_BLANK_PATIENTS:
        phq = [r for r in rows if r["instrument"] == "phq9" and r["status"] == "completed" and not r["safety_alert"]]
        if phq:
            last = max(phq, key=lambda r: r["administered_on"])
            last["responses"] = {k: v for k, v in last["responses"].items() if k != "PHQ9_Q9"}
            last["total"] = float(sum(last["responses"].values()))
            last["band"] = instruments.score_phq9({**last["responses"], "PHQ9_Q9": 0}).band


_WEEKDAY = (1.0, 1.05, 1.0, 1.05, 1.1, 1.05, 0.78)  # Monday .. Sunday


def _wearables(p: _Plan, today: date, seed: int) -> list[dict[str, Any]]:
    """Daily steps, activity, sleep and resting heart rate with a weekly rhythm and gaps (no row, or NULL)."""
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 3)
    first = p.start + timedelta(days=rng.randint(0, 20))
    last = today - timedelta(days=1)
    span = max(1, (today - p.start).days)
    retired = p.age >= 67
    base_steps, base_hr, base_sleep = p.params["steps"], p.params["hr"], p.params["sleep"]
    rows: list[dict[str, Any]] = []
    gap_left = 0
    d = first
    while d <= last:
        t = (d - p.start).days / span
        if gap_left > 0:
            gap_left -= 1
            d += timedelta(days=1)
            continue
        if rng.random() < 0.012:  # charging forgotten, holiday, device left in a drawer
            gap_left = rng.randint(2, 9)
            d += timedelta(days=1)
            continue
        wear = 0.95
        if p.trajectory == "disengaging":
            wear = 0.95 - 0.62 * _ramp((t - 0.3) / 0.65)
        if rng.random() > wear:
            d += timedelta(days=1)
            continue
        pain = _pain_at(p, d, today)
        wd = d.weekday()
        rhythm = _WEEKDAY[wd] if not retired else (1.0 if wd < 6 else 0.85)
        steps = base_steps * rhythm * (1 - 0.07 * (pain - 5)) * math.exp(rng.gauss(0, 0.28))
        steps = int(_clamp(steps, 150, 40000))
        active = int(_clamp(steps / 115 * math.exp(rng.gauss(0, 0.3)), 2, 600))
        sleep = None
        if rng.random() >= 0.07:  # not worn overnight: sleep unknown (NULL), not zero
            weekend = 0.45 if wd >= 5 else 0.0
            sleep = round(_clamp(rng.gauss(base_sleep - 0.18 * (pain - 4) + weekend, 0.7), 2.5, 11.5), 1)
        hr = None
        if sleep is not None or rng.random() < 0.3:
            hr = int(_clamp(round(rng.gauss(base_hr + 0.6 * (pain - 5), 2.5)), 40, 110))
        rows.append({"day": d, "source": "demo", "steps": steps, "active_minutes": active, "sleep_hours": sleep,
                     "resting_hr": hr})
        d += timedelta(days=1)
    return rows


# ----------------------------------------------------------------------------- cases

_SUBMITTED_DAYS_AGO = {"submitted": (1, 21), "triaged": (5, 35), "scheduled": (12, 50), "discussed": (25, 65),
                       "returned": (35, 80), "closed": (55, 90)}


def _pronouns(sex: str) -> tuple[str, str, str]:
    if sex == "female":
        return "she", "her", "her"
    if sex == "male":
        return "he", "him", "his"
    return "they", "them", "their"


def _case_row(p: _Plan, sim: dict[str, Any], today: date, seed: int, practice_id: int, pcp_id: int) -> dict:
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 4)
    status = p.case_status or "draft"
    pain = [a for a in sim["assessments"] if a["instrument"] in ("nrs", "peg") and a["status"] == "completed"]
    first, latest = pain[0], pain[-1]
    risk = next(a for a in sim["assessments"] if a["instrument"] in ("sbst", "startmsk"))
    reg: _Regimen = sim["regimen"]
    meds = reg.active_meds()
    analgesics = [r for r in meds if _DRUGS[r["_key"]][3] != "benzodiazepine"]
    nondrug = sorted({r["name"].split(":")[0].split("(")[0].strip().lower() for r in reg.rows
                      if r["category"] not in ("medicine",) and r["start_date"] <= today})
    recent_rows = [r for r in reg.rows if r["category"] != "medicine" and r["start_date"] <= today]
    recent = (recent_rows[-1]["name"][0].lower() + recent_rows[-1]["name"][1:]) if recent_rows else "physiotherapy"
    strong = reg.active_meds("strong") or reg.active_meds("weak")
    co = [r["drug"] for r in meds if _DRUGS[r["_key"]][3] in ("gabapentinoid", "benzodiazepine")]
    drug_to_reduce = (strong or [r for r in meds if _DRUGS[r["_key"]][3] == "gabapentinoid"] or meds or [None])[0]
    pron, obj, poss = _pronouns(p.sex)
    n = len(analgesics)
    treatments = ", ".join(([f"{n} analgesic{'s' if n != 1 else ''}"] if n else []) + nondrug[:2]) or "usual care"
    months = max(12, (today - p.start).days // 30)
    words = {
        "Name": p.given, "Pron": pron.capitalize(), "pron": pron, "obj": obj, "poss": poss,
        "site": _SITE[p.condition], "Site": _SITE[p.condition].capitalize(), "months": months,
        "n_meds": len(analgesics), "first": round(first["total"], 1), "last": round(latest["total"], 1),
        "recent": recent, "drug": drug_to_reduce["drug"] if drug_to_reduce else "the painkillers",
        "treatments": treatments,
        "opioid": ", ".join(r["name"].lower() for r in strong) or "opioids",
        "ome": round(reg.ome()), "co": (" plus " + " and ".join(co)) if co else "",
    }
    templates = [q for q in _QUESTIONS[p.trajectory] if len(analgesics) >= 2 or "{n_meds}" not in q]
    question = rng.choice(templates).format(**words)
    goals = " ".join(rng.sample(_GOALS[p.condition], min(2, len(_GOALS[p.condition]))))
    concerns = rng.choice(_CONCERNS[p.trajectory]).format(**words)
    if status == "draft":
        created = _at(today - timedelta(days=rng.randint(1, 12)), rng.randint(8 * 60, 17 * 60))
        submitted = None
        changed = created
        if rng.random() < 0.4:
            question = ""  # a draft may not have its question yet
    else:
        lo, hi = _SUBMITTED_DAYS_AGO[status]
        submitted = _at(today - timedelta(days=rng.randint(lo, hi)), rng.randint(8 * 60, 18 * 60))
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
        "latest_pain_on": latest["administered_on"], "flags": [], "priority": 0.0, "priority_reasons": [],
        "version": 1,
    }


# ----------------------------------------------------------------------------- public API


def is_empty(session_factory) -> bool:
    """True when the database holds no practice (so the demo may be seeded)."""
    with session_factory() as s:
        return s.scalar(select(Practice.id).limit(1)) is None


def _create_users(s, practice_ids: dict[str, int], usernames: list[str] | None = None,
                  password: str = DEMO_PASSWORD) -> dict[str, int]:
    """Create demo users (all, or the named ones) with one shared bcrypt hash; returns username -> id."""
    password_hash = hash_password(password)
    ids: dict[str, int] = {}
    for u in DEMO_USERS:
        if usernames is not None and u["username"] not in usernames:
            continue
        user = User(username=u["username"], name=u["name"], email=f"{u['username']}@demo.invalid",
                    password_hash=password_hash, discipline=u["discipline"],
                    practice_id=practice_ids[u["practice_code"]] if u["practice_code"] else None,
                    roles=[UserRole(role=r) for r in u["roles"]])
        s.add(user)
        s.flush()
        ids[u["username"]] = user.id
    return ids


def _pcp_username(code: str) -> str:
    return next(u["username"] for u in DEMO_USERS if u["practice_code"] == code and "pcp" in u["roles"])


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _identity(p: _Plan, today: date) -> dict[str, Any]:
    """Date of birth in the birth year (today.year - age) and a synthetic address, derived from the patient's
    index so that no random draw is taken (the rest of the cohort stays as it was)."""
    year = today.year - p.age
    dob = date(year, 1, 1) + timedelta(days=(p.index * 37) % 365)
    if dob.year != year:  # keep the date inside the birth year
        dob = date(year, 12, 31)
    street = _STREETS[p.index % len(_STREETS)]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    postcode = f"ZZ99 {p.index % 9 + 1}{letters[p.index % 20]}{letters[(p.index // 20) % 20]}"
    return {"date_of_birth": dob, "address": f"{p.index % 97 + 1} {street}, {_TOWN}", "postcode": postcode}


def seed_demo(session_factory, *, seed: int = 2026, n_patients: int = 150, today: date | None = None,
              password: str = DEMO_PASSWORD) -> dict:
    """Seed the synthetic demo cohort into an empty database; returns row counts per table. Every demo user
    gets `password` (the published demo password unless the caller chose another)."""
    today = today or date.today()
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1.")
    plans = _plan_cohort(seed, n_patients, today)
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
        user_ids = _create_users(s, practice_ids, password=password)
        for pr in practices:  # each practice's PCP is its safety responder (hub.safety)
            pr.safety_responder_id = user_ids[_pcp_username(pr.code)]
        pcp_ids = [user_ids[_pcp_username(code)] for code, _ in PRACTICES]
        practice_list = [practice_ids[code] for code, _ in PRACTICES]

        sims = [_simulate(p, today, seed, pcp_ids[p.practice]) for p in plans]
        patient_rows = [{
            "practice_id": practice_list[p.practice], "nhs_number": p.nhs, "given_name": p.given,
            "family_name": p.family, "birth_year": today.year - p.age, "sex": p.sex,
            "created_at": _at(p.start - timedelta(days=1), 9 * 60), **_identity(p, today),
        } for p in plans]
        patient_table, case_table = Patient.__table__, Case.__table__
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
                s.execute(model.__table__.insert(), rows[i:i + 20_000])

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


def non_demo_events(session_factory) -> int:
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


def cohort_counts(session_factory) -> dict[str, int]:
    """Rows per demo table (what seed_demo reports), read from the database."""
    models = {"practice": Practice, "user_account": User, "user_role": UserRole, "patient": Patient,
              "hub_case": Case, "treatment": Treatment, "assessment": Assessment, "review": Review,
              "wearable_day": WearableDay}
    with session_factory() as s:
        return {name: int(s.scalar(select(func.count()).select_from(m)) or 0) for name, m in models.items()}

