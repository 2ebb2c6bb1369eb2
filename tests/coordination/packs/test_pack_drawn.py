"""What the meeting pack PDF looks like: pages rendered to PNG (pdftoppm) and looked at.

A meeting with many items (most with maps, some without addresses, some decided) is exported;
the pages are rasterised and checked for the map's red leaking into tables, for nearly empty
pages, for how many pages the items take, and for the recipients and the wording on the page.
The codes the register stores each have plain wording (coordination.core.wording).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import get_args

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coordination.core import wording
from coordination.core.db import session_scope
from coordination.models import (
    ADDRESS_STATES,
    AREA_KINDS,
    DECISION_KINDS,
    HANDOFF_STATES,
    PROGRAMMES,
    RISKS,
    ROLES,
    SEXES,
    ActionStatus,
    Address,
    Case,
    CaseAccessMode,
    CaseStatus,
    MeetingStatus,
    ReviewAction,
    ReviewDecision,
)
from coordination.packs.build import build_pack_content
from coordination.packs.export import export_pack
from coordination.packs.render.pdf import render_pdf
from coordination.register.inputs import OFFENCE_CATEGORIES
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from geo.lookup import Lookup
from geo.resolver import Resolver
from tests.factories import add_agenda_item, add_case, add_meeting, make_tiny_layers

RECIPIENTS = ["Met IOM team", "DS Bo Sample"]
JUSTIFICATION = "Joint City-Met review: the attendees"
ITEMS = 24
DPI = 50
# The current residence's dot (coordination.packs.render.pdf.CURRENT_DOT) and its tolerance.
DOT = (200, 0, 0)

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")


@pytest.fixture(scope="module")
def tiny_lookup() -> Lookup:
    return Lookup(Resolver.build(make_tiny_layers()), None)


def _many_items(engine: Engine) -> int:
    """A City-Met meeting of ITEMS items: two in three live near the line (mapped), the rest
    have no address; every third is decided and has an action."""
    with session_scope(engine) as session:
        meeting_id = add_meeting(session, "April review - City/Met", date(2025, 4, 7))
        for n in range(ITEMS):
            case_id = add_case(
                session,
                lead=METROPOLITAN if n % 2 else CITY_OF_LONDON,
                first_name=f"Person{n}",
                last_name="Example",
                programme=PROGRAMMES[n % len(PROGRAMMES)],
                risk=RISKS[n % len(RISKS)],
                mappa_level=3 if n % 4 == 0 else None,
                offence_category=("sexual_child", "burglary_domestic", "fraud_and_forgery")[n % 3],
            )
            case = session.get(Case, case_id)
            assert case is not None
            if n % 4 == 0:
                case.mappa_category = 1
                session.add(case)
            if n % 3 != 2:
                east = 530400.0 + 50 * n
                force = CITY_OF_LONDON if east < 531000 else METROPOLITAN
                session.add(
                    Address(
                        offender_id=case.offender_id,
                        postcode="EC2V 7HH",
                        easting=east,
                        northing=180500.0,
                        valid_from=date(2024, 1, 1),
                        force_code=force,
                        district_code="E09000001" if force == CITY_OF_LONDON else "E09000002",
                        distance_to_boundary_m=abs(east - 531000.0),
                        near_boundary=abs(east - 531000.0) < 100,
                        method="polygon",
                        boundary_set="tiny",
                        created_by="pytest",
                    )
                )
            item_id = add_agenda_item(
                session,
                meeting_id,
                case_id,
                n + 1,
                reasons=[{"code": "near_boundary", "text": f"Residence {50 * n} m from the line"}],
                score=float(ITEMS - n),
            )
            if n % 3 == 0:
                session.add(
                    ReviewDecision(
                        agenda_item_id=item_id, kind="retain", note="Keep", decided_by="chair"
                    )
                )
                session.add(
                    ReviewAction(
                        meeting_id=meeting_id,
                        case_id=case_id,
                        description=f"Verify address {n}",
                        owner="DS Bo Sample",
                        created_by="pytest",
                    )
                )
    return meeting_id


def _export_pdf(engine: Engine, meeting_id: int, lookup: Lookup) -> bytes:
    with session_scope(engine) as session:
        return export_pack(
            session,
            actor="alice",
            meeting_id=meeting_id,
            fmt="pdf",
            recipients=RECIPIENTS,
            justification=JUSTIFICATION,
            lookup=lookup,
        )


def _rasterise(data: bytes, where: Path) -> list[Image.Image]:
    pdf = where / "pack.pdf"
    pdf.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(where / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return [Image.open(p).convert("RGB") for p in sorted(where.glob("page-*.png"))]


def _dot_red(image: Image.Image) -> int:
    """Pixels close to the map's red (the marking's darker red, 160,0,0, is not counted)."""
    raw = image.tobytes()
    return sum(
        1
        for i in range(0, len(raw), 3)
        if abs(raw[i] - DOT[0]) <= 25 and raw[i + 1] <= 40 and raw[i + 2] <= 40
    )


def _ink(image: Image.Image) -> float:
    """The share of dark pixels between the header and the footer."""
    w, h = image.size
    body = image.convert("L").crop((0, int(h * 0.085), w, int(h * 0.93)))
    dark = sum(1 for v in body.tobytes() if v < 200)
    return dark / (body.size[0] * body.size[1])


def _texts(data: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages]


def test_the_pdf_pack_looks_right(engine: Engine, tiny_lookup: Lookup, tmp_path: Path) -> None:
    meeting_id = _many_items(engine)
    data = _export_pdf(engine, meeting_id, tiny_lookup)
    pages = _rasterise(data, tmp_path)
    texts = _texts(data)
    assert len(pages) == len(texts)
    # Several items to a page: far fewer pages than items, never more than two an item.
    assert len(pages) <= 2 * ITEMS
    assert len(pages) < ITEMS * 0.75, len(pages)

    # No nearly empty page (a stray "Not yet decided." alone) but the last.
    for number, image in enumerate(pages[:-1], start=1):
        assert _ink(image) > 0.015, f"page {number} is nearly empty ({_ink(image):.4f})"

    # The map's red stays in its dots: a page's red is a few dots' worth, never a table's fill.
    # A dot is a few pixels at this resolution; a filled table row would be thousands.
    one_map = 120
    stray = 20  # anti-aliased edges of the red protective marking
    for number, (image, text) in enumerate(zip(pages, texts, strict=True), start=1):
        maps = text.count("Current residence")
        red = _dot_red(image)
        assert red <= stray + one_map * maps, f"page {number}: {red} red pixels for {maps} map(s)"
    assert sum(t.count("Current residence") for t in texts) == len(
        [n for n in range(ITEMS) if n % 3 != 2]
    )
    last = texts[-1]
    assert "Actions" in last and "Verify address 0" in last
    assert _dot_red(pages[-1]) <= stray  # the actions table is never red

    # The recipients are named on the cover.
    assert "Prepared for" in texts[0]
    for recipient in RECIPIENTS:
        assert recipient in texts[0]
    assert "pack version" in texts[0] and "April review - City/Met" in texts[0]
    assert "Monday 7 April 2025" in texts[0] and "Planned" in texts[0]

    # Plain words, not the register's codes.
    everything = "\n".join(texts)
    for code in ("very_high", "iom_fixed", "sexual_child", "burglary_domestic", "not_known"):
        assert code not in everything, code
    assert "Sexual offence (child)" in everything and "Very high" in everything
    assert "MAPPA category 1, level 3" in everything
    # Maps carry a scale bar and a legend naming the dot and the lines.
    assert "1 km" in everything or "500 m" in everything
    assert "Force boundary" in everything


def test_a_map_with_nothing_to_show_is_left_out(engine: Engine, tiny_lookup: Lookup) -> None:
    meeting_id = _many_items(engine)
    with Session(engine) as session:
        content = build_pack_content(
            session, meeting_id=meeting_id, lookup=tiny_lookup, actor="system:test"
        )
    first = content.items[0]
    assert first.map is not None and first.map.lines
    bare = replace(first, map=replace(first.map, lines=()))
    only = replace(content, items=(bare,), actions=())
    text = "\n".join(_texts(render_pdf(only)))
    assert "No boundary lies within 1.0 km" in text
    assert "Current residence" not in text  # no box, no legend


def test_recipients_reach_the_content_and_every_format(engine: Engine, tiny_lookup: Lookup) -> None:
    meeting_id = _many_items(engine)
    with session_scope(engine) as session:
        md = export_pack(
            session,
            actor="alice",
            meeting_id=meeting_id,
            fmt="md",
            recipients=RECIPIENTS,
            justification=JUSTIFICATION,
        ).decode("utf-8")
        content = build_pack_content(session, meeting_id=meeting_id, actor="system:test")
        xlsx = export_pack(
            session,
            actor="alice",
            meeting_id=meeting_id,
            fmt="xlsx",
            recipients=RECIPIENTS,
            justification=JUSTIFICATION,
        )
    assert "**Prepared for:** Met IOM team; DS Bo Sample" in md
    assert content.recipients == ()  # a preview names nobody
    sheet = load_workbook(io.BytesIO(xlsx))["Cover"]
    cover = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert cover["Prepared for"] == "Met IOM team; DS Bo Sample"
    assert cover["Pack version"] == content.version


# --- wording ------------------------------------------------------------------------------------

ENUMS: list[tuple[str, tuple[str, ...], object]] = [
    ("sex", SEXES, wording.sex_label),
    ("address state", ADDRESS_STATES, wording.address_state_label),
    ("programme", PROGRAMMES, wording.programme_label),
    ("risk", RISKS, wording.risk_label),
    ("case status", get_args(CaseStatus), wording.case_status_label),
    ("meeting status", get_args(MeetingStatus), wording.meeting_status_label),
    ("decision", DECISION_KINDS, wording.decision_label),
    ("action status", get_args(ActionStatus), wording.action_status_label),
    ("handoff state", HANDOFF_STATES, wording.handoff_state_label),
    ("area kind", AREA_KINDS, wording.area_kind_label),
    ("role", ROLES, wording.role_label),
    ("case access", get_args(CaseAccessMode), wording.case_access_mode_label),
    ("offence", tuple(OFFENCE_CATEGORIES), wording.offence_label),
]


@pytest.mark.parametrize(("what", "codes", "label"), ENUMS, ids=[e[0] for e in ENUMS])
def test_every_code_has_wording_that_is_not_the_code(
    what: str, codes: tuple[str, ...], label: object
) -> None:
    assert codes, what
    for code in codes:
        text = label(code)  # type: ignore[operator]
        assert text and text != code, (what, code, text)
        assert "_" not in text and text[0].isupper(), (what, code, text)


def test_wording_examples_and_unknown_codes() -> None:
    assert wording.mappa_label(1, 3) == "MAPPA category 1, level 3"
    assert wording.mappa_label(None, None) == "Not a MAPPA case"
    assert wording.mappa_label(2, None) == "MAPPA category 2, level not recorded"
    assert wording.offence_label("sexual_child") == "Sexual offence (child)"
    assert wording.offence_label("burglary (domestic)") == "Burglary (domestic)"
    assert wording.risk_label("very_high") == "Very high"
    assert wording.programme_label("mappa") == "MAPPA"
    assert wording.rule_label("residence") == "Where the person lives"
    # A code added after this module still reads as words, never raises.
    assert wording.risk_label("extreme_new_level") == "Extreme new level"
    assert wording.offence_label(None) == ""


def test_items_past_the_meeting_size_are_listed_not_set_out(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    """With ``agenda_size`` 5, items 6 on are a table, but decided ones stay in full."""
    meeting_id = _many_items(engine)
    with Session(engine) as session:
        content = build_pack_content(
            session, meeting_id=meeting_id, lookup=tiny_lookup, actor="system:test", agenda_size=5
        )
    full = [i.position for i in content.items]
    listed = [n.position for n in content.not_reached]
    assert full[:5] == [1, 2, 3, 4, 5]
    assert sorted(full + listed) == list(range(1, ITEMS + 1))
    assert all(i.decision is not None for i in content.items[5:])
    assert all(n.score >= 0 and n.reasons for n in content.not_reached)
    text = "\n".join(_texts(render_pdf(content)))
    assert f"Not reached at this meeting ({len(listed)})" in text
