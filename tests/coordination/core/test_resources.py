"""Resources are bounded: hostile uploads and special files are refused in well under a second.

A small XLSX that unpacks to hundreds of megabytes, a CSV with half a million columns, a FIFO, a
device and a huge sparse file are each refused by their size or shape before anything is parsed.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from coordination.cli.main import main
from coordination.core.console import read_input
from coordination.core.tables import MAX_COLUMNS, read_upload
from coordination.errors import InputError


def _quickly_refused(call: object, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match=match):
        call()  # type: ignore[operator]
    assert time.perf_counter() - started < 1.0


def _xlsx_bomb(unpacked_mb: int) -> bytes:
    """A real workbook whose sheet is mostly one compressible run: megabytes that zip to KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b"<row/>" * (1024 * 1024 // 6)
            for _ in range(unpacked_mb):
                sheet.write(chunk)
    return buffer.getvalue()


def test_an_xlsx_that_unpacks_far_beyond_its_size_is_refused() -> None:
    bomb = _xlsx_bomb(150)
    assert len(bomb) < 2 * 1024 * 1024
    _quickly_refused(lambda: read_upload(bomb, "bomb.xlsx"), "unpacks too large")


def test_a_csv_with_half_a_million_columns_is_refused() -> None:
    wide = ("postcode," + ",".join("c" for _ in range(500_000)) + "\n").encode()
    _quickly_refused(lambda: read_upload(wide, "wide.csv"), f"at most {MAX_COLUMNS} are accepted")


def test_a_csv_with_too_many_rows_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import coordination.core.tables as tables

    monkeypatch.setattr(tables, "MAX_ROWS", 1000)
    tall = ("postcode\n" + "EC2V 7HH\n" * 5000).encode()
    _quickly_refused(lambda: read_upload(tall, "tall.csv"), "at most 1,000 are accepted")


def test_special_files_and_huge_files_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    _quickly_refused(lambda: read_input(fifo, max_bytes=1024), "not a regular file")
    _quickly_refused(lambda: read_input(Path("/dev/zero"), max_bytes=1024), "not a regular file")
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(30 * 1024**3)  # 30 GB of nothing, on no disk
    _quickly_refused(lambda: read_input(sparse, max_bytes=20 * 1024**2), "are refused")


def test_the_cli_refuses_a_fifo_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    started = time.perf_counter()
    assert main(["resolve", str(fifo), str(tmp_path / "out.csv")]) == 2
    assert time.perf_counter() - started < 1.0
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"crossforce: {fifo} is not a regular file"]


def test_a_write_blocked_by_another_writer_says_try_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from coordination.core.db import dispose_engines, get_engine, upgrade
    from coordination.core.settings import get_settings, reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("CROSSFORCE_DB_BUSY_TIMEOUT_S", "0.5")
    reset_settings_cache()
    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    from coordination.core.db import session_scope
    from coordination.reference.boundaries import seed_forces

    with session_scope(engine) as session:
        seed_forces(session, actor="system:init")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    holder = sqlite3.connect(tmp_path / "crossforce.db")
    holder.execute("BEGIN IMMEDIATE")  # someone else's long write holds the lock
    try:
        argv = ["--as", "system:test", "users", "add", "sam", "--force", "E23000034"]
        code = main([*argv, "--role", "admin", "--password-stdin"])
    finally:
        holder.rollback()
        holder.close()
        dispose_engines()
        reset_settings_cache()
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "crossforce: The database is busy saving another change: try again in a moment"
    ]


def test_database_errors_never_carry_the_values_bound_into_them(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from coordination.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (name TEXT NOT NULL UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": "Zed Quorn"})
    with pytest.raises(sa.exc.IntegrityError) as failed, engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": "Zed Quorn"})
    assert "Zed Quorn" not in str(failed.value)
