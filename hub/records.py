"""The patient's clinical record that feeds the case timeline: treatments, assessments, reviews,
wearable days. PCPs of the patient's practice write; everyone who sees the case reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from db.models import Assessment, Case, Goal, GoalAttainment, Review, Treatment, WearableDay, utcnow
from hub import audit, flags
from hub.access import Actor, can_edit_case, can_see_case
from hub.clinical.drugs import code_medicine
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.text import check_text, clean_text, parse_id
from hub.vocab import (
    ASSESSMENT_MODES,
    ATTENDANCE,
    REVIEW_MODES,
    ROUTES,
    STOP_REASONS,
    TREATMENT_CATEGORIES,
    TREATMENT_STATUSES,
)
from db.engine import SessionFactory

# Instruments whose total is a pain score (0-10, lower is better) shown in the queue.
PAIN_INSTRUMENTS = ("nrs", "peg")


@dataclass
class TreatmentInput:
    """A treatment as entered on a form."""

    category: str = ""
    name: str = ""
    drug: str | None = None
    route: str | None = None
    daily_dose_mg: float | None = None
    patch_mcg_per_h: float | None = None
    dose_text: str = ""
    start_date: date | None = None
    end_date: date | None = None
    reason_stopped: str | None = None
    adherence_pct: int | None = None
    notes: str = ""
    already_taking: bool = False
    guideline_override: str | None = None


def validate_treatment(t: TreatmentInput, today: date | None = None) -> dict[str, str]:
    """Field errors of a treatment entry; empty when valid."""
    today = today or date.today()
    e: dict[str, str] = {}
    check_text(e, "name", t.name, "title", label="treatment name")
    check_text(e, "drug", t.drug, "short", label="medicine name")
    check_text(e, "dose_text", t.dose_text, "short", label="dose")
    check_text(e, "notes", t.notes, "note", label="notes")
    check_text(e, "guideline_override", t.guideline_override, "note", label="reason for overriding the rule")
    if t.category not in TREATMENT_CATEGORIES:
        e["category"] = "Choose a treatment category."
    if t.category == "medicine":
        if "drug" in e:
            pass
        elif not (t.drug or "").strip():
            e["drug"] = "Enter the medicine's name (generic, e.g. 'oxycodone')."
        if t.route not in ROUTES:
            e["route"] = "Choose the route."
        if t.route == "transdermal":
            if t.patch_mcg_per_h is None or t.patch_mcg_per_h <= 0:
                e["patch_mcg_per_h"] = "Enter the patch strength in micrograms per hour."
        elif t.patch_mcg_per_h is not None:
            e["patch_mcg_per_h"] = "A patch strength is only for a transdermal patch: clear it or choose that route."
        elif t.daily_dose_mg is not None and t.daily_dose_mg < 0:
            e["daily_dose_mg"] = "The total daily dose cannot be negative (0 mg/day is allowed: it counts as 0)."
    elif not (t.name or t.drug or "").strip():
        e["name"] = "Describe the treatment (e.g. 'Knee strengthening programme')."
    if t.route is not None and t.route not in ROUTES:
        e["route"] = "Unknown route."
    if t.start_date is None:
        e["start_date"] = "Enter the start date."
    elif t.start_date > today:
        e["start_date"] = "The start date cannot be in the future; record planned treatments in the plan."
    if t.end_date is not None and t.start_date is not None and t.end_date < t.start_date:
        e["end_date"] = "The stop date must be on or after the start date."
    if t.reason_stopped is not None and t.reason_stopped not in STOP_REASONS:
        e["reason_stopped"] = "Unknown reason."
    if t.end_date is not None and t.end_date <= today and not t.reason_stopped:
        e["reason_stopped"] = "Say why the treatment was stopped."
    if t.adherence_pct is not None and not (0 <= t.adherence_pct <= 100):
        e["adherence_pct"] = "Adherence is a percentage from 0 to 100."
    return e


def treatment_label(category: str, name: str, drug: str | None, route: str | None,
                    daily_dose_mg: float | None, patch_mcg_per_h: float | None) -> str:
    """How a treatment is named on the timeline, medicines with their dose."""
    if category != "medicine":
        return name
    drug_name = (drug or name).capitalize()
    if patch_mcg_per_h:
        return f"{drug_name} {patch_mcg_per_h:g} microgram/h patch"
    if daily_dose_mg is not None:  # 0 mg/day is shown as 0, not as missing
        return f"{drug_name} {daily_dose_mg:g} mg/day {ROUTES.get(route or '', route or '').lower()}".strip()
    return f"{drug_name} ({ROUTES.get(route or '', route or '').lower()})"


def guideline_check(t: TreatmentInput, condition: str, pain_classification: str, age: int | None) -> list[dict]:
    """The pathway rules (NG193 / NG59 / NG226) that a medicine hits for this case, as plain dicts."""
    if t.category not in ("medicine", "injection") or not (t.drug or t.name or "").strip():
        return []
    from hub.clinical import pathway

    try:
        hits = pathway.check_medicine((t.drug or t.name).strip().lower(), condition, pain_classification, age=age,
                                      already_taking=t.already_taking)
    except ValueError:
        return []
    return [{"rule": h.rule, "guideline": h.guideline, "drug_class": h.drug_class, "note": h.note,
             "source": h.source, "blocks": h.blocks, "rule_id": h.rule_id} for h in hits]


def guideline_message(hits: list[dict]) -> str:
    """What a blocking guideline rule says, in one line for the form."""
    blocking = [h for h in hits if h["blocks"]]
    return "; ".join(f"{h['guideline']} says {h['rule'].replace('_', ' ')} "
                     f"({(h['drug_class'] or '').replace('_', ' ')}): {h['note']} Source: {h['source']}"
                     for h in blocking)


def insert_treatment(s, actor: Actor, patient_id: int, t: TreatmentInput,
                     case: Case | None = None) -> Treatment:
    """Add a validated, guideline-checked treatment to the session (the caller audits and commits)."""
    errors = validate_treatment(t)
    hits: list[dict] = []
    if case is not None:
        age = date.today().year - case.patient.birth_year if case.patient else None
        hits = guideline_check(t, case.condition, case.pain_classification, age)
        override = (t.guideline_override or "").strip()
        # Recording what the patient already takes is not prescribing: the rules are shown, not enforced.
        if not t.already_taking and any(h["blocks"] for h in hits) and len(override) < 10:
            errors["guideline_override"] = (
                f"Guideline check: {guideline_message(hits)}. To add it anyway, give the reason for overriding "
                "the rule (at least 10 characters).")
    if errors:
        raise ValidationError(errors)
    drug = (t.drug or "").strip().lower() or None
    coded = None
    if t.category == "medicine" and drug:
        # A pick-list label, generic name or UK brand becomes the table's drug name; other text is kept as
        # typed and marked "not coded" (its OME is never guessed).
        c = code_medicine(t.drug or "")
        drug, coded = c.drug, c.coded
    row = Treatment(
        patient_id=patient_id, category=t.category,
        name=((t.name or "").strip()
              or treatment_label(t.category, "", drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)),
        drug_coded=coded,
        drug=drug, route=t.route, daily_dose_mg=t.daily_dose_mg, patch_mcg_per_h=t.patch_mcg_per_h,
        dose_text=(t.dose_text or "").strip(), start_date=t.start_date, end_date=t.end_date,
        status="stopped" if t.end_date and t.end_date <= date.today() else "active",
        reason_stopped=t.reason_stopped, adherence_pct=t.adherence_pct, notes=(t.notes or "").strip(),
        guideline_hits=hits, guideline_override=(t.guideline_override or "").strip() or None,
        created_by=actor.user_id,
    )
    s.add(row)
    s.flush()
    return row


def case_for_write(s, actor: Actor, case_id: int) -> Case:
    case = s.get(Case, case_id) if parse_id(case_id) else None
    if case is None or not can_see_case(actor, case.practice_id, case.status):
        raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
    if not can_edit_case(actor, case.practice_id):
        raise PermissionDenied("Only a PCP of the patient's practice can add to the record.")
    return case


def add_treatment(session_factory: SessionFactory, actor: Actor, case_id: int, t: TreatmentInput) -> int:
    """A PCP adds a treatment to the case's patient."""
    with session_factory.begin() as s:
        case = case_for_write(s, actor, case_id)
        row = insert_treatment(s, actor, case.patient_id, t, case)
        audit.record(s, actor, "treatment.create", "treatment", row.id,
                     {"case_id": case_id, "name": row.name, "category": row.category, "drug": row.drug,
                      "daily_dose_mg": row.daily_dose_mg, "patch_mcg_per_h": row.patch_mcg_per_h,
                      "guideline_hits": [h["rule_id"] for h in row.guideline_hits],
                      "guideline_override": row.guideline_override})
        flags.recompute_patient(s, case.patient_id)
        return row.id


