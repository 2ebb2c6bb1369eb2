"""Case weights: points by programme and risk of serious harm, plus a MAPPA level uplift.

The defaults live in ``coordination/caseload/case_weights.toml`` and are copied into the
``case_weight`` table by :func:`seed_case_weights`, after which the table is what counts (admins
edit it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from coordination.errors import InputError
from coordination.ledger.chain import record_event
from coordination.models import (
    PROGRAMMES,
    RISKS,
    CaseWeight,
)
from coordination.security.permissions import require

WEIGHTS_FILE = Path(__file__).resolve().parent / "case_weights.toml"

# The MAPPA level uplift lives in the same ``case_weight`` table as the programme × risk points
# (the schema has one weights table): programme holds this key and risk holds the level "1".."3".
MAPPA_UPLIFT = "mappa_level_uplift"
MAPPA_LEVELS: tuple[int, ...] = (1, 2, 3)


# --- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseWeights:
    """Points per case by programme and risk, and the MAPPA level uplift.

    Attributes
    ----------
    points
        ``(programme, risk) -> points``.
    mappa_uplift
        ``level -> extra points`` for MAPPA cases.
    """

    points: Mapping[tuple[str, str], float]
    mappa_uplift: Mapping[int, float]

    def case_points(self, programme: str, risk: str, mappa_level: int | None = None) -> float:
        """Return the points one case carries.

        Parameters
        ----------
        programme, risk
            The case's programme and risk of serious harm.
        mappa_level
            The MAPPA level; only counted for ``programme == "mappa"``.

        Returns
        -------
        float
            Base points plus the MAPPA uplift; 0 for a combination nobody weighted.
        """
        base = self.points.get((programme, risk), 0.0)
        if programme == "mappa" and mappa_level is not None:
            base += self.mappa_uplift.get(mappa_level, 0.0)
        return base


def _check_points(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: points must be a number ≥ 0, not {value!r}")
    return float(value)


@lru_cache(maxsize=1)
def default_case_weights() -> CaseWeights:
    """Return the default weights from ``coordination/defaults/case_weights.toml``.

    Returns
    -------
    CaseWeights
        Every programme × risk combination and every MAPPA level.

    Raises
    ------
    InputError
        The file names an unknown programme or risk, lacks a combination, or has a bad value.
    """
    data = tomllib.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    points: dict[tuple[str, str], float] = {}
    table = data.get("points", {})
    for programme in table:
        if programme not in PROGRAMMES:
            raise InputError(f"{WEIGHTS_FILE.name}: unknown programme {programme!r}")
        for risk, value in table[programme].items():
            if risk not in RISKS:
                raise InputError(f"{WEIGHTS_FILE.name}: unknown risk {risk!r} for {programme}")
            points[(programme, risk)] = _check_points(value, f"{WEIGHTS_FILE.name} {programme}")
    missing = [f"{p}/{r}" for p in PROGRAMMES for r in RISKS if (p, r) not in points]
    if missing:
        raise InputError(f"{WEIGHTS_FILE.name}: no points for {', '.join(missing)}")
    uplift = {
        int(level): _check_points(value, f"{WEIGHTS_FILE.name} MAPPA level {level}")
        for level, value in data.get("mappa_level_uplift", {}).items()
    }
    if sorted(uplift) != list(MAPPA_LEVELS):
        raise InputError(f"{WEIGHTS_FILE.name}: mappa_level_uplift needs levels 1, 2 and 3")
    return CaseWeights(points=points, mappa_uplift=uplift)


def _default_rows() -> dict[tuple[str, str], float]:
    defaults = default_case_weights()
    rows = dict(defaults.points)
    rows.update({(MAPPA_UPLIFT, str(level)): v for level, v in defaults.mappa_uplift.items()})
    return rows


def load_case_weights(session: Session) -> CaseWeights:
    """Return the weights in force: the ``case_weight`` table over the file defaults.

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    CaseWeights
        Table values where present, file defaults for anything the table lacks (so a database
        whose weights were never seeded still gives sensible loads).
    """
    rows = _default_rows()
    for weight in session.exec(select(CaseWeight)).all():
        rows[(weight.programme, weight.risk)] = weight.points
    points = {key: v for key, v in rows.items() if key[0] != MAPPA_UPLIFT}
    uplift = {int(key[1]): v for key, v in rows.items() if key[0] == MAPPA_UPLIFT}
    return CaseWeights(points=points, mappa_uplift=uplift)


def seed_case_weights(session: Session, *, actor: str) -> int:
    """Insert the default weights the ``case_weight`` table lacks.

    Existing rows are left alone, so an admin's edits survive a rerun of ``crossforce init``.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is seeding (for the audit log).

    Returns
    -------
    int
        How many rows were inserted; 0 (and no audit event) when nothing was missing.
    """
    require(session, actor=actor, action="reference.manage")
    existing = {(w.programme, w.risk) for w in session.exec(select(CaseWeight)).all()}
    missing = {key: v for key, v in _default_rows().items() if key not in existing}
    if not missing:
        return 0
    for (programme, risk), points in sorted(missing.items()):
        session.add(CaseWeight(programme=programme, risk=risk, points=points))
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_weight.seed",
        entity_type="case_weight",
        entity_id=None,
        details={"inserted": len(missing), "source": WEIGHTS_FILE.name},
    )
    return len(missing)


def set_case_weight(
    session: Session, *, actor: str, programme: str, risk: str, points: float
) -> CaseWeights:
    """Change the points of one programme × risk (or, with ``programme=MAPPA_UPLIFT``, of a level).

    Parameters
    ----------
    session
        Open session.
    actor
        Who is editing (for the audit log).
    programme, risk
        A programme and risk; or :data:`MAPPA_UPLIFT` and a level ``"1"``, ``"2"`` or ``"3"``.
    points
        New points, ≥ 0.

    Returns
    -------
    CaseWeights
        The weights now in force.

    Raises
    ------
    InputError
        Unknown programme, risk or level, or negative points.
    """
    require(session, actor=actor, action="reference.manage")
    if programme == MAPPA_UPLIFT:
        if risk not in {str(level) for level in MAPPA_LEVELS}:
            raise InputError(f"MAPPA level must be 1, 2 or 3, not {risk!r}")
    elif programme not in PROGRAMMES:
        raise InputError(f"Unknown programme {programme!r}: one of {', '.join(PROGRAMMES)}")
    elif risk not in RISKS:
        raise InputError(f"Unknown risk {risk!r}: one of {', '.join(RISKS)}")
    value = _check_points(points, f"{programme}/{risk}")
    row = session.get(CaseWeight, (programme, risk))
    before = None if row is None else row.points
    if row is None:
        row = CaseWeight(programme=programme, risk=risk, points=value)
    else:
        row.points = value
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_weight.set",
        entity_type="case_weight",
        entity_id=f"{programme}/{risk}",
        details={"before": before, "after": value},
    )
    return load_case_weights(session)
