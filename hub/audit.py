"""Audit trail: every write appends an AuditEvent in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent, User
from hub.access import Actor, require_role


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return value


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event to the session's transaction (actor None means the system)."""
    event = AuditEvent(
        actor_id=actor.user_id if actor else None,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes=_jsonable(changes or {}),
    )
    session.add(event)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Fields whose value changed, as {field: [old, new]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def recent_events(session_factory, actor: Actor, entity: str | None = None, entity_id: Any = None, limit: int = 200):
    """Latest audit events (admin only), newest first, as plain dicts."""
    require_role(actor, "admin")
    with session_factory() as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if entity:
            q = q.where(AuditEvent.entity == entity)
        if entity_id is not None:
            q = q.where(AuditEvent.entity_id == str(entity_id))
        events = list(s.scalars(q))
        ids = {e.actor_id for e in events if e.actor_id is not None}
        names = dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
        return [
            {"at": e.at, "actor_id": e.actor_id, "actor": names.get(e.actor_id, "system"), "action": e.action,
             "entity": e.entity, "entity_id": e.entity_id, "changes": e.changes}
            for e in events
        ]