def stop_treatment(session_factory: SessionFactory, actor: Actor, case_id: int, treatment_id: int, end_date: date,
                   reason: str) -> None:
    """A PCP records that a current treatment stopped, with the reason."""
    with session_factory.begin() as s:
        case = case_for_write(s, actor, case_id)
        row = s.get(Treatment, treatment_id)
        if row is None or row.patient_id != case.patient_id:
            raise NotFound("No such treatment for this patient.")
        errors = {}
        if reason not in STOP_REASONS:
            errors["reason_stopped"] = "Say why the treatment was stopped."
        if end_date < row.start_date:
            errors["end_date"] = "The stop date must be on or after the start date."
        if end_date > date.today():
            errors["end_date"] = "The stop date cannot be in the future."
        if errors:
            raise ValidationError(errors)
        before = {"status": row.status, "end_date": row.end_date, "reason_stopped": row.reason_stopped}
        row.status, row.end_date, row.reason_stopped = "stopped", end_date, reason
        audit.record(s, actor, "treatment.stop", "treatment", row.id,
                     audit.diff(before, {"status": "stopped", "end_date": end_date, "reason_stopped": reason}))
        flags.recompute_patient(s, case.patient_id)


# ----------------------------------------------------------------------------- assessments


def instrument_code(name: str) -> str:
    """The code an instrument is stored under (lower-case registry id, e.g. 'phq9', 'startmsk')."""
    from hub.clinical import instruments

    return instruments.instrument_id(name).lower()


