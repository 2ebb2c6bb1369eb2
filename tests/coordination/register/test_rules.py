"""The responsibility rule table: defaults from the file, seeding, and decisions with explanations.

``decide`` is pure, so most cases are a table of inline facts; seeding and loading run on SQLite
and PostgreSQL (``database_url`` fixture).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from coordination.audit.reader import list_events
from coordination.core.db import session_scope
from coordination.core.serial import jsonable
from coordination.errors import ReferenceDataError
from coordination.models import AddressPublic, ResponsibilityRule
from coordination.register.rules import (
    Decision,
    ResidenceContext,
    Rule,
    decide,
    default_rules,
    format_distance,
    load_rules,
    seed_rules,
)
from geo.forces import force_name

CITY, MET, SURREY = "E23000034", "E23000001", "E23000031"
RULES = default_rules()


def address(state: str = "residence", **fields: Any) -> AddressPublic:
    """A stored address as the register would return it (resolution given inline)."""
    base: dict[str, Any] = {
        "id": 1,
        "offender_id": 1,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "created_by": "tester",
        "valid_from": date(2024, 1, 1),
        "state": state,
        "method": "polygon" if state == "residence" else None,
        "boundary_set": "tiny" if state == "residence" else None,
    }
    return AddressPublic(**{**base, **fields})


HACKNEY = address(
    postcode="E8 1DY",
    force_code=MET,
    district_code="E09000012",
    bcu_code="CE",
    distance_to_boundary_m=1432.0,
)
CITY_HOME = address(
    postcode="EC2V 7HH", force_code=CITY, district_code="E09000001", distance_to_boundary_m=492.0
)
CITY_EDGE = address(force_code=CITY, district_code="E09000001", distance_to_boundary_m=40.0)
OUTSIDE = address(postcode="GU15 3SY", district_code="E07000214", method="directory")
NFA = address("no_fixed_abode")
UNKNOWN = address("unknown")


def with_rule(name: str, **changes: Any) -> list[Rule]:
    """The default rules with one rule changed (e.g. switched off)."""
    return [dataclasses.replace(r, **changes) if r.name == name else r for r in RULES]


def run(
    residence: AddressPublic | None,
    *,
    rules: list[Rule] = RULES,
    offence: str = "burglary_domestic",
    lead: str | None = CITY,
    near_m: float = 100.0,
    context: ResidenceContext | None = None,
) -> Decision:
    return decide(
        rules=rules,
        residence=residence,
        programme="iom_fixed",
        offence_category=offence,
        current_lead=lead,
        near_boundary_m=near_m,
        context=context,
    )


# -- the table ---------------------------------------------------------------------------------


def test_default_file_holds_the_four_rules_in_priority_order() -> None:
    assert [r.name for r in RULES] == [
        "economic_crime",
        "no_fixed_abode_or_unknown",
        "residence",
        "near_boundary",
    ]
    assert all(r.enabled and r.description for r in RULES)
    economic = RULES[0]
    assert economic.params["force_code"] == CITY
    assert economic.params["offence_categories"] == ["fraud_and_forgery"]
    assert RULES[-1].is_flag and not RULES[0].is_flag


def test_a_broken_or_unknown_rule_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "astrology"\npriority = 1\n\n[[rule]]\npriority = 2\n')
    with pytest.raises(ReferenceDataError) as info:
        default_rules(bad)
    assert len(info.value.problems) == 2
    bad.write_text("[[rule]\n")
    with pytest.raises(ReferenceDataError, match="Cannot read"):
        default_rules(bad)


def test_seed_is_idempotent_audited_and_keeps_admin_edits(empty_engine: Engine) -> None:
    with session_scope(empty_engine) as session:
        assert load_rules(session) == RULES  # an unseeded table answers with the defaults
        assert seed_rules(session, actor="init") == 4
    with session_scope(empty_engine) as session:
        row = session.exec(
            select(ResponsibilityRule).where(ResponsibilityRule.name == "economic_crime")
        ).one()
        row.enabled = False
        session.add(row)
    with session_scope(empty_engine) as session:
        assert seed_rules(session, actor="init") == 0
        rules = load_rules(session)
        events = list_events(session, action="responsibility_rule.seed")
    assert [r.name for r in rules] == [r.name for r in RULES]
    assert not next(r for r in rules if r.name == "economic_crime").enabled
    assert len(events) == 1
    assert events[0].actor == "init"
    assert events[0].details == {"inserted": [r.name for r in RULES]}


def test_load_refuses_a_rule_the_code_does_not_know(empty_engine: Engine) -> None:
    with session_scope(empty_engine) as session:
        session.add(ResponsibilityRule(name="coin_toss", priority=1))
    with session_scope(empty_engine) as session, pytest.raises(ReferenceDataError):
        load_rules(session)


# -- decisions ---------------------------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], str, str, list[str]]] = [
    # (id, run kwargs, force, rule, flags)
    ("residence_met", {"residence": HACKNEY}, MET, "residence", []),
    ("residence_city", {"residence": CITY_HOME}, CITY, "residence", []),
    ("residence_new_case", {"residence": HACKNEY, "lead": None}, MET, "residence", []),
    ("residence_wins_over_met_lead", {"residence": CITY_HOME, "lead": MET}, CITY, "residence", []),
    ("fraud_stays_city", {"residence": HACKNEY, "offence": "fraud_and_forgery"}, CITY,
     "economic_crime", []),
    ("fraud_new_case_city", {"residence": HACKNEY, "offence": "fraud_and_forgery", "lead": None},
     CITY, "economic_crime", []),
    ("fraud_rule_off", {"residence": HACKNEY, "offence": "fraud_and_forgery",
                        "rules": with_rule("economic_crime", enabled=False)}, MET, "residence", []),
    ("fraud_led_by_met_not_pulled", {"residence": HACKNEY, "offence": "fraud_and_forgery",
                                     "lead": MET}, MET, "residence", []),
    ("fraud_categories_param", {"residence": HACKNEY, "offence": "robbery",
                                "rules": with_rule("economic_crime", params={
                                    "force_code": CITY, "offence_categories": ["robbery"]})},
     CITY, "economic_crime", []),
    ("nfa_keeps_lead", {"residence": NFA, "lead": MET}, MET, "no_fixed_abode_or_unknown",
     ["address_unknown"]),
    ("unknown_keeps_lead", {"residence": UNKNOWN}, CITY, "no_fixed_abode_or_unknown",
     ["address_unknown"]),
    ("no_address_at_all", {"residence": None, "lead": MET}, MET, "no_fixed_abode_or_unknown",
     ["address_unknown"]),
    ("nfa_new_case_fallback", {"residence": NFA, "lead": None}, CITY,
     "no_fixed_abode_or_unknown", ["address_unknown"]),
    ("nfa_fraud_still_city_and_flagged", {"residence": NFA, "offence": "fraud_and_forgery"},
     CITY, "economic_crime", ["address_unknown"]),
    ("nfa_rule_off_falls_back", {"residence": NFA, "lead": MET,
                                 "rules": with_rule("no_fixed_abode_or_unknown", enabled=False)},
     MET, "fallback", ["address_unknown"]),
    ("near_boundary_flag", {"residence": CITY_EDGE}, CITY, "residence", ["verify_address"]),
    ("near_boundary_distance_param", {"residence": CITY_HOME, "near_m": 500.0}, CITY,
     "residence", ["verify_address"]),
    ("near_boundary_rule_off", {"residence": CITY_EDGE,
                                "rules": with_rule("near_boundary", enabled=False)},
     CITY, "residence", []),
    ("force_unknown_keeps_lead", {"residence": OUTSIDE, "lead": MET}, MET, "residence",
     ["force_unknown"]),
    ("force_unknown_new_case", {"residence": OUTSIDE, "lead": None}, CITY, "residence",
     ["force_unknown"]),
    ("residence_rule_off", {"residence": HACKNEY, "rules": with_rule("residence", enabled=False)},
     CITY, "fallback", []),
    ("priority_reordered", {"residence": HACKNEY, "offence": "fraud_and_forgery",
                            "rules": with_rule("economic_crime", priority=99)},
     MET, "residence", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "force", "rule", "flags"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decide(kwargs: dict[str, Any], force: str, rule: str, flags: list[str]) -> None:
    decision = run(**kwargs)
    assert (decision.force_code, decision.rule, decision.flags) == (force, rule, flags)
    assert decision.explanation.endswith(f"; rule: {rule}")
    assert "\n" not in decision.explanation


def test_explanation_reads_like_the_issue() -> None:
    decision = run(HACKNEY, context=ResidenceContext(nearest_other_force_code=CITY))
    assert decision.explanation == (
        "Metropolitan Police Service: lives in Hackney (E09000012), Central East BCU, 1.4 km "
        "from the City boundary; rule: residence"
    )
    city = run(CITY_HOME, context=ResidenceContext(nearest_other_force_code=MET))
    assert city.explanation == (
        "City of London Police: lives in City of London (E09000001), 492 m from the Met "
        "boundary; rule: residence"
    )
    # Without the force across the line the sentence still reads.
    assert "1.4 km from the nearest force boundary" in run(HACKNEY).explanation


def test_other_explanations() -> None:
    fraud = run(HACKNEY, offence="fraud_and_forgery").explanation
    assert fraud.startswith("City of London Police: fraud and forgery case stays with the City")
    assert "lives in Hackney (E09000012)" in fraud
    assert run(NFA, lead=MET).explanation == (
        "Metropolitan Police Service: no fixed abode; the current lead keeps the case; "
        "rule: no_fixed_abode_or_unknown"
    )
    assert "address unknown" in run(UNKNOWN).explanation
    assert "new case with no lead goes to City of London Police" in run(NFA, lead=None).explanation
    outside = run(OUTSIDE, lead=MET, context=ResidenceContext(district_name="Surrey Heath"))
    assert outside.explanation == (
        "Metropolitan Police Service: lives in Surrey Heath (E07000214), where the active "
        "boundary set knows no force; the current lead keeps the case; rule: residence"
    )
    surrey = address(force_code=SURREY, district_code="E07000214", distance_to_boundary_m=2500.0)
    assert run(surrey, context=ResidenceContext(nearest_other_force_code=MET)).explanation == (
        "Surrey Police: lives in Surrey Heath (E07000214), 2.5 km from the Met boundary; "
        "rule: residence"
    )


def test_decision_to_dict() -> None:
    data = jsonable(run(CITY_EDGE))
    assert data["force_name"] == "City of London Police"
    assert data["flags"] == ["verify_address"]


@pytest.mark.parametrize(
    ("metres", "text"),
    [(0.0, "0 m"), (40.4, "40 m"), (999.4, "999 m"), (1000.0, "1.0 km"), (1432.0, "1.4 km")],
)
def test_format_distance(metres: float, text: str) -> None:
    assert format_distance(metres) == text


@given(
    state=st.sampled_from(["residence", "no_fixed_abode", "unknown"]),
    force=st.sampled_from([CITY, MET, SURREY, None]),
    distance=st.one_of(st.none(), st.floats(0, 50_000)),
    lead=st.sampled_from([CITY, MET, None]),
    offence=st.sampled_from(["fraud_and_forgery", "robbery", "other"]),
    enabled=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_every_decision_names_one_force_and_explains_itself(
    state: str,
    force: str | None,
    distance: float | None,
    lead: str | None,
    offence: str,
    enabled: list[bool],
) -> None:
    fields: dict[str, Any] = {}
    if state == "residence":
        fields = {
            "force_code": force,
            "district_code": "E09000012",
            "distance_to_boundary_m": distance,
        }
    rules = [dataclasses.replace(r, enabled=on) for r, on in zip(RULES, enabled, strict=True)]
    decision = run(address(state, **fields), rules=rules, lead=lead, offence=offence)
    assert decision.force_code in {CITY, MET, SURREY}
    assert decision.explanation.startswith(force_name(decision.force_code).name + ": ")
    assert f"; rule: {decision.rule}" in decision.explanation
    assert len(decision.flags) == len(set(decision.flags))
    if state != "residence":
        assert "address_unknown" in decision.flags
        # Without an address nobody new takes the case: the lead (or the fallback) keeps it.
        assert decision.force_code in {lead or CITY, CITY}
