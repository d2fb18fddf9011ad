"""The shared case queue: cases waiting for the hub, filtered and sorted in the database, paged by keyset
(a cursor, not an offset) with a bounded count, and the open safety alerts. Moved out of hub.cases, which
re-exports its names."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, TextClause, and_, false, func, or_, select, text, true

from db.engine import SessionFactory, sqlite_index_hint
from db.models import (
    OPEN_CASE_STATUSES,
    OPEN_CASES_SQL,
    Case,
    CaseFlag,
    Patient,
    Practice,
)
from hub import flags
from hub.access import Actor, case_scope
from hub.errors import PermissionDenied, ValidationError
from hub.vocab import CASE_STATUSES, CONDITIONS


QUEUE_SORTS = {
    "priority": "Priority (safety, flags, risk, waiting)",
    "waiting": "Longest waiting first",
    "newest": "Most recently submitted first",
    "pain": "Highest latest pain first",
}


@dataclass(frozen=True)
class QueuePage:
    """One page of the case queue. `total` is exact when `total_exact`; otherwise it is PostgreSQL's
    estimate, or on SQLite the threshold (the page says "more than"). `next_after` is the keyset cursor
    of the next page (None on the last page): pass it as `after` to read the next page."""

    rows: pd.DataFrame
    total: int
    page: int
    page_size: int
    total_exact: bool = True
    next_after: tuple | None = None
    total_estimated: bool = False

    @property
    def pages(self) -> int:
        """Number of pages for the current filters (from the estimate when the count is not exact)."""
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.next_after is not None

    @property
    def total_text(self) -> str:
        if self.total_exact:
            return f"{self.total:,} case(s)"
        if self.total_estimated:
            return f"about {self.total:,} cases (estimate)"
        return f"more than {COUNT_EXACT_UP_TO:,} cases"


QUEUE_COLUMNS = ["case_id", "priority", "patient", "age", "practice", "condition", "status", "days_waiting",
                 "latest_pain", "flags", "why"]
# Counts up to this are exact; beyond it PostgreSQL's planner estimate is shown (SQLite says "more than"),
# so that the count costs the same at 10,000 cases as at 10 million.
COUNT_EXACT_UP_TO = 2000


def _queue_scope(actor: Actor, statuses: list[str] | None) -> list:
    """The queue's scope and status filter as few, index-friendly conditions (one status IN list). The
    hub's default statuses are written as the partial indexes' predicate, with literal values, so that
    SQLite and PostgreSQL (generic plans included) can use those indexes."""
    from hub.access import HUB_VISIBLE_STATUSES

    if actor.is_hub_member and not actor.has("pcp"):
        visible = [st for st in HUB_VISIBLE_STATUSES if not statuses or st in statuses]
        if set(visible) == set(OPEN_CASE_STATUSES):
            return [text(OPEN_CASES_SQL)]
        return [Case.status.in_(visible)]
    where: list[ColumnElement[bool] | TextClause] = [case_scope(actor, Case)]
    if statuses:
        where.append(text(OPEN_CASES_SQL) if set(statuses) == set(OPEN_CASE_STATUSES)
                     else Case.status.in_(statuses))
    return where


def _order_spec(sort: str, drafts_possible: bool) -> list[tuple[Any, bool, bool]]:
    """(column, descending, may be NULL and sorts last) for each key of a sort; the last key is unique."""
    specs: dict[str, list[tuple[Any, bool, bool]]] = {
        "priority": [(Case.priority, True, False), (Case.submitted_at, False, drafts_possible),
                     (Case.id, False, False)],
        "waiting": [(Case.submitted_at, False, drafts_possible), (Case.id, False, False)],
        "newest": [(Case.submitted_at, True, drafts_possible), (Case.id, True, False)],
        "pain": [(Case.latest_pain, True, True), (Case.submitted_at, False, drafts_possible), (Case.id, False, False)],
    }
    spec = specs.get(sort)
    if spec is None:
        raise ValidationError({"sort": f"Unknown sort '{sort}'."})
    return spec


def _order_by(spec) -> list:
    out = []
    for col, desc, nullable in spec:
        o = col.desc() if desc else col.asc()
        out.append(o.nulls_last() if nullable else o)
    return out


def _after(spec, cursor: tuple) -> Any:
    """Rows strictly after `cursor` in the order of `spec` (keyset pagination; NULLs sort last), plus a
    plain range on the first key so that the index is entered at the cursor rather than read from its start."""
    def rest(i: int):
        if i == len(spec):
            return false()
        col, desc, nullable = spec[i]
        v = cursor[i]
        if v is None:  # in the NULL group, which comes last: only equal (NULL) rows can follow
            return and_(col.is_(None), rest(i + 1))
        gt = col < v if desc else col > v
        if nullable:
            gt = or_(gt, col.is_(None))
        return or_(gt, and_(col == v, rest(i + 1)))

    col, desc, nullable = spec[0]
    v = cursor[0]
    cond = rest(0)
    if v is not None and not nullable:
        cond = and_(col <= v if desc else col >= v, cond)
    return cond


def _sqlite_index(actor: Actor, where: list, sort: str, conditions, practice_ids) -> str | None:
    """The index that serves this queue query in order. SQLite without statistics (as the app runs it)
    prefers a status-prefixed index and sorts every matching case; naming the index makes it walk the
    index in order and stop after the page. PostgreSQL's planner chooses by itself."""
    open_only = any(isinstance(w, TextClause) and w.text == OPEN_CASES_SQL for w in where)
    if actor.is_hub_member and not actor.has("pcp"):
        if not open_only:
            return None
        if sort == "priority":
            if conditions and not practice_ids:
                return "ix_hub_case_open_condition"
            if practice_ids and not conditions:
                return "ix_hub_case_open_practice"
            return "ix_hub_case_open_priority"
        return "ix_hub_case_open_pain" if sort == "pain" else "ix_hub_case_open_submitted"
    if actor.has("pcp") and not actor.is_hub_member and actor.practice_id is not None:
        return {"priority": "ix_hub_case_practice_priority", "pain": "ix_hub_case_practice_pain"}.get(
            sort, "ix_hub_case_practice_submitted")
    return None


