"""`crossforce cases update|close|reopen|show` from the command line, on SQLite and PostgreSQL.

Run through the entry point as users of the access-control world: each change exits 0 and is in
the audit log; refused or invalid input exits 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.core.clock import london_today
from coordination.models import AuditEvent, Case
from tests.factories import World
from tests.support.ledger import verify

Run = Callable[..., tuple[int, str, str]]
TODAY = london_today()


@pytest.fixture
def cli(
    world: tuple[Engine, World],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Run]:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()

    def call(user: str, *argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--as", user, *(str(a) for a in argv)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    yield call
    reset_settings_cache()


def _one_line_refusal(code: int, out: str, err: str, needle: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_update_show_close_reopen(world: tuple[Engine, World], cli: Run) -> None:
    engine, w = world
    review = (TODAY + timedelta(days=60)).isoformat()
    code, out, err = cli(
        "city.om",
        "cases",
        "update",
        w.city,
        "--risk",
        "high",
        "--risk-assessed",
        TODAY.isoformat(),
        "--next-review",
        review,
        "--age-first-sanction",
        "16",
        "--previous-sanctions",
        "3",
        "--conviction-date",
        "2024-01-10",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["case"]["risk"] == "high"
    assert data["case"]["next_review_due"] == review
    assert [e["kind"] for e in data["events"]] == ["risk", "ogrs3"]

    code, out, err = cli("city.om", "cases", "show", w.city)
    assert code == 0, err
    assert "Risk of serious harm: high" in out
    assert "OGRS3 " in out and "No OGRS3 score" not in out
    assert "risk medium → high" in out

    code, out, err = cli("city.om", "cases", "show", w.city, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["ogrs3"]["one_year_pct"] > 0
    assert [e["kind"] for e in shown["history"]] == ["risk", "ogrs3"]

    code, out, err = cli("city.sup", "cases", "close", w.city, "--reason", "deceased")
    assert code == 0, err
    assert "is closed: deceased" in out
    code, out, err = cli("city.sup", "cases", "show", w.city)
    assert "(closed)" in out and "deceased" in out
    code, out, err = cli("city.sup", "cases", "reopen", w.city, "--reason", "recorded in error")
    assert code == 0, err
    assert "open again" in out
    with Session(engine) as s:
        case = s.get(Case, w.city)
        assert case is not None and case.status == "open"
        actions = {
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(w.city))).all()
        }
    assert {"case.risk", "case.ogrs3", "case.close", "case.reopen"} <= actions
    assert verify(engine).ok


def test_mappa_and_iom_from_the_command_line(world: tuple[Engine, World], cli: Run) -> None:
    _engine, w = world
    code, out, err = cli(
        "city.om", "cases", "update", w.city_b, "--iom", "select", "--cohort", "free"
    )
    assert code == 0, err
    assert "programme iom fixed → iom free" in out
    code, out, err = cli("city.om", "cases", "update", w.city_b, "--iom", "deselect")
    _one_line_refusal(code, out, err, "reason")
    code, out, err = cli(
        "city.om", "cases", "update", w.city_b, "--iom", "deselect", "--reason", "stable"
    )
    assert code == 0, err
    code, out, err = cli("city.om", "cases", "update", w.city_b, "--mappa-level", "2")
    _one_line_refusal(code, out, err, "not a MAPPA case")


@pytest.mark.parametrize(
    ("user", "argv", "needle"),
    [
        ("city.om", ("update", "{city}"), "Nothing to update"),
        ("city.om", ("update", "{city}", "--risk", "extreme"), "not a risk"),
        (
            "city.om",
            ("update", "{city}", "--risk", "low", "--risk-assessed", "{tomorrow}"),
            "future",
        ),
        ("city.om", ("update", "{city}", "--next-review", "{yesterday}"), "in the past"),
        ("city.om", ("update", "{city}", "--risk-assessed", "{yesterday}"), "goes with --risk"),
        ("city.om", ("update", "{city}", "--mappa-category", "4"), "from 1 to 3"),
        ("city.om", ("update", "{city}", "--previous-sanctions", "-1"), ""),
        ("city.om", ("update", "{city}", "--next-review", "2024-02-30"), "not a date"),
        ("city.om", ("close", "{city}", "--reason", "deceased"), "Access refused"),
        ("city.sup", ("close", "{city}", "--reason", "bored"), "not a closure reason"),
        ("city.sup", ("close", "{city}", "--reason", "other"), "note"),
        ("city.sup", ("close", "{handed}", "--reason", "deceased"), "withdraw it"),
        ("city.sup", ("reopen", "{city}", "--reason", "x"), "nothing to reopen"),
        ("met.sup", ("update", "{city}", "--risk", "low"), "Access refused"),
        ("city.analyst", ("show", "{city}"), "Access refused"),
        ("city.admin", ("update", "{city}", "--risk", "low"), "Access refused"),
    ],
)
def test_refused_and_invalid_input_exit_2_with_one_line(
    world: tuple[Engine, World], cli: Run, user: str, argv: tuple[str, ...], needle: str
) -> None:
    _, w = world
    values = {
        "city": w.city,
        "handed": w.handed,
        "tomorrow": (TODAY + timedelta(days=1)).isoformat(),
        "yesterday": (TODAY - timedelta(days=1)).isoformat(),
    }
    code, out, err = cli(user, "cases", *(a.format(**values) for a in argv))
    _one_line_refusal(code, out, err, needle)


def test_the_group_keeps_the_caseload_commands(cli: Run, world: tuple[Engine, World]) -> None:
    _, w = world
    code, _out, err = cli("city.sup", "cases", "assign", w.city, "city.om")
    assert code == 0, err


def test_limited_access_from_the_command_line(world: tuple[Engine, World], cli: Run) -> None:
    engine, w = world
    code, out, _ = cli("city.sup", "cases", "access", w.city)
    assert code == 0 and "has no limited access" in out
    code, out, err = cli(
        "city.sup", "cases", "access", w.city, "--exclude", "city.om", "--reason", "Related"
    )
    assert code == 0, err
    assert out.strip() == f"city.om is kept out of case {w.city}: Related"
    code, out, _ = cli("city.sup", "cases", "access", w.city, "--json")
    assert [(e["username"], e["mode"], e["reason"]) for e in json.loads(out)] == [
        ("city.om", "exclude", "Related")
    ]
    # A change needs a reason; an offender manager may not manage access; refusals are one line.
    code, out, err = cli("city.sup", "cases", "access", w.city, "--allow", "city.om2")
    _one_line_refusal(code, out, err, "reason")
    code, out, err = cli("city.om2", "cases", "access", w.city, "--exclude", "city.sup",
                         "--reason", "x")  # fmt: skip
    _one_line_refusal(code, out, err, "")
    code, out, err = cli("city.sup", "cases", "access", w.city, "--lift", "city.om", "--reason",
                         "No longer related")  # fmt: skip
    assert code == 0 and "lifted" in out, err
    code, out, err = cli("city.sup", "cases", "access", w.city, "--lift", "city.om", "--reason",
                         "again")  # fmt: skip
    _one_line_refusal(code, out, err, "no limited-access entry")
    with Session(engine) as s:
        actions = [
            (e.action, e.justification)
            for e in s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(w.city))).all()
            if e.action.startswith("case_access.")
        ]
    assert actions == [("case_access.set", "Related"), ("case_access.clear", "No longer related")]
    assert verify(engine).ok
