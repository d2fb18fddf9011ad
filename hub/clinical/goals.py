"""SMART goals and Goal Attainment Scaling (docs/CLINICAL.md section 6)."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

GAS_LEVELS = (-2, -1, 0, 1, 2)
GAS_RHO = 0.3  # Kiresuk-Sherman convention
SMART_COMPONENTS = ("specific", "measurable", "achievable", "relevant", "timed")

_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "fifteen", "twenty", "thirty", "forty", "fifty", "sixty", "hundred", "half", "once", "twice", "daily",
}
_HAS_DIGIT = re.compile(r"\d")
_HAS_UNIT = re.compile(r"[A-Za-z%/]")


@dataclass
class Goal:
    """A patient goal built from Bovend'Eerdt's parts, with its GAS levels (-2..+2)."""

    target_activity: str | None
    support_needed: str | None
    performance_quantifier: str | None
    due_date: date | None
    importance: int  # 0-3 (Turner-Stokes weight)
    difficulty: int  # 0-3
    levels: dict[int, str] = field(default_factory=dict)
    baseline_level: int = -1
    achieved_level: int | None = None
    set_date: date | None = None


def has_quantifier(text: str | None) -> bool:
    """True when a performance quantifier holds a number and a unit ('20 minutes', '3 times/week')."""
    if not text or not text.strip():
        return False
    words = set(re.findall(r"[a-z]+", text.lower()))
    has_number = bool(_HAS_DIGIT.search(text)) or bool(words & _NUMBER_WORDS)
    stripped = _HAS_DIGIT.sub("", text)
    return has_number and bool(_HAS_UNIT.search(stripped))


def _rating(x: object) -> int | None:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or not 0 <= int(x) <= 3:
        return None
    return int(x)


def is_smart(goal: Goal, today: date) -> list[str]:
    """List the SMART components a goal is missing, in S-M-A-R-T order ([] = SMART)."""
    if not isinstance(goal, Goal):
        raise ValueError(f"goal must be a Goal, got {goal!r}")
    if not isinstance(today, date):
        raise ValueError(f"today must be a date, got {today!r}")
    missing: list[str] = []
    if not (goal.target_activity and goal.target_activity.strip()):
        missing.append("specific")
    if not has_quantifier(goal.performance_quantifier):
        missing.append("measurable")
    expected = (goal.levels or {}).get(0)
    if _rating(goal.difficulty) is None or not (expected and str(expected).strip()):
        missing.append("achievable")  # difficulty rated and expected outcome (level 0) agreed
    importance = _rating(goal.importance)
    if importance is None or importance == 0:
        missing.append("relevant")  # the patient rates it at least a little important
    due = goal.due_date
    if (not isinstance(due, date) or due < today
            or (goal.set_date is not None and due <= goal.set_date)):
        missing.append("timed")
    return missing


def turner_stokes_weight(importance: int, difficulty: int) -> int:
    """GAS weight = importance x difficulty, each rated 0-3 (weighting detail UNVERIFIED)."""
    i, d = _rating(importance), _rating(difficulty)
    if i is None or d is None:
        raise ValueError(f"importance and difficulty must be whole numbers 0-3, got {importance!r}, {difficulty!r}")
    return i * d


def gas_t_score(levels: Sequence[int], weights: Sequence[float] | None = None, rho: float = GAS_RHO) -> float:
    """Kiresuk-Sherman GAS T-score: 50 + 10 sum(w x) / sqrt((1 - rho) sum(w^2) + rho (sum w)^2)."""
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence) or len(levels) == 0:
        raise ValueError("levels must be a non-empty list of GAS levels -2..+2")
    for x in levels:
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x not in GAS_LEVELS:
            raise ValueError(f"GAS level must be one of -2, -1, 0, 1, 2, got {x!r}")
    if weights is None:
        w = [1.0] * len(levels)
    else:
        if len(weights) != len(levels):
            raise ValueError(f"{len(weights)} weights for {len(levels)} levels")
        w = []
        for wx in weights:
            if isinstance(wx, bool) or not isinstance(wx, numbers.Real) or wx < 0 or math.isnan(wx):
                raise ValueError(f"GAS weight must be a number >= 0, got {wx!r}")
            w.append(float(wx))
    if not any(w):
        raise ValueError("all GAS weights are 0")
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real) or not 0 <= rho < 1:
        raise ValueError(f"rho must be in [0, 1), got {rho!r}")
    num = sum(wi * xi for wi, xi in zip(w, levels))
    den = math.sqrt((1 - rho) * sum(wi * wi for wi in w) + rho * sum(w) ** 2)
    return 50 + 10 * num / den


def goals_t_score(goals: Sequence[Goal], weighted: bool = False, rho: float = GAS_RHO) -> float | None:
    """GAS T-score over goals with an achieved level (None if none rated); optional Turner-Stokes weights."""
    rated = [g for g in goals if g.achieved_level is not None]
    if not rated:
        return None
    weights = [turner_stokes_weight(g.importance, g.difficulty) for g in rated] if weighted else None
    return gas_t_score([g.achieved_level for g in rated], weights, rho)  # type: ignore[misc]


def gas_target_met(goals: Sequence[Goal]) -> bool | None:
    """Patient-specific target met for the responder rule: every rated goal at level >= 0 (None if none rated)."""
    rated = [g.achieved_level for g in goals if g.achieved_level is not None]
    if not rated:
        return None
    return all(x >= 0 for x in rated)
