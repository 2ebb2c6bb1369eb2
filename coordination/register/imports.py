"""Importing offenders from a table, all or nothing.

Every row is checked first, with the register's own input models (``OffenderCreate``,
``CaseCreate``, ``Residence``), the postcode lookup and the PNC IDs already registered, and every
problem of every row is collected. If any row has a problem nothing is written and the report
lists each row number (as a spreadsheet shows it: the header is row 1, the first person row 2)
with its messages. Only a file without problems is added, each row through
``coordination.register.add_offender`` (so each is resolved, decided and audited like a person
added by hand), in the caller's one transaction.

Columns (names in any case, spaces allowed for underscores): ``first_name``, ``last_name``,
``date_of_birth`` (2024-03-31 or 31/03/2024), ``sex``, ``pnc_id``, ``postcode`` (``NFA`` for no
fixed abode), ``programme``, ``risk``, ``offence_category``, and for MAPPA cases
``mappa_category`` and ``mappa_level``; optionally ``aliases`` (separated by ``;``) and the OGRS3
inputs ``previous_sanctions``, ``age_at_first_sanction`` and ``conviction_date`` (an empty cell:
not known). Other columns are ignored, and the report says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.errors import ConflictError, CrossforceError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import Offender
from coordination.register.inputs import (
    CaseCreate,
    OffenderCreate,
    Residence,
    check_ogrs3_inputs,
)
from coordination.register.offenders import AddedOffender, add_offender
from coordination.security.permissions import require
from geo.lookup import Lookup

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "ImportReport", "RowError", "import_offenders"]

REQUIRED_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "pnc_id",
    "postcode",
    "programme",
    "risk",
    "offence_category",
)
OGRS3_COLUMNS: tuple[str, ...] = ("previous_sanctions", "age_at_first_sanction", "conviction_date")
OPTIONAL_COLUMNS: tuple[str, ...] = ("mappa_category", "mappa_level", "aliases", *OGRS3_COLUMNS)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# The first person is on spreadsheet row 2 (row 1 is the header).
FIRST_ROW = 2
_NO_FIXED_ABODE = {"nfa", "no fixed abode", "no_fixed_abode"}
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class RowError:
    """One problem with one row: the spreadsheet row number, the column (if one) and a line."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_offenders`.

    Attributes
    ----------
    rows
        Person rows in the table.
    dry_run
        True when only checked.
    errors
        Every problem of every row; when not empty, nothing was written.
    offender_ids, case_ids
        What was added (empty for a dry run or a file with errors).
    warnings
        Things that did not stop the import (ignored columns, lookup warnings).
    """

    rows: int
    dry_run: bool
    errors: list[RowError] = field(default_factory=list)
    offender_ids: list[int] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row passed."""
        return not self.errors

    @property
    def imported(self) -> int:
        """How many people were added."""
        return len(self.offender_ids)

    @property
    def bad_rows(self) -> list[int]:
        """The row numbers with at least one problem."""
        return sorted({e.row for e in self.errors})

    def json_extra(self) -> dict[str, Any]:
        """JSON adds whether the import may go ahead and how many were imported."""
        return {"ok": self.ok, "imported": self.imported}


@dataclass
class _Row:
    number: int
    errors: list[RowError] = field(default_factory=list)
    offender: OffenderCreate | None = None
    case: CaseCreate | None = None
    residence: Residence | None = None

    def error(self, column: str | None, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))


def _header(name: object) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def _cell(raw: dict[str, Any], column: str) -> str:
    value = raw.get(column, "")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _choice(text: str) -> str:
    return "_".join(text.lower().replace("-", " ").split())


def _parse_date(text: str) -> date:
    # XLSX date cells read as text look like "1990-02-03 00:00:00".
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]00:00:00", text):
        text = text[:10]
    uk = _UK_DATE.match(text)
    if uk:
        return date(int(uk.group(3)), int(uk.group(2)), int(uk.group(1)))
    return date.fromisoformat(text)


def _parse_int(text: str) -> int:
    value = float(text)  # "2.0" from a spreadsheet is 2
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def _model_errors(row: _Row, exc: ValidationError, skip: set[str]) -> None:
    for problem in exc.errors():
        loc = [str(part) for part in problem.get("loc", ())]
        column = loc[0] if loc else None
        if column in skip:
            continue
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        row.error(column, message)


def _build(model: type[BaseModel], row: _Row, skip: set[str], **data: Any) -> Any:
    try:
        return model(**data)
    except ValidationError as exc:
        _model_errors(row, exc, skip)
        return None


