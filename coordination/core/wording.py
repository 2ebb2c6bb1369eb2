"""Plain-English wording for the codes the register stores (``very_high``, ``sexual_child``).

Documents people read (the meeting pack in particular) show these labels, never the raw codes.
Every function is pure and never raises: a code the tables here do not know (a value added to
the register after this module) is shown with its underscores as spaces and a capital letter,
so a new value degrades to readable text rather than breaking a document.

Labels are in sentence case ("Very high", "Sexual offence (child)") so they stand alone in a
table cell or after a field label. This module lies below ``coordination.models`` and imports
nothing from it; a test checks that every enum value there has a label here.
"""

from __future__ import annotations

__all__ = [
    "ACTION_STATUS_LABELS",
    "ADDRESS_STATE_LABELS",
    "AREA_KIND_LABELS",
    "CASE_ACCESS_MODE_LABELS",
    "CASE_STATUS_LABELS",
    "CLOSURE_LABELS",
    "DECISION_LABELS",
    "HANDOFF_STATE_LABELS",
    "MEETING_STATUS_LABELS",
    "OFFENCE_LABELS",
    "PROGRAMME_LABELS",
    "RISK_LABELS",
    "ROLE_LABELS",
    "RULE_LABELS",
    "SEX_LABELS",
    "action_status_label",
    "address_state_label",
    "area_kind_label",
    "case_access_mode_label",
    "case_status_label",
    "decision_label",
    "handoff_state_label",
    "humanise",
    "mappa_label",
    "meeting_status_label",
    "offence_label",
    "programme_label",
    "risk_label",
    "role_label",
    "rule_label",
    "sex_label",
]

