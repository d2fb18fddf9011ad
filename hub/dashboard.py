"""The outcome dashboard: how well the hub loop runs and what it changes, in the actor's scope.

Every metric is scoped exactly like the case queue (``hub.access.case_scope``: a PCP sees their own
practice, hub members every submitted case, anyone without a clinical role nothing: PermissionDenied),
can be narrowed to some practices, and is filtered to a period on the date of its own event:

1. Time to discussion: calendar days from the case's submission to the finalisation of its first final
   decision; period on the finalisation date.
2. Letter acknowledgement: outcome letters acknowledged within 2 working days (Mon-Fri, bank holidays of
   the practice's nation excluded) of being sent; period on the sending date.
3. Actions: open, done, overdue and completion rate by discipline and owner; period on the due date.
4. Outcome change by condition: the primary pain score (PEG or NRS) in the 90 days before the decision
   and after it; period on the decision date.
5. Flags: the current flags per type and severity (a snapshot: the period does not apply), and safety
   alerts resolved in the period from the audit trail.
6. OME trend: monthly mean total daily OME of the scoped patients on opioids, over the period.

Each query reads plain columns in one transaction; nothing here imports streamlit.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, Subquery, func, or_, select

from db.models import (
    Action,
    Assessment,
    AuditEvent,
    Case,
    CaseFlag,
    Decision,
    Letter,
    Practice,
    Treatment,
    User,
    UserRole,
)
from hub.access import Actor, case_scope
from hub.bank_holidays import DEFAULT_NATION, holidays_between
from hub.clinical.case_review import FLAG_LABELS, TreatmentRec, ome_over_time
from hub.clinical.opioids import is_opioid
from hub.errors import PermissionDenied, ValidationError
from hub.vocab import CONDITIONS, DISCIPLINES, OWNER_ROLES
from db.engine import SessionFactory

ACK_WORKING_DAYS = 2
OUTCOME_WINDOW_DAYS = 90
PAIN_SCORES = ("peg", "nrs")
SEVERITY_ORDER = ("red", "amber", "info")
# Who owns an action when it is a role rather than a person, in the dashboard's words.
ROLE_DISCIPLINE = {"pcp": "GP", "patient": "Patient", "hub": "Pain hub team"}

DISCUSSION_CASE_COLUMNS = ["case_id", "practice", "condition", "submitted_on", "discussed_on", "days"]
DISCUSSION_MONTH_COLUMNS = ["month", "n", "median_days", "q1_days", "q3_days"]
LETTER_COLUMNS = ["letter_id", "case_id", "practice", "sent_on", "acknowledged_on", "working_days",
                  "within_2_working_days"]
LETTER_MONTH_COLUMNS = ["month", "n", "within", "share"]
ACTION_COUNT_COLUMNS = ["open", "overdue", "done", "done_on_time", "cancelled", "completion_rate"]
ACTION_DISCIPLINE_COLUMNS = ["discipline", *ACTION_COUNT_COLUMNS]
ACTION_OWNER_COLUMNS = ["discipline", "owner", *ACTION_COUNT_COLUMNS]
OUTCOME_CASE_COLUMNS = ["case_id", "practice", "condition", "instrument", "decided_on",
                        "before_first_on", "before_first", "before_last_on", "before_last", "change_before",
                        "at_decision_on", "at_decision", "latest_on", "latest", "change_after"]
OUTCOME_CONDITION_COLUMNS = ["condition", "cases", "n_before", "mean_change_before", "n_after", "mean_change_after"]
FLAG_TYPE_COLUMNS = ["code", "flag", "severity", "current", "raised", "resolved"]
FLAG_SEVERITY_COLUMNS = ["severity", "current"]
OME_COLUMNS = ["month", "patients_on_opioids", "mean_ome", "median_ome"]


@dataclass(frozen=True, eq=False)
class Dashboard:
    """The outcome dashboard for one actor, practice filter and period: tables and headline numbers."""

    start: date
    end: date
    today: date
    practice_ids: tuple[int, ...]
    # 1. submission to discussion
    discussion_cases: pd.DataFrame
    discussion_by_month: pd.DataFrame
    discussion_n: int
    discussion_median_days: float | None
    discussion_q1_days: float | None
    discussion_q3_days: float | None
    # 2. letters
    letters: pd.DataFrame
    letters_by_month: pd.DataFrame
    letters_n: int
    letters_within: int
    letters_within_share: float | None
    # 3. actions
    actions_by_discipline: pd.DataFrame
    actions_by_owner: pd.DataFrame
    actions_open: int
    actions_overdue: int
    actions_done: int
    actions_completion_rate: float | None
    # 4. outcome before vs after the decision
    outcome_cases: pd.DataFrame
    outcome_by_condition: pd.DataFrame
    outcome_n_before: int
    outcome_n_after: int
    outcome_mean_change_before: float | None
    outcome_mean_change_after: float | None
    # 5. flags
    flags_by_type: pd.DataFrame
    flags_by_severity: pd.DataFrame
    flags_current: int
    flagged_cases: int
    safety_alerts_resolved: int
    # 6. OME trend
    ome_by_month: pd.DataFrame
    ome_patients: int

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the dashboard by name, in display order."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), pd.DataFrame)}


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 12 months: from the first day of the month 11 months ago up to today (12 monthly buckets)."""
    today = today or date.today()
    months = today.year * 12 + today.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), today


