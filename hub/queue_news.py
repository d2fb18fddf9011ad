"""What is new in the case queue for one user: cases submitted since they last looked, and (for a chair)
how many cases await triage. The user's last look is stored on the user (user_account.last_seen_queue_at)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from db.models import Case, User, utcnow
from hub import audit
from hub.access import Actor, case_scope
from hub.errors import PermissionDenied
from db.engine import SessionFactory

FIRST_LOOK_DAYS = 7  # never looked before: the last week's submissions count as new
NEW_MARKED = 500  # ids returned to mark rows (newest first); the page links the first few


@dataclass(frozen=True)
class QueueNews:
    """New cases since `since` (the ids of the latest NEW_MARKED, newest first) and cases awaiting triage."""

    since: datetime
    new_count: int
    new_case_ids: tuple[int, ...]
    awaiting_triage: int | None  # None unless the actor is a chair


def news(session_factory: SessionFactory, actor: Actor, since: datetime | None = None,
         now: datetime | None = None) -> QueueNews:
    """New submissions in the actor's scope since `since` (default: the user's last look at the queue)."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    now = now or utcnow()
    with session_factory() as s:
        if since is None:
            since = s.scalar(select(User.last_seen_queue_at).where(User.id == actor.user_id)) \
                or now - timedelta(days=FIRST_LOOK_DAYS)
        where = (case_scope(actor, Case), Case.submitted_at.is_not(None), Case.submitted_at > since)
        count = int(s.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
        ids = tuple(s.scalars(select(Case.id).where(*where).order_by(Case.submitted_at.desc(), Case.id.desc())
                              .limit(NEW_MARKED)))
        triage = None
        if actor.has("chair"):
            triage = int(s.scalar(select(func.count()).select_from(Case).where(Case.status == "submitted")) or 0)
        return QueueNews(since, count, ids, triage)


def mark_seen(session_factory: SessionFactory, actor: Actor, now: datetime | None = None) -> datetime | None:
    """Record that the user looked at the queue now; returns their previous look. Audited only when there
    was something new to see (a look at an unchanged queue is not an event worth a line in the trail)."""
    now = now or utcnow()
    seen = news(session_factory, actor, now=now)
    with session_factory.begin() as s:
        user = s.get_one(User, actor.user_id)
        before = user.last_seen_queue_at
        user.last_seen_queue_at = now
        if seen.new_count:
            audit.record(s, actor, "queue.seen", "user", user.id, {"new_cases": seen.new_count})
        return before
