"""User administration (admin only): create, deactivate, roles, discipline, practice, passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from db.models import Practice, User, UserRole, utcnow
from hub import audit
from hub.access import Actor, require_role
from hub.auth import check_password, hash_password, password_problem
from hub.errors import NotFound, PermissionDenied, ValidationError
from hub.text import check_text, clean_text
from hub.vocab import DISCIPLINES, ROLES
from db.engine import SessionFactory

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,59}$")


@dataclass(frozen=True)
class UserRow:
    """A user as the admin page lists it."""

    id: int
    username: str
    name: str
    email: str | None
    roles: tuple[str, ...]
    discipline: str | None
    practice_id: int | None
    practice: str | None
    active: bool
    locked: bool
    failed_login_attempts: int


def _validate(username: str | None, name: str, roles: list[str], discipline: str | None,
              practice_id: int | None, password: str | None, s) -> dict[str, str]:
    errors: dict[str, str] = {}
    if username is not None:
        if not USERNAME_RE.match(username):
            errors["username"] = ("Use 3-60 lower-case letters, digits, dots, hyphens or underscores, "
                                  "starting with a letter.")
        elif s.scalar(select(User.id).where(User.username == username)) is not None:
            errors["username"] = f"The username '{username}' is taken."
    name = check_text(errors, "name", name, "name", label="person's name")
    if not name.strip() and "name" not in errors:
        errors["name"] = "Enter the person's name."
    if not roles:
        errors["roles"] = "Choose at least one role."
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        errors["roles"] = f"Unknown role(s): {', '.join(unknown)}."
    if "pcp" in roles and practice_id is None:
        errors["practice_id"] = "A PCP must belong to a practice."
    if practice_id is not None and s.get(Practice, practice_id) is None:
        errors["practice_id"] = "Unknown practice."
    if "specialist" in roles and not discipline:
        errors["discipline"] = "A specialist must have a discipline."
    if discipline and discipline not in DISCIPLINES:
        errors["discipline"] = "Unknown discipline."
    if password is not None:
        problem = password_problem(password)
        if problem:
            errors["password"] = problem
    return errors


def list_users(session_factory: SessionFactory, actor: Actor) -> list[UserRow]:
    """All users, for the admin page."""
    require_role(actor, "admin")
    with session_factory() as s:
        return [
            UserRow(u.id, u.username, u.name, u.email, tuple(sorted(r.role for r in u.roles)), u.discipline,
                    u.practice_id, u.practice.name if u.practice else None, u.active, u.locked,
                    u.failed_login_attempts)
            for u in s.scalars(select(User).order_by(User.username))
        ]


def list_practices(session_factory: SessionFactory) -> list[tuple[int, str]]:
    """(id, name) of every practice."""
    with session_factory() as s:
        return [(p.id, p.name) for p in s.scalars(select(Practice).order_by(Practice.name))]


def create_user(session_factory: SessionFactory, actor: Actor, *, username: str, name: str, password: str,
                roles: list[str],
                email: str | None = None, discipline: str | None = None, practice_id: int | None = None) -> int:
    """Admin creates a user; returns the new id."""
    require_role(actor, "admin")
    username = (username or "").strip().lower()
    email = clean_text(email, "short", field="email", label="email address")
    discipline = discipline or None
    with session_factory.begin() as s:
        errors = _validate(username, name or "", roles, discipline, practice_id, password, s)
        if errors:
            raise ValidationError(errors)
        user = User(username=username, name=name.strip(), email=(email or "").strip() or None,
                    password_hash=hash_password(password), discipline=discipline, practice_id=practice_id,
                    roles=[UserRole(role=r) for r in sorted(set(roles))])
        s.add(user)
        s.flush()
        audit.record(s, actor, "user.create", "user", user.id,
                     {"username": username, "roles": sorted(set(roles)), "discipline": discipline,
                      "practice_id": practice_id})
        return user.id


def update_user(session_factory: SessionFactory, actor: Actor, user_id: int, *, name: str, roles: list[str],
                discipline: str | None, practice_id: int | None, email: str | None = None) -> None:
    """Admin changes a user's name, roles, discipline or practice."""
    require_role(actor, "admin")
    email = clean_text(email, "short", field="email", label="email address")
    discipline = discipline or None
    with session_factory.begin() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        errors = _validate(None, name or "", roles, discipline, practice_id, None, s)
        if user.id == actor.user_id and "admin" not in roles:
            errors["roles"] = "You cannot remove your own admin role."
        if errors:
            raise ValidationError(errors)
        before = {"name": user.name, "roles": sorted(r.role for r in user.roles), "discipline": user.discipline,
                  "practice_id": user.practice_id, "email": user.email}
        user.name = name.strip()
        user.email = (email or "").strip() or None
        user.discipline = discipline
        user.practice_id = practice_id
        user.roles = [UserRole(role=r) for r in sorted(set(roles))]
        after = {"name": user.name, "roles": sorted(set(roles)), "discipline": discipline,
                 "practice_id": practice_id, "email": user.email}
        if before["roles"] != after["roles"] or before["practice_id"] != practice_id:
            user.sessions_valid_after = utcnow()
        audit.record(s, actor, "user.update", "user", user.id, audit.diff(before, after))