def working_days_between(sent: date, acknowledged: date, nation: str = DEFAULT_NATION) -> int:
    """Working days (Mon-Fri, not bank holidays of the practice's nation: 'eng', 'wls', 'sct', 'nir') after
    the sending day up to and including the acknowledgement day."""
    if acknowledged <= sent:
        return 0
    start, end = sent + timedelta(days=1), acknowledged + timedelta(days=1)
    return int(np.busday_count(start, end, holidays=holidays_between(start, end, nation)))


def dashboard(session_factory: SessionFactory, actor: Actor, *, practice_ids: list[int] | None = None,
              start: date | None = None,
              end: date | None = None, today: date | None = None) -> Dashboard:
    """The outcome dashboard in the actor's scope (see the module docstring for each metric)."""
    if not actor.is_clinical:
        raise PermissionDenied("The outcome dashboard shows patient data: it is for clinical roles.")
    today = today or date.today()
    end = end or today
    start = start or default_period(end)[0]
    if start > end:
        raise ValidationError({"period": "The start of the period must be on or before its end."})
    chosen = tuple(sorted({int(p) for p in practice_ids or ()}))
    where = [case_scope(actor, Case)]
    if chosen:
        where.append(Case.practice_id.in_(chosen))
    scoped = select(Case.id).where(*where)
    lo, hi = datetime.combine(start, datetime.min.time()), datetime.combine(end + timedelta(days=1),
                                                                             datetime.min.time())
    with session_factory() as s:
        discussion = _discussion(s, scoped, lo, hi)
        letters = _letters(s, scoped, lo, hi)
        actions = _actions(s, scoped, start, end, today)
        outcome = _outcomes(s, scoped, lo, hi, today)
        flag_tables = _flags(s, scoped, where, lo, hi)
        ome = _ome_trend(s, where, start, min(end, today))
    return Dashboard(start=start, end=end, today=today, practice_ids=chosen, **discussion, **letters, **actions,
                     **outcome, **flag_tables, **ome)


def to_csv(board: Dashboard) -> dict[str, bytes]:
    """One UTF-8 CSV per table of the dashboard, keyed by file name (for download buttons)."""
    out = {}
    for name, frame in board.tables().items():
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        out[f"{name}.csv"] = buf.getvalue().encode("utf-8")
    return out


# ----------------------------------------------------------------------------- helpers


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=columns)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _first_final_decisions(scoped: Select) -> Subquery:
    """Per scoped case, the finalisation time of its first final decision."""
    return (select(Decision.case_id.label("case_id"), func.min(Decision.finalised_at).label("decided_at"))
            .where(Decision.status == "final", Decision.finalised_at.is_not(None), Decision.case_id.in_(scoped))
            .group_by(Decision.case_id).subquery())