def score(instrument: str, responses: dict[str, Any], *, partial: bool = False):
    """Score an instrument's responses through hub.clinical (ValueError on invalid input; with `partial`, an
    incomplete form gives total None)."""
    from hub.clinical import instruments

    return instruments.score(instrument, responses, partial=partial)


def assessment_forms() -> list[dict[str, Any]]:
    """What the assessment form needs per instrument: id, name, items with ranges, bundled text."""
    from hub.clinical import instruments

    forms = []
    for spec in instruments.INSTRUMENTS.values():
        text = instruments.item_text(spec.id) if spec.text_bundled else {}
        forms.append({
            "code": spec.id.lower(), "name": spec.name, "licence": spec.licence,
            "text_bundled": spec.text_bundled, "stem": text.get("stem", "") if isinstance(text, dict) else "",
            "items": [{"key": i.key, "number": item_number(i.key), "min": i.min, "max": i.max,
                       "required": i.required, "text": _item_text(text, i.key),
                       "options": _item_options(text, i.key)} for i in spec.items],
        })
    return forms


def _item_text(text: Any, key: str) -> str:
    if not isinstance(text, dict):
        return ""
    items = text.get("items", text)
    value = items.get(key) if isinstance(items, dict) else None
    if value is None:  # an unscored item (e.g. PHQ-9 item 10) has its own text and options
        value = (text.get("unscored_items") or {}).get(key)
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return str(value or "")


