"""Render a meeting pack as Markdown for email.

Every value goes through :func:`md_escape`, so a name or note cannot break a table (``|``), start
a link, image or HTML tag, or turn text bold: Markdown punctuation is backslash-escaped and line
breaks become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from coordination.core.wording import (
    action_status_label,
    offence_label,
    programme_label,
    risk_label,
    rule_label,
)
from coordination.packs.content import (
    AGENDA_HEADER,
    NOT_REACHED_HEADER,
    NOT_REACHED_HEADING,
    PROTECTIVE_MARKING,
    PackContent,
)

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>|~])")
_SPACE = re.compile(r"\s+")


def md_escape(value: object) -> str:
    """Return ``value`` as inert Markdown text on one line."""
    text = "" if value is None else str(value)
    text = _SPACE.sub(" ", text).strip()
    text = text.replace("&", "&amp;")
    return _SPECIAL.sub(r"\\\1", text)


def _table(headings: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(md_escape(h) for h in headings) + " |",
        "|" + "|".join("---" for _ in headings) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(v) if v != "" else " " for v in row) + " |")
    return lines


def render_markdown(content: PackContent) -> str:
    """Return the pack as Markdown text."""
    out: list[str] = [
        f"**{PROTECTIVE_MARKING}**",
        "",
        f"# Joint review meeting - {content.kind}: {md_escape(content.title)}",
        "",
        f"- **Date:** {content.date_text}",
        f"- **Forces:** {md_escape(', '.join(content.forces))}",
        f"- **Chair:** {md_escape(content.chair)}",
        f"- **Status:** {md_escape(content.status_text)}",
        f"- **Prepared for:** {md_escape('; '.join(content.recipients)) or 'not named (preview)'}",
        f"- **Disclosed for:** {md_escape(content.justification) or 'not given (preview)'}",
        f"- **Attendees:** {md_escape(', '.join(content.attendees)) or 'none recorded'}",
        "",
        f"_{md_escape(content.small_print)}_",
    ]
    if content.demo_notice:
        out += ["", f"_{md_escape(content.demo_notice)}_"]
    out += ["", "## Agenda", ""]
    out += _table(AGENDA_HEADER, content.agenda_rows("; "))
    if content.not_reached:
        out += ["", f"### {NOT_REACHED_HEADING} ({len(content.not_reached)})", ""]
        out += _table(NOT_REACHED_HEADER, content.not_reached_rows())
    if content.removed:
        out += ["", "### Removed from the agenda", ""]
        out += _table(
            ("Offender", "PNC", "Reason"),
            [(r.offender_name, r.pnc_id, r.reason or "-") for r in content.removed],
        )
    for item in content.items:
        out += ["", f"## Item {md_escape(item.label)}", ""]
        out += [
            f"- **Lead force:** {md_escape(item.lead_force)}",
            f"- **Programme / risk:** {md_escape(programme_label(item.programme))} / "
            f"{md_escape(risk_label(item.risk))}",
            f"- **MAPPA:** {md_escape(item.mappa)}",
            f"- **Offence:** {md_escape(offence_label(item.offence_category))}",
            f"- **Why on the agenda:** {md_escape('; '.join(item.reasons) or '-')}",
            f"- **Responsibility:** {md_escape(rule_label(item.responsibility_rule) or '-')}: "
            f"{md_escape(item.responsibility_explanation or '-')}",
            f"- **OGRS3:** {md_escape(item.ogrs3.summary())} "
            f"(inputs: {md_escape('; '.join(f'{k} {v}' for k, v in item.ogrs3.inputs))})",
        ]
        if item.open_handoff:
            out.append(f"- **Open handoff:** {md_escape(item.open_handoff)}")
        if item.decision is not None:
            d = item.decision
            target = f" to {d.target_force}" if d.target_force else ""
            out.append(f"- **Decision:** {md_escape(d.label + target)}: {md_escape(d.note or '-')}")
        out += ["", "Residence history:", ""]
        out += _table(
            ("From", "To", "State", "Postcode", "Force", "District"),
            [
                (
                    r.valid_from.isoformat(),
                    r.valid_to.isoformat() if r.valid_to else "current",
                    r.state,
                    r.postcode or "-",
                    r.force or "-",
                    r.district_code or "-",
                )
                for r in item.residences
            ],
        )
    out += ["", "## Decisions", ""]
    out += _table(
        ("#", "Offender", "PNC", "Decision", "Note"),
        [
            (
                i.position,
                i.offender_name,
                i.pnc_id,
                d.label + (f" to {d.target_force}" if d.target_force else ""),
                d.note or "-",
            )
            for i, d in content.decisions
        ],
    )
    out += ["", "## Actions", ""]
    out += _table(
        ("Offender", "PNC", "Action", "Owner", "Due", "Status", "From"),
        [
            (
                a.offender_name or "-",
                a.pnc_id or "-",
                a.description,
                a.owner,
                a.due_date.isoformat() if a.due_date else "-",
                action_status_label(a.status),
                f"meeting {a.meeting_id}" if a.carried_over else "this meeting",
            )
            for a in content.actions
        ],
    )
    out += ["", f"**{PROTECTIVE_MARKING}**", ""]
    return "\n".join(out)
