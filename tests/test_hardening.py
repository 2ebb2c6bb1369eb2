"""Hardening: no personal data in logs, upload limits, bound SQL, no secrets.

The last three are source scans: string-built SQL in ``coordination/`` and ``geo/``, logging
calls that pass names, and real-looking secrets anywhere in the repository. Each scanner is also
run on a planted bad example, so a scanner that silently finds nothing fails too.
"""

from __future__ import annotations

import ast
import io
import logging
import math
import re
import subprocess
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from coordination.core.logs import (
    RedactingFilter,
    configure_logging,
    personal,
    redact_record,
    redact_text,
)
from coordination.core.settings import DEVELOPMENT_SECRET_KEY, Settings
from coordination.core.tables import MAX_UPLOAD_BYTES, read_table, read_upload
from coordination.errors import InputError
from tests.support import REPO

# -- logs ----------------------------------------------------------------------------------------


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


_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_NAME_FIELDS = {"first_name", "last_name", "aliases", "display_name", "full_name"}


def _log_calls_with_names(source: str) -> list[int]:
    """Line numbers of logging calls that pass a name field (``x.first_name`` …) or a name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger", "logging", "_log", "LOG"}
        ):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for sub in ast.walk(arg):
                name = (
                    sub.attr
                    if isinstance(sub, ast.Attribute)
                    else sub.id
                    if isinstance(sub, ast.Name)
                    else None
                )
                if name in _NAME_FIELDS:
                    found.append(node.lineno)
    return found


def _python_sources(*roots: str) -> list[Path]:
    paths: list[Path] = []
    for root in roots:
        target = REPO / root
        paths.extend([target] if target.is_file() else sorted(target.rglob("*.py")))
    return paths


def test_no_service_or_page_logs_names() -> None:
    assert _log_calls_with_names("log.info('added %s', offender.first_name)") == [1]
    offenders = {
        str(path.relative_to(REPO)): lines
        for path in _python_sources("coordination", "geo", "ui", "app.py")
        if (lines := _log_calls_with_names(path.read_text()))
    }
    assert offenders == {}


# -- uploads -------------------------------------------------------------------------------------


def _xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_upload_limit_is_one_number_everywhere() -> None:
    assert Settings().upload_max_bytes == MAX_UPLOAD_BYTES == 20 * 1024 * 1024
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    # Streamlit's limit is in MB of 1024 x 1024 bytes; it must not refuse first with its own
    # message (README asks for the two to be equal).
    assert config["server"]["maxUploadSize"] * 1024 * 1024 >= MAX_UPLOAD_BYTES


def test_too_big_files_are_refused() -> None:
    big = b"postcode\n" + b"EC2V 7HH\n" * 200
    with pytest.raises(InputError, match=r"files over 0\.0 MB are refused"):
        read_table(big, "big.csv", max_bytes=100)
    assert len(read_table(big, "big.csv", max_bytes=len(big))) == 200
    with pytest.raises(InputError, match="refused"):
        read_upload(b"x" * (MAX_UPLOAD_BYTES + 1), "huge.csv")


@pytest.mark.parametrize(
    ("data", "name", "needle"),
    [
        (b"postcode\nEC2V 7HH\n", "people.pdf", r"only \.csv and \.xlsx"),
        (b"postcode\nEC2V 7HH\n", "people.xlsx", "not an XLSX file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "people.csv", "binary file"),
        (b"postcode\nEC2V\x01 7HH\n", "people.csv", "binary file"),
        (b"postcode\nEC2V 7HH\n\x00", "people.csv", "binary file"),
    ],
)
def test_wrong_types_are_refused(data: bytes, name: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        read_upload(data, name)


def test_fake_and_hostile_xlsx_are_refused() -> None:
    # A zip that is not a workbook.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="not a workbook"):
        read_upload(buffer.getvalue(), "fake.xlsx")
    # A workbook whose parts unpack to far more than the file (a zip bomb).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/workbook.xml", b"<" + b" " * 5_000_000 + b"/>")
    with pytest.raises(InputError, match="unpacks too large"):
        read_upload(buffer.getvalue(), "bomb.xlsx", max_bytes=100_000)
    # A workbook renamed .csv.
    with pytest.raises(InputError, match="zip or Excel"):
        read_upload(_xlsx([["postcode"], ["EC2V 7HH"]]), "renamed.csv")
    # A real one passes.
    table = read_upload(_xlsx([["postcode", "n"], ["EC2V 7HH", "1"]]), "real.xlsx")
    assert table.to_dict(orient="records") == [{"postcode": "EC2V 7HH", "n": "1"}]


def test_read_upload_needs_no_location_column() -> None:
    table = read_upload(b"first_name,pnc_id\nAnn,2019/0012345G\n", "people.csv")
    assert list(table.columns) == ["first_name", "pnc_id"]
    with pytest.raises(InputError, match="postcode"):
        read_table(b"first_name,pnc_id\nAnn,2019/0012345G\n", "people.csv")


# -- SQL only through the ORM or bound parameters -------------------------------------------------

_SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany", "exec"}
_SQL_WORDS = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|DROP|ALTER TABLE|CREATE)\b.*")


def _is_built_string(node: ast.AST) -> bool:
    """An f-string, ``"…" % x``, ``"…".format(…)`` or ``"…" + x``."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(
            (isinstance(side, ast.Constant) and isinstance(side.value, str))
            or _is_built_string(side)
            for side in (node.left, node.right)
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
    )


