"""Read an organiser's roster (xlsx or CSV, one row per participant) into checked entries.

Pure: the bytes of a file that passed the upload gate in; organisations and participants with
the place of every value out (see docs/roster-format.md). Every problem names its cell
(``Deltagare!F12``) or, in a CSV file, its row and column (``row 12: column 'E-post'``); the
file is refused with all of them at once. Nothing here looks at the database: matching the
entries against stored organisations and participants is ``roster_import``'s work.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.csv_text import CsvText, decode_csv
from service.intake.roster_columns import (
    HEADERS,
    ORGANISATION_COLUMNS,
    PARTICIPANT_COLUMNS,
    PROGRAMME_ROLES,
    ROLE_CHOICES,
    ROLES,
    SPECS,
    Col,
    header_key,
)
from service.intake.text_rules import reject_control_characters

MAX_ROWS = 5_000  # data rows; a network has dozens of organisations, not thousands
MAX_COLUMNS = 50
HEADER_SEARCH_ROWS = 10
SHEET_NAMES = ("Deltagare", "Roster")  # a sheet with one of these names is read, else the first
CSV_DELIMITERS = (";", ",", "\t")  # in this order of preference on a tie


# Organisation types stored in lower case when typed in any case; other types as typed.
_KNOWN_TYPES = ("kommun", "region", "landsting", "kommunalförbund", "stadsdel")

_REF = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_EMAIL = re.compile(r"[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\.]+(\.[^@\s\"(),:;<>\[\]\\.]+)+")
_PHONE_FILLER = re.compile(r"[\s\-–()./\u00a0]")
_PHONE_DIGITS = re.compile(r"\+?[0-9]{6,15}")
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# What a file holds: rows of raw cells, each with its place.


@dataclass(frozen=True)
class Formula:
    """A spreadsheet cell holding a formula (never evaluated)."""

    text: str


@dataclass(frozen=True)
class ErrorValue:
    """A spreadsheet cell holding an error such as ``#N/A``."""

    text: str


RawValue: TypeAlias = (
    str | int | float | bool | dt.datetime | dt.date | dt.time | Formula | ErrorValue | None
)


@dataclass(frozen=True)
class Table:
    """The rows of one sheet or CSV file and how its places are written."""

    description: str  # "sheet 'Deltagare'" or "CSV, UTF-8, ';'"
    rows: Iterable[tuple[int, Sequence[RawValue]]]  # (row number, cells), read lazily
    cell_place: Callable[[int, int, str | None], str]  # (row, column index, header) -> place
    row_place: Callable[[int], str]
    notes: tuple[str, ...] = ()  # said once, as a warning on the whole file


