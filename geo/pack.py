"""Read a boundary pack (a directory, or a .zip of one) into `BoundaryLayers`.

A pack is whatever ONS files a person has to hand: GeoPackages, GeoJSON, shapefiles, CSV lookups,
or zips of those. Layers are recognised by their ONS columns (``PFA24CD``, ``LAD25CD``, ``WD25CD``,
``BCU_CODE``…), never by file name, because ONS renames files with every release while its column
scheme stays put. Every layer is reprojected to British National Grid (EPSG:27700) and the whole
pack is validated before anything is built (`geo._validate`), so a person sees every fault at once.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from geo._validate import RawLayer, RawPack, district_forces, validate
from geo.errors import PackValidationError, ReferenceDataError
from geo.forces import MET_BCUS, force_name
from geo.layers import BNG, BoundaryLayers

__all__ = ["pack_checksum", "read_pack"]

_LAYER_SUFFIXES = frozenset({".gpkg", ".geojson", ".json", ".shp", ".csv"})
# SOURCES.json records when and from where `geo.fetch` downloaded a pack; it is metadata, not
# content, and leaving it out keeps the checksum (and so the default name) the same for two
# downloads of identical data.
_METADATA_FILES = frozenset({"sources.json"})
_ONS_COLUMN = re.compile(r"^(PFA|LAD|WD)(\d\d)(CD|NM)$", re.IGNORECASE)
_CHUNK = 1 << 20
# How far a ward's representative point may lie outside every district and still be placed in
# the nearest one: wider than the generalisation slivers (about 20 m), far narrower than a ward.
_WARD_SNAP_M = 250.0


def pack_checksum(path: Path | str) -> str:
    """Return a stable SHA-256 of a pack's files.

    Files are taken in order of their relative names (``/``-separated); each contributes its
    name and its content. Hidden files, ``__MACOSX`` folders and ``SOURCES.json`` (download
    metadata) are left out. A zip is hashed over its members, with a single top-level folder
    stripped, so a zip of a directory has the same checksum as the directory.

    Parameters
    ----------
    path
        A pack directory or a ``.zip`` of one.

    Returns
    -------
    str
        64 lowercase hex digits.

    Raises
    ------
    ReferenceDataError
        When the path is neither a directory nor a readable zip.
    """
    root = _existing(path)
    digest = hashlib.sha256()
    if root.is_dir():
        for rel, file in _pack_files(root):
            digest.update(rel.encode() + b"\0")
            digest.update(_file_digest(file))
        return digest.hexdigest()
    with _open_zip(root) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and _wanted(m.filename)]
        names = _strip_common_folder([m.filename for m in members])
        for rel, member in sorted(zip(names, members, strict=True), key=lambda p: p[0]):
            digest.update(rel.encode() + b"\0")
            inner = hashlib.sha256()
            with archive.open(member) as fh:
                while chunk := fh.read(_CHUNK):
                    inner.update(chunk)
            digest.update(inner.digest())
    return digest.hexdigest()


def read_pack(path: Path | str, *, name: str | None = None) -> BoundaryLayers:
    """Read, validate and assemble a boundary pack.

    Recognised layers (column names are matched case-insensitively, ``nn`` is a vintage year):

    - force areas: ``PFAnnCD`` (+ ``PFAnnNM``) with geometry, no LAD/WD code;
    - districts: ``LADnnCD`` (+ ``LADnnNM``, optional ``PFAnnCD``) with geometry, no WD code;
    - wards: ``WDnnCD`` (+ ``WDnnNM``, ``LADnnCD``) with geometry; a ward layer without a LAD
      column gets its district from the district its representative point lies in;
    - district → force lookup: ``LADnnCD`` and ``PFAnnCD`` without geometry (rows deduplicated);
    - force names: ``PFAnnCD``/``PFAnnNM`` without geometry;
    - Met BCUs: ``BCU_CODE``, ``BCU_NAME``, ``LADnnCD`` without geometry.

    Files read: ``*.gpkg`` (every layer), ``*.geojson``/``*.json``, ``*.shp``, ``*.csv`` and zips
    of those, anywhere under the pack. Anything else (a README) is ignored.

    Parameters
    ----------
    path
        A pack directory or a ``.zip`` of one.
    name
        Boundary set name; by default ``ons-<vintage>-<checksum[:8]>``, e.g.
        ``"ons-pfa24-lad25-wd25-1a2b3c4d"``.

    Returns
    -------
    BoundaryLayers
        Districts with their force codes, force areas (dissolved from districts when the pack has
        no force layer), wards when present, and BCUs (``geo.forces.MET_BCUS`` when the pack has
        none), all in EPSG:27700 and sorted by code.

    Raises
    ------
    PackValidationError
        With every problem found (bad geometry, duplicate or malformed codes, missing links,
        layers without a CRS…), or when no boundary layer is recognised at all.
    ReferenceDataError
        When the path does not exist or is not a directory or a zip.
    """
    root = _existing(path)
    checksum = pack_checksum(root)
    source = str(root)
    with ExitStack() as stack:
        directory = root if root.is_dir() else _extract(root, stack)
        raw = _read_raw(directory, source, stack)
        # Everything is in memory now; the temporary extraction can go.
    _assign_ward_districts(raw)
    validate(raw)
    vintage = _vintage(raw)
    if name is None:
        name = f"ons-{vintage.lower().replace(' ', '-')}-{checksum[:8]}"
    return _assemble(raw, name=name, source=source, vintage=vintage)


# --- files -------------------------------------------------------------------------------------


def _existing(path: Path | str) -> Path:
    root = Path(path).expanduser().resolve()
    if root.is_dir():
        return root
    if root.is_file() and zipfile.is_zipfile(root):
        return root
    if not root.exists():
        raise ReferenceDataError(f"boundary pack {root} does not exist")
    raise ReferenceDataError(f"boundary pack {root} is neither a directory nor a zip file")


def _wanted(rel: str) -> bool:
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return parts[-1].lower() not in _METADATA_FILES


def _pack_files(root: Path) -> list[tuple[str, Path]]:
    files = [
        (p.relative_to(root).as_posix(), p)
        for p in root.rglob("*")
        if p.is_file() and _wanted(p.relative_to(root).as_posix())
    ]
    return sorted(files)


def _file_digest(path: Path) -> bytes:
    inner = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            inner.update(chunk)
    return inner.digest()


def _strip_common_folder(names: list[str]) -> list[str]:
    split = [n.replace("\\", "/").lstrip("/").split("/") for n in names]
    if split and all(len(s) > 1 for s in split) and len({s[0] for s in split}) == 1:
        return ["/".join(s[1:]) for s in split]
    return ["/".join(s) for s in split]


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReferenceDataError(f"cannot open zip {path}: {exc}") from exc


#: A pack unpacks to at most this much (the national pack is about 10 MB): more is refused before
#: anything is written, so a "zip bomb" cannot fill the disk or the memory.
MAX_UNPACKED_BYTES = 1024**3
_MAX_MEMBERS = 10_000


def _check_zip(archive: zipfile.ZipFile, path: Path) -> None:
    infos = archive.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise ReferenceDataError(f"{path.name}: a zip of {len(infos):,} files is not a pack")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNPACKED_BYTES:
        raise ReferenceDataError(
            f"{path.name} unpacks to {total / 1024**3:.1f} GB: a boundary pack is far smaller "
            f"(at most {MAX_UNPACKED_BYTES / 1024**3:.0f} GB is accepted)"
        )


def _extract(archive_path: Path, stack: ExitStack) -> Path:
    target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crossforce-pack-")))
    with _open_zip(archive_path) as archive:
        _check_zip(archive, archive_path)
        # ZipFile.extractall drops absolute paths and ".." parts, so members stay inside target.
        archive.extractall(target)
    return target


# --- recognising layers ------------------------------------------------------------------------


@dataclass
class _Columns:
    """The ONS columns of one table: role (``"lad_cd"``…) → (vintage token, column name)."""

    found: dict[str, tuple[str, str]]
    bcu_code: str | None
    bcu_name: str | None

    def has(self, role: str) -> bool:
        return role in self.found

    def column(self, role: str) -> str:
        return self.found[role][1]

    def vintage(self, role: str) -> str:
        return self.found[role][0]

    def bcu_columns(self) -> tuple[str, str]:
        """The BCU code and name columns, which a table is a "bcus" table by having."""
        if self.bcu_code is None or self.bcu_name is None:
            raise KeyError("the table has no BCU code and name columns")
        return self.bcu_code, self.bcu_name


def _columns(frame: pd.DataFrame) -> _Columns:
    found: dict[str, tuple[str, str]] = {}
    lowered: dict[str, str] = {}
    for column in frame.columns:
        if not isinstance(column, str):
            continue
        lowered[column.strip().lower()] = column
        match = _ONS_COLUMN.match(column.strip())
        if match is None:
            continue
        kind, year, part = (g.upper() for g in match.groups())
        role = f"{kind.lower()}_{part.lower()}"
        token = f"{kind}{year}"
        # Some ONS lookups carry two vintages side by side; the newest is the one that matters.
        if role not in found or token > found[role][0]:
            found[role] = (token, column)
    return _Columns(found, lowered.get("bcu_code"), lowered.get("bcu_name"))


def _kind(frame: pd.DataFrame, cols: _Columns) -> str | None:
    has_geometry = isinstance(frame, gpd.GeoDataFrame)
    if has_geometry:
        if cols.has("wd_cd"):
            return "wards"
        if cols.has("lad_cd"):
            return "districts"
        if cols.has("pfa_cd"):
            return "forces"
        return None
    if cols.bcu_code and cols.bcu_name and cols.has("lad_cd"):
        return "bcus"
    if cols.has("lad_cd") and cols.has("pfa_cd") and not cols.has("wd_cd"):
        return "lookup"
    if cols.has("pfa_cd") and cols.has("pfa_nm") and not cols.has("lad_cd"):
        return "force_names"
    return None


def _text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _normalise(kind: str, frame: pd.DataFrame, cols: _Columns, label: str) -> RawLayer:
    def col(role: str) -> pd.Series:
        if cols.has(role):
            return _text(frame[cols.column(role)]).reset_index(drop=True)
        return pd.Series(pd.NA, index=pd.RangeIndex(len(frame)), dtype="string")

    vintages = {role[:-3]: cols.vintage(role) for role in cols.found if role.endswith("_cd")}
    if kind == "lookup":
        data = pd.DataFrame(
            {
                "district_code": col("lad_cd"),
                "force_code": col("pfa_cd"),
                "district_name": col("lad_nm"),
                "force_name": col("pfa_nm"),
            }
        )
        return RawLayer(label, data, vintages)
    if kind == "force_names":
        data = pd.DataFrame({"code": col("pfa_cd"), "name": col("pfa_nm")})
        return RawLayer(label, data, vintages)
    if kind == "bcus":
        bcu_code, bcu_name = cols.bcu_columns()
        data = pd.DataFrame(
            {
                "district_code": col("lad_cd"),
                "bcu_code": _text(frame[bcu_code]).reset_index(drop=True),
                "bcu_name": _text(frame[bcu_name]).reset_index(drop=True),
            }
        )
        return RawLayer(label, data, vintages)

    if not isinstance(frame, gpd.GeoDataFrame):  # _kind gives these kinds only to geometry
        raise TypeError(f"{label}: a {kind} layer without geometry")
    if kind == "forces":
        columns = {"code": col("pfa_cd"), "name": col("pfa_nm")}
    elif kind == "districts":
        columns = {"code": col("lad_cd"), "name": col("lad_nm")}
        if cols.has("pfa_cd"):
            columns["force_code"] = col("pfa_cd")
    else:
        columns = {"code": col("wd_cd"), "name": col("wd_nm"), "district_code": col("lad_cd")}
    geo = gpd.GeoDataFrame(
        columns, geometry=np.asarray(frame.geometry.values, dtype=object), crs=frame.crs
    )
    if frame.crs is None:
        return RawLayer(label, geo, vintages, has_crs=False)
    if frame.crs.to_epsg() != 27700:
        geo = geo.to_crs(BNG)
    return RawLayer(label, geo, vintages)


def _tables(path: Path, label: str) -> tuple[list[tuple[str, pd.DataFrame]], list[str]]:
    """Read one file into (label, table) pairs; unreadable files become problems."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            return [(label, frame)], []
        if suffix == ".gpkg":
            return [
                (f"{label}:{layer}", pyogrio.read_dataframe(path, layer=layer, use_arrow=True))
                for layer in pyogrio.list_layers(path)[:, 0]
            ], []
        return [(label, pyogrio.read_dataframe(path, use_arrow=True))], []
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        if suffix == ".json":
            # Plain .json files are often metadata rather than GeoJSON; not being a layer is fine.
            return [], []
        return [], [f"{label}: cannot be read ({_first_line(exc)})"]
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return [], [f"{label}: cannot be read as CSV ({_first_line(exc)})"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _walk(directory: Path, prefix: str, stack: ExitStack) -> Iterator[tuple[str, Path]]:
    for rel, file in _pack_files(directory):
        label = f"{prefix}{rel}"
        suffix = file.suffix.lower()
        if suffix == ".zip":
            inner = _extract(file, stack)
            yield from _walk(inner, f"{label}/", stack)
        elif suffix in _LAYER_SUFFIXES:
            yield label, file


def _read_raw(directory: Path, source: str, stack: ExitStack) -> RawPack:
    raw = RawPack(source=source)
    seen: list[str] = []
    for label, file in _walk(directory, "", stack):
        tables, problems = _tables(file, label)
        raw.problems += problems
        for table_label, frame in tables:
            cols = _columns(frame)
            kind = _kind(frame, cols)
            seen.append(f"{table_label} ({kind or 'not recognised'})")
            if kind is None:
                continue
            layer = _normalise(kind, frame, cols, table_label)
            if not layer.has_crs:
                raw.problems.append(
                    f"{table_label}: no coordinate reference system, so it cannot be placed "
                    "in EPSG:27700"
                )
            existing: RawLayer | None = getattr(raw, kind)
            if existing is not None:
                raw.problems.append(
                    f"{table_label}: a second {kind.replace('_', ' ')} layer (already have "
                    f"{existing.label}); keep one"
                )
                continue
            setattr(raw, kind, layer)
    if all(
        getattr(raw, k) is None
        for k in ("forces", "districts", "wards", "lookup", "force_names", "bcus")
    ):
        looked = "; ".join(seen) if seen else "no .gpkg, .geojson, .json, .shp, .csv or .zip files"
        raise PackValidationError(
            f"no boundary layers found in {source} (looked for ONS columns such as LAD24CD)",
            problems=[*raw.problems, f"{source}: files read: {looked}"],
        )
    return raw


# --- building ----------------------------------------------------------------------------------


def _assign_ward_districts(raw: RawPack) -> None:
    """Give wards without a LAD column the district their representative point lies in.

    ONS ward and district layers are generalised separately, so a ward's point can fall in a
    sliver no district covers; such a ward takes the nearest district within `_WARD_SNAP_M`.
    """
    if raw.wards is None or raw.districts is None:
        return
    wards = raw.wards.frame
    if wards["district_code"].notna().any() or not (raw.wards.has_crs and raw.districts.has_crs):
        return
    if not isinstance(wards, gpd.GeoDataFrame):  # ward layers are read with their geometry
        raise TypeError(f"{raw.wards.label}: a ward layer without geometry")
    districts = raw.districts.frame.sort_values("code", kind="stable")
    geoms = np.asarray(wards.geometry.values, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & shapely.is_valid(geoms)
    points = np.full(len(geoms), None, dtype=object)
    points[usable] = shapely.point_on_surface(geoms[usable])
    tree = shapely.STRtree(np.asarray(districts.geometry.values, dtype=object))
    ward_idx, district_idx = tree.query(points, predicate="within")
    # Districts are sorted by code and the lowest hit per ward is kept: the lower code wins a tie.
    none = len(districts)
    hit = np.full(len(geoms), none, dtype=np.int64)
    np.minimum.at(hit, ward_idx, district_idx)
    hit[hit == none] = -1
    stray = np.flatnonzero(usable & (hit < 0))
    if len(stray):
        near_ward, near_district = tree.query_nearest(
            points[stray], max_distance=_WARD_SNAP_M, all_matches=False
        )
        hit[stray[near_ward]] = near_district
    codes = districts["code"].tolist()
    assigned = [codes[d] if d >= 0 else None for d in hit.tolist()]
    wards["district_code"] = pd.array(assigned, dtype="string")
    raw.wards.vintages.setdefault("lad", raw.districts.vintages.get("lad", ""))


def _vintage(raw: RawPack) -> str:
    tokens: list[str] = []
    for layer in (raw.forces, raw.force_names, raw.lookup, raw.districts):
        if layer is not None and "pfa" in layer.vintages:
            tokens.append(layer.vintages["pfa"])
            break
    if raw.districts is not None and "lad" in raw.districts.vintages:
        tokens.append(raw.districts.vintages["lad"])
    if raw.wards is not None and "wd" in raw.wards.vintages:
        tokens.append(raw.wards.vintages["wd"])
    return " ".join(tokens)


def _force_names(raw: RawPack) -> dict[str, str]:
    names: dict[str, str] = {}
    sources: list[tuple[pd.DataFrame, str, str]] = []
    if raw.forces is not None:
        sources.append((raw.forces.frame, "code", "name"))
    if raw.force_names is not None:
        sources.append((raw.force_names.frame, "code", "name"))
    if raw.lookup is not None:
        sources.append((raw.lookup.frame, "force_code", "force_name"))
    for frame, code_col, name_col in sources:
        for code, name in zip(frame[code_col], frame[name_col], strict=True):
            if pd.notna(code) and pd.notna(name):
                names.setdefault(str(code), str(name))
    return names


def _assemble(raw: RawPack, *, name: str, source: str, vintage: str) -> BoundaryLayers:
    if raw.districts is None:  # validate() has already refused such a pack
        raise PackValidationError(f"boundary pack {source} has no district layer")
    d = raw.districts.frame
    forces_of = district_forces(raw.districts, raw.lookup)
    district_names = d["name"].copy()
    if raw.lookup is not None:
        lookup_names = (
            raw.lookup.frame.dropna(subset=["district_code"])
            .drop_duplicates("district_code")
            .set_index("district_code")["district_name"]
        )
        district_names = district_names.fillna(d["code"].map(lookup_names))
    districts = gpd.GeoDataFrame(
        {
            "code": d["code"].astype(str).to_numpy(),
            "name": district_names.fillna(d["code"]).astype(str).to_numpy(),
            "force_code": forces_of.reindex(d["code"]).astype(str).to_numpy(),
        },
        geometry=np.asarray(d.geometry.values, dtype=object),
        crs=BNG,
    )
    districts = districts.sort_values("code", kind="stable").reset_index(drop=True)

    names = _force_names(raw)
    if raw.forces is not None:
        f = raw.forces.frame
        forces = gpd.GeoDataFrame(
            {"code": f["code"].astype(str).to_numpy()},
            geometry=np.asarray(f.geometry.values, dtype=object),
            crs=BNG,
        )
    else:
        forces = districts.dissolve(by="force_code", as_index=False)[["force_code", "geometry"]]
        forces = forces.rename(columns={"force_code": "code"})
    forces.insert(1, "ons_name", [names.get(c) or force_name(c).ons_name for c in forces["code"]])
    forces = forces.sort_values("code", kind="stable").reset_index(drop=True)

    wards: gpd.GeoDataFrame | None = None
    if raw.wards is not None:
        w = raw.wards.frame
        wards = gpd.GeoDataFrame(
            {
                "code": w["code"].astype(str).to_numpy(),
                "name": w["name"].fillna(w["code"]).astype(str).to_numpy(),
                "district_code": w["district_code"].astype(str).to_numpy(),
            },
            geometry=np.asarray(w.geometry.values, dtype=object),
            crs=BNG,
        )
        wards = wards.sort_values("code", kind="stable").reset_index(drop=True)

    if raw.bcus is not None:
        bcus = raw.bcus.frame[["district_code", "bcu_code", "bcu_name"]].astype(str)
    else:
        present = set(districts["code"])
        bcus = pd.DataFrame(
            [(dc, code, nm) for dc, (code, nm) in MET_BCUS.items() if dc in present],
            columns=["district_code", "bcu_code", "bcu_name"],
        )
    bcus = bcus.sort_values("district_code", kind="stable").reset_index(drop=True)

    return BoundaryLayers(
        name=name,
        source=source,
        vintage=vintage,
        districts=districts,
        forces=forces,
        wards=wards,
        bcus=bcus,
    )