def set_active(session_factory: SessionFactory, actor: Actor, user_id: int, active: bool) -> None:
    """Admin deactivates (or reactivates) a user; deactivation ends their sessions."""
    require_role(actor, "admin")
    if user_id == actor.user_id and not active:
        raise PermissionDenied("You cannot deactivate your own account.")
    with session_factory.begin() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        user.active = active
        user.sessions_valid_after = utcnow()
        audit.record(s, actor, "user.activate" if active else "user.deactivate", "user", user.id)


def reset_password(session_factory: SessionFactory, actor: Actor, user_id: int, new_password: str) -> None:
    """Admin sets a new password; this also unlocks the account and ends existing sessions."""
    require_role(actor, "admin")
    problem = password_problem(new_password or "")
    if problem:
        raise ValidationError({"password": problem})
    with session_factory.begin() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        user.password_hash = hash_password(new_password)
        user.locked = False
        user.failed_login_attempts = 0
        user.sessions_valid_after = utcnow()
        audit.record(s, actor, "user.reset_password", "user", user.id, {"unlocked": True})


def change_own_password(session_factory: SessionFactory, actor: Actor, current: str, new_password: str) -> None:
    """A user changes their own password after confirming the current one."""
    problem = password_problem(new_password or "")
    with session_factory.begin() as s:
        user = s.get(User, actor.user_id)
        if user is None:
            raise NotFound("No such user.")
        if not check_password(current or "", user.password_hash):
            raise ValidationError({"current": "The current password is not correct."})
        if problem:
            raise ValidationError({"password": problem})
        user.password_hash = hash_password(new_password)
        user.sessions_valid_after = utcnow()
        audit.record(s, actor, "user.change_password", "user", user.id)


ODS_GP_PRACTICE_RE = re.compile(r"^[A-Z][0-9]{5}$")


def set_practice_ods_code(session_factory: SessionFactory, actor: Actor, practice_id: int, ods_code: str) -> str:
    """Admin records a practice's ODS code (a letter and five digits for a GP practice; letters print it).
    Returns the stored code."""
    require_role(actor, "admin")
    code = "".join((ods_code or "").split()).upper()
    if not ODS_GP_PRACTICE_RE.match(code):
        raise ValidationError({"ods_code": "Enter the practice's ODS code: one letter and five digits, e.g. A81001."})
    with session_factory.begin() as s:
        practice = s.get(Practice, practice_id)
        if practice is None:
            raise ValidationError({"practice": "Choose a practice."})
        before = practice.ods_code
        practice.ods_code = code
        audit.record(s, actor, "practice.ods_code", "practice", practice.id, {"ods_code": [before, code]})
    return code
