"""Meeting minutes: attendance, quorum and each case's outcome and actions, as Markdown and PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.letter_pdf import new_pdf, pdf_render
from hub.letter_text import (
    NONE_RECORDED,
    NOT_RECORDED,
    strong,
    make_block,
    TextBlock,
    flat,
    kv_block,
    text_lines,
    long_field,
    to_markdown,
    or_default,
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


def _minutes_blocks(m: MinutesData) -> list[TextBlock]:
    b = [make_block("h1", or_default(flat(m.title), "MDT meeting minutes")),
         kv_block("Date", format_date(m.meeting_date)), kv_block("Chair", m.chair_name),
         kv_block("Video link", m.video_link, "None")]
    b.append(make_block("h2", f"Attendees ({len(m.attendees)})"))
    b += [make_block("li", f"{flat(n)} ({label(DISCIPLINES, flat(disc)) or NOT_RECORDED})") for n, disc in m.attendees]
    if not m.attendees:
        b.append(make_block("p", NONE_RECORDED))
    b.append(make_block("h2", "Quorum"))
    b.append(make_block("p", strong("Quorum:"), " met." if m.quorum_met else " NOT met."))
    b += [make_block("p", ln) for ln in text_lines(m.quorum_note)]
    b.append(make_block("h2", "Cases"))
    if not m.cases:
        b.append(make_block("p", "No cases on the agenda."))
    for i, c in enumerate(m.cases, 1):
        b.append(make_block("h3", f"{i}. {or_default(flat(c.case_label), 'Case')}"))
        b += long_field("Question", c.question)
        b += long_field("Outcome", c.outcome)
        b.append(make_block("p", strong("Actions:")))
        if c.actions:
            b += [make_block("li", f"{or_default(flat(desc))} (owner: {or_default(flat(owner))}; due: "
                             f"{format_date(due) or 'no date set'})") for desc, owner, due in c.actions]
        else:
            b.append(make_block("li", "None"))
    return b


def minutes_markdown(m: MinutesData) -> str:
    """The meeting minutes as escaped Markdown."""
    return to_markdown(_minutes_blocks(m))


def minutes_pdf(m: MinutesData) -> bytes:
    """The meeting minutes as an A4 PDF."""
    blocks = _minutes_blocks(m)
    title = blocks[0].plain
    pdf = new_pdf(title, format_date(m.meeting_date), "")
    pdf_render(pdf, [(b.kind, b.plain) for b in blocks])
    return bytes(pdf.output())
