"""The meeting pack (coordination.meeting_pack): PDF, XLSX and Markdown read back, and disclosures.

Meetings are built directly with the table models and the handoff test helpers, so these tests do
not depend on the agenda service. Names, notes and actions carry spreadsheet-formula and Markdown
injection attempts and characters the PDF core fonts lack.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.db import session_scope
from coordination.errors import InputError, NotFoundError
from coordination.handoffs.workflow import create_handoff
from coordination.ledger.chain import record_event
from coordination.models import (
    Address,
    AgendaItem,
    AuditEvent,
    Case,
    Meeting,
    ReviewAction,
    ReviewDecision,
)
from coordination.packs.build import build_pack_content
from coordination.packs.content import DISCLOSURE_ACTION
from coordination.packs.export import export_pack, pack_filename
from coordination.packs.render.markdown import md_escape
from coordination.packs.render.pdf import latin1
from coordination.packs.render.xlsx import SHEETS, safe_cell
from coordination.review.ogrs3 import ogrs3
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from geo.lookup import Lookup
from geo.resolver import Resolver
from tests.factories import T0, add_agenda_item, add_case, add_meeting, make_tiny_layers

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
RECIPIENTS = ["met.iom@example.police.uk", "City IOM team"]
JUSTIFICATION = "Joint City-Met review: the attendees"
MEETING_DAY = date(2025, 3, 10)


@dataclass(frozen=True)
class Built:
    engine: Engine
    meeting_id: int
    earlier_meeting_id: int
    case_ids: list[int]
    offender_ids: list[int]
    removed_case_id: int
    action_case_id: int


@pytest.fixture(scope="module")
def tiny_lookup() -> Lookup:
    """A lookup over two 1 km squares (City | Met) with no postcode directory."""
    return Lookup(Resolver.build(make_tiny_layers()), None)


def _address(
    session: Session, offender_id: int, start: date, end: date | None, e: float, force: str
) -> None:
    session.add(
        Address(
            offender_id=offender_id,
            postcode="EC2V 7HH" if force == CITY_OF_LONDON else "E1 6AN",
            easting=e,
            northing=180500.0,
            valid_from=start,
            valid_to=end,
            force_code=force,
            district_code="E09000001" if force == CITY_OF_LONDON else "E09000002",
            distance_to_boundary_m=abs(e - 531000.0),
            near_boundary=abs(e - 531000.0) < 100,
            method="polygon",
            boundary_set="tiny",
            created_by="pytest",
        )
    )


def build_meeting(engine: Engine, *, status: str = "planned", decided: bool = True) -> Built:
    """A meeting of City and Met with three live items, one removed, decisions and actions."""
    with session_scope(engine) as session:
        case_ids = [
            add_case(session, first_name=HYPERLINK, last_name="O’Brien–Smith"),
            add_case(session, lead=METROPOLITAN, first_name="+1", last_name="Pipe|Name *bold*"),
            add_case(session, first_name="@SUM(A1)", last_name="\tTabbed"),
        ]
        removed_case = add_case(session, first_name="Removed", last_name="Person")
        action_case = add_case(session, first_name="Earlier", last_name="Action")
        cases = {c.id: c for c in session.exec(select(Case)).all()}
        offender_ids = [cases[c].offender_id for c in case_ids]
        first = cases[case_ids[0]]
        first.previous_sanctions = 3
        first.age_at_first_sanction = 16
        first.conviction_date = date(2024, 6, 1)
        first.responsibility_rule = "residence"
        first.responsibility_explanation = "Lives in the Met (E09000002); the Met is responsible."
        session.add(first)
        _address(session, offender_ids[0], date(2023, 1, 1), date(2024, 5, 31), 530500, "E23000034")
        _address(session, offender_ids[0], date(2024, 6, 1), None, 531050, METROPOLITAN)
        _address(session, offender_ids[1], date(2024, 2, 1), None, 531700, METROPOLITAN)

        earlier = add_meeting(session, "February review", date(2025, 2, 10), status="closed")
        session.add(
            ReviewAction(
                meeting_id=earlier,
                case_id=action_case,
                description="Check address with housing",
                owner="DC Carry Over",
                created_by="pytest",
            )
        )
        meeting_id = add_meeting(session, "March review – City/Met", MEETING_DAY, status=status)
        item_ids = [
            add_agenda_item(
                session,
                meeting_id,
                case_ids[0],
                1,
                reasons=[
                    {"code": "handoff_overdue", "text": "Handoff City to Met overdue by 4 days"},
                    {"code": "near_boundary", "text": "Residence 50 m from the force boundary"},
                ],
                score=7.25,
                score_parts={"risk": 2.0, "programme": 1.0, "ogrs3": 1.25, "overdue": 3.0},
            ),
            add_agenda_item(
                session,
                meeting_id,
                case_ids[1],
                2,
                reasons=[{"code": "mappa", "text": "MAPPA level 2 | both forces"}],
                score=4.5,
                score_parts={"risk": 4.5},
            ),
            add_agenda_item(
                session,
                meeting_id,
                case_ids[2],
                3,
                reasons=[],
                score=1.0,
                added_manually=True,
                added_reason="-raised by the chair",
            ),
        ]
        add_agenda_item(
            session,
            meeting_id,
            removed_case,
            4,
            removed=True,
            removed_reason="\rresolved before the meeting",
        )
        if decided:
            handoff = create_handoff(
                session,
                actor="alice",
                case_id=case_ids[0],
                to_force_code=METROPOLITAN,
                reason="moved",
                request=True,
                now=T0,
            )
            session.add(
                ReviewDecision(
                    agenda_item_id=item_ids[0],
                    kind="transfer",
                    target_force_code=METROPOLITAN,
                    note="\rTransfer agreed; Met BCU to confirm",
                    handoff_id=handoff.id,
                    decided_by="chair",
                )
            )
            session.add(
                ReviewDecision(
                    agenda_item_id=item_ids[1], kind="other", note="@SUM(A1)", decided_by="chair"
                )
            )
            session.add(
                ReviewAction(
                    meeting_id=meeting_id,
                    case_id=case_ids[1],
                    description=HYPERLINK,
                    owner="-2+3",
                    due_date=date(2025, 3, 24),
                    created_by="pytest",
                )
            )
    return Built(engine, meeting_id, earlier, case_ids, offender_ids, removed_case, action_case)


def _export(built: Built, fmt: str, lookup: Lookup | None, **kwargs: object) -> bytes:
    with session_scope(built.engine) as session:
        return export_pack(
            session,
            actor="alice",
            meeting_id=built.meeting_id,
            fmt=fmt,  # type: ignore[arg-type]
            recipients=RECIPIENTS,
            justification=JUSTIFICATION,
            lookup=lookup,
            **kwargs,  # type: ignore[arg-type]
        )


def _pages(data: bytes) -> list[str]:
    """Each page's text with runs of white space as one space (table cells wrap)."""
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages
    ]


