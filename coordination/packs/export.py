"""The joint review meeting pack: one document for before the meeting and, filled in, the minutes.

:func:`build_pack_content` reads a meeting straight from the tables (meeting, agenda items,
decisions, actions, cases, offenders, addresses, handoffs) into frozen dataclasses
(:class:`PackContent`), so the three renderers (PDF, XLSX, Markdown) are pure functions of one
snapshot and agree with each other. :func:`export_pack` renders it and records the export in the
audit log as a *disclosure* (Data Protection Act 2018, s.62: who disclosed which people's records,
when, and to whom), which is why it refuses an export that names no recipients.

After the meeting the minutes are the same pack: decisions and actions are part of the content
whenever they exist, and the cover says "Minutes" once the meeting is held or closed.

Maps are drawn offline from the active boundary set (:meth:`geo.resolver.Resolver.
boundary_lines`, British National Grid metres) as vector lines; with no active set the pack says
so instead of drawing one."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlmodel import Session

from coordination.core.validate import plain_text
from coordination.errors import InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    Meeting,
)
from coordination.security.permissions import require

if TYPE_CHECKING:
    from geo.lookup import Lookup
from coordination.packs.build import build_pack_content
from coordination.packs.content import DISCLOSURE_ACTION, FORMATS, Format, PackContent

log = logging.getLogger(__name__)


# --- rendering and disclosure -------------------------------------------------------------------


def render_pack(content: PackContent, fmt: str) -> bytes:
    """Render pack content as ``pdf``, ``xlsx`` or ``md`` bytes (no audit: see export_pack).

    Raises
    ------
    InputError
        An unknown format.
    """
    if fmt == "pdf":
        from coordination.packs.render.pdf import render_pdf

        return render_pdf(content)
    if fmt == "xlsx":
        from coordination.packs.render.xlsx import render_xlsx

        return render_xlsx(content)
    if fmt == "md":
        from coordination.packs.render.markdown import render_markdown

        return render_markdown(content).encode("utf-8")
    raise InputError(f"Unknown pack format {fmt!r}: use pdf, xlsx or md")


def pack_filename(content: PackContent, fmt: str) -> str:
    """A file name such as ``meeting-12-2025-03-03-minutes.pdf``."""
    kind = "minutes" if content.kind == "Minutes" else "pack"
    return f"meeting-{content.meeting_id}-{content.meeting_date.isoformat()}-{kind}.{fmt}"


def _recipients(recipients: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for recipient in recipients:
        text = " ".join(str(recipient).split())
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned


def export_pack(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    fmt: Format,
    recipients: list[str],
    justification: str,
    lookup: Lookup | None = None,
) -> bytes:
    """Render a meeting's pack (or minutes) and record the export as a disclosure.

    Parameters
    ----------
    session
        Open session; the audit event is added to it (the caller commits, so the record and the
        export stand or fall together).
    actor
        Who is exporting.
    meeting_id
        The meeting.
    fmt
        ``pdf``, ``xlsx`` or ``md``.
    recipients
        To whom the pack goes (people, teams or addresses); at least one.
    justification
        Why it goes to them (e.g. "joint review 14 Dec: attendees"); required, stored on the
        disclosure event and printed on the pack's cover.
    lookup
        As for :func:`build_pack_content`.

    Returns
    -------
    bytes
        The document.

    Raises
    ------
    InputError
        No recipients, no justification, no actor, or an unknown format.
    NotFoundError
        No such meeting.
    """
    if fmt not in FORMATS:
        raise InputError(f"Unknown pack format {fmt!r}: use pdf, xlsx or md")
    named = _recipients(recipients)
    if not named:
        raise InputError("A disclosure names its recipients: give at least one recipient")
    why = " ".join(plain_text(justification or "", "the justification", multiline=True).split())
    if not why:
        raise InputError("A disclosure says why: give the justification for sending this pack")
    if not (actor or "").strip():
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"No meeting {meeting_id}")
    require(
        session,
        actor=actor,
        action="pack.export",
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )
    content = build_pack_content(
        session,
        meeting_id=meeting_id,
        lookup=lookup,
        actor=actor,
        recipients=named,
        justification=why,
    )
    data = render_pack(content, fmt)
    record_event(
        session,
        actor=actor,
        action=DISCLOSURE_ACTION,
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "format": fmt,
            "kind": content.kind.lower(),
            "offender_ids": content.offender_ids,
            "case_ids": content.case_ids,
            "recipients": named,
            "items": len(content.items),
            "meeting_version": content.version,
            "bytes": len(data),
        },
        category="disclosure",
        justification=why,
        recipients=named,
        offender_ids=content.offender_ids,
    )
    return data
