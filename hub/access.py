"""Who may do what: the acting user and the permission checks every service calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, true

from hub.errors import PermissionDenied
from hub.vocab import OWNER_ROLES

CLINICAL_ROLES = frozenset({"pcp", "specialist", "chair"})
HUB_ROLES = frozenset({"specialist", "chair"})
# Statuses the hub (specialists, chairs) sees: everything a PCP has submitted.
HUB_VISIBLE_STATUSES = ("submitted", "triaged", "scheduled", "discussed", "returned", "closed")


@dataclass(frozen=True)
class Actor:
    """The logged-in user as services see it (a plain value, safe to keep in session state)."""

    user_id: int
    username: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    practice_id: int | None = None
    discipline: str | None = None

    def has(self, role: str) -> bool:
        """True if the user holds the role."""
        return role in self.roles

    @property
    def is_clinical(self) -> bool:
        """True if the user holds any clinical role (and so may see patient data)."""
        return bool(self.roles & CLINICAL_ROLES)

    @property
    def is_hub_member(self) -> bool:
        """True for specialists and chairs, who see all cases submitted to the hub."""
        return bool(self.roles & HUB_ROLES)


def require_role(actor: Actor, *roles: str) -> None:
    """Raise PermissionDenied unless the actor holds one of the roles."""
    if not any(actor.has(r) for r in roles):
        raise PermissionDenied(f"This needs the role {' or '.join(roles)}.")


def require_clinical(actor: Actor) -> None:
    """Raise PermissionDenied unless the actor may see patient data."""
    if not actor.is_clinical:
        raise PermissionDenied("Patient data is visible only to clinical roles (PCP, specialist, chair).")


def case_scope(actor: Actor, case_table) -> ColumnElement[bool]:
    """SQL condition selecting the cases the actor may see.

    Hub members see every case that has been submitted; a PCP sees all of their own practice's
    cases (drafts included); anyone else sees none.
    """
    conditions = []
    if actor.is_hub_member:
        conditions.append(case_table.status.in_(HUB_VISIBLE_STATUSES))
    if actor.has("pcp") and actor.practice_id is not None:
        conditions.append(case_table.practice_id == actor.practice_id)
    if not conditions:
        return false()
    if len(conditions) == 1:
        return conditions[0]
    from sqlalchemy import or_

    return or_(*conditions)


def can_see_case(actor: Actor, practice_id: int, status: str) -> bool:
    """Python twin of case_scope for one case already loaded."""
    if actor.is_hub_member and status in HUB_VISIBLE_STATUSES:
        return True
    return actor.has("pcp") and actor.practice_id is not None and actor.practice_id == practice_id


def can_edit_case(actor: Actor, practice_id: int) -> bool:
    """A PCP edits their own practice's cases (submission, treatments, assessments, reviews)."""
    return actor.has("pcp") and actor.practice_id is not None and actor.practice_id == practice_id


def can_comment(actor: Actor, practice_id: int, status: str) -> bool:
    """Anyone who may see a case may join its discussion thread."""
    return can_see_case(actor, practice_id, status)


def patient_scope(actor: Actor, patient_table) -> ColumnElement[bool]:
    """SQL condition selecting the patients whose records a PCP may pick for a new case."""
    if actor.has("pcp") and actor.practice_id is not None:
        return patient_table.practice_id == actor.practice_id
    return false() if not actor.is_hub_member else true()


def owner_label(s, role: str | None, user_id: int | None, case) -> str:
    """Who owns an action, in words: the named user, the case's GP, or the owning role."""
    if user_id is not None:
        from db.models import User

        u = s.get(User, user_id)
        return u.name if u else f"user {user_id}"
    if role == "pcp":
        return f"GP ({case.referrer.name})"
    return OWNER_ROLES.get(role or "", role or "")

