"""No personal data in logs (coordination.core.logs): redaction of messages, extras, tracebacks.

The source scan that no service or page logs a name is in ``tests/test_hardening.py``. The
failure paths below carry a synthetic person (Zebedee Quxworthy, born 1990-02-03, of EC2V 7HH)
into a log file, on SQLite and PostgreSQL: the event is logged, the person is not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.core.logs import (
    RedactingFilter,
    configure_logging,
    personal,
    redact_record,
    redact_text,
)
from coordination.models import Offender
from tests.factories import CITY


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(
            logging.Formatter("%(levelname)s %(message)s %(pnc_id)s", defaults={"pnc_id": "-"})
        )

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, _Capture]]:
    logger = logging.getLogger("crossforce.test.hardening")
    handler = _Capture()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PNC 2019/0012345G refused", "PNC [PNC] refused"),
        ("short form 19/12345G", "short form [PNC]"),
        ("lives at EC2V 7HH now", "lives at [POSTCODE] now"),
        ("lives at ec2v7hh now", "lives at [POSTCODE] now"),
        ("born 1990-02-03", "born [DATE]"),
        ("born 03/02/1990 or 3.2.90", "born [DATE] or [DATE]"),
        (
            "no personal data: case 12, 3 rows, E09000001",
            "no personal data: case 12, 3 rows, E09000001",
        ),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_log_records_lose_pnc_postcode_dob_and_marked_extras(
    captured: tuple[logging.Logger, _Capture],
) -> None:
    logger, handler = captured
    logger.warning(
        "offender %s at %s born %s",
        "2019/0012345G",
        "E8 1DY",
        "1990-02-03",
        extra={"pnc_id": "2019/0012345G", **personal(nickname="Zed"), "ref": "E8 1DY"},
    )
    [record] = handler.records
    [line] = handler.lines
    assert line == "WARNING offender [PNC] at [POSTCODE] born [DATE] [REDACTED]"
    assert record.__dict__["nickname"] == "[REDACTED]"
    assert record.__dict__["ref"] == "[POSTCODE]"
    assert record.args is None


def test_tracebacks_are_redacted(captured: tuple[logging.Logger, _Capture]) -> None:
    logger, handler = captured
    try:
        raise ValueError("no such postcode EC2V 7HH for 2019/0012345G")
    except ValueError:
        logger.exception("failed")
    [record] = handler.records
    assert record.exc_text is not None
    assert "EC2V 7HH" not in record.exc_text and "2019/0012345G" not in record.exc_text
    assert "[POSTCODE]" in record.exc_text and "[PNC]" in record.exc_text
    # The message is withheld whatever it holds; the source line shown is masked like the rest.
    assert "ValueError: [message withheld]" in record.exc_text


def test_redaction_is_idempotent() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "at %s", ("EC2V 7HH",), None)
    redact_record(record)
    redact_record(record)
    assert record.getMessage() == "at [POSTCODE]"


def test_configure_logging_redacts_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    before = logging.getLogRecordFactory()
    try:
        configure_logging()
        configure_logging()  # idempotent: the app calls it on every rerun
        with caplog.at_level(logging.INFO):
            logging.getLogger("some.library").info("postcode %s", "SW1A 1AA")
        assert caplog.messages[-1] == "postcode [POSTCODE]"
        assert "SW1A" not in caplog.text
    finally:
        logging.setLogRecordFactory(before)


def test_cli_crash_log_has_no_personal_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unexpected error's traceback goes to the log file redacted."""
    from coordination.cli import main as cli
    from coordination.core.settings import reset_settings_cache
    from coordination.reference import cli as reference_cli

    before = logging.getLogRecordFactory()
    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    reset_settings_cache()

    def boom(_: object) -> int:
        raise RuntimeError("unexpected for 2019/0012345G at EC2V 7HH born 1990-02-03")

    monkeypatch.setattr(reference_cli, "_cmd_lookup", boom)
    try:
        assert cli.main(["lookup", "EC2V 7HH"]) == 1
    finally:
        logging.setLogRecordFactory(before)
        reset_settings_cache()
    text = (tmp_path / "logs" / "crossforce.log").read_text()
    assert "RuntimeError" in text
    for secret in ("2019/0012345G", "EC2V 7HH", "1990-02-03"):
        assert secret not in text
    assert "2019/0012345G" not in capsys.readouterr().err


# --- failure paths that carry a person: the log file keeps the event, never the person -----------

