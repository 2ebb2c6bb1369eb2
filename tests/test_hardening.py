"""Hardening, scanned across the sources: no names logged, bound SQL only, no secrets.

Three source scans: logging calls that pass names (in ``coordination/``, ``geo/``, ``ui/`` and
``app.py``), string-built SQL in ``coordination/`` and ``geo/``, and real-looking secrets anywhere
in the repository. Each scanner is also run on a planted bad example, so a scanner that silently
finds nothing fails too. What the log redaction and the upload checks do is tested beside their
modules, in ``tests/coordination/core/test_logs.py`` and ``test_tables.py``.
"""

from __future__ import annotations

import ast
import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from coordination.core.settings import DEVELOPMENT_SECRET_KEY
from tests.support import REPO

# -- no names in log calls -----------------------------------------------------------------------

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
ALLOWED_SECRET_NAMES = {"DEVELOPMENT_SECRET_KEY", "DEVELOPMENT_AUDIT_KEY", "DEMO_PASSWORD"}
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


def test_streamlit_magic_is_off_and_no_page_needs_it() -> None:
    """Magic re-parses pages on server threads (a CPython 3.11 ``ast`` race); nothing uses it.

    With magic off, a bare expression on a page would silently show nothing: there is none.
    """
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["magicEnabled"] is False
    bare = []
    for path in [REPO / "app.py", *sorted((REPO / "ui" / "pages").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call):
                continue
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                continue  # a docstring: magic would not show it either
            bare.append(f"{path.name}:{node.lineno}")
    assert bare == []
