"""A meeting reaches the first ``agenda_size`` items; the rest stay listed as not reached.

Grouping and filters are pure functions of the agenda views, shared by the page and the pack,
so both agree on what the meeting reached. The command line names the attendee who agreed a
transfer with ``review decide --agreed-by``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from coordination.core.db import session_scope
from coordination.core.settings import Settings, reset_settings_cache
from coordination.handoffs.workflow import get_handoff
from coordination.models import Meeting
from coordination.review.agenda import add_item
from coordination.review.common import REASON_CODES
from coordination.review.sections import (
    NO_BCU,
    filter_agenda,
    group_by_reason,
    main_reason,
    reason_heading,
    split_agenda,
)
from tests.factories import SYSTEM, build_world


@dataclass
class Item:
    """The fields of an agenda view the sections read."""

    position: int
    reason_codes: tuple[str, ...]
    residence_bcu_code: str | None = None


def _agenda(n: int) -> list[Item]:
    return [Item(p, (REASON_CODES[p % len(REASON_CODES)],)) for p in range(1, n + 1)]


def test_the_default_meeting_reaches_forty_items() -> None:
    assert Settings().agenda_size == 40
    parts = split_agenda(_agenda(308), size=40)
    assert [i.position for i in parts.reached] == list(range(1, 41))
    assert [i.position for i in parts.not_reached] == list(range(41, 309))


@given(n=st.integers(0, 120), size=st.integers(1, 60))
def test_every_item_is_reached_or_not_reached_exactly_once(n: int, size: int) -> None:
    items = _agenda(n)[::-1]  # in any order: the split follows positions
    parts = split_agenda(items, size=size)
    assert len(parts.reached) == min(n, size)
    seen = [i.position for i in (*parts.reached, *parts.not_reached)]
    assert seen == list(range(1, n + 1))


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        split_agenda([], size=0)


def test_groups_follow_reason_order_and_an_item_sits_under_its_first_reason() -> None:
    items = [
        Item(1, ("review_due",)),
        Item(2, ("high_risk_joint", "handoff_overdue")),
        Item(3, ("near_boundary",)),
        Item(4, ("review_due", "near_boundary")),
        Item(5, ()),
    ]
    assert main_reason(items[1]) == "handoff_overdue"
    groups = [(code, [i.position for i in group]) for code, group in group_by_reason(items)]
    assert groups == [
        ("handoff_overdue", [2]),
        ("near_boundary", [3, 4]),
        ("review_due", [1]),
        ("other", [5]),
    ]
    assert reason_heading("handoff_overdue") == "Handoffs past their deadline"
    assert all(reason_heading(code) != code for code in REASON_CODES)


def test_filters_by_bcu_and_by_any_reason() -> None:
    items = [
        Item(1, ("review_due",), "E1"),
        Item(2, ("near_boundary", "review_due"), "E2"),
        Item(3, ("near_boundary",), None),
    ]
    assert [i.position for i in filter_agenda(items)] == [1, 2, 3]
    assert [i.position for i in filter_agenda(items, bcus={"E2"})] == [2]
    assert [i.position for i in filter_agenda(items, bcus={NO_BCU})] == [3]
    assert [i.position for i in filter_agenda(items, reasons={"near_boundary"})] == [2, 3]
    assert filter_agenda(items, bcus={"E1"}, reasons={"near_boundary"}) == []


def test_the_cli_records_a_transfer_agreed_by_the_met_attendee(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from coordination.cli.main import main

    w = build_world(engine)
    with session_scope(engine) as s:
        meeting = s.get(Meeting, w.joint_meeting)
        assert meeting is not None
        meeting.attendees = ["Chair", "DS Morgan Example (Met)"]
        s.add(meeting)
        item = add_item(
            s, actor=SYSTEM, meeting_id=w.joint_meeting, case_id=w.handed, reason="moved"
        )
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()
    try:
        capsys.readouterr()
        code = main(
            [
                "--as",
                "city.sup",
                "review",
                "decide",
                str(item.id),
                "transfer",
                "--target",
                "E23000001",
                "--agreed-by",
                "DS Morgan Example (Met)",
            ]
        )
        out, err = capsys.readouterr()
    finally:
        reset_settings_cache()
    assert (code, err) == (0, "")
    assert f"Handoff {w.handoff} is accepted." in out
    with session_scope(engine) as s:
        assert get_handoff(s, w.handoff, actor="met.sup").state == "accepted"


def test_an_item_decided_on_is_reached_wherever_it_sits() -> None:
    items = _agenda(5)
    parts = split_agenda(items, size=2, decided=lambda i: i.position == 4)
    assert [i.position for i in parts.reached] == [1, 2, 4]
    assert [i.position for i in parts.not_reached] == [3, 5]
