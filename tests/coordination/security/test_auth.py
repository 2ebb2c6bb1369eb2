"""Sign-in: the password policy, argon2id hashes, lock-out, idle sign-out, audit, demo accounts.

Service tests run on a fresh database (SQLite, and PostgreSQL when available) holding only the
forces; time is injected (``now``) to step through a lock-out without waiting.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.db import make_engine, session_scope
from coordination.core.settings import Settings
from coordination.errors import AccessDeniedError, AuthenticationError, InputError, NotFoundError
from coordination.models import AuditEvent, User, UserCreate
from coordination.security import auth
from coordination.security.users import create_user, list_demo_accounts, mark_demo_account
from tests.support.database import migrated_engine

CITY = "E23000034"
PASSWORD = "correct horse battery"
T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # 09:00 GMT is 09:00 in London
SETTINGS = Settings()


@pytest.fixture
def engine(engine: sa.Engine) -> sa.Engine:
    """The seeded database (``tests/conftest.py``) and one user, ``alice``, with a password."""
    with session_scope(engine) as session:
        create_user(
            session,
            actor="pytest",
            data=UserCreate(
                username="alice", display_name="Alice A", force_code=CITY, role="supervisor"
            ),
        )
        auth.set_password(
            session, actor="pytest", username="alice", password=PASSWORD, settings=SETTINGS
        )
    return engine


def _sign_in(engine: sa.Engine, username: str, password: str, now: datetime) -> Any:
    with session_scope(engine) as session:
        return auth.authenticate(
            session, username=username, password=password, now=now, settings=SETTINGS
        )


def _refused(engine: sa.Engine, username: str, password: str, now: datetime) -> str:
    with pytest.raises(AuthenticationError) as raised:
        _sign_in(engine, username, password, now)
    return str(raised.value)


def _user(engine: sa.Engine, username: str = "alice") -> User:
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        session.expunge(user)
        return user


def _events(engine: sa.Engine, prefix: str = "auth.") -> list[AuditEvent]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith(prefix))
            .order_by(col(AuditEvent.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


# --- the policy and the hash -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pass1", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
        ("bob.the.builder", "may not be the username"),
        ("BOB.THE.BUILDER", "may not be the username"),
        ("x" * 1025 + "y", "at most 1024 characters"),
    ],
)
def test_the_policy_names_the_rule_broken(password: str, rule: str) -> None:
    with pytest.raises(InputError, match=rule):
        auth.check_password_policy(password, username="bob.the.builder", min_length=12)


def test_a_good_password_passes_and_the_minimum_follows_the_setting() -> None:
    auth.check_password_policy("twelve chars", username="bob", min_length=12)
    with pytest.raises(InputError, match="at least 20 characters"):
        auth.check_password_policy("twelve chars", username="bob", min_length=20)


def test_set_password_stores_an_argon2id_hash_only(engine: sa.Engine) -> None:
    user = _user(engine)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$v=19$")
    assert PASSWORD not in user.password_hash
    assert user.password_changed_at is not None
    # Two hashes of the same password differ (random salt).
    assert auth.hash_password(PASSWORD) != auth.hash_password(PASSWORD)
    (event,) = _events(engine, "user.set_password")
    assert event.category == "alteration" and event.entity_id == "alice"
    # Changed when it was set: the moment the change was written to the audit log.
    assert abs(user.password_changed_at - event.at) < timedelta(seconds=5)
    assert PASSWORD not in str(event.details) and "argon2" not in str(event.details)


def test_set_password_refuses_a_weak_password_and_an_unknown_user(engine: sa.Engine) -> None:
    before = _user(engine).password_hash
    with session_scope(engine) as session, pytest.raises(InputError, match="at least 12"):
        auth.set_password(session, actor="pytest", username="alice", password="too short")
    assert _user(engine).password_hash == before
    with session_scope(engine) as session, pytest.raises(NotFoundError):
        auth.set_password(session, actor="pytest", username="nobody", password=PASSWORD)


def test_only_the_user_or_an_admin_sets_a_password(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        for name, role in (("bob", "supervisor"), ("ada", "admin")):
            create_user(
                session,
                actor="pytest",
                data=UserCreate(username=name, display_name=name, force_code=CITY, role=role),
            )
    new = "another good passphrase"
    with session_scope(engine) as session, pytest.raises(AccessDeniedError):
        auth.set_password(session, actor="bob", username="alice", password=new)
    with session_scope(engine) as session:
        auth.set_password(session, actor="alice", username="alice", password=new)  # her own
        auth.set_password(session, actor="ada", username="bob", password=new)  # an admin
    with session_scope(engine) as session, pytest.raises(AccessDeniedError):
        create_user(
            session,
            actor="bob",
            data=UserCreate(username="eve", display_name="E", force_code=CITY, role="admin"),
        )
    assert _sign_in(engine, "bob", new, T0).username == "bob"


# --- signing in ---------------------------------------------------------------------------------


def test_the_right_password_signs_in_and_is_audited(engine: sa.Engine) -> None:
    user = _sign_in(engine, "  Alice ", PASSWORD, T0)
    assert user.username == "alice"
    assert _user(engine).last_login_at == T0
    (event,) = _events(engine)
    assert (event.action, event.actor, event.category) == ("auth.success", "alice", "access")
    assert event.entity_id == "alice"


def test_unknown_user_and_wrong_password_get_the_same_message(engine: sa.Engine) -> None:
    wrong = _refused(engine, "alice", "not the password", T0)
    unknown = _refused(engine, "mallory", PASSWORD, T0)
    empty = _refused(engine, "", PASSWORD, T0)
    assert wrong == unknown == empty == auth.WRONG_CREDENTIALS == "Wrong username or password"
    events = _events(engine)
    assert [e.action for e in events] == ["auth.failure"] * 3
    assert all(e.category == "access" for e in events)
    assert events[0].actor == "alice" and events[0].details == {"failed_logins": 1}
    # Nobody is proven by a failed attempt on an unknown name: the actor is anonymous.
    assert events[1].actor == "anonymous" and events[1].details is not None
    assert events[1].details["username"] == "mallory"


def test_an_inactive_or_password_less_user_cannot_sign_in(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        create_user(
            session,
            actor="pytest",
            data=UserCreate(username="sso.only", display_name="S", force_code=CITY, role="admin"),
        )
        alice = session.exec(select(User).where(User.username == "alice")).one()
        alice.active = False
        session.add(alice)
    assert _refused(engine, "sso.only", PASSWORD, T0) == auth.WRONG_CREDENTIALS
    assert _refused(engine, "alice", PASSWORD, T0) == auth.WRONG_CREDENTIALS


def test_five_failures_lock_for_fifteen_minutes_then_unlock(engine: sa.Engine) -> None:
    for n in range(1, 5):
        assert _refused(engine, "alice", f"wrong password {n}", T0) == auth.WRONG_CREDENTIALS
        assert _user(engine).failed_logins == n
    # The fifth failure locks the account, and says until when (London time).
    assert _refused(engine, "alice", "wrong password 5", T0) == "Account locked until 09:15"
    assert _user(engine).locked_until == T0 + timedelta(minutes=15)
    # While locked even the right password is refused, and the refusal is audited.
    later = T0 + timedelta(minutes=14, seconds=59)
    assert _refused(engine, "alice", PASSWORD, later) == "Account locked until 09:15"
    actions = [e.action for e in _events(engine)]
    assert actions == ["auth.failure"] * 5 + ["auth.locked"]
    assert _events(engine)[4].details == {
        "failed_logins": 5,
        "locked_until": (T0 + timedelta(minutes=15)).isoformat(),
    }
    # Fifteen minutes on, the right password works and the count starts again.
    user = _sign_in(engine, "alice", PASSWORD, T0 + timedelta(minutes=15))
    assert user.username == "alice"
    stored = _user(engine)
    assert stored.failed_logins == 0 and stored.locked_until is None


def test_the_lock_time_is_shown_in_london_time(engine: sa.Engine) -> None:
    summer = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 BST
    for n in range(5):
        message = _refused(engine, "alice", f"wrong {n}", summer)
    assert message == "Account locked until 10:15"


def test_a_success_resets_the_count(engine: sa.Engine) -> None:
    for n in range(4):
        _refused(engine, "alice", f"wrong {n}", T0)
    _sign_in(engine, "alice", PASSWORD, T0)
    assert _user(engine).failed_logins == 0
    for n in range(4):  # four more failures do not lock: the count started again
        assert _refused(engine, "alice", f"wrong again {n}", T0) == auth.WRONG_CREDENTIALS
    assert _user(engine).locked_until is None


def test_an_old_hash_is_upgraded_on_sign_in(engine: sa.Engine) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope(engine) as session:
        alice = session.exec(select(User).where(User.username == "alice")).one()
        alice.password_hash = weak
        session.add(alice)
    _sign_in(engine, "alice", PASSWORD, T0)
    upgraded = _user(engine).password_hash
    assert upgraded != weak and upgraded is not None and upgraded.startswith("$argon2id$")
    assert _events(engine)[-1].details == {"method": "password", "rehashed": "yes"}
    _sign_in(engine, "alice", PASSWORD, T0)  # the new hash verifies


# --- idle sign-out, single sign-on, sign-out ------------------------------------------------------


def test_idle_expiry() -> None:
    assert not auth.session_expired(T0, T0 + timedelta(minutes=29, seconds=59), 30)
    assert auth.session_expired(T0, T0 + timedelta(minutes=30), 30)
    assert auth.session_expired(T0, T0 + timedelta(minutes=5), 5)
    assert auth.session_expired(None, T0, 30)


def test_single_sign_on_maps_a_verified_email_to_a_user(engine: sa.Engine) -> None:
    sso = Settings(oidc_enabled=True, oidc_email_domain="city.police.example")
    with session_scope(engine) as session:
        user = auth.sign_in_external(
            session,
            claims={"email": "Alice@City.Police.Example", "email_verified": True, "sub": "x1"},
            provider="entra",
            now=T0,
            settings=sso,
        )
    assert user.username == "alice" and _user(engine).last_login_at == T0
    refused = [
        ({"email": "alice@elsewhere.example", "sub": "x2"}, "only @city.police.example"),
        ({"email": "alice@city.police.example", "email_verified": False}, "not verified"),
        ({"email": "bob@city.police.example"}, "No crossforce account for 'bob'"),
        ({"sub": "x3"}, "only @city.police.example"),
    ]
    for claims, message in refused:
        with session_scope(engine) as session, pytest.raises(AuthenticationError, match=message):
            auth.sign_in_external(session, claims=claims, provider="entra", settings=sso)
    with session_scope(engine) as session, pytest.raises(AuthenticationError, match="not set up"):
        auth.sign_in_external(
            session, claims={"email": "alice@x.example"}, provider="entra", settings=SETTINGS
        )
    actions = [(e.action, e.actor) for e in _events(engine)]
    assert actions[0] == ("auth.success", "alice")
    assert actions[1:] == [("auth.failure", "oidc:entra")] * 5


def test_sign_out_is_audited(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        auth.record_sign_out(session, username="alice", reason="idle")
    (event,) = _events(engine)
    assert (event.action, event.actor, event.details) == (
        "auth.sign_out",
        "alice",
        {"reason": "idle"},
    )


# --- demo accounts and production -----------------------------------------------------------------


def test_production_has_no_demo_accounts(engine: sa.Engine) -> None:
    production = Settings(env="production", secret_key="x" * 40, audit_key="a" * 40)
    with session_scope(engine) as session, pytest.raises(AccessDeniedError):
        mark_demo_account(session, actor="pytest", username="alice", settings=production)
    with session_scope(engine) as session:
        mark_demo_account(session, actor="pytest", username="alice", settings=SETTINGS)
    with Session(engine) as session:
        assert [u.username for u in list_demo_accounts(session)] == ["alice"]


def test_demo_seed_gives_demo_accounts_in_development_only(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, app_database_url: str
) -> None:
    from coordination.core.settings import reset_settings_cache
    from coordination.demo.seed import seed_demo
    from coordination.reference.lookup import get_service, postcode_directory
    from coordination.security.users import DEMO_PASSWORD

    tools = Settings(database_url=app_database_url)
    lookup, directory = get_service(tools).lookup, postcode_directory(tools)
    seeded: dict[str, list[User]] = {}
    for env in ("development", "production"):
        monkeypatch.setenv("CROSSFORCE_ENV", env)
        monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
        monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "k" * 40)
        reset_settings_cache()
        engine = migrated_engine(f"sqlite:///{tmp_path / env}.db")
        # Production refuses a synthetic demo outright (and so never gets its accounts).
        refused = pytest.raises(InputError, match="never seeded") if env == "production" else None
        with session_scope(engine) as session, refused or contextlib.nullcontext():
            seed_demo(
                session,
                actor="system:pytest" if env == "development" else "system:demo",
                lookup=lookup,
                directory=directory,
                offenders=8,
                seed=5,
                today=T0.date(),
            )
        with Session(engine) as session:
            seeded[env] = [u for u in session.exec(select(User)).all() if u.is_demo]
            with_password = [u for u in session.exec(select(User)).all() if u.password_hash]
        if env == "production":
            assert with_password == []
        engine.dispose()
    monkeypatch.delenv("CROSSFORCE_ENV")
    monkeypatch.delenv("CROSSFORCE_SECRET_KEY")
    reset_settings_cache()

    assert seeded["production"] == []
    demo = {u.username: u for u in seeded["development"]}
    roles = sorted((u.force_code, u.bcu_code or "", u.role) for u in demo.values())
    assert roles == [
        ("E23000001", "CE", "offender_manager"),
        (CITY, "", "admin"),
        (CITY, "", "analyst"),
        (CITY, "", "offender_manager"),
        (CITY, "", "supervisor"),
    ]
    assert {"demo.analyst", "demo.admin"} <= set(demo)
    # The shared, documented demo password signs each of them in.
    engine = make_engine(f"sqlite:///{tmp_path / 'development'}.db")
    for username in demo:
        assert _sign_in(engine, username, DEMO_PASSWORD, T0).username == username
    engine.dispose()


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database with the forces, as the CLI's database (not the shared app one)."""
    from coordination.core.db import dispose_engines
    from coordination.core.settings import reset_settings_cache

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrated_engine(url).dispose()
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    yield url
    dispose_engines()
    monkeypatch.delenv("CROSSFORCE_DATABASE_URL")
    reset_settings_cache()