def _item_options(text: Any, key: str) -> list[tuple[int, str]]:
    """The response options of an item as (code, words) when the wording is bundled, else []."""
    if not isinstance(text, dict):
        return []
    own = (text.get("unscored_items") or {}).get(key)
    options = own.get("options") if isinstance(own, dict) and own.get("options") else text.get("options")
    return [(int(o["code"]), str(o["text"])) for o in options or []]


def item_number(key: str) -> str:
    """The number a paper form gives an item ('PHQ9_Q10' -> '10'), or the key when it has none."""
    import re

    m = re.search(r"_Q?(\d+)$", key)
    return m.group(1) if m else key


PHQ9_ITEM9_ONLY = ("phq9", "PHQ9_Q9")  # the one unanswered item a clinician may record (unscored)


def _missing(instrument: str, responses: dict[str, Any]) -> list[str]:
    from hub.clinical import instruments

    return instruments.missing_items(instrument, responses)


def _response_errors(instrument: str, responses: dict[str, Any]) -> dict[str, str]:
    """Unanswered required items in words, one error per item (`responses.<key>`) and one summary."""
    from hub.clinical import instruments

    try:
        spec = instruments.get_instrument(instrument)
        missing = instruments.missing_items(instrument, responses)
    except (KeyError, ValueError):
        return {}
    if not missing:
        return {}
    numbers = [item_number(k) for k in missing]
    n = len([i for i in spec.items if i.required and i.scored])
    errors = {f"responses.{k}": f"Item {item_number(k)} is not answered." for k in missing}
    errors["responses"] = (f"{spec.name}: item{'s' if len(missing) > 1 else ''} {', '.join(numbers)} "
                           f"{'are' if len(missing) > 1 else 'is'} not answered; all {n} items are needed to score it.")
    return errors


def add_assessment(session_factory: SessionFactory, actor: Actor, case_id: int, instrument: str, administered_on: date,
                   responses: dict[str, Any], mode: str = "self") -> int:
    """A PCP records a PROM or risk tool: responses are scored and stored with total and band."""
    if administered_on is None or administered_on > date.today():
        raise ValidationError({"administered_on": "Enter the date it was completed (not in the future)."})
    if mode not in ASSESSMENT_MODES:
        raise ValidationError({"mode": "Mode is 'self' or 'clinician'."})
    try:
        instrument = instrument_code(instrument)
        # A PHQ-9 returned with only item 9 (thoughts of self-harm) unanswered is recorded, not scored (no
        # imputation): refusing it would lose the other answers and the prompt to ask item 9 now (hazard H2,
        # flag phq9_item9_unanswered). Any other unanswered item is refused.
        unscored = instrument == PHQ9_ITEM9_ONLY[0] and _missing(instrument, responses) == [PHQ9_ITEM9_ONLY[1]]
        result = score(instrument, responses, partial=unscored)
    except (KeyError, ValueError) as exc:
        raise ValidationError(_response_errors(instrument, responses) or {"responses": str(exc).strip("'\"")}) \
            from None
    if result.total is None and not unscored:
        raise ValidationError({"responses": "Too few items were answered to score this instrument."})
    with session_factory.begin() as s:
        case = case_for_write(s, actor, case_id)
        row = Assessment(patient_id=case.patient_id, instrument=instrument, administered_on=administered_on,
                         mode=mode, status="completed" if result.total is not None else "incomplete",
                         responses=dict(responses),
                         total=None if result.total is None else float(result.total),
                         band=result.band, safety_alert=bool(result.safety_alert), entered_by=actor.user_id,
                         instrument_version=str(result.instrument_version or "1")[:20],
                         scoring_version=str(result.scoring_algorithm_version or "1")[:20])
        s.add(row)
        s.flush()
        if instrument in PAIN_INSTRUMENTS:
            refresh_latest_pain(s, case.patient_id)
        audit.record(s, actor, "assessment.create", "assessment", row.id,
                     {"case_id": case_id, "instrument": instrument, "total": row.total, "band": row.band,
                      "safety_alert": row.safety_alert})
        flags.recompute_patient(s, case.patient_id)
        return row.id


