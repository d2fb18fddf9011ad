"""docs/CLINICAL.md section 8: NHS number validation (Modulus 11)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clinical.identifiers import format_nhs_number, normalise_nhs_number, validate_nhs_number

FAST = settings(max_examples=200, deadline=None)
WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


@pytest.mark.parametrize(
    "s, valid",
    [
        ("9434765919", True),
        ("943 476 5919", True),
        ("9434765918", False),
        ("1745438912", True),
        ("1745438911", False),
        ("4010232137", True),
        ("4000000020", True),  # 11 -> 0 rule
        *[(f"123456789{d}", False) for d in range(10)],  # check 10 -> always invalid
        ("123456789", False),
        ("12345678901", False),
        ("abcdefghij", False),
        ("0000000000", False),  # identical digits: DESIGN DEFAULT
    ],
)
def test_worked_examples(s, valid):
    ok, reason = validate_nhs_number(s)
    assert ok is valid and reason


def test_9999999999_row():
    """The spec's row says 'valid (test range)', but its own DESIGN DEFAULT rejects ten identical digits.

    The Modulus 11 arithmetic does pass (sum 486, remainder 2, check 9); the validator
    keeps the identical-digits rule, so the number is rejected with that reason.
    """
    digits = [9] * 10
    total = sum(d * w for d, w in zip(digits[:9], WEIGHTS))
    assert total == 486 and 11 - total % 11 == 9
    ok, reason = validate_nhs_number("9999999999")
    assert ok is False and "identical" in reason


@pytest.mark.parametrize("s", ["943-476-5919", " 9434765919 "])
def test_hyphens_and_spaces_are_normalised(s):
    assert validate_nhs_number(s)[0] is True
    assert normalise_nhs_number(s) == "9434765919"


@pytest.mark.parametrize("s", ["９４３４７６５９１９", "943476591٩", "9434765919\n", None, "943.476.5919"])
def test_non_ascii_or_other_separators_invalid(s):
    assert validate_nhs_number(s)[0] is False


def test_format():
    assert format_nhs_number("9434765919") == "943 476 5919"


def _with_check(nine: str) -> str | None:
    check = 11 - sum(int(d) * w for d, w in zip(nine, WEIGHTS)) % 11
    check = 0 if check == 11 else check
    return None if check == 10 else nine + str(check)


valid_numbers = st.text("0123456789", min_size=9, max_size=9).map(_with_check).filter(
    lambda n: n is not None and len(set(n)) > 1)


@FAST
@given(valid_numbers)
def test_generated_numbers_are_valid(n):
    assert validate_nhs_number(n) == (True, "valid")
    assert validate_nhs_number(format_nhs_number(n))[0] is True


@FAST
@given(valid_numbers, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_invalid(n, pos, delta):
    changed = n[:pos] + str((int(n[pos]) + delta) % 10) + n[pos + 1:]
    assert validate_nhs_number(changed)[0] is False


@FAST
@given(valid_numbers, st.integers(0, 8))
def test_adjacent_transposition_of_different_digits_is_invalid(n, pos):
    if n[pos] == n[pos + 1]:
        return
    swapped = n[:pos] + n[pos + 1] + n[pos] + n[pos + 2:]
    assert validate_nhs_number(swapped)[0] is False


@FAST
@given(st.text(max_size=14))
def test_never_crashes(s):
    ok, reason = validate_nhs_number(s)
    assert isinstance(ok, bool) and reason
    if ok:
        assert len(normalise_nhs_number(s)) == 10
