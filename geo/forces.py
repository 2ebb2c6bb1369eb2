"""Facts about forces and London that hold without any reference pack.

Forces are keyed by ONS code, never by name. ONS spells forces one way ("London, City of"); people
say another ("City of London Police"). Both are kept. The London facts here are fixed by law
(Police Act 1996 and the City of London Police Act 1839: the City is its own force area, the 32
boroughs are the Metropolitan Police District) or by the Met's published BCU structure, so the
London default works on a fresh, offline machine.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_OF_LONDON = "E23000034"
METROPOLITAN = "E23000001"
CITY_DISTRICT = "E09000001"

# Pseudo-codes for forces outside England and Wales. ONS publishes S23000009 for Scotland and
# N23000001 for Northern Ireland in its postcode products; it publishes none for the Crown
# Dependencies, so crossforce uses the directory's pseudo district codes and documents them.
POLICE_SCOTLAND = "S23000009"
PSNI = "N23000001"
JERSEY = "L99000001"
GUERNSEY = "L99000002"
ISLE_OF_MAN = "M99999999"


@dataclass(frozen=True)
class ForceName:
    """A force's ONS code, ONS name and the name people use."""

    code: str
    ons_name: str
    name: str


_FORCES: tuple[ForceName, ...] = (
    ForceName("E23000001", "Metropolitan Police", "Metropolitan Police Service"),
    ForceName("E23000002", "Cumbria", "Cumbria Constabulary"),
    ForceName("E23000003", "Lancashire", "Lancashire Constabulary"),
    ForceName("E23000004", "Merseyside", "Merseyside Police"),
    ForceName("E23000005", "Greater Manchester", "Greater Manchester Police"),
    ForceName("E23000006", "Cheshire", "Cheshire Constabulary"),
    ForceName("E23000007", "Northumbria", "Northumbria Police"),
    ForceName("E23000008", "Durham", "Durham Constabulary"),
    ForceName("E23000009", "North Yorkshire", "North Yorkshire Police"),
    ForceName("E23000010", "West Yorkshire", "West Yorkshire Police"),
    ForceName("E23000011", "South Yorkshire", "South Yorkshire Police"),
    ForceName("E23000012", "Humberside", "Humberside Police"),
    ForceName("E23000013", "Cleveland", "Cleveland Police"),
    ForceName("E23000014", "West Midlands", "West Midlands Police"),
    ForceName("E23000015", "Staffordshire", "Staffordshire Police"),
    ForceName("E23000016", "West Mercia", "West Mercia Police"),
    ForceName("E23000017", "Warwickshire", "Warwickshire Police"),
    ForceName("E23000018", "Derbyshire", "Derbyshire Constabulary"),
    ForceName("E23000019", "Nottinghamshire", "Nottinghamshire Police"),
    ForceName("E23000020", "Lincolnshire", "Lincolnshire Police"),
    ForceName("E23000021", "Leicestershire", "Leicestershire Police"),
    ForceName("E23000022", "Northamptonshire", "Northamptonshire Police"),
    ForceName("E23000023", "Cambridgeshire", "Cambridgeshire Constabulary"),
    ForceName("E23000024", "Norfolk", "Norfolk Constabulary"),
    ForceName("E23000025", "Suffolk", "Suffolk Constabulary"),
    ForceName("E23000026", "Bedfordshire", "Bedfordshire Police"),
    ForceName("E23000027", "Hertfordshire", "Hertfordshire Constabulary"),
    ForceName("E23000028", "Essex", "Essex Police"),
    ForceName("E23000029", "Thames Valley", "Thames Valley Police"),
    ForceName("E23000030", "Hampshire", "Hampshire and Isle of Wight Constabulary"),
    ForceName("E23000031", "Surrey", "Surrey Police"),
    ForceName("E23000032", "Kent", "Kent Police"),
    ForceName("E23000033", "Sussex", "Sussex Police"),
    ForceName("E23000034", "London, City of", "City of London Police"),
    ForceName("E23000035", "Devon & Cornwall", "Devon and Cornwall Police"),
    ForceName("E23000036", "Avon and Somerset", "Avon and Somerset Police"),
    ForceName("E23000037", "Gloucestershire", "Gloucestershire Constabulary"),
    ForceName("E23000038", "Wiltshire", "Wiltshire Police"),
    ForceName("E23000039", "Dorset", "Dorset Police"),
    ForceName("W15000001", "North Wales", "North Wales Police"),
    ForceName("W15000002", "Gwent", "Gwent Police"),
    ForceName("W15000003", "South Wales", "South Wales Police"),
    ForceName("W15000004", "Dyfed-Powys", "Dyfed-Powys Police"),
    ForceName(POLICE_SCOTLAND, "Scotland", "Police Scotland"),
    ForceName(PSNI, "Northern Ireland", "Police Service of Northern Ireland"),
    ForceName(JERSEY, "Jersey", "States of Jersey Police"),
    ForceName(GUERNSEY, "Guernsey", "Guernsey Police"),
    ForceName(ISLE_OF_MAN, "Isle of Man", "Isle of Man Constabulary"),
)