NAME = ("Zebedee", "Quxworthy")
DOB = date(1990, 2, 3)
POSTCODE = "EC2V 7HH"
SECRETS = (*NAME, "1990-02-03", "1990, 2, 3", POSTCODE, "EC2V7HH")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A log file on the root logger, set up as the app sets up its logging; its path."""
    path = tmp_path / "logs" / "crossforce.log"
    path.parent.mkdir()
    root = logging.getLogger()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    factory = logging.getLogRecordFactory()
    engine_logger = logging.getLogger("sqlalchemy.engine")
    engine_level, root_level = engine_logger.level, root.level
    root.addHandler(handler)
    configure_logging()
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        logging.setLogRecordFactory(factory)
        engine_logger.setLevel(engine_level)
        root.setLevel(root_level)


def _no_one_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_an_integrity_error_is_logged_without_the_row(engine: Engine, log_file: Path) -> None:
    """PostgreSQL quotes the failing row ("Failing row contains (…)"): none of it is written."""
    from coordination.models import Address, Offender
    from tests.factories import add_offender

    log = logging.getLogger("crossforce.ui")
    offender = Offender(
        pnc_id="2019/0012345G",
        first_name=NAME[0],
        last_name=NAME[1],
        aliases=[" ".join(NAME)],
        date_of_birth=DOB,
        sex="zebedee",  # type: ignore[arg-type]  # refused by ck_offender_sex
        created_by="pytest",
    )
    with pytest.raises(sa.exc.IntegrityError), Session(engine) as session:
        session.add(offender)
        try:
            session.flush()
        except sa.exc.IntegrityError:
            log.exception("unexpected error in %s", "add_offender")
            raise
    with pytest.raises(sa.exc.IntegrityError), Session(engine) as session:
        person = add_offender(session, first_name=NAME[0], last_name=NAME[1], date_of_birth=DOB)
        assert person.id is not None
        session.add(
            Address(
                offender_id=person.id,
                state="zebedee",  # type: ignore[arg-type]  # refused by ck_address_state
                postcode=POSTCODE,
                valid_from=DOB,
                created_by="pytest",
            )
        )
        try:
            session.flush()
        except sa.exc.IntegrityError:
            log.exception("unexpected error in %s", "move_offender")
            raise
    text = log_file.read_text()
    _no_one_in(text)
    # The events are there, with what went wrong: the error types, the statement, the constraint.
    assert "ERROR crossforce.ui unexpected error in add_offender" in text
    assert "ERROR crossforce.ui unexpected error in move_offender" in text
    assert text.count("sqlalchemy.exc.IntegrityError: ") == 2
    assert "SQL: INSERT INTO offender" in text and "SQL: INSERT INTO address" in text
    assert "ck_offender_sex" in text and "ck_address_state" in text
    assert "Traceback (most recent call last):" in text


def test_a_validation_error_is_logged_by_field_and_type(log_file: Path) -> None:
    """pydantic quotes the input (``input_value='…'``): only the fields and error types stay."""
    from pydantic import ValidationError

    from coordination.register.inputs import OffenderCreate

    try:
        OffenderCreate(
            pnc_id="2019/0012345G",
            first_name=f"{NAME[0]}\t{POSTCODE}",  # a control character: refused
            last_name=NAME[1],
            aliases=[f"{NAME[0]}\n{NAME[1]}"],  # a line break: refused
            date_of_birth=DOB,
            sex="zebedee",  # type: ignore[arg-type]
        )
    except ValidationError:
        logging.getLogger("crossforce.ui").exception("unexpected error in %s", "add_offender")
    text = log_file.read_text()
    _no_one_in(text)
    assert "ERROR crossforce.ui unexpected error in add_offender" in text
    assert "ValidationError: OffenderCreate: " in text
    assert "first_name [value_error]" in text and "aliases [value_error]" in text
    assert "sex [literal_error]" in text


def test_the_cli_crash_log_names_no_one(
    private_app_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that quotes the record it fails on (``f"… {row!r}"``) still logs only its type."""
    from coordination.cli import main as cli
    from coordination.core.db import get_engine, session_scope
    from coordination.core.settings import reset_settings_cache
    from coordination.models import Offender, UserCreate
    from coordination.register import offenders
    from coordination.security.users import create_user

    with session_scope(get_engine(private_app_env)) as session:
        create_user(
            session,
            actor="pytest",
            data=UserCreate(
                username="zoe.city", display_name="Zoe City", force_code=CITY, role="supervisor"
            ),
        )

    def quoting(session: Session, **event: object) -> None:
        row = session.get(Offender, int(str(event["entity_id"])))
        raise TypeError(f"cannot audit {row!r}")

    monkeypatch.setattr(offenders, "record_event", quoting)
    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    reset_settings_cache()
    factory = logging.getLogRecordFactory()
    try:
        code = cli.main(
            [
                *("--as", "zoe.city", "offenders", "add"),
                *("--first-name", NAME[0], "--last-name", NAME[1], "--dob", DOB.isoformat()),
                *("--sex", "not_known", "--pnc", "2019/0012345G", "--postcode", POSTCODE),
                *("--programme", "iom_flex", "--risk", "high", "--offence", "robbery"),
            ]
        )
    finally:
        logging.setLogRecordFactory(factory)
        reset_settings_cache()
    assert code == 1
    text = (tmp_path / "logs" / "crossforce.log").read_text()
    _no_one_in(text)
    assert "2019/0012345G" not in text
    assert "unexpected error in offenders" in text
    assert "TypeError: [message withheld]" in text
    assert "raise TypeError(" in text  # the frames stay: where it failed is not personal


