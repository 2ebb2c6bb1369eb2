"""Role × command: every command that reads personal data or changes what others rely on, run
from the command line as every user of the access-control world, on SQLite and PostgreSQL.

The expected outcome of each cell comes from the permission table (``PERMISSIONS``) and the
command's scope, not from a second hand-written list: a cell is allowed when the role's
permission for the command's action is not ``refuse`` and the user's force is in scope. An
allowed cell exits 0; a refused one exits 2 with one line and leaves an ``access.refused``
event naming the user; a pseudonymised one (analysts) shows no name, PNC ID or raw case id;
opening a record leaves a consultation event with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.models import AuditEvent, Case, Offender
from coordination.security.permissions import PERMISSIONS
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import USERS, World

Scope = Callable[[str], bool]  # force code -> whether the command's object is that force's


def _any(_: str) -> bool:
    return True


def _city_or_met(force: str) -> bool:
    return force in {CITY, MET}


def _city(force: str) -> bool:
    return force == CITY


@dataclass(frozen=True)
class Command:
    """One command line (``{placeholders}`` filled from the world) and what governs it."""

    argv: tuple[str, ...]
    action: str
    scope: Scope = _any
    personal: bool = False  # prints people (so analysts must see pseudonyms or nothing)
    record: bool = False  # opens one person's record, which pseudonymised access never does


COMMANDS: dict[str, Command] = {
    "offenders show": Command(
        ("offenders", "show", "{city_offender}", "--reason", "matrix check", "--json"),
        "case.view",
        _city,
        personal=True,
        record=True,
    ),
    "handoffs list": Command(("handoffs", "list", "--json"), "handoff.view", personal=True),
    "handoffs show": Command(
        ("handoffs", "show", "{handoff}", "--json"), "handoff.view", _city_or_met, personal=True
    ),
    "network": Command(("network", "--json"), "network.view", personal=True),
    "cases suggest": Command(("cases", "suggest", "{city}"), "case.assign", _city),
    "review meetings": Command(("review", "meetings", "--json"), "meeting.view"),
    "review show": Command(
        ("review", "show", "{joint_meeting}", "--json"), "meeting.view", _city_or_met, True
    ),
    "review actions": Command(("review", "actions", "--json"), "meeting.view"),
    "review pack": Command(
        (
            "review",
            "pack",
            "{joint_meeting}",
            "--format",
            "md",
            "--out",
            "{out}",
            "--to",
            "T",
            "--reason",
            "R",
        ),
        "pack.export",
        _city_or_met,
        personal=True,
    ),
    "users list": Command(("users", "list", "--json"), "users.manage"),
    "audit": Command(("audit", "--limit", "5", "--json"), "audit.read"),
    "audit verify": Command(("audit", "verify"), "audit.read"),
    "data activate": Command(("data", "activate", "no-such-set"), "reference.manage"),
    "retention": Command(("retention", "--dry-run"), "retention.run"),
}


def expected(user: str, command: Command) -> str:
    """``allow``, ``pseudonymised`` or ``refuse``, from the table and the command's scope."""
    force, role = USERS[user]
    permission = PERMISSIONS[command.action][role]
    if permission == "refuse" or not command.scope(force):
        return "refuse"
    if permission == "pseudonymised" and command.record:
        return "refuse"
    return permission


@pytest.fixture
def run(
    world: tuple[Engine, World],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Iterator[Callable[[str, Command], tuple[int, str, str]]]:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    engine, w = world
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()
    with Session(engine) as s:
        city_offender = s.exec(select(Case.offender_id).where(Case.id == w.city)).one()
    values = {
        "city": w.city,
        "city_offender": city_offender,
        "handoff": w.handoff,
        "joint_meeting": w.joint_meeting,
    }

    def call(user: str, command: Command) -> tuple[int, str, str]:
        out_file = tmp_path / f"{user}.md"
        argv = [a.format(**values, out=out_file) for a in command.argv]
        capsys.readouterr()
        code = main(["--as", user, *argv])
        out, err = capsys.readouterr()
        if out_file.exists():
            out += out_file.read_text(encoding="utf-8")
        return code, out, err

    yield call
    reset_settings_cache()


def _refusals(engine: Engine, user: str) -> int:
    with Session(engine) as s:
        query = select(sa.func.count()).where(
            AuditEvent.action == "access.refused", AuditEvent.actor == user
        )
        return int(s.exec(query).one())


def _people(engine: Engine) -> tuple[set[str], set[str]]:
    with Session(engine) as s:
        rows = s.exec(select(Offender.last_name, Offender.pnc_id)).all()
    return {r[0] for r in rows}, {r[1] for r in rows}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_role_against_every_command(
    world: tuple[Engine, World],
    run: Callable[[str, Command], tuple[int, str, str]],
    name: str,
) -> None:
    engine, _ = world
    command = COMMANDS[name]
    names, pncs = _people(engine)
    outcomes: dict[str, str] = {}
    for user in USERS:
        want = expected(user, command)
        before = _refusals(engine, user)
        code, out, err = run(user, command)
        refused_events = _refusals(engine, user) - before
        assert "Traceback" not in out + err
        if want == "refuse":
            assert code == 2, (user, out, err)
            assert len(err.strip().splitlines()) == 1, err
            assert refused_events >= 1, f"{user}: the refusal of {name} is not in the audit log"
            outcomes[user] = "refused"
            continue
        # The one command that names a set that does not exist fails for its admin too: by
        # not finding it, not by refusing them.
        if name == "data activate":
            assert code == 2 and refused_events == 0 and "no-such-set" in err, err
            outcomes[user] = "allowed"
            continue
        assert code == 0, (user, name, err)
        assert refused_events == 0
        if want == "pseudonymised" and command.personal:
            shown = [n for n in names | pncs if n in out]
            assert shown == [], f"{user} sees {shown} in {name}"
        outcomes[user] = want
    # The table must make the matrix non-trivial: someone allowed and someone refused.
    assert "refused" in outcomes.values() and set(outcomes.values()) - {"refused"}


def test_opening_a_record_from_the_command_line_is_a_logged_consultation(
    world: tuple[Engine, World], run: Callable[[str, Command], tuple[int, str, str]]
) -> None:
    engine, _ = world
    code, _, err = run("city.om", COMMANDS["offenders show"])
    assert code == 0, err
    with Session(engine) as s:
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.actor == "city.om", AuditEvent.category == "consultation")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert event is not None
    assert event.justification == "matrix check"
