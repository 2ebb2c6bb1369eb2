"""Download the official ONS boundary files into a pack that `geo.pack.read_pack` can read.

ONS publishes its boundaries and lookups on the Open Geography Portal as ArcGIS feature services.
`fetch_pack` pages through each service, checks that it received exactly as many features as the
service says it holds, writes GeoJSON (geometry layers, in EPSG:27700) and CSV (lookup tables)
into a temporary sibling of the destination, validates the result with `read_pack`, and only then
moves it into place. A failed fetch therefore leaves the destination as it was.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from geo._arcgis import RequestStats, get_json, query_url
from geo.errors import FetchError, InputError, TargetExistsError
from geo.pack import read_pack

__all__ = ["DEFAULT_SOURCES", "TABLE_SOURCES", "FetchReport", "fetch_pack"]

_PORTAL = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"

DEFAULT_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "police_force_areas": f"{_PORTAL}/Police_Force_Areas_Dec_2024_EW_BGC/FeatureServer/0",
        "lad_to_pfa": f"{_PORTAL}/LAD24_CSP24_PFA24_EW_LU/FeatureServer/0",
        "local_authority_districts": (
            f"{_PORTAL}/Local_Authority_Districts_December_2024_Boundaries_UK_BGC/FeatureServer/0"
        ),
        "wards": f"{_PORTAL}/Wards_December_2024_Boundaries_UK_BGC/FeatureServer/0",
    }
)
"""ONS feature-service layers fetched by default (source name → FeatureServer layer URL).

