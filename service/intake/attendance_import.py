"""An attendance list from a spreadsheet (xlsx or CSV): who came to a meeting.

The file passes the same upload gate as a roster and is read by the roster's reader, so it is
held to the same rules: the type from the content, no formulas or error values (a value must
be typed), no control characters, every problem named by its cell (``Närvaro!B7``) or row and
column, all at once, and nothing stored unless the whole file is good.

Columns (found by their headings in the first rows, any case): ``Namn`` (or Deltagare), and
``E-post``, ``Organisation``, ``Status`` (deltog, anmäld, förhinder; also ja/nej, x) and
``Särskilda behov``, each optional. A row is matched to a participant of the meeting's network by
e-mail, else by name (and organisation, when two share a name); a row matching nobody is
refused with its row number. Without a Status column every listed participant ``deltog``.
Participants the file does not list keep what is recorded for them.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import AttendanceStatus
from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.intake.entities import AttendanceEntry, get_entity, put_attendance
from service.intake.roster_columns import header_key
from service.intake.roster_format import (
    ErrorValue,
    Formula,
    RawValue,
    Table,
    read_table,
    same_text,
)
from service.intake.text_rules import reject_control_characters

HEADER_SEARCH_ROWS = 10
MAX_ROWS = 5_000

_COLUMNS = {
    "name": ("namn", "deltagare", "name", "participant"),
    "email": ("e-post", "epost", "e-postadress", "mejl", "email", "e-mail"),
    "organisation": ("organisation", "kommun", "region", "organization"),
    "status": ("status", "närvaro", "deltog", "attendance"),
    "special_needs": ("särskilda behov", "behov", "specialkost", "special needs"),
}
_STATUS_WORDS = {
    "deltog": AttendanceStatus.ATTENDED,
    "närvarande": AttendanceStatus.ATTENDED,
    "ja": AttendanceStatus.ATTENDED,
    "x": AttendanceStatus.ATTENDED,
    "attended": AttendanceStatus.ATTENDED,
    "anmäld": AttendanceStatus.REGISTERED,
    "registered": AttendanceStatus.REGISTERED,
    "förhinder": AttendanceStatus.ABSENT,
    "frånvarande": AttendanceStatus.ABSENT,
    "nej": AttendanceStatus.ABSENT,
    "absent": AttendanceStatus.ABSENT,
}
# Compared as headings are: case, spaces and diacritics ignored ("Förhinder", "forhinder").
_STATUSES = {header_key(word): status for word, status in _STATUS_WORDS.items()}


@dataclass(frozen=True)
class AttendanceImport:
    """What an attendance list stored: rows read and participants per status."""

    meeting_id: int
    source: str
    rows: int
    counts: dict[str, int]


@dataclass(frozen=True)
class _Row:
    number: int
    name: str | None
    email: str | None
    organisation: str | None
    status: AttendanceStatus
    special_needs: str | None


def import_attendance(
    session: Session, meeting_id: int, data: bytes, *, file_name: str, limits: UploadLimits
) -> AttendanceImport:
    """Read an attendance list and record it for the meeting, all or nothing."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    inspected = inspect_upload(
        data, file_name=file_name, accepted={FileType.XLSX, FileType.CSV}, limits=limits
    )
    is_xlsx = inspected.file_type == FileType.XLSX
    table = read_table(
        inspected.data, file_type="xlsx" if is_xlsx else "csv", csv_text=inspected.csv
    )
    rows = _read_rows(table)
    people = list(
        session.scalars(
            select(m.Participant)
            .join(m.Organisation, m.Organisation.id == m.Participant.organisation_id)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Participant.id)
        )
    )
    organisations = {
        o.id: o
        for o in session.scalars(
            select(m.Organisation).where(m.Organisation.network_id == meeting.network_id)
        )
    }
    problems: list[Problem] = []
    matched: dict[int, tuple[_Row, m.Participant]] = {}
    for row in rows:
        found = _match(row, people, organisations)
        if isinstance(found, str):
            problems.append(Problem(table.row_place(row.number), found))
            continue
        if found.id in matched:
            first = matched[found.id][0].number
            problems.append(
                Problem(
                    table.row_place(row.number),
                    f"{found.name} is already listed on row {first}: list each participant once",
                )
            )
            continue
        matched[found.id] = (row, found)
    if problems:
        raise FileRejectedError(RejectionReason.CONTENT, problems)
    for row, participant in matched.values():
        put_attendance(
            session,
            meeting.id,
            participant.id,
            AttendanceEntry(status=row.status, special_needs=row.special_needs),
        )
    counts = Counter(row.status.value for row, _ in matched.values())
    return AttendanceImport(
        meeting_id=meeting.id,
        source=table.description,
        rows=len(rows),
        counts={status.value: counts.get(status.value, 0) for status in AttendanceStatus},
    )


