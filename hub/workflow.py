"""The case status state machine: every status change goes through `move`."""

from __future__ import annotations

from db.models import Case, utcnow
from hub.errors import ValidationError
from hub.vocab import CASE_STATUSES

# draft -> submitted -> triaged -> scheduled -> discussed -> returned -> closed, with re-listing
# (returned -> submitted) when follow-up triggers fire, and withdrawal of a submission to draft.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted"}),
    "submitted": frozenset({"triaged", "scheduled", "draft", "closed"}),
    "triaged": frozenset({"scheduled", "submitted", "closed"}),
    "scheduled": frozenset({"discussed", "triaged", "submitted"}),
    "discussed": frozenset({"returned", "scheduled"}),
    "returned": frozenset({"submitted", "closed"}),
    "closed": frozenset({"submitted"}),
}


def can_move(current: str, target: str) -> bool:
    """True if the state machine allows current -> target."""
    return target in TRANSITIONS.get(current, frozenset())


def move(case: Case, target: str) -> dict[str, list[str]]:
    """Change a case's status along an allowed transition; returns the audit diff."""
    if target not in CASE_STATUSES:
        raise ValidationError({"status": f"Unknown status '{target}'."})
    if not can_move(case.status, target):
        raise ValidationError(
            {"status": f"A case cannot move from {CASE_STATUSES[case.status]} to {CASE_STATUSES[target]}."}
        )
    before = case.status
    case.status = target
    now = utcnow()
    case.status_changed_at = now
    if target == "submitted" and before in ("draft", "returned", "closed"):
        case.submitted_at = now
    return {"status": [before, target]}
