"""The Batch tab of Boundary lookup: every row kept, one set of counts, a readable preview."""

from __future__ import annotations

import io

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.support import apptest
from ui.components import batch

# Seven rows, one of them blank, as a spreadsheet exports them: the blank row is kept.
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


def _upload(content: bytes, name: str = "seven.csv") -> AppTest:
    at = apptest.page("boundary_lookup")
    at.file_uploader(key=batch.UPLOAD_KEY).upload(name, content, "text/csv").run()
    apptest.ok(at)
    return at


def test_seven_rows_with_a_blank_one_give_one_consistent_set_of_counts(
    app_env: dict[str, str],
) -> None:
    at = _upload(SEVEN_ROWS)
    counts = {m.label: m.value for m in apptest.widget(at, "batch_counts").metric}
    assert counts["Rows read"] == "7"
    assert counts["Resolved"] == "4"
    assert counts["Not resolved"] == "3"
    assert int(counts["Resolved"]) + int(counts["Not resolved"]) == int(counts["Rows read"])
    assert any("7 read = 4 resolved + 3 not resolved" in c.value for c in at.caption)
    assert any(w.value.startswith("3 of 7 rows did not resolve") for w in at.warning)

    reasons = apptest.table(at, "Reason not resolved", "Rows")
    assert dict(zip(reasons["Reason not resolved"], reasons["Rows"], strict=True)) == {
        "empty row": 1,
        "not a UK postcode": 1,
        "postcode not in the postcode directory": 1,
    }
    assert reasons["Rows"].sum() == 3


def test_the_preview_has_human_headers_and_blank_cells(app_env: dict[str, str]) -> None:
    at = _upload(SEVEN_ROWS)
    preview = apptest.table(at, "Force", "District", "Met BCU", "Reason not resolved")
    assert list(preview.columns[:2]) == ["ref", "postcode"]
    assert list(preview.columns[2:]) == list(batch.PREVIEW_HEADERS)
    assert not any(c in preview.columns for c in ("force_code", "district_name", "status"))
    assert list(preview["ref"]) == ["1", "2", "3", "", "5", "6", "7"]  # every row, in order
    cells = preview.to_numpy().ravel().tolist()
    assert "None" not in cells and "nan" not in cells and None not in cells
    by_ref = preview.set_index("ref")
    assert by_ref.loc["3", "District"] == "Manchester"
    assert by_ref.loc["3", "District code"] == "E08000003"
    assert by_ref.loc["3", "Force"] == "Greater Manchester Police"
    assert by_ref.loc["5", "District"] == "Glasgow City"
    assert by_ref.loc["5", "Force"] == "Police Scotland"
    assert by_ref.loc["2", "Met BCU"] == "Central East (CE)"
    assert by_ref.loc["", "Reason not resolved"] == "empty row"
    assert by_ref.loc["", "Force"] == ""
    assert by_ref.loc["1", "Reason not resolved"] == ""


def test_the_download_keeps_every_row_and_the_machine_names(app_env: dict[str, str]) -> None:
    at = _upload(SEVEN_ROWS)
    stored = at.session_state[batch.BATCH_KEY]
    back = pd.read_csv(io.BytesIO(stored["download"]), dtype=str, keep_default_na=False)
    assert len(back) == 7
    assert {"force_code", "force_name", "district_name", "status", "reason"} <= set(back.columns)
    assert list(back["reason"]) == [
        "",
        "",
        "",
        "empty row",
        "",
        "not a UK postcode",
        "postcode not in the postcode directory",
    ]
    assert back.loc[2, "district_name"] == "Manchester"


def test_progress_counts_rows_looked_up() -> None:
    class Bar:
        def __init__(self) -> None:
            self.calls: list[tuple[int, str]] = []

        def progress(self, percent: int, text: str) -> None:
            self.calls.append((percent, text))

    bar = Bar()
    progress = batch.progress_callback(bar)
    for done in (0, 0, 4, 7):
        progress(done, 7)
    assert [p for p, _ in bar.calls] == [0, 57, 100]  # only when the percentage changes
    assert bar.calls[-1][1] == "Looking up rows: 7 of 7 done"