# ----------------------------------------------------------------------------- 1. submission to discussion


def _submissions_before(s, case_ids: list[int]) -> dict[int, list[datetime]]:
    """Times each case was (re)submitted, from the audit trail: Case.submitted_at keeps only the latest."""
    out: dict[int, list[datetime]] = defaultdict(list)
    if not case_ids:
        return out
    q = select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.changes).where(
        AuditEvent.entity == "case", AuditEvent.entity_id.in_([str(c) for c in case_ids]),
        AuditEvent.action.in_(("case.submit", "case.status", "case.relist")))
    for entity_id, at, changes in s.execute(q):
        status = (changes or {}).get("status")
        if isinstance(status, list) and len(status) == 2 and status[1] == "submitted":
            out[int(entity_id)].append(at)
    return out


def _discussion(s, scoped: Select, lo: datetime, hi: datetime) -> dict[str, Any]:
    first = _first_final_decisions(scoped)
    q = (select(Case.id, Practice.name, Case.condition, Case.submitted_at, first.c.decided_at)
         .join(first, first.c.case_id == Case.id).join(Practice, Practice.id == Case.practice_id)
         .where(first.c.decided_at >= lo, first.c.decided_at < hi).order_by(first.c.decided_at, Case.id))
    rows = s.execute(q).all()
    # A case re-listed after its first decision carries a later submitted_at: use the submission that
    # preceded the decision, from the audit trail.
    relisted = [r.id for r in rows if r.submitted_at is None or r.submitted_at > r.decided_at]
    history = _submissions_before(s, relisted)
    records = []
    for r in rows:
        submitted = r.submitted_at
        if submitted is None or submitted > r.decided_at:
            earlier = [t for t in history.get(r.id, []) if t <= r.decided_at]
            submitted = max(earlier) if earlier else None
        if submitted is None:
            continue
        records.append({"case_id": r.id, "practice": r.name, "condition": CONDITIONS.get(r.condition, r.condition),
                        "submitted_on": submitted.date(), "discussed_on": r.decided_at.date(),
                        "days": (r.decided_at.date() - submitted.date()).days})
    cases = _frame(records, DISCUSSION_CASE_COLUMNS)
    by_month = []
    if records:
        grouped = cases.assign(month=cases["discussed_on"].map(_month)).groupby("month")["days"]
        for month, days in grouped:
            q1, med, q3 = days.quantile([0.25, 0.5, 0.75]).tolist()
            by_month.append({"month": month, "n": int(days.size), "median_days": float(med), "q1_days": float(q1),
                             "q3_days": float(q3)})
    q1 = med = q3 = None
    if records:
        q1, med, q3 = (float(x) for x in cases["days"].quantile([0.25, 0.5, 0.75]).tolist())
    return {"discussion_cases": cases, "discussion_by_month": _frame(by_month, DISCUSSION_MONTH_COLUMNS),
            "discussion_n": len(records), "discussion_median_days": med, "discussion_q1_days": q1,
            "discussion_q3_days": q3}


# ----------------------------------------------------------------------------- 2. letters


