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