def _blank(value: RawValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _quote_sheet(name: str) -> str:
    return name if re.fullmatch(r"[^\W\d]\w*", name) else "'" + name.replace("'", "''") + "'"


def read_xlsx(data: bytes) -> Table:
    """The roster sheet of a workbook: one named Deltagare or Roster, else the first."""
    try:
        # read_only streams the sheet; data_only=False keeps formulas as formulas, which are
        # refused cell by cell: a cached result may be stale and evaluating is never safe.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, KeyError) on a broken file
        raise _unreadable(exc) from exc
    names = list(workbook.sheetnames)
    wanted = {header_key(n) for n in SHEET_NAMES}
    chosen = next((n for n in names if header_key(n) in wanted), names[0] if names else None)
    if chosen is None:
        raise FileRejectedError(RejectionReason.CONTENT, [Problem("file", "has no sheets")])
    notes: tuple[str, ...] = ()
    if len(names) > 1:
        others = ", ".join(repr(n) for n in names if n != chosen)
        notes = (
            f"read sheet {chosen!r} only; also in the file: {others} (a sheet named "
            f"{SHEET_NAMES[0]!r} is read when there is one)",
        )
    sheet = workbook[chosen]
    sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
    prefix = _quote_sheet(chosen)

    def rows() -> Iterator[tuple[int, Sequence[RawValue]]]:
        try:
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                yield number, [_xlsx_value(c) for c in cells]
        except Exception as exc:  # the sheet's XML is parsed only now, as it streams
            raise _unreadable(exc) from exc
        finally:
            workbook.close()

    return Table(
        description=f"sheet {chosen!r}",
        rows=rows(),
        cell_place=lambda row, col, _h: f"{prefix}!{get_column_letter(col + 1)}{row}",
        row_place=lambda row: f"{prefix} row {row}",
        notes=notes,
    )


def _unreadable(exc: Exception) -> FileRejectedError:
    return FileRejectedError(
        RejectionReason.CORRUPT,
        [Problem("file", f"not a readable xlsx workbook ({type(exc).__name__}: {exc})")],
    )


def _xlsx_value(cell: object) -> RawValue:
    value = getattr(cell, "value", None)
    kind = getattr(cell, "data_type", None)
    if value is None:
        return None
    if kind == "f":
        return Formula(str(value))
    if kind == "e":
        return ErrorValue(str(value))
    if isinstance(value, str | int | float | bool | dt.datetime | dt.date | dt.time):
        return value
    return str(value)  # rich text and other wrappers: their text


def read_csv(text: str, *, encoding: str) -> Table:
    """The rows of a CSV text; the delimiter (; , or tab) is the one that finds most headers."""
    delimiter = max(
        CSV_DELIMITERS, key=lambda d: (_header_score(text, d), -CSV_DELIMITERS.index(d))
    )
    shown = {"\t": "tab"}.get(delimiter, repr(delimiter))

    def rows() -> Iterator[tuple[int, Sequence[RawValue]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        number = 0
        try:
            # A record is one row as Excel shows it, even when a quoted field holds newlines.
            for number, record in enumerate(reader, start=1):
                yield number, record
        except csv.Error as exc:
            raise FileRejectedError(
                RejectionReason.CORRUPT, [Problem(f"row {number + 1}", f"not valid CSV: {exc}")]
            ) from exc

    def cell_place(row: int, col: int, header: str | None) -> str:
        return f"row {row}: column {header!r}" if header else f"row {row}: column {col + 1}"

    return Table(
        description=f"CSV, {encoding}, delimiter {shown}",
        rows=rows(),
        cell_place=cell_place,
        row_place=lambda row: f"row {row}",
    )


def _header_score(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    best = 0
    try:
        for _, record in zip(range(HEADER_SEARCH_ROWS), reader, strict=False):
            best = max(best, len({HEADERS[k] for c in record if (k := header_key(c)) in HEADERS}))
    except csv.Error:
        return best
    return best


# ---------------------------------------------------------------------------------------------
# What the roster says: organisations, participants, and what is wrong with them.


@dataclass(frozen=True, order=True)
class Finding:
    """A problem or warning with its place; sorted by row, then column."""

    row: int
    column: int
    problem: Problem = field(compare=False)


@dataclass(frozen=True)
class RosterRow:
    """One data row: the checked value of each column it has (None: left blank)."""

    number: int
    place: str
    values: Mapping[Col, str | None]
    places: Mapping[Col, str]
    positions: Mapping[Col, int]
    invalid: frozenset[Col]  # columns whose cell was refused


@dataclass(frozen=True)
class OrganisationEntry:
    """One organisation as the file states it, merged from all its rows.

    ``fields`` holds each organisation column of the file: the value stated on the first row
    that states one, or None when no row does (the stored value is then cleared).
    """

    key: str  # its Organisation-id, or "name:" and the compared form of its name
    ref: str | None
    name: str
    fields: Mapping[Col, str | None]
    places: Mapping[Col, str]
    positions: Mapping[Col, tuple[int, int]]  # (row, column) of the stated value
    rows: tuple[int, ...]


@dataclass(frozen=True)
class ParticipantEntry:
    """One participant row, belonging to the organisation with ``organisation_key``."""

    organisation_key: str
    row: int
    place: str
    fields: Mapping[Col, str | None]  # the participant columns of the file (name filled in)
    places: Mapping[Col, str]
    positions: Mapping[Col, int]

    @property
    def ref(self) -> str | None:
        """The participant's Deltagar-id, when the file gives one."""
        return self.fields.get(Col.PARTICIPANT_REF)

    @property
    def name(self) -> str:
        """The participant's name (required, so always there)."""
        return self.fields.get(Col.NAME) or ""

    @property
    def email(self) -> str | None:
        """The participant's e-mail address, when the file gives one."""
        return self.fields.get(Col.EMAIL)


@dataclass(frozen=True)
class Roster:
    """A roster read from a file: its entries, and what was wrong or worth saying."""

    description: str
    columns: frozenset[Col]
    organisations: tuple[OrganisationEntry, ...]
    participants: tuple[ParticipantEntry, ...]
    problems: tuple[Finding, ...]
    warnings: tuple[Finding, ...]

    def refuse_if_problems(self, more: Sequence[Finding] = ()) -> None:
        """Raise FileRejectedError with every problem (these and ``more``), in row order."""
        found = sorted((*self.problems, *more))
        if found:
            raise FileRejectedError(RejectionReason.CONTENT, [f.problem for f in found])


def same_text(text: str) -> str:
    """How names are compared: case and spacing ignored, diacritics kept."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


@dataclass
class _Collector:
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def problem(self, row: int, column: int, place: str, message: str) -> None:
        self.problems.append(Finding(row, column, Problem(place, message)))

    def warn(self, row: int, column: int, place: str, message: str) -> None:
        self.warnings.append(Finding(row, column, Problem(place, message)))


@dataclass(frozen=True)
class _Header:
    number: int
    columns: Mapping[int, Col]  # column index -> field
    texts: Mapping[int, str]  # column index -> header as typed
    width: int


def parse_roster(table: Table) -> Roster:
    """Read a table into a roster; file-level faults raise, row problems are collected."""
    out = _Collector()
    rows = iter(table.rows)
    before: list[tuple[int, Sequence[RawValue]]] = []
    header = None
    for number, cells in rows:
        found = _header_in(number, cells)
        if found is not None:
            header = found
            break
        before.append((number, cells))
        if number >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        expected = ", ".join(SPECS[c].label for c in (Col.ORGANISATION, Col.NAME, Col.ROLE))
        raise FileRejectedError(
            RejectionReason.CONTENT,
            [
                Problem(
                    "file",
                    f"no header row in the first {HEADER_SEARCH_ROWS} rows of the "
                    f"{table.description}: expected columns such as {expected}, E-post",
                )
            ],
        )
    _check_header(table, header, out)
    for note in table.notes:
        out.warn(0, 0, "file", note)
    if out.problems:
        raise FileRejectedError(RejectionReason.CONTENT, [f.problem for f in sorted(out.problems)])

    roster_rows: list[RosterRow] = []
    unheaded: dict[int, int] = {}  # column index without a header -> first row with a value
    for number, cells in rows:
        if all(_blank(c) for c in cells):
            continue
        if len(roster_rows) >= MAX_ROWS:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [Problem("file", f"has more than {MAX_ROWS} rows of data; split it")],
            )
        for index in range(header.width, len(cells)):
            if not _blank(cells[index]):
                unheaded.setdefault(index, number)
        for index in range(header.width):
            if index not in header.columns and index < len(cells) and not _blank(cells[index]):
                unheaded.setdefault(index, number)
        roster_rows.append(_read_row(table, header, number, cells, out))
    for index, number in sorted(unheaded.items()):
        if index in header.texts:
            continue  # an unknown column: already said once at its header
        out.warn(
            number,
            index,
            table.cell_place(number, index, None),
            "a value in a column without a header; it is not read",
        )
    organisations, participants = _entries(roster_rows, header, out)
    return Roster(
        description=table.description,
        columns=frozenset(header.columns.values()),
        organisations=organisations,
        participants=participants,
        problems=tuple(sorted(out.problems)),
        warnings=tuple(sorted(out.warnings)),
    )


def _header_in(number: int, cells: Sequence[RawValue]) -> _Header | None:
    columns: dict[int, Col] = {}
    texts: dict[int, str] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip():
            texts[index] = cell.strip()
            if (key := HEADERS.get(header_key(cell))) is not None:
                columns[index] = key
    if len(set(columns.values())) < 2:  # one known word in a title line is not a header
        return None
    return _Header(number, columns, texts, width=max(texts) + 1)


def _check_header(table: Table, header: _Header, out: _Collector) -> None:
    row = header.number
    if len(header.texts) > MAX_COLUMNS:
        out.problem(
            row, 0, table.row_place(row), f"has {len(header.texts)} columns; at most {MAX_COLUMNS}"
        )
    seen: dict[Col, int] = {}
    for index, text in sorted(header.texts.items()):
        place = table.cell_place(row, index, text)
        key = header.columns.get(index)
        if key is None:
            out.warn(row, index, place, f"column {text!r} is not a roster column; it is not read")
        elif key in seen:
            first = table.cell_place(row, seen[key], header.texts[seen[key]])
            out.problem(
                row, index, place, f"column {text!r} holds the same field as {first}; keep one"
            )
        else:
            seen[key] = index
    present = set(seen)
    required = [Col.ORGANISATION, Col.ROLE]
    if Col.NAME not in present and not present & {Col.FIRST_NAME, Col.LAST_NAME}:
        required.append(Col.NAME)
    for key in required:
        if key not in present:
            spec = SPECS[key]
            out.problem(
                row,
                MAX_COLUMNS + 1,
                table.row_place(row),
                f"the column {spec.label!r} is missing (also accepted: {', '.join(spec.aliases)})",
            )
    if Col.NAME in present and present & {Col.FIRST_NAME, Col.LAST_NAME}:
        out.warn(
            row, 0, table.row_place(row), "has a 'Namn' column; 'Förnamn'/'Efternamn' are not read"
        )


def _read_row(
    table: Table, header: _Header, number: int, cells: Sequence[RawValue], out: _Collector
) -> RosterRow:
    values: dict[Col, str | None] = {}
    places: dict[Col, str] = {}
    positions: dict[Col, int] = {}
    invalid: set[Col] = set()
    for index, key in header.columns.items():
        raw = cells[index] if index < len(cells) else None
        place = table.cell_place(number, index, header.texts[index])
        places[key], positions[key] = place, index
        value, problem, note = _cell_value(raw, key)
        if problem is None and value is not None:
            value, problem, more = _checked(value, key)
            note = note or more
        if problem is not None:
            out.problem(number, index, place, problem)
            invalid.add(key)
            value = None
        if note is not None:
            out.warn(number, index, place, note)
        values[key] = value
    return RosterRow(
        number=number,
        place=table.row_place(number),
        values=values,
        places=places,
        positions=positions,
        invalid=frozenset(invalid),
    )


def _cell_value(raw: RawValue, key: Col) -> tuple[str | None, str | None, str | None]:
    """(text, problem, note) for one cell, before the column's own rules."""
    if isinstance(raw, Formula):
        return None, f"a formula ({_short(raw.text)}); type the value instead", None
    if isinstance(raw, ErrorValue):
        return None, f"an error value {raw.text!r}; type the value instead", None
    if raw is None or isinstance(raw, str):
        return raw, None, None
    if isinstance(raw, bool):
        return ("SANT" if raw else "FALSKT"), None, None
    if isinstance(raw, int | float):
        if key == Col.PHONE:
            text = _phone_from_number(raw)
            return text, None, f"a number, read as the phone number {text!r} (format as text)"
        whole = isinstance(raw, int) or raw.is_integer()
        return (str(int(raw)) if whole else repr(raw)), None, None
    if isinstance(raw, dt.datetime):
        text = raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(" ", "minutes")
    elif isinstance(raw, dt.date):
        text = raw.isoformat()
    else:
        text = raw.isoformat("minutes")
    return text, None, f"a date or time, read as the text {text!r} (format as text)"


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _phone_from_number(number: float) -> str:
    """A phone number that Excel stored as a number: 46701234567 -> +46701234567."""
    digits = str(int(number))
    if digits.startswith("46") and len(digits) >= 10:
        return "+" + digits  # the country code lost its plus
    if len(digits) == 9:
        return "0" + digits  # a Swedish number lost its leading zero
    return digits


def _checked(text: str, key: Col) -> tuple[str | None, str | None, str | None]:
    """(value, problem, note) after the rules every text and this column have."""
    try:
        text = reject_control_characters(text)
    except ValueError as exc:
        return None, str(exc), None
    # One-line fields: newlines and runs of spaces become one space, composed as NFC so
    # that åäö typed on a Mac compare equal to the stored ones.
    value = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not value:
        return None, None, None
    spec = SPECS[key]
    if len(value) > spec.max_length:
        return None, f"is {len(value)} characters long; at most {spec.max_length} fit", None
    if key in (Col.ORGANISATION_REF, Col.PARTICIPANT_REF) and not _REF.fullmatch(value):
        return None, f"{value!r} is not an id: use letters a–z, digits and _ . - only", None
    if key == Col.EMAIL:
        address = value.removeprefix("mailto:")
        if not _EMAIL.fullmatch(address):
            return None, f"{value!r} is not an e-mail address", None
        return address, None, None
    if key == Col.PHONE:
        if not _PHONE_DIGITS.fullmatch(_PHONE_FILLER.sub("", value)):
            return None, f"{value!r} is not a phone number (6–15 digits, optionally +)", None
        return value, None, None
    if key == Col.ROLE:
        return _role(value)
    if key == Col.PROGRAMME_ROLE:
        role = PROGRAMME_ROLES.get(header_key(value))
        if role is None:
            return (
                None,
                f"{value!r} is not a programme role: use mentor or benchmarkingorganisation",
                None,
            )
        return role, None, None
    if key == Col.TYPE and value.casefold() in _KNOWN_TYPES:
        return value.casefold(), None, None
    return value, None, None


def _role(value: str) -> tuple[str | None, str | None, str | None]:
    role = ROLES.get(header_key(value))
    if role is not None:
        note = None
        if re.search(r"[(\[]", value):
            extra = re.findall(r"\([^)]*\)|\[[^\]]*\]", value)
            note = (
                f"read as the role {role.value!r}; {' '.join(extra)} is not stored "
                "(put it in Titel)"
            )
        return role.value, None, note
    return None, f"{value!r} is not a role: use one of {ROLE_CHOICES}", None


def _entries(
    rows: Sequence[RosterRow], header: _Header, out: _Collector
) -> tuple[tuple[OrganisationEntry, ...], tuple[ParticipantEntry, ...]]:
    """Group rows into organisations and participants; refuse conflicts and duplicates."""
    present = set(header.columns.values())
    # Rows without an Organisation-id belong to the organisation whose id another row gives
    # with the same name.
    ref_of_name: dict[str, str] = {}
    for row in rows:
        ref, name = row.values.get(Col.ORGANISATION_REF), row.values.get(Col.ORGANISATION)
        if ref and name:
            ref_of_name.setdefault(same_text(name), ref)
    organisations: dict[str, _OrgBuilder] = {}
    participants: list[ParticipantEntry] = []
    identities: dict[tuple[str, str, str], RosterRow] = {}
    for row in rows:
        ref, name = row.values.get(Col.ORGANISATION_REF), row.values.get(Col.ORGANISATION)
        if name is None and Col.ORGANISATION not in row.invalid:
            out.problem(
                row.number,
                row.positions[Col.ORGANISATION],
                row.places[Col.ORGANISATION],
                "the organisation's name is empty (fill it on every row; merged cells count "
                "on their first row only)",
            )
        if ref is None:
            if name is None:
                continue
            ref = ref_of_name.get(same_text(name))
        key = ref if ref is not None else "name:" + same_text(name or "")
        builder = organisations.setdefault(key, _OrgBuilder(key=key, ref=ref))
        builder.add(row, out)
        participant = _participant(row, present, key, out)
        if participant is None:
            continue
        participants.append(participant)
        identity = _identity(participant)
        if identity is None:
            continue
        first = identities.setdefault((key, *identity), row)
        if first is not row:
            what = {"ref": "Deltagar-id", "email": "e-mail address", "name": "name"}[identity[0]]
            column = _IDENTITY_COLUMN[identity[0]]
            out.problem(
                row.number,
                participant.positions[column],
                participant.places[column],
                f"the same participant as row {first.number} (same {what} "
                f"{participant.fields.get(column)!r} in the same organisation)",
            )
    return tuple(b.build(present) for b in organisations.values() if b.name), tuple(participants)


_IDENTITY_COLUMN = {"ref": Col.PARTICIPANT_REF, "email": Col.EMAIL, "name": Col.NAME}


def _identity(entry: ParticipantEntry) -> tuple[str, str] | None:
    """What identifies a participant within its organisation: id, else e-mail, else name."""
    if entry.ref:
        return ("ref", entry.ref)
    if entry.email:
        return ("email", entry.email.casefold())
    if entry.name:
        return ("name", same_text(entry.name))
    return None


def _participant(
    row: RosterRow, present: set[Col], organisation_key: str, out: _Collector
) -> ParticipantEntry | None:
    stated = [c for c in PARTICIPANT_COLUMNS if row.values.get(c) is not None or c in row.invalid]
    if not stated:
        return None  # a row with only organisation columns
    fields = {c: row.values.get(c) for c in PARTICIPANT_COLUMNS if c in present}
    places = dict(row.places)
    positions = dict(row.positions)
    if Col.NAME not in present:
        parts = [row.values.get(c) for c in (Col.FIRST_NAME, Col.LAST_NAME)]
        joined = " ".join(p for p in parts if p)
        fields[Col.NAME] = joined or None
        source = Col.FIRST_NAME if Col.FIRST_NAME in present else Col.LAST_NAME
        places[Col.NAME], positions[Col.NAME] = row.places[source], row.positions[source]
        if len(joined) > SPECS[Col.NAME].max_length:
            out.problem(
                row.number,
                positions[Col.NAME],
                places[Col.NAME],
                f"the name is {len(joined)} characters long; at most "
                f"{SPECS[Col.NAME].max_length} fit",
            )
            return None
    fields.pop(Col.FIRST_NAME, None)
    fields.pop(Col.LAST_NAME, None)
    missing = False
    for key, what in ((Col.NAME, "name"), (Col.ROLE, "role")):
        if fields.get(key) is None and key not in row.invalid and key in places:
            hint = f": use one of {ROLE_CHOICES}" if key == Col.ROLE else ""
            out.problem(
                row.number,
                positions[key],
                places[key],
                f"the participant's {what} is empty{hint}",
            )
            missing = True
    if missing or any(c in row.invalid for c in PARTICIPANT_COLUMNS):
        return None
    return ParticipantEntry(
        organisation_key=organisation_key,
        row=row.number,
        place=row.place,
        fields=fields,
        places=places,
        positions=positions,
    )


@dataclass
class _OrgBuilder:
    key: str
    ref: str | None
    name: str | None = None
    fields: dict[Col, str | None] = field(default_factory=dict)
    places: dict[Col, str] = field(default_factory=dict)
    positions: dict[Col, tuple[int, int]] = field(default_factory=dict)
    first_rows: dict[Col, RosterRow] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)

    def add(self, row: RosterRow, out: _Collector) -> None:
        self.rows.append(row.number)
        for key in ORGANISATION_COLUMNS:
            value = row.values.get(key)
            if value is None:
                continue  # blank: this row does not state it
            if key not in self.fields or self.fields[key] is None:
                self.fields[key] = value
                self.places[key] = row.places[key]
                self.positions[key] = (row.number, row.positions[key])
                self.first_rows[key] = row
            elif same_text(self.fields[key] or "") != same_text(value):
                first = self.first_rows[key]
                out.problem(
                    row.number,
                    row.positions[key],
                    row.places[key],
                    f"{value!r} differs from {self.fields[key]!r} in {first.places[key]} "
                    "for the same organisation",
                )
        if self.name is None:
            self.name = self.fields.get(Col.ORGANISATION)

    def build(self, present: set[Col]) -> OrganisationEntry:
        fields: dict[Col, str | None] = {
            key: self.fields.get(key)
            for key in ORGANISATION_COLUMNS
            if key in present and key != Col.ORGANISATION_REF
        }
        return OrganisationEntry(
            key=self.key,
            ref=self.ref,
            name=self.name or "",
            fields=fields,
            places=self.places,
            positions=self.positions,
            rows=tuple(self.rows),
        )


def read_table(
    data: bytes, *, file_type: Literal["xlsx", "csv"], csv_text: CsvText | None = None
) -> Table:
    """The table of an xlsx workbook or a CSV file (decoded here unless already decoded)."""
    if file_type == "xlsx":
        return read_xlsx(data)
    decoded = csv_text if csv_text is not None else decode_csv(data)
    return read_csv(decoded.text, encoding=decoded.encoding)
