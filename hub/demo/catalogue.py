"""What the synthetic histories are drawn from: trajectories, the condition mix, medicines and their dose
ladders, non-drug treatments and the patients' questions, goals and concerns."""

from __future__ import annotations

from hub.clinical import opioids

TRAJECTORIES: tuple[str, ...] = ("improving", "plateaued", "worsening", "disengaging", "high_dose_opioid")
TRAJECTORY_SHARES = {"improving": 0.25, "plateaued": 0.25, "worsening": 0.15, "disengaging": 0.20,
                      "high_dose_opioid": 0.15}

# Condition mix of chronic MSK pain in primary care (weights), with the age range typical of each.
CONDITION_MIX: dict[str, tuple[float, int, int]] = {
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
BACK = ("low_back_pain", "sciatica")
OA = ("knee_oa", "hip_oa", "hand_oa")

SITE = {"knee_oa": "knee", "hip_oa": "hip", "hand_oa": "hands", "low_back_pain": "back", "sciatica": "back and leg",
         "neck_pain": "neck", "shoulder_pain": "shoulder", "tendinopathy": "tendon", "widespread_pain": "whole body",
         "other": "joints"}

# ----------------------------------------------------------------------------- medicines

# drug key -> (drug, route, ladder of daily mg or patch microgram/h, opioid class)
DRUGS: dict[str, tuple[str, str, tuple[float, ...], str]] = {
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
    rx: dict[str, str | float] = {"drug": drug, "route": route or "oral"}
    if patch_mcg_per_h:
        rx["patch_mcg_per_h"] = patch_mcg_per_h
    elif daily_dose_mg is not None:
        rx["daily_dose_mg"] = daily_dose_mg
    else:
        return 0.0
    return float(opioids.daily_ome([rx]).total)


def format_dose(key: str, dose: float | None) -> str:
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

EXERCISE = {
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
INJECTION = {
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
NONDRUG: dict[str, tuple[str, ...]] = {
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
COURSE_DAYS: dict[str, tuple[int, int]] = {
    "education": (0, 42), "exercise": (42, 84), "injection": (0, 0), "psychological": (56, 84),
    "acupuncture": (42, 42), "social_prescribing": (90, 180), "manual_therapy": (35, 56),
    "weight_management": (84, 84), "other": (28, 60),
}
BACKGROUND_CATEGORIES = ("education", "exercise", "injection", "psychological", "acupuncture",
                          "social_prescribing", "manual_therapy", "weight_management", "other")


# ----------------------------------------------------------------------------- words of GPs and patients

QUESTIONS: dict[str, tuple[str, ...]] = {
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
GOALS: dict[str, tuple[str, ...]] = {
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
CONCERNS: dict[str, tuple[str, ...]] = {
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


