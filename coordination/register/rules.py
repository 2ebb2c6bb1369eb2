"""Who is responsible: the rule table that decides a case's responsible force, and why.

The rules are data: defaults live in ``coordination/defaults/responsibility_rules.toml``, are
seeded into the ``responsibility_rule`` table by :func:`seed_rules`, and can be switched on and
off, reordered and re-parametrised there. What each rule *does* is code here, chosen by the
rule's name; a table row with a name this module does not know is refused on load rather than
silently ignored.

:func:`decide` is a pure function of the rules, the current residence and the case: every
decision names the force, the rule that chose it, a one-line explanation a person can read, and
flags (``address_unknown``, ``force_unknown``, ``verify_address``).

Deciding rules are tried in ascending priority; the first that applies names the force. Flag
rules (``params.kind == "flag"``) only add flags. If no deciding rule applies (for instance the
residence rule is switched off), the current lead keeps the case (rule ``fallback``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from coordination.errors import ReferenceDataError
from coordination.ledger.chain import record_event
from coordination.models import AddressPublic, ResponsibilityRule
from coordination.security.permissions import require
from geo.districts import district_name
from geo.forces import CITY_OF_LONDON, MET_BCUS, METROPOLITAN, force_name

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "responsibility_rules.toml"

FLAG_ADDRESS_UNKNOWN = "address_unknown"
FLAG_FORCE_UNKNOWN = "force_unknown"
FLAG_VERIFY_ADDRESS = "verify_address"

# The name a decision carries when no deciding rule applied.
_FALLBACK_RULE = "fallback"


@dataclass(frozen=True)
class Rule:
    """One row of the rule table.

    Attributes
    ----------
    name
        Which rule (its logic is chosen by this name).
    priority
        Lower is tried first.
    enabled
        A disabled rule is skipped.
    description
        What the rule means, for people.
    params
        The rule's settings, e.g. the offence categories the economic-crime rule keeps.
    """

    name: str
    priority: int
    enabled: bool
    description: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_flag(self) -> bool:
        """Whether this rule only adds flags (it never names the force)."""
        return self.params.get("kind") == "flag"


@dataclass(frozen=True)
class Decision:
    """Which force is responsible, by which rule, why (one line), and what to check."""

    force_code: str
    rule: str
    explanation: str
    flags: list[str] = field(default_factory=list)

    def json_extra(self) -> dict[str, Any]:
        """JSON adds the force's name."""
        return {"force_name": force_name(self.force_code).name}


@dataclass(frozen=True)
class ResidenceContext:
    """Names the address row does not store, to make explanations read well.

    All optional: without them, London district and BCU names come from ``geo.forces`` and the
    distance is to "the nearest force boundary".
    """

    district_name: str | None = None
    bcu_name: str | None = None
    nearest_other_force_code: str | None = None


# -- the table ---------------------------------------------------------------------------------


