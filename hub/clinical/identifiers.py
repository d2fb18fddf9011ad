"""NHS number validation (docs/CLINICAL.md section 8, Modulus 11)."""

from __future__ import annotations

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_nhs_number(s: str) -> str:
    """Strip spaces and hyphens from an NHS number as typed."""
    return "".join(ch for ch in str(s) if ch not in " -")


def format_nhs_number(s: str) -> str:
    """Display an NHS number in the 3 3 4 format (e.g. '943 476 5919')."""
    n = normalise_nhs_number(s)
    return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else n


def nhs_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit of an NHS number's first nine digits; None when it would be 10 (such
    numbers are never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def validate_nhs_number(s: str) -> tuple[bool, str]:
    """Check an NHS number by Modulus 11; returns (valid, reason)."""
    if s is None:
        return False, "NHS number is required."
    n = normalise_nhs_number(s)
    if len(n) != 10 or not n.isascii() or not n.isdigit():
        return False, "NHS number must be exactly 10 digits (spaces and hyphens are allowed)."
    if len(set(n)) == 1:
        return False, "NHS number cannot be ten identical digits."
    check = nhs_check_digit(n[:9])
    if check is None:
        return False, "NHS number is not valid: its check digit cannot be computed (Modulus 11 gives 10)."
    if check != int(n[9]):
        return False, "NHS number is not valid: the check digit does not match. Check for a typing error."
    return True, "valid"