def _string_built_sql(source: str) -> list[int]:
    """Lines where SQL is built from strings: passed to text()/execute(), or an SQL f-string."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if name in _SQL_CALLS and node.args and _is_built_string(node.args[0]):
                found.add(node.lineno)
        if isinstance(node, ast.JoinedStr):
            literal = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if _SQL_WORDS.search(literal) and re.search(
                r"\b(FROM|INTO|SET|WHERE|TABLE)\b", literal
            ):
                found.add(node.lineno)
    return sorted(found)


@pytest.mark.parametrize(
    "bad",
    [
        'session.execute(text(f"SELECT * FROM offender WHERE id = {x}"))',
        'conn.execute("DELETE FROM offender WHERE id = %s" % x)',
        "sa.text(\"SELECT * FROM offender WHERE pnc_id = '{}'\".format(p))",
        'cursor.execute("SELECT * FROM users WHERE name = \'" + name + "\'")',
        "query = f\"UPDATE offender SET first_name = '{name}'\"",
    ],
)
def test_the_sql_scanner_catches_string_built_sql(bad: str) -> None:
    assert _string_built_sql(bad) == [1]


def test_the_sql_scanner_allows_bound_parameters() -> None:
    good = (
        'session.execute(sa.text("SELECT * FROM offender WHERE id = :id"), {"id": x})\n'
        "session.exec(select(Offender).where(Offender.id == x))\n"
        'log.info(f"selected {n} rows from the file")\n'
    )
    assert _string_built_sql(good) == []


def test_no_string_built_sql_in_coordination_or_geo() -> None:
    offenders = {
        str(path.relative_to(REPO)): lines
        for path in _python_sources("coordination", "geo")
        if (lines := _string_built_sql(path.read_text()))
    }
    assert offenders == {}


# -- secrets only from settings or the environment ------------------------------------------------

# Documented development-only values, allowed by the name they are assigned to.
ALLOWED_SECRET_NAMES = {"DEVELOPMENT_SECRET_KEY", "DEMO_PASSWORD"}
_TOKEN_FORMATS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "API secret key": re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
}
_ASSIGNED = re.compile(
    r"""\b(?P<name>\w*(?:password|passwd|secret|token|api_?key|private_?key|credentials?)\w*)"""
    r"""["']?\s*(?::[^=\n]*=|[:=])\s*(?:\w+\()?[bf]?"""
    r"""(?P<quote>["'])(?P<value>[^"'\n]{6,})(?P=quote)""",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"://[^/\s:@'\"]+:(?P<value>[^/\s@'\"]+)@")
