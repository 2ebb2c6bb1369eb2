"""Reading the audit log (coordination.audit): search, export as a disclosure, and the CLI.

Every test runs on SQLite and on a throwaway PostgreSQL database (``database_url``), over a small
known log (``people``). How the log is chained and sealed is tested in
``tests/coordination/ledger``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.audit.reader import (
    EXPORT_ACTION,
    AuditRecord,
    export_events,
    search_events,
    verify_chain,
)
from coordination.core.db import session_scope
from coordination.errors import AccessDeniedError, InputError
from coordination.ledger.chain import record_event
from coordination.models import AuditEvent, Force, UserCreate
from coordination.security.users import create_user
from tests.support.ledger import drop_guard, raw, rows, verify

CITY, MET = "E23000034", "E23000001"


# --- search and export ----------------------------------------------------------------------------


@pytest.fixture
def people(empty_engine: Engine) -> Engine:
    """Forces, an admin and a manager, and a small known log."""
    with session_scope(empty_engine) as session:
        for code, name in ((CITY, "City of London Police"), (MET, "Metropolitan Police Service")):
            session.add(Force(code=code, ons_name=name, name=name, country="England"))
        session.flush()
        for data in (
            UserCreate(username="ada.admin", display_name="Ada", force_code=MET, role="admin"),
            UserCreate(
                username="mo.met", display_name="Mo", force_code=MET, role="offender_manager"
            ),
        ):
            create_user(session, actor="system:test", data=data)
    with session_scope(empty_engine) as session:
        record_event(
            session,
            actor="mo.met",
            action="offender.view",
            entity_type="offender",
            entity_id="7",
            category="consultation",
            justification="=cmd|' /C calc'!A0",
            offender_ids=[7],
        )
        record_event(
            session,
            actor="mo.met",
            action="handoff.request",
            entity_type="handoff",
            entity_id="3",
            category="disclosure",
            recipients=[CITY],
            offender_ids=[7, 8],
            details={"note": "+44 20 7946 0000", "n": 1},
        )
        record_event(
            session,
            actor="cara.city",
            action="handoff.accept",
            entity_type="handoff",
            entity_id="3",
            category="alteration",
            offender_ids=[8],
        )
        record_event(
            session,
            actor="cara.city",
            action="case.create",
            entity_type="offender",
            entity_id="9",
            category="collection",
        )
    return empty_engine


def ids(records: list[AuditRecord]) -> list[int]:
    return [r.id for r in records]


def test_search_filters(people: Engine) -> None:
    with Session(people) as s:
        everything = search_events(s, actor="ada.admin")
        assert [r.action for r in everything[:4]] == [
            "case.create",
            "handoff.accept",
            "handoff.request",
            "offender.view",
        ]
        view, request, accept, create = reversed(everything[:4])
        assert [r.actor for r in search_events(s, actor="ada.admin", user="mo.met")] == [
            "mo.met",
            "mo.met",
        ]
        assert ids(search_events(s, actor="ada.admin", offender_id=7)) == [request.id, view.id]
        assert ids(search_events(s, actor="ada.admin", offender_id=8)) == [accept.id, request.id]
        # The offender as the entity counts too.
        assert ids(search_events(s, actor="ada.admin", offender_id=9)) == [create.id]
        assert search_events(s, actor="ada.admin", offender_id=70) == []
        assert ids(search_events(s, actor="ada.admin", action="handoff.*")) == [
            accept.id,
            request.id,
        ]
        assert ids(search_events(s, actor="ada.admin", action="handoff.accept")) == [accept.id]
        assert ids(search_events(s, actor="ada.admin", action="handoff")) == []
        assert ids(search_events(s, actor="ada.admin", category="disclosure")) == [request.id]
        assert ids(search_events(s, actor="ada.admin", user="mo.met", category="consultation")) == [
            view.id
        ]
        assert len(search_events(s, actor="ada.admin", limit=2)) == 2
        today = datetime.now(UTC).date()
        assert len(search_events(s, actor="ada.admin", since=today)) == len(everything)
        assert search_events(s, actor="ada.admin", since=today + timedelta(days=1)) == []
        assert search_events(s, actor="ada.admin", until=today - timedelta(days=1)) == []
        assert len(search_events(s, actor="ada.admin", until=today)) == len(everything)
        assert ids(search_events(s, actor="ada.admin", since=accept.at)) == [create.id, accept.id]
        assert ids(search_events(s, actor="ada.admin", until=request.at, user="mo.met")) == [
            request.id,
            view.id,
        ]
        assert view.justification == "=cmd|' /C calc'!A0" and request.recipients == [CITY]
        with pytest.raises(InputError, match="Unknown audit category"):
            search_events(s, actor="ada.admin", category="gossip")


def test_only_admins_read_the_log(people: Engine) -> None:
    with Session(people) as s:
        with pytest.raises(AccessDeniedError):
            search_events(s, actor="mo.met")
        with pytest.raises(AccessDeniedError):
            export_events(s, actor="mo.met")
        with pytest.raises(AccessDeniedError):
            verify_chain(s, actor="mo.met")
        assert verify_chain(s, actor="ada.admin").ok
    with Session(people) as s:
        refusals = s.exec(select(AuditEvent).where(AuditEvent.category == "access")).all()
    assert {r.actor for r in refusals} == {"mo.met"}
    assert verify(people).ok


def test_export_is_neutralised_csv_and_recorded_as_a_disclosure(people: Engine) -> None:
    with session_scope(people) as s:
        before = search_events(s, actor="ada.admin", limit=None)
        data = export_events(s, actor="ada.admin", user="mo.met", justification="review")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["action"] for r in table] == ["offender.view", "handoff.request"]  # oldest first
    assert table[0]["justification"] == "'=cmd|' /C calc'!A0"
    assert table[0]["offender_ids"] == "[7]"
    assert table[1]["recipients"] == f'["{CITY}"]'
    assert json.loads(table[1]["details"]) == {"n": 1, "note": "+44 20 7946 0000"}
    assert all(not v.startswith(("=", "+", "-", "@")) for r in table for v in r.values())
    assert table[1]["hash"] == next(r.hash for r in before if r.action == "handoff.request")

    with Session(people) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.category == "disclosure" and event.actor == "ada.admin"
    assert event.recipients == ["ada.admin"]
    assert event.details == {
        "rows": 2,
        "filters": {"user": "mo.met"},
        "first_id": int(table[0]["id"]),
        "last_id": int(table[1]["id"]),
    }
    assert verify(people).ok


def test_export_by_offender_names_the_offender_and_recipients(people: Engine) -> None:
    with session_scope(people) as s:
        data = export_events(
            s,
            actor="ada.admin",
            offender_id=8,
            since=date(2000, 1, 1),
            recipients=["ICO"],
            justification="ICO inquiry",
        )
    assert len(list(csv.DictReader(io.StringIO(data.decode("utf-8"))))) == 2
    with Session(people) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.offender_ids == [8] and event.recipients == ["ICO"]
    assert event.details is not None
    assert event.details["filters"] == {"offender_id": 8, "since": "2000-01-01"}


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_db(people: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    monkeypatch.delenv("CROSSFORCE_USER", raising=False)
    reset_settings_cache()
    try:
        yield people
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from coordination.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_and_filters(cli_db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--user", "mo.met")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert "handoff.request" in lines[0] and f"to {CITY}" in lines[0]
    assert "offender.view" in lines[1] and "reason: =cmd" in lines[1]

    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--offender", "8", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["action"] for d in data] == ["handoff.accept", "handoff.request"]
    assert data[0]["offender_ids"] == [8] and data[0]["at"].endswith("+00:00")

    today = datetime.now(UTC).date()
    code, out, _ = cli(
        capsys,
        "--as",
        "ada.admin",
        "audit",
        "--since",
        (today + timedelta(days=1)).isoformat(),
        "--category",
        "consultation",
    )
    assert (code, out.strip()) == (0, "No audit events match.")
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--action", "handoff.*", "--json")
    assert [d["action"] for d in json.loads(out)] == ["handoff.accept", "handoff.request"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["audit", "--category", "gossip"], "Unknown audit category"),
        (["audit", "--since", "yesterday"], "not a date"),
        (["audit", "--offender", "x"], "not a whole number"),
        (["--as", "mo.met", "audit"], "Access refused"),
        (["--as", "mo.met", "audit", "verify"], "Access refused"),
    ],
)
def test_cli_refuses_with_one_line(
    cli_db: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    try:
        code, out, err = cli(capsys, *argv)
    except SystemExit as stop:  # argparse refuses before the command runs
        code = int(stop.code or 0)
        out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_verify_exit_codes(cli_db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--as", "ada.admin", "audit", "verify")
    n = len(rows(cli_db))
    assert (code, out.strip(), err) == (0, f"Audit chain intact: {n} events checked.", "")
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True

    drop_guard(cli_db)
    raw(cli_db, "UPDATE audit_event SET actor = 'routine' WHERE id = 3")
    code, out, err = cli(capsys, "--as", "ada.admin", "audit", "verify")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "crossforce: Audit chain broken at event 3: it was changed after it was written "
        "(its contents no longer match its hash)."
    ]
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "verify", "--json")
    assert code == 1
    assert json.loads(out) | {"last_hash": None} == {
        "ok": False,
        "checked": 3,
        "first_bad_id": 3,
        "problem": "changed",
        "last_hash": None,
        "last_id": 2,
        "missing_after": None,
        "checkpoint_id": None,
        "message": "Audit chain broken at event 3: it was changed after it was written "
        "(its contents no longer match its hash).",
    }


def test_cli_export(cli_db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    code, _, err = cli(capsys, "--as", "ada.admin", "audit", "export", str(target))
    assert code == 2 and "give the justification" in err and not target.exists()
    code, out, _ = cli(
        capsys, "--as", "ada.admin", "audit", "export", str(target), "--category", "disclosure",
        "--reason", "Inspection sample",
    )  # fmt: skip
    assert code == 0
    assert out.strip() == f"Exported 1 audit events to {target} (recorded as a disclosure)."
    table = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert [r["action"] for r in table] == ["handoff.request"]
    assert json.loads(table[0]["details"])["note"] == "+44 20 7946 0000"
    with Session(cli_db) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.actor == "ada.admin" and event.details is not None
    assert event.details["filters"] == {"category": "disclosure"}
    assert event.justification == "Inspection sample"

    code, _, err = cli(capsys, "--as", "mo.met", "audit", "export", str(tmp_path / "no.csv"))
    assert code == 2 and "Access refused" in err
    assert not (tmp_path / "no.csv").exists()
    code, _, err = cli(capsys, "--as", "ada.admin", "audit", "export", str(tmp_path))
    assert code == 2 and "is a directory" in err
    assert verify(cli_db).ok
