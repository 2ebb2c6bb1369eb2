"""Render a meeting pack as PDF with fpdf2 (pure Python; no network, no shipped fonts).

The built-in core fonts (Helvetica) cover Latin-1 only, so every string passes through
:func:`latin1` first: typographic punctuation becomes its plain form, accented letters outside
Latin-1 lose their accents, and anything else becomes ``?``. A synthetic name therefore always
renders, never raises. Maps are vector lines drawn from British National Grid coordinates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.fonts import FontFace

from coordination.core.wording import (
    action_status_label,
    offence_label,
    programme_label,
    risk_label,
    rule_label,
    sex_label,
)
from coordination.packs.content import (
    AGENDA_HEADER,
    NOT_REACHED_HEADER,
    NOT_REACHED_HEADING,
    PROTECTIVE_MARKING,
    PackContent,
    PackItem,
    PackMap,
)

_REPLACEMENTS = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2026": "...",
    "\u2022": "*",
    "\u00a0": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200b": "",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
}

PAGE_WIDTH = 180.0  # A4 less 15 mm margins
MAP_SIZE = 54.0
MAP_GAP = 5.0
LABEL_WIDTH = 30.0
ACCENT = (31, 56, 100)  # headings and the item bars
BAR_FILL = (226, 232, 242)
HEAD_FILL = (214, 222, 235)
ZEBRA_FILL = (244, 246, 250)
WHITE = (255, 255, 255)
MAP_BACKGROUND = (250, 250, 247)
CURRENT_DOT = (200, 0, 0)
_LINE_STYLE = {  # kind -> (width mm, RGB): force lines on top and strongest
    "ward": (0.15, (175, 175, 175)),
    "district": (0.35, (110, 110, 110)),
    "force": (0.9, (20, 40, 120)),
}
_SCALE_STEPS_M = (100, 200, 250, 500, 1000, 2000, 2500, 5000)


def latin1(text: object, *, newlines: bool = False) -> str:
    """Return ``text`` as a string the core PDF fonts can draw.

    Control characters become spaces (a tab or carriage return in a note must not upset the
    layout), line feeds too unless ``newlines``; characters outside Latin-1 are replaced,
    decomposed or, as a last resort, ``?``.
    """
    out: list[str] = []
    for char in str(text):
        if newlines and char == "\n":
            out.append(char)
            continue
        if char in "\r\t\n\v\f" or unicodedata.category(char) == "Cc":
            out.append(" ")
            continue
        try:
            char.encode("latin-1")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        decomposed = "".join(
            c
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(c) and c.encode("latin-1", "ignore")
        )
        out.append(decomposed or "?")
    return "".join(out)


class _PackPDF(FPDF):
    """A4 portrait with the protective marking in the header and footer of every page."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.pack_title = latin1(title)
        self.set_margins(15, 22, 15)
        self.set_auto_page_break(auto=True, margin=20)

    def header(self) -> None:
        # Header and footer run inside page breaks, in the middle of a table or a map: their
        # colours must not leak into what is being drawn, nor its colours into them.
        with self.local_context():
            self.set_y(8)
            self.set_font("Helvetica", "B", 10)
            self.set_text_color(160, 0, 0)
            self.cell(0, 5, PROTECTIVE_MARKING, align="C", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(90, 90, 90)
            self.set_font("Helvetica", "", 7)
            self.cell(0, 4, self.pack_title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_y(22)

    def footer(self) -> None:
        with self.local_context():
            self.set_y(-14)
            self.set_font("Helvetica", "B", 10)
            self.set_text_color(160, 0, 0)
            self.cell(0, 5, PROTECTIVE_MARKING, align="C", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(90, 90, 90)
            self.set_font("Helvetica", "", 7)
            self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")

    # --- small helpers ---

    def heading(self, text: str, size: int = 14) -> None:
        with self.local_context(text_color=ACCENT):
            self.set_font("Helvetica", "B", size)
            self.multi_cell(0, size * 0.5, latin1(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font("Helvetica", "", 9)

    def para(self, text: str, size: float = 9, style: str = "", width: float = 0) -> None:
        self.set_font("Helvetica", style, size)
        x = self.get_x()
        self.multi_cell(width, size * 0.45, latin1(text), align="L", new_x="LEFT", new_y="NEXT")
        self.set_x(x)
        self.set_font("Helvetica", "", 9)

    def field(self, label: str, value: str, width: float = PAGE_WIDTH, size: float = 8.5) -> None:
        """A bold label and its value, wrapping within ``width`` from the current x."""
        x = self.get_x()
        self.set_font("Helvetica", "B", size)
        self.cell(LABEL_WIDTH, size * 0.44, latin1(label))
        self.set_font("Helvetica", "", size)
        self.multi_cell(
            width - LABEL_WIDTH,
            size * 0.44,
            latin1(value, newlines=True),
            align="L",
            new_x="LEFT",
            new_y="NEXT",
        )
        self.set_x(x)

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float],
        size: float = 8,
    ) -> None:
        """A table whose every cell has an explicit fill: heading tint, then white/zebra rows."""
        self.set_font("Helvetica", "", size)
        with (
            self.local_context(fill_color=WHITE, draw_color=(150, 150, 150), line_width=0.15),
            self.table(
                col_widths=tuple(widths),
                width=PAGE_WIDTH,
                text_align="LEFT",
                line_height=size * 0.47,
                headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
                cell_fill_color=WHITE,
                cell_fill_mode="ALL",
                padding=0.8,
            ) as table,
        ):
            head = table.row()
            for text in headings:
                head.cell(latin1(text))
            for number, values in enumerate(rows):
                row = table.row(style=FontFace(fill_color=ZEBRA_FILL if number % 2 else WHITE))
                for value in values:
                    row.cell(latin1("" if value is None else value, newlines=True))
        self.set_font("Helvetica", "", 9)
        self.ln(2)


def _cover(pdf: _PackPDF, content: PackContent) -> None:
    pdf.add_page()
    pdf.ln(14)
    pdf.heading(f"Joint review meeting - {content.kind}", 20)
    pdf.heading(content.title, 15)
    pdf.ln(3)
    removed = f" ({len(content.removed)} removed)" if content.removed else ""
    pdf.field("Date", content.date_text, size=10)
    pdf.field("Forces", ", ".join(content.forces), size=10)
    pdf.field("Chair", content.chair, size=10)
    pdf.field("Status", content.status_text, size=10)
    pdf.field("Prepared for", "; ".join(content.recipients) or "Not named (preview)", size=10)
    pdf.field("Disclosed for", content.justification or "Not given (preview)", size=10)
    pdf.field("Items", f"{len(content.items)} on the agenda{removed}", size=10)
    pdf.field("Actions", f"{len(content.actions)}", size=10)
    if content.demo_notice:
        pdf.ln(5)
        with pdf.local_context(fill_color=(255, 244, 214), draw_color=(200, 160, 60)):
            pdf.set_font("Helvetica", "B", 10)
            pdf.multi_cell(
                0, 5, latin1(content.demo_notice), border=1, fill=True, padding=2,
                new_x="LMARGIN", new_y="NEXT",
            )  # fmt: skip
    pdf.ln(6)
    pdf.para(
        "This pack contains personal data processed for law-enforcement purposes (Data "
        "Protection Act 2018, Part 3). Its export is logged as a disclosure to the recipients "
        "named above: do not forward it further. OGRS3 is one input to prioritising, never the "
        "decision.",
        8,
    )
    # The version is for whoever compares two copies, not for the reader: small print, last.
    pdf.ln(3)
    with pdf.local_context(text_color=(90, 90, 90)):
        pdf.para(content.small_print, 7)


def _attendance_and_agenda(pdf: _PackPDF, content: PackContent) -> None:
    pdf.add_page()
    pdf.heading("Attendance")
    rows = [(content.chair, "Chair")] + [(name, "Attendee") for name in content.attendees]
    pdf.grid(("Name", "Role"), rows, (120, 60))
    pdf.ln(2)
    pdf.heading("Agenda")
    if not content.items:
        pdf.para("No items.")
    else:
        pdf.grid(AGENDA_HEADER, content.agenda_rows("\n"), (8, 32, 27, 27, 75, 11), size=7)
    if content.not_reached:
        pdf.heading(f"{NOT_REACHED_HEADING} ({len(content.not_reached)})", 11)
        pdf.para(
            "Listed with their scores and set out no further: the next agenda picks them up.", 8
        )
        pdf.grid(NOT_REACHED_HEADER, content.not_reached_rows(), (8, 32, 27, 27, 75, 11), size=7)
    if content.removed:
        pdf.heading("Removed from the agenda", 11)
        pdf.grid(
            ("Offender", "PNC", "Reason"),
            [(r.offender_name, r.pnc_id, r.reason or "-") for r in content.removed],
            (50, 35, 95),
        )


# --- the map ------------------------------------------------------------------------------------


def _scale_metres(radius_m: float) -> int:
    """A round length near a quarter of the map's width."""
    target = radius_m / 2
    return min(_SCALE_STEPS_M, key=lambda step: abs(step - target))


def _draw_map(pdf: _PackPDF, drawn: PackMap, x0: float, y0: float, item: PackItem) -> float:
    """Draw the map with its legend at ``(x0, y0)``; return the y below them.

    Everything is drawn in a local graphics context, so no colour or width set here reaches the
    tables drawn after it.
    """
    size = MAP_SIZE
    scale = size / (2 * drawn.radius_m)
    west, north = drawn.centre_e - drawn.radius_m, drawn.centre_n + drawn.radius_m

    def at(e: float, n: float) -> tuple[float, float]:
        return x0 + (e - west) * scale, y0 + (north - n) * scale

    with pdf.local_context(fill_color=MAP_BACKGROUND, draw_color=(120, 120, 120), line_width=0.2):
        pdf.rect(x0, y0, size, size, style="DF")
    for kind, line in drawn.lines:
        width, colour = _LINE_STYLE.get(kind, (0.2, (120, 120, 120)))
        with pdf.local_context(draw_color=colour, line_width=width):
            pdf.polyline([at(e, n) for e, n in line])
    for number, e, n, current in sorted(drawn.points, key=lambda p: p[3]):  # current on top
        x, y = at(e, n)
        fill = CURRENT_DOT if current else WHITE
        with pdf.local_context(fill_color=fill, draw_color=(150, 0, 0), line_width=0.3):
            pdf.circle(x, y, 1.7 if current else 1.3, style="DF")
        with pdf.local_context(text_color=(120, 0, 0)):
            pdf.set_font("Helvetica", "B", 7)
            pdf.text(x + 2.0, y - 1.2, str(number))
    _north_arrow(pdf, x0 + size - 6, y0 + 3)
    _scale_bar(pdf, x0 + 3, y0 + size - 4, drawn.radius_m, scale)
    return _legend(pdf, drawn, x0, y0 + size + 1.5, item)


def _north_arrow(pdf: _PackPDF, x: float, y: float) -> None:
    with pdf.local_context(fill_color=(30, 30, 30), draw_color=(30, 30, 30), line_width=0.2):
        pdf.polygon([(x, y + 3), (x + 1.8, y + 8), (x, y + 6.8), (x - 1.8, y + 8)], style="DF")
        pdf.set_font("Helvetica", "B", 7)
        pdf.text(x - 1.2, y + 2.6, "N")


def _scale_bar(pdf: _PackPDF, x: float, y: float, radius_m: float, scale: float) -> None:
    metres = _scale_metres(radius_m)
    length = metres * scale
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m"
    with pdf.local_context(fill_color=WHITE, draw_color=WHITE):
        pdf.rect(x - 1, y - 3.6, length + 12, 5, style="F")
    with pdf.local_context(fill_color=(30, 30, 30), draw_color=(30, 30, 30), line_width=0.2):
        pdf.rect(x, y - 0.6, length / 2, 1.2, style="DF")
        with pdf.local_context(fill_color=WHITE):
            pdf.rect(x + length / 2, y - 0.6, length / 2, 1.2, style="DF")
        pdf.set_font("Helvetica", "", 6)
        pdf.text(x + length + 1, y + 0.8, label)


def _legend(pdf: _PackPDF, drawn: PackMap, x: float, y: float, item: PackItem) -> float:
    kinds = {kind for kind, _ in drawn.lines}
    current = next((r for r in item.residences if r.current), None)
    where = f" ({current.force})" if current is not None and current.force else ""
    rows: list[tuple[str, str]] = [("current", f"Current residence{where}")]
    if any(not p[3] for p in drawn.points):
        rows.append(("earlier", "Earlier residence (numbers as in the history)"))
    for kind, label in (("force", "Force boundary"), ("district", "District"), ("ward", "Ward")):
        if kind in kinds:
            rows.append((kind, f"{label} boundary" if kind != "force" else label))
    if "force" not in kinds:
        rows.append(("", f"No force boundary within {drawn.radius_m / 1000:.1f} km"))
    pdf.set_font("Helvetica", "", 6.5)
    line = 2.9
    for key, text in rows:
        cy = y + line / 2
        if key in ("current", "earlier"):
            fill = CURRENT_DOT if key == "current" else WHITE
            with pdf.local_context(fill_color=fill, draw_color=(150, 0, 0), line_width=0.3):
                pdf.circle(x + 2, cy, 1.1, style="DF")
        elif key:
            width, colour = _LINE_STYLE[key]
            with pdf.local_context(draw_color=colour, line_width=width):
                pdf.line(x, cy, x + 4, cy)
        pdf.set_xy(x + 5.5, y)
        pdf.cell(MAP_SIZE - 5.5, line, latin1(text))
        y += line
    notes = [
        f"{2 * drawn.radius_m / 1000:.1f} km square around the current residence. "
        f"Boundary set: {drawn.boundary_set}."
    ]
    if drawn.outside:
        notes.append(f"{drawn.outside} earlier residence(s) lie outside this map.")
    pdf.set_xy(x, y + 0.5)
    pdf.multi_cell(MAP_SIZE, 2.7, latin1(" ".join(notes)), align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 4.5)
    with pdf.local_context(text_color=(110, 110, 110)):
        pdf.multi_cell(
            MAP_SIZE, 1.9, latin1(drawn.attribution), align="L", new_x="LEFT", new_y="NEXT"
        )
    pdf.set_font("Helvetica", "", 9)
    return pdf.get_y()


# --- the items ----------------------------------------------------------------------------------


def _item_bar(pdf: _PackPDF, item: PackItem) -> None:
    with pdf.local_context(fill_color=BAR_FILL, text_color=ACCENT):
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(PAGE_WIDTH - 40, 6.5, latin1(f" Item {item.label}"), fill=True)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(40, 6.5, f"Priority {item.score:.2f} ", fill=True, align="R")
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)


def _item_fields(pdf: _PackPDF, item: PackItem, width: float) -> None:
    if item.withheld:
        pdf.para(
            "Limited access keeps this case from the reader of this pack: who the person is, "
            "where they live and the free text are withheld. Ask the case's officer.",
            8.5,
            "I",
            width=width,
        )
        pdf.ln(1)
    else:
        born = item.date_of_birth.isoformat() if item.date_of_birth else "-"
        pdf.field("Date of birth / sex", f"{born} / {sex_label(item.sex)}", width)
    pdf.field("Lead force", item.lead_force, width)
    pdf.field(
        "Programme / risk", f"{programme_label(item.programme)} / {risk_label(item.risk)}", width
    )
    pdf.field("MAPPA", item.mappa, width)
    pdf.field("Offence", offence_label(item.offence_category), width)
    due = item.next_review_due.isoformat() if item.next_review_due else "-"
    pdf.field("Next review due", due, width)
    pdf.field("Why on the agenda", "\n".join(f"- {r}" for r in item.reasons) or "-", width)
    if item.added_manually:
        pdf.field("Added by hand", item.added_reason or "-", width)
    parts = ", ".join(f"{k} {v}" for k, v in item.score_parts)
    pdf.field("Priority score", f"{item.score:.2f}" + (f" = {parts}" if parts else ""), width)
    rule = rule_label(item.responsibility_rule) if item.responsibility_rule else "No rule recorded"
    explanation = item.responsibility_explanation or "No explanation recorded."
    pdf.field("Responsibility", f"{rule}. {explanation}", width)
    if item.open_handoff:
        pdf.field("Open handoff", item.open_handoff, width)
    pdf.field("OGRS3", item.ogrs3.summary(), width)
    if item.ogrs3.inputs:
        inputs = "; ".join(f"{k} {v}" for k, v in item.ogrs3.inputs)
        note = f"Inputs: {inputs}. One input to the priority, never the decision."
        pdf.field("", note, width, size=7)


def _residences(pdf: _PackPDF, item: PackItem) -> None:
    if item.withheld:
        return
    if not item.residences:
        pdf.field("Residence history", "No address recorded.")
        return
    pdf.set_font("Helvetica", "B", 9)
    with pdf.local_context(text_color=ACCENT):
        pdf.cell(0, 4.5, "Residence history", new_x="LMARGIN", new_y="NEXT")
    pdf.grid(
        ("#", "From", "To", "State", "Postcode", "Force", "District", "BCU", "To line m"),
        [
            (
                r.number,
                r.valid_from.isoformat(),
                r.valid_to.isoformat() if r.valid_to else "current",
                r.state,
                r.postcode or "-",
                r.force or "-",
                r.district_code or "-",
                r.bcu_code or "-",
                "-"
                if r.distance_to_boundary_m is None
                else f"{r.distance_to_boundary_m:.0f}" + (" (near)" if r.near_boundary else ""),
            )
            for r in item.residences
        ],
        (7, 19, 19, 21, 20, 34, 21, 12, 27),
        size=7.5,
    )


def _decision(pdf: _PackPDF, item: PackItem) -> None:
    decision = item.decision
    if decision is None:
        pdf.field("Decision", "Not yet decided.")
        return
    label = decision.label + (f" to {decision.target_force}" if decision.target_force else "")
    recorded = f"{decision.decided_by}, {decision.decided_at.strftime('%Y-%m-%d %H:%M')}"
    handoff = f"; handoff {decision.handoff_id}" if decision.handoff_id is not None else ""
    pdf.field("Decision", label)
    if decision.note:
        pdf.field("Note", decision.note)
    pdf.field("Recorded", recorded + handoff)


def _map_drawable(item: PackItem) -> bool:
    # A box holding only a dot says nothing: without lines the map is left out.
    return item.map is not None and bool(item.map.lines)


def _item_block(pdf: _PackPDF, item: PackItem) -> None:
    """One item, drawn from the current y: bar, facts beside the map, history, decision."""
    _item_bar(pdf, item)
    top = pdf.get_y()
    drawn = item.map if _map_drawable(item) else None
    left = PAGE_WIDTH - MAP_SIZE - MAP_GAP if drawn is not None else PAGE_WIDTH
    bottom = top
    if drawn is not None:
        bottom = _draw_map(pdf, drawn, pdf.l_margin + left + MAP_GAP, top, item)
        pdf.set_xy(pdf.l_margin, top)
    _item_fields(pdf, item, left)
    if drawn is None and not item.withheld:
        note = item.map_note
        if item.map is not None:
            note = f"No boundary lies within {item.map.radius_m / 1000:.1f} km: no map is drawn."
        pdf.field("Map", note, left, size=8)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), bottom) + 1)
    _residences(pdf, item)
    _decision(pdf, item)
    pdf.ln(1.5)
    with pdf.local_context(draw_color=(190, 190, 190), line_width=0.2):
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + PAGE_WIDTH, pdf.get_y())
    pdf.ln(3.5)


