"""Write races through the services with threads (SQLite and PostgreSQL): every loser of a simultaneous
save, first save, finalise or draft save gets EditConflict (never a raw StaleDataError or IntegrityError),
nothing is lost or duplicated, and the audit chain stays intact."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from db.models import Action, Case, Decision, Letter
from hub import audit, cases, decisions, meetings
from hub.errors import EditConflict
from test_meetings import STARTS, full_form, submit

N = 6


def _race(calls):
    """Run the callables together (barrier); returns (results, exceptions) in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - the test inspects every outcome
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results, errors


def _item(world):
    submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    return meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id


def _only_edit_conflicts(errors):
    losers = [e for e in errors if e is not None]
    assert all(isinstance(e, EditConflict) for e in losers), [type(e).__name__ + ": " + str(e) for e in losers]
    return losers


def test_first_saves_racing_one_wins_the_others_get_edit_conflict(world):
    item = _item(world)

    def save(i):
        form = full_form(STARTS.date())
        form.formulation = f"Formulation {i}"
        return lambda: decisions.save(world.sf, world.chair, item, form, 0)

    results, errors = _race([save(i) for i in range(N)])
    losers = _only_edit_conflicts(errors)
    assert len(losers) == N - 1
    winner = next(i for i, r in enumerate(results) if r is not None)
    with world.sf() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1
    assert decisions.load(world.sf, world.chair, item).form.formulation == f"Formulation {winner}"
    assert audit.verify(world.sf).ok


def test_simultaneous_saves_of_one_version_one_wins_nothing_lost(world):
    item = _item(world)
    v = decisions.save(world.sf, world.chair, item, full_form(STARTS.date()), 0)

    def save(i):
        form = full_form(STARTS.date())
        form.formulation = f"Edit {i}"
        return lambda: decisions.save(world.sf, world.chair, item, form, v)

    results, errors = _race([save(i) for i in range(N)])
    losers = _only_edit_conflicts(errors)
    assert len(losers) == N - 1
    winner = next(i for i, r in enumerate(results) if r is not None)
    state = decisions.load(world.sf, world.chair, item)
    assert state.form.formulation == f"Edit {winner}" and state.version == results[winner]
    assert audit.verify(world.sf).ok


def test_double_finalise_makes_one_letter_and_one_set_of_actions(world):
    item = _item(world)
    v = decisions.save(world.sf, world.chair, item, full_form(STARTS.date()), 0)
    results, errors = _race([lambda: decisions.finalise(world.sf, world.chair, item, v) for _ in range(N)])
    losers = _only_edit_conflicts(errors)
    assert len(losers) == N - 1
    with world.sf() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 1
        assert s.scalar(select(func.count()).select_from(Action)) == 2  # the form's two recommendations
        assert s.scalar(select(Decision.status)) == "final"
    assert audit.verify(world.sf).ok


def test_simultaneous_draft_saves_one_wins(world):
    from hub.cases import CaseInput, NewPatient
    from hub.vocab import RED_FLAGS

    inp = CaseInput(new_patient=NewPatient(nhs_number="9434765919", given_name="D", family_name="Raft",
                                           birth_year=1970, sex="male"),
                    condition="knee_oa", pain_classification="secondary", clinical_question="Draft?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=5, risk_tool="start_msk",
                    risk_band="low", goals_text="Walk")
    saved = cases.save_case(world.sf, world.pcp_a, inp)
    with world.sf() as s:
        version = s.get(Case, saved.case_id).version
        patient_id = s.get(Case, saved.case_id).patient_id

    def save(i):
        edit = CaseInput(patient_id=patient_id, condition="knee_oa", pain_classification="secondary",
                         clinical_question=f"Draft question {i}?", red_flags={k: False for k in RED_FLAGS},
                         baseline_pain=5, risk_tool="start_msk", risk_band="low", goals_text="Walk")
        return lambda: cases.save_case(world.sf, world.pcp_a, edit, case_id=saved.case_id, expected_version=version)

    results, errors = _race([save(i) for i in range(N)])
    losers = _only_edit_conflicts(errors)
    assert len(losers) == N - 1
    winner = next(i for i, r in enumerate(results) if r is not None)
    with world.sf() as s:
        assert s.get(Case, saved.case_id).clinical_question == f"Draft question {winner}?"
    assert audit.verify(world.sf).ok
