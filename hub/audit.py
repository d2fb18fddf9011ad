"""Audit trail: every write (and every read of a case, letter or download) appends an AuditEvent in the
same transaction.

The trail is append-only and tamper-evident: the events form one hash chain per database. Each event
carries its position (`seq`), the hash of the event before it (`prev_hash`) and its own hash, SHA-256
over the previous hash and the canonical JSON of the event. `record` queues the event on the session;
when the session commits, the queued events are chained and inserted as the transaction's last step,
under the lock of the single `audit_chain` row (an UPDATE of that row: a row lock on PostgreSQL, the
database write lock on SQLite), so concurrent transactions append one after another and no two events
share a position. Taking that lock last keeps it out of any lock cycle with the rows a service changed.

`verify` walks the chain and reports the first broken link; `python -m hub verify-audit` runs it.
On PostgreSQL a trigger (migration 0008) refuses UPDATE and DELETE on audit rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.models import AuditChain, AuditEvent, User, utcnow
from hub.access import Actor, require_role
from db.engine import SessionFactory

GENESIS_HASH = "0" * 64
_PENDING = "hub_audit_pending"
# Entities whose changes hold no clinical data: an admin without a clinical role sees their values.
ADMIN_ENTITIES = frozenset({"user", "setting", "demo", "audit"})
# Actions that change nothing (reads, logins, exports, system flag bookkeeping): `demo --reset` may wipe
# a demo database holding these, never one where somebody wrote data after the seed.
READ_ACTIONS_PREFIXES = ("login.", "user.locked", "flag.", "view.", "download.", "demo.")
READ_ACTION_SUFFIXES = (".view", ".download", ".export")


def jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def canonical(seq: int, at: datetime, actor_id: int | None, action: str, entity: str, entity_id: str | None,
              changes: Any) -> bytes:
    """The canonical JSON of an event's content (sorted keys, no spaces, UTF-8)."""
    body = {"seq": int(seq), "at": at.isoformat(), "actor_id": actor_id, "action": action, "entity": entity,
            "entity_id": entity_id, "changes": changes}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(prev_hash: str, seq: int, at: datetime, actor_id: int | None, action: str, entity: str,
               entity_id: str | None, changes: Any) -> str:
    """SHA-256 (hex) over the previous event's hash and this event's canonical JSON."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(seq, at, actor_id, action, entity, entity_id, changes))
    return h.hexdigest()


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event to the session's transaction (actor None means the system). The event is
    chained and inserted when the transaction commits (not visible to queries before that)."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.user_id if actor else None,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes=jsonable(changes or {}),
    )
    session.info.setdefault(_PENDING, []).append(event)
    return event


def record_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue many events given as dicts (at, actor_id, action, entity, entity_id, changes)."""
    pending = session.info.setdefault(_PENDING, [])
    for r in rows:
        pending.append(AuditEvent(at=r.get("at") or utcnow(), actor_id=r.get("actor_id"), action=r["action"],
                                  entity=r["entity"], entity_id=None if r.get("entity_id") is None
                                  else str(r["entity_id"]), changes=jsonable(r.get("changes") or {})))


def pending(session: Session) -> list[AuditEvent]:
    """Events recorded in this session's open transaction, not yet appended (they are at commit)."""
    return list(session.info.get(_PENDING, ()))


