"""What a meeting pack holds, format-free: the types every renderer reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from coordination.core.wording import ADDRESS_STATE_LABELS, meeting_status_label
from coordination.core.wording import DECISION_LABELS as DECISION_LABELS

Format = Literal["pdf", "xlsx", "md"]
FORMATS: tuple[str, ...] = get_args(Format)
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
DISCLOSURE_ACTION = "disclosure.meeting_pack"
PROTECTIVE_MARKING = "OFFICIAL-SENSITIVE"

# The map shows at least this much around the current residence, and at most MAP_MAX_RADIUS_M so
# that one far-away earlier address does not shrink the boundary area to nothing.
MAP_MIN_RADIUS_M = 1000.0
MAP_MAX_RADIUS_M = 6000.0
MAP_MARGIN_M = 300.0

# Kept under these names for the builders that read them (the wording lives in core.wording).
_STATE_LABELS = ADDRESS_STATE_LABELS


# --- the content --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackResidence:
    """One row of a person's residence history, as the pack shows it (newest first)."""

    number: int
    valid_from: date
    valid_to: date | None
    state: str
    postcode: str | None
    force: str | None
    district_code: str | None
    bcu_code: str | None
    distance_to_boundary_m: float | None
    near_boundary: bool
    boundary_set: str | None
    easting: float | None
    northing: float | None

    @property
    def current(self) -> bool:
        """Whether this is the open-ended (current) address."""
        return self.valid_to is None


@dataclass(frozen=True)
class PackMap:
    """A small map of the boundary area around a residence, in British National Grid metres.

    ``lines`` holds ``(kind, points)`` with kind ``force``, ``district`` or ``ward``, already
    clipped to the square of side ``2 * radius_m`` centred on ``(centre_e, centre_n)``;
    ``points`` holds ``(number, easting, northing, current)`` for residences inside it, numbered
    as in the residence history.
    """

    centre_e: float
    centre_n: float
    radius_m: float
    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    points: tuple[tuple[int, float, float, bool], ...]
    outside: int
    boundary_set: str
    attribution: str


@dataclass(frozen=True)
class PackOgrs3:
    """OGRS3 with the inputs it was computed from (a prioritising input, never a decision)."""

    available: bool
    one_year: float | None
    two_year: float | None
    inputs: tuple[tuple[str, str], ...]
    note: str

    def summary(self) -> str:
        """One line: the two probabilities in percent, or why there are none."""
        if self.one_year is None or self.two_year is None:
            return self.note
        return f"1 year {self.one_year:.2f}%, 2 years {self.two_year:.2f}%"


@dataclass(frozen=True)
class PackDecision:
    """The decision recorded for an item."""

    kind: str
    label: str
    target_force: str | None
    note: str
    decided_by: str
    decided_at: datetime
    handoff_id: int | None


@dataclass(frozen=True)
class PackItem:
    """One agenda item with everything the pack shows about its case."""

    position: int
    agenda_item_id: int
    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    date_of_birth: date | None
    sex: str
    lead_force: str
    lead_force_code: str
    programme: str
    risk: str
    mappa: str
    offence_category: str
    next_review_due: date | None
    reasons: tuple[str, ...]
    score: float
    score_parts: tuple[tuple[str, str], ...]
    added_manually: bool
    added_reason: str | None
    responsibility_rule: str
    responsibility_explanation: str
    open_handoff: str | None
    residences: tuple[PackResidence, ...]
    map: PackMap | None
    map_note: str
    ogrs3: PackOgrs3
    decision: PackDecision | None
    # Limited access keeps the case from the reader: no name, PNC ID, date of birth,
    # residences, map, OGRS3 inputs or free text (see coordination.security.withheld_cases).
    withheld: bool = False

    @property
    def label(self) -> str:
        """``"position. Name (PNC)"`` for headings (``"position. Restricted case (case N)"``)."""
        if self.withheld:
            return f"{self.position}. {self.offender_name} (case {self.case_id})"
        return f"{self.position}. {self.offender_name} ({self.pnc_id})"


