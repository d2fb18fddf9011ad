"""Demo hub meetings on top of the demo cohort: two past finalised MDTs with structured decisions, actions
and outcome letters, their follow-through (actions done, letters acknowledged), and an upcoming meeting with
discipline preparation.

Everything is written through the hub services (hub.meetings, hub.decisions, hub.cases) acting as the demo
users, so audit events, validation, actions and letters are the real ones. Texts are deterministic for a
given seed and day. The demo's 'returned' and 'closed' cases (already discussed in the demo's story) are
re-listed by the chair (returned/closed -> submitted, the workflow's re-listing transition) so that they
can join a past agenda, keeping their original submission time (see _relist_for_history); after their
decision the 'closed' ones are closed again.

The services stamp finalisation, letters, completions and acknowledgements with the current time, and
recompute flags for the real date: seed with `today` = the real date for a consistent demo.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from db.models import Action, AgendaItem, Assessment, Case, Letter, Meeting, Recommendation, Treatment
from hub import cases as hub_cases
from hub import audit, decisions, inbox, meetings
from hub import settings as hub_settings
from hub.access import Actor
from hub.auth import actor_for
from hub.clinical import opioids
from hub.decisions import DecisionForm, GoalInput, RecommendationInput, suggest_patient_summary
from hub.demo.catalogue import ome_mg_per_day
from hub.demo.people import DEMO_USERS
from hub.vocab import CONDITIONS, OWNER_ROLES, PAIN_CLASSIFICATIONS

VIDEO_LINK = "https://meet.demo.invalid/msk-pain-hub"
MEETING_HOUR = 13
MINUTES_PER_CASE = 8
PAST_WEEKS = (5, 3)
UPCOMING_DAYS = 3
UNDISCUSSED_PER_MEETING = 2
MAX_OVERDUE_DAYS = 10
CLOSED_DONE_SHARE = 0.8
RETURNED_DONE_SHARE = 0.35
DEFAULT_RELIST_OVERDUE_DAYS = 14
QUORUM_OVERRIDE = ("Psychologist on annual leave; she reviewed the agenda in writing beforehand and the cases with "
                   "psychosocial flags were checked with her by email before the letters went out.")

_SITE = {"knee_oa": "knee", "hip_oa": "hip", "hand_oa": "hands", "low_back_pain": "back", "sciatica": "back and leg",
         "neck_pain": "neck", "shoulder_pain": "shoulder", "tendinopathy": "tendon", "widespread_pain": "whole-body",
         "other": "joint"}

_EXERCISE = {
    "knee_oa": "ESCAPE-pain group programme (knee strengthening and education), 6 weeks",
    "hip_oa": "ESCAPE-pain group programme (hip strengthening and education), 6 weeks",
    "hand_oa": "Hand therapy: joint protection and hand-strengthening programme, 4 sessions",
    "low_back_pain": "Group back exercise class with graded activity, 6 weeks",
    "sciatica": "Physiotherapy: nerve mobility and graded walking programme, 6 weeks",
    "neck_pain": "Physiotherapy: neck and shoulder-girdle exercise programme with workstation advice",
    "shoulder_pain": "Physiotherapy: progressive rotator cuff loading programme, 8 weeks",
    "tendinopathy": "Physiotherapy: progressive tendon loading programme, 12 weeks",
    "widespread_pain": "Gentle graded exercise with hydrotherapy, pacing advice, 8 weeks",
    "other": "Physiotherapy: general graded exercise programme, 6 weeks",
}

_INVESTIGATION = {
    "knee_oa": "Weight-bearing X-ray of the knee to inform a surgical opinion (not needed for the diagnosis)",
    "hip_oa": "AP pelvis X-ray to inform a surgical opinion (not needed for the diagnosis)",
    "hand_oa": "Bloods (CRP, rheumatoid factor, anti-CCP) to exclude inflammatory arthritis",
    "low_back_pain": "Repeat the red-flag screen; MRI lumbar spine only if new neurological signs",
    "sciatica": "MRI lumbar spine (persistent radicular pain over 12 weeks, considering intervention)",
    "neck_pain": "Repeat the red-flag screen and neurological examination of the arms",
    "shoulder_pain": "Ultrasound of the shoulder (rotator cuff integrity)",
    "tendinopathy": "Ultrasound of the tendon (to guide loading and exclude a tear)",
    "widespread_pain": "Bloods: FBC, CRP, TSH, vitamin D, CK (baseline, once)",
    "other": "Bloods: FBC, CRP and an X-ray of the most painful joint",
}

_REFERRAL = {
    "knee_oa": "Refer to orthopaedics for a knee replacement opinion (patient wishes to discuss surgery)",
    "hip_oa": "Refer to orthopaedics for a hip replacement opinion (patient wishes to discuss surgery)",
    "hand_oa": "Refer to hand therapy and, if inflammatory markers raised, rheumatology",
    "low_back_pain": "Refer to the community spinal triage service",
    "sciatica": "Refer to the spinal triage service for an epidural or surgical opinion if the MRI is concordant",
    "neck_pain": "Refer to the community MSK interface service",
    "shoulder_pain": "Refer to the shoulder clinic if the cuff is torn on ultrasound",
    "tendinopathy": "Refer to sports and exercise medicine if no progress after 12 weeks of loading",
    "widespread_pain": "Refer to rheumatology only if the bloods are abnormal",
    "other": "Refer to the community MSK interface service",
}

_SAFETY_NETTING = {
    "back": ("Seek same-day help for numbness around the back passage or genitals, new bladder or bowel problems, "
             "or weakness in the legs (cauda equina). Contact the GP for fever or unexplained weight loss."),
    "joint": ("Seek help the same day for a hot, red, swollen joint with fever, or if the joint locks or gives way "
              "after an injury."),
    "general": ("Contact the GP if the pain changes character, with fever, unexplained weight loss or night sweats, "
                "or new weakness or numbness."),
    "taper": ("During the taper, expect a few days of more pain, sweating or poor sleep after each step: do not take "
              "extra doses; contact the GP if withdrawal symptoms last more than a week or mood drops."),
    "naloxone": "Keep the naloxone kit at home while the opioid dose is high, and tell family where it is.",
    "mood": ("If you have thoughts of harming yourself, contact the GP the same day, call NHS 111 (option 2) or "
             "Samaritans on 116 123, or go to A&E."),
}

_ALLERGIES = ("No known drug allergies", "No known drug allergies", "No known drug allergies",
              "Penicillin: rash", "Codeine: severe nausea and vomiting", "Elastoplast: skin irritation",
              "Trimethoprim: urticaria", "Naproxen: indigestion (intolerance, not allergy)")

# Goal sentences of the demo cohort (hub.demo._GOALS) as SMART goals: activity, support and the five GAS
# levels -2..+2 (level 0, the expected outcome, is the performance quantifier).
_GOALS: dict[str, tuple[str, str, tuple[str, str, str, str, str]]] = {
    "I want to walk to the shops and back without stopping.": (
        "Walk to the local shops and back without stopping", "with a walking stick if needed",
        ("5 minutes", "10 minutes", "20 minutes", "30 minutes", "40 minutes")),
    "To get down on the floor and play with my grandchildren.": (
        "Get down on the floor and back up to play with the grandchildren", "using a chair to push up from",
        ("never", "once a week", "2 times a week", "3 times a week", "5 times a week")),
    "Manage the stairs at home without holding on with both hands.": (
        "Climb the stairs at home holding one rail only", "",
        ("0 flights a day", "1 flight a day", "3 flights a day", "5 flights a day", "every time, 8 flights a day")),
    "I'd like to walk the dog round the park again.": (
        "Walk the dog round the park", "with a stick, on flat paths",
        ("5 minutes", "10 minutes", "20 minutes", "30 minutes", "45 minutes")),
    "Put my own socks and shoes on.": (
        "Put on own socks and shoes", "with a sock aid if needed",
        ("0 days a week", "2 days a week", "5 days a week", "6 days a week", "7 days a week")),
    "Get through a night without the hip waking me.": (
        "Sleep through the night without waking from hip pain", "",
        ("0 nights a week", "1 night a week", "3 nights a week", "5 nights a week", "7 nights a week")),
    "Open jars and do up buttons myself.": (
        "Open jars and do up buttons without help", "using a jar opener",
        ("0 days a week", "2 days a week", "4 days a week", "6 days a week", "7 days a week")),
    "Get back to knitting for my granddaughter.": (
        "Knit for the granddaughter", "with pacing breaks",
        ("0 minutes a day", "5 minutes a day", "15 minutes a day", "30 minutes a day", "45 minutes a day")),
    "To sit through a full shift at work.": (
        "Sit at work through a shift", "with a sit-stand desk and a break every 45 minutes",
        ("1 hour", "2 hours", "4 hours", "6 hours", "8 hours (full shift)")),
    "Sleep through the night without the pain waking me.": (
        "Sleep through the night without waking from back pain", "",
        ("0 nights a week", "1 night a week", "3 nights a week", "5 nights a week", "7 nights a week")),
    "Lift my little one without worrying my back will go.": (
        "Lift the toddler into the car seat confidently", "using the technique practised with the physiotherapist",
        ("0 times a day", "1 time a day", "3 times a day", "5 times a day", "every time, 8 times a day")),
    "Drive to work without the leg pain kicking in.": (
        "Drive to work without stopping for leg pain", "",
        ("5 minutes", "10 minutes", "20 minutes", "30 minutes", "45 minutes")),
    "Walk for half an hour without having to stop.": (
        "Walk continuously outdoors", "",
        ("5 minutes", "10 minutes", "20 minutes", "30 minutes", "40 minutes")),
    "Work at my computer all morning without a headache.": (
        "Work at the computer without a headache", "with the workstation set up as advised",
        ("30 minutes", "1 hour", "2 hours", "3 hours", "4 hours")),
    "Turn my head to reverse the car.": (
        "Turn the head fully to reverse the car", "",
        ("0 days a week", "1 day a week", "3 days a week", "5 days a week", "7 days a week")),
    "Hang the washing out and reach the top cupboard.": (
        "Hang the washing out and reach the top cupboard", "",
        ("0 days a week", "1 day a week", "3 days a week", "5 days a week", "7 days a week")),
    "Get back to swimming.": (
        "Swim front crawl at the local pool", "",
        ("0 lengths a session", "4 lengths a session", "10 lengths a session", "16 lengths a session",
         "20 lengths a session")),
    "Get back to running 5k.": (
        "Run continuously", "following the return-to-run plan",
        ("0 km", "1 km", "3 km", "4 km", "5 km")),
    "Play tennis with my friends again.": (
        "Play doubles tennis with friends", "",
        ("0 sets a week", "1 set a week", "2 sets a week", "3 sets a week", "4 sets a week")),
    "Grip my tools at work without it hurting.": (
        "Use hand tools at work with pain no more than 3/10", "with padded handles",
        ("0 hours a day", "1 hour a day", "3 hours a day", "5 hours a day", "7 hours a day")),
    "Have more good days than bad days.": (
        "Have good days (pain manageable, did what was planned)", "",
        ("0 good days a week", "1 good day a week", "3 good days a week", "4 good days a week",
         "5 good days a week")),
    "Go out with friends without paying for it for a week.": (
        "Go out with friends and recover within 2 days", "pacing the day before and after",
        ("0 outings a month", "1 outing a month", "2 outings a month", "3 outings a month", "4 outings a month")),
    "Feel less exhausted and get back to my choir.": (
        "Attend choir practice", "sitting for part of it if needed",
        ("0 sessions a month", "1 session a month", "2 sessions a month", "3 sessions a month",
         "4 sessions a month")),
    "Do my own housework again.": (
        "Do own housework", "spread over the week",
        ("0 rooms a week", "1 room a week", "3 rooms a week", "4 rooms a week", "5 rooms a week")),
    "Get back to the allotment.": (
        "Work on the allotment", "with a kneeler and pacing breaks",
        ("0 hours a week", "1 hour a week", "3 hours a week", "4 hours a week", "6 hours a week")),
}
_GENERIC_LEVELS = ("0 days a week", "1 day a week", "3 days a week", "5 days a week", "7 days a week")


# ----------------------------------------------------------------------------- reading the cohort


@dataclass
class _Med:
    drug: str
    name: str
    route: str
    dose: float | None
    patch: float | None
    ome: float


@dataclass
class _CaseInfo:
    """What the demo decisions are written from (read-only snapshot of one case)."""

    id: int
    status: str
    practice_id: int
    referrer_id: int
    condition: str
    pain_class: str
    question: str
    goals_text: str
    concerns_text: str
    risk_band: str | None
    baseline_pain: float | None
    latest_pain: float | None
    latest_instrument: str | None
    primary_outcome: str | None
    ome: float
    priority: float
    submitted_at: datetime | None
    flags: list[dict]
    given: str
    sex: str
    meds: list[_Med] = field(default_factory=list)
    nondrug: list[str] = field(default_factory=list)
    phq9: float | None = None
    trajectory: str = "plateaued"
    response_instrument: str | None = None
    tried: list[str] = field(default_factory=list)

    @property
    def open_flags(self) -> list[dict]:
        return [f for f in self.flags if f.get("severity") in ("red", "amber")]

    def has_flag(self, code: str) -> bool:
        return any(f.get("code") == code for f in self.open_flags)

    @property
    def opioids(self) -> list[_Med]:
        return sorted((m for m in self.meds if opioids.is_opioid(m.drug)), key=lambda m: (-m.ome, m.drug))

    @property
    def gabapentinoids(self) -> list[_Med]:
        return [m for m in self.meds if opioids.is_gabapentinoid(m.drug)]

    @property
    def benzodiazepines(self) -> list[_Med]:
        return [m for m in self.meds if opioids.is_benzodiazepine(m.drug)]

    @property
    def reduce_target(self) -> _Med | None:
        """The medicine to reduce first when the patient is doing well (as the referrer asked)."""
        asked = [m for m in self.meds if m.drug and m.drug in self.question.lower()]
        oral = [m for m in self.meds if m.route != "topical"]
        return (asked or self.opioids or self.gabapentinoids or oral or [None])[0]

    @property
    def pron(self) -> str:
        return {"female": "she", "male": "he"}.get(self.sex, "they")

    @property
    def site(self) -> str:
        return _SITE.get(self.condition, "joint")


def _question_patterns() -> dict[str, list[re.Pattern]]:
    """Regular expressions of the demo's clinical-question templates, by trajectory."""
    from hub.demo.catalogue import QUESTIONS

    out: dict[str, list[re.Pattern]] = {}
    for trajectory, templates in QUESTIONS.items():
        pats = []
        for t in templates:
            parts = re.split(r"\{[^}]*\}", t)
            pats.append(re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL))
        out[trajectory] = pats
    return out


