"""Batch resolution of tables: every row kept, bad rows marked, outputs formula-safe."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
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
    assert out.loc["c", "status"] == "not resolved"
    assert out.loc["c", "reason"] == "not a UK postcode"
    assert out.loc["d", "reason"] == "postcode not in the postcode directory"
    assert out.loc["e", "status"] == "not resolved"
    assert out.loc["e", "reason"] == "postcode missing"
    assert out.loc["a", "reason"] is None
    assert list(out.columns[:1]) == ["postcode"]  # input columns kept, first
    assert result.summary.rows == 5
    assert result.summary.resolved == 2
    assert result.summary.not_resolved == 3


def test_coordinate_rows_and_progress(lookup: Lookup) -> None:
    table = pd.DataFrame({"lat": ["51.5155", "x", "51.5462"], "lon": ["-0.0919", "0", "-0.0553"]})
    calls: list[tuple[int, int]] = []
    result = resolve_table(table, lookup, progress=lambda done, total: calls.append((done, total)))
    assert list(result.table["force_code"]) == ["E23000034", None, "E23000001"]
    assert list(result.table["status"]) == ["resolved", "not resolved", "resolved"]
    assert calls[0] == (0, 3)
    assert calls[-1] == (3, 3)

    bng = pd.DataFrame({"Easting": ["532494.756"], "Northing": ["181344.949"]})
    assert resolve_table(bng, lookup).table.loc[0, "district_code"] == "E09000001"


def test_outside_london_with_the_default_the_district_gives_the_force(lookup: Lookup) -> None:
    # Guildford (Surrey): the London default has no line there; the district gives the force.
    result = resolve_table(pd.DataFrame({"postcode": ["GU1 4RR"]}), lookup)
    row = result.table.iloc[0]
    assert (row["force_code"], row["force_name"]) == ("E23000031", "Surrey Police")
    assert (row["district_code"], row["district_name"]) == ("E07000209", "Guildford")
    assert row["method"] == "by district"
    assert row["status"] == "resolved"
    assert row["distance_to_boundary_m"] is None


def test_coordinates_outside_london_with_the_default_need_the_national_pack(
    lookup: Lookup,
) -> None:
    result = resolve_table(pd.DataFrame({"lat": ["53.4794"], "lon": ["-2.2453"]}), lookup)
    row = result.table.iloc[0]
    assert row["force_code"] is None
    assert row["status"] == "not resolved"
    assert row["reason"] == "outside the boundary set: needs the national pack"
    assert result.summary.reasons == {"outside the boundary set: needs the national pack": 1}


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


# -- every row kept, one set of counts ----------------------------------------------------------

SEVEN_ROWS = b"\n".join(
    [
        b"ref,postcode",
        b"1,EC2V 7HH",
        b"2,E8 1DY",
        b"3,M1 1AE",
        b",",  # the blank row, as a spreadsheet exports it
        b"5,G1 1XQ",
        b"6,NOT A POSTCODE",
        b"7,EC2V 9ZZ",
        b"",
    ]
)


@pytest.fixture(scope="module")
def national(national_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(national_resolver, directory)


@pytest.mark.parametrize("which", ["london", "national"])
def test_seven_rows_with_a_blank_one_are_all_kept_and_counted(
    which: str, lookup: Lookup, national: Lookup
) -> None:
    table = read_table(SEVEN_ROWS, "seven.csv")
    assert len(table) == 7
    calls: list[tuple[int, int]] = []
    result = resolve_table(
        table, national if which == "national" else lookup, progress=lambda *a: calls.append(a)
    )
    out = result.table
    assert len(out) == 7
    assert list(out["ref"]) == ["1", "2", "3", "", "5", "6", "7"]  # in order, blank one kept
    assert list(out["status"]) == [
        "resolved",
        "resolved",
        "resolved",
        "not resolved",
        "resolved",
        "not resolved",
        "not resolved",
    ]
    assert list(out["reason"]) == [
        None,
        None,
        None,
        "empty row",
        None,
        "not a UK postcode",
        "postcode not in the postcode directory",
    ]
    assert list(out["district_name"][:3]) == ["City of London", "Hackney", "Manchester"]
    assert out.loc[4, "district_name"] == "Glasgow City"
    assert out.loc[4, "force_name"] == "Police Scotland"
    assert out.loc[2, "force_name"] == "Greater Manchester Police"
    assert out.loc[1, "bcu_name"] == "Central East"
    summary = result.summary
    assert (summary.rows, summary.resolved, summary.not_resolved) == (7, 4, 3)
    assert summary.rows == summary.resolved + summary.not_resolved
    assert sum(summary.reasons.values()) == summary.not_resolved
    assert summary.reasons == {
        "empty row": 1,
        "not a UK postcode": 1,
        "postcode not in the postcode directory": 1,
    }
    assert str(summary).startswith("7 rows: 4 resolved, 3 not resolved (")
    assert calls[0] == (0, 7) and calls[-1] == (7, 7)
    assert result.input_columns == ("ref", "postcode")


def test_a_blank_row_in_any_kind_of_table_is_an_empty_row(lookup: Lookup) -> None:
    bng = pd.DataFrame({"easting": ["532494.756", " ", "x"], "northing": ["181344.949", "", "1"]})
    out = resolve_table(bng, lookup).table
    assert list(out["reason"]) == [None, "empty row", "easting/northing missing or not a number"]
    latlon = pd.DataFrame({"lat": ["", "51.5155"], "lon": [None, "-0.0919"]})
    out = resolve_table(latlon, lookup).table
    assert list(out["reason"]) == ["empty row", None]


@settings(deadline=None, max_examples=30)  # each example resolves against the real directory
@given(
    st.lists(
        st.sampled_from(["EC2V 7HH", "E8 1DY", "M1 1AE", "G1 1XQ", "", "nonsense", "EC2V 9ZZ"]),
        min_size=1,
        max_size=12,
    )
)
def test_the_counts_always_add_up(lookup: Lookup, postcodes: list[str]) -> None:
    table = pd.DataFrame({"postcode": postcodes})
    result = resolve_table(table, lookup)
    summary = result.summary
    assert len(result.table) == summary.rows == len(postcodes)
    assert summary.rows == summary.resolved + summary.not_resolved
    assert sum(summary.reasons.values()) == summary.not_resolved
    assert (result.table["status"] == "resolved").sum() == summary.resolved
    assert result.table["reason"].isna().sum() == summary.resolved
