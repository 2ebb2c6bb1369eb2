"""Boundary sets in the database: load (inactive) → activate → read back → resolver.

A boundary set is stored as one ``boundary_set`` row and one ``area`` row per force, district,
ward and Met BCU, with WKB geometry in British National Grid. Loading never changes what lookups
use; activating does, and the database holds at most one active set.

Every function takes an explicit ``Session`` and leaves committing to the caller
(``coordination.db.session_scope``); every write records an audit event in that same session.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import utcnow
from coordination.errors import ConflictError, NotFoundError, ReferenceDataError
from coordination.ledger.chain import record_event
from coordination.models import Area, BoundarySet, BoundarySetPublic, Force
from coordination.security.permissions import require
from geo.forces import FORCES, METROPOLITAN
from geo.layers import BNG, BoundaryLayers

if TYPE_CHECKING:
    from coordination.core.settings import Settings
    from geo.resolver import Resolver

_COUNTRY_BY_PREFIX = {
    "E": "England",
    "W": "Wales",
    "S": "Scotland",
    "N": "Northern Ireland",
    "M": "Isle of Man",
}
_INSERT_CHUNK = 500


def _country(code: str, ons_name: str) -> str:
    if code.startswith("L"):
        # Jersey and Guernsey share the L99 pseudo prefix; each is its own jurisdiction.
        return ons_name
    return _COUNTRY_BY_PREFIX.get(code[:1], "Unknown")


def seed_forces(session: Session, *, actor: str) -> int:
    """Insert or update the force table from ``geo.forces.FORCES``.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is seeding (for the audit log).

    Returns
    -------
    int
        How many forces were inserted or changed; 0 when the table was already up to date, in
        which case nothing is written and no audit event is recorded.
    """
    require(session, actor=actor, action="reference.manage", entity_type="force")
    existing = {force.code: force for force in session.exec(select(Force)).all()}
    inserted: list[str] = []
    updated: list[str] = []
    for known in FORCES.values():
        values = {
            "ons_name": known.ons_name,
            "name": known.name,
            "country": _country(known.code, known.ons_name),
        }
        row = existing.get(known.code)
        if row is None:
            session.add(Force(code=known.code, **values))
            inserted.append(known.code)
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)
            updated.append(known.code)
    if not inserted and not updated:
        return 0
    session.flush()
    record_event(
        session,
        actor=actor,
        action="force.seed",
        entity_type="force",
        entity_id=None,
        details={"inserted": inserted, "updated": updated},
    )
    return len(inserted) + len(updated)


def force_names(session: Session) -> dict[str, str]:
    """Return every force's display name by ONS code."""
    return {code: name for code, name in session.exec(select(Force.code, Force.name)).all()}


def bcu_names(session: Session) -> dict[str, str]:
    """Return every Met BCU's name by code, as the active boundary set names it.

    A code stored on an older residence but absent from the active set is not listed: callers
    show the code itself then.
    """
    rows = session.exec(
        select(Area.code, Area.name)
        .join(BoundarySet, col(BoundarySet.id) == Area.boundary_set_id)
        .where(Area.kind == "bcu", col(BoundarySet.active).is_(True))
    ).all()
    return {code: name for code, name in rows}


