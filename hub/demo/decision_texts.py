"""The decision texts of the demo meetings: formulation, pathway, answer, flag responses, recommendations,
SMART goals, options, safety-netting and allergies for one case, built deterministically into a
hub.decisions.DecisionForm (build_form)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hub.clinical import opioids
from hub.decisions import DecisionForm, GoalInput, RecommendationInput, suggest_patient_summary
from hub.demo.case_info import CaseInfo, Med
from hub.vocab import CONDITIONS, OWNER_ROLES, PAIN_CLASSIFICATIONS

EXERCISE = {
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


# ----------------------------------------------------------------------------- the decision texts


def _fmt(x: float | None) -> str:
    return "not recorded" if x is None else f"{x:g}"


def _taper_text(m: Med) -> str:
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


def _reduce_text(m: Med) -> str:
    if opioids.is_opioid(m.drug) or opioids.is_gabapentinoid(m.drug):
        return _taper_text(m)
    return f"Reduce {m.name} to when needed for 2 weeks, then stop if the gains hold."


def _formulation(c: CaseInfo) -> str:
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


def _pathway(c: CaseInfo) -> str:
    return {
        "improving": "S8_REVIEW_LOOP" if c.opioids or c.gabapentinoids else "S3_SELF_MANAGEMENT",
        "plateaued": "S6_COMBINED_PROGRAMME" if c.risk_band == "high" else "S4_ACTIVE_NON_PHARM",
        "worsening": "S7_ESCALATE_TO_MDT_OR_SPECIALIST",
        "disengaging": "S3_SELF_MANAGEMENT",
        "high_dose_opioid": "S5_PHARMACOLOGY",
    }[c.trajectory]


def _answer(c: CaseInfo) -> str:
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


def _flag_responses(c: CaseInfo, rng: random.Random, taper: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in c.open_flags:
        code = f.code
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


def _recommendations(c: CaseInfo, day: date, rng: random.Random, earliest_due: date) -> list[RecommendationInput]:
    def due(lo: int, hi: int) -> date:
        d = day + timedelta(days=rng.randint(lo, hi))
        # Past meetings: keep due dates inside the follow-through window so that finalising does not
        # re-list the case at once for an action already long overdue.
        return max(d, earliest_due + timedelta(days=rng.randint(0, 6)))

    recs: list[RecommendationInput] = []
    taper_target = c.opioids[0] if c.opioids else None
    if taper_target is not None and (c.trajectory == "high_dose_opioid" or c.ome >= 90):
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
        recs.append(RecommendationInput("exercise_programme", EXERCISE[c.condition], owner_role="physiotherapy",
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
            recs.append(RecommendationInput("exercise_programme", EXERCISE[c.condition], owner_role="physiotherapy",
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


def _goal(c: CaseInfo, day: date, follow_up: date, rng: random.Random) -> list[GoalInput]:
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


def _options(c: CaseInfo) -> tuple[str, str, str, str]:
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


def _safety_netting(c: CaseInfo, taper: bool) -> str:
    parts = [_SAFETY_NETTING["back" if c.condition in ("low_back_pain", "sciatica") else
                             "joint" if c.condition in ("knee_oa", "hip_oa", "hand_oa") else "general"]]
    if taper:
        parts.append(_SAFETY_NETTING["taper"])
    if c.ome >= 90:
        parts.append(_SAFETY_NETTING["naloxone"])
    if c.has_flag("safety_phq9") or (c.phq9 or 0) >= 15:
        parts.append(_SAFETY_NETTING["mood"])
    return " ".join(parts)


def _allergies(c: CaseInfo, rng: random.Random) -> str:
    on = {m.drug for m in c.meds}
    choices = [a for a in _ALLERGIES if a.split(":")[0].lower() not in on]
    return rng.choice(choices)


def build_form(c: CaseInfo, day: date, seed: int, earliest_due: date | None = None) -> DecisionForm:
    """The structured decision the demo MDT records for one case on a meeting day (deterministic); no
    recommendation falls due before `earliest_due`."""
    rng = random.Random(seed * 1_000_003 + c.id * 31 + 7)
    recs = _recommendations(c, day, rng, max(day, earliest_due or day))
    taper = any(r.kind == "taper_medicine" for r in recs)
    follow_up = day + timedelta(weeks=rng.randint(6, 10))
    discussed, preferred, declined, mdt = _options(c)
    owners = ["GP" if r.owner_role == "pcp" else OWNER_ROLES.get(r.owner_role or "", "") for r in recs]
    agreed = ("; ".join(f"{r.description.rstrip('.')} ({owner})" for r, owner in zip(recs, owners))
              + f". Follow-up review on {follow_up:%d %b %Y}.")
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