FORCES: dict[str, ForceName] = {f.code: f for f in _FORCES}

# The 33 London districts (2025 codes). E09000001 is the City; the rest form the Met's area.
LONDON_DISTRICTS: dict[str, str] = {
    "E09000001": "City of London",
    "E09000002": "Barking and Dagenham",
    "E09000003": "Barnet",
    "E09000004": "Bexley",
    "E09000005": "Brent",
    "E09000006": "Bromley",
    "E09000007": "Camden",
    "E09000008": "Croydon",
    "E09000009": "Ealing",
    "E09000010": "Enfield",
    "E09000011": "Greenwich",
    "E09000012": "Hackney",
    "E09000013": "Hammersmith and Fulham",
    "E09000014": "Haringey",
    "E09000015": "Harrow",
    "E09000016": "Havering",
    "E09000017": "Hillingdon",
    "E09000018": "Hounslow",
    "E09000019": "Islington",
    "E09000020": "Kensington and Chelsea",
    "E09000021": "Kingston upon Thames",
    "E09000022": "Lambeth",
    "E09000023": "Lewisham",
    "E09000024": "Merton",
    "E09000025": "Newham",
    "E09000026": "Redbridge",
    "E09000027": "Richmond upon Thames",
    "E09000028": "Southwark",
    "E09000029": "Sutton",
    "E09000030": "Tower Hamlets",
    "E09000031": "Waltham Forest",
    "E09000032": "Wandsworth",
    "E09000033": "Westminster",
}

# The Met's 12 Basic Command Units by borough (code, name). A pack's met_bcus.csv overrides this.
_BCU_GROUPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("AW", "Central West"): ("E09000013", "E09000020", "E09000033"),
    ("SW", "South West"): ("E09000021", "E09000024", "E09000027", "E09000032"),
    ("SN", "South"): ("E09000006", "E09000008", "E09000029"),
    ("SE", "South East"): ("E09000004", "E09000011", "E09000023"),
    ("EA", "East"): ("E09000002", "E09000016", "E09000026"),
    ("WA", "West"): ("E09000009", "E09000017", "E09000018"),
    ("AS", "Central South"): ("E09000022", "E09000028"),
    ("NA", "North"): ("E09000010", "E09000014"),
    ("CE", "Central East"): ("E09000012", "E09000030"),
    ("CN", "Central North"): ("E09000007", "E09000019"),
    ("NW", "North West"): ("E09000003", "E09000005", "E09000015"),
    ("NE", "North East"): ("E09000025", "E09000031"),
}
MET_BCUS: dict[str, tuple[str, str]] = {
    district: bcu for bcu, districts in _BCU_GROUPS.items() for district in districts
}


def force_name(code: str) -> ForceName:
    """Return the names of a force by ONS code.

    Parameters
    ----------
    code
        ONS force code such as ``E23000034``.

    Returns
    -------
    ForceName
        Known names; an unknown code gets itself as both names rather than failing, so a newer
        pack with a new force still displays.
    """
    return FORCES.get(code, ForceName(code, code, code))


def force_for_district_by_law(district_code: str, postcode: str | None = None) -> str | None:
    """Return the force for a district when it is fixed without a pack, else ``None``.

    London districts are fixed by statute; Scottish, Northern Irish, Channel Islands and Isle of
    Man districts go to their own forces by the prefix of their (pseudo) district code.

    Parameters
    ----------
    district_code
        ONS district code (``laua``) such as ``E09000012``.
    postcode
        The postcode, used only to tell Jersey (JE) from Guernsey (GY).

    Returns
    -------
    str or None
        ONS force code, or ``None`` when the national pack is needed to know it.
    """
    if district_code == CITY_DISTRICT:
        return CITY_OF_LONDON
    if district_code in LONDON_DISTRICTS:
        return METROPOLITAN
    if district_code.startswith("S12"):
        return POLICE_SCOTLAND
    if district_code.startswith("N09"):
        return PSNI
    if district_code.startswith("M99"):
        return ISLE_OF_MAN
    if district_code.startswith("L99"):
        if postcode is not None and postcode.upper().startswith("GY"):
            return GUERNSEY
        return JERSEY
    return None


def is_outside_england_and_wales(force_code: str) -> bool:
    """Return whether a force is one of the non-England-and-Wales forces (a handoff target)."""
    return force_code in {POLICE_SCOTLAND, PSNI, JERSEY, GUERNSEY, ISLE_OF_MAN}
