"""PDF rendering of outcome letters and minutes with fpdf2 and the DejaVu Sans fonts shipped in ``hub/fonts``
(Unicode names, "≥", "→"): A4, a header (title and NHS number) and page numbers."""

from __future__ import annotations

import re
from pathlib import Path

from hub.letter_text import (
    DEMOGRAPHICS,
    LETTER_TITLE,
    MANDATORY,
    NONE_RECORDED,
    PLAN_SUBHEADINGS,
    Letter,
    draft_banner,
    flat,
    missing_text,
    parse_table_line,
    table_line,
    unescape_markdown,
)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
_SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT = "DejaVu"
_NB_ALIAS = "{hub-nb}"  # total-pages alias; unlike fpdf2's "{nb}" it will not occur in clinical text


def _font_file(name: str) -> Path:
    for folder in (FONT_DIR, _SYSTEM_FONT_DIR):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {FONT_DIR} (ship hub/fonts/{name})")


def new_pdf(title: str, right: str, footer_note: str):
    from fpdf import FPDF  # imported here so the Markdown API works without fpdf2

    class _PDF(FPDF):
        def header(self) -> None:
            self.set_font(_FONT, "B", 10)
            right_w = self.get_string_width(right) + 2 if right else 0
            self.set_text_color(60, 60, 60)
            if right and self.get_string_width(title) + right_w + 4 < self.epw:
                self.cell(self.epw - right_w, 6, title)
                self.set_font(_FONT, "", 10)
                self.cell(right_w, 6, right, align="R", new_x="LMARGIN", new_y="NEXT")
            else:
                self.multi_cell(0, 5, title, new_x="LMARGIN", new_y="NEXT")
                if right:
                    self.set_font(_FONT, "", 10)
                    self.multi_cell(0, 5, right, new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.set_text_color(0, 0, 0)
            self.ln(5)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(_FONT, "", 8)
            self.set_text_color(90, 90, 90)
            text = f"Page {self.page_no()} of {_NB_ALIAS}"
            if footer_note:
                text = f"{footer_note}   ·   {text}"
            self.cell(0, 5, text, align="C")
            self.set_text_color(0, 0, 0)

    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(_FONT, "", str(_font_file("DejaVuSans.ttf")))
    pdf.add_font(_FONT, "B", str(_font_file("DejaVuSans-Bold.ttf")))
    pdf.alias_nb_pages(_NB_ALIAS)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(title)
    pdf.set_creator("MSK Pain Hub")
    pdf.add_page()
    return pdf


_PDF_STYLE = {  # kind -> (style, size, line height, space before)
    "h1": ("B", 15, 7.5, 0), "h2": ("B", 12.5, 6.5, 4), "h3": ("B", 11, 5.5, 2.5),
    "banner": ("B", 10.5, 5.5, 1), "p": ("", 10, 5, 1), "kv": ("", 10, 5, 0.5),
    "li": ("", 10, 5, 0.5), "li2": ("", 9.5, 4.8, 0),
}


def _pdf_table(pdf, rows: list[list[str]]) -> None:
    pdf.ln(1)
    pdf.set_font(_FONT, "", 9)
    with pdf.table(text_align="LEFT", line_height=4.8, padding=1) as table:
        for i, cells in enumerate(rows):
            row = table.row()
            for c in cells:
                row.cell(c)
    pdf.ln(1)


def pdf_render(pdf, lines: list[tuple[str, str]]) -> None:
    """Write (kind, plain text) lines: headings bold and kept with what follows, bullets indented, runs of
    'row' lines as one table (first row the header)."""
    rows: list[list[str]] = []
    for kind, text in lines + [("end", "")]:
        if kind == "row":
            rows.append(parse_table_line(text))
            continue
        if rows:
            width = max(len(r) for r in rows)
            _pdf_table(pdf, [r + [""] * (width - len(r)) for r in rows])
            rows = []
        if kind == "end":
            break
        style, size, h, before = _PDF_STYLE.get(kind, _PDF_STYLE["p"])
        if before:
            pdf.ln(before)
        if kind in ("h1", "h2", "h3") and pdf.get_y() > pdf.page_break_trigger - 25:
            pdf.add_page()
        pdf.set_font(_FONT, style, size)
        if kind in ("li", "li2"):
            indent = 4 if kind == "li" else 10
            bullet = "•" if kind == "li" else "–"
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(4, h, bullet)
            pdf.multi_cell(pdf.epw - indent - 4, h, text, align="L", new_x="LMARGIN", new_y="NEXT")
        elif kind == "banner":
            pdf.set_fill_color(255, 235, 205)
            pdf.multi_cell(0, h, text, fill=True, border=1, padding=1.5, align="L", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(0, h, text, align="L", new_x="LMARGIN", new_y="NEXT")
        if kind == "h1":
            pdf.ln(2)


def _body_lines(body: str) -> list[tuple[str, str]]:
    out = []
    for line in body.split("\n"):
        if not line.strip():
            continue
        if line in PLAN_SUBHEADINGS:
            out.append(("h3", line))
        elif line.startswith("| "):
            out.append(("row", line))
        elif line.startswith("  - "):
            out.append(("li2", line[4:]))
        elif line.startswith("- "):
            out.append(("li", line[2:]))
        else:
            out.append(("p", line))
    return out


def _markdown_lines(md: str) -> list[tuple[str, str]]:
    """Parse the Markdown subset this module writes back into (kind, plain text) lines."""
    out = []
    for line in md.split("\n"):
        if not line.strip():
            continue
        if line.startswith("|---"):
            continue
        if line.startswith("| "):
            out.append(("row", table_line([unescape_markdown(c) for c in parse_table_line(line)])))
            continue
        for prefix, kind in (("### ", "h3"), ("## ", "h2"), ("# ", "h1"), ("  - ", "li2"), ("- ", "li"),
                             ("> ", "banner")):
            if line.startswith(prefix):
                out.append((kind, unescape_markdown(line[len(prefix):])))
                break
        else:
            out.append(("p", unescape_markdown(line)))
    return out


def _letter_nhs_number(letter: Letter) -> str:
    for s in letter.sections:
        if s.title == DEMOGRAPHICS:
            m = re.search(r"^NHS number: (.+)$", s.body, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return ""


def letter_pdf(letter: Letter, title: str = LETTER_TITLE, patient_version: bool = False) -> bytes:
    """The GP letter (or, with patient_version, the patient's version) as an A4 PDF."""
    nhs = _letter_nhs_number(letter)
    draft = "" if letter.can_send else "DRAFT: not for sending"
    pdf = new_pdf(flat(title) or LETTER_TITLE, f"NHS number: {nhs}" if nhs else "", draft)
    if patient_version:
        pdf_render(pdf, _markdown_lines(letter.patient_markdown))
        return bytes(pdf.output())
    lines: list[tuple[str, str]] = [("h1", flat(title) or LETTER_TITLE)]
    if letter.missing_mandatory:
        lines.append(("banner", draft_banner(letter.missing_mandatory).plain))
    for s in letter.sections:
        lines.append(("h2", s.title))
        if not s.empty:
            lines += _body_lines(s.body)
        elif s.conformance == MANDATORY:
            lines.append(("p", missing_text(s.title)))
        else:
            lines.append(("p", NONE_RECORDED))
    pdf_render(pdf, lines)
    return bytes(pdf.output())

