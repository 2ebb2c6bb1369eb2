"""Benchmark the joint review: the agenda over a national-scale register, and a 60-item PDF pack.

Run ``.venv/bin/python bench/review.py`` (options: ``--offenders``, ``--addresses``,
``--handoffs``, ``--items``, ``--repeat``, ``--no-boundaries``, ``--keep``). It migrates a
temporary SQLite file and bulk-inserts a synthetic register with the generator of
``bench/coordination.py`` (SQLAlchemy Core; all people invented), loads and activates the national
boundary pack (``CROSSFORCE_REFERENCE_DIR``) so that maps are drawn, then times

* ``agenda_s``: :func:`coordination.review.agenda.generate_agenda` for a City–Met meeting over
  the whole register (each run in its own transaction, rolled back, so every run does the same work;
  ``agenda_first_s`` is the first, cold run). Target under 2 s.
* ``pdf_pack_s``: :func:`coordination.packs.export.export_pack` as PDF for a meeting of
  ``--items`` (60) items taken from the top of the generated agenda, each with a residence
  history near the City and a map; decisions and actions on half of them. Target under 10 s.
  ``pdf_pack_cold_s`` includes reading the prepared resolver from its cache file.
  ``xlsx_pack_s`` and ``md_pack_s`` for the same meeting, for information.

Prints one JSON object; not part of the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.db import make_engine
from coordination.models import (
    Address,
    AgendaItem,
    Case,
    Meeting,
    ReviewAction,
    ReviewDecision,
)
from coordination.packs.build import build_pack_content
from coordination.packs.export import export_pack
from coordination.reference.boundaries import activate, load_pack
from coordination.review.agenda import generate_agenda
from coordination.review.meetings import create_meeting
from geo.forces import CITY_OF_LONDON, METROPOLITAN

REPO = Path(__file__).resolve().parent.parent

ACTOR = "bench"
SEED = 20251201


def _generator() -> Callable[..., dict[str, Any]]:
    """``generate`` from bench/coordination.py (a script, not a package: load it by path)."""
    spec = importlib.util.spec_from_file_location(
        "_bench_coordination", REPO / "bench" / "coordination.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times: list[float] = []
    value = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), value


def _load_boundaries(url: str) -> str | None:
    reference = os.environ.get("CROSSFORCE_REFERENCE_DIR")
    if not reference or not Path(reference).is_dir():
        return None
    engine = make_engine(url)
    with Session(engine) as session:
        loaded = load_pack(session, actor=ACTOR, path=reference)
        activate(session, actor=ACTOR, name=loaded.name)
        session.commit()
    engine.dispose()
    return loaded.name


def _new_meeting(session: Session, title: str, day: date) -> int:
    meeting = Meeting(
        title=title,
        meeting_date=day,
        chair="Ch Insp Bench",
        attendees=["DS Bench One", "DS Bench Two", "PC Bench Three"],
        forces=sorted([CITY_OF_LONDON, METROPOLITAN]),
        created_by=ACTOR,
        updated_by=ACTOR,
    )
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    return meeting.id


def _pack_meeting(
    session: Session, rng: random.Random, source: list[AgendaItem], n_items: int, day: date
) -> int:
    """A meeting of ``n_items`` items (from ``source`` when given), residences near the City."""
    meeting_id = _new_meeting(session, "City–Met joint review (bench pack)", day)
    if source:
        picks = [(i.case_id, i.reasons, i.score, i.score_parts) for i in source[:n_items]]
    else:
        case_ids = session.exec(
            select(Case.id).where(Case.status == "open").order_by(col(Case.id)).limit(n_items)
        ).all()
        picks = [
            (
                cid or 0,
                [{"code": "near_boundary", "text": "Residence 80 m from the force boundary"}],
                float(n_items - k),
                {"risk": 2.0},
            )
            for k, cid in enumerate(case_ids)
        ]
    cases = {
        c.id: c
        for c in session.exec(select(Case).where(col(Case.id).in_([p[0] for p in picks]))).all()
    }
    for position, (case_id, reasons, score, parts) in enumerate(picks, start=1):
        item = AgendaItem(
            meeting_id=meeting_id,
            case_id=case_id,
            position=position,
            reasons=reasons,
            score=score,
            score_parts=parts,
        )
        session.add(item)
        session.flush()
        case = cases[case_id]
        # Residences around the City so every map has force, district and ward lines to draw.
        for address in session.exec(
            select(Address).where(Address.offender_id == case.offender_id)
        ).all():
            address.easting = 532000 + rng.uniform(-2500, 2500)
            address.northing = 181300 + rng.uniform(-1800, 1800)
            session.add(address)
        if position % 2:
            session.add(
                ReviewDecision(
                    agenda_item_id=item.id,  # type: ignore[arg-type]
                    kind=rng.choice(["retain", "joint", "escalate", "nfa"]),
                    note="Agreed at the bench meeting; review in three months.",
                    decided_by=ACTOR,
                )
            )
            session.add(
                ReviewAction(
                    meeting_id=meeting_id,
                    case_id=case_id,
                    description="Confirm the current address with the neighbourhood team",
                    owner="DS Bench One",
                    due_date=day + timedelta(days=14),
                    created_by=ACTOR,
                )
            )
    session.flush()
    return meeting_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offenders", type=int, default=100_000)
    parser.add_argument("--addresses", type=int, default=300_000)
    parser.add_argument("--handoffs", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=60, help="agenda items in the PDF pack")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (best kept)")
    parser.add_argument("--no-boundaries", action="store_true", help="skip the maps")
    parser.add_argument("--keep", type=Path, help="write the database here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if path.exists():
            path.unlink()
        url = f"sqlite:///{path}"
        result: dict[str, Any] = _generator()(
            url, n_offenders=args.offenders, n_addresses=args.addresses, n_handoffs=args.handoffs
        )
        t0 = time.perf_counter()
        boundary_set = None if args.no_boundaries else _load_boundaries(url)
        result["boundary_set"] = boundary_set
        result["boundary_load_s"] = round(time.perf_counter() - t0, 2)

        engine = make_engine(url)
        rng = random.Random(SEED)
        today = datetime.now(UTC).date()
        day = today + timedelta(days=7)
        source: list[AgendaItem] = []
        with Session(engine) as session:
            meeting = create_meeting(
                session,
                actor=ACTOR,
                title="City–Met joint review (bench agenda)",
                meeting_date=day,
                chair="Ch Insp Bench",
                attendees=["DS Bench One"],
            )
            session.commit()
            agenda_meeting = meeting.id

        def agenda() -> int:
            with Session(engine) as session:
                items = generate_agenda(
                    session, actor=ACTOR, meeting_id=agenda_meeting, today=today
                )
                session.rollback()  # the same work on every run
                return len(items)

        first, best, n = _time(agenda, args.repeat)
        result["agenda_first_s"] = round(first, 3)
        result["agenda_s"] = round(best, 3)
        result["agenda_items"] = n
        with Session(engine) as session:
            generate_agenda(session, actor=ACTOR, meeting_id=agenda_meeting, today=today)
            session.commit()
            source = list(
                session.exec(
                    select(AgendaItem)
                    .where(AgendaItem.meeting_id == agenda_meeting)
                    .where(sa.not_(col(AgendaItem.removed)))
                    .order_by(col(AgendaItem.position))
                ).all()
            )
            session.expunge_all()

        with Session(engine) as session:
            pack_id = _pack_meeting(session, rng, source, args.items, day)
            session.commit()

        def export(fmt: str) -> Callable[[], bytes]:
            def run() -> bytes:
                with Session(engine) as session:
                    data = export_pack(
                        session,
                        actor=ACTOR,
                        meeting_id=pack_id,
                        fmt=fmt,  # type: ignore[arg-type]
                        recipients=["bench@example.police.uk"],
                    )
                    session.commit()
                    return data

            return run

        cold, best, pdf = _time(export("pdf"), max(args.repeat, 2))
        result["pdf_pack_cold_s"] = round(cold, 3)
        result["pdf_pack_s"] = round(best, 3)
        result["pdf_pack_items"] = args.items
        result["pdf_pack_bytes"] = len(pdf)
        with Session(engine) as session:
            content = build_pack_content(session, meeting_id=pack_id, actor="system:test")
        result["pdf_pack_maps"] = sum(1 for i in content.items if i.map is not None)
        try:
            import io

            from pypdf import PdfReader

            result["pdf_pack_pages"] = len(PdfReader(io.BytesIO(pdf)).pages)
        except ImportError:
            pass
        for fmt in ("xlsx", "md"):
            _, best, data = _time(export(fmt), args.repeat)
            result[f"{fmt}_pack_s"] = round(best, 3)
            result[f"{fmt}_pack_bytes"] = len(data)
        if args.keep:
            (args.keep.parent / f"{args.keep.stem}-pack.pdf").write_bytes(pdf)
        engine.dispose()

        result["agenda_target_s"] = 2.0
        result["pdf_target_s"] = 10.0
        agenda_ok = isinstance(result["agenda_s"], float) and result["agenda_s"] < 2.0
        result["all_under_target"] = agenda_ok and result["pdf_pack_s"] < 10.0
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
