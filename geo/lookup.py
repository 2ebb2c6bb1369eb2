"""Boundary lookup for one query: a postcode, ``lat,lon`` or ``easting,northing``.

A postcode is answered from two sources. The postcode directory gives the district ONS assigned to
the postcode's centroid against the full-resolution statutory boundaries; the resolver gives the
polygon answer for the same centroid against the active boundary set. Force areas are whole
districts, so the directory's district decides the force when the set knows that district's force:
it is the official assignment. The polygon answer supplies the distance to the boundary, the BCU and
the ward. When the two disagree, or the centroid is near a boundary, the result says so and carries
both answers, because the addresses of one postcode can lie on both sides of a line.

A district the set does not cover (Manchester with the London default, Glasgow with an England and
Wales pack) is still named, and its force found, from the table of every UK district in
``geo.districts``: method ``"by district"``, without a distance to the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from geo import districts, forces
from geo.coords import bng_to_wgs84
from geo.errors import InputError, PostcodeWithoutCoordinatesError
from geo.postcodes import PostcodeDirectory, PostcodeRecord
from geo.query import parse_query
from geo.resolver import Resolution, Resolver


@dataclass(frozen=True)
class Named:
    """A code with its display name."""

    code: str
    name: str


@dataclass(frozen=True)
class ForceRef:
    """A force by ONS code, with the name people use and the ONS name."""

    code: str
    name: str
    ons_name: str


@dataclass
class LookupResult:
    """The answer to one lookup; its JSON (``crossforce lookup --json``) is its fields."""

    query: str
    kind: str
    postcode: str | None
    easting: float
    northing: float
    lat: float | None
    lon: float | None
    force: ForceRef | None
    district: Named | None
    bcu: Named | None
    ward: Named | None
    distance_to_boundary_m: float | None
    nearest_other_force: Named | None
    near_boundary: bool
    method: str
    boundary_set: str
    approximate: bool
    warnings: list[str] = field(default_factory=list)
    directory: dict[str, Any] | None = None
    polygon: dict[str, Any] | None = None
    ward_note: str | None = None
    bcu_note: str | None = None

    def json_extra(self) -> dict[str, Any]:
        """JSON rounds the distance to a tenth of a metre (the CLI contract).

        ``coordination.core.serial.jsonable`` merges this over the dataclass fields.
        """
        d = self.distance_to_boundary_m
        return {"distance_to_boundary_m": None if d is None else round(float(d), 1)}


def _named(code: str | None, name: str | None) -> Named | None:
    if not code:
        return None
    return Named(code, name or code)


def _force_ref(code: str | None, ons_names: Mapping[str, str]) -> ForceRef | None:
    if not code:
        return None
    known = forces.force_name(code)
    return ForceRef(code, known.name, ons_names.get(code, known.ons_name))


class Lookup:
    """Answer lookups against one resolver and the postcode directory.

    Parameters
    ----------
    resolver
        The resolver of the active boundary set.
    directory
        The postcode directory, or ``None`` when postcodes are not available.
    """

    def __init__(self, resolver: Resolver, directory: PostcodeDirectory | None) -> None:
        self.resolver = resolver
        self.directory = directory
        layers = resolver.layers
        self._district_force: dict[str, str] = dict(
            zip(layers.districts["code"], layers.districts["force_code"], strict=True)
        )
        self._district_name: dict[str, str] = dict(forces.LONDON_DISTRICTS)
        self._district_name.update(
            {
                code: name
                for code, name in zip(
                    layers.districts["code"], layers.districts["name"], strict=True
                )
                # A pack without district names repeats the code; the table has a better one.
                if isinstance(name, str) and name and name != code
            }
        )
        ward_districts = (
            set() if layers.wards is None else {str(c) for c in layers.wards["district_code"]}
        )
        self._ward_districts: set[str] = ward_districts
        self._ward_name: dict[str, str] = (
            {}
            if layers.wards is None
            else {
                code: name
                for code, name in zip(layers.wards["code"], layers.wards["name"], strict=True)
                if isinstance(name, str) and name
            }
        )
        self._wards_london_only = bool(ward_districts) and all(
            c.startswith("E09") for c in ward_districts
        )
        self._force_ons: dict[str, str] = dict(
            zip(layers.forces["code"], layers.forces["ons_name"], strict=True)
        )
        pack_bcus = zip(
            layers.bcus["district_code"].astype(str),
            zip(
                layers.bcus["bcu_code"].astype(str),
                layers.bcus["bcu_name"].astype(str),
                strict=True,
            ),
            strict=True,
        )
        self._bcu: dict[str, tuple[str, str]] = dict(pack_bcus) or dict(forces.MET_BCUS)

    # -- public -----------------------------------------------------------------------------

    def lookup(self, text: str, *, bng: bool = False) -> LookupResult:
        """Look up a postcode or coordinates typed by a person.

        Parameters
        ----------
        text
            A postcode (any case or spacing), ``lat,lon``, or ``easting,northing``.
        bng
            Read two numbers as British National Grid even when they could be lat/lon.

        Returns
        -------
        LookupResult

        Raises
        ------
        InputError
            Malformed input, an unknown postcode, or a postcode with no location.
        """
        parsed = parse_query(text, bng=bng)
        # parse_query fills the postcode of a postcode query and the grid values of the others.
        if parsed.postcode is not None:
            return self._postcode(parsed.postcode, query=parsed.text)
        if parsed.easting is None or parsed.northing is None:
            raise InputError(f"'{parsed.text}' is neither a postcode nor coordinates")
        return self.lookup_point(
            parsed.easting, parsed.northing, query=parsed.text, kind=parsed.kind
        )

    def force_for_district(self, district_code: str, postcode: str | None = None) -> str | None:
        """Return the force of a district: from the set, else by law, else from the table.

        Parameters
        ----------
        district_code
            ONS district code.
        postcode
            The postcode being looked up; it tells Jersey (JE) from Guernsey (GY), which share
            a pseudo district code.

        Returns
        -------
        str or None
            The force's ONS code; ``None`` for a code no source knows.
        """
        return (
            self._district_force.get(district_code)
            or forces.force_for_district_by_law(district_code, postcode)
            or districts.district_force(district_code)
        )

    def covers_district(self, district_code: str) -> bool:
        """Return whether the set (or the law, without a pack) gives a district's force.

        A district it does not cover takes its force from the table of every UK district
        (method ``"by district"``), without any distance to the boundary.
        """
        return (
            district_code in self._district_force
            or forces.force_for_district_by_law(district_code) is not None
        )

    def bcu_for_district(self, district_code: str) -> Named | None:
        """Return the Met BCU a district belongs to, or ``None`` outside the Met."""
        bcu = self._bcu.get(district_code)
        return Named(*bcu) if bcu else None

    def bcu_name(self, bcu_code: str) -> str | None:
        """Return a Met BCU's name by its code, or ``None`` when it is not known."""
        return next((name for code, name in self._bcu.values() if code == bcu_code), None)

    def ward_name(self, ward_code: str) -> str | None:
        """Return a ward's name from the boundary set, or ``None`` when the set has no such ward."""
        return self._ward_name.get(ward_code)

    def district_name(self, district_code: str) -> str:
        """Return a district's name: the set's, else the table's, else (unknown) the code."""
        return (
            self._district_name.get(district_code)
            or districts.district_name(district_code)
            or district_code
        )

    def ward_note(self, district_code: str | None, method: str) -> str:
        """Say why an answer has no ward (the card shows it in place of a ward).

        Parameters
        ----------
        district_code
            The district of the answer, if any.
        method
            How the answer was found (``polygon``, ``nearest``, ``outside``, ``directory``,
            ``by district``).
        """
        if method == "outside":
            return "no ward: outside the boundary set"
        if method == "directory":
            return "no ward: outside England and Wales, wards are not loaded"
        if not self._ward_districts:
            return "no ward: this boundary set has no wards"
        if district_code and district_code not in self._ward_districts:
            if self._wards_london_only:
                return "no ward: wards are loaded for London only"
            return "no ward: the boundary set has no wards for this district"
        return "no ward: the point is in no ward polygon"

    def lookup_point(
        self, easting: float, northing: float, *, query: str | None = None, kind: str = "bng"
    ) -> LookupResult:
        """Look up a point in British National Grid metres.

        Parameters
        ----------
        easting, northing
            British National Grid metres.
        query
            The text the person typed, shown with the answer (the coordinates by default).
        kind
            How the query was read: ``"bng"`` or ``"latlon"``.

        Returns
        -------
        LookupResult
            With a warning when the point is outside the active set.
        """
        res = self.resolver.resolve_point(easting, northing)
        result = self._from_resolution(
            res, query=query or f"{easting:.0f},{northing:.0f}", kind=kind
        )
        if res.method == "outside":
            result.warnings.append(
                "This point is outside the boundaries of the active set "
                f"({res.boundary_set}). {self.resolver.layers.coverage_note}".strip()
            )
        return result

    # -- internals --------------------------------------------------------------------------

    def _from_resolution(self, res: Resolution, *, query: str, kind: str) -> LookupResult:
        lat, lon = _latlon(res.easting, res.northing)
        result = LookupResult(
            query=query,
            kind=kind,
            postcode=None,
            easting=round(res.easting, 3),
            northing=round(res.northing, 3),
            lat=lat,
            lon=lon,
            force=_force_ref(res.force_code, self._force_ons),
            district=self._district(res),
            bcu=_named(res.bcu_code, res.bcu_name),
            ward=_named(res.ward_code, res.ward_name),
            distance_to_boundary_m=res.distance_to_boundary_m,
            nearest_other_force=_named(res.nearest_other_force_code, res.nearest_other_force_name),
            near_boundary=bool(res.near_boundary),
            method=res.method,
            boundary_set=res.boundary_set,
            approximate=res.approximate,
        )
        if result.ward is None:
            result.ward_note = self.ward_note(res.district_code, res.method)
        if result.bcu is None:
            result.bcu_note = _bcu_note(result.force)
        if res.approximate and res.method != "outside":
            result.warnings.append(
                "Approximate boundaries (built from postcode centroids, no reference pack "
                "loaded): load the national pack for official lines."
            )
        if res.method == "nearest":
            result.warnings.append(
                f"This point is in no district polygon (river, coast or a gap between lines); "
                f"the nearest district is {res.distance_to_area_m:.0f} m away."
            )
        if res.near_boundary and res.method != "outside":
            other = (
                forces.force_name(res.nearest_other_force_code).name
                if res.nearest_other_force_code
                else "the edge of the area this boundary set covers"
            )
            distance = res.distance_to_boundary_m or 0.0
            result.warnings.append(
                f"Near a force boundary: {distance:.0f} m from {other}. Verify the address "
                "before relying on this answer."
            )
        return result

    def _district(self, res: Resolution) -> Named | None:
        if not res.district_code:
            return None
        name = res.district_name
        if not name or name == res.district_code:
            name = self.district_name(res.district_code)
        return Named(res.district_code, name)

    def _postcode(self, postcode: str, *, query: str) -> LookupResult:
        if self.directory is None:
            raise PostcodeWithoutCoordinatesError(
                "Postcode lookup is unavailable: the postcode directory is not loaded"
            )
        record = self.directory.get(postcode)
        if record.easting is None or record.northing is None:
            raise PostcodeWithoutCoordinatesError(self._no_location_message(record))
        res = self.resolver.resolve_point(float(record.easting), float(record.northing))
        result = self._from_resolution(res, query=query, kind="postcode")
        result.postcode = record.postcode
        self._reconcile(result, res, record)
        return result

    def _no_location_message(self, record: PostcodeRecord) -> str:
        message = f"{record.postcode} exists but the postcode directory gives it no location"
        if record.district_code:
            force_code = self.force_for_district(record.district_code, record.postcode)
            force = forces.force_name(force_code).name if force_code else "force unknown"
            message += f" (district {self.district_name(record.district_code)}: {force})"
        return message + "; check the address"

    def _reconcile(self, result: LookupResult, res: Resolution, record: PostcodeRecord) -> None:
        """Put the directory's official district first and flag any disagreement."""
        district_code = record.district_code
        if not district_code:
            result.warnings.append(
                f"The postcode directory gives {record.postcode} no district; the answer is "
                "from the boundary map only."
            )
            return
        force_code = self.force_for_district(district_code, record.postcode)
        dir_force = _force_ref(force_code, self._force_ons)
        dir_district = Named(district_code, self.district_name(district_code))
        result.directory = {
            "district": asdict(dir_district),
            "force": asdict(dir_force) if dir_force else None,
        }
        if dir_force is None:
            # A district code no table knows (a newer directory than this release).
            result.force = None
            result.district = dir_district
            result.bcu = None
            result.ward = None
            result.method = "directory"
            result.ward_note = self.ward_note(district_code, "outside")
            result.bcu_note = None
            result.warnings.append(
                f"{record.postcode} is in {dir_district.name} ({district_code}). Its force "
                "needs the national reference pack: run `crossforce data fetch DIR` and "
                "`crossforce data load DIR`, or set CROSSFORCE_REFERENCE_DIR."
            )
            return
        if forces.is_outside_england_and_wales(dir_force.code):
            result.force = dir_force
            result.district = dir_district
            result.bcu = result.ward = result.nearest_other_force = None
            result.distance_to_boundary_m = None
            result.near_boundary = False
            result.method = "directory"
            result.ward_note = self.ward_note(district_code, "directory")
            result.bcu_note = _bcu_note(dir_force)
            result.warnings = [
                f"Outside England and Wales: {dir_force.name} is responsible. A move here is a "
                "handoff to that force."
            ]
            return
        if not self.covers_district(district_code):
            # England and Wales outside the set (the London default): the district's force is
            # exact (force areas are whole districts), its boundary is not loaded.
            result.force = dir_force
            result.district = dir_district
            result.bcu = result.ward = result.nearest_other_force = None
            result.distance_to_boundary_m = None
            result.near_boundary = False
            result.method = "by district"
            result.ward_note = self.ward_note(district_code, "outside")
            result.bcu_note = _bcu_note(dir_force)
            result.warnings = [
                f"{record.postcode} is in {dir_district.name} ({district_code}), which is in "
                f"{dir_force.name}'s area: force areas are whole districts. The boundary set "
                f"{res.boundary_set} does not cover it, so the distance to the nearest force "
                "boundary is unknown; it needs the national reference pack (`crossforce data "
                "fetch DIR` and `crossforce data load DIR`, or set CROSSFORCE_REFERENCE_DIR)."
            ]
            if res.force_code and res.force_code != dir_force.code:
                # The centroid falls in (or next to) a covered district of another force: it
                # is at that force's boundary, whatever the unloaded lines say.
                other = forces.force_name(res.force_code)
                result.nearest_other_force = Named(other.code, other.name)
                result.distance_to_boundary_m = 0.0
                result.near_boundary = True
                result.warnings.append(
                    f"Its centroid falls in {other.name}'s area on the boundary map: addresses "
                    "in this postcode may lie on both sides. Verify the address."
                )
            return
        same_district = res.district_code == district_code
        if same_district:
            return
        result.polygon = {
            "district": asdict(result.district) if result.district else None,
            "force": asdict(result.force) if result.force else None,
            "method": res.method,
        }
        if res.force_code != dir_force.code:
            polygon_force = result.force.name if result.force else "no force"
            # The centroid lies across the line from the official answer: the other side is
            # the polygon's force, at no distance.
            if result.force is not None:
                result.nearest_other_force = Named(result.force.code, result.force.name)
                result.distance_to_boundary_m = 0.0
            result.warnings.append(
                f"The two sources disagree: the postcode directory puts {record.postcode} in "
                f"{dir_district.name} ({dir_force.name}), but its centroid falls in "
                f"{result.district.name if result.district else 'no district'} ({polygon_force}) "
                "on the boundary map. Addresses in this postcode may lie on both sides: verify "
                "the address."
            )
            result.near_boundary = True
        else:
            result.warnings.append(
                f"The postcode directory puts {record.postcode} in {dir_district.name}; its "
                f"centroid falls in {result.district.name if result.district else 'no district'} "
                "on the boundary map (same force)."
            )
        result.force = dir_force
        result.district = dir_district
        result.bcu = self.bcu_for_district(district_code)
        result.ward = None
        result.ward_note = "no ward: the two sources disagree on the district"
        result.bcu_note = None if result.bcu else _bcu_note(dir_force)


def _bcu_note(force: ForceRef | None) -> str | None:
    """Say why an answer has no Met BCU: BCUs exist only inside the Met."""
    if force is not None and force.code != forces.METROPOLITAN:
        return "not in the Met"
    return None


def _latlon(easting: float, northing: float) -> tuple[float | None, float | None]:
    try:
        lat, lon = bng_to_wgs84(easting, northing)
    except ValueError:
        return None, None
    return round(lat, 6), round(lon, 6)
