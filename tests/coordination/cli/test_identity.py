"""Outside development the command line trusts no name: a password or a personal token proves it.

Each test runs the real ``crossforce`` entry point in production mode against a fresh SQLite
database: the first admin is bootstrapped, people sign in with ``--as`` and ``--password-stdin``
or ``CROSSFORCE_TOKEN``, ``system:`` names are refused, wrong passwords lock the account, and the
admin-only commands refuse everyone else.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordination.cli.main import main
from coordination.core.db import get_engine, session_scope, upgrade
from coordination.core.settings import get_settings, reset_settings_cache
from coordination.reference.boundaries import seed_forces

CITY = "E23000034"
ROOT_PW = "root password for tests"
BOB_PW = "bob password for tests"


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A production data directory with the forces seeded and no users yet."""
    for key in ("CROSSFORCE_DATABASE_URL", "CROSSFORCE_USER", "CROSSFORCE_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CROSSFORCE_ENV", "production")
    monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
    reset_settings_cache()
    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        seed_forces(session, actor="system:init")
    yield tmp_path
    reset_settings_cache()


def run(
    monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "", token: str | None = None
) -> tuple[int, str, str]:
    """Run crossforce with ``stdin``; return the exit code, stdout and stderr."""
    if token is None:
        monkeypatch.delenv("CROSSFORCE_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CROSSFORCE_TOKEN", token)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(
        monkeypatch,
        *("users", "add", "root", "--force", CITY, "--role", "admin", "--password-stdin"),
        stdin=f"{ROOT_PW}\n",
    )
    assert code == 0, err
    code, _, err = run(
        monkeypatch,
        *("--as", "root", "--password-stdin", "users", "add", "bob", "--force", CITY),
        *("--role", "offender_manager", "--password-stdin"),
        stdin=f"{ROOT_PW}\n{BOB_PW}\n",
    )
    assert code == 0, err


def test_the_first_admin_is_bootstrapped_and_then_only_an_admin_adds_users(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(
        monkeypatch,
        *("users", "add", "early", "--force", CITY, "--role", "analyst", "--password-stdin"),
        stdin=f"{BOB_PW}\n",
    )
    assert code == 2 and "first user added must be an admin" in err
    _bootstrap(monkeypatch)
    code, _, err = run(
        monkeypatch,
        *("users", "add", "eve", "--force", CITY, "--role", "admin", "--password-stdin"),
        stdin=f"{BOB_PW}\n",
    )
    assert code == 2 and err.startswith("crossforce: Say who you are")
    assert len(err.strip().splitlines()) == 1


def test_a_claimed_name_without_its_password_is_refused(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bootstrap(monkeypatch)
    code, _, err = run(monkeypatch, "--as", "root", "users", "list")
    assert code == 2 and "needs your password" in err
    code, _, err = run(
        monkeypatch, "--as", "root", "--password-stdin", "users", "list", stdin="not it\n"
    )
    assert code == 2 and "Wrong username or password" in err
    code, out, err = run(
        monkeypatch, "--as", "root", "--password-stdin", "users", "list", stdin=f"{ROOT_PW}\n"
    )
    assert code == 0, err
    assert "root" in out and "bob" in out


@pytest.mark.parametrize("name", ["system:anything", "system:init", "SYSTEM:setup"])
def test_system_names_are_refused_on_the_command_line(
    production: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _bootstrap(monkeypatch)
    code, _, err = run(monkeypatch, "--as", name, "--password-stdin", "users", "list", stdin="x\n")
    assert code == 2 and "crossforce's own jobs" in err


def test_wrong_passwords_on_the_command_line_lock_the_account(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bootstrap(monkeypatch)
    answers = [
        run(monkeypatch, "--as", "bob", "--password-stdin", "handoffs", "list", stdin="nope\n")[2]
        for _ in range(5)
    ]
    assert answers[-1].startswith("crossforce: Account locked until")
    code, _, err = run(
        monkeypatch, "--as", "bob", "--password-stdin", "handoffs", "list", stdin=f"{BOB_PW}\n"
    )
    assert code == 2 and "Account locked until" in err


def test_a_personal_token_signs_in_until_it_is_revoked(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bootstrap(monkeypatch)
    code, out, err = run(
        monkeypatch,
        *("--as", "root", "--password-stdin", "users", "token", "create", "--name", "laptop"),
        stdin=f"{ROOT_PW}\n",
    )
    assert code == 0, err
    token = next(line.strip() for line in out.splitlines() if line.strip().startswith("cft_"))
    code, out, err = run(monkeypatch, "users", "list", token=token)
    assert code == 0, err
    assert "bob" in out
    code, out, _ = run(monkeypatch, "users", "token", "list", token=token)
    assert code == 0 and "laptop" in out and token not in out
    token_id = out.split()[0]
    code, _, _ = run(monkeypatch, "users", "token", "revoke", token_id, token=token)
    assert code == 0
    code, _, err = run(monkeypatch, "users", "list", token=token)
    assert code == 2 and "unknown, expired or revoked" in err
    code, _, err = run(monkeypatch, "users", "list", token="cft_made-up")
    assert code == 2 and "unknown, expired or revoked" in err


@pytest.mark.parametrize(
    "command",
    [
        ["users", "list"],
        ["data", "activate", "any-set"],
        ["retention", "--dry-run"],
        ["audit"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_admin_commands_refuse_an_offender_manager(
    production: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    _bootstrap(monkeypatch)
    code, _, err = run(
        monkeypatch, "--as", "bob", "--password-stdin", *command, stdin=f"{BOB_PW}\n"
    )
    assert code == 2 and err.startswith("crossforce: Access refused"), err


def test_a_scheduled_erasure_runs_as_the_retention_service_account(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(monkeypatch, "retention", "--dry-run", "--as-service")
    assert code == 0, err
    assert "Nobody is due for erasure" in out