def _letters(s, scoped: Select, lo: datetime, hi: datetime) -> dict[str, Any]:
    q = (select(Letter.id, Letter.case_id, Practice.name, Practice.nation, Letter.sent_at, Letter.acknowledged_at)
         .join(Case, Case.id == Letter.case_id).join(Practice, Practice.id == Case.practice_id)
         .where(Letter.case_id.in_(scoped), Letter.sent_at.is_not(None), Letter.sent_at >= lo, Letter.sent_at < hi)
         .order_by(Letter.sent_at, Letter.id))
    records = []
    for r in s.execute(q):
        sent = r.sent_at.date()
        ack = r.acknowledged_at.date() if r.acknowledged_at else None
        wd = working_days_between(sent, ack, r.nation) if ack else None
        records.append({"letter_id": r.id, "case_id": r.case_id, "practice": r.name, "sent_on": sent,
                        "acknowledged_on": ack, "working_days": wd,
                        "within_2_working_days": wd is not None and wd <= ACK_WORKING_DAYS})
    letters = _frame(records, LETTER_COLUMNS)
    letters["working_days"] = letters["working_days"].astype("Int64")
    letters["within_2_working_days"] = letters["within_2_working_days"].astype(bool)
    by_month = []
    for month, grp in (letters.assign(month=letters["sent_on"].map(_month)).groupby("month") if records else ()):
        within = int(grp["within_2_working_days"].sum())
        by_month.append({"month": month, "n": len(grp), "within": within, "share": within / len(grp)})
    within = int(letters["within_2_working_days"].sum()) if records else 0
    return {"letters": letters, "letters_by_month": _frame(by_month, LETTER_MONTH_COLUMNS),
            "letters_n": len(records), "letters_within": within, "letters_within_share": _share(within, len(records))}


# ----------------------------------------------------------------------------- 3. actions


def _owner(role: str | None, user_name: str | None, user_discipline: str | None, user_is_pcp: bool) -> tuple[str, str]:
    """(discipline, owner) of an action: its owner role, else the owning user's discipline ('GP' for a PCP)."""
    if role is not None:
        discipline = ROLE_DISCIPLINE.get(role) or DISCIPLINES.get(role) or OWNER_ROLES.get(role, role)
        owner = user_name or (OWNER_ROLES.get(role, role) if role in ROLE_DISCIPLINE else f"{discipline} (team)")
        return discipline, owner
    if user_discipline:
        return DISCIPLINES.get(user_discipline, user_discipline), user_name or ""
    return ("GP" if user_is_pcp else "Other"), user_name or ""


def _count_actions(grp: pd.DataFrame) -> dict[str, Any]:
    open_ = int((grp["status"] == "open").sum())
    done = int((grp["status"] == "done").sum())
    return {"open": open_, "overdue": int(grp["overdue"].sum()), "done": done,
            "done_on_time": int(grp["done_on_time"].sum()), "cancelled": int((grp["status"] == "cancelled").sum()),
            "completion_rate": _share(done, open_ + done)}


def _actions(s, scoped: Select, start: date, end: date, today: date) -> dict[str, Any]:
    pcp = select(UserRole.user_id).where(UserRole.role == "pcp")
    q = (select(Action.id, Action.owner_role, Action.due_date, Action.status, Action.completed_at, User.name,
                User.discipline, User.id.in_(pcp).label("is_pcp"))
         .outerjoin(User, User.id == Action.owner_user_id)
         .where(Action.case_id.in_(scoped), Action.due_date >= start, Action.due_date <= end))
    records = []
    for r in s.execute(q):
        discipline, owner = _owner(r.owner_role, r.name, r.discipline, bool(r.is_pcp))
        records.append({"discipline": discipline, "owner": owner, "status": r.status,
                        "overdue": r.status == "open" and r.due_date < today,
                        "done_on_time": r.status == "done" and r.completed_at is not None
                        and r.completed_at.date() <= r.due_date})
    raw = pd.DataFrame.from_records(records, columns=["discipline", "owner", "status", "overdue", "done_on_time"])
    by_discipline = [{"discipline": k, **_count_actions(g)} for k, g in raw.groupby("discipline", sort=True)]
    by_owner = [{"discipline": k[0], "owner": k[1], **_count_actions(g)}
                for k, g in raw.groupby(["discipline", "owner"], sort=True)]
    totals = _count_actions(raw)
    return {"actions_by_discipline": _frame(by_discipline, ACTION_DISCIPLINE_COLUMNS),
            "actions_by_owner": _frame(by_owner, ACTION_OWNER_COLUMNS),
            "actions_open": totals["open"], "actions_overdue": totals["overdue"], "actions_done": totals["done"],
            "actions_completion_rate": totals["completion_rate"]}


# ----------------------------------------------------------------------------- 4. outcome before vs after


