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

from coordination.packs.content import (
    AGENDA_HEADER,
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
MAP_SIZE = 80.0
_LINE_STYLE = {  # kind -> (width mm, grey level)
    "ward": (0.1, 190),
    "district": (0.25, 120),
    "force": (0.8, 0),
}


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
        self.set_y(8)
        self.set_font("Helvetica", "B", 10)
        self.set_text_color(160, 0, 0)
        self.cell(0, 5, PROTECTIVE_MARKING, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(90, 90, 90)
        self.set_font("Helvetica", "", 7)
        self.cell(0, 4, self.pack_title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.set_y(22)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "B", 10)
        self.set_text_color(160, 0, 0)
        self.cell(0, 5, PROTECTIVE_MARKING, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(90, 90, 90)
        self.set_font("Helvetica", "", 7)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    # --- small helpers ---

    def heading(self, text: str, size: int = 14) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font("Helvetica", "", 9)

    def para(self, text: str, size: float = 9, style: str = "") -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, size * 0.45, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)

    def field(self, label: str, value: str) -> None:
        self.set_font("Helvetica", "B", 9)
        self.cell(45, 4.8, latin1(label))
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 4.8, latin1(value, newlines=True), new_x="LMARGIN", new_y="NEXT")

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]
    ) -> None:
        self.set_font("Helvetica", "", 8)
        with self.table(
            col_widths=tuple(widths),
            width=PAGE_WIDTH,
            text_align="LEFT",
            line_height=3.8,
            headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225)),
            padding=0.8,
        ) as table:
            head = table.row()
            for text in headings:
                head.cell(latin1(text))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(latin1("" if value is None else value, newlines=True))
        self.set_font("Helvetica", "", 9)
        self.ln(2)


def _cover(pdf: _PackPDF, content: PackContent) -> None:
    pdf.add_page()
    pdf.ln(18)
    pdf.heading(f"Joint review meeting - {content.kind}", 20)
    pdf.heading(content.title, 15)
    pdf.ln(4)
    pdf.field("Date", content.meeting_date.isoformat())
    pdf.field("Forces", ", ".join(content.forces))
    pdf.field("Chair", content.chair)
    pdf.field("Status", content.status)
    pdf.field("Meeting", f"{content.meeting_id} (version {content.version})")
    pdf.field("Items", str(len(content.items)))
    pdf.field("Produced", content.generated_at.strftime("%Y-%m-%d %H:%M UTC"))
    if content.demo_notice:
        pdf.ln(4)
        pdf.para(content.demo_notice, 10, "B")
    pdf.ln(6)
    pdf.para(
        "This pack contains personal data processed for law-enforcement purposes (Data "
        "Protection Act 2018, Part 3). Its export is logged as a disclosure to the named "
        "recipients: do not forward it further. OGRS3 is one input to prioritising, never the "
        "decision.",
        8,
    )


def _attendance(pdf: _PackPDF, content: PackContent) -> None:
    pdf.add_page()
    pdf.heading("Attendance")
    rows = [(content.chair, "Chair")] + [(name, "Attendee") for name in content.attendees]
    pdf.grid(("Name", "Role"), rows, (120, 60))


def _agenda(pdf: _PackPDF, content: PackContent) -> None:
    pdf.heading("Agenda")
    if not content.items:
        pdf.para("No items.")
    else:
        pdf.grid(
            AGENDA_HEADER,
            content.agenda_rows("\n"),
            (9, 34, 30, 30, 63, 14),
        )
    if content.removed:
        pdf.heading("Removed from the agenda", 11)
        pdf.grid(
            ("Offender", "PNC", "Reason"),
            [(r.offender_name, r.pnc_id, r.reason or "-") for r in content.removed],
            (50, 35, 95),
        )


