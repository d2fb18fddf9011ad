"""Flags and queue priority stored on each case, recomputed whenever an input changes (assessment,
treatment, review, setting) and refreshed daily for rules that depend on today's date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from db.models import (
    Action,
    AgendaItem,
    Assessment,
    Case,
    CaseFlag,
    Decision,
    Goal,
    GoalAttainment,
    Meeting,
    OPEN_CASE_STATUSES,
    Review,
    Setting,
    Treatment,
    utcnow,
)
from hub import audit, events, workflow
from hub import settings as hub_settings
from hub.clinical.signals import phq9_item9_missing, sbst_fear_item_positive
from hub.clinical.followup import ActionState, FollowUpState, GoalState, relisting_reasons
from hub.clinical.case_review import (
    AssessmentRec,
    CaseEvaluation,
    CaseRecord,
    Flag,
    ReviewRec,
    TreatmentRec,
    evaluate_case,
)
from db.engine import SessionFactory

REFRESH_KEY = "system.flags_refreshed_on"
RETURNED = ("completed", "incomplete")  # assessment statuses of a form that came back (scored or not)
IMPORTANT_IMPROVEMENT = frozenset({"moderate", "substantial", "improved"})
CHUNK = 2000
# The background refresh's transactions: small enough that SQLite's write lock, held from a chunk's first
# write to its commit, keeps a clinician's save waiting a fraction of a second at most.
REFRESH_CHUNK = 500

# The typed view of a flag stored on a case (hub.clinical's Flag: code, severity, reason, evidence, label,
# is_open). Services, letters and pages read stored flags through it (for_cases / for_case), never as dicts.
FlagView = Flag

_FLAG_COLUMNS = (CaseFlag.case_id, CaseFlag.code, CaseFlag.severity, CaseFlag.reason, CaseFlag.evidence,
                 CaseFlag.position, CaseFlag.repeats)


def for_cases(s: Session, case_ids: Iterable[int]) -> dict[int, tuple[FlagView, ...]]:
    """The current flags of these cases, worst first as evaluated, in ONE query (case_flag, the only store of
    a case's flags). Every case asked for is in the result (no flags: an empty tuple)."""
    ids = sorted(set(case_ids))
    out: dict[int, list[tuple[int, FlagView]]] = {cid: [] for cid in ids}
    if not ids:
        return {}
    for r in s.execute(select(*_FLAG_COLUMNS).where(CaseFlag.case_id.in_(ids))):
        out[r.case_id].append((r.position, Flag(r.code, r.severity, r.reason, dict(r.evidence or {}))))
        for more in r.repeats or ():  # further flags of the same code, each at its own place
            out[r.case_id].append((int(more["position"]), Flag(r.code, str(more["severity"]), str(more["reason"]),
                                                                dict(more.get("evidence") or {}))))
    return {cid: tuple(f for _, f in sorted(fs, key=lambda p: p[0])) for cid, fs in out.items()}


def for_case(s: Session, case_id: int) -> tuple[FlagView, ...]:
    """The current flags of one case, worst first as evaluated (see for_cases)."""
    return for_cases(s, [case_id])[case_id]


def _flag_rows_of(case_id: int, evaluated: Sequence[Flag]) -> list[dict[str, Any]]:
    """A case's case_flag rows: one per code at the place of its first flag, with the evidence; further flags of
    the same code go in that row's repeats with their own place."""
    rows: dict[str, dict[str, Any]] = {}
    for position, f in enumerate(evaluated):
        if f.code in rows:
            rows[f.code]["repeats"].append({"position": position, "severity": f.severity, "reason": f.reason,
                                            "evidence": dict(f.evidence)})
        else:
            rows[f.code] = {"case_id": case_id, "code": f.code, "severity": f.severity, "reason": f.reason,
                            "evidence": dict(f.evidence), "position": position, "repeats": []}
    return list(rows.values())


def _records_for(s: Session, cases: Sequence[Any], today: date) -> dict[int, CaseRecord]:
    """Load the plain records of several cases with one query per table (Core rows, no ORM loading)."""
    conn = s.connection()
    patient_ids = sorted({c.patient_id for c in cases})
    asm, rev, trt = defaultdict(list), defaultdict(list), defaultdict(list)
    # Responses are read only where a rule needs an item: PHQ-9 item 9 and the STarT Back fear item.
    item_rows = {a.id: a.responses for a in conn.execute(
        select(Assessment.id, Assessment.responses).where(Assessment.patient_id.in_(patient_ids),
                                                          Assessment.instrument.in_(("phq9", "sbst"))))}
    for a in conn.execute(select(Assessment.id, Assessment.patient_id, Assessment.administered_on,
                              Assessment.instrument, Assessment.total, Assessment.status, Assessment.safety_alert,
                              Assessment.safety_action, Assessment.mode, Assessment.created_at)
                       .where(Assessment.patient_id.in_(patient_ids))):
        responses = item_rows.get(a.id) or {}
        asm[a.patient_id].append(AssessmentRec(
            a.administered_on, a.instrument, a.total, a.status in RETURNED, bool(a.safety_alert), a.safety_action,
            item9_missing=a.instrument == "phq9" and phq9_item9_missing(responses),
            fear_item_positive=sbst_fear_item_positive(responses) if a.instrument == "sbst" else None,
            mode=a.mode, reported_at=a.created_at))
    # Questionnaire links the patient was sent and did not complete before they expired count as not returned.
    from datetime import datetime as _dt

    from hub.invitations import unreturned

    for pid, missed in unreturned(s, patient_ids, _dt.combine(today, _dt.min.time())).items():
        asm[pid].extend(AssessmentRec(on, instrument, None, False) for on, instrument in missed)
    for r in conn.execute(select(Review.patient_id, Review.review_date, Review.attendance, Review.management_changes,
                              Review.inaction_justifications, Review.adherence_pct, Review.treatment_too_much)
                       .where(Review.patient_id.in_(patient_ids))):
        rev[r.patient_id].append(ReviewRec(r.review_date, r.attendance, tuple(r.management_changes or ()),
                                           tuple(r.inaction_justifications or ()), r.adherence_pct,
                                           r.treatment_too_much))
    for t in conn.execute(select(Treatment.patient_id, Treatment.category, Treatment.start_date, Treatment.end_date,
                              Treatment.drug, Treatment.route, Treatment.daily_dose_mg, Treatment.patch_mcg_per_h,
                              Treatment.status, Treatment.name, Treatment.reason_stopped, Treatment.adherence_pct)
                       .where(Treatment.patient_id.in_(patient_ids), Treatment.status != "planned")):
        trt[t.patient_id].append(TreatmentRec(t.category, t.start_date, t.end_date, t.drug, t.route,
                                              t.daily_dose_mg, t.patch_mcg_per_h, name=t.name or "", status=t.status,
                                              reason_stopped=t.reason_stopped, adherence_pct=t.adherence_pct))
    gas = _gas_met_on(s, [c.id for c in cases])
    from datetime import timedelta

    from sqlalchemy import case as sql_case, func

    from db.models import WearableDay

    start_recent, start_before = today - timedelta(days=27), today - timedelta(days=55)
    worn = {r.patient_id: (r.recent, r.before) for r in conn.execute(
        select(WearableDay.patient_id,
               func.count(func.distinct(sql_case((WearableDay.day >= start_recent, WearableDay.day)))).label("recent"),
               func.count(func.distinct(sql_case((WearableDay.day < start_recent, WearableDay.day)))).label("before"))
        .where(WearableDay.patient_id.in_(patient_ids), WearableDay.day >= start_before, WearableDay.day <= today)
        .group_by(WearableDay.patient_id))}
    # The decision's date is the meeting's date (finalising may happen later the same week).
    decided = dict(conn.execute(select(Decision.case_id, Meeting.starts_at)
                             .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                             .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                             .where(Decision.case_id.in_([c.id for c in cases]), Decision.status == "final")
                             .order_by(Decision.finalised_at)).all())
    return {
        c.id: CaseRecord(
            today=today, condition=c.condition, pain_classification=c.pain_classification, risk_band=c.risk_band,
            submitted_on=c.submitted_at.date() if c.submitted_at else None, baseline_pain=c.baseline_pain,
            primary_outcome=c.primary_outcome, assessments=tuple(asm[c.patient_id]),
            reviews=tuple(rev[c.patient_id]), treatments=tuple(trt[c.patient_id]), status=c.status,
            relisted_reason=c.relisted_reason,
            decided_on=decided[c.id].date() if decided.get(c.id) else None,
            wearable_days_recent=worn.get(c.patient_id, (None, None))[0],
            wearable_days_before=worn.get(c.patient_id, (None, None))[1],
            gas_met_on=gas.get(c.id, ()))
        for c in cases
    }


def _gas_met_on(s: Session, case_ids: list[int]) -> dict[int, tuple[tuple[date, bool], ...]]:
    """Per case, from each GAS rating date: are the agreed goals met (every rated goal at level >= 0)?"""
    rows = s.execute(select(Goal.case_id, GoalAttainment.goal_id, GoalAttainment.assessed_on, GoalAttainment.level)
                     .join(Goal, Goal.id == GoalAttainment.goal_id)
                     .join(Decision, Decision.id == Goal.decision_id)
                     .where(Goal.case_id.in_(case_ids), Decision.status == "final")
                     .order_by(Goal.case_id, GoalAttainment.assessed_on, GoalAttainment.id)).all()
    out: dict[int, list[tuple[date, bool]]] = defaultdict(list)
    current: dict[int, dict[int, int]] = defaultdict(dict)
    for case_id, goal_id, on, level in rows:
        current[case_id][goal_id] = level
        met = all(v >= 0 for v in current[case_id].values())
        if out[case_id] and out[case_id][-1][0] == on:
            out[case_id][-1] = (on, met)
        else:
            out[case_id].append((on, met))
    return {cid: tuple(v) for cid, v in out.items()}


def _response_dict(ev: CaseEvaluation) -> dict | None:
    r = ev.response
    if r is None:
        return None
    out = _one_response(r)
    if ev.since_decision is not None:
        out["since_decision"] = _one_response(ev.since_decision)
    return out


def _one_response(r) -> dict:
    return {"instrument": r.instrument, "baseline": r.baseline,
            "baseline_on": r.baseline_on.isoformat() if r.baseline_on else None, "latest": r.latest,
            "latest_on": r.latest_on.isoformat() if r.latest_on else None, "category": r.category,
            "important": r.important, "text": r.text, "mic_band": list(r.mic_band) if r.mic_band else None,
            "target": r.target}


def _claim(conn, ids: list[int], today: date) -> dict[int, int]:
    """The first write of a recompute: count one more write of each case's derived state and date it today
    (updated_at kept), returning the new counts. It takes the write lock (SQLite) or the rows' locks
    (PostgreSQL) before the stored state is compared, so a clinician's write cannot slip in between."""
    c = cast(Table, Case.__table__)
    return dict(conn.execute(update(c).where(c.c.id.in_(ids))
                             .values(flags_seq=c.c.flags_seq + 1, flags_computed_on=today, updated_at=c.c.updated_at)
                             .returning(c.c.id, c.c.flags_seq),
                             execution_options={"synchronize_session": False}).all())


def _store(s: Session, results: dict[int, CaseEvaluation], today: date, cases: Mapping[int, Any] | None = None,
           *, refresh: bool = False) -> set[int]:
    """Write evaluations with core statements: derived state does not bump the case's edit version. With the
    cases' rows (`cases`: id -> status, submitted_at, latest_pain, practice_id, condition, flags_seq as just
    read) the case_flag rows are inserted with their copies of the case's keys; without, they are copied
    afterwards.

    `refresh` (the background refresh, which read the records outside the writers' lock): a case whose
    flags were written by someone else since `cases` was read (a clinician's write recomputed it from newer
    records) is left as that write stored it. Returns those cases' ids."""
    if not results:
        return set()
    conn = s.connection()
    case_table = cast(Table, Case.__table__)  # typed as a FromClause; a core UPDATE needs the Table
    seq = _claim(conn, list(results), today)
    overtaken = ({cid for cid in results if cases is None or seq.get(cid) != cases[cid].flags_seq + 1}
                 if refresh else set())
    results = {cid: ev for cid, ev in results.items() if cid not in overtaken}
    # Most cases come out of a refresh as they went in: those only get today's date (the claim wrote it), not
    # a rewrite of the case's priority columns and its flag rows with every index on them.
    same_case, same_flags = _as_stored(s, results)
    unchanged = same_case & same_flags
    results = {cid: ev for cid, ev in results.items() if cid not in unchanged}
    if not results:
        return overtaken
    conn.execute(
        update(case_table).where(case_table.c.id == bindparam("b_id")).values(
            priority=bindparam("b_priority"),
            priority_reasons=bindparam("b_reasons"), safety_alert=bindparam("b_safety"),
            ome_total=bindparam("b_ome"), response=bindparam("b_response"), flags_computed_on=bindparam("b_on")),
        [{"b_id": cid, "b_priority": ev.priority,
          "b_reasons": list(ev.priority_reasons), "b_safety": ev.safety_alert, "b_ome": ev.ome_total,
          "b_response": _response_dict(ev), "b_on": today} for cid, ev in results.items()],
        execution_options={"synchronize_session": False},
    )
    # Same flags, another priority (e.g. a week more of waiting): only the rows' copy of the priority moves.
    keep_rows = {cid: ev for cid, ev in results.items() if cid in same_flags}
    if keep_rows:
        flag_table = cast(Table, CaseFlag.__table__)
        conn.execute(update(flag_table).where(flag_table.c.case_id == bindparam("b_id"))
                     .values(priority=bindparam("b_priority")),
                     [{"b_id": cid, "b_priority": ev.priority} for cid, ev in keep_rows.items()],
                     execution_options={"synchronize_session": False})
        results = {cid: ev for cid, ev in results.items() if cid not in keep_rows}
        if not results:
            return overtaken
    ids = list(results)
    before = {(r.case_id, r.code): r.severity for r in conn.execute(
        select(CaseFlag.case_id, CaseFlag.code, CaseFlag.severity).where(CaseFlag.case_id.in_(ids)))}
    conn.execute(delete(CaseFlag).where(CaseFlag.case_id.in_(ids)))
    rows = [row for cid, ev in results.items() for row in _flag_rows_of(cid, ev.flags)]
    if rows and cases is not None:  # one INSERT with the keys: no second write of every row and index
        for row in rows:
            c, ev = cases[row["case_id"]], results[row["case_id"]]
            row.update(is_open=c.status in OPEN_CASE_STATUSES, priority=ev.priority, submitted_at=c.submitted_at,
                       latest_pain=c.latest_pain, practice_id=c.practice_id, condition=c.condition,
                       unsubmitted=c.submitted_at is None)
        conn.execute(insert(CaseFlag), rows)
    elif rows:
        conn.execute(insert(CaseFlag), rows)
        sync_flag_keys(conn, ids)
    # Flag history (raised / resolved) as system audit events: the dashboard counts them. Per code, the
    # event carries the code's last flag as evaluated (as it always has).
    after = {(cid, f.code): {"severity": f.severity, "reason": f.reason}
             for cid, ev in results.items() for f in ev.flags}
    after = {k: v for k, v in after.items() if v["severity"] != "info"}
    was = {k for k, sev in before.items() if sev != "info"}
    now = utcnow()
    events = [{"at": now, "actor_id": None, "action": "flag.raised", "entity": "case", "entity_id": str(cid),
               "changes": {"case_id": cid, "code": code, "severity": after[(cid, code)]["severity"],
                           "reason": after[(cid, code)]["reason"]}}
              for cid, code in sorted(set(after) - was)]
    events += [{"at": now, "actor_id": None, "action": "flag.resolved", "entity": "case", "entity_id": str(cid),
                "changes": {"case_id": cid, "code": code, "severity": before[(cid, code)]}}
               for cid, code in sorted(was - set(after))]
    if events:
        audit.record_rows(s, events)
    return overtaken


def _stored_state(ev: CaseEvaluation) -> tuple:
    """What _store writes on the case row, as it reads back."""
    return ev.priority, list(ev.priority_reasons), ev.safety_alert, ev.ome_total, _response_dict(ev)


def _as_stored(s: Session, results: Mapping[int, CaseEvaluation]) -> tuple[set[int], set[int]]:
    """The cases whose stored priority, reasons, safety alert, OME and response equal the evaluation, and those
    whose stored flags do."""
    ids = list(results)
    c = cast(Table, Case.__table__)
    stored = {r.id: (r.priority, r.priority_reasons, r.safety_alert, r.ome_total, r.response) for r in s.execute(
        select(c.c.id, c.c.priority, c.c.priority_reasons, c.c.safety_alert, c.c.ome_total, c.c.response)
        .where(c.c.id.in_(ids)))}
    flags_now = for_cases(s, ids)
    return ({cid for cid, ev in results.items() if stored.get(cid) == _stored_state(ev)},
            {cid for cid, ev in results.items() if flags_now.get(cid) == tuple(ev.flags)})


def _key_from_case(column):
    return (select(column).where(Case.__table__.c.id == CaseFlag.__table__.c.case_id).scalar_subquery())


def sync_flag_keys(conn, case_ids: Iterable[int] | None = None, *, patient_id: int | None = None) -> None:
    """Copy the cases' queue sort keys, open status, practice and condition onto their case_flag rows (one
    correlated UPDATE), so the flag-filtered queue reads them in order from a case_flag index. Called with the
    flags' own write and after any change of a case's status, submission time, latest pain, priority, practice
    or condition (see _sync_after_flush)."""
    t, c = cast(Table, CaseFlag.__table__), cast(Table, Case.__table__)
    stmt = update(t).values(
        is_open=_key_from_case(c.c.status.in_(OPEN_CASE_STATUSES)), priority=_key_from_case(c.c.priority),
        submitted_at=_key_from_case(c.c.submitted_at), latest_pain=_key_from_case(c.c.latest_pain),
        practice_id=_key_from_case(c.c.practice_id), condition=_key_from_case(c.c.condition),
        unsubmitted=_key_from_case(c.c.submitted_at.is_(None)))
    if patient_id is not None:
        stmt = stmt.where(t.c.case_id.in_(select(c.c.id).where(c.c.patient_id == patient_id)))
    else:
        ids = sorted(set(case_ids or ()))
        if not ids:
            return
        stmt = stmt.where(t.c.case_id.in_(ids))
    conn.execute(stmt)


_KEY_ATTRS = ("status", "submitted_at", "latest_pain", "priority", "practice_id", "condition")


@sa_event.listens_for(Session, "after_flush")
def _sync_after_flush(session: Session, _ctx) -> None:
    """Every ORM change of a case's status (workflow.move), submission time, latest pain, priority, practice
    or condition reaches its case_flag rows in the same transaction, whichever service made it."""
    ids = [obj.id for obj in session.dirty if isinstance(obj, Case) and obj.id is not None
           and any(sa_inspect(obj).attrs[a].history.has_changes() for a in _KEY_ATTRS)]
    if ids:
        sync_flag_keys(session.connection(), ids)


def recompute_cases(s: Session, case_ids: Iterable[int], today: date | None = None, *,
                    refresh: bool = False) -> dict[int, CaseEvaluation]:
    """Recompute and store flags and priority of these cases inside the caller's transaction. `refresh`: the
    background refresh (see _store); cases a clinician's write recomputed meanwhile are left out of the
    result and kept as stored."""
    today = today or date.today()
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    values = hub_settings.load(s)
    s.flush()
    results = _evaluate(s, ids, today, values, refresh)
    relisted = _relist(s, results, today, values)
    if relisted:  # their status and reason changed: evaluate again so the queue shows why
        results.update(_evaluate(s, relisted, today, values, refresh))
    return results


def _evaluate(s: Session, ids: list[int], today: date, values, refresh: bool = False) -> dict[int, CaseEvaluation]:
    conn = s.connection()
    cases = conn.execute(select(Case.id, Case.patient_id, Case.condition, Case.pain_classification, Case.risk_band,
                             Case.submitted_at, Case.baseline_pain, Case.primary_outcome, Case.status,
                             Case.practice_id, Case.latest_pain,
                             Case.relisted_reason, Case.flags_seq)
                      .where(Case.id.in_(ids))).all()
    records = _records_for(s, cases, today)
    results = {cid: evaluate_case(rec, values) for cid, rec in records.items()}
    overtaken = _store(s, results, today, {c.id: c for c in cases}, refresh=refresh)
    return {cid: ev for cid, ev in results.items() if cid not in overtaken}


def _relist(s: Session, results: dict[int, CaseEvaluation], today: date, values) -> list[int]:
    """Send returned cases back to the queue when a follow-through rule fires; returns their ids.

    Reads in batches (one query per table for all the returned cases, not one per case): the daily
    refresh calls this for thousands of cases at a time."""
    returned = s.execute(select(Case.id, Case.patient_id)
                         .where(Case.id.in_(list(results)), Case.status == "returned")).all()
    if not returned:
        return []
    patient_of = {r.id: r.patient_id for r in returned}
    latest: dict[int, Any] = {}  # case id -> its latest final decision
    for d in s.execute(select(Decision.id, Decision.case_id, Decision.agenda_item_id, Decision.finalised_at,
                              Decision.follow_up_date, Decision.flags_at_decision)
                       .where(Decision.case_id.in_(list(patient_of)), Decision.status == "final",
                              Decision.finalised_at.is_not(None))
                       .order_by(Decision.finalised_at, Decision.id)):
        latest[d.case_id] = d
    if not latest:
        return []
    dids = [d.id for d in latest.values()]
    meeting_day = dict(s.execute(select(AgendaItem.id, Meeting.starts_at)
                                 .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                                 .where(AgendaItem.id.in_([d.agenda_item_id for d in latest.values()]))).all())
    actions: dict[int, list[ActionState]] = defaultdict(list)
    for a in s.execute(select(Action.decision_id, Action.description, Action.due_date, Action.status)
                       .where(Action.decision_id.in_(dids)).order_by(Action.id)):
        actions[a.decision_id].append(ActionState(a.description, a.due_date, a.status == "open"))
    goal_rows = s.execute(select(Goal.id, Goal.decision_id, Goal.target_activity, Goal.performance_quantifier,
                                 Goal.due_date, Goal.achieved_level)
                          .where(Goal.decision_id.in_(dids)).order_by(Goal.position, Goal.id)).all()
    level: dict[int, int] = {}
    if goal_rows:
        for rating in s.execute(select(GoalAttainment.goal_id, GoalAttainment.level)
                                .where(GoalAttainment.goal_id.in_([g.id for g in goal_rows]))
                                .order_by(GoalAttainment.assessed_on, GoalAttainment.id)):
            level[rating.goal_id] = rating.level  # the latest rating wins
    goals: dict[int, list[GoalState]] = defaultdict(list)
    for g in goal_rows:
        goals[g.decision_id].append(GoalState(f"{g.target_activity}, {g.performance_quantifier}", g.due_date,
                                              level.get(g.id, g.achieved_level)))
    follow_ups = [d.follow_up_date for d in latest.values() if d.follow_up_date is not None]
    attended: dict[int, list[date]] = defaultdict(list)
    if follow_ups:
        for r in s.execute(select(Review.patient_id, Review.review_date)
                           .where(Review.patient_id.in_(sorted({patient_of[c] for c in latest})),
                                  Review.attendance == "attended", Review.review_date >= min(follow_ups))
                           .order_by(Review.review_date)):
            attended[r.patient_id].append(r.review_date)
    due: dict[int, list[str]] = {}
    for case_id, d in latest.items():
        review_on = None
        if d.follow_up_date is not None:
            review_on = next((on for on in attended[patient_of[case_id]] if on >= d.follow_up_date), None)
        ev = results[case_id]
        since = ev.since_decision
        important = None
        if since is not None and since.category is not None:
            # 'important' alone also holds for an important deterioration: require an improvement category.
            important = since.category in IMPORTANT_IMPROVEMENT
        state = FollowUpState(
            today=today, decided_on=meeting_day[d.agenda_item_id].date(), follow_up_date=d.follow_up_date,
            actions=tuple(actions[d.id]), goals=tuple(goals[d.id]),
            flags_at_decision=frozenset(d.flags_at_decision or ()),
            current_flags=tuple((f.code, f.label, f.reason) for f in ev.flags if f.severity != "info"),
            follow_up_review_on=review_on, primary_instrument=since.instrument if since else None,
            value_at_decision=since.baseline if since else None, value_latest=since.latest if since else None,
            value_latest_on=since.latest_on if since else None, important_improvement=important)
        reasons = relisting_reasons(state, overdue_days=int(values.get("relist.action_overdue_days", 14)))
        if reasons:
            due[case_id] = reasons
    if not due:
        return []
    relisted = []
    for case in s.scalars(select(Case).where(Case.id.in_(list(due))).order_by(Case.id)):
        reasons = due[case.id]
        change = workflow.move(case, "submitted")
        case.relisted_reason = "Re-listed: " + "; ".join(reasons)
        case.relisted_at = utcnow()
        audit.record(s, None, "case.relist", "case", case.id, {**change, "reasons": reasons})
        relisted.append(case.id)
    s.flush()
    return relisted


def recompute_patient(s: Session, patient_id: int, today: date | None = None) -> None:
    """Recompute every case of a patient (their record changed) inside the caller's transaction."""
    ids = s.scalars(select(Case.id).where(Case.patient_id == patient_id)).all()
    recompute_cases(s, ids, today)


def recompute_all(session_factory: SessionFactory, today: date | None = None) -> int:
    """Recompute every case, in chunks of one transaction each; returns the number of cases."""
    today = today or date.today()
    done = _recompute_where(session_factory, today, [])
    _mark_refreshed(session_factory, today)
    return done


# Statuses whose flags and priority no longer move with the date: a closed case is recomputed when its
# record or a setting changes, not by the daily refresh.
SETTLED_STATUSES = ("closed",)


def recompute_due(session_factory: SessionFactory, today: date | None = None) -> int:
    """The daily refresh: recompute only the cases whose date-dependent rules can change today (every case
    not closed: waiting time, review and PROM windows, due dates of actions and follow-up), skipping those
    already computed today (a write recomputed them). Returns the number of cases recomputed."""
    today = today or date.today()
    done = _recompute_where(session_factory, today, [
        Case.status.not_in(SETTLED_STATUSES),
        or_(Case.flags_computed_on.is_(None), Case.flags_computed_on < today)])
    _mark_refreshed(session_factory, today)
    return done


def _recompute_where(session_factory: SessionFactory, today: date, where: list) -> int:
    done = 0
    last_id = 0
    while True:
        with session_factory.begin() as s:
            ids = s.scalars(select(Case.id).where(Case.id > last_id, *where).order_by(Case.id)
                            .limit(REFRESH_CHUNK)).all()
            if not ids:
                break
            recompute_cases(s, ids, today, refresh=True)
            done += len(ids)
            last_id = ids[-1]
    return done


def _mark_refreshed(session_factory: SessionFactory, today: date) -> None:
    with session_factory.begin() as s:
        row = s.get(Setting, REFRESH_KEY)
        if row is None:
            s.add(Setting(key=REFRESH_KEY, value=today.isoformat()))
        else:
            row.value, row.updated_at = today.isoformat(), utcnow()


def mark_stale(session_factory: SessionFactory) -> None:
    """Forget the last refresh so the next refresh recomputes every case."""
    with session_factory.begin() as s:
        s.execute(delete(Setting).where(Setting.key == REFRESH_KEY))


def refreshed_on(session_factory: SessionFactory) -> date | None:
    """The day flags were last refreshed for every case."""
    with session_factory() as s:
        row = s.get(Setting, REFRESH_KEY)
        return date.fromisoformat(row.value) if row and row.value else None


def refresh_if_stale(session_factory: SessionFactory, today: date | None = None) -> str | None:
    """Run the refresh that is due, in the caller's thread: 'full' (never refreshed, a setting changed, or
    a new year: dates in reasons drop their year), 'daily' (first run of the day) or None (nothing due).
    Callers that may run in several processes hold the worker lock (hub.worker); nothing here starts a
    thread."""
    today = today or date.today()
    last = refreshed_on(session_factory)
    if last is not None and last >= today:
        return None
    if last is None or last.year != today.year:
        recompute_all(session_factory, today)
        return "full"
    recompute_due(session_factory, today)
    return "daily"


def _on_settings_changed(session_factory: SessionFactory, key: str, **_) -> None:
    """A threshold or weight changed: flags and priority of every case are stale (the worker recomputes)."""
    if not key.startswith("security."):
        mark_stale(session_factory)


events.subscribe("settings.changed", _on_settings_changed)