def _pain_instrument(primary: str | None, response: dict | None) -> str | None:
    instrument = primary or ((response or {}).get("instrument") if isinstance(response, dict) else None)
    return instrument if instrument in PAIN_SCORES else None


def outcome_change(points: list[tuple[date, float]], decided_on: date, today: date,
                   window_days: int = OUTCOME_WINDOW_DAYS) -> dict[str, Any]:
    """Change of a pain score before a decision (first vs last value in the window before it) and after it
    (value nearest the decision vs the latest later value); lower is better, so negative means improvement."""
    pts = sorted(p for p in points if p[0] <= today)
    out: dict[str, Any] = {k: None for k in OUTCOME_CASE_COLUMNS[5:]}
    before = [p for p in pts if decided_on - timedelta(days=window_days) <= p[0] <= decided_on]
    if len(before) >= 2:
        (d0, v0), (d1, v1) = before[0], before[-1]
        out.update(before_first_on=d0, before_first=v0, before_last_on=d1, before_last=v1, change_before=v1 - v0)
    if pts:
        # Nearest to the decision; on a tie the value on or before it (what the meeting saw).
        anchor_on, anchor = min(pts, key=lambda p: (abs((p[0] - decided_on).days), p[0] > decided_on))
        later = [p for p in pts if p[0] > max(anchor_on, decided_on)]
        if later:
            latest_on, latest = later[-1]
            out.update(at_decision_on=anchor_on, at_decision=anchor, latest_on=latest_on, latest=latest,
                       change_after=latest - anchor)
    return out


def _outcomes(s, scoped: Select, lo: datetime, hi: datetime, today: date) -> dict[str, Any]:
    first = _first_final_decisions(scoped)
    q = (select(Case.id, Case.patient_id, Practice.name, Case.condition, Case.primary_outcome, Case.response,
                first.c.decided_at)
         .join(first, first.c.case_id == Case.id).join(Practice, Practice.id == Case.practice_id)
         .where(first.c.decided_at >= lo, first.c.decided_at < hi).order_by(first.c.decided_at, Case.id))
    cases = [(r, inst) for r in s.execute(q) if (inst := _pain_instrument(r.primary_outcome, r.response)) is not None]
    series: dict[tuple[int, str], list[tuple[date, float]]] = defaultdict(list)
    if cases:
        earliest = min(r.decided_at.date() for r, _ in cases) - timedelta(days=OUTCOME_WINDOW_DAYS)
        aq = select(Assessment.patient_id, Assessment.instrument, Assessment.administered_on, Assessment.total).where(
            Assessment.patient_id.in_(sorted({r.patient_id for r, _ in cases})),
            Assessment.instrument.in_(PAIN_SCORES), Assessment.status == "completed",
            Assessment.total.is_not(None), Assessment.administered_on >= earliest,
            Assessment.administered_on <= today)
        for a in s.execute(aq):
            series[(a.patient_id, a.instrument)].append((a.administered_on, float(a.total)))
    records = []
    for r, instrument in cases:
        decided_on = r.decided_at.date()
        change = outcome_change(series.get((r.patient_id, instrument), []), decided_on, today)
        if change["change_before"] is None and change["change_after"] is None:
            continue
        records.append({"case_id": r.id, "practice": r.name, "condition": CONDITIONS.get(r.condition, r.condition),
                        "instrument": instrument.upper(), "decided_on": decided_on, **change})
    table = _frame(records, OUTCOME_CASE_COLUMNS)
    by_condition = []
    for condition, grp in (table.groupby("condition", sort=True) if records else ()):
        before, after = grp["change_before"].dropna(), grp["change_after"].dropna()
        by_condition.append({"condition": condition, "cases": len(grp), "n_before": int(before.size),
                             "mean_change_before": float(before.mean()) if before.size else None,
                             "n_after": int(after.size),
                             "mean_change_after": float(after.mean()) if after.size else None})
    before_all = [x for x in (rec["change_before"] for rec in records) if x is not None]
    after_all = [x for x in (rec["change_after"] for rec in records) if x is not None]
    return {"outcome_cases": table, "outcome_by_condition": _frame(by_condition, OUTCOME_CONDITION_COLUMNS),
            "outcome_n_before": len(before_all), "outcome_n_after": len(after_all),
            "outcome_mean_change_before": _mean(before_all), "outcome_mean_change_after": _mean(after_all)}


