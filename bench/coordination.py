"""Benchmark the caseload query and the handoff network build at national scale on SQLite.

Run ``.venv/bin/python bench/coordination.py`` (options: ``--offenders``, ``--addresses``,
``--handoffs``, ``--repeat``, ``--keep``). It migrates a temporary SQLite file, bulk-inserts a
synthetic register with SQLAlchemy Core (all people invented: names from syllables, shaped but
made-up postcodes), then times

* ``caseload_first_page_s``: the Caseload page's default query (open cases, first 200 rows, with
  the total count);
* ``caseload_force_bcu_s``: the same filtered to the Met and one BCU;
* ``caseload_search_s`` / ``caseload_manager_s``: a name search and one manager's cases;
* ``caseload_as_manager_s``: the first page as an offender manager sees it (visibility filter);
* ``network_build_s``: the handoff network of the last 12 months;
* ``officer_loads_s`` / ``suggest_s``: every officer's load, and suggestions for one case.

Each figure is the best of ``--repeat`` runs (``*_first_s`` is the first, cold run). Targets:
under 1 s each. Prints one JSON object; not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from coordination.caseload.officers import officer_loads, suggest_assignees
from coordination.caseload.queries import CaseloadPage, caseload
from coordination.caseload.weights import seed_case_weights
from coordination.core.db import make_engine, upgrade
from coordination.handoffs import network
from coordination.reference.boundaries import seed_forces
from coordination.register.pnc import pnc_check_letter
from geo.forces import CITY_OF_LONDON, LONDON_DISTRICTS, MET_BCUS, METROPOLITAN

REPO = Path(__file__).resolve().parent.parent

SEED = 20251130
ACTOR = "bench"
_SYLLABLES = ("ka", "lo", "mi", "ren", "dar", "vel", "sho", "tin", "bra", "qui", "zel", "mor")
_OUTSIDE = ("E23000028", "E23000027", "E23000032", "E23000031")  # Essex, Herts, Kent, Surrey
_PROGRAMMES = ("iom_fixed", "iom_flex", "iom_free", "mappa", "other")
_RISKS = ("low", "medium", "high", "very_high")
_OFFENCES = ("violence", "robbery", "burglary_domestic", "fraud_and_forgery", "theft_non_motor")


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _table(model: type[SQLModel]) -> sa.Table:
    table: Any = model.__table__  # type: ignore[attr-defined]
    return table


def _insert(conn: sa.Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    table = _table(model)
    for i in range(0, len(rows), 20_000):
        conn.execute(table.insert(), rows[i : i + 20_000])


def generate(url: str, *, n_offenders: int, n_addresses: int, n_handoffs: int) -> dict[str, Any]:
    """Fill a migrated database with a synthetic register; return facts the timings need."""
    from coordination.models import (
        Address,
        Case,
        Handoff,
        Offender,
        OfficerProfile,
        User,
    )

    rng = random.Random(SEED)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        seed_forces(session, actor=ACTOR)
        seed_case_weights(session, actor=ACTOR)
        session.commit()
    now = datetime.now(UTC)
    today = now.date()
    met_districts = [d for d in LONDON_DISTRICTS if d != "E09000001"]
    neighbours = ["E09000012", "E09000030", "E09000019", "E09000007", "E09000033", "E09000028"]
    bcus = sorted({code for code, _ in MET_BCUS.values()})

    users: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    officers: dict[tuple[str, str | None], list[int]] = {}

    def officer(force: str, bcu: str | None, team: str) -> None:
        uid = len(users) + 1
        users.append(
            {
                "id": uid,
                "username": f"officer{uid:04d}",
                "display_name": f"{_name(rng, 2)} {_name(rng, 3)}",
                "force_code": force,
                "role": "offender_manager",
                "bcu_code": bcu,
                "team": team,
                "active": True,
                "created_at": now,
            }
        )
        profiles.append(
            {
                "user_id": uid,
                "grade": rng.choice(("PC", "DC", "PS")),
                "grade_points": rng.choice((300.0, 400.0, 500.0)),
                "contracted_hours": 37.0,
                "available_hours": rng.choice((37.0, 30.0, 18.5)),
            }
        )
        officers.setdefault((force, bcu), []).append(uid)

    for i in range(40):
        officer(CITY_OF_LONDON, None, f"City IOM {i % 4 + 1}")
    for bcu in bcus:
        for i in range(20):
            officer(METROPOLITAN, bcu, f"{bcu} IOM {i % 2 + 1}")

    offenders: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    extra = max(n_addresses - n_offenders, 0)
    history = [
        extra // n_offenders + (1 if i < extra % n_offenders else 0) for i in range(n_offenders)
    ]
    for oid in range(1, n_offenders + 1):
        year = rng.randint(1995, 2024)
        serial = oid
        offenders.append(
            {
                "id": oid,
                "pnc_id": f"{year}/{serial:07d}{pnc_check_letter(year, serial)}",
                "first_name": _name(rng, 2),
                "last_name": _name(rng, 3),
                "aliases": [],
                "date_of_birth": date(
                    rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28)
                ),
                "sex": rng.choice(("male", "male", "male", "female")),
                "created_at": now,
                "created_by": ACTOR,
            }
        )
        start = today - timedelta(days=rng.randint(400, 3000))
        for _ in range(history[oid - 1]):
            end = start + timedelta(days=rng.randint(30, 300))
            addresses.append(_address(rng, oid, start, end, met_districts, neighbours, now))
            start = end + timedelta(days=1)
        current = _address(rng, oid, start, None, met_districts, neighbours, now)
        addresses.append(current)
        lead = current["force_code"] or CITY_OF_LONDON
        pool = officers.get((lead, current["bcu_code"] if lead == METROPOLITAN else None), [])
        programme = rng.choice(_PROGRAMMES)
        cases.append(
            {
                "id": oid,
                "offender_id": oid,
                "programme": programme,
                "mappa_category": rng.randint(1, 3) if programme == "mappa" else None,
                "mappa_level": rng.randint(1, 3) if programme == "mappa" else None,
                "risk": rng.choice(_RISKS),
                "offence_category": rng.choice(_OFFENCES),
                "next_review_due": today + timedelta(days=rng.randint(-30, 180)),
                "lead_force_code": lead,
                "assigned_user_id": rng.choice(pool) if pool and rng.random() < 0.9 else None,
                "status": "open" if rng.random() < 0.9 else "closed",
                "responsibility_rule": "residence",
                "responsibility_explanation": "synthetic",
                "flags": ["near_boundary"] if current["near_boundary"] else [],
                "opened_at": now,
                "closed_at": None,
                "updated_at": now,
                "updated_by": ACTOR,
                "version": 1,
            }
        )

    handoffs: list[dict[str, Any]] = []
    open_cases: set[int] = set()
    forces = [CITY_OF_LONDON, METROPOLITAN, *_OUTSIDE]
    for hid in range(1, n_handoffs + 1):
        case_id = rng.randint(1, n_offenders)
        state = rng.choices(
            ("completed", "withdrawn", "rejected", "proposed", "requested", "accepted"),
            weights=(60, 8, 5, 5, 12, 10),
        )[0]
        if state in ("proposed", "requested", "accepted"):
            if case_id in open_cases:
                state = "completed"  # one open handoff per case (a partial unique index)
            else:
                open_cases.add(case_id)
        src = rng.choices(forces, weights=(40, 45, 4, 4, 4, 3))[0]
        dst = rng.choice([f for f in forces if f != src])
        requested = now - timedelta(days=rng.uniform(0, 450))
        accepted = (
            requested + timedelta(days=rng.uniform(1, 15))
            if state in ("accepted", "completed")
            else None
        )
        handoffs.append(
            {
                "id": hid,
                "case_id": case_id,
                "address_id": None,
                "from_force_code": src,
                "to_force_code": dst,
                "to_bcu_code": rng.choice(bcus) if dst == METROPOLITAN else None,
                "reason": "change of residence",
                "state": state,
                "requested_at": None if state == "proposed" else requested,
                "address_check_due": (requested + timedelta(days=10)).date(),
                "completion_due": (requested + timedelta(days=28)).date(),
                "accepted_at": accepted,
                "completed_at": accepted + timedelta(days=5)
                if accepted and state == "completed"
                else None,
                "closed_at": None,
                "rejection_reason": "not resident" if state == "rejected" else None,
                "escalated": state == "rejected",
                "created_at": requested,
                "created_by": ACTOR,
                "updated_at": requested,
                "updated_by": ACTOR,
                "version": 1,
            }
        )

    t0 = time.perf_counter()
    with engine.begin() as conn:
        _insert(conn, User, users)
        _insert(conn, OfficerProfile, profiles)
        _insert(conn, Offender, offenders)
        _insert(conn, Address, addresses)
        _insert(conn, Case, cases)
        _insert(conn, Handoff, handoffs)
    insert_s = time.perf_counter() - t0
    engine.dispose()
    return {
        "insert_s": round(insert_s, 2),
        "offenders": len(offenders),
        "addresses": len(addresses),
        "cases": len(cases),
        "handoffs": len(handoffs),
        "officers": len(users),
        "sample_case": next(c["id"] for c in cases if c["lead_force_code"] == METROPOLITAN),
        "sample_manager": users[len(users) // 2]["username"],
    }


def _address(
    rng: random.Random,
    offender_id: int,
    start: date,
    end: date | None,
    met_districts: list[str],
    neighbours: list[str],
    now: datetime,
) -> dict[str, Any]:
    roll = rng.random()
    state = "residence" if roll < 0.95 else ("no_fixed_abode" if roll < 0.98 else "unknown")
    force = district = bcu = None
    if state == "residence":
        where = rng.random()
        if where < 0.08:
            force, district = CITY_OF_LONDON, "E09000001"
        elif where < 0.93:
            force = METROPOLITAN
            district = rng.choice(neighbours) if rng.random() < 0.6 else rng.choice(met_districts)
            bcu = MET_BCUS[district][0]
        else:
            force, district = rng.choice(_OUTSIDE), None
    near = state == "residence" and rng.random() < 0.05
    return {
        "offender_id": offender_id,
        "state": state,
        "postcode": f"ZZ{rng.randint(1, 99)} {rng.randint(1, 9)}ZZ"
        if state == "residence"
        else None,
        "easting": None,
        "northing": None,
        "valid_from": start,
        "valid_to": end,
        "force_code": force,
        "district_code": district,
        "bcu_code": bcu,
        "ward_code": None,
        "distance_to_boundary_m": 150.0 if near else None,
        "near_boundary": near,
        "method": "bench" if state == "residence" else None,
        "boundary_set": "bench" if state == "residence" else None,
        "created_at": now,
        "created_by": ACTOR,
    }


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offenders", type=int, default=100_000)
    parser.add_argument("--addresses", type=int, default=300_000)
    parser.add_argument("--handoffs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each timing (best kept)")
    parser.add_argument("--keep", type=Path, help="write the database here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if path.exists():
            path.unlink()
        url = f"sqlite:///{path}"
        facts = generate(
            url, n_offenders=args.offenders, n_addresses=args.addresses, n_handoffs=args.handoffs
        )
        engine = make_engine(url)
        today = datetime.now(UTC).date()
        result: dict[str, Any] = {**facts}
        with Session(engine) as session:
            timings: dict[str, Callable[[], Any]] = {
                "caseload_first_page": lambda: caseload(session, actor="system:test"),
                "caseload_force_bcu": lambda: caseload(
                    session, force_code=METROPOLITAN, bcu_code="CE", actor="system:test"
                ),
                "caseload_search": lambda: caseload(session, search="kalo", actor="system:test"),
                "caseload_manager": lambda: caseload(
                    session, manager=facts["sample_manager"], actor="system:test"
                ),
                # As a signed-in offender manager: the permission visibility filter applies.
                "caseload_as_manager": lambda: caseload(session, actor=facts["sample_manager"]),
                "network_build": lambda: network.build_network(
                    session, start=today - timedelta(days=365), end=today, actor="system:test"
                ),
                "officer_loads": lambda: officer_loads(session, actor="system:test"),
                "suggest": lambda: suggest_assignees(
                    session, case_id=facts["sample_case"], actor="system:test"
                ),
            }
            for key, fn in timings.items():
                first, best, value = _time(fn, args.repeat)
                result[f"{key}_first_s"] = round(first, 4)
                result[f"{key}_s"] = round(best, 4)
                if isinstance(value, CaseloadPage):
                    result[f"{key}_total"] = value.total
                    result[f"{key}_rows"] = len(value.rows)
                elif key == "network_build":
                    result["network_nodes"] = value.number_of_nodes()
                    result["network_edges"] = value.number_of_edges()
                    result["network_handoffs"] = sum(
                        d["count"] for _, _, d in value.edges(data=True)
                    )
        engine.dispose()
        keys = ("caseload_first_page_s", "caseload_force_bcu_s", "network_build_s")
        result["target_s"] = 1.0
        result["all_under_target"] = all(result[k] < 1.0 for k in keys)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
