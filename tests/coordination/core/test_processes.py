"""Crash and concurrency evidence from real processes: the CLI killed mid-write, and raced.

Kill tests: ``crossforce import offenders``, ``crossforce demo`` and ``crossforce data load`` run
as child processes, watched for an open write transaction, and are killed with SIGKILL by PID:
just after their write opens, and at two seeded points spread over the write of an unkilled run
timed first. Each run starts on its own copy of one initialised installation; afterwards the
database holds exactly what it held before or exactly what the unkilled run left (the row count
of every table), never a part, and ``crossforce audit verify`` passes.

Race test: several processes of the real CLI (``coordination.cli.main``, imported before a start
line so they leave it together) accept, or complete, one handoff at the same moment: one wins,
every other exits 2 with one line, and nobody meets "database is locked" or a traceback.

SQLite (a file under ``tmp_path``) and PostgreSQL (``database_url``), like every storage test.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from coordination.core.db import dispose_engines, session_scope
from coordination.core.settings import Settings, reset_settings_cache
from coordination.handoffs.workflow import get_handoff, transition
from coordination.models import AuditEvent, Case, UserCreate
from coordination.register.pnc import pnc_check_letter
from coordination.security.users import create_user
from coordination.setup.initialise import initialise
from geo.forces import METROPOLITAN
from tests.factories import SYSTEM, World, confirm_address
from tests.support.database import copy_sqlite

pytestmark = pytest.mark.slow

#: The console script's module: what ``crossforce`` runs (``coordination.cli.main:main``).
CLI = (sys.executable, "-m", "coordination.cli")
SEED = 20261207
#: Bands of the unkilled run's write (first to last moment seen open), one seeded kill in each.
KILL_BANDS = ((0.2, 0.55), (0.55, 0.9))
IMPORT_ROWS = 200
DEMO_OFFENDERS = 15
RACERS = 6
#: What no process may ever print, whoever wins.
FORBIDDEN = ("database is locked", "OperationalError", "Traceback")


# --- the installation and its copies -----------------------------------------------------------


@pytest.fixture
def installation(world: tuple[Engine, World], database_url: str, cache_dir: Path) -> str:
    """``world`` initialised as ``crossforce init`` would: reference data, weights; its URL.

    The boundary set is the national pack with ``CROSSFORCE_REFERENCE_DIR``, else the London
    default; the data directory is the one whose caches the tests share.
    """
    initialise(
        settings=Settings(database_url=database_url, data_dir=cache_dir.parent), actor=SYSTEM
    )
    dispose_engines()  # no connection of ours stays on it: PostgreSQL copies only an idle one
    return database_url


@contextmanager
def copy_of(url: str, tag: str, directory: Path) -> Iterator[str]:
    """A copy of the database at ``url`` for one run (SQLite backup, PostgreSQL template)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        yield copy_sqlite(url, directory / f"{tag}.db")
        return
    name = f"{parsed.database}_{tag}"
    # Connected elsewhere: PostgreSQL copies a template only while nobody is connected to it.
    admin = sa.create_engine(
        os.environ["CROSSFORCE_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT"
    )
    try:
        _retried(admin, f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        _retried(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _retried(admin: Engine, statement: str) -> None:
    """Run a CREATE or DROP DATABASE, again while a server process (autovacuum, a backend
    still ending) is on the database: that passes within moments."""
    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(statement))
            return
        except sa.exc.DBAPIError:
            if attempt == 19:
                raise
            time.sleep(0.5)


def row_counts(url: str) -> dict[str, int]:
    """The number of rows of every table (the schema's version aside)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(set(sa.inspect(conn).get_table_names()) - {"alembic_version"})
            return {
                n: conn.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar_one()
                for n in names
            }
    finally:
        engine.dispose()


@contextmanager
def write_probe(url: str) -> Iterator[Callable[[], bool]]:
    """A check, cheap enough to poll, of whether another connection holds a write open.

    PostgreSQL: a backend on the database with a transaction id (it has written). SQLite: the
    write lock is taken (``BEGIN IMMEDIATE`` fails at once; when it succeeds it is rolled back
    before anyone could wait on it, and commits nothing).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database
        conn = sqlite3.connect(parsed.database, timeout=0, isolation_level=None)

        def sqlite_writing() -> bool:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            conn.execute("ROLLBACK")
            return False

        try:
            yield sqlite_writing
        finally:
            conn.close()
        return
    engine = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    with engine.connect() as pg:
        yield lambda: bool(pg.execute(query).scalar_one())
    engine.dispose()


# --- the child processes -----------------------------------------------------------------------


def child_env(url: str, data_dir: Path) -> dict[str, str]:
    """This process's environment (audit key, checkpoint directory) pointed at ``url``.

    Development, so ``--as`` names the acting user without a password, as in the demo.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"CROSSFORCE_TOKEN", "CROSSFORCE_USER"}}
    env.update(
        CROSSFORCE_DATABASE_URL=url,
        CROSSFORCE_DATA_DIR=str(data_dir),
        CROSSFORCE_ENV="development",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Run:
    """One child process's end: exit code (``-9`` when killed), output, time, writes seen."""

    code: int
    out: str
    err: str
    seconds: float
    #: When (seconds from the start) a write transaction was first and last seen open.
    write_from: float | None = None
    write_to: float | None = None
    #: Whether the write was open at the last look before the child ended (or was killed).
    open_at_end: bool = False

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


def run_cli(
    argv: list[str],
    env: dict[str, str],
    workdir: Path,
    *,
    probe: Callable[[], bool] | None = None,
    kill_at: float | None = None,
    kill_into_write: float | None = None,
) -> Run:
    """Run the CLI, watching its writes with ``probe``; SIGKILL it by its PID ``kill_at``
    seconds after the start, or ``kill_into_write`` seconds after its write was first seen.

    Output goes to files, so no pipe can fill up and hold the child back.
    """
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    first: float | None = None
    last: float | None = None
    open_now = False
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.monotonic()
        child = subprocess.Popen([*CLI, *argv], env=env, cwd=workdir, stdout=out, stderr=err)
        try:
            while child.poll() is None:
                now = time.monotonic() - started
                assert now < 180, f"{argv} ran for {now:.0f} s"
                open_now = probe is not None and probe()
                if open_now:
                    first = now if first is None else first
                    last = now
                due = kill_at is not None and now >= kill_at
                if kill_into_write is not None and first is not None:
                    due = due or now - first >= kill_into_write
                if due:
                    # Had it exited in the meantime, its zombie would take the signal unharmed.
                    os.kill(child.pid, signal.SIGKILL)
                    break
                time.sleep(0.005)
            child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    seconds = time.monotonic() - started
    out_text, err_text = out_path.read_text(), err_path.read_text()
    return Run(child.returncode, out_text, err_text, seconds, first, last, open_now)


def verify_audit(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """``crossforce --as city.admin audit verify --json`` on ``url``: exit 0 and its report."""
    from coordination.cli.main import main

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    capsys.readouterr()
    try:
        code = main(["--as", "city.admin", "audit", "verify", "--json"])
        out, err = capsys.readouterr()
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL")
        reset_settings_cache()
        dispose_engines()
    assert code == 0, out + err
    report: dict[str, Any] = json.loads(out)
    assert report["ok"] is True, report
    return report


# --- what is killed ----------------------------------------------------------------------------


def pnc(serial: int) -> str:
    return f"2016/{serial:07d}{pnc_check_letter(2016, serial)}"


def offenders_csv(path: Path) -> Path:
    """``IMPORT_ROWS`` synthetic people in the importer's columns (``register.imports``)."""
    postcodes = ("EC2V 7HH", "E8 1DY", "NFA", "EC1A 1BB", "E2 7DG")
    rows = [
        {
            "first_name": "Ann",
            "last_name": f"Killtest{i}",
            "date_of_birth": f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}",
            "sex": ("female", "male")[i % 2],
            "pnc_id": pnc(i),
            "postcode": postcodes[i % len(postcodes)],
            "programme": ("iom_fixed", "iom_flex", "mappa")[i % 3],
            "risk": ("low", "medium", "high")[i % 3],
            "offence_category": "robbery",
            "mappa_category": "2" if i % 3 == 2 else "",
            "mappa_level": "1" if i % 3 == 2 else "",
        }
        for i in range(1, IMPORT_ROWS + 1)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _argv(command: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    if command == "import offenders":
        csv = offenders_csv(tmp_path / "offenders.csv")
        return ["--as", "city.om", "import", "offenders", str(csv)]
    if command == "demo":
        return ["demo", "--offenders", str(DEMO_OFFENDERS), "--seed", "7", "--today", "2025-11-03"]
    pack: Path = request.getfixturevalue("reference_dir")  # skips without the national pack
    return ["--as", "city.admin", "data", "load", str(pack), "--name", "kill-test"]


@pytest.mark.parametrize("command", ["import offenders", "demo", "data load"])
def test_a_killed_command_leaves_all_or_nothing(
    installation: str,
    command: str,
    cache_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = _argv(command, tmp_path, request)
    data_dir = cache_dir.parent
    before = row_counts(installation)

    with copy_of(installation, "whole", tmp_path) as url, write_probe(url) as probe:
        whole = run_cli(argv, child_env(url, data_dir), tmp_path, probe=probe)
        assert whole.code == 0, whole.err
        complete = row_counts(url)
        verify_audit(url, monkeypatch, capsys)
    assert complete != before
    assert not any(word in whole.out + whole.err for word in FORBIDDEN)
    assert whole.write_from is not None and whole.write_to is not None, "no write seen"
    write_from, write_to = whole.write_from, whole.write_to

    # Seeded points: just after the write opens, then two spread over the unkilled run's write.
    rng = random.Random(f"{SEED}:{command}")
    points: list[dict[str, float]] = [{"kill_into_write": rng.uniform(0.0, 0.01)}]
    points += [
        {"kill_at": write_from + (write_to - write_from) * rng.uniform(lo, hi)}
        for lo, hi in KILL_BANDS
    ]
    seen: list[str] = []
    interrupted = 0
    for index, point in enumerate(points):
        with copy_of(installation, f"kill{index}", tmp_path) as url:
            with write_probe(url) as probe:
                run = run_cli(argv, child_env(url, data_dir), tmp_path, probe=probe, **point)
            after = row_counts(url)
            outcome = "unchanged" if after == before else "complete" if after == complete else ""
            partial = {
                t: (before[t], after[t], complete[t]) for t in after if after[t] != before[t]
            }
            assert outcome, f"{command} killed at {point}: partial write {partial}"
            assert run.killed or run.code == 0, run.err
            assert not any(word in run.out + run.err for word in FORBIDDEN), run.err
            verify_audit(url, monkeypatch, capsys)
        writing = run.killed and run.open_at_end
        interrupted += writing and outcome == "unchanged"
        kill = "killed" if run.killed else "finished"
        seen.append(
            f"{kill} at {run.seconds:.2f} s ({'in' if writing else 'outside'} a write): {outcome}"
        )
    # Not vacuous: at least one kill cut a transaction while it was writing.
    assert interrupted, seen
    with capsys.disabled():
        print(
            f"\n{command}: unkilled {whole.seconds:.2f} s, writing {write_from:.2f}-"
            f"{write_to:.2f} s; " + "; ".join(seen)
        )


# --- the race ----------------------------------------------------------------------------------

#: A child that imports the CLI, says it is ready, waits for the start line, then runs it.
RACER = """\
import sys, time
from pathlib import Path
from coordination.cli.main import main
import coordination.handoffs.workflow, coordination.core.console  # the command's own imports
ready, go, *argv = sys.argv[1:]
Path(ready).write_text("")
while not Path(go).exists():
    time.sleep(0.0005)
started = time.time()
code = main(argv)
Path(ready).write_text(f"{started} {time.time()}")
sys.exit(code)
"""


@pytest.mark.parametrize(("action", "pinned"), [("accept", True), ("complete", False)])
def test_racing_processes_on_one_handoff(
    world: tuple[Engine, World],
    database_url: str,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    action: str,
    pinned: bool,
) -> None:
    """``pinned``: each racer gives the version it read (``--version``), as a script does."""
    engine, w = world
    racers = [f"met.racer{i}" for i in range(RACERS)]
    with session_scope(engine) as s:
        for name in racers:
            create_user(
                s,
                actor=SYSTEM,
                data=UserCreate(
                    username=name,
                    display_name=name.title(),
                    force_code=METROPOLITAN,
                    role="offender_manager",
                ),
            )
    if action == "complete":
        with session_scope(engine) as s:
            transition(s, actor="met.om", handoff_id=w.handoff, action="accept")
        with session_scope(engine) as s:
            confirm_address(s, w.handoff, actor="met.om")
    with Session(engine) as s:
        seen = get_handoff(s, w.handoff, actor=SYSTEM)
    dispose_engines()

    go = tmp_path / "go"
    version = ["--version", str(seen.version)] if pinned else []
    env = child_env(database_url, cache_dir.parent)
    children = []
    for i, name in enumerate(racers):
        argv = ["--as", name, "handoffs", action, str(w.handoff), *version]
        out = open(tmp_path / f"racer{i}.out", "w")  # noqa: SIM115 - closed below
        err = open(tmp_path / f"racer{i}.err", "w")  # noqa: SIM115 - closed below
        child = subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path / f"racer{i}.ready"), str(go), *argv],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
        children.append((child, out, err))
    ready = [tmp_path / f"racer{i}.ready" for i in range(RACERS)]
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in ready):
        assert time.monotonic() < deadline, "a racer never got ready"
        assert all(c.poll() is None for c, _, _ in children), "a racer died before the start"
        time.sleep(0.01)
    go.write_text("")
    codes = []
    for child, out, err in children:
        codes.append(child.wait(timeout=120))
        out.close()
        err.close()
    outs = [(tmp_path / f"racer{i}.out").read_text() for i in range(RACERS)]
    errs = [(tmp_path / f"racer{i}.err").read_text() for i in range(RACERS)]
    spans = [tuple(map(float, p.read_text().split())) for p in ready]

    for i in range(RACERS):
        assert not any(word in outs[i] + errs[i] for word in FORBIDDEN), (outs[i], errs[i])
    # They collided: every one had left the start line before the first one was done.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    winners = [i for i, code in enumerate(codes) if code == 0]
    assert len(winners) == 1, list(zip(codes, errs, strict=True))
    winner = racers[winners[0]]
    target = "accepted" if action == "accept" else "completed"
    for i, code in enumerate(codes):
        if i == winners[0]:
            assert f"by {winner}" in outs[i] and errs[i] == "", (outs[i], errs[i])
            continue
        assert code == 2, (code, errs[i])
        assert outs[i] == "" and len(errs[i].strip().splitlines()) == 1, (outs[i], errs[i])
        line = errs[i].strip()
        assert line.startswith("crossforce: "), line
        # Whether it read before or after the winner's commit, the loser is told who won or
        # that the handoff has moved on: never to try again as if nothing had happened.
        lost_race = f"Handoff {w.handoff} was changed by {winner} at " in line
        moved_on = f"Cannot {action} handoff {w.handoff}: it is {target}" in line
        assert lost_race or moved_on, line
        if pinned:
            assert lost_race, line

    with Session(engine) as s:
        now = get_handoff(s, w.handoff, actor=SYSTEM)
        assert now.state == target and now.version == seen.version + 1
        assert now.updated_by == winner
        events = s.exec(
            select(AuditEvent.actor).where(
                AuditEvent.entity_type == "handoff",
                AuditEvent.entity_id == str(w.handoff),
                AuditEvent.action == f"handoff.{action}",
            )
        ).all()
        assert events == [winner]
        case = s.get(Case, now.case_id)
        assert case is not None
        if action == "complete":
            assert case.lead_force_code == METROPOLITAN
            moves = s.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "case.lead_force",
                    col(AuditEvent.entity_id) == str(case.id),
                )
            ).all()
            assert len(moves) == 1
    engine.dispose()
    verify_audit(database_url, monkeypatch, capsys)
    spread = max(start for start, _ in spans) - min(start for start, _ in spans)
    first_done = min(end for _, end in spans) - min(start for start, _ in spans)
    with capsys.disabled():
        print(
            f"\n{action}: {RACERS} racers left within {spread * 1000:.0f} ms, the first done "
            f"{first_done * 1000:.0f} ms after; winner {winner}; losers said "
            f"{sorted({e.strip() for e in errs if e})}"
        )
