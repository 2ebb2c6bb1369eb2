"""The offender register: inputs, adding offenders, moves and handoffs, audit, and the CLI.

Services run on SQLite and PostgreSQL (``database_url``) against a lookup over the tiny two-square
boundary set (City E09000001 west of x = 531000, Met E09000002 east of it); the City → Hackney move
with real postcodes uses the national pack, and the CLI the initialised temporary installation.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from coordination.audit.reader import list_events
from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.models import Address, AuditEvent, Case, Handoff, Offender
from coordination.register.inputs import (
    OFFENCE_CATEGORIES,
    CaseCreate,
    OffenderCreate,
    Residence,
    add_months,
    normalise_offence_category,
    review_due,
    validated,
)
from coordination.register.moves import move_offender
from coordination.register.offenders import (
    AddedOffender,
    add_offender,
    get_offender,
    list_offenders,
)
from coordination.register.pnc import pnc_check_letter
from geo.lookup import Lookup
from geo.resolver import Resolver
from tests.factories import make_tiny_layers
from tests.support.database import migrated_engine

CITY, MET = "E23000034", "E23000001"
TODAY = date(2025, 3, 14)
HAS_HANDOFFS = importlib.util.find_spec("coordination.handoffs") is not None
needs_handoffs = pytest.mark.skipif(
    not HAS_HANDOFFS, reason="coordination.handoffs (create_handoff) is not written yet"
)

# Points in the tiny set: deep in the City, deep in the Met borough, 50 m east of the line,
# and far outside both squares.
CITY_PT = (530300.0, 180500.0)
MET_PT = (531700.0, 180500.0)
MET_EDGE_PT = (531050.0, 180500.0)
OUTSIDE_PT = (400000.0, 300000.0)


def pnc(serial: int, year: int = 2019) -> str:
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


def person(serial: int = 12345, **changes: Any) -> OffenderCreate:
    data: dict[str, Any] = {
        "pnc_id": pnc(serial),
        "first_name": "Ann",
        "last_name": "Example",
        "date_of_birth": date(1990, 2, 3),
        "sex": "female",
    }
    return validated(OffenderCreate, **{**data, **changes})


def a_case(**changes: Any) -> CaseCreate:
    data: dict[str, Any] = {
        "programme": "iom_fixed",
        "risk": "medium",
        "offence_category": "burglary_domestic",
    }
    return validated(CaseCreate, **{**data, **changes})


@pytest.fixture(scope="module")
def tiny_lookup() -> Lookup:
    return Lookup(Resolver.build(make_tiny_layers()), None)


def add(
    engine: Engine,
    lookup: Lookup,
    *,
    at: tuple[float, float] | None = CITY_PT,
    residence: Residence | None = None,
    serial: int = 12345,
    valid_from: date = date(2024, 1, 1),
    **case: Any,
) -> AddedOffender:
    where = residence or Residence.at_point(*at)  # type: ignore[misc]
    with session_scope(engine) as session:
        return add_offender(
            session,
            actor="alice",
            offender=person(serial),
            case=a_case(**case),
            residence=where,
            valid_from=valid_from,
            lookup=lookup,
            today=TODAY,
        )


def move(engine: Engine, lookup: Lookup, offender_id: int, residence: Residence, on: date) -> Any:
    with session_scope(engine) as session:
        return move_offender(
            session,
            actor="bob",
            offender_id=offender_id,
            residence=residence,
            valid_from=on,
            lookup=lookup,
            today=TODAY,
        )


# -- inputs ------------------------------------------------------------------------------------


def test_offence_categories_are_the_twenty_of_ogrs3() -> None:
    assert len(OFFENCE_CATEGORIES) == 20
    assert OFFENCE_CATEGORIES["fraud_and_forgery"] == "fraud and forgery"
    assert normalise_offence_category("  Burglary (Domestic) ") == "burglary_domestic"
    assert normalise_offence_category("drug_import_export_production") == (
        "drug_import_export_production"
    )
    assert normalise_offence_category("Fraud and forgery") == "fraud_and_forgery"


@given(st.sampled_from(sorted(OFFENCE_CATEGORIES.items())))
def test_every_category_by_key_or_label(item: tuple[str, str]) -> None:
    key, label = item
    assert normalise_offence_category(key) == key
    assert normalise_offence_category(label.upper()) == key


@given(st.text(max_size=30))
def test_other_text_is_not_a_category(text: str) -> None:
    cleaned = " ".join(text.strip().lower().split())
    known = set(OFFENCE_CATEGORIES) | set(OFFENCE_CATEGORIES.values())
    if cleaned in known or cleaned.replace(" ", "_") in known:
        return
    with pytest.raises(InputError, match="not an OGRS3 offence category"):
        normalise_offence_category(text)


@given(year=st.integers(1900, 2024), serial=st.integers(0, 9_999_999))
def test_pnc_is_stored_long_form(year: int, serial: int) -> None:
    letter = pnc_check_letter(year, serial)
    short = f"{year % 100:02d}/{serial}{letter.lower()}" if year >= 2000 else None
    assert person(pnc_id=f"{year}/{serial}{letter}").pnc_id == pnc(serial, year)
    if short:
        assert person(pnc_id=short).pnc_id == pnc(serial, year)
    wrong = "ZABCDEFGHJKLMNPQRTUVWXY".replace(letter, "")[0]
    with pytest.raises(InputError, match=f"pnc_id: .*check letter should be {letter}"):
        person(pnc_id=f"{year}/{serial}{wrong}")


@given(st.text(alphabet=" \t\n\u00a0", max_size=5))
def test_blank_names_are_refused(blank: str) -> None:
    with pytest.raises(InputError, match="first_name: a name must not be blank"):
        person(first_name=blank)
    with pytest.raises(InputError, match="last_name"):
        person(last_name=blank)


@given(st.text(alphabet=st.characters(categories=["L", "Zs"]), min_size=1, max_size=60))
def test_names_are_trimmed_and_collapsed(name: str) -> None:
    if not name.strip():
        return
    stored = person(first_name=name, aliases=[name, " ", name]).first_name
    assert stored == stored.strip()
    assert "  " not in stored


@given(st.integers(-40_000, 40_000))
def test_date_of_birth_in_the_past_and_sensible(days: int) -> None:
    today = london_today()  # the register judges dates of birth against the London date
    born = today - timedelta(days=days)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if 10 <= age <= 110 and days > 0:
        assert person(date_of_birth=born).date_of_birth == born
    else:
        with pytest.raises(InputError, match="date_of_birth"):
            person(date_of_birth=born)


@given(
    programme=st.sampled_from(["iom_fixed", "iom_flex", "iom_free", "mappa", "other"]),
    category=st.one_of(st.none(), st.integers(0, 4)),
    level=st.one_of(st.none(), st.integers(0, 4)),
)
def test_mappa_category_and_level_iff_mappa(
    programme: str, category: int | None, level: int | None
) -> None:
    ok = (programme == "mappa" and category in (1, 2, 3) and level in (1, 2, 3)) or (
        programme != "mappa" and category is None and level is None
    )
    if ok:
        made = a_case(programme=programme, mappa_category=category, mappa_level=level)
        assert made.mappa_category == category
    else:
        with pytest.raises(InputError):
            a_case(programme=programme, mappa_category=category, mappa_level=level)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({}, "give a postcode or easting/northing"),
        ({"postcode": "EC2V 7HH", "easting": 1.0, "northing": 2.0}, "one of them"),
        ({"easting": 530000.0}, "both easting and northing"),
        ({"easting": -5.0, "northing": 10.0}, "off the British National Grid"),
        ({"easting": float("nan"), "northing": 10.0}, "must be numbers"),
        ({"postcode": "EC2V 7H"}, "postcode"),
        ({"state": "no_fixed_abode", "postcode": "EC2V 7HH"}, "takes no postcode"),
        ({"state": "homeless"}, "state"),
    ],
)
def test_bad_residences(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        validated(Residence, **data)


def test_residence_shapes() -> None:
    assert Residence.at_postcode("ec2v7hh").postcode == "EC2V 7HH"
    assert Residence.at_point(530000, 180000).easting == 530000.0
    assert Residence.no_fixed_abode().state == "no_fixed_abode"
    assert Residence.unknown().state == "unknown"


def test_review_dates() -> None:
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert review_due("mappa", date(2025, 3, 14)) == date(2025, 6, 14)
    assert review_due("iom_flex", date(2025, 3, 14)) == date(2025, 9, 14)
    assert review_due("other", date(2025, 3, 14)) == date(2025, 9, 14)


# -- adding ------------------------------------------------------------------------------------


def test_add_stores_the_resolution_and_decides_the_lead(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    added = add(engine, tiny_lookup, at=MET_EDGE_PT)
    assert added.case.lead_force_code == MET
    assert added.case.responsibility_rule == "residence"
    assert added.case.flags == ["verify_address"]
    assert (
        added.case.responsibility_explanation
        == added.decision.explanation
        == (
            "Metropolitan Police Service: lives in Barking and Dagenham (E09000002), East BCU, "
            "50 m from the City boundary; rule: residence"
        )
    )
    assert added.case.next_review_due == date(2025, 9, 14)
    assert added.case.version == 1
    with session_scope(engine) as session:
        row = session.exec(select(Address)).one()
    assert (row.state, row.valid_from, row.valid_to) == ("residence", date(2024, 1, 1), None)
    assert (row.force_code, row.district_code, row.bcu_code, row.ward_code) == (
        MET,
        "E09000002",
        "EA",
        "E05014053",
    )
    assert (row.distance_to_boundary_m, row.near_boundary) == (50.0, True)
    assert (row.method, row.boundary_set) == ("polygon", "tiny")
    assert (row.easting, row.northing) == MET_EDGE_PT


def test_add_mappa_reviews_in_three_months_and_fraud_stays_with_the_city(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    mappa = add(engine, tiny_lookup, at=MET_PT, programme="mappa", mappa_category=2, mappa_level=3)
    assert mappa.case.next_review_due == date(2025, 6, 14)
    assert mappa.case.lead_force_code == MET
    fraud = add(engine, tiny_lookup, at=MET_PT, serial=2, offence_category="fraud and forgery")
    assert fraud.case.lead_force_code == CITY
    assert fraud.decision.rule == "economic_crime"


def test_add_with_no_fixed_abode_or_outside_coverage(engine: Engine, tiny_lookup: Lookup) -> None:
    nfa = add(engine, tiny_lookup, residence=Residence.no_fixed_abode())
    assert nfa.address.state == "no_fixed_abode"
    assert nfa.address.force_code is None and nfa.address.method is None
    assert (nfa.case.lead_force_code, nfa.case.flags) == (CITY, ["address_unknown"])
    outside = add(engine, tiny_lookup, at=OUTSIDE_PT, serial=2)
    assert outside.address.method == "outside"
    assert (outside.case.lead_force_code, outside.case.flags) == (CITY, ["force_unknown"])
    assert outside.warnings


def test_duplicate_pnc_is_a_conflict(engine: Engine, tiny_lookup: Lookup) -> None:
    first = add(engine, tiny_lookup)
    with pytest.raises(ConflictError, match=f"already registered \\(id {first.offender.id}\\)"):
        add(engine, tiny_lookup, at=MET_PT)
    with session_scope(engine) as session:
        assert len(session.exec(select(Offender)).all()) == 1
        assert len(session.exec(select(Case)).all()) == 1


def test_add_refuses_impossible_dates(engine: Engine, tiny_lookup: Lookup) -> None:
    with pytest.raises(InputError, match="future"):
        add(engine, tiny_lookup, valid_from=TODAY + timedelta(days=1))
    with pytest.raises(InputError, match="before the date of birth"):
        add(engine, tiny_lookup, valid_from=date(1980, 1, 1))


def test_unknown_offender(engine: Engine, tiny_lookup: Lookup) -> None:
    with session_scope(engine) as session, pytest.raises(NotFoundError):
        get_offender(session, offender_id=999, actor="system:test")
    with pytest.raises(NotFoundError):
        move(engine, tiny_lookup, 999, Residence.unknown(), TODAY)


# -- moves -------------------------------------------------------------------------------------


def test_move_within_a_force_makes_no_handoff(engine: Engine, tiny_lookup: Lookup) -> None:
    added = add(engine, tiny_lookup, at=MET_PT)
    moved = move(engine, tiny_lookup, added.offender.id, Residence.at_point(*MET_EDGE_PT), TODAY)
    assert moved.handoffs == []
    assert moved.previous.valid_to == TODAY - timedelta(days=1)
    assert moved.decision.force_code == MET
    assert moved.cases[0].note == "Metropolitan Police Service keeps the case"
    with session_scope(engine) as session:
        detail = get_offender(session, offender_id=added.offender.id, actor="system:test")
    assert [a.valid_to for a in detail.addresses] == [None, TODAY - timedelta(days=1)]
    assert detail.cases[0].flags == ["verify_address"]
    assert detail.cases[0].version == 2
    assert detail.current_address == moved.address


@needs_handoffs
def test_move_across_a_boundary_creates_a_handoff_and_keeps_the_lead(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    added = add(engine, tiny_lookup, at=CITY_PT)
    moved = move(engine, tiny_lookup, added.offender.id, Residence.at_point(*MET_PT), TODAY)
    [handoff] = moved.handoffs
    assert (handoff.from_force_code, handoff.to_force_code, handoff.to_bcu_code) == (
        CITY,
        MET,
        "EA",
    )
    assert handoff.case_id == added.case.id
    assert handoff.address_id == moved.address.id
    assert handoff.reason == moved.decision.explanation
    assert moved.cases[0].handoff == handoff
    with session_scope(engine) as session:
        detail = get_offender(session, offender_id=added.offender.id, actor="system:test")
    assert detail.cases[0].lead_force_code == CITY  # until the handoff completes
    assert [h.id for h in detail.handoffs] == [handoff.id]

    # Moving again to the same force does not open a second handoff.
    again = move(engine, tiny_lookup, added.offender.id, Residence.at_point(*MET_EDGE_PT), TODAY)
    assert again.handoffs == []
    assert f"handoff {handoff.id}" in again.cases[0].note


@needs_handoffs
def test_move_to_no_fixed_abode_flags_and_keeps_the_lead(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    added = add(engine, tiny_lookup, at=CITY_PT)
    moved = move(engine, tiny_lookup, added.offender.id, Residence.no_fixed_abode(), TODAY)
    assert moved.handoffs == []
    assert moved.address.state == "no_fixed_abode"
    assert (moved.decision.force_code, moved.decision.flags) == (CITY, ["address_unknown"])
    unknown = move(engine, tiny_lookup, added.offender.id, Residence.unknown(), TODAY)
    assert unknown.handoffs == [] and unknown.decision.flags == ["address_unknown"]


def test_backdated_move_is_refused_and_same_day_is_a_one_day_address(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    added = add(engine, tiny_lookup, at=MET_PT, valid_from=date(2024, 6, 1))
    with pytest.raises(InputError, match="cannot start before the current address began"):
        move(engine, tiny_lookup, added.offender.id, Residence.unknown(), date(2024, 5, 31))
    moved = move(engine, tiny_lookup, added.offender.id, Residence.unknown(), date(2024, 6, 1))
    assert moved.previous.valid_to == date(2024, 6, 1)
    with pytest.raises(InputError, match="future"):
        move(engine, tiny_lookup, added.offender.id, Residence.unknown(), TODAY + timedelta(1))


@needs_handoffs
def test_every_write_is_audited(engine: Engine, tiny_lookup: Lookup) -> None:
    added = add(engine, tiny_lookup, at=CITY_PT)
    move(engine, tiny_lookup, added.offender.id, Residence.at_point(*MET_PT), TODAY)
    move(engine, tiny_lookup, added.offender.id, Residence.no_fixed_abode(), TODAY)
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        addresses = session.exec(select(Address)).all()
        (handoff,) = session.exec(select(Handoff).where(Handoff.case_id == added.case.id)).all()
    by_action: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event)
    assert [e.actor for e in by_action["offender.create"]] == ["alice"]
    assert {e.entity_id for e in by_action["address.create"]} == {str(a.id) for a in addresses}
    assert len(by_action["address.close"]) == 2
    assert [e.entity_id for e in by_action["case.create"]] == [str(added.case.id)]
    responsibility = by_action["case.responsibility"]
    assert [e.actor for e in responsibility] == ["bob", "bob"]
    assert responsibility[0].details["decided_force_code"] == MET
    assert responsibility[0].details["handoff_id"] == handoff.id  # the move to the Met's
    assert responsibility[1].details["flags"] == ["address_unknown"]
    assert [e.entity_id for e in by_action["handoff.create"]] == [str(handoff.id)]


def test_list_offenders(engine: Engine, tiny_lookup: Lookup) -> None:
    add(engine, tiny_lookup, serial=1)
    add(engine, tiny_lookup, serial=2)
    with session_scope(engine) as session:
        assert len(list_offenders(session, actor="system:test")) == 2
        assert [
            o.pnc_id for o in list_offenders(session, search="0000002", actor="system:test")
        ] == [pnc(2)]
        assert len(list_offenders(session, search="examp", actor="system:test")) == 2
        assert len(list_offenders(session, limit=1, offset=1, actor="system:test")) == 1


@pytest.mark.pack
@needs_handoffs
def test_city_to_hackney_with_real_postcodes(
    engine: Engine,
    national_resolver: Resolver,
    directory: Any,
) -> None:
    lookup = Lookup(national_resolver, directory)
    added = add(engine, lookup, residence=Residence.at_postcode("EC2V 7HH"))
    assert added.case.lead_force_code == CITY
    assert added.address.postcode == "EC2V 7HH"
    assert added.address.district_code == "E09000001"
    assert added.decision.explanation.startswith(
        "City of London Police: lives in City of London (E09000001), "
    )
    assert added.decision.explanation.endswith(" m from the Met boundary; rule: residence")
    moved = move(engine, lookup, added.offender.id, Residence.at_postcode("e81dy"), TODAY)
    assert moved.address.postcode == "E8 1DY"
    assert (moved.address.force_code, moved.address.bcu_code) == (MET, "CE")
    assert moved.decision.explanation.startswith(
        "Metropolitan Police Service: lives in Hackney (E09000012), Central East BCU, "
    )
    assert "km from the City boundary; rule: residence" in moved.decision.explanation
    [handoff] = moved.handoffs
    assert (handoff.to_force_code, handoff.to_bcu_code) == (MET, "CE")


# -- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli(private_app_env: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    from coordination.cli.main import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--as", "carol", *argv])
        except SystemExit as exc:  # argparse usage errors exit 2 themselves
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    yield run


def _add_args(serial: int, *where: str) -> list[str]:
    return [
        "offenders",
        "add",
        "--first-name",
        "Sam",
        "--last-name",
        "Sample",
        "--dob",
        "1985-07-09",
        "--sex",
        "not_known",
        "--pnc",
        pnc(serial, 2011),
        *where,
        "--programme",
        "iom_flex",
        "--risk",
        "high",
        "--offence",
        "robbery",
    ]


@needs_handoffs
def test_cli_add_show_move(cli: Any) -> None:
    code, out, _ = cli(*_add_args(501, "--postcode", "EC2V 7HH"), "--from", "2024-01-01")
    assert code == 0
    assert "Case " in out and "lead force City of London Police (E23000034)" in out
    assert "rule: residence" in out

    code, out, _ = cli(*_add_args(502, "--postcode", "ec2v7hh"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["lead_force_code"] == CITY
    assert data["address"]["postcode"] == "EC2V 7HH"
    assert data["address"]["district_code"] == "E09000001"
    assert data["explanation"].startswith("City of London Police: lives in City of London")
    offender_id, case_id = data["offender_id"], data["case_id"]
    assert data["case"]["id"] == case_id

    code, out, _ = cli("offenders", "move", str(offender_id), "--postcode", "E8 1DY", "--json")
    assert code == 0
    moved = json.loads(out)
    assert moved["address"]["force_code"] == MET
    assert moved["address"]["bcu_code"] == "CE"
    assert moved["address"]["district_code"] == "E09000012"
    assert moved["decision"]["explanation"].startswith(
        "Metropolitan Police Service: lives in Hackney (E09000012), Central East BCU"
    )
    [handoff] = moved["handoffs"]
    assert (handoff["from_force_code"], handoff["to_force_code"]) == (CITY, MET)
    assert moved["cases"] == [
        {
            "case_id": case_id,
            "lead_force_code": CITY,
            "decision": moved["decision"],
            "handoff_id": handoff["id"],
            "note": moved["cases"][0]["note"],
        }
    ]

    code, out, _ = cli("offenders", "show", str(offender_id), "--json", "--reason", "case review")
    assert code == 0
    shown = json.loads(out)
    assert [a["postcode"] for a in shown["addresses"]] == ["E8 1DY", "EC2V 7HH"]
    assert shown["cases"][0]["lead_force_code"] == CITY
    assert [h["id"] for h in shown["handoffs"]] == [handoff["id"]]

    code, out, _ = cli("offenders", "show", str(offender_id), "--reason", "case review")
    assert code == 0
    assert "E8 1DY" in out and "Handoff" in out and "SAMPLE, Sam" in out

    code, out, _ = cli("offenders", "move", str(offender_id), "--nfa")
    assert code == 0
    assert "no fixed abode" in out and "Flags: address_unknown" in out


def test_cli_move_human_output_within_the_city(cli: Any) -> None:
    code, out, _ = cli(*_add_args(503, "--bng", "532400,181300"), "--json")
    assert code == 0
    offender_id = json.loads(out)["offender_id"]
    code, out, _ = cli("offenders", "move", str(offender_id), "--postcode", "EC2V 7HH")
    assert code == 0
    assert "City of London Police keeps the case" in out
    assert "Handoff" not in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (_add_args(504, "--postcode", "EC2V 9ZZ"), "not in the postcode directory"),
        (_add_args(505, "--bng", "1,2,3"), ""),
        ([*_add_args(506, "--nfa")[:-2], "--offence", "arson"], "not an OGRS3 offence category"),
        (
            [a if a != "1985-07-09" else "2030-01-01" for a in _add_args(507, "--nfa")],
            "date_of_birth",
        ),
        ([a if a != "1985-07-09" else "9 July" for a in _add_args(508, "--nfa")], "--dob"),
        (
            [a if a != "iom_flex" else "mappa" for a in _add_args(509, "--nfa")],
            "MAPPA case needs its category",
        ),
        (["offenders", "show", "987654", "--reason", "x"], "No offender with id 987654"),
        (["offenders", "show", "987654"], "reason"),
        (["offenders", "move", "987654", "--unknown"], "No offender"),
        (["offenders", "move", "1", "--unknown", "--from", "yesterday"], "--from"),
        (["offenders", "move", "1"], "one of the arguments"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(cli: Any, argv: list[str], needle: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_cli_duplicate_pnc(cli: Any) -> None:
    assert cli(*_add_args(510, "--nfa"))[0] == 0
    code, _, err = cli(*_add_args(510, "--nfa"))
    assert code == 2
    assert "already registered" in err


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["city", "met", "edge", "nfa", "unknown"]), max_size=6))
def test_events_match_rows_for_any_sequence_of_moves(
    tiny_lookup: Lookup, tmp_path_factory: pytest.TempPathFactory, steps: list[str]
) -> None:
    """Whatever moves happen, there is one current address and one audit event per row."""
    url = f"sqlite:///{tmp_path_factory.mktemp('moves') / 'm.db'}"
    engine = migrated_engine(url)
    added = add(engine, tiny_lookup, at=CITY_PT, valid_from=date(2024, 1, 1))
    places = {
        "city": Residence.at_point(*CITY_PT),
        "met": Residence.at_point(*MET_PT),
        "edge": Residence.at_point(*MET_EDGE_PT),
        "nfa": Residence.no_fixed_abode(),
        "unknown": Residence.unknown(),
    }
    for i, step in enumerate(steps):
        if not HAS_HANDOFFS and step in ("met", "edge"):
            continue
        move(engine, tiny_lookup, added.offender.id, places[step], date(2024, 2, 1 + i))
    with session_scope(engine) as session:
        detail = get_offender(session, offender_id=added.offender.id, actor="system:test")
        created = list_events(session, action="address.create", limit=1000)
    assert sum(a.valid_to is None for a in detail.addresses) == 1
    assert len(created) == len(detail.addresses)
    assert detail.cases[0].lead_force_code == CITY
    assert len([h for h in detail.handoffs if h.state in ("proposed", "requested")]) <= 1