def _trajectory(info: _CaseInfo, patterns: dict[str, list[re.Pattern]]) -> str:
    """The demo trajectory behind a case: from its question's template, else from its flags."""
    for trajectory, pats in patterns.items():
        if any(p.fullmatch(info.question or "") for p in pats):
            return trajectory
    if info.ome >= 90 or info.has_flag("opioid_red") or info.has_flag("opioid_amber"):
        return "high_dose_opioid"
    if info.has_flag("missed_appointments") or info.has_flag("prom_non_completion"):
        return "disengaging"
    if (info.latest_pain or 0) - (info.baseline_pain or 0) >= 1.5:
        return "worsening"
    if (info.baseline_pain or 0) - (info.latest_pain or 0) >= 2:
        return "improving"
    return "plateaued"


def _load(s, case_id: int, patterns: dict[str, list[re.Pattern]]) -> _CaseInfo:
    c = s.get(Case, case_id)
    info = _CaseInfo(
        id=c.id, status=c.status, practice_id=c.practice_id, referrer_id=c.referrer_id, condition=c.condition,
        pain_class=c.pain_classification, question=c.clinical_question or "", goals_text=c.goals_text or "",
        concerns_text=c.concerns_text or "", risk_band=c.risk_band, baseline_pain=c.baseline_pain,
        latest_pain=c.latest_pain, latest_instrument=c.latest_pain_instrument, primary_outcome=c.primary_outcome,
        ome=float(c.ome_total or 0), priority=float(c.priority or 0), submitted_at=c.submitted_at,
        flags=list(c.flags or []), given=c.patient.given_name, sex=c.patient.sex,
        response_instrument=(c.response or {}).get("instrument"))
    for t in s.scalars(select(Treatment).where(Treatment.patient_id == c.patient_id, Treatment.status != "planned")
                       .order_by(Treatment.start_date, Treatment.id)):
        if t.category != "medicine":
            info.tried.append(t.name)
            if t.status == "active":
                info.nondrug.append(t.name)
        elif t.drug and t.status == "active":
            name = t.name[:1].lower() + t.name[1:]
            info.meds.append(_Med(t.drug.lower(), name, t.route or "oral", t.daily_dose_mg, t.patch_mcg_per_h,
                                  ome_mg_per_day(t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)))
    info.phq9 = s.scalar(select(Assessment.total).where(Assessment.patient_id == c.patient_id,
                                                        Assessment.instrument == "phq9",
                                                        Assessment.status == "completed")
                         .order_by(Assessment.administered_on.desc(), Assessment.id.desc()).limit(1))
    info.trajectory = _trajectory(info, patterns)
    return info


