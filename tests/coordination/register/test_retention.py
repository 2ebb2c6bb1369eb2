"""Retention: who is due for erasure, what erasure changes and keeps, its audit, and the CLI.

Services run on SQLite and PostgreSQL (``database_url``) over the tiny two-square boundary set;
the CLI runs on a temporary SQLite database of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from coordination.core.db import session_scope
from coordination.errors import AccessDeniedError
from coordination.models import Address, AuditEvent, Case, Handoff, Offender, Role, UserCreate
from coordination.register.inputs import CaseCreate, OffenderCreate, Residence, validated
from coordination.register.offenders import add_offender
from coordination.register.pnc import pnc_check_letter
from coordination.register.retention import (
    ERASED,
    apply_retention,
    erased_date_of_birth,
    retention_candidates,
    retention_cutoff,
)
from coordination.security.pseudonyms import offender_pseudonym, pseudonymise_details
from coordination.security.users import create_user
from geo.lookup import Lookup
from geo.resolver import Resolver
from tests.factories import make_tiny_layers
from tests.support.database import migrated_engine

CITY_PT = (530300.0, 180500.0)
MET_PT = (531700.0, 180500.0)
YEARS = 6
CLOSED = datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
ADMIN = "system:pytest"


def pnc(serial: int, year: int = 2015) -> str:
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


@pytest.fixture(scope="module")
def tiny_lookup() -> Lookup:
    return Lookup(Resolver.build(make_tiny_layers()), None)


def add_person(
    engine: Engine,
    lookup: Lookup,
    serial: int,
    *,
    closed_at: datetime | None = CLOSED,
    at: tuple[float, float] = CITY_PT,
    first: str = "Ann",
    last: str = "Example",
    aliases: tuple[str, ...] = ("Annie Sample",),
) -> int:
    """Register a synthetic person with one case; close it at ``closed_at`` (None: open)."""
    with session_scope(engine) as session:
        added = add_offender(
            session,
            actor="alice",
            offender=validated(
                OffenderCreate,
                pnc_id=pnc(serial),
                first_name=first,
                last_name=last,
                aliases=list(aliases),
                date_of_birth=date(1990, 2, 3),
                sex="female",
            ),
            case=validated(
                CaseCreate, programme="iom_fixed", risk="medium", offence_category="robbery"
            ),
            residence=Residence.at_point(*at),
            valid_from=date(2020, 1, 1),
            lookup=lookup,
            today=date(2020, 1, 1),
        )
        if closed_at is not None:
            close(session, added.case.id, closed_at)
        return added.offender.id


def close(session: Session, case_id: int, at: datetime) -> None:
    case = session.get(Case, case_id)
    assert case is not None
    case.status, case.closed_at = "closed", at
    session.add(case)
    session.flush()


def add_case(engine: Engine, offender_id: int, *, closed_at: datetime | None) -> None:
    """A second case for the same person (opened directly: the register adds one per person)."""
    with session_scope(engine) as session:
        case = Case(
            offender_id=offender_id,
            programme="other",
            risk="low",
            offence_category="fraud_and_forgery",
            lead_force_code="E23000034",
            updated_by="test",
            status="closed" if closed_at else "open",
            closed_at=closed_at,
        )
        session.add(case)


def candidates(engine: Engine, today: date, years: int = YEARS) -> list[int]:
    with session_scope(engine) as session:
        found = retention_candidates(session, actor=ADMIN, today=today, years=years)
    return [c.offender_id for c in found]


def audit_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def snapshot(engine: Engine, offender_id: int) -> dict[str, Any]:
    with session_scope(engine) as session:
        offender = session.get(Offender, offender_id)
        assert offender is not None
        addresses = session.exec(
            select(Address).where(Address.offender_id == offender_id).order_by(col(Address.id))
        ).all()
        cases = session.exec(
            select(Case).where(Case.offender_id == offender_id).order_by(col(Case.id))
        ).all()
        return {
            "offender": offender.model_dump(),
            "addresses": [a.model_dump() for a in addresses],
            "cases": [c.model_dump() for c in cases],
        }


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in before if before[k] != after[k]}


# -- who is due ---------------------------------------------------------------------------------


def test_cutoff_is_the_anniversary_and_handles_29_february() -> None:
    assert retention_cutoff(date(2031, 3, 15), 6) == date(2025, 3, 15)
    assert retention_cutoff(date(2030, 2, 28), 6) == date(2024, 2, 28)
    assert retention_cutoff(date(2032, 2, 29), 1) == date(2031, 2, 28)


def test_candidates_by_date_edges(engine: Engine, tiny_lookup: Lookup) -> None:
    due = add_person(engine, tiny_lookup, 1)
    # Erased from the day after the sixth anniversary of the closure, not on it.
    assert candidates(engine, date(2031, 3, 14)) == []
    assert candidates(engine, date(2031, 3, 15)) == [due]
    assert candidates(engine, date(2031, 3, 15), years=7) == []
    # A closure late in the UTC day still counts as that day.
    late = add_person(engine, tiny_lookup, 2, closed_at=datetime(2025, 3, 14, 23, 59, tzinfo=UTC))
    assert candidates(engine, date(2031, 3, 15)) == [due, late]


def test_open_cases_and_recent_closures_keep_a_person(engine: Engine, tiny_lookup: Lookup) -> None:
    open_case = add_person(engine, tiny_lookup, 3, closed_at=None)
    mixed = add_person(engine, tiny_lookup, 4)
    add_case(engine, mixed, closed_at=None)
    recent = add_person(engine, tiny_lookup, 5)
    add_case(engine, recent, closed_at=datetime(2028, 6, 1, tzinfo=UTC))
    both_old = add_person(engine, tiny_lookup, 6)
    add_case(engine, both_old, closed_at=datetime(2024, 1, 1, tzinfo=UTC))
    found = candidates(engine, date(2031, 6, 1))
    assert open_case not in found and mixed not in found and recent not in found
    assert found == [both_old]
    # The latest closure (2028-06-01) decides.
    assert candidates(engine, date(2034, 6, 2)) == [recent, both_old]
    with session_scope(engine) as session:
        [c] = [
            c
            for c in retention_candidates(session, actor=ADMIN, today=date(2034, 6, 2), years=6)
            if c.offender_id == recent
        ]
    assert (c.cases, c.latest_closure, c.retained_until) == (2, date(2028, 6, 1), date(2034, 6, 1))
    assert c.pseudonym == offender_pseudonym(recent)


def test_a_closed_case_without_a_closure_time_is_never_due(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    person = add_person(engine, tiny_lookup, 7, closed_at=None)
    with session_scope(engine) as session:
        case = session.exec(select(Case).where(Case.offender_id == person)).one()
        case.status = "closed"
        session.add(case)
    assert candidates(engine, date(2099, 1, 1)) == []


# -- erasing ------------------------------------------------------------------------------------


def test_apply_erases_exactly_the_personal_fields(engine: Engine, tiny_lookup: Lookup) -> None:
    person = add_person(engine, tiny_lookup, 10, first="Zed", last="Quorn")
    kept = add_person(engine, tiny_lookup, 11, closed_at=None, at=MET_PT)
    before, before_kept = snapshot(engine, person), snapshot(engine, kept)
    now = datetime(2031, 3, 15, 9, tzinfo=UTC)
    with session_scope(engine) as session:
        report = apply_retention(session, actor=ADMIN, today=date(2031, 3, 15), years=6, now=now)
    assert [c.offender_id for c in report.erased] == [person]
    assert (report.offenders, report.addresses) == (1, 1)
    after = snapshot(engine, person)

    o0, o1 = before["offender"], after["offender"]
    assert changed(o0, o1) == {
        "first_name",
        "last_name",
        "aliases",
        "date_of_birth",
        "pnc_id",
        "erased_at",
    }
    assert (o1["first_name"], o1["last_name"], o1["aliases"]) == (ERASED, ERASED, [])
    assert o1["date_of_birth"] == date(1990, 1, 1) == erased_date_of_birth(date(1990, 2, 3))
    assert o1["pnc_id"] == offender_pseudonym(person)
    assert o1["erased_at"] == now
    assert o1["sex"] == "female" and o1["created_at"] == o0["created_at"]

    [a0], [a1] = before["addresses"], after["addresses"]
    assert a0["easting"] is not None
    assert (a0["easting"], a0["northing"]) == CITY_PT  # where the person was registered
    assert changed(a0, a1) == {"easting", "northing", "distance_to_boundary_m"}
    assert a1["postcode"] is None and a1["easting"] is None and a1["northing"] is None
    for kept_field in ("state", "force_code", "district_code", "bcu_code", "ward_code"):
        assert a1[kept_field] == a0[kept_field]

    # The case is kept as it was: its explanation names areas only, no identifier.
    [c0], [c1] = before["cases"], after["cases"]
    assert c1 == c0
    # Someone whose case is open is untouched.
    assert snapshot(engine, kept) == before_kept


def test_free_text_loses_names_pnc_and_postcodes(engine: Engine, tiny_lookup: Lookup) -> None:
    person = add_person(engine, tiny_lookup, 12, first="Zed", last="Quorn", closed_at=None)
    with session_scope(engine) as session:
        case = session.exec(select(Case).where(Case.offender_id == person)).one()
        assert case.id is not None
        session.add(
            Handoff(
                case_id=case.id,
                from_force_code="E23000034",
                to_force_code="E23000001",
                reason=f"Zed QUORN ({pnc(12)}) moved to EC2V 7HH (E 530300, N 180500); Zedd stays",
                state="withdrawn",
                created_by="t",
                updated_by="t",
            )
        )
        close(session, case.id, CLOSED)
    with session_scope(engine) as session:
        apply_retention(session, actor=ADMIN, today=date(2031, 3, 15), years=6)
    with session_scope(engine) as session:
        handoff = session.exec(select(Handoff)).one()
    assert handoff.reason == (
        "ERASED ERASED (ERASED) moved to [postcode erased] ([grid reference erased]); Zedd stays"
    )


def test_erasure_is_audited_with_offender_ids_and_no_names(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    person = add_person(engine, tiny_lookup, 13, first="Zed", last="Quorn")
    events_before = audit_count(engine)
    with session_scope(engine) as session:
        report = apply_retention(session, actor=ADMIN, today=date(2031, 3, 15), years=6)
    assert audit_count(engine) == events_before + 1
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.category == "erasure")).one()
    assert report.audit_event_ids == [event.id]
    assert (event.action, event.entity_type, event.entity_id) == (
        "offender.erase",
        "offender",
        str(person),
    )
    assert event.offender_ids == [person]
    assert event.actor == ADMIN
    assert event.details is not None
    assert event.details["pseudonym"] == offender_pseudonym(person)
    text = json.dumps(event.details)
    for secret in ("Zed", "Quorn", pnc(13), "1990-02-03"):
        assert secret not in text
    # Earlier events (the registration) are still there: who, when, what; their free text is
    # blanked in the stored row itself, and the chain still verifies.
    with session_scope(engine) as session:
        created = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "offender.create", AuditEvent.entity_id == str(person)
            )
        ).one()
    assert created.details == {"pnc_id": ERASED, "pseudonym": offender_pseudonym(person)}
    assert (created.redacted_by, created.text_salt) == (event.id, None)
    assert event.details["redacted_events"] and created.id in event.details["redacted_events"]
    shown = pseudonymise_details(created.details, offender_id=person)
    assert shown == {"pnc_id": ERASED, "pseudonym": offender_pseudonym(person)}
    from coordination.audit.reader import verify_chain

    with Session(engine) as session:
        assert verify_chain(session).ok
    # Readers of the log (search, export) get the erased person's trail pseudonymised.
    from coordination.audit.reader import export_events, search_events

    with session_scope(engine) as session:
        trail = search_events(session, actor=ADMIN, offender_id=person)
        exported = export_events(
            session, actor=ADMIN, offender_id=person, justification="erasure check"
        ).decode()
    assert any(r.action == "offender.create" for r in trail)
    for secret in (pnc(13), "Zed", "Quorn"):
        assert all(secret not in json.dumps(r.details) for r in trail)
        assert secret not in exported


def test_second_apply_does_nothing(engine: Engine, tiny_lookup: Lookup) -> None:
    person = add_person(engine, tiny_lookup, 14)
    with session_scope(engine) as session:
        first = apply_retention(session, actor=ADMIN, today=date(2031, 3, 15), years=6)
    assert first.offenders == 1
    after_first, events = snapshot(engine, person), audit_count(engine)
    with session_scope(engine) as session:
        second = apply_retention(session, actor=ADMIN, today=date(2040, 1, 1), years=6)
    assert (second.offenders, second.addresses, second.audit_event_ids) == (0, 0, [])
    assert snapshot(engine, person) == after_first
    assert audit_count(engine) == events
    assert candidates(engine, date(2040, 1, 1)) == []


def test_dry_run_writes_nothing(engine: Engine, tiny_lookup: Lookup) -> None:
    person = add_person(engine, tiny_lookup, 15)
    before, events = snapshot(engine, person), audit_count(engine)
    assert candidates(engine, date(2031, 3, 15)) == [person]
    assert snapshot(engine, person) == before
    assert audit_count(engine) == events


def test_only_an_admin_may_run_retention(engine: Engine, tiny_lookup: Lookup) -> None:
    add_person(engine, tiny_lookup, 16)
    with session_scope(engine) as session:
        roles: tuple[tuple[str, Role], ...] = (("ana.lyst", "analyst"), ("ad.min", "admin"))
        for name, role in roles:
            create_user(
                session,
                actor="init",
                data=UserCreate(
                    username=name, display_name=name, force_code="E23000034", role=role
                ),
            )
    with pytest.raises(AccessDeniedError), session_scope(engine) as session:
        apply_retention(session, actor="ana.lyst", today=date(2031, 3, 15), years=6)
    with pytest.raises(AccessDeniedError), session_scope(engine) as session:
        retention_candidates(session, actor="ana.lyst", today=date(2031, 3, 15), years=6)
    assert len(candidates(engine, date(2031, 3, 15))) == 1
    with session_scope(engine) as session:
        report = apply_retention(session, actor="ad.min", today=date(2031, 3, 15), years=6)
    assert report.offenders == 1


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli(
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_lookup: Lookup,
) -> Iterator[tuple[Any, Engine]]:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    url = f"sqlite:///{tmp_path / 'retention.db'}"
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    engine = migrated_engine(url)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--as", ADMIN, *argv])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    try:
        yield run, engine
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def test_cli_requires_exactly_one_mode(cli: tuple[Any, Engine]) -> None:
    run, _ = cli
    code, _, err = run("retention")
    assert code == 2 and "--dry-run" in err
    code, _, err = run("retention", "--dry-run", "--apply")
    assert code == 2 and "not allowed with" in err
    code, _, err = run("retention", "--dry-run", "--today", "31/03/2031")
    assert code == 2 and "not a date" in err


def test_cli_dry_run_then_apply(cli: tuple[Any, Engine], tiny_lookup: Lookup) -> None:
    run, engine = cli
    person = add_person(engine, tiny_lookup, 20, first="Zed", last="Quorn")
    code, out, _ = run("retention", "--dry-run", "--today", "2031-03-14")
    assert code == 0 and "Nobody is due" in out
    code, out, _ = run("retention", "--dry-run", "--today", "2031-03-15")
    assert code == 0
    assert f"offender {person:>6}" in out and offender_pseudonym(person) in out
    assert "2025-03-14" in out and "Nothing was changed" in out
    for secret in ("Zed", "Quorn", pnc(20)):
        assert secret not in out
    assert snapshot(engine, person)["offender"]["erased_at"] is None

    code, out, _ = run("retention", "--dry-run", "--today", "2031-03-15", "--json")
    payload = json.loads(out)
    assert payload["retention_years"] == 6
    assert payload["would_erase"][0]["offender_id"] == person

    code, out, _ = run("retention", "--apply", "--today", "2031-03-15")
    assert code == 0 and "Erased 1 people (1 addresses" in out
    assert snapshot(engine, person)["offender"]["first_name"] == ERASED
    code, out, _ = run("retention", "--apply", "--today", "2031-03-15", "--json")
    assert code == 0 and json.loads(out)["offenders"] == 0


def _dump(engine: Engine) -> str:
    """Every row of every table, as text: what a database dump would hold."""
    from sqlmodel import SQLModel

    import coordination.models  # noqa: F401  (every table on the metadata)

    lines: list[str] = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                lines.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(lines)


def test_an_erased_person_leaves_no_identifier_in_a_database_dump(
    engine: Engine, tiny_lookup: Lookup
) -> None:
    from coordination.register.offenders import get_offender

    person = add_person(engine, tiny_lookup, 21, first="Zed", last="Quorn", aliases=("Zeddy Q",))
    secrets = ("Zed", "Quorn", "Zeddy", pnc(21), "1990-02-03", "03/02/1990")
    with session_scope(engine) as session:
        # Free text typed by people, naming the person, lands in the audit log.
        get_offender(
            session,
            offender_id=person,
            actor=ADMIN,
            justification=f"checking Zed Quorn ({pnc(21)}, born 03/02/1990) before the meeting",
        )
    before = _dump(engine)
    assert all(secret in before for secret in ("Zed", "Quorn", pnc(21)))
    with session_scope(engine) as session:
        apply_retention(session, actor=ADMIN, today=date(2031, 3, 15), years=6)
    after = _dump(engine)
    assert [secret for secret in secrets if secret in after] == []
    with Session(engine) as session:
        from coordination.audit.reader import verify_chain

        assert verify_chain(session).ok
