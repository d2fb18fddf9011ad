"""The hazard log (docs/hazard-log): the document is generated from the data, every control names tests
that exist, and every hazard of the clinical safety review is in it."""

from __future__ import annotations

import pytest

from hub import hazard_log


@pytest.fixture(scope="module")
def log():
    return hazard_log.load()


def test_document_is_generated_from_the_data(log):
    header, hazards = log
    assert hazard_log.DOCUMENT.read_text(encoding="utf-8") == hazard_log.render(header, hazards), (
        "docs/hazard-log/HAZARD-LOG.md is out of date: run python -m hub.hazard_log")


def test_every_control_test_exists(log):
    _, hazards = log
    missing, pending = hazard_log.missing_tests(hazards)
    assert missing == [], "the hazard log names tests that do not exist:\n" + "\n".join(missing)
    # Only the letter hazards may wait for the other branch's test file.
    assert all(p.split(":")[0] in ("H3", "H4", "H5", "H6") for p in pending), pending


def test_a_missing_control_test_is_reported(log):
    _, hazards = log
    h = hazards[0]
    fake = hazard_log.Hazard(h.id, h.title, h.cause, h.effect, h.initial, h.residual,
                             (hazard_log.Control("x", ("tests/hub/test_safety_rules.py::test_does_not_exist",)),))
    missing, _ = hazard_log.missing_tests([fake], collected={"tests/hub/test_safety_rules.py::test_other"})
    assert missing == ["H1: tests/hub/test_safety_rules.py::test_does_not_exist"]


def test_the_log_holds_h1_to_h12_and_the_existing_controls(log):
    header, hazards = log
    ids = [h.id for h in hazards]
    assert ids[:12] == [f"H{i}" for i in range(1, 13)]
    assert {"X1", "X2", "X3", "X4", "X5"} <= set(ids)
    for h in hazards:
        assert h.controls and all(c.tests for c in h.controls)
        assert h.residual_risk <= h.initial_risk
    assert "Clinical Safety Officer" in header["status"]


@pytest.mark.parametrize("severity, likelihood, rating", [(1, 1, 1), (5, 5, 5), (5, 1, 3), (1, 5, 3), (3, 3, 3),
                                                          (4, 2, 3), (2, 4, 3)])
def test_dcb0129_matrix(severity, likelihood, rating):
    assert hazard_log.risk(severity, likelihood) == rating
    with pytest.raises(ValueError):
        hazard_log.risk(0, 3)