def _case_info(session_factory, case_id: int, patterns) -> _CaseInfo:
    with session_factory() as s:
        return _load(s, case_id, patterns)


# ----------------------------------------------------------------------------- the decision texts


def _fmt(x: float | None) -> str:
    return "not recorded" if x is None else f"{x:g}"


def _taper_text(m: _Med) -> str:
    if m.patch:
        return (f"Taper {m.name}: step the patch down by one strength (from {m.patch:g} microgram/hour) no faster than "
                "every 4 weeks; review at each step; no early or replacement prescriptions.")
    if opioids.is_gabapentinoid(m.drug):
        step = 300 if m.drug == "gabapentin" else 75
        return (f"Taper {m.name}: reduce by {step} mg/day every 1-2 weeks, then stop; review sleep, mood and pain "
                "at each step.")
    step = max(1, round((m.dose or 0) * 0.1))
    return (f"Taper {m.name}: reduce by about 10% of the starting dose ({step:g} mg/day) every 2-4 weeks, "
            "reviewing pain, function and withdrawal at each step; one prescriber, weekly or fortnightly supplies.")


def _reduce_text(m: _Med) -> str:
    if opioids.is_opioid(m.drug) or opioids.is_gabapentinoid(m.drug):
        return _taper_text(m)
    return f"Reduce {m.name} to when needed for 2 weeks, then stop if the gains hold."


def _formulation(c: _CaseInfo) -> str:
    cls = PAIN_CLASSIFICATIONS.get(c.pain_class, c.pain_class).lower()
    cond = CONDITIONS.get(c.condition, c.condition).lower()
    instr = (c.latest_instrument or "nrs").upper()
    first = f"{cls.capitalize()} ({cond})"
    story = {
        "improving": (f"that is improving with active treatment: {instr} {_fmt(c.baseline_pain)} -> "
                      f"{_fmt(c.latest_pain)}/10"),
        "plateaued": (f"that has plateaued around {_fmt(c.latest_pain)}/10 ({instr}) despite several treatments; "
                      "fear-avoidance and low confidence in movement are maintaining disability"),
        "worsening": (f"that is worsening ({instr} {_fmt(c.baseline_pain)} -> {_fmt(c.latest_pain)}/10) with "
                      "poorer sleep and work strain; no red flags on the referral screen"),
        "disengaging": ("with falling engagement (missed appointments, questionnaires not returned): the treatment "
                        "burden now outweighs the benefit the patient perceives"),
        "high_dose_opioid": (f"with an opioid load of {c.ome:g} mg OME/day and no functional gain; tolerance and "
                             "opioid-induced hyperalgesia are likely contributing"),
    }[c.trajectory]
    parts = [f"{first} {story}."]
    if c.risk_band == "high":
        parts.append("High STarT risk: psychosocial factors (worry, low mood, catastrophising) are prominent.")
    elif c.risk_band == "medium":
        parts.append("Medium STarT risk: mainly physical factors with some worry about harm.")
    if c.phq9 is not None and c.phq9 >= 10:
        parts.append(f"Low mood (PHQ-9 {c.phq9:g}) is amplifying the pain experience.")
    if c.trajectory != "high_dose_opioid" and c.ome >= 50:
        parts.append(f"Opioid load {c.ome:g} mg OME/day.")
    if c.gabapentinoids and c.opioids:
        parts.append("Opioid with gabapentinoid: additive sedation and respiratory depression risk.")
    return " ".join(parts)


def _pathway(c: _CaseInfo) -> str:
    return {
        "improving": "S8_REVIEW_LOOP" if c.opioids or c.gabapentinoids else "S3_SELF_MANAGEMENT",
        "plateaued": "S6_COMBINED_PROGRAMME" if c.risk_band == "high" else "S4_ACTIVE_NON_PHARM",
        "worsening": "S7_ESCALATE_TO_MDT_OR_SPECIALIST",
        "disengaging": "S3_SELF_MANAGEMENT",
        "high_dose_opioid": "S5_PHARMACOLOGY",
    }[c.trajectory]


