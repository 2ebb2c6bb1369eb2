"""assign_case assigns only people who hold cases: offender managers (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from coordination.audit.reader import list_events
from coordination.caseload.assignment import assign_case
from coordination.core.db import session_scope
from coordination.errors import InputError, NotACaseHolderError
from coordination.models import Case, UserCreate
from coordination.security.users import create_user
from tests.factories import CITY, add_case


@pytest.mark.parametrize("role", ["supervisor", "analyst", "admin"])
def test_only_offender_managers_can_be_assigned(engine: Engine, role: str) -> None:
    with session_scope(engine) as s:
        for name, r in (("sam", role), ("olive", "offender_manager")):
            create_user(
                s,
                actor="test",
                data=UserCreate(username=name, display_name=name.title(), force_code=CITY, role=r),  # type: ignore[arg-type]
            )
        case_id = add_case(s, lead=CITY)
    with session_scope(engine) as s, pytest.raises(NotACaseHolderError) as info:
        assign_case(s, actor="system:test", case_id=case_id, username="sam")
    message = str(info.value)
    assert isinstance(info.value, InputError)  # pages and the CLI catch it as bad input
    assert message.startswith("sam is a") and "only offender managers hold cases" in message
    assert "\n" not in message
    with session_scope(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.assigned_user_id is None
        assert list_events(s, action="case.assign") == []
        done = assign_case(s, actor="system:test", case_id=case_id, username="olive")
    assert done.assigned_user_id is not None