_PLACEHOLDER = re.compile(
    r"^(\$|<|\{|\*+$|x+$)|example|changeme|change-me|placeholder|dummy|your[-_]|not[-_]for[-_]"
    r"production|redacted|^(pw|p|pass|password|secret|user|\*\*\*)$",
    re.IGNORECASE,
)
_BINARY_SUFFIXES = {".png", ".jpg", ".gz", ".zip", ".xlsx", ".pdf", ".gpkg", ".parquet", ".npz"}


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _real_looking(value: str) -> bool:
    """Long, no spaces, varied characters: a generated key rather than a test phrase."""
    classes = sum(
        bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    return len(value) >= 16 and " " not in value and classes >= 2 and _entropy(value) >= 3.5


def _secrets_in(text: str, *, test_file: bool) -> list[str]:
    found = [
        f"{line}: {kind}"
        for line, content in enumerate(text.splitlines(), 1)
        for kind, pattern in _TOKEN_FORMATS.items()
        if pattern.search(content)
    ]
    for line, content in enumerate(text.splitlines(), 1):
        for match in _ASSIGNED.finditer(content):
            name, value = match.group("name"), match.group("value")
            # Prose with spaces is a message ("Wrong username or password"), not a key.
            if name.upper() in ALLOWED_SECRET_NAMES or _PLACEHOLDER.search(value):
                continue
            if re.search(r"\s", value.strip()):
                continue
            # Tests need passwords; only a generated-looking one could be a real secret.
            if test_file and not _real_looking(value):
                continue
            found.append(f"{line}: {name} assigned a literal")
        for match in _URL_PASSWORD.finditer(content):
            value = match.group("value")
            if not _PLACEHOLDER.search(value) and len(value) > 3:
                found.append(f"{line}: password in a URL")
    return found


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [REPO / name for name in listed if (REPO / name).is_file()]


@pytest.mark.parametrize(
    "bad",
    [
        'API_TOKEN = "q8Zr2LkW9vXp4TbN7sYc"',
        "secret_key: SecretStr = SecretStr('Zx81-4kPq9-Lm2Vt-8wRr')",
        'password = "Winter2025!Police"',
        "url = 'postgresql://crossforce:S3cr3tPassw0rd@db/crossforce'",
        "AWS = 'AKIAIOSFODNN7EXAMPL3'",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_the_secret_scanner_catches_real_looking_secrets(bad: str) -> None:
    assert _secrets_in(bad, test_file=False) != []


def test_the_secret_scanner_allows_documented_and_placeholder_values() -> None:
    good = (
        f'DEVELOPMENT_SECRET_KEY = "{DEVELOPMENT_SECRET_KEY}"\n'
        'DEMO_PASSWORD = "crossforce-demo"\n'
        "export CROSSFORCE_DATABASE_URL='postgresql+psycopg://USER:PASSWORD@HOST:5432/cf'\n"
        "PASSWORD=\"$(python3 -c 'import secrets; print(secrets.token_hex(24))')\"\n"
        "secret_key = get_settings().secret_key\n"
    )
    assert _secrets_in(good, test_file=False) == []
    assert _secrets_in('PASSWORD = "correct horse battery"', test_file=True) == []
    assert _secrets_in('PASSWORD = "q8Zr2LkW9vXp4TbN7sYc"', test_file=True) != []


def test_no_secrets_in_the_repository() -> None:
    problems: dict[str, list[str]] = {}
    files = _repository_files()
    assert len(files) > 100 and REPO / "coordination" / "core" / "settings.py" in files
    for path in files:
        relative = path.relative_to(REPO)
        if relative == Path(__file__).relative_to(REPO) or path.suffix in _BINARY_SUFFIXES:
            continue
        if path.name in (".env", "secrets.toml") or path.name.startswith(".env."):
            problems[str(relative)] = ["a secrets file is in the repository"]
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        found = _secrets_in(text, test_file=relative.parts[0] == "tests")
        if found:
            problems[str(relative)] = found
    assert problems == {}