def test_exceptions_passed_as_arguments_are_described(log_file: Path) -> None:
    logging.getLogger("crossforce.test").warning(
        "map boundaries unavailable: %s", ValueError(f"no area for {' '.join(NAME)}")
    )
    text = log_file.read_text()
    _no_one_in(text)
    assert "map boundaries unavailable: ValueError: [message withheld]" in text


def test_known_fields_are_masked_wherever_they_are_written(log_file: Path) -> None:
    """A model's repr, a dict or JSON quoting a personal field: the value goes, the key stays."""
    from coordination.register.inputs import OffenderCreate

    person = OffenderCreate(
        pnc_id="2019/0012345G",
        first_name=NAME[0],
        last_name=NAME[1],
        aliases=["Zeb"],
        date_of_birth=DOB,
        sex="male",
    )
    log = logging.getLogger("crossforce.test")
    log.warning("skipped %r", person)
    log.warning("row %s", {"display_name": " ".join(NAME), "postcode": POSTCODE, "case": 7})
    log.warning('payload {"first_name": "%s", "reason": "moved in with %s"}', *NAME)
    text = log_file.read_text()
    _no_one_in(text)
    assert "Zeb" not in text
    assert "first_name=[REDACTED]" in text and "date_of_birth=[REDACTED]" in text
    assert "'display_name': [REDACTED]" in text and "'case': 7" in text
    assert '"reason": [REDACTED]' in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("born datetime.date(1990, 2, 3)", "born [DATE]"),
        ("at datetime.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)", "at [DATE]"),
        (
            "Offender(id=4, last_name='O\\'Neil', sex='male')",
            "Offender(id=4, last_name=[REDACTED], sex='male')",
        ),
        ("{'aliases': ['A', 'B'], 'id': 4}", "{'aliases': [REDACTED], 'id': 4}"),
        (
            "logger name=crossforce.ui table name: offender",
            "logger name=crossforce.ui table name: offender",
        ),
    ],
)
def test_redact_text_masks_reprs_and_fields(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_engine_logging_stays_at_warning(engine: Engine, log_file: Path) -> None:
    """Below WARNING SQLAlchemy logs statements and (at DEBUG) result rows: held at WARNING."""
    from tests.factories import add_offender

    # Someone turns SQL logging on to debug, the way SQLAlchemy documents it.
    sqlalchemy_logger = logging.getLogger("sqlalchemy")
    before = sqlalchemy_logger.level
    sqlalchemy_logger.setLevel(logging.DEBUG)
    try:
        configure_logging("DEBUG")
        assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING
        with Session(engine) as session:
            add_offender(session, first_name=NAME[0], last_name=NAME[1], date_of_birth=DOB)
            session.commit()
            assert session.exec(select(Offender.first_name)).all() == [NAME[0]]
    finally:
        sqlalchemy_logger.setLevel(before)
    _no_one_in(log_file.read_text())


def test_records_filled_after_creation_are_redacted_too() -> None:
    """``logging.makeLogRecord`` fills a record the factory has already made."""
    before = logging.getLogRecordFactory()
    try:
        configure_logging()
        record = logging.makeLogRecord({"msg": "moved to %s", "args": (POSTCODE,)})
        RedactingFilter().filter(record)
    finally:
        logging.setLogRecordFactory(before)
    assert record.getMessage() == "moved to [POSTCODE]"