def record_safety_action(session_factory: SessionFactory, actor: Actor, case_id: int, assessment_id: int,
                         action: str) -> None:
    """A clinician records the action taken on a PHQ-9 item 9 safety alert; the alert then clears."""
    text = clean_text(action, "note", field="safety_action", label="action taken")
    if len(text) < 10:
        raise ValidationError({"safety_action": "Describe the action taken (e.g. 'Phoned patient same day, "
                                                "safety plan agreed, crisis team informed')."})
    if not actor.is_clinical:
        raise PermissionDenied("Only a clinician can record the action taken on a safety alert.")
    with session_factory.begin() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        row = s.get(Assessment, assessment_id)
        if row is None or row.patient_id != case.patient_id or not row.safety_alert:
            raise NotFound("No such safety alert on this case.")
        if row.safety_action:
            raise ValidationError({"safety_action": "An action is already recorded for this alert."})
        row.safety_action, row.safety_action_by, row.safety_action_at = text, actor.user_id, utcnow()
        audit.record(s, actor, "safety.action", "assessment", row.id, {"case_id": case_id, "action": text})
        flags.recompute_patient(s, case.patient_id)


def open_safety_alerts(session_factory: SessionFactory, actor: Actor, case_id: int) -> list[dict]:
    """PHQ-9 item 9 alerts on the case's patient that have no action recorded yet."""
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        q = select(Assessment).where(Assessment.patient_id == case.patient_id, Assessment.safety_alert.is_(True),
                                     Assessment.safety_action.is_(None)).order_by(Assessment.administered_on)
        return [{"id": a.id, "on": a.administered_on, "total": a.total, "mode": a.mode, "reported_at": a.created_at}
                for a in s.scalars(q)]


def refresh_latest_pain(s, patient_id: int) -> None:
    """Store the patient's latest pain score on their cases (the queue shows and sorts on it)."""
    latest = s.execute(
        select(Assessment.total, Assessment.instrument, Assessment.administered_on)
        .where(Assessment.patient_id == patient_id, Assessment.instrument.in_(PAIN_INSTRUMENTS),
               Assessment.status == "completed")
        .order_by(Assessment.administered_on.desc(), Assessment.id.desc()).limit(1)
    ).first()
    if latest is not None:
        s.execute(update(Case).where(Case.patient_id == patient_id)
                  .values(latest_pain=latest.total, latest_pain_instrument=latest.instrument,
                          latest_pain_on=latest.administered_on)
                  .execution_options(synchronize_session="fetch"))
        flags.sync_flag_keys(s.connection(), patient_id=patient_id)  # the flag-filtered queue sorts on it too


# ----------------------------------------------------------------------------- reviews


@dataclass
class ReviewInput:
    """A review contact as entered on a form."""

    review_date: date | None = None
    attendance: str = "attended"
    mode: str = "face_to_face"
    management_changes: list[str] = field(default_factory=list)
    inaction_justifications: list[str] = field(default_factory=list)
    adherence_pct: int | None = None
    treatment_too_much: bool | None = None
    notes: str = ""
    goal_levels: dict[int, int] = field(default_factory=dict)  # goal id -> GAS level (-2..+2) at this review


def validate_review(r: ReviewInput) -> dict[str, str]:
    """Field errors of a review entry; empty when valid."""
    e: dict[str, str] = {}
    check_text(e, "notes", r.notes, "note", label="notes")
    if r.review_date is None or r.review_date > date.today():
        e["review_date"] = "Enter the review date (not in the future)."
    if r.attendance not in ATTENDANCE:
        e["attendance"] = "Say whether the patient attended."
    if r.mode not in REVIEW_MODES:
        e["mode"] = "Choose how the review took place."
    if r.adherence_pct is not None and not (0 <= r.adherence_pct <= 100):
        e["adherence_pct"] = "Adherence is a percentage from 0 to 100."
    if r.attendance != "attended" and (r.management_changes or r.inaction_justifications):
        e["attendance"] = "A missed or cancelled review cannot record management changes."
    if any(level not in (-2, -1, 0, 1, 2) for level in r.goal_levels.values()):
        e["goal_levels"] = "Goal attainment levels run from -2 to +2."
    if r.attendance != "attended" and r.goal_levels:
        e["goal_levels"] = "Goal attainment is rated at an attended review."
    return e


