"""The rule the workflow keeps about the address check: no completion without a confirmed one.

Apart from ``address_check`` (which records checks through the workflow) so that the workflow
can ask it without an import cycle.
"""

from __future__ import annotations

from coordination.errors import ConflictError
from coordination.models import Handoff, HandoffPublic

#: Why completing is refused without a confirmed check (forms and the service say the same).
NOT_CONFIRMED_REASON = "the address check is not recorded as confirmed"


def has_confirmed_check(handoff: Handoff | HandoffPublic) -> bool:
    """Whether the handoff's address check is recorded as confirmed."""
    return handoff.address_check_outcome == "confirmed"


def refuse_unchecked(handoff: Handoff, action: str) -> None:
    """Refuse completing a handoff whose address check is not recorded as confirmed.

    Raises
    ------
    ConflictError
        ``action`` is ``"complete"`` and there is no confirmed check.
    """
    if action == "complete" and not has_confirmed_check(handoff):
        raise ConflictError(
            f"Cannot complete handoff {handoff.id}: {NOT_CONFIRMED_REASON} "
            f"(crossforce handoffs check {handoff.id} --on DATE --method … --outcome confirmed)"
        )