def queue(session_factory: SessionFactory, actor: Actor, *, statuses: list[str] | None = None,
          conditions: list[str] | None = None,
          practice_ids: list[int] | None = None, flag_codes: list[str] | None = None, sort: str = "priority",
          page: int = 1, page_size: int = 25, today: date | None = None,
          known_total: int | None = None, after: tuple | None = None) -> QueuePage:
    """The case queue in the actor's scope: filtered, sorted and paged in SQL. `after` is the previous
    page's `next_after` (keyset pagination: every page costs the same however deep); without it `page`
    is read with OFFSET. `known_total` skips the COUNT when the caller counted the same filters moments
    ago (paging through one result set)."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    today = today or date.today()
    page = max(1, int(page))
    page_size = max(1, min(200, int(page_size)))
    where = _queue_scope(actor, statuses)
    if conditions:
        where.append(Case.condition.in_(conditions))
    if practice_ids:
        where.append(Case.practice_id.in_(practice_ids))
    # A flag filter whose scope and other filters case_flag's copies can answer reads case_flag alone.
    plan = _flag_plan(actor, statuses, conditions, practice_ids, sort) if flag_codes else None
    if flag_codes:
        where.append(Case.id.in_(select(CaseFlag.case_id).where(CaseFlag.code.in_(flag_codes))))
    # Drafts (no submitted_at) can only appear for a PCP; without them every sort reads an index in order.
    drafts_possible = actor.has("pcp") and (not statuses or "draft" in statuses)
    spec = _order_spec(sort, drafts_possible)
    order = _order_by(spec)
    with session_factory() as s:
        total, exact, estimated = (known_total, True, False) if known_total is not None else _count(
            s, where, flag_codes, plan)
        # The page's ids come from the case table alone (an index walk that stops after the page);
        # only those rows are then joined to patient and practice.
        if plan is not None:
            page_ids = _flag_page_ids(s, plan, spec, sorted(set(flag_codes or [])), after,
                                      (page - 1) * page_size, page_size + 1)
        else:
            ids_q = select(Case.id).where(*where).order_by(*order).limit(page_size + 1)
            index = _sqlite_index(actor, where, sort, conditions, practice_ids)
            if flag_codes and exact and total <= COUNT_EXACT_UP_TO:
                # Few flagged cases: look them up by id and sort those, rather than walking the sort's index
                # past every unflagged case (a rare flag among 100,000 cases).
                index = "NOT INDEXED"
            if index:
                ids_q = ids_q.prefix_with(sqlite_index_hint(index), dialect="sqlite")
            ids_q = ids_q.where(_after(spec, after)) if after is not None else ids_q.offset((page - 1) * page_size)
            page_ids = list(s.scalars(ids_q))
        more = len(page_ids) > page_size
        page_ids = page_ids[:page_size]
        cols = [c for c, _, _ in spec]
        q = (
            select(Case.id, Patient.given_name, Patient.family_name, Patient.birth_year, Practice.name,
                   Case.condition, Case.status, Case.submitted_at, Case.latest_pain, Case.latest_pain_instrument,
                   Case.priority, Case.priority_reasons, *[c.label(f"k{i}") for i, c in enumerate(cols)])
            .join(Patient, Patient.id == Case.patient_id)
            .join(Practice, Practice.id == Case.practice_id)
            .where(Case.id.in_(page_ids))
            .order_by(*order)
        ) if page_ids else None
        records, last_key = [], None
        page_flags = flags.for_cases(s, page_ids)  # one query for the page's rows
        for r in (s.execute(q) if q is not None else ()):
            last_key = tuple(getattr(r, f"k{i}") for i in range(len(cols)))
            records.append({
                "case_id": r.id,
                "priority": round(float(r.priority or 0)),
                "patient": f"{r.given_name[:1]}{r.family_name[:1]}".upper(),
                "age": today.year - r.birth_year,
                "practice": r.name,
                "condition": CONDITIONS.get(r.condition, r.condition),
                "status": CASE_STATUSES.get(r.status, r.status),
                "days_waiting": (today - r.submitted_at.date()).days if r.submitted_at else None,
                "latest_pain": None if r.latest_pain is None else round(float(r.latest_pain), 1),
                "flags": ", ".join(f.label for f in page_flags[r.id] if f.is_open),
                "why": "; ".join(r.priority_reasons or []),
            })
    if not exact and total < (page - 1) * page_size + len(records):
        total = (page - 1) * page_size + len(records)  # an estimate never says fewer than were shown
    return QueuePage(pd.DataFrame.from_records(records, columns=QUEUE_COLUMNS), int(total or 0), page, page_size,
                     total_exact=exact, next_after=last_key if more else None, total_estimated=estimated)


@dataclass(frozen=True)
class _FlagPlan:
    """A flag-filtered queue read from case_flag alone: the queue's scope and filters as conditions on
    case_flag's copies of the case's keys, and the case_flag index that serves the sort in order."""

    conditions: tuple[Any, ...]
    index: str


def _flag_plan(actor: Actor, statuses: list[str] | None, conditions: list[str] | None,
               practice_ids: list[int] | None, sort: str) -> _FlagPlan | None:
    """How a flag filter reads case_flag alone (see _FlagPlan), or None when the scope or a filter has no copy
    on case_flag (then hub_case is read, with the flag as a condition).

    The hub's open queue reads (code, open, …) indexes, a PCP's queue over every status (code, practice, …)
    indexes; sorted by priority with one condition, (code, open or practice, condition, …)."""
    from hub.access import HUB_VISIBLE_STATUSES

    open_set = set(OPEN_CASE_STATUSES)
    where: list[Any] = []
    if actor.is_hub_member and not actor.has("pcp"):
        if {st for st in HUB_VISIBLE_STATUSES if not statuses or st in statuses} != open_set:
            return None
        where.append(CaseFlag.is_open == true())
        family = "open"
    elif actor.has("pcp") and not actor.is_hub_member and actor.practice_id is not None:
        where.append(CaseFlag.practice_id == actor.practice_id)
        if statuses and set(statuses) != open_set:
            return None
        if statuses:
            where.append(CaseFlag.is_open == true())
        family = "open" if statuses else "practice"
    else:
        return None
    one_condition = bool(conditions) and len(set(conditions or [])) == 1
    if conditions:
        where.append(CaseFlag.condition == conditions[0] if one_condition else CaseFlag.condition.in_(conditions))
    if practice_ids:
        where.append(CaseFlag.practice_id.in_(practice_ids))
    if family == "open":  # the hub's open queue, or a PCP's queue filtered to the open statuses
        if sort == "priority" and one_condition:
            index = "ix_case_flag_open_condition"
        else:
            index = "ix_case_flag_open_" + {"priority": "priority", "pain": "pain"}.get(sort, "submitted")
    else:
        index = {"priority": "ix_case_flag_practice_condition" if one_condition else "ix_case_flag_practice_priority",
                 "waiting": "ix_case_flag_practice_submitted", "pain": "ix_case_flag_practice_pain",
                 "newest": "ix_case_flag_practice_newest"}[sort]
    return _FlagPlan(tuple(where), index)


def _flag_order(fspec) -> list:
    """ORDER BY for case_flag's keys. A submission time that may be NULL (a PCP's drafts) sorts NULLs last as
    unsubmitted (the copy of submitted_at IS NULL), submitted_at: the order the practice indexes store, read in
    order on both backends (SQLite keeps NULLs first in an ascending index). A descending latest pain needs
    nothing: NULLs are last going down."""
    out = []
    for col, desc, nullable in fspec:
        if nullable and col is CaseFlag.submitted_at:
            out += [CaseFlag.unsubmitted.asc(), col.desc() if desc else col.asc()]
        else:
            o = col.desc() if desc else col.asc()
            out.append(o.nulls_last() if nullable else o)
    return out


def _flag_rows(plan: _FlagPlan, spec, code: str):
    """Flagged cases of one flag code in the sort's order, read from case_flag's copies of the sort keys (an
    index range scan: code, open or practice, then the keys); hub_case is not read."""
    fspec = [(_FLAG_KEYS[col.key], desc, nullable) for col, desc, nullable in spec]
    q = (select(*[c for c, _, _ in fspec]).select_from(CaseFlag).where(CaseFlag.code == code, *plan.conditions)
         .order_by(*_flag_order(fspec)))
    return q.prefix_with(sqlite_index_hint(plan.index), dialect="sqlite"), fspec


def _flag_page_ids(s, plan: _FlagPlan, spec, codes: list[str], after: tuple | None, offset: int,
                   limit: int) -> list[int]:
    """The page's case ids for a flag filter read from case_flag. One code: one ordered, limited index read.
    Several codes: the same read per code (each at most offset + limit rows), merged in the sort's order
    without duplicates (a case with two of the flags appears once)."""
    merged: dict[int, tuple[Any, ...]] = {}
    fspec = spec
    for code in codes:
        q, fspec = _flag_rows(plan, spec, code)
        if after is not None:
            q = q.where(_after(fspec, after))
        if len(codes) == 1:
            q = q.offset(offset).limit(limit) if after is None else q.limit(limit)
            return [r[-1] for r in s.execute(q)]
        q = q.limit(limit + (offset if after is None else 0))
        for r in s.execute(q):
            merged[r[-1]] = tuple(r)
    def compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
        return _compare_keys(fspec, a, b)

    rows = sorted(merged.values(), key=functools.cmp_to_key(compare))
    start = offset if after is None else 0
    return [r[-1] for r in rows[start:start + limit]]


def _compare_keys(spec, a: tuple, b: tuple) -> int:
    """Compare two rows of sort keys as the SQL ORDER BY of `spec` does (NULLs last in either direction)."""
    for (_, desc, _), x, y in zip(spec, a, b):
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1
        return (-1 if x > y else 1) if desc else (-1 if x < y else 1)
    return 0


_FLAG_KEYS = {"priority": CaseFlag.priority, "submitted_at": CaseFlag.submitted_at,
              "latest_pain": CaseFlag.latest_pain, "id": CaseFlag.case_id}


def _count(s, where: list, flag_codes: list[str] | None = None,
           flag_plan: _FlagPlan | None = None) -> tuple[int, bool, bool]:
    """(count, exact, estimated): exact up to COUNT_EXACT_UP_TO (a count that stops there), else PostgreSQL's
    planner estimate or, on SQLite, the threshold itself. With a flag filter the count starts from the
    flag index (few rows for a rare flag) and looks each case up by id; read from case_flag alone (a _FlagPlan)
    it counts case_flag's index range of the code and scope (open, or practice), without hub_case."""
    if flag_plan is not None:
        codes = list(flag_codes or [])
        rows = select(CaseFlag.case_id).where(CaseFlag.code.in_(codes), *flag_plan.conditions)
        rows = (rows.distinct() if len(set(codes)) > 1 else rows).limit(COUNT_EXACT_UP_TO + 1)
    elif flag_codes:
        rows = (select(Case.id).select_from(CaseFlag).join(Case, Case.id == CaseFlag.case_id)
                .where(CaseFlag.code.in_(flag_codes), *where[:-1]).distinct().limit(COUNT_EXACT_UP_TO + 1))
    else:
        rows = select(Case.id).where(*where).limit(COUNT_EXACT_UP_TO + 1)
    bounded = s.scalar(select(func.count()).select_from(rows.subquery()))
    if bounded <= COUNT_EXACT_UP_TO:
        return int(bounded), True, False
    bind = s.get_bind()
    if bind.dialect.name == "postgresql":
        stmt = select(Case.id).where(*where)
        sql = str(stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
        plan = s.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar()
        plan = plan if isinstance(plan, list) else json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        return max(estimate, COUNT_EXACT_UP_TO + 1), False, True
    return COUNT_EXACT_UP_TO + 1, False, False


def open_safety_alerts(session_factory: SessionFactory, actor: Actor, limit: int = 20) -> list[dict]:
    """Cases in the actor's scope with an open PHQ-9 item 9 safety alert (shown above the queue), oldest case
    first, at most `limit`; `count_open_safety_alerts` gives how many there are in all."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    with session_factory() as s:
        q = (select(Case.id, Patient.given_name, Patient.family_name, Practice.name)
             .join(Patient, Patient.id == Case.patient_id).join(Practice, Practice.id == Case.practice_id)
             .where(*_open_safety_alert(actor)).order_by(Case.id).limit(limit))
        found = s.execute(q).all()
        case_flags = flags.for_cases(s, [r.id for r in found])
        return [{"case_id": r.id, "patient": f"{r.given_name[:1]}{r.family_name[:1]}".upper(), "practice": r.name,
                 "reason": next((f.reason for f in case_flags[r.id] if f.code == "safety_phq9"), "")}
                for r in found]


def count_open_safety_alerts(session_factory: SessionFactory, actor: Actor) -> int:
    """How many cases in the actor's scope have an open PHQ-9 item 9 safety alert."""
    if not actor.is_clinical:
        raise PermissionDenied("The case queue is for clinical roles.")
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(Case).where(*_open_safety_alert(actor))) or 0)


def _open_safety_alert(actor: Actor) -> tuple:
    return case_scope(actor, Case), Case.safety_alert.is_(True), Case.status != "closed"

