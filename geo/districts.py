"""Names and forces of every UK district, without any reference pack.

A boundary set names only the districts it covers: the London default names the 33 London
districts, an England and Wales pack none in Scotland or Northern Ireland. A lookup still has to
say "Manchester" and "Glasgow City", never a bare code, so this module reads a small table shipped
as package data (``geo/data/uk_districts.csv``; source and licence, OGL v3.0, in
``geo/data/README.md``). Force areas are whole districts, so the table also gives each district's
force: that answers the force for a postcode outside the active set's coverage, "by district".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

DATA_FILE = "data/uk_districts.csv"


@dataclass(frozen=True)
class District:
    """One district by ONS code: its ONS name and the force area it belongs to."""

    code: str
    name: str
    force_code: str | None


@cache
def districts() -> dict[str, District]:
    """Return every district in the table, keyed by ONS code (read once per process).

    Returns
    -------
    dict of str to District
        363 entries: England and Wales districts, Scottish council areas, Northern Irish
        districts and the Crown Dependency pseudo codes.
    """
    text = resources.files("geo").joinpath(DATA_FILE).read_text(encoding="utf-8")
    table: dict[str, District] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["code"].strip()
        table[code] = District(code, row["name"].strip(), row["force_code"].strip() or None)
    return table


def district_name(code: str | None) -> str | None:
    """Return the ONS name of a district, or ``None`` when the table does not know the code.

    Parameters
    ----------
    code
        ONS district code such as ``E08000003`` (Manchester) or ``S12000049`` (Glasgow City).
    """
    if not code:
        return None
    known = districts().get(code)
    return known.name if known else None


def district_force(code: str | None) -> str | None:
    """Return the ONS code of the force area a district belongs to, or ``None`` if unknown.

    Parameters
    ----------
    code
        ONS district code.

    Returns
    -------
    str or None
        ``None`` for an unknown code and for the Channel Islands, whose force (Jersey or
        Guernsey) follows the postcode, not the district (``geo.forces.force_for_district_by_law``).
    """
    if not code:
        return None
    known = districts().get(code)
    return known.force_code if known else None