def _read_rows(table: Table) -> list[_Row]:
    """The data rows under the heading row, or every problem with its cell."""
    header: dict[str, int] | None = None
    problems: list[Problem] = []
    rows: list[_Row] = []
    for number, cells in table.rows:
        if header is None:
            found = _header(cells)
            if found:
                header = found
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if len(rows) >= MAX_ROWS:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [Problem("file", f"has more than {MAX_ROWS} rows; an attendance list has fewer")],
            )
        values: dict[str, str | None] = {}
        bad_cell = False
        for key, index in header.items():
            raw = cells[index] if index < len(cells) else None
            text, problem = _text(raw)
            if problem:
                problems.append(Problem(table.cell_place(number, index, _HEADINGS[key]), problem))
                bad_cell = True
            values[key] = text
        if bad_cell:
            continue  # one message per bad cell, not a cascade about the rest of its row
        if not any(values.values()):
            continue  # an empty row
        status = AttendanceStatus.ATTENDED
        if "status" in header and values.get("status"):
            word = header_key(values["status"] or "")
            if word not in _STATUSES:
                problems.append(
                    Problem(
                        table.cell_place(number, header["status"], _HEADINGS["status"]),
                        f"{values['status']!r} is not a status: use deltog, anmäld or förhinder",
                    )
                )
                continue
            status = _STATUSES[word]
        if not values.get("name") and not values.get("email"):
            problems.append(
                Problem(table.row_place(number), "names nobody: give a name or an e-mail address")
            )
            continue
        rows.append(
            _Row(
                number=number,
                name=values.get("name"),
                email=values.get("email"),
                organisation=values.get("organisation"),
                status=status,
                special_needs=values.get("special_needs"),
            )
        )
    if header is None:
        problems.insert(
            0,
            Problem(
                "file",
                f"no heading row with a Namn (or E-post) column in the first "
                f"{HEADER_SEARCH_ROWS} rows ({table.description})",
            ),
        )
    if problems:
        raise FileRejectedError(RejectionReason.CONTENT, problems)
    return rows


_HEADINGS = {
    "name": "Namn",
    "email": "E-post",
    "organisation": "Organisation",
    "status": "Status",
    "special_needs": "Särskilda behov",
}
_KEYS = {header_key(word): key for key, words in _COLUMNS.items() for word in words}


def _header(cells: Sequence[RawValue]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, str):
            key = _KEYS.get(header_key(cell))
            if key is not None and key not in found:
                found[key] = index
    return found if ("name" in found or "email" in found) else None


def _text(raw: RawValue) -> tuple[str | None, str | None]:
    """(text, problem) of one cell: formulas and error values are refused, never evaluated."""
    if raw is None:
        return None, None
    if isinstance(raw, Formula):
        return None, "a formula; type the value instead"
    if isinstance(raw, ErrorValue):
        return None, f"an error value {raw.text!r}; type the value instead"
    text = str(raw) if not isinstance(raw, str) else raw
    try:
        reject_control_characters(text)
    except ValueError as exc:
        return None, str(exc)
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text or None, None


def _match(
    row: _Row, people: list[m.Participant], organisations: dict[int, m.Organisation]
) -> m.Participant | str:
    """The participant a row names, or why it names nobody (or more than one)."""
    if row.email:
        by_email = [p for p in people if p.email and p.email.casefold() == row.email.casefold()]
        if len(by_email) == 1:
            return by_email[0]
    candidates = [p for p in people if row.name and same_text(p.name) == same_text(row.name)]
    if row.organisation and len(candidates) != 1:
        wanted = same_text(row.organisation)
        candidates = [
            p
            for p in candidates
            if wanted
            in {
                same_text(organisations[p.organisation_id].name),
                same_text(organisations[p.organisation_id].ref),
            }
        ]
    if len(candidates) == 1:
        return candidates[0]
    who = row.name or row.email or ""
    if not candidates:
        return f"no participant {who!r} in the meeting's network: add them to the roster first"
    return f"{who!r} names {len(candidates)} participants: add the organisation or e-mail"
