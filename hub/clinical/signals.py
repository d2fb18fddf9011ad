"""Therapeutic inertia, treatment fatigue and disengagement detectors (docs/CLINICAL.md section 5).

No published operational definition exists for chronic pain, so every numeric parameter
here is a DESIGN DEFAULT, exposed as a keyword argument (see hub.clinical.thresholds).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from datetime import date as Date  # (Review has a field named `date`)
from enum import StrEnum
from typing import Any

from hub.clinical.instruments import phq9_item9_alert


class ChangeType(StrEnum):
    """Types of management change recorded at a review (ChangeEvent.type)."""

    DRUG_START = "drug_start"
    DRUG_STOP = "drug_stop"
    DOSE_CHANGE = "dose_change"
    TAPER_START = "taper_start"
    REFERRAL = "referral"
    NEW_NONPHARM_INTERVENTION = "new_nonpharm_intervention"
    PSYCH_INTERVENTION = "psych_intervention"
    GOAL_REVISION = "goal_revision"
    ADHERENCE_INTERVENTION = "adherence_intervention"


class JustCode(StrEnum):
    """Recorded justifications for not changing management (appropriate inaction is not inertia)."""

    PATIENT_DECLINED = "patient_declined"
    RECENT_CHANGE_WITHIN_ONSET_WINDOW = "recent_change_within_onset_window"
    AWAITING_INVESTIGATION_OR_SPECIALIST = "awaiting_investigation_or_specialist"
    ADHERENCE_SUPPORT_GIVEN = "adherence_support_given"
    CLOSE_TO_TARGET = "close_to_target"
    COMPETING_PRIORITY = "competing_priority"
    SHARED_DECISION_TO_MAINTAIN = "shared_decision_to_maintain"


CHANGE_EVENT_TYPES: tuple[str, ...] = tuple(c.value for c in ChangeType)
JUST_CODES: tuple[str, ...] = tuple(c.value for c in JustCode)

INERTIA_MIN_CONSECUTIVE = 2  # DESIGN DEFAULT
INERTIA_MAX_WEEKS = 12  # DESIGN DEFAULT
ONSET_WINDOW_WEEKS: dict[str, int] = {  # DESIGN DEFAULT (UNVERIFIED)
    "antidepressant": 6, "exercise_programme": 8, "psych_therapy": 8, "default": 6,
}
DNA_MIN_COUNT = 2
DNA_WINDOW_MONTHS = 6
DNA_LAST_N = 4
DNA_MIN_FRACTION = 0.5
PROM_NONRETURN_MIN_CONSECUTIVE = 2
ADHERENCE_MIN_DROP = 0.5
PLATEAU_MIN_POINTS = 3
PLATEAU_MIN_WEEKS = 12
PLATEAU_SLOPE_WEEKS = 12


def _date(name: str, d: Any) -> date:
    if not isinstance(d, date):
        raise ValueError(f"{name} must be a date, got {d!r}")
    return d


def fmt_day(d: date, today: date | None = None) -> str:
    """Format a date as '12 Mar' (adding the year when it differs from today's)."""
    s = f"{d.day} {d.strftime('%b')}"
    return s if today is not None and d.year == today.year else f"{s} {d.year}"


# --------------------------------------------------------------------------- inertia


@dataclass(frozen=True)
class ChangeEvent:
    """A management change recorded at a review; ``date`` defaults to the review date."""

    type: str
    date: date | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.type not in CHANGE_EVENT_TYPES:
            raise ValueError(f"unknown change type {self.type!r}; expected one of {', '.join(CHANGE_EVENT_TYPES)}")
        object.__setattr__(self, "type", ChangeType(self.type).value)
        if self.date is not None:
            _date("ChangeEvent.date", self.date)


@dataclass(frozen=True)
class Review:
    """Input record of the inertia detector: one review (the first one is the baseline R0)."""

    date: date
    target_met: bool | None
    management_changes: tuple[ChangeEvent, ...] = field(default_factory=tuple)
    inaction_justifications: tuple[str, ...] = field(default_factory=tuple)
    review_id: Any = None
    primary_prom_value: float | None = None

    def __post_init__(self) -> None:
        _date("Review.date", self.date)
        if self.target_met is not None and not isinstance(self.target_met, bool):
            raise ValueError(f"Review.target_met must be True, False or None, got {self.target_met!r}")
        if isinstance(self.management_changes, (str, ChangeEvent)) or isinstance(self.inaction_justifications, str):
            raise ValueError("management_changes and inaction_justifications must be lists")
        changes = tuple(c if isinstance(c, ChangeEvent) else ChangeEvent(str(c)) for c in self.management_changes)
        for j in self.inaction_justifications:
            if j not in JUST_CODES:
                raise ValueError(f"unknown justification {j!r}; expected one of {', '.join(JUST_CODES)}")
        object.__setattr__(self, "management_changes", changes)
        object.__setattr__(self, "inaction_justifications",
                           tuple(JustCode(j).value for j in self.inaction_justifications))

    def last_change_date(self) -> Date | None:
        """Date of the latest change recorded at this review (the review date when undated)."""
        if not self.management_changes:
            return None
        return max(c.date or self.date for c in self.management_changes)


def inertia_event(prev: Review | None, cur: Review) -> bool:
    """An inertia event: target not met, no management change and no recorded justification."""
    return cur.target_met is False and len(cur.management_changes) == 0 and len(cur.inaction_justifications) == 0


@dataclass(frozen=True)
class InertiaResult:
    """Therapeutic inertia flag, TI score and a one-sentence reason for the clinician."""

    flag: bool
    ti_score: float | None
    reason: str
    consecutive_events: int = 0
    weeks_since_change: float | None = None
    rule: str | None = None  # 'a' (consecutive events) or 'b' (no change for too long)


def therapeutic_inertia_flag(
    reviews: Sequence[Review],
    today: date,
    min_consecutive: int = INERTIA_MIN_CONSECUTIVE,
    max_weeks: float = INERTIA_MAX_WEEKS,
) -> InertiaResult:
    """Flag therapeutic inertia: (a) >= 2 consecutive inertia events up to the latest review, or
    (b) target not met, no justification, and >= 12 weeks from the last change to the latest review.

    ``reviews[0]`` is the baseline R0 and is excluded from events and the TI score; reviews dated
    after ``today`` are ignored. ti_score = (uncontrolled - uncontrolled with change) / reviews.
    """
    today = _date("today", today)
    if isinstance(min_consecutive, bool) or not isinstance(min_consecutive, int) or min_consecutive < 1:
        raise ValueError(f"min_consecutive must be a whole number >= 1, got {min_consecutive!r}")
    if isinstance(max_weeks, bool) or not isinstance(max_weeks, numbers.Real) or max_weeks <= 0:
        raise ValueError(f"max_weeks must be a positive number, got {max_weeks!r}")
    for r in reviews:
        if not isinstance(r, Review):
            raise ValueError(f"reviews must be Review records, got {r!r}")
    rs = sorted((r for r in reviews if r.date <= today), key=lambda r: r.date)
    if len(rs) < 2:
        return InertiaResult(False, None, "No follow-up review after the baseline yet")
    follow = rs[1:]
    uncontrolled = [r for r in follow if r.target_met is False]
    ti_score = (len(uncontrolled) - sum(1 for r in uncontrolled if r.management_changes)) / len(follow)

    run: list[Review] = []
    for prev, cur in zip(reversed(rs[:-1]), reversed(follow)):
        if not inertia_event(prev, cur):
            break
        run.append(cur)
    run.reverse()
    latest = rs[-1]
    change_dates = [d for d in (r.last_change_date() for r in rs) if d is not None]
    since = max(change_dates) if change_dates else rs[0].date
    since_text = (f"last change {fmt_day(since, today)}" if change_dates
                  else f"no change since baseline {fmt_day(since, today)}")
    weeks = (latest.date - since).days / 7

    if len(run) >= min_consecutive:
        days = ", ".join(fmt_day(r.date, today) for r in run)
        return InertiaResult(True, ti_score,
                             f"No change at the last {len(run)} reviews ({days}) while target not met; "
                             "no reason recorded", len(run), weeks, "a")
    if latest.target_met is False and not latest.inaction_justifications and weeks >= max_weeks:
        return InertiaResult(True, ti_score,
                             f"Target not met at the review on {fmt_day(latest.date, today)} and no change for "
                             f"{weeks:.0f} weeks ({since_text}); no reason recorded",
                             len(run), weeks, "b")
    if latest.target_met is True:
        reason = f"Target met at the latest review ({fmt_day(latest.date, today)})"
    elif latest.target_met is None:
        reason = f"Target status not recorded at the latest review ({fmt_day(latest.date, today)})"
    elif latest.inaction_justifications:
        reason = (f"No change at the review on {fmt_day(latest.date, today)}, with a reason recorded: "
                  f"{', '.join(j.replace('_', ' ') for j in latest.inaction_justifications)}")
    elif latest.management_changes:
        reason = (f"Management changed at the latest review ({fmt_day(latest.date, today)}: "
                  f"{', '.join(c.type.replace('_', ' ') for c in latest.management_changes)})")
    else:
        reason = (f"Target not met at {fmt_day(latest.date, today)} without change, but only {len(run)} such "
                  f"review(s) and {weeks:.0f} weeks without change ({since_text})")
    return InertiaResult(False, ti_score, reason, len(run), weeks, None)


def within_onset_window(change_date: date, review_date: date, kind: str = "default",
                        windows: Mapping[str, float] | None = None) -> bool:
    """True when a review falls inside the onset window of a recent change (justifies waiting)."""
    w = dict(ONSET_WINDOW_WEEKS if windows is None else windows)
    weeks = w.get(kind, w["default"])
    days = (_date("review_date", review_date) - _date("change_date", change_date)).days
    return 0 <= days < weeks * 7


# ----------------------------------------------------------------- disengagement


@dataclass(frozen=True)
class SignalResult:
    """Outcome of one treatment-fatigue / disengagement detector."""

    flag: bool
    reason: str
    code: str = ""
    value: float | None = None


def months_before(d: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the end of a shorter month)."""
    y, m = divmod(d.year * 12 + (d.month - 1) - months, 12)
    m += 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _pairs(name: str, items: Iterable[Any]) -> list[tuple[date, Any]]:
    out = []
    for it in items:
        if not isinstance(it, (tuple, list)) or len(it) != 2:
            raise ValueError(f"{name} must be a list of (date, value) pairs, got {it!r}")
        out.append((_date(f"{name} date", it[0]), it[1]))
    return sorted(out, key=lambda p: p[0])


def missed_appointments_signal(
    attendance: Iterable[tuple[date, bool]],
    today: date,
    min_dna: int = DNA_MIN_COUNT,
    window_months: int = DNA_WINDOW_MONTHS,
    last_n: int = DNA_LAST_N,
    min_fraction: float = DNA_MIN_FRACTION,
) -> SignalResult:
    """Flag >= 2 DNAs in the last 6 months, or DNAs in >= 50 % of the last 4 booked contacts."""
    today = _date("today", today)
    rows = [(d, a) for d, a in _pairs("attendance", attendance) if d <= today]
    for d, a in rows:
        if not isinstance(a, bool):
            raise ValueError(f"attendance on {d} must be True (attended) or False (DNA), got {a!r}")
    start = months_before(today, window_months)
    dnas = [d for d, a in rows if not a and d > start]
    if len(dnas) >= min_dna:
        return SignalResult(True, f"{len(dnas)} missed appointments in the last {window_months} months "
                            f"({', '.join(fmt_day(d, today) for d in dnas)})", "missed_appointments", len(dnas))
    last = rows[-last_n:]
    missed = sum(1 for _, a in last if not a)
    if len(last) >= last_n and missed / len(last) >= min_fraction:
        return SignalResult(True, f"Missed {missed} of the last {len(last)} booked contacts", "missed_appointments",
                            missed / len(last))
    return SignalResult(False, f"{len(dnas)} missed appointment(s) in the last {window_months} months",
                        "missed_appointments", len(dnas))


def prom_non_completion_signal(
    scheduled: Iterable[tuple[date, bool]],
    today: date,
    min_consecutive: int = PROM_NONRETURN_MIN_CONSECUTIVE,
) -> SignalResult:
    """Flag >= 2 consecutive scheduled PROMs (due by today) not returned, counted back from the latest."""
    today = _date("today", today)
    rows = [(d, r) for d, r in _pairs("scheduled", scheduled) if d <= today]
    run: list[date] = []
    for d, returned in reversed(rows):
        if not isinstance(returned, bool):
            raise ValueError(f"PROM due {d} must be True (returned) or False, got {returned!r}")
        if returned:
            break
        run.append(d)
    run.reverse()
    if len(run) >= min_consecutive:
        return SignalResult(True, f"Last {len(run)} scheduled PROMs not returned "
                            f"({', '.join(fmt_day(d, today) for d in run)})", "prom_non_completion", len(run))
    return SignalResult(False, f"{len(run)} outstanding PROM(s)", "prom_non_completion", len(run))


def adherence_drop_signal(previous: float, current: float, min_drop: float = ADHERENCE_MIN_DROP) -> SignalResult:
    """Flag when self-reported adherence (sessions/week or % doses) falls >= 50 % from the previous period."""
    for name, v in (("previous", previous), ("current", current)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
            raise ValueError(f"{name} adherence must be a number >= 0, got {v!r}")
    if previous == 0:
        return SignalResult(False, "No adherence in the previous period to compare with", "adherence_drop", None)
    drop = (previous - current) / previous
    pct = round(drop * 100)
    if round(drop, 9) >= min_drop:
        return SignalResult(True, f"Adherence fell {pct}% ({previous:g} -> {current:g}) versus the previous period",
                            "adherence_drop", drop)
    return SignalResult(False, f"Adherence change {-pct:+d}% ({previous:g} -> {current:g})", "adherence_drop", drop)


def least_squares_slope_per_week(values: Sequence[tuple[date, float]]) -> float:
    """Ordinary least-squares slope of value against time, in units per week."""
    pts = _pairs("values", values)
    if len(pts) < 2:
        raise ValueError("at least 2 values are needed for a slope")
    t0 = pts[0][0]
    xs = [(d - t0).days / 7 for d, _ in pts]
    ys = [float(v) for _, v in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("values must span more than one date")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def prom_plateau_signal(
    values: Sequence[tuple[date, float]],
    mic: float,
    min_points: int = PLATEAU_MIN_POINTS,
    min_weeks: float = PLATEAU_MIN_WEEKS,
    slope_weeks: float = PLATEAU_SLOPE_WEEKS,
    improving_floor: float | None = None,
    higher_is_better: bool = False,
) -> SignalResult:
    """Flag a primary-PROM plateau: >= 3 values over >= 12 weeks, |last - first| < MIC and |slope| <= MIC/12 per week.

    With ``improving_floor`` (v0.2, the pain raw floor) a slow, steady improvement of at least that much over the
    window is not a plateau."""
    if isinstance(mic, bool) or not isinstance(mic, numbers.Real) or mic <= 0:
        raise ValueError(f"mic must be a positive number, got {mic!r}")
    pts = _pairs("values", values)
    for d, v in pts:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"PROM value on {d} must be a number, got {v!r}")
    if len(pts) < min_points:
        return SignalResult(False, f"Only {len(pts)} PROM value(s); {min_points} needed", "prom_plateau", None)
    span = (pts[-1][0] - pts[0][0]).days / 7
    if span < min_weeks:
        return SignalResult(False, f"PROM values span {span:.0f} weeks; {min_weeks:g} needed", "prom_plateau", None)
    diff = abs(float(pts[-1][1]) - float(pts[0][1]))
    slope = least_squares_slope_per_week(pts)
    gain = (float(pts[-1][1]) - float(pts[0][1])) * (1 if higher_is_better else -1)
    if improving_floor is not None and round(gain, 2) >= improving_floor:
        return SignalResult(False, f"Improving steadily: {round(float(pts[0][1]), 1):g} -> "
                            f"{round(float(pts[-1][1]), 1):g} over {span:.0f} weeks (at least {improving_floor:g} "
                            "point better): not a plateau", "prom_plateau", slope)
    limit = mic / slope_weeks
    if round(diff, 9) < mic and round(abs(slope), 9) <= limit:
        return SignalResult(True, f"PROM plateau: {round(float(pts[0][1]), 1):g} -> {round(float(pts[-1][1]), 1):g} over {span:.0f} weeks "
                            f"(change {diff:.2g} < MIC {mic:g}; slope {slope:+.3f}/week)", "prom_plateau", slope)
    return SignalResult(False, f"PROM moving: {round(float(pts[0][1]), 1):g} -> {round(float(pts[-1][1]), 1):g} over {span:.0f} weeks "
                        f"(slope {slope:+.3f}/week)", "prom_plateau", slope)


def burden_signal(burden_reported: bool | None, reported_on: date | None = None, today: date | None = None) -> SignalResult:
    """Flag a positive patient-reported 'treatment is too much for me' item."""
    if burden_reported is not None and not isinstance(burden_reported, bool):
        raise ValueError(f"burden_reported must be True, False or None, got {burden_reported!r}")
    when = f" on {fmt_day(reported_on, today)}" if reported_on is not None else ""
    if burden_reported:
        return SignalResult(True, f"Patient reported that treatment is too much for them{when}", "burden", 1.0)
    if burden_reported is None:
        return SignalResult(False, "Treatment burden not asked", "burden", None)
    return SignalResult(False, f"No treatment burden reported{when}", "burden", 0.0)


def phq9_item9_missing(responses: Mapping[str, Any] | None) -> bool:
    """True when a PHQ-9 came back (some item answered) without an answer to item 9 (H2: ask item 9 now)."""
    if not responses:
        return False
    answered = [k for k, v in responses.items() if str(k).upper().startswith("PHQ9_Q") and v is not None]
    return bool(answered) and responses.get("PHQ9_Q9") is None


SBST_FEAR_ITEM = "SBST_Q5"  # "not really safe for a person with a condition like mine to be physically active"


def sbst_fear_item_positive(responses: Mapping[str, Any] | None) -> bool | None:
    """The STarT Back fear-avoidance item (agree = 1), or None when it was not answered."""
    if not responses or responses.get(SBST_FEAR_ITEM) is None:
        return None
    return bool(int(responses[SBST_FEAR_ITEM]) >= 1)


def phq9_safety_alert(responses: Mapping[str, Any]) -> bool:
    """True when PHQ-9 item 9 > 0 (same-day clinician review), even on an incomplete form."""
    return phq9_item9_alert(responses)
