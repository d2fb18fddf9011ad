"""Follow-through after a hub decision: when a returned case comes back to the queue by itself
(DESIGN DEFAULT rules of the follow-through issue; thresholds in settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.clinical.signals import fmt_day

ACTION_OVERDUE_DAYS = 14  # DESIGN DEFAULT: days past due before an open action re-lists the case
RELIST_FLAG_CODES = frozenset({"safety_phq9", "inertia", "missed_appointments", "prom_non_completion",
                               "adherence_drop", "prom_plateau", "treatment_burden", "wearable_drop"})


@dataclass(frozen=True)
class ActionState:
    """An action of the decision: what, due when, open or not."""

    description: str
    due: date
    open: bool


@dataclass(frozen=True)
class GoalState:
    """A goal of the decision: what, due when, latest GAS level (None = not rated)."""

    description: str
    due: date
    level: int | None


@dataclass(frozen=True)
class FollowUpState:
    """Everything the re-listing rules look at for one returned case."""

    today: date
    decided_on: date
    follow_up_date: date | None
    actions: tuple[ActionState, ...] = ()
    goals: tuple[GoalState, ...] = ()
    flags_at_decision: frozenset[str] = frozenset()
    current_flags: tuple[tuple[str, str, str], ...] = ()  # (code, label, reason)
    follow_up_review_on: date | None = None  # first attended review on/after the follow-up date
    primary_instrument: str | None = None
    value_at_decision: float | None = None
    value_latest: float | None = None
    value_latest_on: date | None = None
    important_improvement: bool | None = None


def relisting_reasons(state: FollowUpState, overdue_days: int = ACTION_OVERDUE_DAYS) -> list[str]:
    """Why a returned case should come back to the hub queue (empty list: it stays with the PCP)."""
    today = state.today
    reasons: list[str] = []
    for a in state.actions:
        late = (today - a.due).days
        if a.open and late >= overdue_days:
            reasons.append(f"Action overdue by {late} days: {a.description} (due {fmt_day(a.due, today)})")
    if (state.follow_up_review_on is not None and state.important_improvement is False
            and state.value_at_decision is not None and state.value_latest is not None):
        reasons.append(
            f"Follow-up review on {fmt_day(state.follow_up_review_on, today)} shows no important improvement: "
            f"{(state.primary_instrument or '').upper()} {state.value_at_decision:.1f} at the hub decision → "
            f"{state.value_latest:.1f} on {fmt_day(state.value_latest_on or today, today)}")
    for code, label, reason in state.current_flags:
        if code in RELIST_FLAG_CODES and code not in state.flags_at_decision:
            reasons.append(f"New flag since the hub decision: {label} — {reason}")
    for g in state.goals:
        if g.due < today and (g.level is None or g.level < 0):
            level = "not rated" if g.level is None else f"level {g.level:+d}"
            reasons.append(f"Goal not achieved by {fmt_day(g.due, today)} ({level}): {g.description}")
    return reasons
