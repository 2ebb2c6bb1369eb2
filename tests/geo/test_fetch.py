"""Fetching a pack from ArcGIS feature services, against a local imitation of the ONS portal."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping

from coordination.errors import FetchError, PackValidationError, TargetExistsError
from geo._arcgis import query_url
from geo.fetch import DEFAULT_SOURCES, FetchReport, fetch_pack
from geo.pack import read_pack

PREFIX = "/arcgis/rest/services"
SERVICES = {
    "police_force_areas": "PFA_TEST_EW_BGC",
    "lad_to_pfa": "LAD24_CSP24_PFA24_EW_LU",
    "local_authority_districts": "LAD_TEST_UK_BGC",
    "wards": "WD_TEST_UK_BGC",
}
# Like ArcGIS Online, the service caps every page at its maxRecordCount whatever is asked for.
MAX_RECORD_COUNT = 2

A = box(530000, 180000, 531000, 181000)
B = box(531000, 180000, 532000, 181000)
C = box(532000, 180000, 533000, 181000)
FAR = box(390000, 800000, 391000, 801000)  # somewhere in Scotland


def _feature(properties: dict[str, Any], geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


LAYERS: dict[str, list[dict[str, Any]]] = {
    "PFA_TEST_EW_BGC": [
        _feature({"PFA24CD": "E23000034", "PFA24NM": "London, City of"}, A),
        _feature({"PFA24CD": "E23000001", "PFA24NM": "Metropolitan Police"}, B.union(C)),
    ],
    "LAD_TEST_UK_BGC": [
        _feature({"LAD24CD": "E09000001", "LAD24NM": "City of London", "LAD24NMW": None}, A),
        _feature({"LAD24CD": "E09000002", "LAD24NM": "Barking", "LAD24NMW": None}, B),
        _feature({"LAD24CD": "E09000003", "LAD24NM": "Barnet", "LAD24NMW": None}, C),
        _feature({"LAD24CD": "S12000033", "LAD24NM": "Aberdeen City", "LAD24NMW": None}, FAR),
        _feature({"LAD24CD": "S12000034", "LAD24NM": "Aberdeenshire", "LAD24NMW": None}, FAR),
    ],
    # ONS ward layers carry no district column: read_pack places wards by location.
    "WD_TEST_UK_BGC": [
        _feature({"WD24CD": "E05000001", "WD24NM": "Ward A"}, A.buffer(-100)),
        _feature({"WD24CD": "E05000002", "WD24NM": "Ward B"}, B.buffer(-100)),
        _feature({"WD24CD": "E05000003", "WD24NM": "Ward C"}, C.buffer(-100)),
        _feature({"WD24CD": "S13000001", "WD24NM": "Far ward"}, FAR),
    ],
}
LOOKUP_FIELDS = ["LAD24CD", "LAD24NM", "CSP24CD", "PFA24CD", "PFA24NM", "ObjectId"]
LOOKUP_ROWS = [
    ("E09000001", "City of London", "E22000001", "E23000034", "London, City of", 1),
    ("E09000002", "Barking", "E22000002", "E23000001", "Metropolitan Police", 2),
    ("E09000002", "Barking", "E22000003", "E23000001", "Metropolitan Police", 3),
    ("E09000003", "Barnet", "E22000004", "E23000001", "Metropolitan Police", 4),
]
TABLES = {
    "LAD24_CSP24_PFA24_EW_LU": [dict(zip(LOOKUP_FIELDS, r, strict=True)) for r in LOOKUP_ROWS]
}


class FakeArcGIS:
    """A FeatureServer imitation with switchable faults, per service."""

    def __init__(self) -> None:
        self.base = ""
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[str, dict[str, str]]] = []
        self.fail_pages: dict[str, list[int]] = {}  # statuses for the next page requests
        self.always: dict[str, int] = {}  # status for every request
        self.invalid_json: set[str] = set()
        self.error_body: dict[str, list[dict[str, Any]]] = {}  # bodies for the next requests
        self.count_delta: dict[str, int] = {}
        self.slow_once: dict[str, float] = {}

    def sources(self) -> dict[str, str]:
        return {key: f"{self.base}/{svc}/FeatureServer/0" for key, svc in SERVICES.items()}

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        parts = path.split("/")
        # /arcgis/rest/services/<service>/FeatureServer/0/query
        if len(parts) != 8 or parts[5:] != ["FeatureServer", "0", "query"]:
            with self.lock:
                self.hits["<no such path>"] += 1
            return 404, b'{"error": {"code": 404, "message": "Not found"}}'
        service = parts[4]
        with self.lock:
            self.hits[service] += 1
            self.log.append((service, query))
            delay = self.slow_once.pop(service, 0.0)
            status = self.always.get(service)
            if status is None and "returnCountOnly" not in query and self.fail_pages.get(service):
                status = self.fail_pages[service].pop(0)
            error = self.error_body[service].pop(0) if self.error_body.get(service) else None
        if delay:
            time.sleep(delay)
        if status is not None:
            return status, b"<html>busy</html>"
        if service in self.invalid_json:
            return 200, b'{"features": [ oops'
        if error is not None:
            return 200, json.dumps(error).encode()
        if service not in LAYERS and service not in TABLES:
            return 400, b'{"error": {"code": 400, "message": "Invalid URL"}}'
        rows: list[dict[str, Any]] = LAYERS.get(service) or TABLES[service]
        if query.get("returnCountOnly") == "true":
            count = len(rows) + self.count_delta.get(service, 0)
            return 200, json.dumps({"count": count}).encode()
        offset = int(query.get("resultOffset", "0"))
        size = min(int(query.get("resultRecordCount", "1000")), MAX_RECORD_COUNT)
        page = rows[offset : offset + size]
        more = offset + len(page) < len(rows)
        if service in TABLES:
            body: dict[str, Any] = {
                "objectIdFieldName": "ObjectId",
                "fields": [{"name": n, "type": "esriFieldTypeString"} for n in LOOKUP_FIELDS],
                "features": [{"attributes": r} for r in page],
            }
            if more:
                body["exceededTransferLimit"] = True
        else:
            assert query.get("outSR") == "27700" and query.get("f") == "geojson"
            body = {"type": "FeatureCollection", "features": page}
            if more:
                body["properties"] = {"exceededTransferLimit": True}
        return 200, json.dumps(body).encode()


def _handler(fake: FakeArcGIS) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            status, body = fake.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def arcgis() -> Iterator[FakeArcGIS]:
    fake = FakeArcGIS()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _fetch(fake: FakeArcGIS, dest: Path, **kwargs: Any) -> FetchReport:
    options: dict[str, Any] = {"retries": 3, "backoff_s": 0.0, "timeout_s": 5.0}
    options.update(kwargs)
    return fetch_pack(dest, sources=options.pop("sources", fake.sources()), **options)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- success -------------------------------------------------------------------------------------


def test_fetch_pages_retries_and_reads_back(arcgis: FakeArcGIS, tmp_path: Path) -> None:
    arcgis.fail_pages["LAD_TEST_UK_BGC"] = [503]
    messages: list[str] = []
    dest = tmp_path / "pack"
    report = _fetch(arcgis, dest, progress=messages.append)

    assert report.dest == dest.resolve()
    assert report.counts == {
        "police_force_areas": 2,
        "lad_to_pfa": 4,
        "local_authority_districts": 3,  # the two Scottish districts are not written
        "wards": 3,
    }
    assert report.files == (
        "police_force_areas.geojson",
        "lad_to_pfa.csv",
        "local_authority_districts.geojson",
        "wards.geojson",
        "SOURCES.json",
    )
    assert report.retries == 1
    assert report.requests == sum(arcgis.hits.values())
    # count + 3 pages of 2, 2, 1 districts, and the page that met the 503 asked again.
    lad = [q for s, q in arcgis.log if s == "LAD_TEST_UK_BGC"]
    assert lad[0]["returnCountOnly"] == "true"
    assert [q["resultOffset"] for q in lad[1:]] == ["0", "0", "2", "4"]
    assert report.requests == (1 + 1) + (1 + 2) + (1 + 3 + 1) + (1 + 2)
    assert all(q["f"] == "json" for s, q in arcgis.log if s == "LAD24_CSP24_PFA24_EW_LU")
    assert messages and "validating" in " ".join(messages)

    layers = read_pack(dest)
    assert list(layers.forces["code"]) == ["E23000001", "E23000034"]
    assert list(zip(layers.districts["code"], layers.districts["force_code"], strict=True)) == [
        ("E09000001", "E23000034"),
        ("E09000002", "E23000001"),
        ("E09000003", "E23000001"),
    ]
    assert layers.wards is not None
    assert list(layers.wards["district_code"]) == ["E09000001", "E09000002", "E09000003"]
    assert layers.vintage == "PFA24 LAD24 WD24"
    # GeoJSON written in BNG must be read as BNG, not as WGS84 degrees.
    assert layers.districts.total_bounds == pytest.approx([530000, 180000, 533000, 181000])

    sources = json.loads((dest / "SOURCES.json").read_text())
    assert sources["fetched_at"].endswith("Z")
    lad_record = sources["sources"]["local_authority_districts"]
    assert lad_record["server_count"] == 5 and lad_record["rows"] == 3
    assert lad_record["url"].endswith("/LAD_TEST_UK_BGC/FeatureServer/0/query")
    assert _leftovers(tmp_path) == []


def test_wards_are_optional(arcgis: FakeArcGIS, tmp_path: Path) -> None:
    sources = {k: v for k, v in arcgis.sources().items() if k != "wards"}
    report = _fetch(arcgis, tmp_path / "pack", sources=sources)
    assert "wards" not in report.counts
    assert read_pack(tmp_path / "pack").wards is None


def test_arcgis_overload_body_is_retried(arcgis: FakeArcGIS, tmp_path: Path) -> None:
    arcgis.error_body["PFA_TEST_EW_BGC"] = [{"error": {"code": 503, "message": "busy"}}]
    report = _fetch(arcgis, tmp_path / "pack")
    assert report.retries == 1


def test_timeout_is_retried(arcgis: FakeArcGIS, tmp_path: Path) -> None:
    arcgis.slow_once["PFA_TEST_EW_BGC"] = 0.6
    report = _fetch(arcgis, tmp_path / "pack", timeout_s=0.2)
    assert report.retries == 1


def test_existing_fetched_pack_is_replaced(arcgis: FakeArcGIS, tmp_path: Path) -> None:
    dest = tmp_path / "pack"
    dest.mkdir()
    (dest / "SOURCES.json").write_text("{}")
    (dest / "old.txt").write_text("old")
    _fetch(arcgis, dest)
    assert not (dest / "old.txt").exists()
    assert (dest / "wards.geojson").is_file()
    assert _leftovers(tmp_path) == []


# --- failures ------------------------------------------------------------------------------------


@pytest.fixture
def old_pack(tmp_path: Path) -> Path:
    """A destination holding an earlier pack, which a failed fetch must leave alone."""
    dest = tmp_path / "pack"
    dest.mkdir()
    (dest / "SOURCES.json").write_text('{"old": true}')
    (dest / "keep.txt").write_text("keep me")
    return dest


def _assert_untouched(dest: Path) -> None:
    assert sorted(p.name for p in dest.iterdir()) == ["SOURCES.json", "keep.txt"]
    assert (dest / "SOURCES.json").read_text() == '{"old": true}'
    assert _leftovers(dest.parent) == []


def test_count_mismatch_fails(arcgis: FakeArcGIS, old_pack: Path) -> None:
    arcgis.count_delta["LAD_TEST_UK_BGC"] = 1
    with pytest.raises(FetchError, match=r"local_authority_districts: got 5 features .* 6"):
        _fetch(arcgis, old_pack)
    _assert_untouched(old_pack)


def test_persistent_500_fails_after_retries(arcgis: FakeArcGIS, old_pack: Path) -> None:
    arcgis.always["WD_TEST_UK_BGC"] = 500
    with pytest.raises(FetchError) as info:
        _fetch(arcgis, old_pack, retries=3)
    message = str(info.value)
    assert "could not fetch wards" in message and "after 3 attempts" in message
    assert "\n" not in message
    assert arcgis.hits["WD_TEST_UK_BGC"] == 3
    assert len(info.value.problems) == 3
    assert isinstance(info.value, OSError)
    _assert_untouched(old_pack)


def test_invalid_json_fails_without_retry(arcgis: FakeArcGIS, old_pack: Path) -> None:
    arcgis.invalid_json.add("LAD24_CSP24_PFA24_EW_LU")
    with pytest.raises(FetchError, match=r"lad_to_pfa: .*not valid JSON"):
        _fetch(arcgis, old_pack)
    assert arcgis.hits["LAD24_CSP24_PFA24_EW_LU"] == 1
    _assert_untouched(old_pack)


def test_arcgis_error_body_fails(arcgis: FakeArcGIS, old_pack: Path) -> None:
    arcgis.error_body["PFA_TEST_EW_BGC"] = [
        {"error": {"code": 400, "message": "Invalid or missing input parameters."}}
    ]
    with pytest.raises(FetchError, match=r"police_force_areas: .*error 400: Invalid"):
        _fetch(arcgis, old_pack)
    assert arcgis.hits["PFA_TEST_EW_BGC"] == 1
    _assert_untouched(old_pack)


def test_client_error_is_not_retried(arcgis: FakeArcGIS, old_pack: Path) -> None:
    sources = arcgis.sources()
    sources["wards"] = f"{arcgis.base}/Missing/FeatureServer/0/bad"
    with pytest.raises(FetchError, match="could not fetch wards: HTTP 404"):
        _fetch(arcgis, old_pack, sources=sources)
    assert arcgis.hits["<no such path>"] == 1
    _assert_untouched(old_pack)


def test_connection_refused_fails_after_retries(old_pack: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: every attempt is refused.
    sources = {"local_authority_districts": f"http://127.0.0.1:{port}/x/FeatureServer/0"}
    with pytest.raises(FetchError, match=r"local_authority_districts.*after 2 attempts"):
        fetch_pack(old_pack, sources=sources, retries=2, backoff_s=0.0, timeout_s=2.0)
    _assert_untouched(old_pack)


def test_invalid_pack_is_not_moved_into_place(arcgis: FakeArcGIS, old_pack: Path) -> None:
    # Without the lookup the districts have no force: the download succeeds but does not validate.
    sources = {k: v for k, v in arcgis.sources().items() if k != "lad_to_pfa"}
    with pytest.raises(PackValidationError, match="not fit to use") as info:
        _fetch(arcgis, old_pack, sources=sources)
    assert any("no force code" in p for p in info.value.problems)
    _assert_untouched(old_pack)


def test_foreign_directory_is_refused_before_downloading(
    arcgis: FakeArcGIS, tmp_path: Path
) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "thesis.docx").write_text("precious")
    with pytest.raises(TargetExistsError):
        _fetch(arcgis, dest)
    assert sum(arcgis.hits.values()) == 0
    assert (dest / "thesis.docx").read_text() == "precious"


def test_default_sources_and_query_urls() -> None:
    assert set(DEFAULT_SOURCES) == {
        "police_force_areas",
        "lad_to_pfa",
        "local_authority_districts",
        "wards",
    }
    assert "Police_Force_Areas_Dec_2024_EW_BGC" in DEFAULT_SOURCES["police_force_areas"]
    assert "LAD24_CSP24_PFA24_EW_LU" in DEFAULT_SOURCES["lad_to_pfa"]
    layer = "https://example.org/arcgis/rest/services/X/FeatureServer/0"
    expected = f"{layer}/query"
    assert query_url(layer) == expected
    assert query_url(layer + "/") == expected
    assert query_url(f"{layer}/query?where=1%3D1&f=geojson") == expected


# --- the command line ----------------------------------------------------------------------------


def test_cli_fetch_then_load_and_activate(
    arcgis: FakeArcGIS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    reset_settings_cache()
    try:
        dest = tmp_path / "ons-pack"
        overrides = [f"--source={key}={url}" for key, url in arcgis.sources().items()]
        assert main(["data", "fetch", str(dest), *overrides]) == 0
        out = capsys.readouterr().out
        assert f"crossforce data load {dest.resolve()}" in out

        assert main(["--as", "analyst1", "data", "load", str(dest), "--name", "ons-test"]) == 0
        assert "inactive" in capsys.readouterr().out
        assert main(["data", "activate", "ons-test"]) == 0
        assert "Active boundary set: ons-test" in capsys.readouterr().out
        assert main(["data", "status", "--json"]) == 0
        sets = json.loads(capsys.readouterr().out)
        assert [(s["name"], s["active"], s["loaded_by"]) for s in sets] == [
            ("ons-test", True, "analyst1")
        ]

        assert main(["data", "fetch", str(tmp_path / "x"), "--source", "nonsense=http://a"]) == 2
        assert "KEY=URL" in capsys.readouterr().err
    finally:
        reset_settings_cache()