def add_review(session_factory: SessionFactory, actor: Actor, case_id: int, r: ReviewInput) -> int:
    """A PCP records a review (attended or missed, changes made or the reason for none)."""
    errors = validate_review(r)
    if errors:
        raise ValidationError(errors)
    with session_factory.begin() as s:
        case = case_for_write(s, actor, case_id)
        row = Review(patient_id=case.patient_id, case_id=case.id, review_date=r.review_date,
                     attendance=r.attendance, mode=r.mode, management_changes=list(r.management_changes),
                     inaction_justifications=list(r.inaction_justifications), adherence_pct=r.adherence_pct,
                     treatment_too_much=r.treatment_too_much, notes=(r.notes or "").strip(),
                     reviewer_id=actor.user_id)
        s.add(row)
        s.flush()
        for goal_id, level in r.goal_levels.items():
            goal = s.get(Goal, goal_id)
            if goal is None or goal.case_id != case.id:
                raise ValidationError({"goal_levels": "That goal does not belong to this case."})
            s.add(GoalAttainment(goal_id=goal.id, review_id=row.id, assessed_on=r.review_date, level=level,
                                 recorded_by=actor.user_id))
            goal.achieved_level = level
            audit.record(s, actor, "goal.attainment", "goal", goal.id, {"level": level, "review_id": row.id})
        audit.record(s, actor, "review.create", "review", row.id,
                     {"case_id": case_id, "review_date": r.review_date, "attendance": r.attendance,
                      "management_changes": r.management_changes,
                      "inaction_justifications": r.inaction_justifications})
        flags.recompute_patient(s, case.patient_id)
        return row.id


# ----------------------------------------------------------------------------- timeline data


@dataclass(frozen=True)
class TimelineData:
    """Everything the case timeline draws, as DataFrames (one row per item)."""

    treatments: pd.DataFrame
    assessments: pd.DataFrame
    reviews: pd.DataFrame
    wearables: pd.DataFrame
    ome: list[tuple[date, float]] = field(default_factory=list)