def default_rules(path: Path = DEFAULT_RULES_FILE) -> list[Rule]:
    """Read the default rule table from its TOML file.

    Parameters
    ----------
    path
        The TOML file (``[[rule]]`` tables with name, priority, enabled, description, params).

    Returns
    -------
    list[Rule]
        The rules in ascending priority.

    Raises
    ------
    ReferenceDataError
        The file cannot be read, or a rule is malformed or unknown.
    """
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReferenceDataError(f"Cannot read the rule table {path.name}: {exc}") from exc
    problems: list[str] = []
    rules: list[Rule] = []
    for i, item in enumerate(data.get("rule", []), start=1):
        try:
            rules.append(
                Rule(
                    name=str(item["name"]),
                    priority=int(item["priority"]),
                    enabled=bool(item.get("enabled", True)),
                    description=str(item.get("description", "")),
                    params=dict(item.get("params", {})),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"rule {i}: {exc!r}")
    problems.extend(_unknown(rules))
    if problems:
        raise ReferenceDataError(f"The rule table {path.name} is not usable", problems)
    return sorted(rules, key=lambda r: (r.priority, r.name))


def _unknown(rules: Sequence[Rule]) -> list[str]:
    return [f"unknown rule {r.name!r}" for r in rules if r.name not in _RULES]


def seed_rules(session: Session, *, actor: str, path: Path = DEFAULT_RULES_FILE) -> int:
    """Insert the default rules that the ``responsibility_rule`` table lacks.

    Idempotent: rules already in the table (by name) are left exactly as they are, so an admin's
    edits survive a rerun of ``crossforce init``.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is seeding (for the audit log).
    path
        The defaults file.

    Returns
    -------
    int
        How many rules were inserted; 0 (and no audit event) when none were missing.
    """
    require(session, actor=actor, action="reference.manage", entity_type="responsibility_rule")
    existing = set(session.exec(select(ResponsibilityRule.name)).all())
    inserted: list[str] = []
    for rule in default_rules(path):
        if rule.name in existing:
            continue
        session.add(
            ResponsibilityRule(
                name=rule.name,
                priority=rule.priority,
                enabled=rule.enabled,
                description=rule.description,
                params=rule.params,
            )
        )
        inserted.append(rule.name)
    if not inserted:
        return 0
    session.flush()
    record_event(
        session,
        actor=actor,
        action="responsibility_rule.seed",
        entity_type="responsibility_rule",
        entity_id=None,
        details={"inserted": inserted},
    )
    return len(inserted)


def load_rules(session: Session) -> list[Rule]:
    """Return the rule table in ascending priority.

    A database whose table was never seeded answers with the defaults from the file (read, not
    written), so that a decision can always be made and explained.

    Raises
    ------
    ReferenceDataError
        The table holds a rule whose name this code does not know.
    """
    rows = session.exec(
        select(ResponsibilityRule).order_by(
            col(ResponsibilityRule.priority), col(ResponsibilityRule.name)
        )
    ).all()
    if not rows:
        return default_rules()
    rules = [
        Rule(
            name=row.name,
            priority=row.priority,
            enabled=row.enabled,
            description=row.description,
            params=dict(row.params or {}),
        )
        for row in rows
    ]
    problems = _unknown(rules)
    if problems:
        raise ReferenceDataError("The responsibility rule table is not usable", problems)
    return rules


# -- deciding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    residence: AddressPublic | None
    programme: str
    offence_category: str
    current_lead: str | None
    near_boundary_m: float
    context: ResidenceContext

    @property
    def state(self) -> str:
        return self.residence.state if self.residence is not None else "unknown"


_Decider = Callable[[Rule, _Facts], Decision | None]


def format_distance(metres: float) -> str:
    """Return a distance for people: km with one decimal from 1 km up, else whole metres."""
    if metres >= 1000:
        return f"{metres / 1000:.1f} km"
    return f"{metres:.0f} m"


def _short_force(code: str) -> str:
    """How people name a force after "the": the City, the Met, else its full name."""
    if code == CITY_OF_LONDON:
        return "City"
    if code == METROPOLITAN:
        return "Met"
    return force_name(code).name


def _where(facts: _Facts) -> str:
    """'lives in Hackney (E09000012), Central East BCU, 1.4 km from the City boundary'."""
    residence = facts.residence
    if residence is None:
        raise RuntimeError("residence is missing")
    ctx = facts.context
    parts: list[str] = []
    if residence.district_code:
        name = ctx.district_name or district_name(residence.district_code)
        parts.append(
            f"lives in {name} ({residence.district_code})"
            if name
            else f"lives in district {residence.district_code}"
        )
    elif residence.postcode:
        parts.append(f"lives at {residence.postcode}")
    elif residence.easting is not None and residence.northing is not None:
        parts.append(f"lives at E {residence.easting:.0f}, N {residence.northing:.0f}")
    else:
        parts.append("lives at an unresolved address")
    if residence.bcu_code:
        bcu = ctx.bcu_name or _met_bcu_name(residence.district_code, residence.bcu_code)
        parts.append(f"{bcu} BCU")
    if residence.distance_to_boundary_m is not None and residence.force_code is not None:
        distance = format_distance(residence.distance_to_boundary_m)
        other = ctx.nearest_other_force_code
        boundary = f"the {_short_force(other)} boundary" if other else "the nearest force boundary"
        parts.append(f"{distance} from {boundary}")
    return ", ".join(parts)


def _met_bcu_name(district_code: str | None, bcu_code: str) -> str:
    known = MET_BCUS.get(district_code or "")
    return known[1] if known and known[0] == bcu_code else bcu_code


def _lead_or_fallback(rule: Rule, facts: _Facts) -> tuple[str, str]:
    """The force that keeps the case, and how to say why it is that one."""
    if facts.current_lead:
        return facts.current_lead, "the current lead keeps the case"
    fallback = str(rule.params.get("fallback_force_code") or CITY_OF_LONDON)
    return fallback, f"a new case with no lead goes to {force_name(fallback).name}"


def _economic_crime(rule: Rule, facts: _Facts) -> Decision | None:
    force = str(rule.params.get("force_code") or CITY_OF_LONDON)
    categories = {str(c) for c in rule.params.get("offence_categories", [])}
    if facts.offence_category not in categories:
        return None
    # "Keeps": the exception holds cases the City leads (or opens); it never pulls another
    # force's case to the City.
    if facts.current_lead not in (None, force):
        return None
    label = facts.offence_category.replace("_", " ")
    where = (
        _where(facts)
        if facts.state == "residence"
        else ("no fixed abode" if facts.state == "no_fixed_abode" else "address unknown")
    )
    explanation = (
        f"{force_name(force).name}: {label} case stays with the {_short_force(force)} wherever "
        f"the person lives ({where}); rule: {rule.name}"
    )
    return Decision(force, rule.name, explanation, [])


def _no_fixed_abode(rule: Rule, facts: _Facts) -> Decision | None:
    if facts.state == "residence":
        return None
    force, why = _lead_or_fallback(rule, facts)
    what = "no fixed abode" if facts.state == "no_fixed_abode" else "address unknown"
    flag = str(rule.params.get("flag") or FLAG_ADDRESS_UNKNOWN)
    return Decision(
        force, rule.name, f"{force_name(force).name}: {what}; {why}; rule: {rule.name}", [flag]
    )


def _residence(rule: Rule, facts: _Facts) -> Decision | None:
    if facts.state != "residence" or facts.residence is None:
        return None
    if facts.residence.force_code:
        force = facts.residence.force_code
        return Decision(
            force, rule.name, f"{force_name(force).name}: {_where(facts)}; rule: {rule.name}", []
        )
    force, why = _lead_or_fallback(rule, facts)
    flag = str(rule.params.get("unknown_force_flag") or FLAG_FORCE_UNKNOWN)
    explanation = (
        f"{force_name(force).name}: {_where(facts)}, where the active boundary set knows no "
        f"force; {why}; rule: {rule.name}"
    )
    return Decision(force, rule.name, explanation, [flag])


def _near_boundary(rule: Rule, facts: _Facts) -> Decision | None:
    # A flag rule: it is asked only whether it applies (the force is filled in by the caller).
    residence = facts.residence
    if residence is None or facts.state != "residence" or residence.force_code is None:
        return None
    distance = residence.distance_to_boundary_m
    near = distance <= facts.near_boundary_m if distance is not None else residence.near_boundary
    if not near:
        return None
    return Decision("", rule.name, "", [str(rule.params.get("flag") or FLAG_VERIFY_ADDRESS)])


_RULES: dict[str, _Decider] = {
    "economic_crime": _economic_crime,
    "no_fixed_abode_or_unknown": _no_fixed_abode,
    "residence": _residence,
    "near_boundary": _near_boundary,
}


def decide(
    *,
    rules: Sequence[Rule],
    residence: AddressPublic | None,
    programme: str,
    offence_category: str,
    current_lead: str | None,
    near_boundary_m: float,
    context: ResidenceContext | None = None,
) -> Decision:
    """Decide which force is responsible for a case, and explain why.

    Parameters
    ----------
    rules
        The rule table (:func:`load_rules`); tried in ascending priority, disabled ones skipped.
    residence
        The current address (its stored resolution), or ``None`` when there is none (treated as
        unknown).
    programme
        The case's programme (``iom_fixed``, ``mappa`` …).
    offence_category
        The case's current offence category (snake_case key, e.g. ``fraud_and_forgery``).
    current_lead
        The case's lead force, or ``None`` for a new case.
    near_boundary_m
        A residence this close to another force is flagged ``verify_address``.
    context
        Optional names for the explanation (district, BCU, the force across the boundary).

    Returns
    -------
    Decision
        The force, the deciding rule's name, a one-line explanation and the flags.
    """
    facts = _Facts(
        residence=residence,
        programme=programme,
        offence_category=offence_category,
        current_lead=current_lead,
        near_boundary_m=near_boundary_m,
        context=context or ResidenceContext(),
    )
    ordered = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.name))
    decision: Decision | None = None
    flags: list[str] = []
    for rule in ordered:
        logic = _RULES.get(rule.name)
        if logic is None:
            continue
        if rule.is_flag:
            flagged = logic(rule, facts)
            if flagged is not None:
                flags.extend(flagged.flags)
        elif decision is None:
            decision = logic(rule, facts)
    if decision is None:
        fallback = Rule(_FALLBACK_RULE, 0, True, "", {})
        force, why = _lead_or_fallback(fallback, facts)
        decision = Decision(
            force,
            _FALLBACK_RULE,
            f"{force_name(force).name}: no rule decided; {why}; rule: {_FALLBACK_RULE}",
            [],
        )
    # An address nobody can visit is worth a flag whichever rule decided (e.g. economic crime).
    if facts.state != "residence":
        flags.insert(0, FLAG_ADDRESS_UNKNOWN)
    merged = list(dict.fromkeys([*decision.flags, *flags]))
    return Decision(decision.force_code, decision.rule, decision.explanation, merged)
