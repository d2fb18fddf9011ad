"""docs/CLINICAL.md section 6: SMART goals and GAS T-scores."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical import goals as G

FAST = settings(max_examples=100, deadline=None)
TODAY = date(2025, 3, 1)


def goal(**kw):
    base = dict(
        target_activity="Walk to the shops", support_needed="with a stick", performance_quantifier="20 minutes",
        due_date=date(2025, 6, 1), importance=2, difficulty=2,
        levels={-2: "cannot walk", -1: "5 minutes", 0: "20 minutes", 1: "30 minutes", 2: "45 minutes"},
    )
    base.update(kw)
    return G.Goal(**base)


def test_complete_goal_is_smart():
    assert G.is_smart(goal(), TODAY) == []


@pytest.mark.parametrize("quantifier", [None, "", "   ", "a bit more", "20"])
def test_missing_quantifier_is_not_measurable(quantifier):
    assert G.is_smart(goal(performance_quantifier=quantifier), TODAY) == ["measurable"]


def test_past_due_date_is_not_timed():
    assert G.is_smart(goal(due_date=date(2025, 2, 1)), TODAY) == ["timed"]


@pytest.mark.parametrize(
    "kw, missing",
    [
        ({"target_activity": " "}, ["specific"]),
        ({"importance": 0}, ["relevant"]),
        ({"levels": {}}, ["achievable"]),
        ({"difficulty": 4}, ["achievable"]),
        ({"set_date": date(2025, 6, 1)}, ["timed"]),
        ({"due_date": None, "performance_quantifier": None}, ["measurable", "timed"]),
        ({"performance_quantifier": "3 times/week"}, []),
        ({"performance_quantifier": "twice a week"}, []),
        ({"performance_quantifier": "50%"}, []),
    ],
)
def test_smart_components(kw, missing):
    assert G.is_smart(goal(**kw), TODAY) == missing


@pytest.mark.parametrize(
    "levels, weights, expected",
    [
        ([0, 0, 0], None, 50.00),
        ([-1, 0, 1], None, 50.00),
        ([1, 1, 1], None, 63.69),
        ([2, 2, 2], None, 77.39),
        ([-1, -1, -1], None, 36.31),
        ([-2, -2, -2], None, 22.61),
        ([1, -1, 0], [2, 1, 3], 52.20),
        ([1], None, 60.00),
        ([0, 1, 0, 1], None, 57.25),
    ],
)
def test_gas_t_score_table(levels, weights, expected):
    assert round(G.gas_t_score(levels, weights), 2) == expected


def test_gas_worked_arithmetic():
    assert G.gas_t_score([1, 1, 1]) == pytest.approx(50 + 30 / 4.8 ** 0.5)


@pytest.mark.parametrize(
    "levels, weights",
    [([3], None), ([-3], None), ([], None), ([1, 0], [0, 0]), ([1, 0], [1]), ([True], None), ([0.5], None),
     ([1], [-1]), ("12", None)],
)
def test_gas_invalid(levels, weights):
    with pytest.raises(ValueError):
        G.gas_t_score(levels, weights)


def test_gas_rho_validated():
    with pytest.raises(ValueError):
        G.gas_t_score([1], rho=1)


@FAST
@given(st.lists(st.integers(-2, 2), min_size=1, max_size=8), st.data())
def test_gas_monotone_in_levels(levels, data):
    weights = data.draw(st.lists(st.integers(0, 9), min_size=len(levels), max_size=len(levels)))
    if not any(weights):
        weights[0] = 1
    t = G.gas_t_score(levels, weights)
    i = data.draw(st.integers(0, len(levels) - 1))
    if levels[i] < 2:
        raised = list(levels)
        raised[i] += 1
        assert G.gas_t_score(raised, weights) >= t - 1e-9
    if all(x == 0 for x in levels):
        assert t == pytest.approx(50)


@FAST
@given(st.lists(st.integers(-2, 2), min_size=1, max_size=8))
def test_gas_symmetric(levels):
    assert G.gas_t_score(levels) - 50 == pytest.approx(50 - G.gas_t_score([-x for x in levels]))


def test_goal_helpers():
    assert G.turner_stokes_weight(2, 3) == 6
    goals = [goal(achieved_level=1), goal(achieved_level=-1, importance=1, difficulty=1), goal()]
    assert G.goals_t_score(goals) == pytest.approx(G.gas_t_score([1, -1]))
    assert G.goals_t_score(goals, weighted=True) == pytest.approx(G.gas_t_score([1, -1], [4, 1]))
    assert G.goals_t_score([goal()]) is None
    assert G.gas_target_met(goals) is False and G.gas_target_met([goal(achieved_level=0)]) is True
    assert dataclasses.is_dataclass(goals[0])