@dataclass(frozen=True)
class PackRemoved:
    """An item taken off the agenda, kept so the pack can say why."""

    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    reason: str


@dataclass(frozen=True)
class PackNotReached:
    """An agenda item after the meeting's size: listed with its score, carried to the next."""

    position: int
    case_id: int
    offender_name: str
    pnc_id: str
    lead_force: str
    reasons: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class PackAction:
    """An action: agreed at this meeting, or open from an earlier one (``carried_over``)."""

    action_id: int
    meeting_id: int
    case_id: int | None
    offender_id: int | None
    offender_name: str
    pnc_id: str
    description: str
    owner: str
    due_date: date | None
    status: str
    carried_over: bool


AGENDA_HEADER = ("#", "Offender", "PNC", "Lead force", "Reasons", "Score")
# The same columns: a not-reached item reads like an agenda row the meeting did not get to.
NOT_REACHED_HEADER = AGENDA_HEADER
NOT_REACHED_HEADING = "Not reached at this meeting"


@dataclass(frozen=True)
class PackContent:
    """Everything a meeting pack shows, read in one session."""

    meeting_id: int
    title: str
    meeting_date: date
    force_codes: tuple[str, ...]
    forces: tuple[str, ...]
    chair: str
    attendees: tuple[str, ...]
    status: str
    version: int
    generated_at: datetime
    demo_notice: str | None
    items: tuple[PackItem, ...]
    removed: tuple[PackRemoved, ...]
    actions: tuple[PackAction, ...]
    # To whom the pack is disclosed (the export's recipients; empty when only previewed).
    recipients: tuple[str, ...] = ()
    # Why it is disclosed to them (DPA 2018 s.62: the log of a disclosure says why).
    justification: str = ""
    # Items after the meeting's size (``agenda_size``), listed rather than set out in full.
    not_reached: tuple[PackNotReached, ...] = ()

    @property
    def kind(self) -> str:
        """``"Minutes"`` once the meeting is held or closed, else ``"Meeting pack"``."""
        return "Minutes" if self.status in ("held", "closed") else "Meeting pack"

    @property
    def date_text(self) -> str:
        """The meeting's day as the cover says it, e.g. ``"Monday 10 March 2025"``."""
        d = self.meeting_date
        return f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}"

    @property
    def status_text(self) -> str:
        """The meeting's status in words (``"Planned"``), not the stored code."""
        return meeting_status_label(self.status)

    @property
    def small_print(self) -> str:
        """The cover's last line: when it was produced and which version of the pack it is."""
        produced = self.generated_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"Produced {produced} · pack version {self.version}"

    @property
    def offender_ids(self) -> list[int]:
        """Every person whose records the pack discloses, sorted."""
        ids = {i.offender_id for i in self.items} | {r.offender_id for r in self.removed}
        ids |= {a.offender_id for a in self.actions if a.offender_id is not None}
        return sorted(ids)

    @property
    def case_ids(self) -> list[int]:
        """Every case the pack discloses, sorted."""
        ids = {i.case_id for i in self.items} | {r.case_id for r in self.removed}
        ids |= {a.case_id for a in self.actions if a.case_id is not None}
        return sorted(ids)

    def not_reached_rows(self) -> list[tuple[object, ...]]:
        """The not-reached table every format shows (columns :data:`NOT_REACHED_HEADER`)."""
        return [
            (n.position, n.offender_name, n.pnc_id, n.lead_force, "; ".join(n.reasons),
             f"{n.score:.1f}")
            for n in self.not_reached
        ]  # fmt: skip

    def agenda_rows(self, reason_separator: str) -> list[tuple[object, ...]]:
        """The agenda table every format shows (columns :data:`AGENDA_HEADER`)."""
        return [
            (
                item.position,
                item.offender_name,
                item.pnc_id,
                item.lead_force,
                reason_separator.join(item.reasons) or "-",
                f"{item.score:.2f}",
            )
            for item in self.items
        ]

    @property
    def decisions(self) -> list[tuple[PackItem, PackDecision]]:
        """The items that have a decision, in agenda order."""
        return [(item, item.decision) for item in self.items if item.decision is not None]
