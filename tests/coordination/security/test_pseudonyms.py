"""Analysts see pseudonymised data only: scan every analyst output of a demo caseload.

A synthetic caseload of ~80 people is seeded through the services; an analyst of the City then
gets the caseload, officers' loads, the handoff network (JSON, flows, ping-pong, frequent movers).
Nothing in them may carry a person's name, date of birth, PNC ID, postcode or coordinates, and the
pseudonyms must be stable across calls and different across people.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from coordination.caseload.officers import officer_loads
from coordination.caseload.queries import caseload
from coordination.core.db import session_scope
from coordination.core.settings import Settings
from coordination.demo.seed import seed_demo
from coordination.errors import AccessDeniedError
from coordination.handoffs import network
from coordination.models import Offender, User, UserCreate
from coordination.register.offenders import get_offender
from coordination.security.permissions import require
from coordination.security.pseudonyms import (
    case_pseudonym,
    offender_pseudonym,
    pseudonym,
    pseudonym_int,
    pseudonymise_mapping,
)
from coordination.security.users import create_user
from geo.forces import CITY_OF_LONDON as CITY
from tests.support.database import migrated_engine

TODAY = date(2025, 11, 3)
ANALYST = "pseudo.analyst"
PNC = re.compile(r"\b\d{2,4}/\d{1,7}[A-Z]\b")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
COORDINATE_KEYS = re.compile(r'"(easting|northing|lat|lon|latitude|longitude|x|y)"')


@pytest.fixture(scope="module")
def seeded(app_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    from coordination.reference.lookup import get_service, postcode_directory

    settings = Settings(database_url=app_database_url)
    url = f"sqlite:///{tmp_path_factory.mktemp('pseudo') / 'demo.db'}"
    engine = migrated_engine(url)
    with session_scope(engine) as s:
        seed_demo(
            s,
            actor="system:demo",
            lookup=get_service(settings).lookup,
            directory=postcode_directory(settings),
            offenders=80,
            seed=5,
            today=TODAY,
        )
        create_user(
            s,
            actor="system:test",
            data=UserCreate(
                username=ANALYST, display_name="Pseudo Analyst", force_code=CITY, role="analyst"
            ),
        )
    return engine


def _people(engine: sa.Engine) -> list[Offender]:
    with Session(engine) as s:
        return list(s.exec(select(Offender)).all())


def _as_text(value: Any) -> str:
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {**dataclasses.asdict(v), "offender_name": getattr(v, "offender_name", None)}
        if isinstance(v, tuple) and hasattr(v, "_asdict"):
            return v._asdict()
        return v

    if isinstance(value, list):
        value = [plain(v) for v in value]
    return json.dumps(value, default=lambda v: plain(v) if not isinstance(v, date) else str(v))


def _analyst_outputs(engine: sa.Engine) -> dict[str, str]:
    with Session(engine) as s:
        page = caseload(s, actor=ANALYST, status=None, limit=1000, today=TODAY)
        closed = caseload(s, actor=ANALYST, status="closed", today=TODAY)
        loads = officer_loads(s, actor=ANALYST)
        records = network.fetch_handoff_records(s, actor=ANALYST, start=date(2020, 1, 1), end=TODAY)
        graph = network.build_network(s, actor=ANALYST, start=date(2020, 1, 1), end=TODAY)
    return {
        "caseload": _as_text(page.rows),
        "closed caseload": _as_text(closed.rows),
        "officer loads": _as_text(loads),
        "network records": _as_text(records),
        "network json": json.dumps(network.to_json(graph), default=str),
        "largest flows": _as_text(network.largest_flows(graph)),
        "bottlenecks": _as_text(network.bottlenecks(graph)),
        "ping pong": _as_text(network.ping_pong(records, days=365)),
        "frequent movers": _as_text(network.frequent_movers(records, 1)),
    }


def test_analyst_outputs_carry_no_personal_data(seeded: sa.Engine) -> None:
    people = _people(seeded)
    assert len(people) == 80
    outputs = _analyst_outputs(seeded)
    with Session(seeded) as s:
        full = caseload(s, actor="system:test", status=None, limit=1000, today=TODAY)
    assert full.total > 0 and any(r.postcode for r in full.rows)  # there was something to hide
    problems = []
    for label, text in outputs.items():
        for person in people:
            for name in (
                f"{person.first_name} {person.last_name}",
                f"{person.last_name.upper()}, {person.first_name}",
            ):
                if name in text:
                    problems.append(f"{label}: name {name!r}")
            if person.date_of_birth.isoformat() in text:
                problems.append(f"{label}: a date of birth")
            if person.pnc_id in text:
                problems.append(f"{label}: PNC ID")
        problems += [f"{label}: PNC-like {m!r}" for m in PNC.findall(text)]
        problems += [f"{label}: postcode {m!r}" for m in POSTCODE.findall(text)]
        problems += [f"{label}: coordinate key {m!r}" for m in COORDINATE_KEYS.findall(text)]
    assert problems == []


def test_analyst_rows_are_pseudonymised_and_stable(seeded: sa.Engine) -> None:
    with Session(seeded) as s:
        first = caseload(s, actor=ANALYST, status=None, limit=1000, today=TODAY)
        again = caseload(s, actor=ANALYST, status=None, limit=1000, today=TODAY)
        truth = caseload(s, actor="system:test", status=None, limit=1000, today=TODAY)
    assert first.rows and [r.pseudonym for r in first.rows] == [r.pseudonym for r in again.rows]
    visible = {r.case_pseudonym for r in first.rows}
    expected = {case_pseudonym(r.case_id): offender_pseudonym(r.offender_id) for r in truth.rows}
    for row in first.rows:
        assert row.case_pseudonym in expected
        assert row.pseudonym == expected[row.case_pseudonym]
        assert re.fullmatch(r"P-[0-9A-F]{8}", row.pseudonym or "")
        assert row.offender_name == row.pseudonym
        assert (row.case_id, row.offender_id, row.first_name, row.pnc_id, row.postcode) == (
            0,
            0,
            "",
            "",
            None,
        )
    # Different people, different pseudonyms.
    people = {r.offender_id for r in truth.rows if case_pseudonym(r.case_id) in visible}
    assert len({expected[str(c)] for c in visible}) == len(people)
    # The analyst sees what the City's case workers see, pseudonymised.
    with Session(seeded) as s:
        supervisor = s.exec(
            select(User.username).where(User.force_code == CITY, User.role == "supervisor")
        ).first()
        assert supervisor is not None
        city = caseload(s, actor=supervisor, status=None, limit=1000, today=TODAY)
    assert expected.keys() >= visible == {case_pseudonym(r.case_id) for r in city.rows}


def test_analyst_network_ids_are_integer_pseudonyms(seeded: sa.Engine) -> None:
    with Session(seeded) as s:
        raw = network.fetch_handoff_records(
            s, actor="system:test", start=date(2020, 1, 1), end=TODAY
        )
        mine = network.fetch_handoff_records(s, actor=ANALYST, start=date(2020, 1, 1), end=TODAY)
    assert raw and len(raw) == len(mine)
    assert {r.case_id for r in mine} == {pseudonym_int("case", r.case_id) for r in raw}
    assert not {r.case_id for r in mine} & {r.case_id for r in raw}


def test_analyst_cannot_open_or_search_records(seeded: sa.Engine) -> None:

    with Session(seeded) as s:
        with pytest.raises(AccessDeniedError, match="pseudonymised"):
            get_offender(s, actor=ANALYST, offender_id=1, justification="analysis")
        with pytest.raises(AccessDeniedError, match="pseudonymised"):
            caseload(s, actor=ANALYST, search="Smith")
        with pytest.raises(AccessDeniedError):
            require(s, actor=ANALYST, action="case.view", case_id=1)


def test_pseudonyms_are_keyed_and_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    from coordination.core.settings import reset_settings_cache

    a, b = pseudonym("offender", 1), pseudonym("offender", 2)
    assert a != b and a.startswith("P-") and pseudonym("offender", 1) == a
    assert pseudonym("case", 1).startswith("C-") and pseudonym("case", 1)[2:] != a[2:]
    assert len({offender_pseudonym(i) for i in range(5000)}) == 5000
    monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "another-key-entirely-for-this-test-only")
    reset_settings_cache()
    try:
        assert pseudonym("offender", 1) != a  # without the key, no way back to the id
    finally:
        monkeypatch.delenv("CROSSFORCE_SECRET_KEY")
        reset_settings_cache()


def test_pseudonymise_mapping_drops_personal_fields() -> None:
    row = {
        "first_name": "Ann",
        "pnc_id": "2019/0012345G",
        "postcode": "EC2V 7HH",
        "ward_code": "E05009300",
        "nested": [{"easting": 1.0, "district_code": "E09000001"}],
    }
    out = pseudonymise_mapping(row, offender_id=7, case_id=9)
    assert out == {
        "ward_code": "E05009300",
        "nested": [{"district_code": "E09000001"}],
        "pseudonym": offender_pseudonym(7),
        "case_pseudonym": case_pseudonym(9),
    }