def _wkb(geometries: gpd.GeoSeries) -> list[bytes | None]:
    # Layers without a CRS are taken to be in BNG already, as the BoundaryLayers contract says.
    if geometries.crs is not None and geometries.crs.to_epsg() != 27700:
        geometries = geometries.to_crs(BNG)
    values = shapely.to_wkb(np.asarray(geometries.values, dtype=object))
    return [None if value is None else bytes(value) for value in values]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _area_rows(layers: BoundaryLayers, boundary_set_id: int) -> list[dict[str, Any]]:
    bcus = layers.bcus if layers.bcus is not None else pd.DataFrame()
    bcu_of_district: dict[str, str] = {}
    bcu_names: dict[str, str] = {}
    for row in bcus.itertuples(index=False):
        bcu_of_district[str(row.district_code)] = str(row.bcu_code)
        bcu_names.setdefault(str(row.bcu_code), str(row.bcu_name))
    districts = layers.districts
    force_of_district = {
        str(code): _text(force)
        for code, force in zip(districts["code"], districts["force_code"], strict=True)
    }

    rows: list[dict[str, Any]] = []

    def add(
        kind: str,
        code: str,
        name: str,
        parent: str | None,
        force: str | None,
        bcu: str | None,
        geometry: bytes | None,
    ) -> None:
        rows.append(
            {
                "boundary_set_id": boundary_set_id,
                "kind": kind,
                "code": code,
                "name": name,
                "parent_code": parent,
                "force_code": force,
                "bcu_code": bcu,
                "geometry": geometry,
            }
        )

    forces = layers.forces
    for code, name, geometry in zip(
        forces["code"], forces["ons_name"], _wkb(forces.geometry), strict=True
    ):
        add("force", str(code), str(name), None, str(code), None, geometry)

    for code, name, force, geometry in zip(
        districts["code"],
        districts["name"],
        districts["force_code"],
        _wkb(districts.geometry),
        strict=True,
    ):
        force_code = _text(force)
        add(
            "district",
            str(code),
            str(name),
            force_code,
            force_code,
            bcu_of_district.get(str(code)),
            geometry,
        )

    if layers.wards is not None:
        wards = layers.wards
        for code, name, district, geometry in zip(
            wards["code"],
            wards["name"],
            wards["district_code"],
            _wkb(wards.geometry),
            strict=True,
        ):
            district_code = str(district)
            add(
                "ward",
                str(code),
                str(name),
                district_code,
                force_of_district.get(district_code),
                bcu_of_district.get(district_code),
                geometry,
            )

    for bcu_code, bcu_name in bcu_names.items():
        members = [d for d, b in bcu_of_district.items() if b == bcu_code]
        force_code = next(
            (f for f in (force_of_district.get(d) for d in members) if f), METROPOLITAN
        )
        add("bcu", bcu_code, bcu_name, force_code, force_code, None, None)
    return rows


def store_layers(
    session: Session, *, actor: str, layers: BoundaryLayers, checksum: str
) -> BoundarySetPublic:
    """Store a boundary set, inactive, with all its areas.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is loading it (for the audit log).
    layers
        The set in memory (any CRS; stored as EPSG:27700 WKB).
    checksum
        Checksum of the source (``geo.pack.pack_checksum``), to recognise a pack loaded before.

    Returns
    -------
    BoundarySetPublic
        The new, inactive set.

    Raises
    ------
    ConflictError
        A set with this name already exists.
    """
    require(session, actor=actor, action="reference.manage", entity_type="boundary_set")
    if session.exec(select(BoundarySet.id).where(BoundarySet.name == layers.name)).first():
        raise ConflictError(
            f"A boundary set named {layers.name!r} already exists: load it under another name"
        )
    n_wards = 0 if layers.wards is None else len(layers.wards)
    boundary_set = BoundarySet(
        name=layers.name,
        source=layers.source,
        vintage=layers.vintage,
        approximate=layers.approximate,
        checksum=checksum,
        coverage_note=layers.coverage_note,
        loaded_by=actor,
        loaded_at=utcnow(),
        active=False,
        n_forces=len(layers.forces),
        n_districts=len(layers.districts),
        n_wards=n_wards,
    )
    session.add(boundary_set)
    session.flush()
    if boundary_set.id is None:
        raise RuntimeError("boundary_set.id is missing")
    rows = _area_rows(layers, boundary_set.id)
    table = Area.__table__  # type: ignore[attr-defined]
    # Core executemany in chunks: one round trip per chunk instead of one ORM object per area,
    # and bounded memory for the parameter sets (the national pack is ~1,100 areas, ~10 MB WKB).
    for start in range(0, len(rows), _INSERT_CHUNK):
        session.execute(sa.insert(table), rows[start : start + _INSERT_CHUNK])
    record_event(
        session,
        actor=actor,
        action="boundary_set.load",
        entity_type="boundary_set",
        entity_id=layers.name,
        details={
            "source": layers.source,
            "vintage": layers.vintage,
            "checksum": checksum,
            "approximate": layers.approximate,
            "forces": boundary_set.n_forces,
            "districts": boundary_set.n_districts,
            "wards": n_wards,
            "areas": len(rows),
        },
    )
    return BoundarySetPublic.model_validate(boundary_set)


