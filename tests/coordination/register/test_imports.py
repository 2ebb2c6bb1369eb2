"""Importing offenders: every row checked first, all or nothing, every bad row reported; the CLI.

Services run on SQLite and PostgreSQL (``database_url``) with the approximate London default and
the postcode directory; the CLI runs against the initialised temporary installation.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from coordination.core.db import get_engine, session_scope
from coordination.errors import AccessDeniedError, InputError
from coordination.models import Address, AuditEvent, Case, Offender, UserCreate
from coordination.register.imports import ImportReport, import_offenders
from coordination.register.pnc import pnc_check_letter
from coordination.security.users import create_user
from geo.lookup import Lookup

ACTOR = "system:import-test"


def pnc(serial: int, year: int = 2016) -> str:
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


def row(serial: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "first_name": "Ann",
        "last_name": f"Example{serial}",
        "date_of_birth": "1990-02-03",
        "sex": "female",
        "pnc_id": pnc(serial),
        "postcode": "EC2V 7HH",
        "programme": "iom_fixed",
        "risk": "medium",
        "offence_category": "robbery",
        "mappa_category": "",
        "mappa_level": "",
    }
    return {**data, **changes}


def good_rows(start: int = 1) -> list[dict[str, Any]]:
    return [
        row(start),
        row(start + 1, postcode="e8 1dy", sex="Male", risk="Very High", date_of_birth="03/02/1985"),
        row(start + 2, postcode="NFA", programme="mappa", mappa_category="2", mappa_level="1"),
    ]


@pytest.fixture(scope="module")
def lookup(london_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(london_resolver, directory)


def run(engine: Engine, lookup: Lookup, rows: list[dict[str, Any]], **kw: Any) -> ImportReport:
    with session_scope(engine) as session:
        return import_offenders(
            session, actor=kw.pop("actor", ACTOR), table=pd.DataFrame(rows), lookup=lookup, **kw
        )


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with session_scope(engine) as session:
        return tuple(  # type: ignore[return-value]
            int(session.exec(select(func.count()).select_from(table)).one())
            for table in (Offender, Case, Address, AuditEvent)
        )


def test_all_good_rows_are_all_written(engine: Engine, lookup: Lookup) -> None:
    report = run(engine, lookup, good_rows())
    assert report.ok and report.errors == []
    assert (report.rows, report.imported, len(report.case_ids)) == (3, 3, 3)
    with session_scope(engine) as session:
        people = session.exec(select(Offender).order_by(col(Offender.id))).all()
        cases = session.exec(select(Case).order_by(col(Case.id))).all()
        addresses = session.exec(select(Address).order_by(col(Address.id))).all()
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "offender.import"))
    assert [p.id for p in people] == report.offender_ids
    assert [p.pnc_id for p in people] == [pnc(1), pnc(2), pnc(3)]
    assert people[1].sex == "male" and str(people[1].date_of_birth) == "1985-02-03"
    assert [c.risk for c in cases] == ["medium", "very_high", "medium"]
    assert (cases[2].programme, cases[2].mappa_category, cases[2].mappa_level) == ("mappa", 2, 1)
    assert [a.state for a in addresses] == ["residence", "residence", "no_fixed_abode"]
    assert [a.force_code for a in addresses[:2]] == ["E23000034", "E23000001"]
    assert event.category == "collection"
    assert event.offender_ids == report.offender_ids
    # Each person was also added (and audited) as by hand.
    with session_scope(engine) as session:
        created = session.exec(
            select(func.count()).where(AuditEvent.action == "offender.create")
        ).one()
    assert created == 3


def test_one_bad_row_writes_nothing(engine: Engine, lookup: Lookup) -> None:
    before = counts(engine)
    rows = [*good_rows(), row(9, sex="tall")]
    report = run(engine, lookup, rows)
    assert not report.ok
    assert report.bad_rows == [5]
    [error] = report.errors
    assert error.column == "sex" and "male" in error.message
    assert report.offender_ids == []
    assert counts(engine) == before


def test_every_bad_row_is_reported(engine: Engine, lookup: Lookup) -> None:
    run(engine, lookup, [row(50)])  # already registered before the import
    before = counts(engine)
    rows = [
        row(10),  # row 2: good
        row(11, date_of_birth="1990-13-45"),  # row 3
        row(12, first_name="  "),  # row 4
        row(13, pnc_id="2016/0000013A"),  # row 5: wrong check letter
        row(14, postcode="ZZ9 9ZZ"),  # row 6: not a postcode we know
        row(15, programme="mappa", mappa_category="2"),  # row 7: level missing
        row(10),  # row 8: same PNC as row 2
        row(50),  # row 9: already registered
        row(16, offence_category="jaywalking"),  # row 10
        row(17, postcode=""),  # row 11
        row(18, date_of_birth="2020-01-01", risk="extreme"),  # row 12: two problems
        row(19, mappa_level="x"),  # row 13
    ]
    report = run(engine, lookup, rows)
    assert counts(engine) == before
    assert report.bad_rows == list(range(3, 14))
    by_row: dict[int, list[str]] = {}
    for e in report.errors:
        by_row.setdefault(e.row, []).append(f"{e.column}: {e.message}")
    assert by_row[3] == ["date_of_birth: is not a date like 1990-02-03 or 03/02/1990"]
    assert by_row[4] == ["first_name: a name must not be blank"]
    assert by_row[5][0].startswith("pnc_id:") and "check letter" in by_row[5][0]
    assert by_row[6][0].startswith("postcode:")
    assert by_row[7] == ["None: a MAPPA case needs its category (1-3) and level (1-3)"]
    assert by_row[8] == [f"pnc_id: {pnc(10)} is also on row 2"]
    assert by_row[9][0].startswith(f"pnc_id: {pnc(50)} is already registered")
    assert by_row[10][0].startswith("offence_category:") and "jaywalking" in by_row[10][0]
    assert by_row[11] == ["postcode: is empty (write NFA for no fixed abode)"]
    assert [m.split(":")[0] for m in by_row[12]] == ["date_of_birth", "risk"]
    assert by_row[13] == ["mappa_level: 'x' is not 1, 2 or 3"]
    assert all(str(e).startswith(f"row {e.row}") for e in report.errors)


def test_dry_run_checks_and_writes_nothing(engine: Engine, lookup: Lookup) -> None:
    before = counts(engine)
    report = run(engine, lookup, good_rows(), dry_run=True)
    assert report.ok and report.dry_run and report.offender_ids == []
    assert counts(engine) == before


def test_file_level_problems(engine: Engine, lookup: Lookup) -> None:
    with pytest.raises(InputError, match="lacks the column"):
        run(engine, lookup, [{"first_name": "Ann"}])
    table = pd.DataFrame([{**row(1), "Notes": "x"}]).rename(columns={"first_name": "First Name"})
    report = run(
        engine, lookup, [{str(k): v for k, v in r.items()} for r in table.to_dict("records")]
    )
    assert report.ok and report.warnings[0] == "Ignored column(s): Notes"
    report = run(engine, lookup, good_rows(20))
    # A warning every row shares (approximate boundaries here) is said once.
    assert len(report.warnings) == len(set(report.warnings)) <= 1


def test_an_analyst_may_not_import(engine: Engine, lookup: Lookup) -> None:
    with session_scope(engine) as session:
        create_user(
            session,
            actor="init",
            data=UserCreate(
                username="ana.lyst", display_name="A", force_code="E23000034", role="analyst"
            ),
        )
    before = counts(engine)
    with pytest.raises(AccessDeniedError):
        run(engine, lookup, good_rows(), actor="ana.lyst")
    offenders, cases, addresses, _ = counts(engine)
    assert (offenders, cases, addresses) == before[:3]


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli(private_app_env: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    from coordination.cli.main import main

    def go(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--as", ACTOR, *argv])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    yield go


def _offenders_with(pncs: list[str]) -> int:
    engine = get_engine()
    with session_scope(engine) as session:
        return len(session.exec(select(Offender).where(col(Offender.pnc_id).in_(pncs))).all())


def test_cli_import_offenders(cli: Any, tmp_path: Path) -> None:
    rows = good_rows(7001)
    pncs = [r["pnc_id"] for r in rows]
    bad = tmp_path / "bad.csv"
    pd.DataFrame([*rows, row(7009, sex="tall")]).to_csv(bad, index=False)
    code, out, err = cli("import", "offenders", str(bad))
    assert code == 2
    assert "1 of 4 rows have problems; nothing was imported" in err
    assert "row 5, sex:" in err
    assert _offenders_with(pncs) == 0

    code, out, _ = cli("import", "offenders", str(bad), "--json")
    assert code == 2 and json.loads(out)["errors"][0]["row"] == 5

    good = tmp_path / "good.xlsx"
    buffer = io.BytesIO()
    pd.DataFrame(rows).to_excel(buffer, index=False)
    good.write_bytes(buffer.getvalue())
    code, out, _ = cli("import", "offenders", str(good), "--dry-run")
    assert code == 0 and "All 3 rows are valid" in out
    assert _offenders_with(pncs) == 0
    code, out, _ = cli("import", "offenders", str(good), "--json")
    assert code == 0 and json.loads(out)["imported"] == 3
    assert _offenders_with(pncs) == 3
    # The same file again: every row is already registered; still nothing changes.
    code, _, err = cli("import", "offenders", str(good))
    assert code == 2 and err.count("is already registered") == 3


def test_cli_refuses_files_that_are_not_tables(cli: Any, tmp_path: Path) -> None:
    fake = tmp_path / "people.xlsx"
    fake.write_bytes(b"first_name,last_name\nAnn,Example\n")
    code, _, err = cli("import", "offenders", str(fake))
    assert code == 2 and "not an XLSX file" in err
    code, _, err = cli("import", "offenders", str(tmp_path / "missing.csv"))
    assert code == 2 and "Cannot read" in err
    code, _, err = cli("import")
    assert code == 2
