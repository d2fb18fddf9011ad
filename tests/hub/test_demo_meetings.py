"""Demo meetings on the seeded demo cohort (SQLite and PostgreSQL): two past finalised meetings with final
decisions, actions and letters, their follow-through, an upcoming meeting with a proposed agenda and
preparation, minutes for every meeting, and determinism for a given seed and day (one test per backend, as seeding
the cohort dominates its time)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, make_session_factory, upgrade_to_head
from db.models import (
    Action,
    AgendaItem,
    Attendance,
    AuditEvent,
    Case,
    Decision,
    DisciplineInput,
    Letter,
    Meeting,
    Recommendation,
)
from hub import correspondence, demo, flags, inbox, letters, vocab
from hub.auth import actor_for
from hub.clinical.goals import GAS_LEVELS
from hub.clinical.signals import JUST_CODES
from hub.demo.meetings import seed_demo_meetings

# The services stamp finalisation, completion and follow-through checks with the real date, so the demo
# is seeded for today.
TODAY = date.today()


def _seed(sf, seed: int = 2026) -> dict:
    demo.seed_demo(sf, today=TODAY)
    flags.recompute_all(sf, TODAY)
    return seed_demo_meetings(sf, today=TODAY, seed=seed)


def _decision_texts(sf) -> dict[int, tuple]:
    """Everything a decision says, by case id (ids are stable on a fresh database)."""
    with sf() as s:
        out = {}
        for d in s.scalars(select(Decision).order_by(Decision.id)):
            out[d.case_id] = (
                d.status, d.formulation, d.pathway_step, d.answer, d.flag_responses, d.what_matters,
                d.beliefs_concerns, d.options_discussed, d.option_preferred, d.options_declined,
                d.discussed_with_patient, d.mdt_options, d.agreed_plan, d.allergies, d.safety_netting,
                d.primary_outcome, d.follow_up_date,
                [(r.kind, r.description, r.drug, r.owner_role, r.due_date, r.for_patient) for r in d.recommendations],
                [(g.target_activity, g.support_needed, g.performance_quantifier, g.due_date, g.importance,
                  g.difficulty, g.levels, g.baseline_level) for g in d.goals])
        agendas = [tuple(s.execute(select(AgendaItem.case_id, AgendaItem.status, AgendaItem.carried_from_meeting_id)
                                   .where(AgendaItem.meeting_id == m).order_by(AgendaItem.position)).all())
                   for m in s.scalars(select(Meeting.id).order_by(Meeting.starts_at))]
    return {"decisions": out, "agendas": agendas}


def test_demo_meetings_tell_a_consistent_story_and_are_deterministic(sf, database_url, tmp_path):
    demo.seed_demo(sf, today=TODAY)
    flags.recompute_all(sf, TODAY)
    with sf() as s:
        discussed_in_story = dict(s.execute(select(Case.id, Case.status)
                                            .where(Case.status.in_(("returned", "closed")))).all())
    started = time.perf_counter()
    counts = seed_demo_meetings(sf, today=TODAY)
    elapsed = time.perf_counter() - started
    if database_url.startswith("sqlite"):
        assert elapsed < 30, f"seeding the demo meetings took {elapsed:.1f}s"
    chair = actor_for(sf, "chair")

    with sf() as s:
        past = s.scalars(select(Meeting).where(Meeting.status == "finalised").order_by(Meeting.starts_at)).all()
        upcoming = s.scalars(select(Meeting).where(Meeting.status == "planned")).all()
        assert len(past) >= 2 and counts["finalised_meetings"] == len(past)
        assert all(m.starts_at.date() < TODAY - timedelta(days=14) for m in past)
        # About 5 and 3 weeks ago.
        assert 30 <= (TODAY - past[0].starts_at.date()).days <= 42
        assert 16 <= (TODAY - past[1].starts_at.date()).days <= 28

        # One meeting without psychology, finalised with a recorded reason; the other quorate.
        present = {m.id: {a.discipline for a in s.scalars(select(Attendance).where(Attendance.meeting_id == m.id))}
                   for m in past}
        assert any({"pain_medicine", "physiotherapy", "psychology", "pharmacy"} <= d for d in present.values())
        without = [m for m in past if "psychology" not in present[m.id]]
        assert without and all(len((m.quorum_override_reason or "").strip()) >= 10 for m in without)

        # Every case of the demo story that was discussed is on a past agenda with a final decision.
        items = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id.in_([m.id for m in past]))).all()
        assert len(items) >= 6
        discussed = {i.case_id for i in items if i.status == "discussed"}
        assert set(discussed_in_story) <= discussed
        for cid, status in discussed_in_story.items():
            now = s.get(Case, cid).status
            assert now == status or (status == "returned" and now == "submitted"), (cid, status, now)

        # Carried forward: undiscussed cases on each past agenda, and carried items on later agendas.
        for m in past:
            assert any(i.status == "carried_forward" for i in items if i.meeting_id == m.id)
        assert s.scalar(select(func.count()).select_from(AgendaItem)
                        .where(AgendaItem.carried_from_meeting_id.is_not(None))) >= 2

        # The upcoming meeting: 3 days ahead, agenda proposed (carried cases first), preparation, no attendance.
        assert len(upcoming) == 1
        up = upcoming[0]
        assert up.starts_at.date() == TODAY + timedelta(days=3)
        agenda = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == up.id)
                           .order_by(AgendaItem.position)).all()
        assert len(agenda) >= 3 and all(i.status == "pending" for i in agenda)
        carried = [i.carried_from_meeting_id is not None for i in agenda]
        assert carried[0] and carried == sorted(carried, reverse=True)
        assert all(i.case.status == "scheduled" for i in agenda)
        prep = s.scalars(select(DisciplineInput).where(DisciplineInput.agenda_item_id.in_([i.id for i in agenda])))
        assert {p.discipline for p in prep} == {"physiotherapy", "psychology"}
        assert s.scalar(select(func.count()).select_from(Attendance).where(Attendance.meeting_id == up.id)) == 0

        # Decisions: final, complete, typed; one letter each containing the referral question.
        ds = s.scalars(select(Decision)).all()
        assert len(ds) == counts["decisions"] >= 6
        responses = []
        for d in ds:
            case = s.get(Case, d.case_id)
            item = s.get(AgendaItem, d.agenda_item_id)
            day = s.get(Meeting, item.meeting_id).starts_at.date()
            assert d.status == "final" and item.status == "discussed"
            assert d.formulation and d.answer and d.allergies and d.pathway_step in vocab.PATHWAY_STEP_LABELS
            assert d.what_matters and d.beliefs_concerns and d.agreed_plan and d.safety_netting
            assert d.primary_outcome in ("peg", "nrs", "mskhq", "odi")
            assert 42 <= (d.follow_up_date - day).days <= 70
            assert 2 <= len(d.recommendations) <= 4
            assert all(r.due_date >= day and (r.owner_role or r.owner_user_id) for r in d.recommendations)
            if (case.ome_total or 0) >= 90:
                assert any(r.kind == "taper_medicine" for r in d.recommendations), d.case_id
            assert d.goals and all(set(map(int, g.levels)) == set(GAS_LEVELS) and g.due_date > day for g in d.goals)
            # each goal is linked to a recommendation of the same decision meant to achieve it
            assert all(g.recommendation_id in {r.id for r in d.recommendations} for g in d.goals), d.case_id
            responses += list(d.flag_responses.values())
            letter = s.scalar(select(Letter).where(Letter.decision_id == d.id))
            assert letter is not None
            assert letters.escape_markdown(case.clinical_question) in letter.body_markdown
        assert any(r["response"] == "change" for r in responses)
        assert any(r["response"] == "restraint" and r.get("reason_code") in JUST_CODES for r in responses)
        owners = {r.owner_role for r in s.scalars(select(Recommendation))}
        assert {"pcp", "physiotherapy", "psychology", "pharmacy"} <= owners

        # Actions: owners and due dates; about half done by their owners, some open and overdue.
        acts = s.scalars(select(Action)).all()
        assert len(acts) == counts["actions"] == sum(len(d.recommendations) for d in ds)
        assert all(a.due_date is not None and (a.owner_user_id or a.owner_role) for a in acts)
        done = [a for a in acts if a.status == "done"]
        overdue = [a for a in acts if a.status == "open" and a.due_date < TODAY]
        assert 0.3 * len(acts) <= len(done) <= 0.7 * len(acts)
        assert overdue
        assert all(a.note and a.completed_by is not None for a in done)
        for a in done:
            if a.owner_user_id is not None:
                assert a.completed_by == a.owner_user_id

        # Letters: most acknowledged by the referring practice, one or two still new.
        ls = s.scalars(select(Letter)).all()
        unread = [x for x in ls if x.status == "sent"]
        assert len(ls) == counts["letters"] == len(ds)
        assert 1 <= len(unread) <= 2
        assert all(x.acknowledged_by is not None for x in ls if x.status == "acknowledged")
        unread_practices = {s.get(Case, x.case_id).practice_id for x in unread}

        # Real audit trail, by the demo users.
        events = dict(s.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all())
        assert events.get("decision.finalise") == len(ds)
        assert events.get("letter.acknowledge") == len(ls) - len(unread)
        assert events.get("action.complete") == len(done)
        assert events.get("preparation.save", 0) >= 2

    # The PCP inbox shows new letters; every meeting's minutes list its cases.
    gp = next(actor_for(sf, u["username"]) for u in demo.DEMO_USERS if "pcp" in u["roles"]
              and actor_for(sf, u["username"]).practice_id in unread_practices)
    box = inbox.inbox(sf, gp, TODAY)
    assert any(x.status == "sent" for x in box.letters)
    with sf() as s:
        meeting_ids = s.scalars(select(Meeting.id)).all()
    for mid in meeting_ids:
        with sf() as s:
            agenda_cases = s.scalars(select(AgendaItem.case_id).where(AgendaItem.meeting_id == mid)
                                     .order_by(AgendaItem.position)).all()
        mins = correspondence.minutes(sf, chair, mid)
        assert [c.case_label.split(" · ")[0] for c in mins.cases] == [f"Case {cid}" for cid in agenda_cases]
        assert all(c.question for c in mins.cases)

    with pytest.raises(RuntimeError):
        seed_demo_meetings(sf, today=TODAY)

    # Deterministic: the same seed and day on another fresh database (SQLite) gives the same decisions
    # and agendas (on the PostgreSQL run this also compares across backends).
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade_to_head(engine)
    try:
        again = make_session_factory(engine)
        assert _seed(again) == counts
        first, second = _decision_texts(sf), _decision_texts(again)
    finally:
        engine.dispose()
    assert first["decisions"] and first == second