def test_cli_users_add_with_password_stdin(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main
    from coordination.core.db import get_engine

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    argv = ["--as", "pytest", "users", "add", "Carol.Cli", "--force", CITY, "--role", "analyst"]
    assert main([*argv, "--display-name", "Carol Cli", "--password-stdin"]) == 0
    assert "Added carol.cli (analyst, E23000034)" in capsys.readouterr().out
    with session_scope(get_engine()) as session:
        user = auth.authenticate(session, username="carol.cli", password=PASSWORD)
    assert user.display_name == "Carol Cli"

    # Errors exit 2 with one line, and a refused password leaves no user behind.
    cases = [
        ([*argv[:4], "dave.cli", "--force", CITY, "--role", "analyst"], "short\n", "at least 12"),
        (argv, f"{PASSWORD}\n", "already exists"),
        ([*argv[:4], "erin.cli", "--force", "E99", "--role", "analyst"], f"{PASSWORD}\n", "force"),
        ([*argv[:4], "frank.cli", "--force", CITY, "--role", "analyst"], "", "no password"),
    ]
    for args, stdin, message in cases:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        assert main([*args, "--password-stdin"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    # A usage error is exit 2 too (main returns it rather than raising SystemExit).
    assert main(["users", "add", "x.cli", "--force", CITY, "--role", "chief"]) == 2
    assert "invalid choice: 'chief'" in capsys.readouterr().err
    with Session(get_engine()) as session:
        names = set(session.exec(select(User.username)).all())
    assert "dave.cli" not in names and "erin.cli" not in names and "frank.cli" not in names


def test_cli_users_add_asks_twice_and_refuses_a_mismatch(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main

    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    args = ["users", "add", "gina.cli", "--force", CITY, "--role", "supervisor"]
    assert main(args) == 2
    assert "differ" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert main(args) == 0


def test_cli_demo_accounts_prints_nothing_in_production(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main
    from coordination.core.db import get_engine
    from coordination.core.settings import reset_settings_cache

    with session_scope(get_engine()) as session:
        if session.exec(select(User).where(User.username == "hal.demo")).first() is None:
            create_user(
                session,
                actor="pytest",
                data=UserCreate(
                    username="hal.demo", display_name="H", force_code=CITY, role="admin"
                ),
            )
        mark_demo_account(session, actor="pytest", username="hal.demo")
    assert main(["users", "demo-accounts"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DEMO ACCOUNTS (development only") and "hal.demo" in out
    assert "crossforce-demo" in out
    monkeypatch.setenv("CROSSFORCE_ENV", "production")
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
    monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "p" * 40)
    reset_settings_cache()
    try:
        assert main(["users", "demo-accounts"]) == 0
        assert capsys.readouterr().out == ""
    finally:
        monkeypatch.delenv("CROSSFORCE_ENV")
        monkeypatch.delenv("CROSSFORCE_SECRET_KEY")
        reset_settings_cache()


# --- the lock-out under parallel guesses -----------------------------------------------------

PARALLEL = 30


def _guess_in_parallel(engine: sa.Engine, username: str, now: datetime) -> list[str]:
    """PARALLEL wrong passwords at once, each in its own session; the messages they got."""
    from concurrent.futures import ThreadPoolExecutor

    def guess(i: int) -> str:
        try:
            _sign_in(engine, username, f"wrong guess number {i}", now)
        except AuthenticationError as exc:
            return str(exc)
        return "signed in"

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(guess, range(PARALLEL)))


def test_thirty_parallel_wrong_passwords_lock_the_account(engine: sa.Engine) -> None:
    answers = _guess_in_parallel(engine, "alice", T0)
    assert "signed in" not in answers
    assert any(a.startswith("Account locked until") for a in answers)
    # Every failure was counted: the right password, straight after, is refused.
    assert _refused(engine, "alice", PASSWORD, T0 + timedelta(seconds=1)).startswith(
        "Account locked until"
    )
    assert _user(engine).locked_until is not None
    # Every guess is in the audit log, as a failure or as a refusal while locked.
    guesses = [e for e in _events(engine) if e.action in ("auth.failure", "auth.locked")]
    assert len(guesses) == PARALLEL + 1


def test_an_unknown_name_is_locked_out_like_a_real_one(engine: sa.Engine) -> None:
    limit = SETTINGS.lockout_attempts
    real = [_refused(engine, "alice", "not the password", T0) for _ in range(limit + 1)]
    ghost = [_refused(engine, "nobody.here", "not the password", T0) for _ in range(limit + 1)]
    # The same answers in the same order: nothing tells a guesser which name exists.
    assert real == ghost
    assert real[0] == auth.WRONG_CREDENTIALS
    assert real[-1] == f"Account locked until {(T0 + timedelta(minutes=15)):%H:%M}"


def test_unknown_names_lock_out_under_parallel_guesses_too(engine: sa.Engine) -> None:
    answers = _guess_in_parallel(engine, "nobody.here", T0)
    assert any(a.startswith("Account locked until") for a in answers)
    assert _refused(engine, "nobody.here", "anything at all", T0).startswith("Account locked until")


def test_a_lock_that_has_run_out_starts_the_count_again(engine: sa.Engine) -> None:
    for _ in range(SETTINGS.lockout_attempts):
        _refused(engine, "alice", "not the password", T0)
    later = T0 + timedelta(minutes=SETTINGS.lockout_minutes, seconds=1)
    assert _sign_in(engine, "alice", PASSWORD, later).username == "alice"
    assert _user(engine).failed_logins == 0
