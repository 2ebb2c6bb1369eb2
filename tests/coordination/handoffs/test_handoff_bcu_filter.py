"""list_handoffs narrows to a sending Met BCU (the managing team's) and a receiving one."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from coordination.core.db import session_scope
from coordination.handoffs.workflow import create_handoff, list_handoffs
from coordination.models import UserCreate
from coordination.security.users import create_user
from tests.factories import CITY, MET, add_case


def test_list_handoffs_filters_by_sending_and_receiving_bcu(engine: Engine) -> None:
    with session_scope(engine) as s:
        for name, bcu in (("ce.om", "CE"), ("cn.om", "CN")):
            create_user(
                s,
                actor="test",
                data=UserCreate(
                    username=name,
                    display_name=name,
                    force_code=MET,
                    role="offender_manager",
                    bcu_code=bcu,
                ),
            )
        from_ce = add_case(s, lead=MET, manager="ce.om")
        from_cn = add_case(s, lead=MET, manager="cn.om")
        unmanaged = add_case(s, lead=MET)
        to_ce = add_case(s, lead=CITY)
        made = {}
        targets: list[tuple[int, str, str | None]] = [
            (from_ce, CITY, None),
            (from_cn, CITY, None),
            (unmanaged, CITY, None),
            (to_ce, MET, "CE"),
        ]
        for case_id, to, to_bcu in targets:
            made[case_id] = create_handoff(
                s,
                actor="system:test",
                case_id=case_id,
                to_force_code=to,
                to_bcu_code=to_bcu,
                reason="moved",
            ).id

    def ids(**filters: str) -> set[int]:
        with session_scope(engine) as s:
            return {v.id for v in list_handoffs(s, actor="system:test", **filters)}  # type: ignore[arg-type]

    assert ids(from_bcu="CE") == {made[from_ce]}
    assert ids(from_bcu=" cn ") == {made[from_cn]}  # as typed: case and spaces do not matter
    assert ids(to_bcu="CE") == {made[to_ce]}
    assert ids(from_bcu="CE", to_bcu="CE") == set()  # both given, both must match
    assert ids(from_bcu="CE", force_code=MET, direction="outgoing") == {made[from_ce]}
    with session_scope(engine) as s:
        views = {v.id: v for v in list_handoffs(s, actor="system:test")}
    assert views[made[from_ce]].from_bcu_code == "CE"
    assert views[made[unmanaged]].from_bcu_code is None  # nobody manages it: no sending team
    assert views[made[to_ce]].from_bcu_code is None  # the City sends it: no Met BCU


def test_the_cli_lists_by_sending_bcu(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    with session_scope(engine) as s:
        create_user(
            s,
            actor="test",
            data=UserCreate(
                username="ce.om",
                display_name="ce.om",
                force_code=MET,
                role="offender_manager",
                bcu_code="CE",
            ),
        )
        sent = create_handoff(
            s,
            actor="system:test",
            case_id=add_case(s, lead=MET, manager="ce.om"),
            to_force_code=CITY,
            reason="moved",
        ).id
        create_handoff(
            s, actor="system:test", case_id=add_case(s, lead=MET), to_force_code=CITY, reason="x"
        )
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    try:
        capsys.readouterr()
        assert main(["--as", "system:test", "handoffs", "list", "--from-bcu", "CE", "--json"]) == 0
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL")
        reset_settings_cache()
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [sent]
    assert listed[0]["from_bcu_code"] == "CE"
