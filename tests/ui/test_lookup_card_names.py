"""The lookup card names every district and says why a ward or BCU is missing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import apptest
from ui.components.lookup_card import QUERY_KEY


def _card(query: str) -> list[str]:
    at: Any = apptest.page("boundary_lookup")
    at.text_input(key=QUERY_KEY).set_value(query).run()
    apptest.ok(at)
    return [apptest.as_read(m.value) for m in at.markdown]


@pytest.mark.parametrize(
    ("query", "district"),
    [("M1 1AE", "Manchester `E08000003`"), ("G1 1XQ", "Glasgow City `S12000049`")],
)
def test_the_district_line_is_a_name_beside_its_code(
    app_env: dict[str, str], query: str, district: str
) -> None:
    shown = _card(query)
    assert f"**District**  \n{district}" in shown
    code = district.split("`")[1]
    assert not any(f"{code}` `{code}" in m or f"{code} {code}" in m for m in shown)


def test_a_missing_ward_and_bcu_say_why(app_env: dict[str, str]) -> None:
    shown = _card("M1 1AE")
    assert "**Ward**  \n— (no ward: wards are loaded for London only)" in shown
    assert "**Met BCU**  \n— (not in the Met)" in shown
    glasgow = _card("G1 1XQ")
    assert "**Ward**  \n— (no ward: outside England and Wales, wards are not loaded)" in glasgow