# ----------------------------------------------------------------------------- 5. flags


def _safety_resolved(s, where: list, lo: datetime, hi: datetime) -> int:
    """Safety alerts resolved in the period: 'safety.action' audit events on cases in scope."""
    events = s.execute(select(AuditEvent.changes).where(AuditEvent.action == "safety.action",
                                                        AuditEvent.at >= lo, AuditEvent.at < hi)).scalars().all()
    case_ids = [int(c["case_id"]) for c in events if isinstance(c, dict) and c.get("case_id") is not None]
    if not case_ids:
        return 0
    visible = set(s.scalars(select(Case.id).where(Case.id.in_(set(case_ids)), *where)))
    return sum(1 for c in case_ids if c in visible)


def _flag_events(s, action: str, where: list, lo: datetime, hi: datetime) -> dict[str, int]:
    """Flags raised or resolved in the period per type, from the 'flag.raised' / 'flag.resolved' events that
    every flag recomputation writes, on cases in scope."""
    events = s.execute(select(AuditEvent.changes).where(AuditEvent.action == action, AuditEvent.at >= lo,
                                                        AuditEvent.at < hi)).scalars().all()
    pairs = [(int(c["case_id"]), c["code"]) for c in events if isinstance(c, dict) and c.get("case_id") is not None]
    if not pairs:
        return {}
    visible = set(s.scalars(select(Case.id).where(Case.id.in_({cid for cid, _ in pairs}), *where)))
    out: dict[str, int] = {}
    for cid, code in pairs:
        if cid in visible:
            out[code] = out.get(code, 0) + 1
    return out


def _flags(s, scoped: Select, where: list, lo: datetime, hi: datetime) -> dict[str, Any]:
    """Current flags per type and severity from CaseFlag (a snapshot, so the period does not apply), with the
    flags raised and resolved in the period from the flag history in the audit trail."""
    q = (select(CaseFlag.code, CaseFlag.severity, func.count(func.distinct(CaseFlag.case_id)))
         .where(CaseFlag.case_id.in_(scoped)).group_by(CaseFlag.code, CaseFlag.severity))
    counts = {(code, sev): int(n) for code, sev, n in s.execute(q)}
    raised = _flag_events(s, "flag.raised", where, lo, hi)
    resolved_by_code = _flag_events(s, "flag.resolved", where, lo, hi)
    resolved = _safety_resolved(s, where, lo, hi)
    severity_of = {"safety_phq9": "red", "opioid_red": "red"}
    for code in set(raised) | set(resolved_by_code):
        if not any(c == code for c, _ in counts):
            counts[(code, severity_of.get(code, "amber"))] = 0
    order = list(FLAG_LABELS)
    records = [{"code": code, "flag": FLAG_LABELS.get(code, code), "severity": sev, "current": n,
                "raised": raised.get(code, 0), "resolved": resolved_by_code.get(code, 0)}
               for (code, sev), n in sorted(counts.items(), key=lambda kv: (
                   SEVERITY_ORDER.index(kv[0][1]) if kv[0][1] in SEVERITY_ORDER else 9,
                   order.index(kv[0][0]) if kv[0][0] in order else 99, kv[0][0]))]
    by_type = _frame(records, FLAG_TYPE_COLUMNS)
    by_type["raised"] = by_type["raised"].astype("Int64")
    by_type["resolved"] = by_type["resolved"].astype("Int64")
    by_severity = [{"severity": sev, "current": sum(n for (_, sv), n in counts.items() if sv == sev)}
                   for sev in SEVERITY_ORDER if any(sv == sev for _, sv in counts)]
    flagged = s.scalar(select(func.count(func.distinct(CaseFlag.case_id)))
                       .where(CaseFlag.case_id.in_(scoped), CaseFlag.severity.in_(("red", "amber")))) or 0
    return {"flags_by_type": by_type, "flags_by_severity": _frame(by_severity, FLAG_SEVERITY_COLUMNS),
            "flags_current": sum(counts.values()), "flagged_cases": int(flagged),
            "safety_alerts_resolved": resolved}


