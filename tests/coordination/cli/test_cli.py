"""The console script: human and JSON output, exit codes, one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from coordination.cli.main import main


@pytest.fixture(autouse=True)
def _app(app_env: dict[str, str]) -> None:
    """Every test here runs against the initialised temporary installation."""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lookup_human_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "EC2V 7HH")
    assert code == 0
    assert "City of London Police" in out
    assert "E09000001" in out

    code, out, _ = run(capsys, "lookup", "e8 1dy", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["force"]["name"] == "Metropolitan Police Service"
    assert data["bcu"] == {"code": "CE", "name": "Central East"}

    code, out, _ = run(capsys, "lookup", "--bng", "532494,181344", "--json")
    assert code == 0
    assert json.loads(out)["force"]["code"] == "E23000034"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["lookup", "EC2V 7H"], "not a UK postcode"),
        (["lookup", "EC2V 9ZZ"], "not in the postcode directory"),
        (["lookup", "91.0,0.0"], "outside"),
        (["lookup"], "Give a postcode"),
        (["lookup", "--bng", "1,2,3"], ""),
        (["data", "activate", "no-such-set"], "no-such-set"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert "Traceback" not in err


def test_resolve_file_with_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["1", "2", "3"], "postcode": ["EC2V 7HH", "E8 1DY", "nonsense"]}).to_csv(
        source, index=False
    )
    target = tmp_path / "out.xlsx"
    code, out, _ = run(capsys, "resolve", str(source), str(target))
    assert code == 0
    assert "3 rows: 2 resolved, 1 not resolved (1 not a UK postcode)" in out
    back = pd.read_excel(target, dtype=str)
    assert list(back["force_code"].fillna("")) == ["E23000034", "E23000001", ""]
    assert list(back["status"]) == ["resolved", "resolved", "not resolved"]
    assert list(back["reason"].fillna("")) == ["", "", "not a UK postcode"]


def test_data_status_and_init_twice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "status", "--json")
    assert code == 0
    sets = json.loads(out)
    assert sum(s["active"] for s in sets) == 1
    code, out, _ = run(capsys, "init")
    assert code == 0
    code, out2, _ = run(capsys, "data", "status", "--json")
    assert json.loads(out2) == sets


def test_loading_a_broken_pack_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "lad_to_pfa.csv").write_text("LAD25CD,PFA24CD\nX1,E23000001\nX1,E23000002\n")
    code, _, err = run(capsys, "data", "load", str(tmp_path))
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("crossforce:")
    assert "Traceback" not in err


def test_console_script_runs_without_traceback(app_env: dict[str, str]) -> None:
    script = Path(sys.executable).parent / "crossforce"
    done = subprocess.run(
        [str(script), "lookup", "not-a-postcode"],
        env=app_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    ok = subprocess.run(
        [str(script), "lookup", "EC2V 7HH", "--json"],
        env=app_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["district"]["code"] == "E09000001"
