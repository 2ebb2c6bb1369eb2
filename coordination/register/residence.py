"""Resolving a residence when it is entered, and the facts stored with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from coordination.errors import InputError, NotFoundError
from coordination.models import (
    Address,
    Force,
)
from coordination.register.inputs import Residence
from coordination.register.rules import ResidenceContext
from geo.forces import force_name
from geo.lookup import Lookup, LookupResult

# -- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    fields: dict[str, Any]
    context: ResidenceContext
    warnings: list[str]


def _resolve(residence: Residence, lookup: Lookup, near_boundary_m: float) -> _Resolved:
    """Resolve a residence with the lookup; states need no resolution."""
    if residence.state != "residence":
        return _Resolved({"state": residence.state}, ResidenceContext(), [])
    result: LookupResult
    if residence.postcode is not None:
        result = lookup.lookup(residence.postcode)
    else:
        if residence.easting is None or residence.northing is None:
            raise RuntimeError("residence.easting, residence.northing missing")
        result = lookup.lookup_point(residence.easting, residence.northing)
    distance = result.distance_to_boundary_m
    fields = {
        "state": "residence",
        "postcode": result.postcode,
        "easting": float(result.easting),
        "northing": float(result.northing),
        "force_code": result.force.code if result.force else None,
        "district_code": result.district.code if result.district else None,
        "bcu_code": result.bcu.code if result.bcu else None,
        "ward_code": result.ward.code if result.ward else None,
        "distance_to_boundary_m": None if distance is None else round(float(distance), 1),
        "near_boundary": bool(
            result.near_boundary or (distance is not None and distance <= near_boundary_m)
        ),
        "method": result.method,
        "boundary_set": result.boundary_set,
    }
    context = ResidenceContext(
        district_name=result.district.name if result.district else None,
        bcu_name=result.bcu.name if result.bcu else None,
        nearest_other_force_code=(
            result.nearest_other_force.code if result.nearest_other_force else None
        ),
    )
    return _Resolved(fields, context, list(result.warnings))


def _address_details(address: Address) -> dict[str, Any]:
    return {
        "offender_id": address.offender_id,
        "state": address.state,
        "postcode": address.postcode,
        "valid_from": address.valid_from.isoformat(),
        "force_code": address.force_code,
        "district_code": address.district_code,
        "bcu_code": address.bcu_code,
        "near_boundary": address.near_boundary,
        "method": address.method,
        "boundary_set": address.boundary_set,
    }


def _force_label(code: str) -> str:
    return force_name(code).name


def _require_force(session: Session, code: str) -> None:
    if session.get(Force, code) is None:
        raise NotFoundError(f"No force with code {code!r}: run `crossforce init` first")


def _check_valid_from(valid_from: date, today: date, born: date) -> None:
    if valid_from > today:
        raise InputError(f"An address cannot start in the future ({valid_from.isoformat()})")
    if valid_from < born:
        raise InputError(
            f"An address cannot start ({valid_from.isoformat()}) before the date of birth"
        )
