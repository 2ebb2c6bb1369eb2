"""The priority score of an agenda item: a transparent sum whose parts are kept.

Risk of serious harm, MAPPA level, OGRS3 (two-year probability; its weight is capped, so it never
decides alone) and days overdue (capped), weighted by settings (``CROSSFORCE_PRIORITY_WEIGHT_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

from coordination.core.settings import Settings, get_settings
from coordination.review.common import OGRS3_WEIGHT_CAP, RISK_SHARE

# --- priority -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of the agenda priority score (defaults from settings).

    Attributes
    ----------
    risk
        Points for very high risk (high 2/3, medium 1/3, low 0).
    mappa
        Points for MAPPA level 3 (level 2 2/3, level 1 1/3, none outside MAPPA).
    ogrs3
        Points for a two-year OGRS3 probability of 100%; capped at :data:`OGRS3_WEIGHT_CAP`.
    overdue
        Points per day overdue.
    overdue_cap_days
        Days overdue beyond this add nothing.
    """

    risk: float = 30.0
    mappa: float = 30.0
    ogrs3: float = 20.0
    overdue: float = 1.0
    overdue_cap_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PriorityWeights:
        """Return the weights configured in settings (``CROSSFORCE_PRIORITY_WEIGHT_*``)."""
        s = settings or get_settings()
        return cls(
            risk=s.priority_weight_risk,
            mappa=s.priority_weight_mappa,
            ogrs3=s.priority_weight_ogrs3,
            overdue=s.priority_weight_overdue,
            overdue_cap_days=s.priority_overdue_cap_days,
        )


def priority_score(
    *,
    risk: str,
    mappa_level: int | None,
    ogrs3_two_year: float | None,
    overdue_days: int,
    weights: PriorityWeights,
) -> tuple[float, dict[str, float]]:
    """Return an item's priority score and its named parts.

    Parameters
    ----------
    risk
        ``low``, ``medium``, ``high`` or ``very_high``.
    mappa_level
        1–3 for a MAPPA case, else ``None``.
    ogrs3_two_year
        The two-year OGRS3 probability in (0, 1), or ``None`` when it cannot be computed.
    overdue_days
        Days overdue (0 when nothing is overdue).
    weights
        The weights.

    Returns
    -------
    tuple[float, dict[str, float]]
        ``(score, {"risk": …, "mappa": …, "ogrs3": …, "overdue": …})``, each part rounded to two
        decimals and the score their sum. E.g. very high risk, MAPPA level 2, OGRS3 42% and 12
        days overdue with the default weights: ``(70.4, {"risk": 30, "mappa": 20, "ogrs3": 8.4,
        "overdue": 12})``.
    """
    level = mappa_level if mappa_level in (1, 2, 3) else 0
    ogrs3_weight = min(weights.ogrs3, OGRS3_WEIGHT_CAP)
    days = min(max(overdue_days, 0), weights.overdue_cap_days)
    parts = {
        "risk": round(weights.risk * RISK_SHARE.get(risk, 0.0), 2),
        "mappa": round(weights.mappa * level / 3, 2),
        "ogrs3": 0.0 if ogrs3_two_year is None else round(ogrs3_weight * ogrs3_two_year, 2),
        "overdue": round(weights.overdue * days, 2),
    }
    return round(sum(parts.values()), 2), parts
