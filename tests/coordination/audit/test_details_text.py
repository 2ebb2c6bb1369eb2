"""An audit event's details in words: what the audit page shows in its details column."""

from __future__ import annotations

from coordination.audit.reader import details_text


def test_details_read_as_labelled_pairs() -> None:
    text = details_text(
        {
            "meeting_id": 4,
            "from_status": "open",
            "to_status": "done",
            "offence_category": "burglary_domestic",
            "approximate": True,
            "note": None,
        }
    )
    assert text == (
        "meeting: 4; from: Open; to: Done; offence: Burglary (domestic); approximate: yes; "
        "note: none"
    )


def test_force_codes_read_as_names_and_unknown_keys_as_words() -> None:
    forces = {"E23000034": "City of London Police"}
    assert details_text({"to_force_code": "E23000034", "near_boundary_m": 250}, forces) == (
        "to force: City of London Police; near a boundary (m): 250"
    )
    assert details_text({"some_new_key": "kept as written"}) == "some new key: kept as written"
    # A code with no name (a force removed since) stays as the code, not guessed.
    assert details_text({"force_code": "E23000099"}, forces) == "force: E23000099"


def test_long_lists_and_lines_are_cut_and_empty_is_empty() -> None:
    assert details_text(None) == "" and details_text({}) == ""
    assert details_text({"case_ids": list(range(1, 21))}) == (
        "cases: 1, 2, 3, 4, 5, 6, 7, 8 … (20 in all)"
    )
    long = details_text({"note": "word " * 200})
    assert len(long) == 400 and long.endswith("…")
    assert details_text({"filters": {}}) == "filters: nothing"