def _draw_map(pdf: _PackPDF, drawn: PackMap) -> None:
    if pdf.get_y() + MAP_SIZE + 14 > pdf.h - pdf.b_margin:
        pdf.add_page()
    x0, y0 = pdf.l_margin, pdf.get_y()
    scale = MAP_SIZE / (2 * drawn.radius_m)
    west, north = drawn.centre_e - drawn.radius_m, drawn.centre_n + drawn.radius_m

    def at(e: float, n: float) -> tuple[float, float]:
        return x0 + (e - west) * scale, y0 + (north - n) * scale

    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.rect(x0, y0, MAP_SIZE, MAP_SIZE)
    for kind, line in drawn.lines:
        width, grey = _LINE_STYLE.get(kind, (0.2, 120))
        pdf.set_line_width(width)
        pdf.set_draw_color(grey, grey, grey)
        pdf.polyline([at(e, n) for e, n in line])
    pdf.set_line_width(0.3)
    pdf.set_font("Helvetica", "B", 7)
    for number, e, n, current in drawn.points:
        x, y = at(e, n)
        pdf.set_draw_color(180, 0, 0)
        if current:
            pdf.set_fill_color(200, 0, 0)
        else:
            pdf.set_fill_color(255, 255, 255)
        pdf.circle(x, y, 1.6 if current else 1.2, style="DF")
        pdf.text(x + 2, y - 1, str(number))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    # Legend to the right of the map.
    lx = x0 + MAP_SIZE + 5
    pdf.set_xy(lx, y0)
    pdf.set_font("Helvetica", "", 8)
    legend = [
        f"Area: {2 * drawn.radius_m / 1000:.1f} km square around the current residence.",
        "Thick black: force boundary. Grey: district. Light grey: ward.",
        "Red dot: current residence; white dots: earlier residences (numbers as in the "
        "residence history).",
        f"Boundary set: {drawn.boundary_set}.",
    ]
    if drawn.outside:
        legend.append(f"{drawn.outside} earlier residence(s) lie outside this map.")
    for text in legend:
        pdf.set_x(lx)
        pdf.multi_cell(PAGE_WIDTH - MAP_SIZE - 5, 4, latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.set_xy(x0, y0 + MAP_SIZE + 1)
    pdf.set_font("Helvetica", "", 6)
    pdf.multi_cell(PAGE_WIDTH, 2.8, latin1(drawn.attribution), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.ln(2)


def _item(pdf: _PackPDF, item: PackItem) -> None:
    pdf.add_page()
    pdf.heading(f"Item {item.label}", 13)
    if item.withheld:
        pdf.para(
            "Limited access keeps this case from the reader of this pack: who the person is, "
            "where they live and the free text are withheld. Ask the case's officer.",
            9,
            "I",
        )
    else:
        born = item.date_of_birth.isoformat() if item.date_of_birth else "-"
        pdf.field("Date of birth / sex", f"{born} / {item.sex}")
    pdf.field("Lead force", item.lead_force)
    pdf.field("Programme / risk", f"{item.programme} / {item.risk}")
    pdf.field("MAPPA", item.mappa)
    pdf.field("Offence", item.offence_category)
    pdf.field("Next review due", item.next_review_due.isoformat() if item.next_review_due else "-")
    pdf.field("Why on the agenda", "\n".join(f"- {r}" for r in item.reasons) or "-")
    if item.added_manually:
        pdf.field("Added by hand", item.added_reason or "-")
    parts = ", ".join(f"{k} {v}" for k, v in item.score_parts)
    pdf.field("Priority score", f"{item.score:.2f}" + (f" ({parts})" if parts else ""))
    pdf.ln(2)

    pdf.heading("Residence history", 11)
    if item.residences:
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
            (7, 19, 19, 21, 20, 30, 21, 12, 31),
        )
    else:
        pdf.para("No address recorded.")
    if item.map is not None:
        _draw_map(pdf, item.map)
    else:
        pdf.para(item.map_note, 8, "I")
        pdf.ln(2)

    pdf.heading("Responsibility", 11)
    pdf.field("Rule", item.responsibility_rule or "-")
    pdf.field("Explanation", item.responsibility_explanation or "No explanation recorded.")
    if item.open_handoff:
        pdf.field("Open handoff", item.open_handoff)
    pdf.ln(2)

    pdf.heading("OGRS3", 11)
    pdf.para(item.ogrs3.summary(), 9, "B")
    pdf.para("Inputs: " + "; ".join(f"{k} {v}" for k, v in item.ogrs3.inputs), 8)
    pdf.para("OGRS3 is one input to the priority, never the decision.", 7, "I")
    pdf.ln(2)

    pdf.heading("Decision", 11)
    if item.decision is None:
        pdf.para("Not yet decided.")
    else:
        decision = item.decision
        label = decision.label + (f" to {decision.target_force}" if decision.target_force else "")
        pdf.field("Decision", label)
        pdf.field("Note", decision.note or "-")
        pdf.field(
            "Recorded", f"{decision.decided_by}, {decision.decided_at.strftime('%Y-%m-%d %H:%M')}"
        )
        if decision.handoff_id is not None:
            pdf.field("Handoff", str(decision.handoff_id))


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
                    f"{item.offender_name} ({item.pnc_id})",
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
                    f"{a.offender_name} ({a.pnc_id})" if a.pnc_id else "-",
                    a.description,
                    a.owner,
                    a.due_date.isoformat() if a.due_date else "-",
                    a.status,
                    f"meeting {a.meeting_id}" if a.carried_over else "this meeting",
                )
                for a in content.actions
            ],
            (40, 60, 25, 19, 14, 22),
        )
    else:
        pdf.para("No actions recorded yet.")


def render_pdf(content: PackContent) -> bytes:
    """Return the pack as PDF bytes."""
    title = f"{content.kind}: {content.title} ({content.meeting_date.isoformat()})"
    pdf = _PackPDF(title)
    pdf.set_title(latin1(title))
    pdf.set_creator("crossforce")
    pdf.set_subject(PROTECTIVE_MARKING)
    _cover(pdf, content)
    _attendance(pdf, content)
    _agenda(pdf, content)
    for item in content.items:
        _item(pdf, item)
    _decisions_and_actions(pdf, content)
    return bytes(pdf.output())
