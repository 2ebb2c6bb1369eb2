"""No personal data in logs (coordination.core.logs): redaction of messages, extras, tracebacks.

The source scan that no service or page logs a name is in ``tests/test_hardening.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordination.core.logs import (
    RedactingFilter,
    configure_logging,
    personal,
    redact_record,
    redact_text,
)


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