def _item_height(item: PackItem) -> float:
    """How tall the item is when drawn from the top of a page (more than a page: spans pages)."""
    scratch = _PackPDF("")
    scratch.add_page()
    start = scratch.get_y()
    _item_block(scratch, item)
    usable = scratch.h - scratch.b_margin - scratch.t_margin
    return (scratch.page - 1) * usable + scratch.get_y() - start


def _item(pdf: _PackPDF, item: PackItem) -> None:
    """Draw an item on the current page if it fits there whole, else from the top of the next."""
    at_top = pdf.get_y() <= pdf.t_margin + 0.5
    if not at_top and pdf.will_page_break(_item_height(item)):
        pdf.add_page()
    _item_block(pdf, item)


def _decisions_and_actions(pdf: _PackPDF, content: PackContent) -> None:
    pdf.add_page()
    pdf.heading("Decisions")
    decisions = content.decisions
    if decisions:
        pdf.grid(
            ("#", "Offender", "Decision", "Note", "By"),
            [
                (
                    item.position,
                    f"{item.offender_name} ({item.pnc_id or f'case {item.case_id}'})",
                    d.label + (f" to {d.target_force}" if d.target_force else ""),
                    d.note or "-",
                    d.decided_by,
                )
                for item, d in decisions
            ],
            (9, 45, 38, 63, 25),
        )
    else:
        pdf.para("No decisions recorded yet.")
    pdf.ln(2)
    pdf.heading("Actions")
    if content.actions:
        pdf.grid(
            ("Offender", "Action", "Owner", "Due", "Status", "From"),
            [
                (
                    f"{a.offender_name} ({a.pnc_id})" if a.pnc_id else (a.offender_name or "-"),
                    a.description,
                    a.owner,
                    a.due_date.isoformat() if a.due_date else "-",
                    action_status_label(a.status),
                    f"meeting {a.meeting_id}" if a.carried_over else "this meeting",
                )
                for a in content.actions
            ],
            (40, 60, 25, 19, 14, 22),
        )
    else:
        pdf.para("No actions recorded yet.")


def render_pdf(content: PackContent) -> bytes:
    """Return the pack as PDF bytes.

    Items follow one another, each kept whole on one page when it fits there (a new page starts
    only for an item that would otherwise break), so a long agenda packs several short items a
    page and no page holds a stray line.
    """
    title = f"{content.kind}: {content.title} ({content.meeting_date.isoformat()})"
    pdf = _PackPDF(title)
    pdf.set_title(latin1(title))
    pdf.set_creator("crossforce")
    pdf.set_subject(PROTECTIVE_MARKING)
    _cover(pdf, content)
    _attendance_and_agenda(pdf, content)
    if content.items:
        pdf.add_page()
        pdf.heading("Items")
    for item in content.items:
        _item(pdf, item)
    _decisions_and_actions(pdf, content)
    return bytes(pdf.output())
