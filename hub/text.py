"""One validator for every free-text field the hub stores: control characters refused, one length
limit per kind of field, and the same message wherever the field is.

`clean_text(value, kind)` returns the text stripped of surrounding white space, with Windows line
ends made "\\n", or raises ValidationError naming the field and what to fix. Single-line kinds
(names, titles, short text, links, search terms) refuse line breaks and tabs; multi-line kinds
(notes, long text) allow "\\n" and "\\t". Every other control character (NUL, escape, backspace,
...) and lone surrogates are refused everywhere: PostgreSQL cannot store a NUL at all, and the others
are never typed by a person (they come from pasted binary or an attack).

A session-level guard (`install_flush_guard`) refuses the same characters in any string attribute
flushed to the database, so a field a service forgot still gives a clear ValidationError rather
than a database error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ValidationError


@dataclass(frozen=True)
class TextKind:
    """A kind of free-text field: its maximum length in characters and whether it may span lines."""

    max_length: int
    multiline: bool
    what: str  # how the message names it when no label is given


# One limit per kind. The String(N) columns are at least as wide as the kind stored in them.
KINDS: dict[str, TextKind] = {
    "name": TextKind(100, False, "name"),  # a person's given, family or display name
    "title": TextKind(200, False, "title"),  # a meeting title, a treatment name
    "short": TextKind(200, False, "text"),  # a drug, a dose, one line of text
    "link": TextKind(500, False, "link"),
    "search": TextKind(100, False, "search"),
    "note": TextKind(2000, True, "note"),  # notes, comments, reasons, preparation
    "long": TextKind(4000, True, "text"),  # clinical question, goals, formulation, plan
}

_LINE_BREAKS = re.compile(r"\r\n?")


def _bad_character(text: str, multiline: bool) -> str | None:
    """A description of the first character the kind refuses, or None."""
    for i, c in enumerate(text):
        if c in "\n\t" and multiline:
            continue
        cat = unicodedata.category(c)
        if cat == "Cc" or cat == "Cs" or c in "\u2028\u2029":
            if c == "\x00":
                name = "a NUL character (\\x00)"
            elif c in "\n\r\u2028\u2029":
                name = "a line break"
            elif c == "\t":
                name = "a tab"
            else:
                name = f"a control character (U+{ord(c):04X})"
            return f"{name} at position {i + 1}"
    return None


def clean_text(value: str | None, kind: str, *, field: str = "text", label: str | None = None,
               required: bool = False) -> str:
    """The text to store for a free-text field of `kind`, or ValidationError({field: message}).

    None is the empty string. `label` names the field in the message (default: the kind's name).
    `required` refuses an empty (or blank) text."""
    spec = KINDS[kind]
    what = label or spec.what
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: f"The {what} must be text."})
    text = _LINE_BREAKS.sub("\n", value).strip()
    bad = _bad_character(text, spec.multiline)
    if bad:
        hint = ("write it on one line" if not spec.multiline and ("line break" in bad or "tab" in bad)
                else "remove it (it may have come from pasting from another program)")
        raise ValidationError({field: f"The {what} contains {bad}; {hint}."})
    if len(text) > spec.max_length:
        raise ValidationError({field: f"Keep the {what} to {spec.max_length:,} characters or fewer "
                                      f"(it has {len(text):,})."})
    if required and not text:
        raise ValidationError({field: f"Enter the {what}."})
    return text


def check_text(errors: dict[str, str], field: str, value: str | None, kind: str, *, label: str | None = None,
               required: bool = False) -> str:
    """clean_text for services that collect every field's problem: the message goes into `errors`
    (the field's first problem wins) and the cleaned (or original) text is returned."""
    try:
        return clean_text(value, kind, field=field, label=label, required=required)
    except ValidationError as exc:
        errors.setdefault(field, exc.errors[field])
        return value if isinstance(value, str) else ""


def clean_optional(value: str | None, kind: str, **kw) -> str | None:
    """clean_text, with None (or blank) kept as None."""
    text = clean_text(value, kind, **kw)
    return text or None


# ----------------------------------------------------------------------------- flush guard


def _refuse_control_characters(session: Session, _flush_context, _instances) -> None:
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)
            if isinstance(value, str):
                bad = _bad_character(value.replace("\r", ""), multiline=True)  # CR of a CRLF is harmless
                if bad:
                    raise ValidationError({attr.key: f"The {attr.key.replace('_', ' ')} contains {bad}; remove it."})


def install_flush_guard(factory: sessionmaker) -> sessionmaker:
    """Refuse control characters (other than newline and tab) in every string column flushed.

    Installed once per factory, marked on the factory itself. (`event.contains` was used before: SQLAlchemy's
    event registry keys a listener by the target's id(), so a new factory at the address of a collected one
    whose Session class was not yet collected was seen as already guarded, and got no guard; a test saw it.)"""
    if not getattr(factory, "_hub_flush_guard", False):
        event.listen(factory, "before_flush", _refuse_control_characters)
        setattr(factory, "_hub_flush_guard", True)
    return factory


# ----------------------------------------------------------------------------- identifiers

MAX_ID = 2**31 - 1  # the largest value of an INTEGER primary key on PostgreSQL (and what SQLite accepts here)


def parse_id(raw: object) -> int | None:
    """An identifier from outside (an address, a form): a whole number from 1 to MAX_ID, else None.

    Digits only, so '1e3', '+5', ' 7' or '٣' (a non-ASCII digit) are refused, and a number too large
    for the database never reaches it (it would fail with an overflow instead of 'no such case')."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_ID else None
    text = str(raw) if raw is not None else ""
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def refuse_nul_parameters(_conn, _cursor, _statement, parameters, _context, executemany) -> None:
    """PostgreSQL cannot hold a NUL character in text: refuse it with a ValidationError before the driver
    fails with a DataError that quotes the SQL (services validate text first; this is the backstop,
    e.g. for a login name or a search term)."""
    for row in (parameters if executemany else (parameters,)):
        values = row.values() if isinstance(row, dict) else (row or ())
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValidationError({"text": "The text contains a NUL character (\\x00), which cannot be stored; "
                                           "remove it (it may have come from pasting from another program)."})


def _register_guards() -> None:
    """The domain's last-line guards on every session factory and server engine made after this import
    (db.engine keeps the registries, so the database layer never imports the domain). Importing any service
    imports this module; hub.bootstrap imports it before it makes the app's engine."""
    from db import engine

    if install_flush_guard not in engine.SESSION_FACTORY_GUARDS:
        engine.SESSION_FACTORY_GUARDS.append(install_flush_guard)
    if refuse_nul_parameters not in engine.SERVER_QUERY_GUARDS:
        engine.SERVER_QUERY_GUARDS.append(refuse_nul_parameters)


_register_guards()
