"""Configurable values stored in the settings table, with validation and an audit trail."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Setting, utcnow
from hub import audit, events
from hub.access import Actor, require_role
from hub.errors import ValidationError
from db.engine import SessionFactory


@dataclass(frozen=True)
class SettingSpec:
    """One configurable value: its default, allowed range and where the number comes from."""

    key: str
    label: str
    default: float | int
    minimum: float
    maximum: float
    integer: bool = True
    source: str = "DESIGN DEFAULT"
    group: str = "Security"


FOLLOW_THROUGH_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("relist.action_overdue_days", "Days an action may be overdue before the case is re-listed", 14, 0,
                365, group="Follow-through"),
)

INVITATION_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("invitations.expiry_days", "Days a patient's questionnaire link stays valid", 14, 1, 90,
                group="Patient invitations"),
    SettingSpec("invitations.max_failures_per_client", "Wrong or dead links one address may try in 15 minutes "
                "before it is refused", 10, 1, 1000, group="Patient invitations"),
    SettingSpec("invitations.max_failures_global", "Wrong or dead links all addresses together may try in 15 "
                "minutes before every link lookup is refused", 300, 10, 100000, group="Patient invitations"),
)

SECURITY_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("security.max_login_attempts", "Failed logins before an account is locked", 5, 1, 20),
    SettingSpec("security.cookie_expiry_days", "Days a login cookie stays valid", 0.5, 0.01, 7, integer=False),
)


def _priority_specs() -> tuple[SettingSpec, ...]:
    from hub.clinical.case_review import PRIORITY_WEIGHTS

    labels = {
        "priority.safety_alert": "Queue priority points for an open PHQ-9 item 9 safety alert",
        "priority.red_flag": "Queue priority points per red flag (e.g. opioid dose >= red threshold)",
        "priority.amber_flag": "Queue priority points per amber flag (inertia, disengagement, opioid amber)",
        "priority.risk_high": "Queue priority points for a high STarT risk band",
        "priority.risk_medium": "Queue priority points for a medium STarT risk band",
        "priority.per_week_waiting": "Queue priority points per week waiting since submission",
        "priority.max_waiting_weeks": "Most weeks of waiting that count towards priority",
    }
    return tuple(SettingSpec(k, labels[k], int(v) if float(v).is_integer() else v, 0, 1000,
                             integer=float(v).is_integer(), group="Queue priority")
                 for k, v in PRIORITY_WEIGHTS.items())


def all_specs() -> dict[str, SettingSpec]:
    """Every known setting by key: security, queue priority weights, clinical thresholds."""
    from hub.clinical import thresholds

    specs = {s.key: s for s in SECURITY_SPECS}
    specs.update({s.key: s for s in _priority_specs()})
    specs.update({s.key: s for s in FOLLOW_THROUGH_SPECS})
    specs.update({s.key: s for s in INVITATION_SPECS})
    for t in thresholds.THRESHOLDS:
        specs[t.key] = SettingSpec(
            key=t.key,
            label=f"{t.description} ({t.unit})" if t.unit else t.description,
            default=t.default,
            minimum=t.min,
            maximum=t.max,
            integer=t.integer,
            source=f"{t.source_label}: {t.source_text}" if t.source_text else t.source_label,
            group="Clinical thresholds",
        )
    return specs


def load(session: Session) -> dict[str, float | int]:
    """All settings with stored values over defaults."""
    values = {k: s.default for k, s in all_specs().items()}
    for row in session.scalars(select(Setting)):
        if row.key in values and row.value is not None:
            values[row.key] = row.value
    return values


def get(session: Session, key: str):
    """One setting's value (stored or default)."""
    spec = next((s for s in SECURITY_SPECS if s.key == key), None) or all_specs()[key]
    row = session.get(Setting, key)
    return spec.default if row is None or row.value is None else row.value


def validate(key: str, raw) -> float | int:
    """Parse and range-check a value for a setting; raises ValidationError saying what to fix."""
    specs = all_specs()
    if key not in specs:
        raise ValidationError({key: "Unknown setting."})
    spec = specs[key]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError({key: f"{spec.label}: enter a number."}) from None
    if not math.isfinite(value):  # 'inf', 'nan', '1e999'
        raise ValidationError({key: f"{spec.label}: enter a number."})
    if spec.integer:
        if value != int(value):
            raise ValidationError({key: f"{spec.label}: enter a whole number."})
        value = int(value)
    if not (spec.minimum <= value <= spec.maximum):
        raise ValidationError({key: f"{spec.label}: must be between {spec.minimum:g} and {spec.maximum:g}."})
    return value


def update(session_factory: SessionFactory, actor: Actor, key: str, raw) -> float | int:
    """Admin changes a setting; validated, stored and audited in one transaction."""
    require_role(actor, "admin")
    value = validate(key, raw)
    with session_factory.begin() as s:
        row = s.get(Setting, key)
        old = all_specs()[key].default if row is None else row.value
        if row is None:
            row = Setting(key=key, value=value, updated_by=actor.user_id)
            s.add(row)
        else:
            row.value = value
            row.updated_at = utcnow()
            row.updated_by = actor.user_id
        audit.record(s, actor, "setting.update", "setting", key, {"value": [old, value]})
    if not key.startswith(("security.", "invitations.")):
        # Thresholds and weights change flags and priority of every case: hub.flags subscribes and marks them
        # stale; the worker (hub.worker) recomputes. Settings never imports flags (no cycle, no thread here).
        events.publish("settings.changed", session_factory=session_factory, key=key)
    return value


def listing(session_factory: SessionFactory) -> list[dict]:
    """Every setting with its value, default, range and source, for the admin and About pages."""
    with session_factory() as s:
        values = load(s)
    return [
        {"key": k, "group": spec.group, "setting": spec.label, "value": values[k], "default": spec.default,
         "minimum": spec.minimum, "maximum": spec.maximum, "source": spec.source}
        for k, spec in all_specs().items()
    ]