def _answer(c: _CaseInfo) -> str:
    op = c.opioids[0].name if c.opioids else None
    if c.trajectory == "improving":
        target = c.reduce_target.name if c.reduce_target else None
        if target:
            return (f"Yes. The gains are from active treatment, so {target} can be reduced now while "
                    "keeping the exercise going; step down to self-management with a flare-up plan.")
        return ("Yes. Step down to self-management: keep the exercise going with a written flare-up plan, and "
                "review once more before discharge from the hub pathway.")
    if c.trajectory == "plateaued":
        return (f"More medicines are unlikely to help. We recommend an active, supervised programme that "
                f"addresses the fear that exercise will harm the {c.site}"
                + (", with psychology input for the worry and low mood" if c.risk_band == "high" else "")
                + ", and stopping what has not worked.")
    if c.trajectory == "worsening":
        return ("An injection is not the first step. The hub advises imaging only to inform a specialist opinion, "
                "a referral for that opinion, and support to stay at work meanwhile; no red flags were identified.")
    if c.trajectory == "disengaging":
        return ("Yes: simplify. One agreed priority, fewer and shorter contacts (telephone or video), stop "
                "treatments without benefit, and link-worker support for what matters outside the clinic.")
    return (f"Yes, a slow, agreed taper of {op or 'the opioid'} is appropriate: the current dose carries more risk "
            "than benefit. Taper in small steps with pharmacy support and psychological input; do not add another "
            "opioid.")