def _ogrs3_cells(row: _Row, raw: dict[str, Any], bad: set[str]) -> dict[str, Any]:
    """The optional OGRS3 cells, parsed (an empty cell: not known)."""
    ogrs3: dict[str, Any] = {}
    for column in ("previous_sanctions", "age_at_first_sanction"):
        text = _cell(raw, column)
        try:
            ogrs3[column] = _parse_int(text) if text else None
        except ValueError:
            row.error(column, f"{text[:20]!r} is not a whole number")
            bad.add(column)
            ogrs3[column] = None
    conviction_text = _cell(raw, "conviction_date")
    ogrs3["conviction_date"] = None
    if conviction_text:
        try:
            ogrs3["conviction_date"] = _parse_date(conviction_text)
        except ValueError:
            row.error("conviction_date", "is not a date like 2024-02-03 or 03/02/2024")
            bad.add("conviction_date")
    return ogrs3


def _check_ogrs3(row: _Row, born: date | None, bad: set[str]) -> None:
    """The OGRS3 inputs against each other and the date of birth, as registration checks them."""
    case = row.case
    if case is None or born is None or bad & set(OGRS3_COLUMNS):
        return  # a cell that did not parse already has its message
    try:
        check_ogrs3_inputs(
            date_of_birth=born,
            age_at_first_sanction=case.age_at_first_sanction,
            previous_sanctions=case.previous_sanctions,
            conviction_date=case.conviction_date,
            today=london_today(),
        )
    except InputError as exc:
        row.error(_ogrs3_column(str(exc)), str(exc))


def _check_row(number: int, raw: dict[str, Any], lookup: Lookup) -> _Row:
    row = _Row(number)
    bad: set[str] = set()

    born: date | None = None
    dob_text = _cell(raw, "date_of_birth")
    if not dob_text:
        row.error("date_of_birth", "is empty")
        bad.add("date_of_birth")
    else:
        try:
            born = _parse_date(dob_text)
        except ValueError:
            row.error("date_of_birth", "is not a date like 1990-02-03 or 03/02/1990")
            bad.add("date_of_birth")

    mappa: dict[str, int | None] = {}
    for column in ("mappa_category", "mappa_level"):
        text = _cell(raw, column)
        try:
            mappa[column] = _parse_int(text) if text else None
        except ValueError:
            row.error(column, f"{text[:20]!r} is not 1, 2 or 3")
            bad.add(column)
            mappa[column] = None

    ogrs3 = _ogrs3_cells(row, raw, bad)

    aliases = [a.strip() for a in _cell(raw, "aliases").split(";") if a.strip()]
    row.offender = _build(
        OffenderCreate,
        row,
        bad,
        pnc_id=_cell(raw, "pnc_id"),
        first_name=_cell(raw, "first_name"),
        last_name=_cell(raw, "last_name"),
        aliases=aliases,
        date_of_birth=born if born is not None else date.min,
        sex=_choice(_cell(raw, "sex")),
    )
    # A MAPPA value that is not a number already has its message; the model would only add
    # "a MAPPA case needs its category and level".
    if not bad & {"mappa_category", "mappa_level"}:
        try:
            row.case = _build(
                CaseCreate,
                row,
                bad,
                programme=_choice(_cell(raw, "programme")),
                risk=_choice(_cell(raw, "risk")),
                offence_category=_cell(raw, "offence_category"),
                **mappa,
                **ogrs3,
            )
        except InputError as exc:  # an offence category that names none
            row.error("offence_category", str(exc))
    _check_ogrs3(row, born, bad)

    postcode = _cell(raw, "postcode")
    if not postcode:
        row.error("postcode", "is empty (write NFA for no fixed abode)")
    elif postcode.lower() in _NO_FIXED_ABODE:
        row.residence = Residence.no_fixed_abode()
    else:
        row.residence = _build(Residence, row, set(), postcode=postcode)
        if row.residence is not None:
            try:
                if row.residence.postcode is None:
                    raise RuntimeError("row.residence.postcode is missing")
                lookup.lookup(row.residence.postcode)
            except CrossforceError as exc:
                row.error("postcode", str(exc))
                row.residence = None
    return row


def _ogrs3_column(message: str) -> str:
    # Which OGRS3 column a cross-check names, so the report points at the right cell.
    lowered = message.lower()
    if "conviction date" in lowered:
        return "conviction_date"
    if "previous sanctions" in lowered:
        return "previous_sanctions"
    return "age_at_first_sanction"