def load_pack(
    session: Session, *, actor: str, path: Path | str, name: str | None = None
) -> BoundarySetPublic:
    """Read a reference pack and store it as a new, inactive boundary set.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is loading it.
    path
        Pack directory or zip.
    name
        Set name; default from the pack (``geo.pack.read_pack``).

    Returns
    -------
    BoundarySetPublic
        The new, inactive set.

    Raises
    ------
    PackValidationError
        The pack is not fit to use.
    ConflictError
        A set with this name already exists.
    """
    require(session, actor=actor, action="reference.manage", entity_type="boundary_set")
    from geo.pack import pack_checksum, read_pack

    layers = read_pack(Path(path), name=name)
    return store_layers(session, actor=actor, layers=layers, checksum=pack_checksum(Path(path)))


def _get_row(session: Session, name: str) -> BoundarySet:
    row = session.exec(select(BoundarySet).where(BoundarySet.name == name)).first()
    if row is None:
        known = sorted(session.exec(select(BoundarySet.name)).all())
        listing = ", ".join(known) if known else "none loaded yet"
        raise NotFoundError(f"No boundary set named {name!r} (known: {listing})")
    return row


def activate(session: Session, *, actor: str, name: str) -> BoundarySetPublic:
    """Make a boundary set the one lookups use.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is activating it.
    name
        The set to activate. Activating the active set changes nothing and records nothing.

    Returns
    -------
    BoundarySetPublic
        The set, now active.

    Raises
    ------
    NotFoundError
        No set has that name; the message lists the known names.
    """
    require(session, actor=actor, action="reference.manage", entity_type="boundary_set")
    row = _get_row(session, name)
    if row.active:
        return BoundarySetPublic.model_validate(row)
    previous = session.exec(select(BoundarySet.name).where(col(BoundarySet.active))).first()
    # Deactivate first and flush, so the one-active partial index never sees two active rows.
    session.execute(
        sa.update(BoundarySet)
        .where(col(BoundarySet.active))
        .values(active=False)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    row.active = True
    row.activated_at = utcnow()
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="boundary_set.activate",
        entity_type="boundary_set",
        entity_id=name,
        details={"previous": previous},
    )
    return BoundarySetPublic.model_validate(row)


def list_sets(session: Session) -> list[BoundarySetPublic]:
    """Return every boundary set, oldest first."""
    rows = session.exec(select(BoundarySet).order_by(col(BoundarySet.id))).all()
    return [BoundarySetPublic.model_validate(row) for row in rows]


def get_active(session: Session) -> BoundarySetPublic | None:
    """Return the active boundary set, or ``None`` when none is active."""
    row = session.exec(select(BoundarySet).where(col(BoundarySet.active))).first()
    return None if row is None else BoundarySetPublic.model_validate(row)


def get_set(session: Session, name: str) -> BoundarySetPublic:
    """Return one boundary set by name.

    Raises
    ------
    NotFoundError
        No set has that name; the message lists the known names.
    """
    return BoundarySetPublic.model_validate(_get_row(session, name))


def find_by_checksum(session: Session, checksum: str) -> BoundarySetPublic | None:
    """Return the (oldest) boundary set loaded from a source with this checksum, if any."""
    row = session.exec(
        select(BoundarySet).where(BoundarySet.checksum == checksum).order_by(col(BoundarySet.id))
    ).first()
    return None if row is None else BoundarySetPublic.model_validate(row)


def _frame(rows: Iterable[Any], columns: dict[str, str]) -> gpd.GeoDataFrame:
    rows = list(rows)
    data = {target: [getattr(r, source) for r in rows] for target, source in columns.items()}
    geometry = shapely.from_wkb(np.array([r.geometry for r in rows], dtype=object))
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs=BNG), crs=BNG)