def timeline(session_factory: SessionFactory, actor: Actor, case_id: int) -> TimelineData:
    """The case's patient record as DataFrames for the timeline and tables."""
    if not actor.is_clinical:
        raise PermissionDenied("Patient data is visible only to clinical roles.")
    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        pid = case.patient_id
        tr: list[dict[str, Any]] = [  # rows of the treatments table (mixed value types)
            {"id": t.id, "category": t.category, "category_label": TREATMENT_CATEGORIES[t.category],
             "label": treatment_label(t.category, t.name, t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h),
             "drug": t.drug, "route": t.route, "daily_dose_mg": t.daily_dose_mg,
             "patch_mcg_per_h": t.patch_mcg_per_h, "start": t.start_date, "end": t.end_date,
             "status": TREATMENT_STATUSES[t.status], "reason_stopped": STOP_REASONS.get(t.reason_stopped or "", ""),
             "adherence_pct": t.adherence_pct, "guideline_override": t.guideline_override or ""}
            for t in s.scalars(select(Treatment).where(Treatment.patient_id == pid)
                               .order_by(Treatment.start_date, Treatment.id))
        ]
        asm = [
            {"id": a.id, "date": a.administered_on, "instrument": a.instrument, "status": a.status,
             "total": a.total, "band": a.band, "safety_alert": a.safety_alert, "mode": a.mode}
            for a in s.scalars(select(Assessment).where(Assessment.patient_id == pid)
                               .order_by(Assessment.administered_on, Assessment.id))
        ]
        rv = [
            {"id": r.id, "date": r.review_date, "attendance": r.attendance,
             "attendance_label": ATTENDANCE[r.attendance], "mode": REVIEW_MODES.get(r.mode, r.mode),
             "management_changes": ", ".join(r.management_changes or []),
             "justifications": ", ".join(r.inaction_justifications or []), "adherence_pct": r.adherence_pct,
             "treatment_too_much": r.treatment_too_much, "notes": r.notes}
            for r in s.scalars(select(Review).where(Review.patient_id == pid)
                               .order_by(Review.review_date, Review.id))
        ]
        wd = s.execute(
            select(WearableDay.day, WearableDay.steps, WearableDay.active_minutes, WearableDay.sleep_hours,
                   WearableDay.resting_hr, WearableDay.source)
            .where(WearableDay.patient_id == pid).order_by(WearableDay.day)
        ).all()
    from hub.clinical.case_review import TreatmentRec, ome_over_time

    courses = [TreatmentRec(t["category"], t["start"], t["end"], t["drug"], t["route"], t["daily_dose_mg"],
                            t["patch_mcg_per_h"]) for t in tr if t["status"] != TREATMENT_STATUSES["planned"]]
    first = min((t["start"] for t in tr), default=date.today())
    return TimelineData(
        ome=ome_over_time(courses, first, date.today()),
        treatments=pd.DataFrame(tr, columns=["id", "category", "category_label", "label", "drug", "route",
                                             "daily_dose_mg", "patch_mcg_per_h", "start", "end", "status",
                                             "reason_stopped", "adherence_pct", "guideline_override"]),
        assessments=pd.DataFrame(asm, columns=["id", "date", "instrument", "status", "total", "band",
                                               "safety_alert", "mode"]),
        reviews=pd.DataFrame(rv, columns=["id", "date", "attendance", "attendance_label", "mode",
                                          "management_changes", "justifications", "adherence_pct",
                                          "treatment_too_much", "notes"]),
        wearables=pd.DataFrame([tuple(r) for r in wd],
                               columns=["day", "steps", "active_minutes", "sleep_hours", "resting_hr", "source"]),
    )


def case_goals(session_factory: SessionFactory, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's goals (latest level, linked recommendation) and the GAS T-score at each rating date."""
    from db.models import Decision, Recommendation
    from hub.clinical.goals import gas_t_score

    with session_factory() as s:
        case = s.get(Case, case_id)
        if case is None or not actor.is_clinical or not can_see_case(actor, case.practice_id, case.status):
            raise NotFound(f"Case {case_id} does not exist or is not in your scope.")
        goals = s.scalars(select(Goal).join(Decision, Decision.id == Goal.decision_id)
                          .where(Goal.case_id == case_id, Decision.status == "final").order_by(Goal.id)).all()
        history = s.execute(select(GoalAttainment.goal_id, GoalAttainment.assessed_on, GoalAttainment.level)
                            .where(GoalAttainment.goal_id.in_([g.id for g in goals]))
                            .order_by(GoalAttainment.assessed_on, GoalAttainment.id)).all()
        rows = []
        for g in goals:
            rec = s.get(Recommendation, g.recommendation_id) if g.recommendation_id else None
            rows.append({"id": g.id, "goal": f"{g.target_activity}, {g.performance_quantifier}"
                         + (f" ({g.support_needed})" if g.support_needed else ""),
                         "due_date": g.due_date, "level": g.achieved_level,
                         "expected": (g.levels or {}).get("0", ""), "levels": g.levels,
                         "recommendation": rec.description if rec else ""})
    # T-score at each rating date: every goal at its latest level so far (baseline level until rated).
    current = {g.id: g.baseline_level for g in goals}
    series = []
    for goal_id, on, level in history:
        current[goal_id] = level
        series.append((on, round(gas_t_score(list(current.values())), 1)))
    by_date = dict(series)
    return {"goals": rows, "t_scores": sorted(by_date.items())}
