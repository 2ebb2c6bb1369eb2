"""OGRS3 inputs on the way in: registration, `import offenders`, and the demo.

Registration and import accept the inputs (optional) and check them against the date of birth;
the demo records them for most cases, so the joint-review agenda shows a score.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.core.settings import Settings
from coordination.errors import InputError
from coordination.models import Case, Offender
from coordination.register.imports import COLUMNS, import_offenders
from coordination.register.inputs import CaseCreate, OffenderCreate, Residence, validated
from coordination.register.offenders import add_offender
from coordination.register.pnc import pnc_check_letter
from coordination.review.ogrs3 import ogrs3_for_case
from geo.lookup import Lookup

ACTOR = "system:ogrs3-test"


def _pnc(serial: int, year: int = 2017) -> str:
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


def _row(serial: int, **changes: Any) -> dict[str, Any]:
    return {
        "first_name": "Ann",
        "last_name": f"Example{serial}",
        "date_of_birth": "1990-02-03",
        "sex": "female",
        "pnc_id": _pnc(serial),
        "postcode": "NFA",
        "programme": "iom_fixed",
        "risk": "medium",
        "offence_category": "robbery",
        "previous_sanctions": "",
        "age_at_first_sanction": "",
        "conviction_date": "",
        **changes,
    }


@pytest.fixture(scope="module")
def lookup(london_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(london_resolver, directory)


def _import(engine: Engine, lookup: Lookup, rows: list[dict[str, Any]]) -> Any:
    with session_scope(engine) as session:
        return import_offenders(session, actor=ACTOR, table=pd.DataFrame(rows), lookup=lookup)


def test_the_ogrs3_columns_are_known() -> None:
    assert {"previous_sanctions", "age_at_first_sanction", "conviction_date"} <= set(COLUMNS)


def test_import_with_ogrs3_columns(engine: Engine, lookup: Lookup) -> None:
    report = _import(
        engine,
        lookup,
        [
            _row(
                1, previous_sanctions="4", age_at_first_sanction="15", conviction_date="2024-05-01"
            ),
            _row(
                2, previous_sanctions="2.0", age_at_first_sanction=17, conviction_date="01/06/2023"
            ),
            _row(3),  # not known: the case is still imported, with no score
        ],
    )
    assert report.ok, report.errors
    assert not any("Ignored" in w for w in report.warnings)
    with Session(engine) as s:
        cases = s.exec(select(Case).where(col(Case.id).in_(report.case_ids))).all()
        people = {p.id: p for p in s.exec(select(Offender)).all()}
        by_last = {people[c.offender_id].last_name: c for c in cases}
        scored = {
            name: ogrs3_for_case(case=c, offender=people[c.offender_id], on=london_today())
            for name, c in by_last.items()
        }
    first = by_last["Example1"]
    assert (first.previous_sanctions, first.age_at_first_sanction) == (4, 15)
    assert first.conviction_date == date(2024, 5, 1)
    assert by_last["Example2"].conviction_date == date(2023, 6, 1)
    assert scored["Example1"].result is not None
    assert scored["Example2"].result is not None
    assert scored["Example3"].result is None


@pytest.mark.parametrize(
    ("changes", "column", "needle"),
    [
        ({"previous_sanctions": "many"}, "previous_sanctions", "not a whole number"),
        ({"previous_sanctions": "-2"}, "previous_sanctions", "0 to"),
        ({"age_at_first_sanction": "8"}, "age_at_first_sanction", "10 to"),
        ({"conviction_date": "yesterday"}, "conviction_date", "not a date"),
        ({"conviction_date": "1995-01-01"}, "conviction_date", "before the person was 10"),
        (
            {"conviction_date": "2010-01-01", "age_at_first_sanction": "30"},
            "age_at_first_sanction",
            "after the age at the current conviction",
        ),
    ],
)
def test_import_reports_bad_ogrs3_cells(
    engine: Engine, lookup: Lookup, changes: dict[str, str], column: str, needle: str
) -> None:
    report = _import(engine, lookup, [_row(10), _row(11, **changes)])
    assert not report.ok and report.imported == 0
    [error] = report.errors
    assert (error.row, error.column) == (3, column)
    assert needle in error.message


def _register(engine: Engine, **case: Any) -> Any:
    with session_scope(engine) as session:
        return add_offender(
            session,
            actor=ACTOR,
            offender=validated(
                OffenderCreate,
                pnc_id=_pnc(50),
                first_name="Bea",
                last_name="Example",
                date_of_birth=date(1988, 4, 5),
                sex="female",
            ),
            case=validated(
                CaseCreate,
                programme="iom_fixed",
                risk="high",
                offence_category="burglary_other",
                **case,
            ),
            residence=Residence.no_fixed_abode(),
            lookup=None,  # type: ignore[arg-type]
        )


def test_registration_takes_the_inputs(engine: Engine) -> None:
    added = _register(
        engine,
        previous_sanctions=7,
        age_at_first_sanction=14,
        conviction_date=date(2023, 3, 1),
        risk_assessed_on=london_today() - timedelta(days=2),
    )
    assert added.case.previous_sanctions == 7
    assert added.case.risk_assessed_on == london_today() - timedelta(days=2)


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ({"previous_sanctions": -1}, "previous sanctions"),
        ({"age_at_first_sanction": 200}, "age at first sanction"),
        ({"conviction_date": london_today() + timedelta(days=1)}, "in the future"),
        ({"conviction_date": date(1990, 1, 1)}, "before the person was 10"),
    ],
)
def test_registration_refuses_bad_inputs(engine: Engine, case: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        _register(engine, **case)
    with Session(engine) as s:
        assert s.exec(select(Offender)).all() == []


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_gives_most_cases_an_ogrs3_score(app_database_url: str, engine: Engine) -> None:
    from coordination.demo.seed import seed_demo
    from coordination.reference.lookup import get_service, postcode_directory

    settings = Settings(database_url=app_database_url)
    today = date(2025, 11, 3)
    with session_scope(engine) as session:
        seed_demo(
            session,
            actor="pytest",
            lookup=get_service(settings).lookup,
            directory=postcode_directory(settings),
            offenders=40,
            seed=3,
            today=today,
        )
    with Session(engine) as s:
        people = {p.id: p for p in s.exec(select(Offender)).all()}
        cases = s.exec(select(Case)).all()
        scored = [
            ogrs3_for_case(case=c, offender=people[c.offender_id], on=today).result is not None
            for c in cases
        ]
    assert len(cases) >= 40
    # About nine in ten: the rest show why there is no score.
    assert sum(scored) >= 0.75 * len(cases)
    assert not all(scored)