def _append_pending(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    session.flush()  # the service's own writes first: the chain lock is the transaction's last lock
    head = session.execute(
        update(AuditChain).where(AuditChain.id == 1).values(seq=AuditChain.seq)
        .returning(AuditChain.seq, AuditChain.last_hash)
    ).first()
    if head is None:
        raise RuntimeError("The audit chain head (audit_chain row 1) is missing: run `python -m hub migrate`.")
    seq, prev = int(head[0]), head[1]
    rows = []
    for e in pending:
        seq += 1
        digest = event_hash(prev, seq, e.at, e.actor_id, e.action, e.entity, e.entity_id, e.changes)
        rows.append({"seq": seq, "at": e.at, "actor_id": e.actor_id, "action": e.action, "entity": e.entity,
                     "entity_id": e.entity_id, "changes": e.changes, "prev_hash": prev, "hash": digest})
        prev = digest
    for i in range(0, len(rows), 5000):
        session.execute(insert(AuditEvent), rows[i:i + 5000])
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(seq=seq, last_hash=prev))


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _append_pending(session)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Fields whose value changed, as {field: [old, new]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a chain verification: ok, events checked, and the first broken link if any."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""

    def message(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events verified."
        where = f"event #{self.broken_seq}" + (f" (row id {self.broken_event_id})" if self.broken_event_id else "")
        return f"Audit chain BROKEN at {where}: {self.reason}. {self.checked} events before it verified."


def verify_connection(session: Session, batch: int = 20_000) -> ChainReport:
    """Walk the chain in order and report the first broken link (edited, deleted, inserted or reordered
    events, or a head that does not match the last event)."""
    cols = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.action,
            AuditEvent.entity, AuditEvent.entity_id, AuditEvent.changes, AuditEvent.prev_hash, AuditEvent.hash)
    prev, expected_seq, checked = GENESIS_HASH, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(select(*cols).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq)
                               .limit(batch)).all()
        if not rows:
            break
        for eid, seq, at, actor_id, action, entity, entity_id, changes, prev_hash, digest in rows:
            if seq != expected_seq:
                return ChainReport(False, checked, expected_seq, None,
                                   f"event #{expected_seq} is missing (next is #{seq})")
            if prev_hash != prev:
                return ChainReport(False, checked, seq, eid, "its previous-hash does not match the event before it")
            if event_hash(prev, seq, at, actor_id, action, entity, entity_id, changes) != digest:
                return ChainReport(False, checked, seq, eid, "its content does not match its hash (edited)")
            prev, expected_seq, checked, last_seq = digest, seq + 1, checked + 1, seq
    unchained = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
    if unchained:
        return ChainReport(False, checked, None, None, f"{unchained} events carry no chain position")
    head = session.execute(select(AuditChain.seq, AuditChain.last_hash).where(AuditChain.id == 1)).first()
    if head is None:
        return ChainReport(False, checked, None, None, "the chain head row is missing")
    if int(head[0]) != last_seq or head[1] != prev:
        return ChainReport(False, checked, last_seq + 1, None,
                           f"the chain head says {head[0]} events but {last_seq} are present "
                           "(events at the end were deleted, or the head was edited)")
    return ChainReport(True, checked)


def verify(session_factory: SessionFactory) -> ChainReport:
    """Verify the whole audit chain of this database."""
    with session_factory() as s:
        return verify_connection(s)


def verify_for_admin(session_factory: SessionFactory, actor: Actor) -> ChainReport:
    """The chain verification for the admin page (admin only)."""
    require_role(actor, "admin")
    return verify(session_factory)


def is_read_action(action: str) -> bool:
    """True for events that record a read, a login or system bookkeeping rather than a change of data."""
    return action.startswith(READ_ACTIONS_PREFIXES) or action.endswith(READ_ACTION_SUFFIXES)


# ----------------------------------------------------------------------------- the admin's view


def _field_name(key: Any) -> str:
    return str(key).replace("_", " ")


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def describe_changes(changes: Any, entity: str, clinical: bool) -> str:
    """What changed, as text a person reads ("failed login attempts: 1; locked: true"): values for clinical
    users and for administrative entities, otherwise the field names only (an admin without a clinical role
    never sees clinical values)."""
    if not isinstance(changes, dict):
        return _value_text(changes) if (clinical or entity in ADMIN_ENTITIES) and changes is not None else "—"
    if not changes:
        return "—"
    if clinical or entity in ADMIN_ENTITIES:
        return "; ".join(f"{_field_name(k)}: {_value_text(v)}" for k, v in changes.items())
    return ", ".join(_field_name(k) for k in sorted(changes))


def recent_events(session_factory: SessionFactory, actor: Actor, entity: str | None = None, entity_id: Any = None,
                  limit: int = 200):
    """Latest audit events (admin only), newest first, as plain dicts. `changes` holds the values only when
    the admin also holds a clinical role or the entity is administrative; otherwise `changes` is None and
    `what` lists the field names."""
    require_role(actor, "admin")
    clinical = actor.is_clinical
    with session_factory() as s:
        q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
        if entity:
            q = q.where(AuditEvent.entity == entity)
        if entity_id is not None:
            q = q.where(AuditEvent.entity_id == str(entity_id))
        events = list(s.scalars(q))
        ids = {e.actor_id for e in events if e.actor_id is not None}
        names = dict(s.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
        out = []
        for e in events:
            shown = clinical or e.entity in ADMIN_ENTITIES
            who = names.get(e.actor_id, "system") if e.actor_id is not None else "system"
            out.append({"seq": e.seq, "at": e.at, "actor_id": e.actor_id, "actor": who,
                        "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
                        "changes": e.changes if shown else None,
                        "what": describe_changes(e.changes, e.entity, clinical)})
        return out
