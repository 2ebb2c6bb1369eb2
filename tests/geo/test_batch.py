"""Batch resolution of tables: every row kept, bad rows marked, outputs formula-safe."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.core.tables import neutralise, read_table, write_table
from coordination.errors import InputError
from geo.batch import resolve_table
from geo.lookup import Lookup


@pytest.fixture(scope="module")
def lookup(london_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(london_resolver, directory)


def test_postcode_rows_resolve_and_bad_rows_are_marked(lookup: Lookup) -> None:
    table = pd.DataFrame(
        {
            "ref": ["a", "b", "c", "d", "e"],
            "postcode": ["ec2v7hh", "E8 1DY", "not a postcode", "EC2V 9ZZ", ""],
        }
    )
    result = resolve_table(table, lookup)
    out = result.table.set_index("ref")
    assert out.loc["a", "force_code"] == "E23000034"
    assert out.loc["a", "district_code"] == "E09000001"
    assert out.loc["b", "force_code"] == "E23000001"
    assert out.loc["b", "bcu_code"] == "CE"
    assert out.loc["c", "status"] == "error"
    assert out.loc["c", "error"] == "not a UK postcode"
    assert out.loc["d", "error"] == "postcode not in the postcode directory"
    assert out.loc["e", "status"] == "error"
    assert list(out.columns[:1]) == ["postcode"]  # input columns kept, first
    assert result.summary.rows == 5
    assert result.summary.resolved == 2
    assert result.summary.errors == 3


def test_coordinate_rows_and_progress(lookup: Lookup) -> None:
    table = pd.DataFrame({"lat": ["51.5155", "x", "51.5462"], "lon": ["-0.0919", "0", "-0.0553"]})
    calls: list[tuple[int, int]] = []
    result = resolve_table(table, lookup, progress=lambda done, total: calls.append((done, total)))
    assert list(result.table["force_code"]) == ["E23000034", None, "E23000001"]
    assert list(result.table["status"]) == ["resolved", "error", "resolved"]
    assert calls[0] == (0, 3)
    assert calls[-1] == (3, 3)

    bng = pd.DataFrame({"Easting": ["532494.756"], "Northing": ["181344.949"]})
    assert resolve_table(bng, lookup).table.loc[0, "district_code"] == "E09000001"


def test_outside_london_with_the_default_needs_the_national_pack(lookup: Lookup) -> None:
    # Guildford (Surrey): the London default knows its district from the directory, not its force.
    result = resolve_table(pd.DataFrame({"postcode": ["GU1 4RR"]}), lookup)
    row = result.table.iloc[0]
    assert row["force_code"] is None
    assert row["status"] in {"needs national pack", "outside"}


def test_a_table_without_location_columns_is_refused() -> None:
    with pytest.raises(InputError, match="postcode"):
        read_table(b"name,town\nA,B\n", "people.csv")


def test_read_and_write_round_trip_csv_and_xlsx(lookup: Lookup) -> None:
    table = read_table(b'postcode,note\nEC2V 7HH,=HYPERLINK("x")\n', "in.csv")
    resolved = resolve_table(table, lookup).table
    csv_back = pd.read_csv(io.BytesIO(write_table(resolved, "csv")), dtype=str)
    assert csv_back.loc[0, "force_code"] == "E23000034"
    assert csv_back.loc[0, "note"].startswith("'=")
    book = openpyxl.load_workbook(io.BytesIO(write_table(resolved, "xlsx")))
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    note = sheet.cell(row=2, column=header.index("note") + 1).value
    assert isinstance(note, str) and note.startswith("'=")
    xlsx_back = read_table(write_table(resolved, "xlsx"), "again.xlsx")
    assert xlsx_back.loc[0, "district_code"] == "E09000001"


def test_unreadable_files_get_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"only \.csv and \.xlsx"):
        read_table(b"x", "people.pdf")
    with pytest.raises(InputError, match="could not be read"):
        read_table(b"not a zip", "people.xlsx")
    with pytest.raises(InputError, match="no rows"):
        read_table(b"postcode\n", "empty.csv")


@given(st.text(max_size=30))
def test_no_neutralised_cell_can_start_a_formula(text: str) -> None:
    value = neutralise(text)
    assert isinstance(value, str)
    if value.startswith(("=", "+", "-", "@", "\t", "\r")):
        float(value)  # only plain numbers such as -0.09 keep a leading sign