def _flag_responses(c: _CaseInfo, rng: random.Random, taper: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in c.open_flags:
        code = f["code"]
        if code in out:
            continue
        if code in ("opioid_red", "opioid_amber"):
            r = {"response": "change", "note": "Taper agreed (see recommendations)."}
        elif code == "co_prescription":
            if c.benzodiazepines:
                r = {"response": "change", "note": f"Stop {c.benzodiazepines[0].name} first, before the opioid taper."}
            elif taper:
                r = {"response": "restraint", "reason_code": "shared_decision_to_maintain",
                     "note": "Gabapentinoid kept unchanged until the opioid taper is established, to change one "
                             "thing at a time."}
            elif rng.random() < 0.5:
                r = {"response": "restraint", "reason_code": "shared_decision_to_maintain",
                     "note": "Combination kept for now at the patient's wish; sedation and naloxone advice given; "
                             "review at follow-up."}
            else:
                r = {"response": "change", "note": "Gabapentinoid to be reduced and stopped (see recommendations)."}
        elif code == "inertia":
            r = {"response": "change", "note": "New plan agreed at the hub; reasons for any future no-change "
                                               "decisions to be recorded at reviews."}
        elif code == "prom_plateau":
            if c.trajectory == "improving":
                r = {"response": "restraint", "reason_code": "close_to_target",
                     "note": "Most of the improvement has happened; maintaining the current plan."}
            elif rng.random() < 0.35:
                r = {"response": "restraint", "reason_code": "recent_change_within_onset_window",
                     "note": "The last change is still within its onset window; judge at the follow-up review."}
            else:
                r = {"response": "change", "note": "New plan agreed (see recommendations)."}
        elif code == "missed_appointments":
            r = {"response": "change", "note": "Fewer, shorter contacts by telephone or video at times that suit work."}
        elif code == "prom_non_completion":
            r = {"response": "restraint", "reason_code": "competing_priority",
                 "note": "Questionnaires cut to the PEG only at reviews; engagement is the priority."}
        elif code == "adherence_drop":
            r = {"response": "restraint", "reason_code": "adherence_support_given",
                 "note": "Pharmacist adherence conversation and a simpler regimen first."}
        elif code == "treatment_burden":
            r = {"response": "change", "note": "Treatments without benefit stopped; one priority at a time."}
        elif code == "safety_phq9":
            r = {"response": "escalate", "note": "GP to contact the patient the same day and record the action; "
                                                 "crisis numbers given."}
        elif code == "opioid_unconvertible":
            r = {"response": "change", "note": "The OME shown is a lower bound: the hub pain specialist advises on "
                                               "the opioid not counted (e.g. methadone) before any dose change."}
        else:
            r = {"response": "restraint", "reason_code": "awaiting_investigation_or_specialist",
                 "note": "Reviewed at the hub; no change until the recommended assessment is done."}
        out[code] = r
    return out


def _recommendations(c: _CaseInfo, day: date, rng: random.Random, earliest_due: date) -> list[RecommendationInput]:
    def due(lo: int, hi: int) -> date:
        d = day + timedelta(days=rng.randint(lo, hi))
        # Past meetings: keep due dates inside the follow-through window so that finalising does not
        # re-list the case at once for an action already long overdue.
        return max(d, earliest_due + timedelta(days=rng.randint(0, 6)))

    recs: list[RecommendationInput] = []
    taper_target = c.opioids[0] if c.opioids else None
    if c.trajectory == "high_dose_opioid" or (c.ome >= 90 and taper_target):
        recs.append(RecommendationInput("taper_medicine", _taper_text(taper_target), drug=taper_target.drug,
                                        owner_role="pcp", due_date=due(7, 14)))
        recs.append(RecommendationInput(
            "refer", "Pharmacist structured medication review: written taper schedule for the patient and "
                     "the practice, naloxone supply and driving advice.", owner_role="pharmacy",
            due_date=due(14, 21)))
        if c.benzodiazepines:
            b = c.benzodiazepines[0]
            recs.append(RecommendationInput("taper_medicine", f"Taper and stop {b.name} over 8 weeks before the "
                                                              "opioid taper's later steps.", drug=b.drug,
                                            owner_role="pcp", due_date=due(14, 28)))
        recs.append(RecommendationInput(
            "psychological_therapy", "Psychology-led pain management programme (ACT group), starting during the "
                                     "taper to support coping without dose increases.", owner_role="psychology",
            due_date=due(21, 42)))
    elif c.trajectory == "improving":
        target = c.reduce_target
        if target is not None:
            recs.append(RecommendationInput("taper_medicine", _reduce_text(target), drug=target.drug,
                                            owner_role="pcp", due_date=due(7, 21)))
        recs.append(RecommendationInput(
            "exercise_programme", "One physiotherapy review to progress the home exercise programme and hand over "
                                  "to a community exercise class.", owner_role="physiotherapy", due_date=due(14, 35)))
        recs.append(RecommendationInput(
            "education", "Written self-management and flare-up plan agreed with the patient.", owner_role="pcp",
            due_date=due(7, 21), for_patient=True))
    elif c.trajectory == "plateaued":
        recs.append(RecommendationInput("exercise_programme", _EXERCISE[c.condition], owner_role="physiotherapy",
                                        due_date=due(14, 28)))
        if c.risk_band == "high" or (c.phq9 or 0) >= 10:
            recs.append(RecommendationInput(
                "psychological_therapy", "CBT-informed pain psychology (6 sessions): fear-avoidance and low mood.",
                owner_role="psychology", due_date=due(21, 42)))
        else:
            recs.append(RecommendationInput(
                "education", f"Explain that pain with exercise does not mean harm to the {c.site}; agree a graded "
                             "activity plan.", owner_role="pcp", due_date=due(7, 21), for_patient=True))
        stoppable = [m for m in c.meds if m.drug in ("paracetamol", "codeine", "naproxen")]
        if stoppable:
            m = stoppable[0]
            recs.append(RecommendationInput("stop_medicine", f"Stop {m.name}: no benefit after a fair trial.",
                                            drug=m.drug, owner_role="pcp", due_date=due(7, 21)))
        if c.condition in ("knee_oa", "hand_oa") and not any(m.route == "topical" for m in c.meds):
            recs.append(RecommendationInput("start_medicine", f"Start ibuprofen 5% gel to the {c.site} up to three "
                                                              "times a day.", drug="ibuprofen gel",
                                            owner_role="pcp", due_date=due(7, 14)))
    elif c.trajectory == "worsening":
        recs.append(RecommendationInput("investigation", _INVESTIGATION[c.condition], owner_role="pcp",
                                        due_date=due(7, 21)))
        recs.append(RecommendationInput("refer", _REFERRAL[c.condition], owner_role="pcp", due_date=due(14, 35)))
        if c.risk_band == "high" or rng.random() < 0.5:
            recs.append(RecommendationInput(
                "psychological_therapy", "Pain psychology assessment: sleep and work stress.", owner_role="psychology",
                due_date=due(21, 42)))
        else:
            recs.append(RecommendationInput("exercise_programme", _EXERCISE[c.condition], owner_role="physiotherapy",
                                            due_date=due(14, 35)))
    else:  # disengaging
        recs.append(RecommendationInput(
            "other", "Simplify the plan: one named clinician, one agreed priority, reviews by telephone or video at "
                     "times that suit work.", owner_role="pcp", due_date=due(7, 14)))
        stoppable = [m for m in c.meds if not opioids.is_opioid(m.drug)]
        if stoppable:
            m = stoppable[-1]
            recs.append(RecommendationInput("stop_medicine", f"Stop {m.name}: no benefit reported and it adds to "
                                                             "the tablet burden.", drug=m.drug, owner_role="pcp",
                                            due_date=due(7, 21)))
        recs.append(RecommendationInput("social_prescribing", "Link worker referral: what matters outside the "
                                                              "clinic (activity, work, money worries).",
                                        owner_role="pcp", due_date=due(14, 28)))
    return recs[:4]


def _goal(c: _CaseInfo, day: date, follow_up: date, rng: random.Random) -> list[GoalInput]:
    found = sorted((c.goals_text.find(k), k) for k in _GOALS if k in c.goals_text)
    goals = []
    for _, sentence in found[: 2 if rng.random() < 0.3 else 1]:
        activity, support, levels = _GOALS[sentence]
        goals.append(GoalInput(activity, support, levels[2], follow_up, rng.choice((2, 3, 3)), rng.choice((1, 2)),
                               dict(zip((-2, -1, 0, 1, 2), levels)), -2 if levels[0].startswith("0") else -1))
    if not goals:
        first = (c.goals_text.split(".")[0].strip() or f"Daily activity despite {c.site} pain")
        goals.append(GoalInput(first, "", _GENERIC_LEVELS[2], follow_up, 2, 1,
                               dict(zip((-2, -1, 0, 1, 2), _GENERIC_LEVELS)), -2))
    return goals


def _options(c: _CaseInfo) -> tuple[str, str, str, str]:
    """Options discussed, preferred, declined and the MDT's options."""
    t = c.trajectory
    if t == "high_dose_opioid":
        return ("Slow opioid taper with support; staying on the current dose; switching to another opioid; "
                "pain management programme.",
                "Slow taper with pharmacy support and the pain management programme.",
                "Switching to another opioid (same risks).",
                "Pain medicine: taper, no rotation. Pharmacy: written schedule and naloxone. Psychology: ACT group "
                "during the taper. Physiotherapy: graded activity once the first steps are done.")
    if t == "improving":
        return ("Stepping down to self-management; continuing all current treatment; a community exercise class.",
                "Self-management with a community exercise class.",
                "Continuing all medicines unchanged.",
                "Pain medicine: reduce medicines slowly. Physiotherapy: progress and hand over. Pharmacy: reduction "
                "plan if needed.")
    if t == "plateaued":
        return (f"Supervised exercise programme; pain psychology; injection into the {c.site}; adding another "
                "analgesic.",
                "Supervised exercise with support for the fear of harm.",
                "Adding another analgesic; injection (short-lived benefit).",
                "Physiotherapy: supervised programme. Psychology: fear-avoidance work if high risk. Pharmacy: stop "
                "ineffective analgesics.")
    if t == "worsening":
        return ("Imaging to inform a specialist opinion; specialist referral; injection; increasing analgesia.",
                "Imaging and a specialist opinion, with support to stay at work meanwhile.",
                "Increasing opioids.",
                "Pain medicine: no injection first. Physiotherapy or psychology while waiting. Orthopaedic or spinal "
                "opinion via the GP.")
    return ("A much simpler plan with fewer contacts; continuing the current plan; link-worker support.",
            "A simpler plan and link-worker support.",
            "Another round of the same appointments.",
            "Pain medicine and pharmacy: stop what does not help. Psychology: motivational approach. Social "
            "prescribing: link worker.")


def _safety_netting(c: _CaseInfo, taper: bool) -> str:
    parts = [_SAFETY_NETTING["back" if c.condition in ("low_back_pain", "sciatica") else
                             "joint" if c.condition in ("knee_oa", "hip_oa", "hand_oa") else "general"]]
    if taper:
        parts.append(_SAFETY_NETTING["taper"])
    if c.ome >= 90:
        parts.append(_SAFETY_NETTING["naloxone"])
    if c.has_flag("safety_phq9") or (c.phq9 or 0) >= 15:
        parts.append(_SAFETY_NETTING["mood"])
    return " ".join(parts)


def _allergies(c: _CaseInfo, rng: random.Random) -> str:
    on = {m.drug for m in c.meds}
    choices = [a for a in _ALLERGIES if a.split(":")[0].lower() not in on]
    return rng.choice(choices)


def build_form(c: _CaseInfo, day: date, seed: int, earliest_due: date | None = None) -> DecisionForm:
    """The structured decision the demo MDT records for one case on a meeting day (deterministic); no
    recommendation falls due before `earliest_due`."""
    rng = random.Random(seed * 1_000_003 + c.id * 31 + 7)
    recs = _recommendations(c, day, rng, max(day, earliest_due or day))
    taper = any(r.kind == "taper_medicine" for r in recs)
    follow_up = day + timedelta(weeks=rng.randint(6, 10))
    discussed, preferred, declined, mdt = _options(c)
    agreed = ("; ".join(f"{r.description.rstrip('.')} ({'GP' if r.owner_role == 'pcp' else OWNER_ROLES[r.owner_role]})"
                        for r in recs) + f". Follow-up review on {follow_up:%d %b %Y}.")
    # The outcome the flags are already computed on, so finalising does not change them by itself.
    primary = next((x for x in (c.primary_outcome, c.response_instrument, c.latest_instrument)
                    if x in ("peg", "nrs", "mskhq", "odi")), "nrs")
    # Discussed with the patient and the patient's view: two facts (one random draw, as before).
    talk = rng.random()
    discussed_with = "yes" if talk < 0.8 else "not_yet"
    view = ("agrees" if talk < 0.6 else "wants_time" if talk < 0.7 else "disagrees" if talk < 0.75
            else "not_yet_asked")
    for r in recs:
        if r.kind in _DOSE_SCHEDULES:
            r.dose_schedule = _DOSE_SCHEDULES[r.kind]
            r.review_date = follow_up
    form = DecisionForm(
        formulation=_formulation(c), pathway_step=_pathway(c), answer=_answer(c),
        flag_responses=_flag_responses(c, rng, taper),
        what_matters=f"In {c.given}'s words: \"{c.goals_text.strip()}\"" if c.goals_text.strip() else
        f"{c.given} wants to do more despite the {c.site} pain.",
        beliefs_concerns=f"\"{c.concerns_text.strip()}\"" if c.concerns_text.strip() else "None recorded.",
        options_discussed=discussed, option_preferred=preferred, options_declined=declined,
        discussed_with_patient=discussed_with, patient_view=view, mdt_options=mdt, agreed_plan=agreed,
        allergies=_allergies(c, rng), safety_netting=_safety_netting(c, taper), primary_outcome=primary,
        follow_up_date=follow_up, recommendations=recs, goals=_link_goals(_goal(c, day, follow_up, rng), recs))
    form.patient_summary = suggest_patient_summary(form)
    return form


# Dose and schedule of the medicine recommendations (the letter's medication-changes table).
_DOSE_SCHEDULES = {
    "taper_medicine": "Step down as in the plan, every 2-4 weeks",
    "stop_medicine": "",
    "start_medicine": "Up to three times a day",
    "continue_medicine": "As now",
    "increase_dose": "As in the plan",
}


# The recommendation a functional goal is most plausibly achieved through, in this order of kinds.
_GOAL_MEANS = ("exercise_programme", "psychological_therapy", "refer", "social_prescribing", "education")


def _link_goals(goals: list[GoalInput], recs: list[RecommendationInput]) -> list[GoalInput]:
    """Link each goal to the recommendation meant to achieve it (1-based), as the MDT form does."""
    ranked = sorted(range(len(recs)), key=lambda i: (_GOAL_MEANS.index(recs[i].kind)
                                                     if recs[i].kind in _GOAL_MEANS else len(_GOAL_MEANS), i))
    for goal in goals:
        goal.recommendation = ranked[0] + 1 if ranked else None
    return goals


# ----------------------------------------------------------------------------- preparation and follow-through


def _physio_note(c: _CaseInfo) -> str:
    names = []
    for n in reversed(c.tried):
        short = n.split(":")[-1].split("(")[0].strip().lower()
        if short and short not in names:
            names.append(short)
    tried = ", ".join(names[:3]) or "no supervised exercise"
    return (f"Tried so far: {tried}. Suggest {_EXERCISE[c.condition][0].lower()}{_EXERCISE[c.condition][1:]}, "
            f"starting from what {c.pron} can do now and building 10% a week; "
            + ("address fear of damage first." if c.risk_band in ("medium", "high") else "good candidate for a group."))


def _psych_note(c: _CaseInfo) -> str:
    concern = f" Concern in the referral: \"{c.concerns_text.strip()}\"" if c.concerns_text.strip() else ""
    mood = f" PHQ-9 {c.phq9:g}." if c.phq9 is not None else ""
    band = c.risk_band or "unknown"
    return (f"STarT risk {band}.{mood}{concern} Suggest a brief psychology assessment"
            + (" and the ACT group; screen for low mood at the next review." if band == "high" or (c.phq9 or 0) >= 10
               else "; a one-off session on pacing may be enough."))


_COMPLETION_NOTES = {
    "taper_medicine": "First reduction made and the next step booked; written plan given to the patient.",
    "stop_medicine": "Stopped with the patient's agreement; no withdrawal symptoms at the telephone check.",
    "start_medicine": "Prescribed, with advice on how to use it and when to stop.",
    "continue_medicine": "Reviewed and continued.",
    "exercise_programme": "Assessed; programme started and first session attended.",
    "psychological_therapy": "Triage call done; booked onto the next group.",
    "refer": "Done; appointment booked and the plan shared with the practice.",
    "investigation": "Requested and reported; no change to the plan.",
    "education": "Discussed at the GP review; written plan given.",
    "social_prescribing": "Referred; the link worker has made first contact.",
    "other": "Done and recorded at the GP review.",
}


def _relist_for_history(session_factory, chair: Actor, case_id: int) -> None:
    """Re-list a returned or closed demo case so it can join a past agenda, keeping its referral date.

    The chair's re-listing (hub.cases.change_status, returned/closed -> submitted) stamps submitted_at with
    the current time, as for a genuine re-listing. Here the case is only re-listed to record the discussion
    it already had in the demo story, so its original submission time is put back (audited): otherwise the
    baseline of its outcome measures, its flags and its waiting time would all move to today.
    """
    with session_factory() as s:
        original = s.get(Case, case_id).submitted_at
    hub_cases.change_status(session_factory, chair, case_id, "submitted")
    with session_factory.begin() as s:
        case = s.get(Case, case_id)
        if case.submitted_at != original:
            audit.record(s, chair, "demo.relist_keep_submission_date", "case", case.id,
                         {"submitted_at": [case.submitted_at, original]})
            case.submitted_at = original


def _actors(session_factory) -> dict[str, Actor]:
    out = {}
    for u in DEMO_USERS:
        a = actor_for(session_factory, u["username"])
        if a is not None:
            out[u["username"]] = a
    missing = [n for n in ("chair", "dr.pain", "physio", "psych", "pharm") if n not in out]
    if missing:
        raise RuntimeError(f"Demo meetings need the demo users (missing: {', '.join(missing)}); seed the demo first.")
    return out


def _meeting_start(day: date) -> datetime:
    return datetime.combine(day, time(MEETING_HOUR, 0))


def _past_meeting_days(today: date) -> tuple[date, date]:
    """Wednesdays about 5 and 3 weeks before today."""
    first = today - timedelta(weeks=PAST_WEEKS[0])
    first -= timedelta(days=(first.weekday() - 2) % 7)
    return first, first + timedelta(weeks=PAST_WEEKS[0] - PAST_WEEKS[1])


# ----------------------------------------------------------------------------- the public entry point


def seed_demo_meetings(session_factory, *, today: date | None = None, seed: int = 2026) -> dict:
    """Create two past finalised meetings (decisions, actions, letters, follow-through) and one upcoming
    meeting with preparation on a freshly seeded demo database, through the services; returns counts."""
    today = today or date.today()
    with session_factory() as s:
        if s.scalar(select(func.count()).select_from(Meeting)):
            raise RuntimeError("The database already holds meetings: demo meetings are seeded once, on a fresh demo.")
    actors = _actors(session_factory)
    chair = actors["chair"]
    patterns = _question_patterns()
    m1_day, m2_day = _past_meeting_days(today)
    with session_factory() as s:
        overdue_days = int(hub_settings.load(s).get("relist.action_overdue_days", DEFAULT_RELIST_OVERDUE_DAYS))
    # Open actions of the past meetings end up at most this many days overdue today (less than the
    # follow-through rule's threshold, so no case is re-listed straight away).
    earliest_due = today - timedelta(days=max(0, min(MAX_OVERDUE_DAYS, overdue_days - 4)))
    m1_start, m2_start = _meeting_start(m1_day), _meeting_start(m2_day)

    # The cases of the demo story that were discussed (returned, closed) and the waiting ones scheduled
    # but on no agenda (candidates to be left undiscussed and carried forward).
    with session_factory() as s:
        done = s.execute(select(Case.id, Case.status, Case.submitted_at).where(Case.status.in_(("returned", "closed")))
                         .order_by(Case.submitted_at, Case.id)).all()
        on_agenda = set(s.scalars(select(AgendaItem.case_id)))
        waiting = [r.id for r in s.execute(
            select(Case.id, Case.status).where(Case.status.in_(("scheduled", "triaged", "submitted")))
            .order_by((Case.status == "scheduled").desc(), Case.submitted_at, Case.id)) if r.id not in on_agenda]
        submitted_on = {r.id: r.submitted_at for r in done}
        waiting_submitted = dict(s.execute(select(Case.id, Case.submitted_at).where(Case.id.in_(waiting))).all())
    closed_ids = {r.id for r in done if r.status == "closed"}
    discussed_pool = [r.id for r in done]
    eligible_m1 = [cid for cid in discussed_pool if submitted_on[cid] < m1_start - timedelta(days=1)]
    m1_cases = eligible_m1[: (len(discussed_pool) + 1) // 2]
    m2_cases = [cid for cid in discussed_pool if cid not in m1_cases]
    # Cases left undiscussed: waiting cases submitted before the meeting (fallback: any waiting case).
    undiscussed: dict[int, list[int]] = {}
    pool = list(waiting)
    for key, start in ((1, m1_start), (2, m2_start)):
        before = [cid for cid in pool if waiting_submitted[cid] and waiting_submitted[cid] < start - timedelta(days=1)]
        pick = (before + [cid for cid in pool if cid not in before])[:UNDISCUSSED_PER_MEETING]
        undiscussed[key] = pick
        pool = [cid for cid in pool if cid not in pick]

    counts = {"meetings": 0, "finalised_meetings": 0, "upcoming_meetings": 0, "relisted_cases": 0, "decisions": 0,
              "recommendations": 0, "goals": 0, "actions": 0, "actions_done": 0, "actions_overdue": 0, "letters": 0,
              "letters_acknowledged": 0, "carried_forward": 0, "preparation_notes": 0, "closed_again": 0}
    decided: list[int] = []

    def title(day: date) -> str:
        return f"MSK pain hub MDT, {day.day} {day:%B %Y}"

    def relist_and_add(meeting_id: int, case_id: int) -> None:
        with session_factory() as s:
            status = s.get(Case, case_id).status
        if status in ("returned", "closed"):
            _relist_for_history(session_factory, chair, case_id)
            counts["relisted_cases"] += 1
        meetings.add_case(session_factory, chair, meeting_id, case_id)

    def discuss(meeting_id: int, day: date, writers: list[Actor], skip: set[int]) -> None:
        with session_factory() as s:
            items = s.execute(select(AgendaItem.id, AgendaItem.case_id).where(AgendaItem.meeting_id == meeting_id)
                              .order_by(AgendaItem.position)).all()
        for n, (item_id, case_id) in enumerate(items):
            if case_id in skip:
                continue
            info = _case_info(session_factory, case_id, patterns)
            form = build_form(info, day, seed, earliest_due)
            version = decisions.save(session_factory, writers[n % len(writers)], item_id, form, 0)
            decisions.finalise(session_factory, chair, item_id, version, finalise_day=day)
            decided.append(case_id)
            counts["decisions"] += 1
            counts["recommendations"] += len(form.recommendations)
            counts["goals"] += len(form.goals)

    # Meeting 1 (about 5 weeks ago): all disciplines present.
    m1 = meetings.create_meeting(session_factory, chair, title=title(m1_day), starts_at=m1_start,
                                 video_link=VIDEO_LINK, minutes_per_case=MINUTES_PER_CASE, duration_minutes=120,
                                 propose=False)
    for cid in m1_cases:
        relist_and_add(m1, cid)
    for cid in undiscussed[1]:
        meetings.add_case(session_factory, chair, m1, cid)
    meetings.set_attendance(session_factory, chair, m1, [
        (actors["chair"].user_id, "pain_medicine"), (actors["dr.pain"].user_id, "pain_medicine"),
        (actors["physio"].user_id, "physiotherapy"), (actors["psych"].user_id, "psychology"),
        (actors["pharm"].user_id, "pharmacy")]
        + ([(actors["rheum"].user_id, "rheumatology")] if "rheum" in actors else [])
        + ([(actors["gp.north"].user_id, "general_practice")] if "gp.north" in actors else []))
    meetings.start_meeting(session_factory, chair, m1)
    discuss(m1, m1_day, [chair, actors["dr.pain"]], set(undiscussed[1]))
    # Meeting 2 exists (planned) before meeting 1 closes, so its undiscussed cases are carried to it first.
    m2 = meetings.create_meeting(session_factory, chair, title=title(m2_day), starts_at=m2_start,
                                 video_link=VIDEO_LINK, minutes_per_case=MINUTES_PER_CASE, duration_minutes=120,
                                 propose=False)
    meetings.finalise_meeting(session_factory, chair, m1)
    for cid in m2_cases:
        relist_and_add(m2, cid)
    for cid in undiscussed[2]:
        meetings.add_case(session_factory, chair, m2, cid)
    # Meeting 2 (about 3 weeks ago): psychology absent, finalised with a recorded reason.
    q2 = meetings.set_attendance(session_factory, chair, m2, [
        (actors["chair"].user_id, "pain_medicine"), (actors["dr.pain"].user_id, "pain_medicine"),
        (actors["physio"].user_id, "physiotherapy"), (actors["pharm"].user_id, "pharmacy")]
        + ([(actors["gp.river"].user_id, "general_practice")] if "gp.river" in actors else []))
    meetings.start_meeting(session_factory, chair, m2)
    discuss(m2, m2_day, [chair, actors["dr.pain"]], set(undiscussed[2]))
    meetings.finalise_meeting(session_factory, chair, m2, override_reason=None if q2.met else QUORUM_OVERRIDE)
    # Cases closed in the demo story are closed again once their decision is out (unless the
    # follow-through rules already sent one back to the queue).
    with session_factory() as s:
        status_now = dict(s.execute(select(Case.id, Case.status).where(Case.id.in_(decided))).all())
    for cid in decided:
        if cid in closed_ids and status_now[cid] == "returned":
            hub_cases.change_status(session_factory, chair, cid, "closed")
            counts["closed_again"] += 1

    # Follow-through: about half of the actions done by their owners, most letters acknowledged.
    _follow_through(session_factory, actors, today, seed, closed_ids, counts)

    # The upcoming meeting: carried cases first, then the queue by priority; preparation by two disciplines.
    up = meetings.create_meeting(session_factory, chair, title=title(today + timedelta(days=UPCOMING_DAYS)),
                                 starts_at=_meeting_start(today + timedelta(days=UPCOMING_DAYS)),
                                 video_link=VIDEO_LINK, minutes_per_case=10, duration_minutes=90)
    with session_factory() as s:
        up_items = s.execute(select(AgendaItem.id, AgendaItem.case_id).where(AgendaItem.meeting_id == up)
                             .order_by(AgendaItem.position)).all()
    prep_rng = random.Random(seed * 7 + 3)
    physio_items = up_items[:3]
    psych_items = [up_items[i] for i in sorted(prep_rng.sample(range(1, min(len(up_items), 6)),
                                                               min(2, max(0, min(len(up_items), 6) - 1))))]
    for item_id, case_id in physio_items:
        meetings.save_preparation(session_factory, actors["physio"], item_id,
                                  _physio_note(_case_info(session_factory, case_id, patterns)))
        counts["preparation_notes"] += 1
    for item_id, case_id in psych_items:
        meetings.save_preparation(session_factory, actors["psych"], item_id,
                                  _psych_note(_case_info(session_factory, case_id, patterns)))
        counts["preparation_notes"] += 1

    _backdate_history(session_factory, seed, today)

    with session_factory() as s:
        counts["meetings"] = s.scalar(select(func.count()).select_from(Meeting))
        counts["finalised_meetings"] = s.scalar(select(func.count()).select_from(Meeting)
                                                .where(Meeting.status == "finalised"))
        counts["upcoming_meetings"] = s.scalar(select(func.count()).select_from(Meeting)
                                               .where(Meeting.status.in_(meetings.UPCOMING)))
        counts["carried_forward"] = s.scalar(select(func.count()).select_from(AgendaItem)
                                             .where(AgendaItem.status == "carried_forward"))
        counts["upcoming_agenda"] = len(up_items)
        # Cases the follow-through rules sent back to the queue by themselves (none expected on a fresh demo).
        counts["relisted_by_follow_through"] = s.scalar(select(func.count()).select_from(Case)
                                                        .where(Case.id.in_(decided), Case.status == "submitted"))
    counts["meeting_ids"] = [m1, m2, up]
    return counts


def _follow_through(session_factory, actors: dict[str, Actor], today: date, seed: int, closed_ids: set[int],
                    counts: dict) -> None:
    """Complete about half of the actions as their owners and acknowledge most letters as the PCPs."""
    rng = random.Random(seed * 13 + 5)
    by_user = {a.user_id: a for a in actors.values()}
    by_discipline = {a.discipline: a for name, a in actors.items()
                     if a.discipline and "chair" not in a.roles and name != "dr.pain"}
    pcp_of_practice = {a.practice_id: a for a in actors.values() if a.has("pcp") and a.practice_id is not None}
    with session_factory() as s:
        acts = s.execute(select(Action.id, Action.case_id, Action.owner_user_id, Action.owner_role, Action.due_date,
                                Action.recommendation_id).order_by(Action.id)).all()
        rec_kind = dict(s.execute(select(Recommendation.id, Recommendation.kind)).all())
        letters = s.execute(select(Letter.id, Letter.case_id, Case.practice_id).join(Case, Case.id == Letter.case_id)
                            .order_by(Letter.id)).all()
    counts["actions"] = len(acts)
    counts["letters"] = len(letters)

    def owner(a) -> Actor | None:
        if a.owner_user_id is not None:
            return by_user.get(a.owner_user_id)
        return by_discipline.get(a.owner_role)

    # Keep the first action of a few non-closed cases open and overdue, so the inbox shows some.
    keep_open: set[int] = set()
    seen_cases: set[int] = set()
    for a in acts:
        if a.case_id not in closed_ids and a.case_id not in seen_cases and a.due_date < today:
            seen_cases.add(a.case_id)
            if len(seen_cases) % 3 == 1:
                keep_open.add(a.id)
    # Closed cases have mostly been followed through; returned ones about a third: half overall.
    done = 0
    for a in acts:
        chance = CLOSED_DONE_SHARE if a.case_id in closed_ids else RETURNED_DONE_SHARE
        if rng.random() >= chance or a.id in keep_open:
            continue
        who = owner(a)
        if who is None:
            continue
        note = _COMPLETION_NOTES.get(rec_kind.get(a.recommendation_id, "other"), "Done.")
        inbox.complete_action(session_factory, who, a.id, note)
        done += 1
    counts["actions_done"] = done
    with session_factory() as s:
        counts["actions_overdue"] = s.scalar(select(func.count()).select_from(Action)
                                             .where(Action.status == "open", Action.due_date < today))

    # Every letter acknowledged except the last one or two of the most recent meeting.
    leave = {letters[-1].id} if letters else set()
    if len(letters) > 3:
        leave.add(letters[-1 - rng.randint(1, 3)].id)
    for letter_id, _, practice_id in letters:
        if letter_id in leave:
            continue
        gp = pcp_of_practice.get(practice_id)
        if gp is None:
            continue
        inbox.acknowledge_letter(session_factory, gp, letter_id)
        counts["letters_acknowledged"] += 1


def _backdate_history(session_factory, seed: int, today: date) -> None:
    """Give the synthetic history its own dates: decisions and letters on the meeting day, acknowledgements
    and completed actions in the days after (the services stamp 'now'; the audit trail keeps the seeding
    time, which is the truth about when these rows were written)."""
    from db.models import Action, Decision, Letter

    rng = random.Random(seed * 11 + 5)
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=8)
    with session_factory.begin() as s:
        rows = s.execute(select(Decision, Meeting.starts_at).join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                         .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                         .where(Decision.status == "final").order_by(Decision.id)).all()
        for d, starts in rows:
            decided = starts + timedelta(minutes=50 + rng.randint(0, 60))
            d.finalised_at = d.updated_at = decided
            for letter in s.scalars(select(Letter).where(Letter.decision_id == d.id)):
                letter.created_at = letter.sent_at = decided
                if letter.acknowledged_at is not None:
                    letter.acknowledged_at = min(now, decided + timedelta(days=rng.choice((0, 1, 1, 2, 3, 6)),
                                                                          hours=rng.randint(1, 7)))
            for a in s.scalars(select(Action).where(Action.decision_id == d.id)):
                a.created_at = decided
                if a.completed_at is not None:
                    span = max(1, (a.due_date - decided.date()).days + rng.choice((-3, -1, 0, 2, 5)))
                    a.completed_at = min(now, decided + timedelta(days=span, hours=rng.randint(1, 6)))