def read_layers(session: Session, *, name: str) -> BoundaryLayers:
    """Rebuild a stored boundary set as ``BoundaryLayers`` (EPSG:27700), in stored order.

    Parameters
    ----------
    session
        Open session.
    name
        The set to read.

    Returns
    -------
    BoundaryLayers
        ``wards`` is ``None`` when the set has no wards.

    Raises
    ------
    NotFoundError
        No set has that name.
    """
    boundary_set = _get_row(session, name)
    table = Area.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.select(table).where(table.c.boundary_set_id == boundary_set.id).order_by(table.c.id)
    ).all()
    by_kind: dict[str, list[Any]] = {"force": [], "district": [], "ward": [], "bcu": []}
    for row in result:
        by_kind[row.kind].append(row)

    forces = _frame(by_kind["force"], {"code": "code", "ons_name": "name"})
    districts = _frame(
        by_kind["district"], {"code": "code", "name": "name", "force_code": "force_code"}
    )
    wards = (
        _frame(by_kind["ward"], {"code": "code", "name": "name", "district_code": "parent_code"})
        if by_kind["ward"]
        else None
    )
    bcu_names = {row.code: row.name for row in by_kind["bcu"]}
    bcus = pd.DataFrame(
        [
            {
                "district_code": row.code,
                "bcu_code": row.bcu_code,
                "bcu_name": bcu_names.get(row.bcu_code, row.bcu_code),
            }
            for row in by_kind["district"]
            if row.bcu_code
        ],
        columns=["district_code", "bcu_code", "bcu_name"],
    )
    return BoundaryLayers(
        name=boundary_set.name,
        source=boundary_set.source,
        vintage=boundary_set.vintage,
        districts=districts,
        forces=forces,
        wards=wards,
        bcus=bcus,
        approximate=boundary_set.approximate,
        coverage_note=boundary_set.coverage_note,
    )


def resolver_cache_path(settings: Settings, boundary_set: BoundarySetPublic) -> Path:
    """Return where the prepared resolver of a set is cached (a directory of arrays)."""
    return settings.cache_dir / f"resolver-{boundary_set.name}-{boundary_set.checksum[:12]}.arrays"


def get_resolver(session: Session, *, settings: Settings) -> Resolver:
    """Return a prepared resolver for the active set, from the cache file when there is one.

    Parameters
    ----------
    session
        Open session.
    settings
        Gives the cache directory and the resolver's distances.

    Returns
    -------
    Resolver
        Built with ``settings.near_boundary_m`` and ``settings.nearest_max_m`` and cached under
        ``settings.cache_dir`` as ``resolver-<name>-<checksum[:12]>.arrays`` (a directory of
        arrays). A cached resolver that cannot be read, or was built with other distances, is
        rebuilt and replaced.

    Raises
    ------
    NotFoundError
        No boundary set is active.
    """
    from geo.resolver import Resolver

    active = get_active(session)
    if active is None:
        raise NotFoundError("No boundary set is active: run `crossforce init`")
    path = resolver_cache_path(settings, active)
    wanted = (float(settings.near_boundary_m), float(settings.nearest_max_m))
    if path.exists():
        try:
            cached = Resolver.load(path)
        except ReferenceDataError:
            cached = None  # from another code version, or damaged: rebuilt below
        # The distances shape the prepared grid, so a cache built with others is rebuilt.
        if cached is not None and (cached.near_boundary_m, cached.nearest_max_m) == wanted:
            return cached
    layers = read_layers(session, name=active.name)
    resolver = Resolver.build(layers, near_boundary_m=wanted[0], nearest_max_m=wanted[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    resolver.save(path)  # atomic: two processes warming at once never see half a file
    for stale in path.parent.glob("resolver-*.pkl"):
        # Caches of the old pickle format are never read again (a pickle can run code).
        stale.unlink(missing_ok=True)
    return resolver