def _check_duplicates(session: Session, rows: list[_Row]) -> None:
    """Mark the same person twice in the file, or a person already registered."""
    first_seen: dict[str, int] = {}
    for row in rows:
        if row.offender is None:
            continue
        pnc = row.offender.pnc_id
        if pnc in first_seen:
            row.error("pnc_id", f"{pnc} is also on row {first_seen[pnc]}")
        else:
            first_seen[pnc] = row.number
    if not first_seen:
        return
    existing = session.exec(
        select(Offender.pnc_id, Offender.id).where(col(Offender.pnc_id).in_(list(first_seen)))
    ).all()
    for pnc, offender_id in existing:
        number = first_seen[pnc]
        rows[number - FIRST_ROW].error(
            "pnc_id", f"{pnc} is already registered (offender {offender_id})"
        )


def _add_row(
    session: Session, *, actor: str, row: _Row, lookup: Lookup, today: date | None
) -> AddedOffender:
    """Add one checked row; any failure names the row and undoes the whole import."""
    if row.offender is None or row.case is None or row.residence is None:
        raise RuntimeError("a checked row lacks its offender, case or residence")
    try:
        return add_offender(
            session,
            actor=actor,
            offender=row.offender,
            case=row.case,
            residence=row.residence,
            lookup=lookup,
            today=today,
        )
    except ConflictError as exc:
        raise ConflictError(f"row {row.number}: {exc}; nothing was imported") from exc
    except (InputError, NotFoundError) as exc:
        raise InputError(f"row {row.number}: {exc}; nothing was imported") from exc


def import_offenders(
    session: Session,
    *,
    actor: str,
    table: pd.DataFrame,
    lookup: Lookup,
    dry_run: bool = False,
    today: date | None = None,
) -> ImportReport:
    """Check every row of ``table`` and, only if all pass, add every person with their case.

    Parameters
    ----------
    session
        Open session; on success every row is added in it (one transaction with the caller's).
    actor
        Who imports (needs the right to register people); written to the audit log.
    table
        The rows, e.g. from ``geo.batch.read_upload``; see the module docstring for columns.
    lookup
        The boundary lookup that resolves the postcodes.
    dry_run
        Check only: nothing is written whatever the outcome.
    today
        The date the cases open (default today); tests pin it.

    Returns
    -------
    ImportReport
        ``errors`` lists every problem of every row; when it is not empty nothing was written.

    Raises
    ------
    InputError
        The table lacks a required column or has no rows; or a row that passed the checks
        fails while being added (someone registered the same PNC ID in the meantime): the
        caller's transaction must then roll back, as ``session_scope`` does, so nothing stays.
    AccessDeniedError
        The actor may not register people (audited).
    """
    require(session, actor=actor, action="case.create", entity_type="offender")
    columns = {_header(c): c for c in table.columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"The file lacks the column(s) {', '.join(missing)}; nothing was imported")
    if table.empty:
        raise InputError("The file has no rows; nothing was imported")
    warnings: list[str] = []
    ignored = [columns[c] for c in columns if c not in COLUMNS]
    if ignored:
        warnings.append(f"Ignored column(s): {', '.join(str(c) for c in ignored)}")

    rows: list[_Row] = []
    for position, record in enumerate(table.to_dict(orient="records")):
        raw = {_header(k): v for k, v in record.items()}
        rows.append(_check_row(FIRST_ROW + position, raw, lookup))
    _check_duplicates(session, rows)

    errors = [e for row in rows for e in row.errors]
    if errors or dry_run:
        return ImportReport(rows=len(rows), dry_run=dry_run, errors=errors, warnings=warnings)

    offender_ids: list[int] = []
    case_ids: list[int] = []
    # One line per distinct warning (e.g. "approximate boundaries"), not one per row.
    lookup_warnings: dict[str, list[int]] = {}
    for row in rows:
        added = _add_row(session, actor=actor, row=row, lookup=lookup, today=today)
        offender_ids.append(added.offender.id)
        case_ids.append(added.case.id)
        for warning in added.warnings:
            lookup_warnings.setdefault(warning, []).append(row.number)
    for warning, numbers in lookup_warnings.items():
        shown = ", ".join(str(n) for n in numbers[:10]) + (", …" if len(numbers) > 10 else "")
        warnings.append(f"{'row' if len(numbers) == 1 else 'rows'} {shown}: {warning}")
    record_event(
        session,
        actor=actor,
        action="offender.import",
        entity_type="offender",
        entity_id=None,
        details={"rows": len(rows), "case_ids": case_ids},
        category="collection",
        offender_ids=offender_ids,
    )
    return ImportReport(
        rows=len(rows),
        dry_run=False,
        offender_ids=offender_ids,
        case_ids=case_ids,
        warnings=warnings,
    )