Dataset names change with every vintage and ONS sometimes renames services; pass ``sources`` to
`fetch_pack` to use other URLs. ``wards`` is optional: leave it out of ``sources`` to skip wards.
"""

TABLE_SOURCES: frozenset[str] = frozenset({"lad_to_pfa", "police_forces", "met_bcus"})
"""Source names fetched as attribute tables (``f=json``, written as CSV); the rest are layers."""

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_AREA_CODE = re.compile(r"^(?:LAD|WD)\d\dCD$", re.IGNORECASE)
_BNG_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}


@dataclass(frozen=True)
class FetchReport:
    """What `fetch_pack` did.

    Attributes
    ----------
    dest
        The pack directory now in place.
    files
        File names written into it, ``SOURCES.json`` last.
    counts
        Rows written per source (districts and wards outside England and Wales are not written).
    requests
        HTTP requests made, retries included.
    retries
        Requests that were retries of a failed one.
    """

    dest: Path
    files: tuple[str, ...]
    counts: dict[str, int]
    requests: int
    retries: int


def fetch_pack(
    dest: Path,
    *,
    sources: Mapping[str, str] | None = None,
    page_size: int = 2000,
    retries: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> FetchReport:
    """Download ONS boundary layers and lookups into a validated pack at ``dest``.

    Each source is a FeatureServer layer URL. First a ``returnCountOnly`` request says how many
    features to expect; then pages of ``page_size`` are requested with ``resultOffset`` and
    ``resultRecordCount`` until ``exceededTransferLimit`` is false. Geometry layers are requested
    in British National Grid (``outSR=27700``) as GeoJSON and written as ``<source>.geojson``;
    lookup tables (`TABLE_SOURCES`) are requested as ArcGIS JSON and written as ``<source>.csv``.
    ONS district and ward layers are UK-wide while force areas cover England and Wales only, so
    features whose LAD/WD code is not an English or Welsh one are left out of the files.
    ``SOURCES.json`` records the URLs, the UTC time and the counts.

    Parameters
    ----------
    dest
        The pack directory to create. If it exists it must be empty or an earlier fetched pack
        (it has a ``SOURCES.json``), which is replaced only once the new pack has validated.
    sources
        Source name → FeatureServer layer URL; `DEFAULT_SOURCES` when ``None``. Dataset names
        change with each ONS vintage, so pass newer URLs here rather than editing code.
    page_size
        Features per request (ArcGIS services cap this at their ``maxRecordCount``).
    retries
        Attempts per request, the first included, before giving up.
    backoff_s
        Wait before the first retry; doubled for each further retry.
    timeout_s
        Socket timeout per request.
    progress
        Called with one-line progress messages.

    Returns
    -------
    FetchReport
        Where the pack went, what was written, and how many requests it took.

    Raises
    ------
    FetchError
        When a source cannot be downloaded (after retries for transient failures), answers with
        something that is not JSON or with an ArcGIS error, or returns a different number of
        features than it announced. The message names the source.
    PackValidationError
        When the downloaded files do not make a valid pack.
    TargetExistsError
        When ``dest`` exists and is neither empty nor an earlier fetched pack.
    InputError
        When a source name cannot be used as a file name, or ``page_size`` is not positive.
    """
    chosen = dict(DEFAULT_SOURCES if sources is None else sources)
    for key in chosen:
        if not _SOURCE_NAME.match(key):
            raise InputError(f"source name {key!r} cannot be used as a file name")
    if page_size < 1:
        raise InputError(f"page_size must be at least 1, not {page_size}")
    say = progress or (lambda _message: None)
    target = Path(dest).expanduser().resolve()
    _check_destination(target)
    target.parent.mkdir(parents=True, exist_ok=True)

    stats = RequestStats()
    http = _Http(stats, attempts=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        files: list[str] = []
        counts: dict[str, int] = {}
        record: dict[str, dict[str, Any]] = {}
        for key, layer_url in chosen.items():
            url = query_url(layer_url)
            is_table = key in TABLE_SOURCES
            expected = http.count(url, source=key)
            say(f"{key}: {expected} {'rows' if is_table else 'features'} to fetch")
            fields, rows = _fetch_all(http, url, key, expected, page_size, is_table, say)
            file_name = f"{key}.csv" if is_table else f"{key}.geojson"
            if is_table:
                written = _write_csv(staging / file_name, fields, rows)
            else:
                written = _write_geojson(staging / file_name, rows)
            files.append(file_name)
            counts[key] = written
            record[key] = {"url": url, "file": file_name, "server_count": expected, "rows": written}
        fetched_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        (staging / "SOURCES.json").write_text(
            json.dumps({"fetched_at": fetched_at, "sources": record}, indent=2) + "\n",
            encoding="utf-8",
        )
        files.append("SOURCES.json")
        say("validating the downloaded pack")
        read_pack(staging)
        _move_into_place(staging, target)
    except BaseException:
        # Whatever went wrong (including Ctrl-C), nothing half-written may stay behind.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"pack written to {target} ({stats.requests} requests, {stats.retries} retries)")
    return FetchReport(
        dest=target,
        files=tuple(files),
        counts=counts,
        requests=stats.requests,
        retries=stats.retries,
    )


@dataclass
class _Http:
    stats: RequestStats
    attempts: int
    backoff_s: float
    timeout_s: float

    def get(self, url: str, params: Mapping[str, str | int], *, source: str) -> dict[str, Any]:
        return get_json(
            url,
            params,
            source=source,
            attempts=self.attempts,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
            stats=self.stats,
        )

    def count(self, url: str, *, source: str) -> int:
        payload = self.get(
            url, {"where": "1=1", "returnCountOnly": "true", "f": "json"}, source=source
        )
        count = payload.get("count")
        if count is None and isinstance(payload.get("properties"), dict):
            count = payload["properties"].get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise FetchError(
                f"could not fetch {source}: the count request gave no feature count",
                problems=[f"{source}: count answer was {json.dumps(payload)[:200]}"],
            )
        return count


def _exceeded(page: Mapping[str, Any]) -> bool:
    # ArcGIS JSON puts the flag at the top level; its GeoJSON puts it under "properties".
    flag = page.get("exceededTransferLimit")
    properties = page.get("properties")
    if flag is None and isinstance(properties, Mapping):
        flag = properties.get("exceededTransferLimit")
    return flag is True


def _fetch_all(
    http: _Http,
    url: str,
    key: str,
    expected: int,
    page_size: int,
    is_table: bool,
    say: Callable[[str], None],
) -> tuple[list[str], list[dict[str, Any]]]:
    """Page through one source: (field names, attribute rows) for tables, ([], features) else."""
    base: dict[str, str | int] = {"where": "1=1", "outFields": "*"}
    if is_table:
        base |= {"returnGeometry": "false", "f": "json"}
    else:
        base |= {"returnGeometry": "true", "outSR": 27700, "f": "geojson"}
    features: list[dict[str, Any]] = []
    fields: list[str] = []
    while True:
        params = base | {"resultOffset": len(features), "resultRecordCount": page_size}
        page = http.get(url, params, source=key)
        batch = page.get("features")
        if not isinstance(batch, list):
            raise FetchError(
                f"could not fetch {key}: a page at offset {len(features)} has no feature list",
                problems=[f"{key}: page keys {sorted(page)}"],
            )
        if is_table and not fields and isinstance(page.get("fields"), list):
            fields = [f["name"] for f in page["fields"] if isinstance(f, dict) and "name" in f]
        features += batch
        more = _exceeded(page)
        say(f"{key}: {len(features)}/{expected}")
        if not more:
            break
        if not batch or len(features) > expected:
            # A server that keeps saying "more" without sending any would loop forever.
            break
    if len(features) != expected:
        raise FetchError(
            f"could not fetch {key}: got {len(features)} features but the service holds {expected}",
            problems=[f"{key}: {len(features)} fetched from {url}, count request said {expected}"],
        )
    if not is_table:
        return [], features
    rows = [f.get("attributes") or {} for f in features]
    if not fields:
        fields = list(dict.fromkeys(name for row in rows for name in row))
    return fields, rows


def _outside_england_and_wales(properties: Mapping[str, Any]) -> bool:
    for name, value in properties.items():
        if _AREA_CODE.match(name) and isinstance(value, str) and value:
            return value[0].upper() not in {"E", "W"}
    return False


def _write_geojson(path: Path, features: list[dict[str, Any]]) -> int:
    kept = [f for f in features if not _outside_england_and_wales(f.get("properties") or {})]
    # ArcGIS GeoJSON carries no CRS member, and GeoJSON readers assume WGS84 without one; the
    # coordinates are BNG (outSR=27700), so say so explicitly.
    collection = {"type": "FeatureCollection", "crs": _BNG_CRS, "features": kept}
    with path.open("w", encoding="utf-8") as fh:
        json.dump(collection, fh, separators=(",", ":"))
    return len(kept)


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return len(rows)


def _check_destination(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise TargetExistsError(f"{target} exists and is not a directory")
    if any(target.iterdir()) and not (target / "SOURCES.json").is_file():
        raise TargetExistsError(
            f"{target} is not empty and is not a fetched pack; choose a new or empty directory"
        )


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    # Rename the old pack aside first, so there is never a moment with half of each.
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
