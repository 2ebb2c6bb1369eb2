"""Reading and validating boundary packs: the national pack and tiny inline packs in each format."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from coordination.errors import PackValidationError, ReferenceDataError
from geo.forces import CITY_DISTRICT, CITY_OF_LONDON, METROPOLITAN
from geo.layers import BoundaryLayers
from geo.pack import _columns, _kind, pack_checksum, read_pack

BNG = "EPSG:27700"


# --- the national pack -------------------------------------------------------------------------


@pytest.mark.pack
def test_national_pack_counts(national_layers: BoundaryLayers) -> None:
    layers = national_layers
    assert len(layers.forces) == 43
    assert len(layers.districts) == 318
    assert layers.wards is not None and len(layers.wards) == 704
    assert len(layers.bcus) == 32
    assert layers.vintage == "PFA24 LAD25 WD25"
    assert re.fullmatch(r"ons-pfa24-lad25-wd25-[0-9a-f]{8}", layers.name)


@pytest.mark.pack
def test_national_pack_city_and_crs(national_layers: BoundaryLayers) -> None:
    layers = national_layers
    city = layers.districts[layers.districts["force_code"] == CITY_OF_LONDON]
    assert list(city["code"]) == [CITY_DISTRICT]
    assert (layers.districts["force_code"] == METROPOLITAN).sum() == 32
    frames = [layers.districts, layers.forces, layers.wards]
    assert all(f is not None and f.crs is not None and f.crs.to_epsg() == 27700 for f in frames)
    assert list(layers.districts.columns) == ["code", "name", "force_code", "geometry"]
    assert list(layers.forces.columns) == ["code", "ons_name", "geometry"]
    assert layers.wards is not None
    assert list(layers.wards.columns) == ["code", "name", "district_code", "geometry"]
    assert list(layers.bcus.columns) == ["district_code", "bcu_code", "bcu_name"]
    names = dict(zip(layers.forces["code"], layers.forces["ons_name"], strict=True))
    assert names[CITY_OF_LONDON] == "London, City of"


@pytest.mark.pack
def test_national_pack_checksum_stable(reference_dir: Path) -> None:
    first = pack_checksum(reference_dir)
    assert first == pack_checksum(reference_dir)
    assert re.fullmatch(r"[0-9a-f]{64}", first)


# --- tiny packs ----------------------------------------------------------------------------------

A = box(530000, 180000, 531000, 181000)
B = box(531000, 180000, 532000, 181000)
C = box(532000, 180000, 533000, 181000)


def _forces() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"PFA24CD": ["E23000034", "E23000001"], "PFA24NM": ["London, City of", "Metropolitan"]},
        geometry=[A, B.union(C)],
        crs=BNG,
    )


def _districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "LAD25CD": ["E09000001", "E09000002", "E09000003"],
            "LAD25NM": ["City of London", "Barking and Dagenham", "Barnet"],
            "PFA24CD": ["E23000034", "E23000001", "E23000001"],
        },
        geometry=[A, B, C],
        crs=BNG,
    )


def _wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "WD25CD": ["E05000001", "E05000002", "E05000003"],
            "WD25NM": ["Ward A", "Ward B", "Ward C"],
            "LAD25CD": ["E09000001", "E09000002", "E09000003"],
        },
        geometry=[A, B, C],
        crs=BNG,
    )


def _lookup() -> pd.DataFrame:
    # Several rows per district, as in the ONS LAD24_CSP24_PFA24 lookup.
    return pd.DataFrame(
        {
            "LAD25CD": ["E09000001", "E09000002", "E09000002", "E09000003"],
            "LAD25NM": ["City of London", "Barking and Dagenham", "Barking and Dagenham", "Barnet"],
            "CSP24CD": ["E22000001", "E22000002", "E22000003", "E22000004"],
            "PFA24CD": ["E23000034", "E23000001", "E23000001", "E23000001"],
            "PFA24NM": ["London, City of", "Metropolitan", "Metropolitan", "Metropolitan"],
        }
    )


def _write_tables(folder: Path) -> None:
    _lookup().to_csv(folder / "lookup.csv", index=False)
    pd.DataFrame(
        {"PFA24CD": ["E23000034", "E23000001"], "PFA24NM": ["London, City of", "Metropolitan"]}
    ).to_csv(folder / "names.csv", index=False)


def _write_pack(folder: Path, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    layers = {"forces": _forces(), "districts": _districts(), "wards": _wards()}
    if fmt == "gpkg":
        # One GeoPackage with every layer in it: each layer is found by its columns.
        for layer, frame in layers.items():
            frame.to_file(folder / "all.gpkg", layer=layer, driver="GPKG")
    elif fmt == "geojson":
        for layer, frame in layers.items():
            frame.to_crs("EPSG:4326").to_file(folder / f"{layer}.geojson", driver="GeoJSON")
    elif fmt == "shp":
        for layer, frame in layers.items():
            frame.to_file(folder / f"{layer}.shp")
    else:
        raise AssertionError(fmt)
    _write_tables(folder)
    return folder


def _summary(layers: BoundaryLayers) -> dict[str, object]:
    assert layers.wards is not None
    return {
        "districts": list(
            zip(layers.districts["code"], layers.districts["force_code"], strict=True)
        ),
        "district_names": list(layers.districts["name"]),
        "forces": list(zip(layers.forces["code"], layers.forces["ons_name"], strict=True)),
        "wards": list(zip(layers.wards["code"], layers.wards["district_code"], strict=True)),
        "bcus": layers.bcus.to_dict("records"),
        "vintage": layers.vintage,
        "crs": [f.crs.to_epsg() for f in (layers.districts, layers.forces, layers.wards)],
    }


@pytest.fixture(scope="module")
def gpkg_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_pack(tmp_path_factory.mktemp("gpkg") / "pack", "gpkg")


def test_tiny_gpkg_pack(gpkg_pack: Path) -> None:
    layers = read_pack(gpkg_pack)
    summary = _summary(layers)
    assert summary["districts"] == [
        ("E09000001", "E23000034"),
        ("E09000002", "E23000001"),
        ("E09000003", "E23000001"),
    ]
    assert summary["forces"] == [("E23000001", "Metropolitan"), ("E23000034", "London, City of")]
    assert summary["crs"] == [27700, 27700, 27700]
    assert layers.vintage == "PFA24 LAD25 WD25"
    assert re.fullmatch(r"ons-pfa24-lad25-wd25-[0-9a-f]{8}", layers.name)
    assert layers.name.endswith(pack_checksum(gpkg_pack)[:8])
    assert layers.source == str(gpkg_pack.resolve())
    # No BCU file in the pack: the Met's BCUs come from geo.forces for the districts present.
    assert layers.bcus.to_dict("records") == [
        {"district_code": "E09000002", "bcu_code": "EA", "bcu_name": "East"},
        {"district_code": "E09000003", "bcu_code": "NW", "bcu_name": "North West"},
    ]
    assert read_pack(gpkg_pack, name="mine").name == "mine"


@pytest.mark.parametrize("fmt", ["geojson", "shp"])
def test_tiny_packs_read_the_same_in_every_format(
    fmt: str, gpkg_pack: Path, tmp_path: Path
) -> None:
    expected = read_pack(gpkg_pack)
    layers = read_pack(_write_pack(tmp_path / fmt, fmt))
    assert _summary(layers) == _summary(expected)
    # GeoJSON went out in WGS84 and must come back in BNG, in the same place.
    got = layers.districts.set_index("code").area
    want = expected.districts.set_index("code").area
    pd.testing.assert_series_equal(got, want, rtol=1e-3, check_names=False)
    assert layers.districts.total_bounds == pytest.approx(expected.districts.total_bounds, abs=1.0)


def test_zip_of_a_directory_reads_the_same(gpkg_pack: Path, tmp_path: Path) -> None:
    archive = Path(shutil.make_archive(str(tmp_path / "pack"), "zip", gpkg_pack.parent, "pack"))
    layers = read_pack(archive)
    assert _summary(layers) == _summary(read_pack(gpkg_pack))
    # A zip hashes over its members with the top folder stripped: same pack, same checksum.
    assert pack_checksum(archive) == pack_checksum(gpkg_pack)
    assert layers.name == read_pack(gpkg_pack).name


def test_zip_inside_a_directory(gpkg_pack: Path, tmp_path: Path) -> None:
    folder = tmp_path / "outer"
    folder.mkdir()
    with zipfile.ZipFile(folder / "layers.zip", "w") as zf:
        zf.write(gpkg_pack / "all.gpkg", "all.gpkg")
    _write_tables(folder)
    assert _summary(read_pack(folder)) == _summary(read_pack(gpkg_pack))


def test_checksum_changes_with_content_and_ignores_sources_json(
    gpkg_pack: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(gpkg_pack, copy)
    before = pack_checksum(copy)
    (copy / "SOURCES.json").write_text('{"fetched_at": "now"}')
    assert pack_checksum(copy) == before
    (copy / "README.md").write_text("notes")
    assert pack_checksum(copy) != before


def test_pack_without_force_layer_dissolves_districts(tmp_path: Path) -> None:
    districts = _districts().drop(columns=["PFA24CD"])
    districts.to_file(tmp_path / "d.gpkg")
    _lookup().to_csv(tmp_path / "lookup.csv", index=False)
    pd.DataFrame({"BCU_CODE": ["XX"], "BCU_NAME": ["Test BCU"], "LAD25CD": ["E09000002"]}).to_csv(
        tmp_path / "bcus.csv", index=False
    )
    layers = read_pack(tmp_path)
    assert list(layers.forces["code"]) == ["E23000001", "E23000034"]
    assert list(layers.forces["ons_name"]) == ["Metropolitan", "London, City of"]
    met = layers.forces.set_index("code").geometry["E23000001"]
    assert met.area == pytest.approx(2_000_000)
    assert layers.wards is None
    assert layers.vintage == "PFA24 LAD25"
    assert layers.bcus.to_dict("records") == [
        {"district_code": "E09000002", "bcu_code": "XX", "bcu_name": "Test BCU"}
    ]


def test_wards_without_district_column_are_placed_spatially(tmp_path: Path) -> None:
    _districts().to_file(tmp_path / "d.gpkg")
    wards = _wards().drop(columns=["LAD25CD"])
    wards["geometry"] = wards.geometry.buffer(-100)
    # A ward whose point lies 110 m outside every district (a generalisation sliver) snaps to
    # the nearest; one far away belongs to no district, which is a problem.
    stray = gpd.GeoDataFrame(
        {"WD25CD": ["E05000004"], "WD25NM": ["Stray"]},
        geometry=[box(533020, 180000, 533200, 181000)],
        crs=BNG,
    )
    pd.concat([wards, stray]).to_file(tmp_path / "w.gpkg")
    layers = read_pack(tmp_path)
    assert layers.wards is not None
    assert list(layers.wards["district_code"]) == [
        "E09000001",
        "E09000002",
        "E09000003",
        "E09000003",
    ]
    far = gpd.GeoDataFrame(
        {"WD25CD": ["E05000005"], "WD25NM": ["Far"]}, geometry=[box(0, 0, 10, 10)], crs=BNG
    )
    pd.concat([wards, far]).to_file(tmp_path / "w.gpkg")
    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    assert any("1 ward lies in no district: E05000005" in p for p in info.value.problems)


def test_column_names_are_case_insensitive(tmp_path: Path) -> None:
    frame = _districts().rename(columns={"LAD25CD": "lad25cd", "LAD25NM": "Lad25Nm"})
    frame.to_file(tmp_path / "d.gpkg")
    layers = read_pack(tmp_path)
    assert layers.districts["name"].iloc[0] == "City of London"
    assert layers.vintage == "PFA24 LAD25"


@settings(max_examples=60, deadline=None)
@given(
    cases=st.lists(st.booleans(), min_size=7, max_size=7),
    year=st.integers(min_value=0, max_value=99),
)
def test_recognition_by_columns_in_any_case(cases: list[bool], year: int) -> None:
    def spell(name: str) -> str:
        return "".join(c.upper() if up else c.lower() for c, up in zip(name, cases, strict=False))

    yy = f"{year:02d}"
    table = pd.DataFrame(columns=[spell(f"LAD{yy}CD"), spell(f"PFA{yy}CD"), f"LAD{yy}NMW"])
    cols = _columns(table)
    assert _kind(table, cols) == "lookup"
    assert cols.vintage("lad_cd") == f"LAD{yy}"
    assert not cols.has("lad_nm")  # the Welsh-name column is not the name column
    geo = gpd.GeoDataFrame({spell(f"WD{yy}CD"): []}, geometry=[], crs=BNG)
    assert _kind(geo, _columns(geo)) == "wards"


# --- faults --------------------------------------------------------------------------------------


def test_broken_pack_reports_every_fault_at_once(tmp_path: Path) -> None:
    bowtie = Polygon(
        [(531000, 180000), (532000, 181000), (532000, 180000), (531000, 181000), (531000, 180000)]
    )
    D = box(533000, 180000, 534000, 181000)
    gpd.GeoDataFrame(
        {
            "LAD25CD": ["E09000001", "E09000002", "E09000003", "E10000004"],
            "LAD25NM": ["City", "Bowtie", "Forceless", "Badcode"],
            "PFA24CD": ["E23000034", "E23000001", "", "E23000001"],
        },
        geometry=[A, bowtie, C, D],
        crs=BNG,
    ).to_file(tmp_path / "districts.gpkg")
    gpd.GeoDataFrame(
        {
            "WD25CD": ["E05000001", "E05000002", "E05000002", "E05000009"],
            "LAD25CD": ["E09000001", "E09000002", "E09000002", "E09000099"],
        },
        geometry=[A, box(531000, 180000, 531500, 181000), B, C],
        crs=BNG,
    ).to_file(tmp_path / "wards.gpkg")
    _forces().to_file(tmp_path / "forces.gpkg")

    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    problems = info.value.problems
    text = "\n".join(problems)

    def line_with(*words: str) -> str:
        hits = [p for p in problems if all(w in p for w in words)]
        assert hits, f"no problem mentions {words}:\n{text}"
        return hits[0]

    assert "Self-intersection" in line_with("districts.gpkg", "invalid geometr", "E09000002")
    line_with("wards.gpkg", "more than once", "E05000002")
    line_with("districts.gpkg", "E10000004", "not shaped like ONS district codes")
    line_with("wards.gpkg", "E05000009", "E09000099")
    line_with("no force code", "E09000003")
    assert "\n" not in "".join(problems)
    assert str(info.value).startswith(f"boundary pack {tmp_path.resolve()} is not fit to use")
    assert f"({len(problems)} problems)" in str(info.value)


def test_lookup_conflicts_and_disagreements_are_problems(tmp_path: Path) -> None:
    _districts().to_file(tmp_path / "d.gpkg")
    lookup = _lookup()
    lookup.loc[2, "PFA24CD"] = "E23000034"  # E09000002 now mapped to two forces
    lookup.loc[3, "PFA24CD"] = "E23000034"  # E09000003 disagrees with the district layer
    extra = {"LAD25CD": "E09000005", "PFA24CD": "E23000001"}
    pd.concat([lookup, pd.DataFrame([extra])]).to_csv(tmp_path / "lookup.csv", index=False)
    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    text = "\n".join(info.value.problems)
    assert "E09000002 (E23000001/E23000034)" in text
    assert "E09000003 (E23000001 vs E23000034)" in text
    assert re.search(r"lookup\.csv: 1 district is not in d\.gpkg.*: E09000005", text)


def test_force_layer_and_districts_must_name_the_same_forces(tmp_path: Path) -> None:
    forces = _forces()
    extra = gpd.GeoDataFrame(
        {"PFA24CD": ["E23000002"], "PFA24NM": ["Cumbria"]}, geometry=[box(0, 0, 1, 1)], crs=BNG
    )
    pd.concat([forces, extra]).to_file(tmp_path / "f.gpkg")
    d = _districts()
    d.loc[0, "PFA24CD"] = "E23000099"
    d.to_file(tmp_path / "d.gpkg")
    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    text = "\n".join(info.value.problems)
    assert "3 force areas but districts name 2 forces" in text
    assert "E23000002" in text
    assert re.search(r"districts name 1 force not in f\.gpkg.*: E23000099", text)


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_layer_without_crs_is_a_problem(tmp_path: Path) -> None:
    _districts().set_crs(None, allow_override=True).to_file(tmp_path / "districts.shp")
    _wards().to_file(tmp_path / "wards.gpkg")
    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    assert any(
        "districts.shp" in p and "no coordinate reference system" in p for p in info.value.problems
    )


def test_missing_district_layer_is_a_problem(tmp_path: Path) -> None:
    _forces().to_file(tmp_path / "forces.gpkg")
    with pytest.raises(PackValidationError) as info:
        read_pack(tmp_path)
    assert any("no district layer" in p for p in info.value.problems)


def test_directory_without_layers_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing here")
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(PackValidationError, match="no boundary layers found") as info:
        read_pack(tmp_path)
    assert any("other.csv (not recognised)" in p for p in info.value.problems)


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="does not exist"):
        read_pack(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ReferenceDataError, match="neither a directory nor a zip"):
        read_pack(tmp_path / "file.txt")


# --- packs that are not what they claim -----------------------------------------------------


def test_degrees_labelled_as_national_grid_are_refused(tmp_path: Path) -> None:
    # A common mistake: latitude/longitude written into a file that says EPSG:27700.
    districts = _districts().to_crs("EPSG:4326").set_crs("EPSG:27700", allow_override=True)
    districts.to_file(tmp_path / "d.gpkg")
    _write_tables(tmp_path)
    with pytest.raises(PackValidationError) as refused:
        read_pack(tmp_path)
    assert any("look like latitude and longitude" in p for p in refused.value.problems)


def test_coordinates_outside_great_britain_are_refused(tmp_path: Path) -> None:
    districts = _districts()
    districts.geometry = districts.geometry.translate(xoff=5_000_000)
    districts.to_file(tmp_path / "d.gpkg")
    _write_tables(tmp_path)
    with pytest.raises(PackValidationError) as refused:
        read_pack(tmp_path)
    assert any("outside Great Britain's national grid" in p for p in refused.value.problems)


def test_an_empty_declared_layer_is_refused(tmp_path: Path) -> None:
    _districts().to_file(tmp_path / "d.gpkg")
    _wards().iloc[0:0].to_file(tmp_path / "w.gpkg")
    _write_tables(tmp_path)
    with pytest.raises(PackValidationError) as refused:
        read_pack(tmp_path)
    assert any("the layer is empty" in p for p in refused.value.problems)


def test_a_zip_that_unpacks_to_gigabytes_is_refused_before_unpacking(tmp_path: Path) -> None:
    import struct
    import time
    import zipfile

    bomb = tmp_path / "pack.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("districts.gpkg", b"\0" * 1024)
    # Claim 3 GB uncompressed in the central directory, as a crafted bomb does.
    data = bytearray(bomb.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 3 * 1024**3)
    bomb.write_bytes(bytes(data))
    started = time.perf_counter()
    with pytest.raises(ReferenceDataError, match=r"unpacks to 3\.0 GB"):
        read_pack(bomb)
    assert time.perf_counter() - started < 1.0
