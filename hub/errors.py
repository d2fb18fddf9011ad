"""Typed errors raised by hub services; pages turn them into clear messages."""

from __future__ import annotations


class HubError(Exception):
    """Base class of the hub's domain errors."""


class PermissionDenied(HubError):
    """The acting user may not see or change this."""


class NotFound(HubError):
    """The record does not exist (or is outside the user's scope, which is reported the same way)."""


class ValidationError(HubError):
    """Input was rejected; `errors` maps each field to a message that says what to fix."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class EditConflict(HubError):
    """Someone else saved this record after the form was shown; nothing was overwritten."""

    def __init__(self, message: str, changed_by: str | None = None, changed_at=None, changes: dict | None = None):
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.changes = changes or {}
        super().__init__(message)


def is_unique_violation(exc: BaseException) -> bool:
    """True when a database IntegrityError is a unique-key violation (two writers inserting the same row)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return "UNIQUE constraint failed" in str(orig or exc)


def edit_conflict_on_race(message: str):
    """Decorator for a service that saves with optimistic locking: a write race lost at commit time
    (StaleDataError from the version column, or a unique-key violation when two first saves insert the
    same row) becomes the EditConflict message; the transaction was rolled back, nothing was written."""
    import functools

    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except StaleDataError as exc:
                raise EditConflict(message) from exc
            except IntegrityError as exc:
                if is_unique_violation(exc):
                    raise EditConflict(message) from exc
                raise
        return inner

    return wrap
