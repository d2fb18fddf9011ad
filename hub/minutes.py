"""Meeting minutes: attendance, quorum and each case's outcome and actions, as Markdown and PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.letter_pdf import _new_pdf, _pdf_render
from hub.letter_text import (
    NONE_RECORDED,
    NOT_RECORDED,
    _b,
    _blk,
    _Block,
    _flat,
    _kv,
    _lines,
    _long,
    _markdown,
    _or,
    format_date,
)
from hub.vocab import DISCIPLINES, label


@dataclass(frozen=True)
class MinutesCase:
    """One agenda item of a meeting: the question, the outcome and its actions."""

    case_label: str
    question: str
    outcome: str
    actions: list[tuple[str, str, date | None]]


@dataclass(frozen=True)
class MinutesData:
    """A meeting's minutes: attendance, quorum and the cases."""

    title: str
    meeting_date: date
    chair_name: str
    video_link: str
    attendees: list[tuple[str, str]]
    quorum_met: bool
    quorum_note: str
    cases: list[MinutesCase]


def _minutes_blocks(m: MinutesData) -> list[_Block]:
    b = [_blk("h1", _or(_flat(m.title), "MDT meeting minutes")),
         _kv("Date", format_date(m.meeting_date)), _kv("Chair", m.chair_name),
         _kv("Video link", m.video_link, "None")]
    b.append(_blk("h2", f"Attendees ({len(m.attendees)})"))
    b += [_blk("li", f"{_flat(n)} ({label(DISCIPLINES, _flat(disc)) or NOT_RECORDED})") for n, disc in m.attendees]
    if not m.attendees:
        b.append(_blk("p", NONE_RECORDED))
    b.append(_blk("h2", "Quorum"))
    b.append(_blk("p", _b("Quorum:"), " met." if m.quorum_met else " NOT met."))
    b += [_blk("p", ln) for ln in _lines(m.quorum_note)]
    b.append(_blk("h2", "Cases"))
    if not m.cases:
        b.append(_blk("p", "No cases on the agenda."))
    for i, c in enumerate(m.cases, 1):
        b.append(_blk("h3", f"{i}. {_or(_flat(c.case_label), 'Case')}"))
        b += _long("Question", c.question)
        b += _long("Outcome", c.outcome)
        b.append(_blk("p", _b("Actions:")))
        if c.actions:
            b += [_blk("li", f"{_or(_flat(desc))} (owner: {_or(_flat(owner))}; due: "
                             f"{format_date(due) or 'no date set'})") for desc, owner, due in c.actions]
        else:
            b.append(_blk("li", "None"))
    return b


def minutes_markdown(m: MinutesData) -> str:
    """The meeting minutes as escaped Markdown."""
    return _markdown(_minutes_blocks(m))


def minutes_pdf(m: MinutesData) -> bytes:
    """The meeting minutes as an A4 PDF."""
    blocks = _minutes_blocks(m)
    title = blocks[0].plain
    pdf = _new_pdf(title, format_date(m.meeting_date), "")
    _pdf_render(pdf, [(b.kind, b.plain) for b in blocks])
    return bytes(pdf.output())