RISK_LABELS: dict[str, str] = {
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "very_high": "Very high",
}
PROGRAMME_LABELS: dict[str, str] = {
    "iom_fixed": "IOM Fixed",
    "iom_flex": "IOM Flex",
    "iom_free": "IOM Free",
    "mappa": "MAPPA",
    "other": "Other programme",
}
SEX_LABELS: dict[str, str] = {"male": "Male", "female": "Female", "not_known": "Not known"}
ADDRESS_STATE_LABELS: dict[str, str] = {
    "residence": "Residence",
    "no_fixed_abode": "No fixed abode",
    "unknown": "Unknown",
}
CASE_STATUS_LABELS: dict[str, str] = {"open": "Open", "closed": "Closed"}
MEETING_STATUS_LABELS: dict[str, str] = {"planned": "Planned", "held": "Held", "closed": "Closed"}
DECISION_LABELS: dict[str, str] = {
    "retain": "Retain",
    "transfer": "Transfer",
    "joint": "Joint management",
    "escalate": "Escalate",
    "nfa": "No further action",
    "other": "Other",
}
ACTION_STATUS_LABELS: dict[str, str] = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}
HANDOFF_STATE_LABELS: dict[str, str] = {
    "proposed": "Proposed",
    "requested": "Requested",
    "accepted": "Accepted",
    "completed": "Completed",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
AREA_KIND_LABELS: dict[str, str] = {
    "force": "Force",
    "district": "District",
    "ward": "Ward",
    "bcu": "BCU",
}
ROLE_LABELS: dict[str, str] = {
    "offender_manager": "Offender manager",
    "supervisor": "Supervisor",
    "analyst": "Analyst",
    "admin": "Administrator",
}
CASE_ACCESS_MODE_LABELS: dict[str, str] = {
    "exclude": "Excluded from the case",
    "allow": "Allowed to see the case",
}
# The OGRS3 offence categories (coordination.register.inputs.OFFENCE_CATEGORIES), worded for
# a reader rather than for the OGRS3 table.
OFFENCE_LABELS: dict[str, str] = {
    "violence": "Violence",
    "robbery": "Robbery",
    "public_order": "Public order offence",
    "sexual_not_child": "Sexual offence (not against a child)",
    "sexual_child": "Sexual offence (child)",
    "soliciting": "Soliciting",
    "burglary_domestic": "Burglary (domestic)",
    "burglary_other": "Burglary (non-domestic)",
    "theft_non_motor": "Theft (non-motor)",
    "handling_stolen_goods": "Handling stolen goods",
    "fraud_and_forgery": "Fraud and forgery",
    "absconding_or_bail": "Absconding or bail offence",
    "taking_and_driving_away": "Taking and driving away",
    "theft_from_vehicle": "Theft from a vehicle",
    "other_motoring": "Other motoring offence",
    "drink_driving": "Drink driving",
    "criminal_damage": "Criminal damage",
    "drug_import_export_production": "Drug import, export or production",
    "drug_possession_supply": "Drug possession or supply",
    "other": "Other offence",
}
# The default responsibility rules (coordination/register/responsibility_rules.toml).
#: Why a case was closed, as the closure form and the agenda say it.
CLOSURE_LABELS: dict[str, str] = {
    "sentence_ended": "sentence or licence ended",
    "deregistered": "deregistered",
    "deceased": "deceased",
    "moved_out": "moved out of the coordinated area",
    "other": "other",
}
RULE_LABELS: dict[str, str] = {
    "economic_crime": "Economic crime (the City's national lead)",
    "no_fixed_abode_or_unknown": "No fixed abode or unknown address",
    "residence": "Where the person lives",
    "near_boundary": "Near a force boundary",
}


def humanise(code: object) -> str:
    """Return a code as words: ``"very_high"`` becomes ``"Very high"``; empty stays empty."""
    text = " ".join(str(code if code is not None else "").replace("_", " ").split())
    return text[:1].upper() + text[1:]


def _label(table: dict[str, str], code: object) -> str:
    key = "" if code is None else str(code).strip()
    if key in table:
        return table[key]
    # Labels given already (a category entered as its OGRS3 label) are matched too.
    normalised = "_".join(key.lower().split())
    return table.get(normalised) or humanise(key)


def risk_label(risk: object) -> str:
    """``"very_high"`` -> ``"Very high"``."""
    return _label(RISK_LABELS, risk)


def programme_label(programme: object) -> str:
    """``"iom_fixed"`` -> ``"IOM Fixed"``, ``"mappa"`` -> ``"MAPPA"``."""
    return _label(PROGRAMME_LABELS, programme)


def sex_label(sex: object) -> str:
    """``"not_known"`` -> ``"Not known"``."""
    return _label(SEX_LABELS, sex)


def address_state_label(state: object) -> str:
    """``"no_fixed_abode"`` -> ``"No fixed abode"``."""
    return _label(ADDRESS_STATE_LABELS, state)


def case_status_label(status: object) -> str:
    """``"open"`` -> ``"Open"``."""
    return _label(CASE_STATUS_LABELS, status)


def meeting_status_label(status: object) -> str:
    """``"planned"`` -> ``"Planned"``."""
    return _label(MEETING_STATUS_LABELS, status)


def decision_label(kind: object) -> str:
    """``"nfa"`` -> ``"No further action"``."""
    return _label(DECISION_LABELS, kind)


def action_status_label(status: object) -> str:
    """``"cancelled"`` -> ``"Cancelled"``."""
    return _label(ACTION_STATUS_LABELS, status)


def handoff_state_label(state: object) -> str:
    """``"requested"`` -> ``"Requested"``."""
    return _label(HANDOFF_STATE_LABELS, state)


def area_kind_label(kind: object) -> str:
    """``"bcu"`` -> ``"BCU"``."""
    return _label(AREA_KIND_LABELS, kind)


def role_label(role: object) -> str:
    """``"offender_manager"`` -> ``"Offender manager"``."""
    return _label(ROLE_LABELS, role)


def case_access_mode_label(mode: object) -> str:
    """``"exclude"`` -> ``"Excluded from the case"``."""
    return _label(CASE_ACCESS_MODE_LABELS, mode)


def offence_label(category: object) -> str:
    """``"sexual_child"`` -> ``"Sexual offence (child)"``."""
    return _label(OFFENCE_LABELS, category)


def rule_label(rule: object) -> str:
    """A responsibility rule's name as words: ``"residence"`` -> ``"Where the person lives"``."""
    return _label(RULE_LABELS, rule)


def mappa_label(category: int | None, level: int | None) -> str:
    """``(1, 3)`` -> ``"MAPPA category 1, level 3"``; neither known -> ``"Not a MAPPA case"``.

    One part missing says so rather than guessing (``"MAPPA category 2, level not recorded"``).
    """
    if category is None and level is None:
        return "Not a MAPPA case"
    shown_category = "not recorded" if category is None else str(category)
    shown_level = "not recorded" if level is None else str(level)
    return f"MAPPA category {shown_category}, level {shown_level}"
