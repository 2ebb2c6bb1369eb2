"""Limited access holds in joint meetings: agendas, meeting views, actions and packs.

A case restricted to one officer may be on a City–Met agenda. Everyone in the meeting sees that
an item is there (case number, lead force, reasons, score) but only the officers the case is
open to see who the person is: name, PNC ID, date of birth, residences and free text are
withheld from the rest, in every view and every pack format.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.engine import Engine

from coordination.core.db import session_scope
from coordination.models import Case, Offender
from coordination.packs.export import export_pack
from coordination.review.actions import add_action
from coordination.review.agenda import add_item
from coordination.review.meetings import get_meeting
from coordination.security.permissions import WITHHELD_LABEL
from tests.factories import SYSTEM, add_address, build_world

SECRET_REASON = "Put on by Ms Quill for Zephyrine"
SECRET_ACTION = "Visit Zephyrine at her new flat"


@dataclass(frozen=True)
class Restricted:
    engine: Engine
    meeting_id: int
    case_id: int
    name: str
    pnc_id: str
    born: str
    postcode: str


@pytest.fixture
def restricted(engine: Engine) -> Restricted:
    """The world's restricted case (open to city.om2 only) on the joint meeting, with an action."""
    world = build_world(engine)
    with session_scope(engine) as s:
        case = s.get(Case, world.restricted)
        assert case is not None
        offender = s.get(Offender, case.offender_id)
        assert offender is not None
        offender.first_name = "Zephyrine"
        offender.date_of_birth = date(1987, 7, 23)  # every other test person is born in 1990
        add_address(s, offender_id=offender.id, postcode="EC2V 7HH")  # type: ignore[arg-type]
        add_item(
            s,
            actor=SYSTEM,
            meeting_id=world.joint_meeting,
            case_id=world.restricted,
            reason=SECRET_REASON,
        )
        add_action(
            s,
            actor=SYSTEM,
            meeting_id=world.joint_meeting,
            description=SECRET_ACTION,
            owner="DS Owner",
            due_date=date(2099, 4, 1),
            case_id=world.restricted,
        )
        return Restricted(
            engine,
            world.joint_meeting,
            world.restricted,
            f"Zephyrine {offender.last_name}",
            offender.pnc_id,
            offender.date_of_birth.isoformat(),
            "EC2V 7HH",
        )


def _identifiers(r: Restricted) -> list[str]:
    return ["Zephyrine", r.pnc_id, r.born, r.postcode, SECRET_REASON, SECRET_ACTION]


@pytest.mark.parametrize("viewer", ["city.om", "city.sup", "met.om", "met.sup"])
def test_the_meeting_view_withholds_the_person_from_those_the_case_is_closed_to(
    restricted: Restricted, viewer: str
) -> None:
    with session_scope(restricted.engine) as s:
        detail = get_meeting(s, meeting_id=restricted.meeting_id, actor=viewer)
    item = next(i for i in detail.items if i.case_id == restricted.case_id)
    assert item.withheld
    assert (item.offender_name, item.pnc_id) == (WITHHELD_LABEL, "")
    assert item.residence_postcode is None and item.ogrs3 is None
    assert item.lead_force_code and item.score >= 0  # the meeting can still order and discuss it
    assert all(SECRET_REASON not in r["text"] for r in item.reasons)
    action = next(a for a in detail.actions if a.case_id == restricted.case_id)
    assert action.offender_name == WITHHELD_LABEL
    assert SECRET_ACTION not in action.description
    # The other items are untouched.
    assert any(not i.withheld and i.offender_name != WITHHELD_LABEL for i in detail.items)


def test_the_officer_the_case_is_open_to_sees_it_whole(restricted: Restricted) -> None:
    with session_scope(restricted.engine) as s:
        detail = get_meeting(s, meeting_id=restricted.meeting_id, actor="city.om2")
    item = next(i for i in detail.items if i.case_id == restricted.case_id)
    assert not item.withheld
    assert (item.offender_name, item.pnc_id) == (restricted.name, restricted.pnc_id)
    assert any(SECRET_REASON in r["text"] for r in item.reasons)
    action = next(a for a in detail.actions if a.case_id == restricted.case_id)
    assert action.description == SECRET_ACTION


def _pack_text(r: Restricted, actor: str, fmt: str) -> str:
    with session_scope(r.engine) as s:
        data = export_pack(
            s,
            actor=actor,
            meeting_id=r.meeting_id,
            fmt=fmt,  # type: ignore[arg-type]
            recipients=["City IOM team"],
            justification="joint review",
        )
    if fmt == "md":
        return data.decode("utf-8")
    if fmt == "pdf":
        return " ".join(
            " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages
        )
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        " ".join("" if v is None else str(v) for v in row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


@pytest.mark.parametrize("fmt", ["md", "xlsx", "pdf"])
def test_every_pack_format_withholds_the_person(restricted: Restricted, fmt: str) -> None:
    closed = _pack_text(restricted, "met.om", fmt)
    for identifier in _identifiers(restricted):
        assert identifier not in closed, identifier
    assert WITHHELD_LABEL in closed
    assert f"case {restricted.case_id}" in closed or str(restricted.case_id) in closed
    opened = _pack_text(restricted, "city.om2", fmt)
    assert "Zephyrine" in opened and restricted.pnc_id in opened


@pytest.mark.parametrize(
    "command", [["review", "show", "{meeting}"], ["review", "agenda", "--date", "2025-03-10"]]
)
def test_the_command_line_withholds_the_person_too(
    restricted: Restricted,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()
    try:
        for as_json in ([], ["--json"]):
            capsys.readouterr()
            argv = [a.format(meeting=restricted.meeting_id) for a in command]
            code = main(["--as", "met.om", *argv, *as_json])
            out = capsys.readouterr().out
            assert code == 0, out
            assert WITHHELD_LABEL in out
            for identifier in _identifiers(restricted):
                assert identifier not in out, identifier
    finally:
        reset_settings_cache()
