"""What an invitation link is: its random token (only the SHA-256 is stored), the client key of the rate limit,
the link URL and its QR code, the states of an invitation, and the item sets a clinician can choose per
occasion. Moved out of hub.invitations, which re-exports these names."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any


from db.models import (
    Invitation,
    utcnow,
)
from hub import patient_text as text
from hub.errors import HubError, ValidationError
from hub.vocab import INVITATION_OCCASIONS


RATE_WINDOW = timedelta(minutes=15)
TOKEN_BYTES = 32
FOLLOW_UP_LEAD_DAYS = 7  # a scheduled follow-up link can be issued this many days before its due date
PATIENT = {"by": "patient"}
DEFAULT_SET = {
    "baseline": ["phq9", "gad7", "what_matters", "goals"],
    "pre_meeting": ["phq9", "gad7", "what_matters", "goals", "questions"],
    "follow_up": ["phq9", "gad7", "pgic", "what_matters", "goals"],
}
SCORED = ("nrs", "peg", "mskhq", "phq9", "gad7")
STATES = {"scheduled": "Scheduled", "open": "Waiting for the patient", "expired": "Expired (not completed)",
          "completed": "Completed", "revoked": "Revoked"}


class InvitationUnavailable(HubError):
    """The link is wrong, expired, used or revoked, or lookups are rate limited (deliberately not saying which)."""


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a link token: the only form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def client_key(address: str | None) -> str:
    """What the rate limit stores about a client: the SHA-256 of its address (never the address)."""
    return hashlib.sha256(f"invitation-client:{address or 'unknown'}".encode("utf-8")).hexdigest()


def link_for(token: str, base_url: str = "") -> str:
    """The patient's link: the app's home address with ?invite=TOKEN (base_url '' gives the relative form).

    The home address always runs app.py, which routes the link before the login gate (a fresh server process
    resolves other paths against the pages folder first)."""
    return f"{base_url.rstrip('/')}/?invite={token}"


def qr_png(url: str) -> bytes:
    """The link as a QR code (PNG bytes, pure Python via pypng) for a letter or a screen the patient scans."""
    import io

    import qrcode
    from qrcode.image.pure import PyPNGImage

    img = qrcode.make(url, image_factory=PyPNGImage, box_size=8, border=4)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def state_of(inv: Invitation, now: datetime | None = None) -> str:
    """scheduled, open, expired, completed or revoked (expiry is derived from the clock)."""
    now = now or utcnow()
    if inv.status == "open" and inv.expires_at is not None and inv.expires_at <= now:
        return "expired"
    return inv.status


def default_items(occasion: str, primary_outcome: str | None = None) -> list[str]:
    """The default set for an occasion: the case's primary pain outcome (NRS unless PEG/MSK-HQ is licensed)
    first, then the occasion's questionnaires and free-text questions."""
    primary = primary_outcome if primary_outcome in ("nrs", "peg", "mskhq") else "nrs"
    if not text.availability(primary)[0]:
        primary = "nrs"
    return [primary, *DEFAULT_SET[occasion]]


def item_choices(occasion: str) -> list[dict[str, Any]]:
    """What a clinician can pick for an occasion, with whether it is available and why not."""
    rows = []
    for code, label in text.SET_LABELS.items():
        ok, why = text.availability(code)
        if code == "questions" and occasion != "pre_meeting":
            ok, why = False, "Only before a hub meeting."
        if code == "pgic" and occasion != "follow_up":
            ok, why = False, "Only at follow-up (it asks about change since care started)."
        rows.append({"code": code, "label": label, "available": ok, "reason": why})
    return rows


def validate_items(items: list[str], occasion: str) -> list[str]:
    """The chosen set, checked: known, allowed for the occasion and by licence, not empty."""
    if occasion not in INVITATION_OCCASIONS:
        raise ValidationError({"occasion": "Choose when this is: baseline, before a hub meeting, or follow-up."})
    allowed = {r["code"]: r for r in item_choices(occasion)}
    chosen = [c for c in dict.fromkeys(items or []) if c]
    if not chosen:
        raise ValidationError({"items": "Choose at least one questionnaire or question for the patient."})
    errors = [allowed[c]["label"] + ": " + allowed[c]["reason"] if c in allowed else f"Unknown item {c!r}."
              for c in chosen if c not in allowed or not allowed[c]["available"]]
    if errors:
        raise ValidationError({"items": " ".join(errors)})
    return chosen