# ----------------------------------------------------------------------------- 6. OME trend


def _month_starts(start: date, end: date) -> list[date]:
    out, d = [], date(start.year, start.month, 1)
    while d <= end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def monthly_mean_ome(series: list[tuple[date, float]], start: date, end: date) -> dict[str, float]:
    """Day-weighted mean daily OME per month (YYYY-MM) of one step series over [start, end]."""
    if not series:
        return {}
    # Each value holds from its day until the next point; the last point (the end) holds one day.
    steps = [(d, (series[i + 1][0] if i + 1 < len(series) else d + timedelta(days=1)), v)
             for i, (d, v) in enumerate(series)]
    out = {}
    for m0 in _month_starts(start, end):
        m1 = date(m0.year + (m0.month == 12), m0.month % 12 + 1, 1)
        a, b = max(m0, start), min(m1, end + timedelta(days=1))
        days = (b - a).days
        if days <= 0:
            continue
        total = sum(v * max(0, (min(e, b) - max(d, a)).days) for d, e, v in steps)
        out[_month(m0)] = total / days
    return out


def _ome_trend(s, where: list, start: date, end: date) -> dict[str, Any]:
    """Monthly mean total OME over the scoped patients with an opioid in that month (one treatment query)."""
    empty = {"ome_by_month": _frame([], OME_COLUMNS), "ome_patients": 0}
    if start > end:
        return empty
    patients = select(Case.patient_id).where(*where)
    q = (select(Treatment.patient_id, Treatment.category, Treatment.start_date, Treatment.end_date, Treatment.drug,
                Treatment.route, Treatment.daily_dose_mg, Treatment.patch_mcg_per_h)
         .where(Treatment.patient_id.in_(patients), Treatment.category == "medicine", Treatment.status != "planned",
                Treatment.drug.is_not(None), Treatment.start_date <= end,
                or_(Treatment.end_date.is_(None), Treatment.end_date >= start)))
    courses: dict[int, list[TreatmentRec]] = defaultdict(list)
    for t in s.execute(q):
        if is_opioid(t.drug):
            courses[t.patient_id].append(TreatmentRec(t.category, t.start_date, t.end_date, t.drug, t.route,
                                                      t.daily_dose_mg, t.patch_mcg_per_h))
    per_month: dict[str, list[float]] = defaultdict(list)
    on_opioids = set()
    for patient_id, recs in courses.items():
        for month, mean in monthly_mean_ome(ome_over_time(recs, start, end), start, end).items():
            if mean > 0:
                per_month[month].append(mean)
                on_opioids.add(patient_id)
    records = [{"month": m, "patients_on_opioids": len(v), "mean_ome": float(np.mean(v)),
                "median_ome": float(np.median(v))} for m, v in sorted(per_month.items())]
    if not records:
        return empty
    return {"ome_by_month": _frame(records, OME_COLUMNS), "ome_patients": len(on_opioids)}


__all__ = ["Dashboard", "dashboard", "default_period", "monthly_mean_ome", "outcome_change", "to_csv",
           "working_days_between"]


def patient_voice(session_factory: SessionFactory, actor: Actor, *, practice_ids: list[int] | None = None,
                  start: date | None = None,
                  end: date | None = None) -> dict[str, Any]:
    """7. The patient's voice: questionnaire links sent in the period, completed, median hours to complete,
    completion by practice, and final hub decisions in the period whose discussion had patient-reported input
    (a set completed before the meeting). Scoped like every other measure (hub.invitations.dashboard_metrics)."""
    from hub.invitations import dashboard_metrics

    return dashboard_metrics(session_factory, actor, practice_ids=practice_ids, start=start, end=end)
