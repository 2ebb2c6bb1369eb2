"""Render a meeting pack as an XLSX workbook: one sheet per section, formula-safe.

Every text cell passes through :func:`geo.batch.neutralise` (a text starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return gets a leading apostrophe, so no cell can run as a formula
when the sheet is opened), and characters XLSX cannot hold are dropped. Numbers and dates are
written as typed values, never as text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from coordination.core.tables import neutralise
from coordination.core.wording import (
    action_status_label,
    offence_label,
    programme_label,
    risk_label,
    rule_label,
    sex_label,
)
from coordination.packs.content import NOT_REACHED_HEADING, PROTECTIVE_MARKING, PackContent

SHEETS: tuple[str, ...] = (
    "Cover",
    "Attendance",
    "Agenda",
    "Items",
    "Residence history",
    "Decisions",
    "Actions",
)

Value = str | int | float | date | datetime | None


def safe_cell(value: object) -> Value:
    """Return a value that is safe to put in a cell: typed numbers/dates, neutralised text."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, int | float | date | datetime):
        if isinstance(value, datetime) and value.tzinfo is not None:
            # XLSX has no time zones; the pack's times are UTC and say so in the headings.
            return value.replace(tzinfo=None)
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    safe = neutralise(text)
    return safe if isinstance(safe, str) else text


def _sheet(
    book: Workbook, title: str, headings: Sequence[str], rows: Sequence[Sequence[object]]
) -> Worksheet:
    sheet = book.create_sheet(title)
    sheet.append([PROTECTIVE_MARKING])
    sheet["A1"].font = Font(bold=True, color="A00000")
    sheet.append([safe_cell(h) for h in headings])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    sheet.freeze_panes = "A3"
    for index, heading in enumerate(headings, start=1):
        letter = sheet.cell(row=2, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(60, len(heading) + 6))
    if not isinstance(sheet, Worksheet):
        raise TypeError("expected a Worksheet")
    return sheet


def render_xlsx(content: PackContent) -> bytes:
    """Return the pack as XLSX bytes."""
    book = Workbook()
    book.remove(book.worksheets[0])
    cover: list[tuple[str, object]] = [
        ("Document", f"Joint review meeting - {content.kind}"),
        ("Title", content.title),
        ("Date", content.meeting_date),
        ("Forces", ", ".join(content.forces)),
        ("Force codes", ", ".join(content.force_codes)),
        ("Chair", content.chair),
        ("Status", content.status),
        ("Prepared for", "; ".join(content.recipients) or "not named (preview)"),
        ("Disclosed for", content.justification or "not given (preview)"),
        ("Meeting id", content.meeting_id),
        ("Pack version", content.version),
        ("Items", len(content.items)),
        ("Produced (UTC)", content.generated_at),
    ]
    if content.demo_notice:
        cover.append(("Data", content.demo_notice))
    _sheet(book, "Cover", ("Field", "Value"), cover)
    _sheet(
        book,
        "Attendance",
        ("Name", "Role"),
        [(content.chair, "Chair")] + [(name, "Attendee") for name in content.attendees],
    )
    _sheet(
        book,
        "Agenda",
        (
            "Position",
            "Offender",
            "PNC",
            "Lead force",
            "Reasons",
            "Score",
            "Score parts",
            "Added by hand",
            # The case number stays when limited access withholds the person: the meeting's key.
            "Case",
        ),
        [
            (
                i.position,
                i.offender_name,
                i.pnc_id,
                i.lead_force,
                "; ".join(i.reasons),
                round(i.score, 4),
                ", ".join(f"{k} {v}" for k, v in i.score_parts),
                i.added_reason if i.added_manually else None,
                i.case_id,
            )
            for i in content.items
        ]
        + [
            (
                n.position,
                n.offender_name,
                n.pnc_id,
                n.lead_force,
                f"{NOT_REACHED_HEADING}: " + "; ".join(n.reasons),
                round(n.score, 4),
                None,
                None,
                n.case_id,
            )
            for n in content.not_reached
        ]
        + [
            (
                None,
                r.offender_name,
                r.pnc_id,
                None,
                f"Removed: {r.reason}",
                None,
                None,
                None,
                r.case_id,
            )
            for r in content.removed
        ],
    )
    _sheet(
        book,
        "Items",
        (
            "Position",
            "Offender",
            "PNC",
            "Date of birth",
            "Sex",
            "Lead force",
            "Programme",
            "Risk",
            "MAPPA",
            "Offence",
            "Next review due",
            "Responsibility rule",
            "Responsibility explanation",
            "Open handoff",
            "OGRS3 1 year %",
            "OGRS3 2 years %",
            "OGRS3 inputs",
            "OGRS3 note",
            "Map",
        ),
        [
            (
                i.position,
                i.offender_name,
                i.pnc_id,
                i.date_of_birth,
                sex_label(i.sex) if i.sex else None,
                i.lead_force,
                programme_label(i.programme),
                risk_label(i.risk),
                i.mappa,
                offence_label(i.offence_category),
                i.next_review_due,
                rule_label(i.responsibility_rule) if i.responsibility_rule else None,
                i.responsibility_explanation,
                i.open_handoff,
                None if i.ogrs3.one_year is None else round(i.ogrs3.one_year, 2),
                None if i.ogrs3.two_year is None else round(i.ogrs3.two_year, 2),
                "; ".join(f"{k} {v}" for k, v in i.ogrs3.inputs),
                i.ogrs3.note or None,
                "in the PDF" if i.map is not None else i.map_note,
            )
            for i in content.items
        ],
    )
    _sheet(
        book,
        "Residence history",
        (
            "Position",
            "Offender",
            "PNC",
            "#",
            "From",
            "To",
            "State",
            "Postcode",
            "Force",
            "District",
            "BCU",
            "Distance to boundary m",
            "Near boundary",
            "Boundary set",
        ),
        [
            (
                i.position,
                i.offender_name,
                i.pnc_id,
                r.number,
                r.valid_from,
                r.valid_to,
                r.state,
                r.postcode,
                r.force,
                r.district_code,
                r.bcu_code,
                None if r.distance_to_boundary_m is None else round(r.distance_to_boundary_m, 1),
                r.near_boundary,
                r.boundary_set,
            )
            for i in content.items
            for r in i.residences
        ],
    )
    _sheet(
        book,
        "Decisions",
        (
            "Position",
            "Offender",
            "PNC",
            "Decision",
            "Target force",
            "Note",
            "Decided by",
            "Decided at (UTC)",
            "Handoff",
        ),
        [
            (
                item.position,
                item.offender_name,
                item.pnc_id,
                d.label,
                d.target_force,
                d.note,
                d.decided_by,
                d.decided_at,
                d.handoff_id,
            )
            for item, d in content.decisions
        ],
    )
    _sheet(
        book,
        "Actions",
        ("Offender", "PNC", "Action", "Owner", "Due", "Status", "From meeting"),
        [
            (
                a.offender_name or None,
                a.pnc_id or None,
                a.description,
                a.owner,
                a.due_date,
                action_status_label(a.status),
                a.meeting_id,
            )
            for a in content.actions
        ],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
