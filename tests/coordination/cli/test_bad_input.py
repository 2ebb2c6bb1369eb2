"""Every bad argument is refused with exit status 2 and one line on stderr, never a traceback.

Hypothesis generates ids out of range, limits out of range, impossible dates and text with
control characters for each command that takes them. Nothing here needs data: the arguments are
refused before any record is looked up.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.cli.main import main
from coordination.core.settings import reset_settings_cache

MAX_ID = 2**63 - 1

# Commands that take a record id, as argument lists with {} for the id.
ID_COMMANDS = [
    ["offenders", "show", "{}", "--reason", "checking"],
    ["offenders", "move", "{}", "--nfa"],
    ["handoffs", "show", "{}"],
    ["handoffs", "accept", "{}"],
    ["handoffs", "withdraw", "{}", "--version", "1"],
    ["cases", "assign", "{}", "someone"],
    ["cases", "suggest", "{}"],
    ["review", "show", "{}"],
    ["review", "decide", "{}", "retain"],
    ["review", "action", "{}", "Call the probation officer", "--owner", "someone"],
    ["review", "status", "{}", "held"],
    ["review", "pack", "{}", "--format", "md", "--out", "pack.md"],
    ["audit", "--offender", "{}"],
    ["handoffs", "accept", "1", "--version", "{}"],
]
LIMIT_COMMANDS = [
    ["cases", "suggest", "1", "--limit", "{}"],
    ["network", "--top", "{}"],
    ["network", "--movers", "{}"],
    ["audit", "--limit", "{}"],
    ["demo", "--offenders", "{}"],
]
DATE_COMMANDS = [
    ["handoffs", "list", "--today", "{}"],
    ["network", "--from", "{}"],
    ["retention", "--dry-run", "--today", "{}"],
    ["review", "agenda", "--date", "{}"],
    ["audit", "--since", "{}"],
    ["demo", "--today", "{}"],
    ["offenders", "move", "1", "--nfa", "--from", "{}"],
]
TEXT_COMMANDS = [
    ["offenders", "show", "1", "--reason", "{}"],
    [
        "offenders",
        "add",
        "--first-name",
        "{}",
        "--last-name",
        "Example",
        "--dob",
        "1990-01-01",
        "--sex",
        "female",
        "--pnc",
        "2019/0012345G",
        "--nfa",
        "--programme",
        "other",
        "--risk",
        "low",
        "--offence",
        "other",
    ],
    [
        *("users", "add", "new.user", "--force", "E23000034", "--role", "analyst"),
        *("--display-name", "{}", "--password-stdin"),
    ],
]


@pytest.fixture(autouse=True)
def _empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("CROSSFORCE_USER", "system:test")
    monkeypatch.chdir(tmp_path)
    reset_settings_cache()
    yield
    reset_settings_cache()


def _run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse exits on usage errors
            code = int(exc.code or 0)
    return code, err.getvalue()


def _refused(args: list[str]) -> None:
    code, err = _run(args)
    assert code == 2, (args, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, (args, err)
    assert "Traceback" not in err and "unexpected error" not in err


def _fill(template: list[str], value: str) -> list[str]:
    return [value if part == "{}" else part for part in template]


bad_ids = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=MAX_ID + 1),
    st.text(alphabet="abcxyz-._ ", min_size=1, max_size=8),
).map(str)
quick = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("template", ID_COMMANDS, ids=lambda t: " ".join(t[:2]))
@quick
@given(value=bad_ids)
def test_ids_out_of_range_are_refused(template: list[str], value: str) -> None:
    _refused(_fill(template, value))


@pytest.mark.parametrize("template", LIMIT_COMMANDS, ids=lambda t: " ".join(t[:2]))
@quick
@given(value=st.one_of(st.integers(max_value=-1), st.integers(min_value=10**9)).map(str))
def test_limits_out_of_range_are_refused(template: list[str], value: str) -> None:
    _refused(_fill(template, value))


impossible_dates = st.one_of(
    st.dates(max_value=date(1899, 12, 31)).map(lambda d: d.isoformat()),
    st.dates(min_value=date(2101, 1, 1)).map(lambda d: d.isoformat()),
    st.sampled_from(["2025-02-30", "2025-13-01", "31/12/2025", "yesterday", "2025-1-1x"]),
)


@pytest.mark.parametrize("template", DATE_COMMANDS, ids=lambda t: " ".join(t[:2]))
@quick
@given(value=impossible_dates)
def test_impossible_dates_are_refused(template: list[str], value: str) -> None:
    _refused(_fill(template, value))


control_text = st.builds(
    lambda a, c, b: f"{a}{c}{b}",
    st.text(alphabet="abc XYZ", min_size=1, max_size=5),
    st.sampled_from(["\x00", "\x1b[31m", "\x07", "\x7f", "\x9b", "\u2028", "\r"]),
    st.text(alphabet="def", min_size=0, max_size=5),
)


@pytest.mark.parametrize("template", TEXT_COMMANDS, ids=lambda t: " ".join(t[:2]))
@quick
@given(value=control_text)
def test_control_characters_in_names_and_reasons_are_refused(
    template: list[str], value: str
) -> None:
    _refused(_fill(template, value))


def test_a_newline_in_a_display_name_is_refused() -> None:
    _refused(_fill(TEXT_COMMANDS[2], "Jo\nBloggs"))


def test_a_bcu_for_a_city_user_or_an_unknown_bcu_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from coordination.core.db import get_engine, session_scope, upgrade
    from coordination.core.settings import get_settings
    from coordination.reference.boundaries import seed_forces

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        seed_forces(session, actor="system:test")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    base = ["users", "add", "new.user", "--role", "offender_manager", "--password-stdin"]
    _refused([*base, "--force", "E23000034", "--bcu", "CE"])
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    _refused([*base, "--force", "E23000001", "--bcu", "ZZ"])