def _disclosures(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == DISCLOSURE_ACTION)
                .order_by(col(AuditEvent.id))
            ).all()
        )


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_pack_marks_every_page_and_carries_every_section(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    built = build_meeting(engine)
    data = _export(built, "pdf", tiny_lookup)
    assert data.startswith(b"%PDF")
    pages = _pages(data)
    # Cover, attendance + agenda, the items (several to a page), decisions and actions.
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert text.count("OFFICIAL-SENSITIVE") >= 2, f"page {number} lacks header and footer"
        assert f"Page {number} of {len(pages)}" in text
    cover = pages[0]
    for expected in (
        "Meeting pack",
        "March review - City/Met",  # the en dash sanitised for the core fonts
        "Date Monday 10 March 2025",
        "City of London Police",
        "Metropolitan Police Service",
        "Ch Insp Ada Example",
        "Status Planned",
    ):
        assert expected in cover, expected
    # Named by its title and day, never "Meeting 1 (version 3)"; the version is the small print,
    # the last line of the cover.
    assert f"Meeting {built.meeting_id}" not in cover and "(version" not in cover
    assert "Version" not in cover
    small_print = cover.index("pack version 1")
    assert small_print > cover.index("never the decision")
    assert "Synthetic demo data" not in cover
    text = "\n".join(pages)
    assert "Ms Zoë Lukasz-O'Brien" in text  # Latin-1 kept, the rest replaced, never an error
    assert "Agenda" in text
    for pnc in _pncs(built):
        assert pnc in text
    assert "Handoff City to Met overdue by 4 days" in text
    assert "7.25" in text and "4.50" in text
    assert "Removed from the agenda" in text and "resolved before the meeting" in text
    for position in (1, 2, 3):
        item_page = next(p for p in pages if f"Item {position}." in p)
        assert "Residence history" in item_page
        assert "Responsibility" in item_page
        assert "OGRS3" in item_page
    first = next(p for p in pages if "Item 1." in p)
    assert "O'Brien-Smith" in first
    assert "Lives in the Met (E09000002); the Met is responsible." in first
    assert "Boundary set: tiny" in first  # the map was drawn, with its legend
    assert "Office for National Statistics" in first  # and the attribution under it
    assert "risk 2.00" in first and "overdue 3.00" in first
    expected = ogrs3(
        sex="male",
        age=35,
        age_at_conviction=34,
        age_at_first_sanction=16,
        previous_sanctions=3,
        offence="burglary (domestic)",
    )
    assert f"1 year {expected.one_year_pct:.2f}%, 2 years {expected.two_year_pct:.2f}%" in first
    assert "previous sanctions 3" in first
    second = next(p for p in pages if "Item 2." in p)
    assert "No OGRS3 score" in second and "previous_sanctions" not in second
    assert "is not recorded" in second or "are not recorded" in second
    third = next(p for p in pages if "Item 3." in p)
    assert "No residence has coordinates" in third or "No address recorded" in third
    last = pages[-1]
    assert "Decisions" in last and "Actions" in last
    assert "Transfer to Metropolitan Police Service" in last
    assert "=HYPERLINK" in last  # shown as text in a PDF (it cannot run there)
    assert "Check address with housing" in last and f"meeting {built.earlier_meeting_id}" in last


def _pncs(built: Built) -> list[str]:
    with Session(built.engine) as session:
        content = build_pack_content(
            session, meeting_id=built.meeting_id, lookup=None, actor="system:test"
        )
        return [item.pnc_id for item in content.items]


def test_pdf_without_an_active_boundary_set_says_the_map_is_not_drawn(engine: Engine) -> None:
    built = build_meeting(engine)
    text = "\n".join(_pages(_export(built, "pdf", None)))
    assert "No boundary set is active" in text
    assert "Boundary set: tiny" not in text


def test_demo_data_is_said_on_the_cover(engine: Engine) -> None:
    built = build_meeting(engine)
    with session_scope(built.engine) as session:
        record_event(
            session,
            actor="pytest",
            action="demo.seed",
            entity_type="demo",
            entity_id=None,
            details={"seed": 1, "offenders": 5, "today": "2025-03-01"},
        )
    assert "Synthetic demo data" in _pages(_export(built, "pdf", None))[0]


# --- XLSX -----------------------------------------------------------------------------------------


def test_xlsx_pack_has_a_sheet_per_section_and_no_cell_can_run(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    built = build_meeting(engine)
    book = load_workbook(io.BytesIO(_export(built, "xlsx", tiny_lookup)))
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        assert sheet["A1"].value == "OFFICIAL-SENSITIVE"
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                value = cell.value
                if isinstance(value, str) and value.startswith(FORMULA_START):
                    assert NUMBER.match(value), (sheet.title, cell.coordinate, value)

    def rows(name: str) -> list[tuple[object, ...]]:
        return list(book[name].iter_rows(min_row=3, values_only=True))

    cover = dict(rows("Cover"))
    assert cover["Title"] == "March review – City/Met"
    assert cover["Forces"] == "Metropolitan Police Service, City of London Police"
    assert cover["Chair"] == "Ch Insp Ada Example"
    assert cover["Items"] == 3
    assert ("'-2+3", "Attendee") in rows("Attendance")
    agenda = rows("Agenda")
    assert [r[0] for r in agenda[:3]] == [1, 2, 3]
    assert agenda[0][1] == "'" + HYPERLINK + " O’Brien–Smith"
    assert agenda[0][5] == 7.25  # a number stays a number
    assert agenda[1][1] == "'+1 Pipe|Name *bold*"
    assert agenda[2][1] == "'@SUM(A1) \tTabbed"
    assert agenda[2][7] == "'-raised by the chair"
    # XML reads a carriage return back as a line feed; mid-text it cannot start a formula anyway.
    assert agenda[3][4] == "Removed: \nresolved before the meeting"
    items = rows("Items")
    assert items[0][12] == "Lives in the Met (E09000002); the Met is responsible."
    assert isinstance(items[0][14], float) and isinstance(items[0][15], float)
    history = rows("Residence history")
    assert [(r[0], r[7]) for r in history] == [(1, "E1 6AN"), (1, "EC2V 7HH"), (2, "E1 6AN")]
    decisions = rows("Decisions")
    assert [d[3] for d in decisions] == ["Transfer", "Other"]
    assert decisions[0][4] == "Metropolitan Police Service"
    assert decisions[0][5] == "'\nTransfer agreed; Met BCU to confirm"
    assert decisions[1][5] == "'@SUM(A1)"
    actions = rows("Actions")
    assert actions[0][2] == "'" + HYPERLINK and actions[0][3] == "'-2+3"
    assert actions[1][2] == "Check address with housing"


@given(st.text(max_size=30))
def test_safe_cell_never_leaves_a_formula(text: str) -> None:
    value = safe_cell(text)
    assert isinstance(value, str)
    if value.startswith(FORMULA_START):
        assert NUMBER.match(value)


def test_safe_cell_keeps_numbers_and_plain_signed_numbers() -> None:
    assert safe_cell(-2.5) == -2.5
    assert safe_cell("-2.5") == "-2.5"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell(True) == "yes"
    assert safe_cell("a\x00b") == "ab"  # XLSX cannot hold NUL: dropped, not an error


# --- Markdown -------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_cover_names_the_meeting_and_keeps_the_version_small(engine: Engine) -> None:
    built = build_meeting(engine)
    text = _export(built, "md", None).decode("utf-8")
    cover = text[: text.index("## Agenda")]
    assert "# Joint review meeting - Meeting pack: March review – City/Met" in cover
    assert "- **Date:** Monday 10 March 2025" in cover
    assert "- **Status:** Planned" in cover
    assert "**Version:**" not in cover and f"Meeting {built.meeting_id}" not in cover
    (small,) = [line for line in cover.splitlines() if "pack version" in line]
    assert small.startswith("_Produced ") and small.endswith(" · pack version 1_")


def test_markdown_pack_has_escaped_tables(engine: Engine, tiny_lookup: Lookup) -> None:
    built = build_meeting(engine)
    text = _export(built, "md", tiny_lookup).decode("utf-8")
    assert text.startswith("**OFFICIAL-SENSITIVE**")
    assert "| # | Offender | PNC | Lead force | Reasons | Score |" in text
    assert r"Pipe\|Name \*bold\*" in text
    assert r"MAPPA level 2 \| both forces" in text
    assert r"=HYPERLINK\(" in text
    for heading in ("## Agenda", "## Item 1.", "## Item 3.", "## Decisions", "## Actions"):
        assert heading in text
    # Every table row has as many cells as its heading: no name or note adds a column.
    width = 0
    rows = 0
    for line in text.splitlines():
        if line.startswith("|---"):
            assert len(line.split("|")) - 2 == width, line
            continue
        if line.startswith("| "):
            cells = _cells(line)
            width = width or len(cells)
            assert len(cells) == width, line
            rows += 1
        else:
            width = 0
    assert rows >= 15
    decisions = text.split("## Decisions")[1].split("## Actions")[0]
    assert "Transfer to Metropolitan Police Service" in decisions
    assert r"@SUM\(A1\)" in decisions


@given(st.text(max_size=40))
def test_md_escape_keeps_text_on_one_line_and_pipes_escaped(text: str) -> None:
    escaped = md_escape(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert len(_cells(f"| {escaped} |")) == 1


@given(st.text(max_size=40))
def test_latin1_always_encodes(text: str) -> None:
    latin1(text).encode("latin-1")


# --- disclosure and minutes -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "md"])
def test_every_export_is_recorded_as_a_disclosure(
    engine: Engine, fmt: str, tiny_lookup: Lookup
) -> None:
    built = build_meeting(engine)
    before = datetime.now(UTC)
    _export(built, fmt, tiny_lookup)
    (event,) = _disclosures(built.engine)
    assert event.actor == "alice"
    assert event.entity_type == "meeting" and event.entity_id == str(built.meeting_id)
    assert event.at is not None and event.at.tzinfo is not None
    assert before <= event.at <= datetime.now(UTC)  # recorded at the export, in UTC
    details = event.details or {}
    assert details["format"] == fmt
    assert details["recipients"] == RECIPIENTS
    assert details["items"] == 3
    with Session(built.engine) as session:
        removed_offender = session.get(Case, built.removed_case_id).offender_id  # type: ignore[union-attr]
        action_offender = session.get(Case, built.action_case_id).offender_id  # type: ignore[union-attr]
    assert details["offender_ids"] == sorted(
        [*built.offender_ids, removed_offender, action_offender]
    )
    assert details["case_ids"] == sorted(
        [*built.case_ids, built.removed_case_id, built.action_case_id]
    )


@pytest.mark.parametrize("recipients", [[], ["", "   "]])
def test_an_export_without_recipients_is_refused(engine: Engine, recipients: list[str]) -> None:
    built = build_meeting(engine)
    with session_scope(built.engine) as session, pytest.raises(InputError, match="recipient"):
        export_pack(
            session,
            actor="alice",
            meeting_id=built.meeting_id,
            fmt="pdf",
            recipients=recipients,
            justification="joint review",
        )
    assert _disclosures(built.engine) == []


def test_bad_format_and_unknown_meeting_are_refused(engine: Engine) -> None:
    built = build_meeting(engine)
    with session_scope(built.engine) as session:
        with pytest.raises(InputError, match="format"):
            export_pack(
                session,
                actor="alice",
                meeting_id=built.meeting_id,
                fmt="docx",  # type: ignore[arg-type]
                recipients=RECIPIENTS,
                justification=JUSTIFICATION,
            )
        with pytest.raises(NotFoundError):
            export_pack(
                session,
                actor="alice",
                meeting_id=999_999,
                fmt="md",
                recipients=["x"],
                justification="x",
            )
    assert _disclosures(built.engine) == []


def test_minutes_are_the_pack_with_decisions_and_actions(engine: Engine) -> None:
    built = build_meeting(engine, decided=False)
    before = _export(built, "md", None).decode("utf-8")
    assert "Meeting pack" in before
    assert "Transfer to" not in before
    with session_scope(built.engine) as session:
        meeting = session.get(Meeting, built.meeting_id)
        assert meeting is not None
        meeting.status = "held"
        meeting.updated_at = datetime.now(UTC)
        session.add(meeting)
        item = session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == built.meeting_id)
            .where(AgendaItem.position == 1)
        ).one()
        session.add(
            ReviewDecision(
                agenda_item_id=item.id,  # type: ignore[arg-type]
                kind="joint",
                note="Joint management for three months",
                decided_by="chair",
            )
        )
        session.add(
            ReviewAction(
                meeting_id=built.meeting_id,
                case_id=built.case_ids[0],
                description="Joint home visit",
                owner="DS Bo Sample",
                created_by="pytest",
            )
        )
    pages = _pages(_export(built, "pdf", None))
    assert "Minutes" in pages[0] and "Status Held" in pages[0]
    assert "Joint management" in pages[-1] and "Joint home visit" in pages[-1]
    with Session(built.engine) as session:
        content = build_pack_content(session, meeting_id=built.meeting_id, actor="system:test")
    assert pack_filename(content, "pdf") == f"meeting-{built.meeting_id}-2025-03-10-minutes.pdf"
    assert [d.kind for _, d in content.decisions] == ["joint"]
    assert [e.details["kind"] for e in _disclosures(built.engine)] == ["meeting pack", "minutes"]  # type: ignore[index]


def test_maps_come_from_the_active_boundary_set_by_default(engine: Engine) -> None:
    from coordination.reference.boundaries import activate, store_layers

    built = build_meeting(engine)
    with session_scope(built.engine) as session:
        stored = store_layers(
            session,
            actor="pytest",
            layers=make_tiny_layers("pack-tiny"),
            checksum="meeting-pack-test-tiny",
        )
        activate(session, actor="pytest", name=stored.name)
    with Session(built.engine) as session:
        content = build_pack_content(session, meeting_id=built.meeting_id, actor="system:test")
    first = content.items[0]
    assert first.map is not None and first.map.boundary_set == "pack-tiny"
    # Both residences drawn, numbered as in the history; the City/Met line is among the lines.
    assert sorted(p[0] for p in first.map.points) == [1, 2]
    assert any(kind == "force" for kind, _ in first.map.lines)
    assert content.items[2].map is None
