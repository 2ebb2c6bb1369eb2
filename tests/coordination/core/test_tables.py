"""Uploads (coordination.core.tables): one size limit everywhere; wrong, hostile files refused."""

from __future__ import annotations

import io
import tomllib
import zipfile

import openpyxl
import pytest

from coordination.core.settings import Settings
from coordination.core.tables import MAX_UPLOAD_BYTES, read_table, read_upload
from coordination.errors import InputError
from tests.support import REPO


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


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"postcode\nEC2V 7HH\n\nE8 1DY\n\n\n", "one-column.csv"),
        (b"ref,postcode\n1,EC2V 7HH\n,\n3,E8 1DY\n,\n", "two-columns.csv"),
        (_xlsx([["postcode"], ["EC2V 7HH"], [""], ["E8 1DY"], [""], [""]]), "sheet.xlsx"),
    ],
)
def test_a_blank_row_inside_the_table_is_kept_and_trailing_ones_are_not(
    data: bytes, name: str
) -> None:
    table = read_upload(data, name)
    assert list(table["postcode"]) == ["EC2V 7HH", "", "E8 1DY"]
    assert not table.isna().any().any()
