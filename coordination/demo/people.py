"""Made-up people and their cases: names, dates of birth, PNC IDs, programmes and offences.

Every name is drawn from short lists of common first names and surnames; no person is real.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from coordination.register.inputs import review_due
from coordination.register.pnc import pnc_check_letter

# --- made-up people ----------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MALE = _words(
    "Aaron Adam Adrian Ahmed Alan Alex Ali Amir Andre Andrew Anthony Ashley Ben Bilal Brandon "
    "Callum Carl Chris Craig Daniel Darren Dean Dylan Ethan Faisal Gary George Harry Hassan "
    "Ibrahim Imran Jack Jake Jamal James Jason Jermaine Joel Jordan Josh Kai Kieran Kevin Lee "
    "Leon Liam Luke Marcus Mark Mason Matthew Michael Mohammed Nathan Nico Omar Oscar Paul "
    "Reece Ricky Robert Ryan Sam Scott Sean Stefan Terry Tom Tyrone Wayne Zain"
)
_FEMALE = _words(
    "Aaliyah Abigail Aisha Alicia Amber Amy Chantelle Chloe Claire Danielle Donna Ella Emma "
    "Fatima Gemma Grace Hannah Jade Jasmine Jess Kayleigh Kelly Kirsty Laura Leah Lisa Lucy "
    "Maria Megan Michelle Nadia Natalie Nicole Paige Rachel Rebecca Sadia Samantha Sarah Shannon "
    "Sophie Stacey Tanya Tasha Vicky Yasmin Zara Zoe"
)
_SURNAMES = _words(
    "Abbott Adeyemi Ahmed Akhtar Allen Anderson Appiah Atkins Bailey Baker Barnes Begum Bell "
    "Bennett Boateng Bond Bradley Brooks Brown Burke Campbell Carter Chapman Clarke Cole Collins "
    "Cooper Cox Davies Dawson Edwards Ellis Evans Fernandes Fisher Fletcher Foster Francis "
    "Gordon Graham Grant Green Hall Hamilton Harris Hart Hill Holmes Hughes Hussain Islam Jackson "
    "James Johnson Jones Kaur Kelly Khan King Knight Lawrence Lewis Lloyd Marshall Martin Mason "
    "Mensah Miah Mills Mitchell Moore Morgan Murphy Nowak Okafor Oliveira Owen Palmer Parker "
    "Patel Pearce Phillips Price Rahman Reid Richards Roberts Robinson Rose Russell Santos "
    "Scott Shah Sharma Simpson Singh Smith Stewart Taylor Thomas Thompson Turner Uddin Walker "
    "Ward Watson White Williams Wilson Wood Wright Young"
)
_NICKNAMES = ("Jay", "Ty", "Dee", "Kez", "Bugsy", "Smudge", "Tiny", "Lefty", "Reds", "Moz")

# --- cases ---------------------------------------------------------------------------------

_PROGRAMMES = (("iom_fixed", 25), ("iom_flex", 15), ("iom_free", 8), ("mappa", 27), ("other", 25))
_OFFENCES: dict[str, tuple[str, ...]] = {
    "iom_fixed": (
        "robbery",
        "burglary_domestic",
        "burglary_other",
        "theft_from_vehicle",
        "taking_and_driving_away",
        "theft_non_motor",
    ),
    "iom_flex": (
        "drug_possession_supply",
        "violence",
        "public_order",
        "criminal_damage",
        "handling_stolen_goods",
        "theft_non_motor",
    ),
    "iom_free": ("theft_non_motor", "fraud_and_forgery", "absconding_or_bail", "other"),
    "other": (
        "fraud_and_forgery",
        "fraud_and_forgery",
        "fraud_and_forgery",
        "other_motoring",
        "drink_driving",
        "drug_import_export_production",
        "soliciting",
        "other",
    ),
}
_MAPPA_OFFENCES: dict[int, tuple[str, ...]] = {
    1: ("sexual_not_child", "sexual_child"),
    2: ("violence", "violence", "robbery"),
    3: ("violence", "drug_import_export_production", "other"),
}
_RISKS: dict[str, tuple[int, int, int, int]] = {
    "mappa": (5, 35, 45, 15),
    "iom_fixed": (20, 45, 28, 7),
    "iom_flex": (25, 45, 25, 5),
    "iom_free": (35, 45, 17, 3),
    "other": (40, 40, 17, 3),
}
_RISK_NAMES = ("low", "medium", "high", "very_high")


def _weighted(rng: random.Random, items: Sequence[tuple[Any, int]]) -> Any:
    total = sum(w for _, w in items)
    pick = rng.randrange(total)
    for item, weight in items:
        if pick < weight:
            return item
        pick -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def _pnc(rng: random.Random, born: date, today: date, used: set[str]) -> str:
    while True:
        year = rng.randint(min(born.year + 14, today.year - 1), today.year - 1)
        serial = rng.randrange(1, 10_000_000)
        pnc = f"{year:04d}/{serial:07d}{pnc_check_letter(year, serial)}"
        if pnc not in used:
            used.add(pnc)
            return pnc


def _person(rng: random.Random, today: date, used: set[str]) -> dict[str, Any]:
    sex = "male" if rng.random() < 0.84 else "female"
    first = rng.choice(_MALE if sex == "male" else _FEMALE)
    last = rng.choice(_SURNAMES)
    aliases: list[str] = []
    if rng.random() < 0.12:
        aliases.append(f"{first} {rng.choice(_SURNAMES)}")
    if rng.random() < 0.06:
        aliases.append(rng.choice(_NICKNAMES))
    age = int(rng.triangular(18, 72, 29))
    born = today - timedelta(days=age * 365 + rng.randrange(365))
    return {
        "first_name": first,
        "last_name": last,
        "aliases": aliases,
        "date_of_birth": born,
        "sex": sex,
        "pnc_id": _pnc(rng, born, today, used),
    }


def _case(rng: random.Random) -> dict[str, Any]:
    programme = _weighted(rng, _PROGRAMMES)
    category = level = None
    if programme == "mappa":
        category = _weighted(rng, ((1, 45), (2, 45), (3, 10)))
        level = _weighted(rng, ((1, 70), (2, 25), (3, 5)))
        offence = rng.choice(_MAPPA_OFFENCES[category])
    else:
        offence = rng.choice(_OFFENCES[programme])
    risk = _weighted(rng, tuple(zip(_RISK_NAMES, _RISKS[programme], strict=True)))
    return {
        "programme": programme,
        "mappa_category": category,
        "mappa_level": level,
        "risk": risk,
        "offence": offence,
    }


#: The share of demo cases whose OGRS3 inputs are recorded (the rest show why there is no score).
OGRS3_KNOWN_SHARE = 0.9


def _ogrs3_inputs(pnc_id: str, born: date, registered: date) -> dict[str, Any]:
    """Plausible OGRS3 inputs for a demo case, or none for about one case in ten.

    Drawn from a generator of their own, seeded by the PNC ID, so adding them leaves the rest
    of the demo (people, moves, handoffs) exactly as the seed made it before.
    """
    rng = random.Random(f"ogrs3:{pnc_id}")  # noqa: S311 - a synthetic story, not a secret
    if rng.random() >= OGRS3_KNOWN_SHARE:
        return {}
    latest = registered - timedelta(days=rng.randint(7, 300))
    earliest = date(born.year + 18, born.month, min(born.day, 28))
    convicted = latest if latest <= earliest else earliest + (latest - earliest) * rng.random()
    at_conviction = (
        convicted.year - born.year - ((convicted.month, convicted.day) < (born.month, born.day))
    )
    first = max(10, min(at_conviction, int(rng.triangular(12, at_conviction + 1, 15))))
    sanctions = 0 if first == at_conviction else max(1, int(rng.triangular(1, 45, 5)))
    return {
        "conviction_date": convicted,
        "age_at_first_sanction": first,
        "previous_sanctions": sanctions,
        "risk_assessed_on": registered,
    }


def _review_due(rng: random.Random, programme: str, registered: date, today: date) -> date:
    due = review_due(programme, registered)
    # Reviews have been held on time, except a few that slipped (overdue now).
    slack = rng.randint(-30, 0) if rng.random() < 0.08 else 1
    while due < today + timedelta(days=slack):
        due = review_due(programme, due)
    return due


def _at(rng: random.Random, day: date) -> datetime:
    """A working-hours moment on a day (UTC; the London date is the same)."""
    return datetime.combine(day, time(9 + rng.randrange(8), rng.randrange(60)), tzinfo=UTC)
