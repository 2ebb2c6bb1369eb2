"""Postcode parsing and the postcode directory (real ONS data from the PyPI package)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import brotli
import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.errors import (
    InputError,
    MalformedPostcodeError,
    PostcodeWithoutCoordinatesError,
    ReferenceDataError,
    UnknownPostcodeError,
)
from geo import _qlacref
from geo.postcodes import (
    PostcodeDirectory,
    PostcodeRecord,
    _build_arrays,
    _read_cache,
    _write_cache,
    looks_like_postcode,
    normalise_postcode,
)
from tests.strategies import postcodes, typed_variants

# ------------------------------------------------------------------------------ normalising


@given(st.data(), postcodes())
def test_any_case_and_spacing_gives_the_canonical_form(data: st.DataObject, canonical: str) -> None:
    typed = data.draw(typed_variants(canonical))
    assert normalise_postcode(typed) == canonical
    assert looks_like_postcode(typed)


@given(postcodes())
def test_normalising_is_idempotent(canonical: str) -> None:
    once = normalise_postcode(canonical.lower().replace(" ", ""))
    assert normalise_postcode(once) == once == canonical


@given(st.text(max_size=30))
def test_junk_is_rejected_only_with_malformed_postcode_error(text: str) -> None:
    try:
        result = normalise_postcode(text)
    except MalformedPostcodeError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 100
        assert not looks_like_postcode(text)
    else:
        assert looks_like_postcode(text)
        assert normalise_postcode(result) == result


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ec2v7hh", "EC2V 7HH"),
        ("  EC2V   7HH ", "EC2V 7HH"),
        ("e8\t1dy", "E8 1DY"),
        ("E8\u00a01DY", "E8 1DY"),
        ("gir0aa", "GIR 0AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("W1A0AX", "W1A 0AX"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("npt 0ad", "NPT 0AD"),
    ],
)
def test_examples(typed: str, canonical: str) -> None:
    assert normalise_postcode(typed) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "XYZ",
        "EC2V 7H",
        "EC2V 77H",
        "1EC 7HH",
        "ABC1 1AA",
        "E1 1A1",
        "GIR 0AB",
        "EC2V-7HH",
        "ſw1a 1aa",  # long s upper-cases to S; non-ASCII is refused first
        "\u0131G1 1AA",  # dotless i upper-cases to I
        "E１ 1AA",  # fullwidth digit
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(MalformedPostcodeError):
        normalise_postcode(text)
    assert not looks_like_postcode(text)


def test_error_message_is_short_and_names_the_input() -> None:
    with pytest.raises(MalformedPostcodeError) as info:
        normalise_postcode("XYZ")
    assert str(info.value) == "'XYZ' is not a UK postcode (expected something like EC2V 7HH)"
    with pytest.raises(MalformedPostcodeError) as info:
        normalise_postcode("x" * 500 + "\nsecond line")
    assert len(str(info.value)) < 100 and "\n" not in str(info.value)
    assert isinstance(info.value, InputError)


# ------------------------------------------------------------------------- the real directory


def test_directory_has_every_postcode(directory: PostcodeDirectory) -> None:
    assert len(directory) == 2_720_556
    assert directory.postcodes.dtype == np.dtype("<U8")
    assert directory.eastings.dtype == np.int32 and directory.northings.dtype == np.int32
    assert directory.district_index.dtype == np.int16
    assert bool(np.all(directory.postcodes[1:] > directory.postcodes[:-1])), "sorted and unique"
    assert directory.version == _qlacref.package_version()


def test_known_postcodes(directory: PostcodeDirectory) -> None:
    guildhall = directory.get("ec2v7hh")
    assert guildhall.postcode == "EC2V 7HH"
    assert guildhall.district_code == "E09000001"
    assert guildhall.easting is not None and guildhall.northing is not None
    assert abs(guildhall.easting - 532494) < 200 and abs(guildhall.northing - 181344) < 200
    assert directory.get("E8 1DY").district_code == "E09000012"
    assert directory.locate("e8 1dy") == directory.get("E8 1DY")


def test_distinct_errors(directory: PostcodeDirectory) -> None:
    with pytest.raises(MalformedPostcodeError):
        directory.get("EC2V 7H")
    with pytest.raises(UnknownPostcodeError) as unknown:
        directory.get("EC2V 9ZZ")
    assert str(unknown.value) == (
        f"EC2V 9ZZ is not in the postcode directory (version {directory.version})"
    )
    without = _postcode_without_coordinates(directory)
    record = directory.get(without)
    assert record.easting is None and record.northing is None
    with pytest.raises(PostcodeWithoutCoordinatesError) as nowhere:
        directory.locate(without.lower())
    assert str(nowhere.value).startswith(f"{without} exists but the directory gives it no location")


def _postcode_without_coordinates(directory: PostcodeDirectory) -> str:
    missing = np.flatnonzero(directory.eastings < 0)
    assert 20_000 < len(missing) < 30_000  # docs/DOMAIN.md: about 24,000
    return str(directory.postcodes[missing[len(missing) // 2]])


def test_get_many_mixes_every_case(directory: PostcodeDirectory) -> None:
    without = _postcode_without_coordinates(directory)
    texts = ["ec2v7hh", "not a postcode", "EC2V 9ZZ", without, float("nan"), "E8 1DY"]
    frame = directory.get_many(texts)  # type: ignore[arg-type]
    assert list(frame.columns) == ["postcode", "easting", "northing", "district_code", "error"]
    assert frame["error"].tolist() == [
        None,
        "malformed",
        "unknown",
        "no_coordinates",
        "malformed",
        None,
    ]
    assert frame["postcode"].tolist() == ["EC2V 7HH", None, "EC2V 9ZZ", without, None, "E8 1DY"]
    guildhall = directory.get("EC2V 7HH")
    assert frame.loc[0, "easting"] == guildhall.easting
    assert frame.loc[0, "northing"] == guildhall.northing
    assert frame.loc[0, "district_code"] == "E09000001"
    assert frame.loc[5, "district_code"] == "E09000012"
    assert frame.loc[1:4, "easting"].isna().all() and frame.loc[1:4, "northing"].isna().all()
    assert frame.loc[1, "district_code"] is None and frame.loc[2, "district_code"] is None
    assert frame.loc[3, "district_code"] == directory.get(without).district_code


def test_get_many_agrees_with_get_and_is_fast(directory: PostcodeDirectory) -> None:
    rng = np.random.default_rng(7)
    sample = directory.postcodes[rng.integers(0, len(directory), 100_000)]
    typed = [str(p).lower().replace(" ", "") for p in sample]
    started = time.perf_counter()
    frame = directory.get_many(typed)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"get_many of 100k took {elapsed:.2f} s"
    assert frame["postcode"].tolist() == [str(p) for p in sample]
    for row in range(0, 100_000, 9_973):
        record = directory.get(typed[row])
        expected_east = math.nan if record.easting is None else record.easting
        got = float(frame["easting"].iloc[row])
        assert (math.isnan(got) and math.isnan(expected_east)) or got == expected_east
        assert frame.loc[row, "district_code"] == record.district_code


def test_get_many_of_nothing(directory: PostcodeDirectory) -> None:
    frame = directory.get_many([])
    assert len(frame) == 0
    assert list(frame.columns) == ["postcode", "easting", "northing", "district_code", "error"]


def test_points_in_box_around_the_city(directory: PostcodeDirectory) -> None:
    eastings, northings, codes = directory.points_in_box(531000, 180000, 534000, 182500)
    assert len(eastings) == len(northings) == len(codes) > 1000
    assert eastings.min() >= 531000 and eastings.max() <= 534000
    assert northings.min() >= 180000 and northings.max() <= 182500
    assert "E09000001" in set(codes.tolist())
    assert codes.dtype.kind == "U"


def test_cached_load_is_fast(directory: PostcodeDirectory, cache_dir: Path) -> None:
    started = time.perf_counter()
    again = PostcodeDirectory.load(cache_dir)
    elapsed = time.perf_counter() - started
    assert elapsed < 3, f"loading the cache took {elapsed:.2f} s"
    assert len(again) == len(directory)


# -------------------------------------------------------------- building and caching, small


def _write_letter(folder: Path, letter: str, rows: list[tuple[str, object, float, float]]) -> None:
    data = {
        "pcd": [r[0] for r in rows],
        "laua": [r[1] for r in rows],
        "oseast1m": [r[2] for r in rows],
        "osnrth1m": [r[3] for r in rows],
    }
    payload = msgpack.packb({"columns": list(data), "data": data})
    (folder / f"postcodes_{letter}.msgpack.br").write_bytes(brotli.compress(payload))


def _tiny_directory(source: Path) -> PostcodeDirectory:
    _write_letter(
        source,
        "E",
        [
            ("EC2V7HH", "E09000001", 532513.0, 181353.0),
            ("E1  0AA", "E09000030", 535267.0, 181084.0),
            ("E8  1DY", "E09000012", 534762.0, 184723.0),
        ],
    )
    _write_letter(source, "G", [("GIR 0AA", float("nan"), float("nan"), float("nan"))])
    messages: list[str] = []
    arrays = _build_arrays(messages.append, source)
    assert messages[:2] == ["reading postcodes E…", "reading postcodes G…"]
    return PostcodeDirectory(version="test", **arrays)


def test_build_from_package_files(tmp_path: Path) -> None:
    directory = _tiny_directory(tmp_path)
    assert directory.postcodes.tolist() == ["E1 0AA", "E8 1DY", "EC2V 7HH", "GIR 0AA"]
    assert directory.district_codes.tolist() == ["E09000001", "E09000012", "E09000030"]
    assert directory.get("e10aa") == PostcodeRecord("E1 0AA", 535267, 181084, "E09000030")
    assert directory.get("GIR 0AA") == PostcodeRecord("GIR 0AA", None, None, None)
    with pytest.raises(UnknownPostcodeError, match=r"\(version test\)"):
        directory.get("ZZ1 1ZZ")
    _, _, codes = directory.points_in_box(0, 0, 700000, 1300000)
    assert sorted(codes.tolist()) == ["E09000001", "E09000012", "E09000030"]


def test_cache_round_trip_and_corruption(tmp_path: Path) -> None:
    directory = _tiny_directory(tmp_path)
    path = tmp_path / "cache" / "postcodes-test.npz"
    arrays = {
        name: getattr(directory, name)
        for name in ("postcodes", "eastings", "northings", "district_index", "district_codes")
    }
    _write_cache(path, "test", arrays)
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left"
    loaded = _read_cache(path, "test")
    assert loaded is not None
    for name, array in arrays.items():
        assert np.array_equal(loaded[name], array)
    assert _read_cache(path, "another-version") is None
    path.write_bytes(path.read_bytes()[:100])
    assert _read_cache(path, "test") is None


def test_unreadable_letter_file(tmp_path: Path) -> None:
    (tmp_path / "postcodes_Q.msgpack.br").write_bytes(b"not brotli")
    with pytest.raises(ReferenceDataError):
        list(_qlacref.iter_letters(None, tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReferenceDataError):
        _qlacref.letter_files(empty)
