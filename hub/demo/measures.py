"""Measures over a simulated history: PROMs and risk tools at the pathway's points (scored through
hub.clinical.instruments), the clinical safety examples, and wearable days."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any

from hub.clinical import instruments
from hub.demo.catalogue import BACK
from hub.demo.history import Plan, Regimen, at_minute, clamp, pain_at, ramp


def _pain_responses(instrument: str, level: float, rng: random.Random, noise: bool = True) -> tuple[dict, float]:
    if instrument == "nrs":
        v = int(round(clamp(level, 0, 10)))
        return {"NRS_Q1": v}, float(v)
    q1 = int(round(clamp(level, 0, 10)))
    q2 = int(clamp(q1 + (rng.choice((-1, 0, 0, 1)) if noise else 0), 0, 10))
    q3 = int(clamp(q1 + (rng.choice((-1, 0, 1, 1)) if noise else 0), 0, 10))
    return {"PEG_Q1": q1, "PEG_Q2": q2, "PEG_Q3": q3}, (q1 + q2 + q3) / 3


def _phq9(level: float, rng: random.Random, item9: int = 0) -> dict[str, Any]:
    r = {f"PHQ9_Q{i}": int(clamp(round(level + rng.gauss(0, 0.55)), 0, 3)) for i in range(1, 9)}
    r["PHQ9_Q9"] = item9
    return r


def _row_assessment(instrument: str, d: date, responses: dict | None, total: float | None, band: str | None,
                    *, safety: bool = False, mode: str = "self", entered_by: int | None = None,
                    minutes: int = 600) -> dict[str, Any]:
    returned = responses is not None
    return {"instrument": instrument, "administered_on": d, "mode": mode,
            "status": "completed" if returned else "not_returned", "responses": responses or {},
            "total": total if returned else None, "band": band if returned else None, "safety_alert": safety,
            "entered_by": entered_by, "created_at": at_minute(d, minutes)}


def simulate_assessments(p: Plan, today: date, rng: random.Random, pcp_id: int | None) -> list[dict[str, Any]]:
    span = max(1, (today - p.start).days)
    rows: list[dict[str, Any]] = []

    def not_returned(d: date, scheduled_index: int, last_two: bool) -> bool:
        if scheduled_index == 0:
            return False
        t = (d - p.start).days / span
        if p.trajectory == "disengaging":
            if last_two:
                return True
            return rng.random() < 0.05 + 0.55 * ramp((t - 0.45) / 0.4)
        return rng.random() < 0.03

    # Risk stratification at baseline: STarT Back for back pain, STarT MSK otherwise (clinician-entered total).
    risk = "high" if p.distress > 0.62 else "medium" if p.distress > 0.38 else "low"
    if p.condition in BACK:
        probs = {"low": (0.3, 0.1, (0, 2)), "medium": (0.8, 0.3, (1, 3)), "high": (0.75, 0.85, (3, 4))}[risk]
        for _ in range(200):
            r = {f"SBST_Q{i}": int(rng.random() < (probs[0] if i <= 4 else probs[1])) for i in range(1, 9)}
            r["SBST_Q9"] = rng.randint(*probs[2])
            sbst = instruments.score_sbst(r)
            sbst_total, band = sbst.total, sbst.risk
            if band == risk:
                break
        rows.append(_row_assessment("sbst", p.start, r, float(sbst_total), band))
    else:
        msk_total = {"low": rng.randint(1, 4), "medium": rng.randint(5, 8), "high": rng.randint(9, 12)}[risk]
        rows.append(_row_assessment("startmsk", p.start, {"STARTMSK_TOTAL": msk_total}, float(msk_total),
                                    instruments.band_start_msk(msk_total), mode="clinician", entered_by=pcp_id))

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
        level = pain_at(p, d, today) + rng.gauss(0, 0.4 if p.trajectory == "improving" else 0.5)
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
        pain = pain_at(p, d, today)
        last_two = k >= len(quarter_dates) - 2
        if not_returned(d, k, last_two):
            for instrument in ("mskhq", "phq9", "gad7"):
                rows.append(_row_assessment(instrument, d, None, None, None, minutes=610))
            continue
        health = clamp(4 * (1 - pain / 10) * 1.1 + 0.2 - 0.6 * p.distress, 0, 4)
        msk = {f"MSKHQ_Q{i}": int(clamp(round(health + rng.gauss(0, 0.6)), 0, 4)) for i in range(1, 15)}
        rows.append(_row_assessment("mskhq", d, msk, float(sum(msk.values())), None, minutes=610))
        mood = clamp(p.distress * (0.4 + pain / 8), 0, 2.6)
        phq = _phq9(mood, rng)
        phq_score = instruments.score_phq9(phq)
        rows.append(_row_assessment("phq9", d, phq, float(phq_score.total), phq_score.band, minutes=612))
        anx = clamp(p.distress * (0.3 + pain / 9), 0, 2.6)
        gad = {f"GAD7_Q{i}": int(clamp(round(anx + rng.gauss(0, 0.55)), 0, 3)) for i in range(1, 8)}
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


def add_safety_examples(p: Plan, today: date, seed: int, reg: Regimen, rows: list[dict[str, Any]]) -> None:
    """TSK-11 for patients with psychosocial risk, and the few examples above. Uses its own random stream so
    the rest of the cohort is the same as before these were added."""
    rng = random.Random(seed * 1_000_003 + p.index * 17 + 7)
    if p.distress > 0.55:
        # Fear of movement measured at baseline when psychosocial risk is raised (pathway step S2).
        target = int(clamp(round(16 + 22 * p.distress + rng.gauss(0, 2)), 11, 44))
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


def simulate_wearables(p: Plan, today: date, seed: int) -> list[dict[str, Any]]:
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
            wear = 0.95 - 0.62 * ramp((t - 0.3) / 0.65)
        if rng.random() > wear:
            d += timedelta(days=1)
            continue
        pain = pain_at(p, d, today)
        wd = d.weekday()
        rhythm = _WEEKDAY[wd] if not retired else (1.0 if wd < 6 else 0.85)
        steps = base_steps * rhythm * (1 - 0.07 * (pain - 5)) * math.exp(rng.gauss(0, 0.28))
        steps = int(clamp(steps, 150, 40000))
        active = int(clamp(steps / 115 * math.exp(rng.gauss(0, 0.3)), 2, 600))
        sleep = None
        if rng.random() >= 0.07:  # not worn overnight: sleep unknown (NULL), not zero
            weekend = 0.45 if wd >= 5 else 0.0
            sleep = round(clamp(rng.gauss(base_sleep - 0.18 * (pain - 4) + weekend, 0.7), 2.5, 11.5), 1)
        hr = None
        if sleep is not None or rng.random() < 0.3:
            hr = int(clamp(round(rng.gauss(base_hr + 0.6 * (pain - 5), 2.5)), 40, 110))
        rows.append({"day": d, "source": "demo", "steps": steps, "active_minutes": active, "sleep_hours": sleep,
                     "resting_hr": hr})
        d += timedelta(days=1)
    return rows
