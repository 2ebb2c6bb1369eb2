"""Which pages there are, and which role sees which: the table ``app.py`` builds the menu from.

Each page names the action of ``coordination.security.permissions.PERMISSIONS`` it needs; a role
sees the page when the permission table does not refuse it that action (``"allow"`` or
``"pseudonymised"``). Pages that need no action are for every signed-in user. So the menu
follows the permission table, and a role never sees a page it may not use:

================  =========================================================================
role              pages
================  =========================================================================
offender manager  Caseload, Handoffs, Network, Joint review, Boundary lookup, Reference data
supervisor        Caseload, Handoffs, Network, Joint review, Boundary lookup, Reference data
analyst           Caseload, Network, Boundary lookup, Reference data (pseudonymised)
admin             Boundary lookup, Reference data, Audit log
================  =========================================================================

A page a role may not use is not registered for it at all: its address opens Streamlit's "page
not found" and the default page. Run some other way, the page still refuses: it calls
:func:`require_page` first, and the services it calls refuse (and audit) on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from coordination.security.permissions import ROLE_LABELS, permission
from ui.session import signed_in_user
from ui.text import with_article

PAGES_DIR = Path(__file__).resolve().parent / "pages"


@dataclass(frozen=True)
class PageSpec:
    """One page of the app.

    Attributes
    ----------
    title
        The title in the menu (and the page's ``st.title``).
    script
        The page script's file name in ``ui/pages`` without ``.py``; also its URL path.
    section
        The menu section it is listed under.
    action
        The action of the permission table the page needs; ``None``: every signed-in user.
    instead
        What a role that may not use the page may do instead (said when it refuses).
    default
        The page shown after signing in.
    demo_notice
        ``app.py`` says the data is a synthetic demo above the page (the Cases pages say it
        themselves).
    """

    title: str
    script: str
    section: str
    action: str | None
    instead: str = ""
    default: bool = False
    demo_notice: bool = False

    @property
    def path(self) -> Path:
        """The page script."""
        return PAGES_DIR / f"{self.script}.py"


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "Caseload",
        "caseload",
        "Cases",
        "caseload.view",
        instead="Cases are for offender managers, supervisors and analysts.",
    ),
    PageSpec(
        "Handoffs",
        "handoffs",
        "Cases",
        "handoff.view",
        instead="The Network page shows the flows between forces.",
    ),
    PageSpec(
        "Network",
        "network",
        "Cases",
        "network.view",
        instead="The network is for offender managers, supervisors and analysts.",
    ),
    PageSpec(
        "Joint review",
        "joint_review",
        "Cases",
        "meeting.view",
        instead="Joint reviews are for offender managers and supervisors.",
    ),
    PageSpec(
        "Boundary lookup", "boundary_lookup", "Boundaries", None, default=True, demo_notice=True
    ),
    PageSpec("Reference data", "reference_data", "Boundaries", None, demo_notice=True),
    # No refusal of its own: the audit service refuses (and audits) anyone but an admin.
    PageSpec("Audit log", "audit", "Admin", "audit.read"),
)

_BY_TITLE = {spec.title: spec for spec in PAGES}


def spec(title: str) -> PageSpec:
    """The page with this title (``KeyError`` if there is none)."""
    return _BY_TITLE[title]


def may_use(role: str, page: PageSpec) -> bool:
    """Whether the permission table lets ``role`` use ``page`` at all."""
    return page.action is None or permission(role, page.action) != "refuse"


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages ``role`` sees, in menu order; every page when nobody is signed in yet.

    Before sign-in the menu is hidden and no page runs; registering every page keeps the
    address a visitor opened (``caseload?case=7``) for the run after they have signed in.
    """
    return [page for page in PAGES if role is None or may_use(role, page)]


def menu(role: str | None) -> dict[str, list[st.Page]]:
    """The ``st.navigation`` argument for ``role``: sections in order, none empty."""
    sections: dict[str, list[st.Page]] = {}
    for page in pages_for(role):
        sections.setdefault(page.section, []).append(
            st.Page(page.path, title=page.title, url_path=page.script, default=page.default)
        )
    return sections


def require_page(title: str) -> None:
    """Stop the page, saying why, unless the signed-in user's role may use it.

    The menu never offers such a page; this covers a page run some other way. The services
    refuse (and audit) anyway; this spares the person a page of refusals and the log a refusal
    per widget.
    """
    page = spec(title)
    user = signed_in_user()
    if user is None:
        st.warning("Sign in to see this page.")
        st.stop()
    elif not may_use(user.role, page):
        role = ROLE_LABELS.get(user.role, user.role)
        st.info(f"As {with_article(role)} you do not see this page. {page.instead}")
        st.stop()
