"""The demo accounts of development mode, worded for people: force and role by name, not code.

``crossforce users demo-accounts`` prints them and the sign-in page lists them (development only),
so whoever tries the demo can tell the City's supervisor from the Met's offender manager without
knowing ONS codes. Production has no demo accounts and this lists none there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from coordination.core.settings import get_settings
from coordination.core.wording import role_label
from coordination.models import Force
from coordination.security.users import list_demo_accounts
from geo.forces import MET_BCUS, force_name

__all__ = ["DemoAccountLine", "demo_account_lines"]

# BCU code -> name ("AW" -> "Central West"), from the built-in Met BCU table.
_BCU_NAMES: dict[str, str] = dict(MET_BCUS.values())


@dataclass(frozen=True)
class DemoAccountLine:
    """One demo account as people read it.

    Attributes
    ----------
    username, display_name
        As stored.
    role
        In words, e.g. ``"Offender manager"``.
    force
        The force's name, e.g. ``"City of London Police"``.
    force_code
        Its ONS code, for those who need it.
    bcu
        The Met BCU by name (``"Central West BCU"``), or ``None``.
    """

    username: str
    display_name: str
    role: str
    force: str
    force_code: str
    bcu: str | None


def demo_account_lines(session: Session) -> list[DemoAccountLine]:
    """Return the demo accounts worded for people, by force then role then username.

    Parameters
    ----------
    session
        Any session (reads only).

    Returns
    -------
    list[DemoAccountLine]
        Empty in production, which has no demo accounts.
    """
    if get_settings().env == "production":
        return []
    accounts = list_demo_accounts(session)
    if not accounts:
        return []
    stored = dict(session.exec(select(Force.code, Force.name)).all())
    lines = []
    for u in accounts:
        bcu = None
        if u.bcu_code:
            name = _BCU_NAMES.get(u.bcu_code)
            bcu = f"{name} BCU" if name else u.bcu_code
        lines.append(
            DemoAccountLine(
                username=u.username,
                display_name=u.display_name,
                role=role_label(u.role),
                force=stored.get(u.force_code) or force_name(u.force_code).name,
                force_code=u.force_code,
                bcu=bcu,
            )
        )
    return lines
