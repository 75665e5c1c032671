"""A filled-in self-assessment checklist workbook read back into scores; a pure reader.

The workbook is the one benchdocs generated (``doc_templates/checklist.xlsx``): every round
sheet carries, in its hidden column H, the layout id, the round, organisation and meeting refs
and the scale, and sheet-local names (``bd_layout``, ``bd_question_refs``, ``bd_scores``,
``bd_comments`` ...) point at them and at the question rows. Excel and LibreOffice keep those
names when a participant saves; other tools may lose or stale them, so the reader falls back to
the layout id wherever it is and to the question refs in column A. A score is only ever read
from the row that holds its own question ref, and rows out of the downloaded order are refused.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from service.documents.checklist import LAYOUT_ID
from service.errors import FileRejectedError, Problem, RejectionReason
from service.intake.text_rules import reject_control_characters

LAYOUT_PREFIX = LAYOUT_ID.rsplit("/", 1)[0] + "/"  # "benchdocs-checklista/": any version
MAX_COMMENT_CHARS = 10_000  # the same limit as a comment sent to the API (LongText)
MAX_SHEETS = 100
MAX_ROWS = 2_000  # rows read per sheet: a checklist has a few dozen
MAX_COLUMNS = 30  # A..AD: the layout uses A..H, with room for a few inserted columns
IDENTITY_ROWS = 40  # rows searched for the layout id when its name is lost
# Columns and the first question row of layout 1, for a sheet whose names are lost.
REF_COLUMN, SCORE_COLUMN, COMMENT_COLUMN = 1, 4, 5
FIRST_QUESTION_BELOW_LAYOUT = 8
WORKBOOK = "workbook"

_REFERENCE = re.compile(
    r"^(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^'!]+))!"
    r"\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>[0-9]{1,7})(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>[0-9]{1,7}))?$"
)
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]*[.,][0-9]+")
_REF_LIKE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")  # service.intake.text_rules.Ref
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # how Excel writes CR and controls in XML


@dataclass(frozen=True)
class RoundSheet:
    """One round sheet found in the workbook, as its hidden identity block names it."""

    sheet: str
    layout: str
    round_ref: str
    organisation_ref: str
    meeting_ref: str
    scale_min: int | None
    scale_max: int | None
    is_last: bool  # the last round sheet in workbook order (the one to fill in)


@dataclass(frozen=True)
class ExpectedChecklist:
    """What the database says the sheet of one round must contain."""

    round_ref: str
    organisation_ref: str
    scale_min: int
    scale_max: int
    question_refs: tuple[str, ...]  # in checklist order (area position, question position)


@dataclass(frozen=True)
class ReadScore:
    """One question's score and comment as typed in the workbook."""

    question_ref: str
    value: int | None  # None = left empty (not assessed)
    comment: str | None
    cell: str  # e.g. "BM 2!D9"


@dataclass(frozen=True)
class _Cell:
    value: object
    data_type: str  # openpyxl's: n(umber), s(tring), b(ool), d(ate), e(rror), f(ormula)


_Grid = dict[tuple[int, int], _Cell]


@dataclass(frozen=True)
class _Block:
    """Where the sheet's names say the questions are (``first_row`` to ``last_row``)."""

    ref_column: int
    score_column: int
    comment_column: int
    first_row: int | None = None
    last_row: int | None = None


@dataclass(frozen=True)
class _Sheet:
    identity: RoundSheet
    layout_cell: tuple[int, int]  # (row, column) of the layout id
    grid: _Grid
    block: _Block


class ChecklistFile:
    """A checklist workbook parsed once: its round sheets, then one round's scores on demand."""

    def __init__(self, sheets: list[_Sheet]) -> None:
        self._sheets = sheets
        self.rounds: list[RoundSheet] = [s.identity for s in sheets]

    @classmethod
    def open(cls, data: bytes) -> ChecklistFile:
        """Parse the workbook (already past the file-safety gate) and find its round sheets."""
        grids = _read_workbook(data)
        found = [
            sheet for title, names, grid in grids if (sheet := _round_sheet(title, names, grid))
        ]
        if not found:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem(
                        WORKBOOK,
                        "not a checklist made by benchdocs: no sheet carries the hidden layout "
                        "id; download your organisation's checklist and fill that in",
                    )
                ],
            )
        found[-1] = replace(found[-1], identity=replace(found[-1].identity, is_last=True))
        return cls(found)

    def read_scores(self, expected: ExpectedChecklist) -> list[ReadScore]:
        """Every expected question's score and comment on the round's sheet, or every problem."""
        sheet = self._sheet_for(expected.round_ref)
        problems = _identity_problems(sheet, expected)
        if sheet.identity.layout != LAYOUT_ID:
            raise FileRejectedError(RejectionReason.CONTENT, problems)
        rows, structure = _question_rows(sheet, expected.question_refs)
        problems += structure
        scores: list[ReadScore] = []
        block = sheet.block
        title = sheet.identity.sheet
        for ref in expected.question_refs:
            row = rows.get(ref)
            if row is None:
                continue
            score_cell = f"{title}!{get_column_letter(block.score_column)}{row}"
            comment_cell = f"{title}!{get_column_letter(block.comment_column)}{row}"
            value, score_problem = _score(sheet.grid.get((row, block.score_column)), expected)
            comment, comment_problem = _comment(sheet.grid.get((row, block.comment_column)))
            if score_problem:
                problems.append(Problem(score_cell, score_problem))
            if comment_problem:
                problems.append(Problem(comment_cell, comment_problem))
            scores.append(ReadScore(ref, value, comment, score_cell))
        if problems:
            raise FileRejectedError(RejectionReason.CONTENT, problems)
        return scores

    def _sheet_for(self, round_ref: str) -> _Sheet:
        matches = [s for s in self._sheets if s.identity.round_ref == round_ref]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            others = ", ".join(dict.fromkeys(s.identity.round_ref or "''" for s in self._sheets))
            message = f"no sheet for round {round_ref!r} (found sheets for {others})"
        else:
            titles = ", ".join(repr(s.identity.sheet) for s in matches)
            message = (
                f"{len(matches)} sheets are for round {round_ref!r} ({titles}): keep only the "
                "one you filled in"
            )
        raise FileRejectedError(RejectionReason.CONTENT, [Problem(WORKBOOK, message)])


# -- reading the workbook ------------------------------------------------------------------


def _read_workbook(data: bytes) -> list[tuple[str, dict[str, str], _Grid]]:
    """Each sheet's title, local names and non-empty cells (a bounded area of each)."""
    try:
        # openpyxl warns about extensions Excel and LibreOffice write (data validation lists,
        # slicers); the file is read for its values, so those warnings mean nothing here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
            try:
                if len(workbook.worksheets) > MAX_SHEETS:
                    raise FileRejectedError(
                        RejectionReason.CONTENT,
                        [
                            Problem(
                                WORKBOOK,
                                f"the workbook has {len(workbook.worksheets)} sheets, more than "
                                f"a checklist ever has ({MAX_SHEETS}); upload the checklist "
                                "you downloaded",
                            )
                        ],
                    )
                return [_read_sheet(ws) for ws in workbook.worksheets]
            finally:
                workbook.close()
    except FileRejectedError:
        raise
    except DefusedXmlException as exc:
        raise FileRejectedError(
            RejectionReason.XML_ATTACK,
            [Problem(WORKBOOK, "the workbook's XML declares entities or a DTD; it is not read")],
        ) from exc
    except Exception as exc:  # openpyxl fails on broken parts in many ways; each means corrupt
        raise FileRejectedError(
            RejectionReason.CORRUPT,
            [
                Problem(
                    WORKBOOK,
                    "the file cannot be read as an Excel workbook (it may be damaged or saved "
                    "in another format); save it as .xlsx in Excel or LibreOffice and upload "
                    f"it again ({type(exc).__name__})",
                )
            ],
        ) from exc


def _read_sheet(ws: Any) -> tuple[str, dict[str, str], _Grid]:
    title = str(ws.title)
    names = {str(name): str(defined.attr_text) for name, defined in ws.defined_names.items()}
    grid: _Grid = {}
    for row in ws.iter_rows(min_row=1, max_row=MAX_ROWS, max_col=MAX_COLUMNS):
        for cell in row:
            if cell.value is not None:
                grid[(cell.row, cell.column)] = _Cell(cell.value, cell.data_type)
    return title, names, grid


def _round_sheet(title: str, names: dict[str, str], grid: _Grid) -> _Sheet | None:
    """The sheet's identity if it is a round sheet: a layout id in its named cell or found."""
    anchor = _layout_cell(title, names, grid)
    if anchor is None:
        return None
    row, column = anchor

    def text(offset: int) -> str:
        return _plain_text(grid.get((row + offset, column)))

    identity = RoundSheet(
        sheet=title,
        layout=text(0),
        round_ref=text(1),
        organisation_ref=text(2),
        meeting_ref=text(3),
        scale_min=_whole_number(grid.get((row + 4, column))),
        scale_max=_whole_number(grid.get((row + 5, column))),
        is_last=False,
    )
    return _Sheet(identity, anchor, grid, _named_block(title, names))


def _layout_cell(title: str, names: dict[str, str], grid: _Grid) -> tuple[int, int] | None:
    """The layout id's cell: where ``bd_layout`` points, or else wherever the id is."""
    named = _area(names.get("bd_layout"), title)
    named_text = ""
    if named is not None and named[0] == named[2] and named[1] == named[3]:
        named_text = _plain_text(grid.get((named[1], named[0])))
        if named_text.startswith(LAYOUT_PREFIX):
            return named[1], named[0]
    for row in range(1, IDENTITY_ROWS + 1):
        for column in range(1, MAX_COLUMNS + 1):
            cell = grid.get((row, column))
            if cell and isinstance(cell.value, str) and cell.value.startswith(LAYOUT_PREFIX):
                return row, column
    if named is not None and named_text:
        return named[1], named[0]  # some other layout id: reported as such, not ignored
    return None


def _named_block(title: str, names: dict[str, str]) -> _Block:
    """The question rows the names point at, if all three names agree on them."""
    areas = [_area(names.get(n), title) for n in ("bd_question_refs", "bd_scores", "bd_comments")]
    if any(a is None for a in areas):
        return _Block(REF_COLUMN, SCORE_COLUMN, COMMENT_COLUMN)
    refs, scores, comments = (a for a in areas if a is not None)
    single_columns = all(a[0] == a[2] for a in (refs, scores, comments))
    same_rows = refs[1::2] == scores[1::2] == comments[1::2]
    if not (single_columns and same_rows):
        return _Block(REF_COLUMN, SCORE_COLUMN, COMMENT_COLUMN)
    return _Block(refs[0], scores[0], comments[0], refs[1], refs[3])


def _area(reference: str | None, title: str) -> tuple[int, int, int, int] | None:
    """``'BM 2'!$A$9:$A$32`` as (min column, min row, max column, max row) on this sheet."""
    if not reference:
        return None
    match = _REFERENCE.match(reference.strip())
    if match is None:
        return None  # "#REF!" after a deletion, a formula, another sheet's name
    sheet = match["plain"] if match["plain"] is not None else match["quoted"].replace("''", "'")
    if sheet != title:
        return None
    first = (column_index_from_string(match["c1"]), int(match["r1"]))
    last = (column_index_from_string(match["c2"]), int(match["r2"])) if match["c2"] else first
    return first[0], first[1], last[0], last[1]


# -- checking one round's sheet ------------------------------------------------------------


def _identity_problems(sheet: _Sheet, expected: ExpectedChecklist) -> list[Problem]:
    """The hidden identity block against the database: layout, organisation, scale."""
    identity = sheet.identity
    row, column = sheet.layout_cell
    letter = get_column_letter(column)

    def at(offset: int) -> str:
        return f"{identity.sheet}!{letter}{row + offset}"

    if identity.layout != LAYOUT_ID:
        return [
            Problem(
                at(0),
                f"layout id {identity.layout!r} is not the one this service reads "
                f"({LAYOUT_ID!r}): the sheet was made by another version of benchdocs; "
                "download your organisation's checklist again and fill that in",
            )
        ]
    problems = []
    if identity.organisation_ref != expected.organisation_ref:
        problems.append(
            Problem(
                at(2),
                f"this sheet is for organisation {identity.organisation_ref!r}, not "
                f"{expected.organisation_ref!r}: upload your own organisation's checklist",
            )
        )
    found = (identity.scale_min, identity.scale_max)
    if found != (expected.scale_min, expected.scale_max):
        shown = "–".join("?" if v is None else str(v) for v in found)
        problems.append(
            Problem(
                at(4) if identity.scale_min != expected.scale_min else at(5),
                f"the scale in the file is {shown} but the checklist's scale is "
                f"{expected.scale_min}–{expected.scale_max}: the file was made for another "
                "version of the checklist; download it again and fill that in",
            )
        )
    return problems


def _question_rows(sheet: _Sheet, refs: tuple[str, ...]) -> tuple[dict[str, int], list[Problem]]:
    """The row of each question ref, and a problem for each row out of the downloaded order.

    The refs must stand in consecutive rows in checklist order. Where the names point is
    preferred; when the names are stale (rows inserted by a tool that does not update them)
    but the refs are intact elsewhere in the column, they are read from there.
    """
    block = sheet.block
    title = sheet.identity.sheet
    letter = get_column_letter(block.ref_column)
    column = {r: _plain_text(c) for (r, col), c in sheet.grid.items() if col == block.ref_column}
    positions: dict[str, list[int]] = {}
    for row in sorted(column):
        positions.setdefault(column[row], []).append(row)
    if not refs:
        return {}, []

    starts = [block.first_row] if block.first_row is not None else []
    starts += positions.get(refs[0], [])
    for start in starts:
        if all(column.get(start + i) == ref for i, ref in enumerate(refs)):
            rows = dict(zip(refs, range(start, start + len(refs)), strict=True))
            extra = _extra_rows(
                column,
                title,
                letter,
                after=start + len(refs) - 1,
                named_end=block.last_row if block.first_row == start else None,
                rows=rows,
                in_order=True,
            )
            return rows, extra

    found_rows = [row for ref in refs for row in positions.get(ref, [])]
    if block.first_row is not None:
        start = block.first_row
    elif found_rows:
        start = min(found_rows)
    else:
        start = sheet.layout_cell[0] + FIRST_QUESTION_BELOW_LAYOUT
    problems = []
    for i, ref in enumerate(refs):
        row = start + i
        found = column.get(row, "")
        if found == ref:
            continue
        elsewhere = [r for r in positions.get(ref, []) if r != row]
        what = repr(found) if found else "an empty cell"
        if elsewhere:
            where = f"{ref} is in " + ", ".join(f"{letter}{r}" for r in elsewhere) + " instead"
        else:
            where = f"{ref} is not in column {letter} at all"
        problems.append(
            Problem(
                f"{title}!{letter}{row}",
                f"expected question {ref} in this row, found {what}; {where}: rows were "
                "inserted, deleted, moved or sorted; keep the rows as downloaded (or download "
                "the checklist again and copy your answers into it)",
            )
        )
    rows = {ref: positions[ref][0] for ref in refs if len(positions.get(ref, [])) == 1}
    problems += _extra_rows(
        column,
        title,
        letter,
        after=start + len(refs) - 1,
        named_end=block.last_row,
        rows={ref: start + i for i, ref in enumerate(refs)},
        in_order=False,
    )
    return rows, problems


def _extra_rows(
    column: dict[int, str],
    title: str,
    letter: str,
    *,
    after: int,
    named_end: int | None,
    rows: dict[str, int],
    in_order: bool,
) -> list[Problem]:
    """Question-like entries after the last question: within the named rows, or right below.

    A question of the checklist found there is a copy when the rows are in order; otherwise
    it was moved, and the problem at its expected row already says where it went.
    """
    problems = []
    row = after + 1
    last_named = min(named_end or 0, MAX_ROWS)  # a name may have been stretched to the sheet end
    while row <= last_named or _REF_LIKE.fullmatch(column.get(row, "")):
        found = column.get(row, "")
        location = f"{title}!{letter}{row}"
        if found in rows and in_order:
            problems.append(
                Problem(
                    location,
                    f"question {found} appears a second time (first in {letter}{rows[found]}); "
                    "remove the added row",
                )
            )
        elif found and found not in rows:
            problems.append(
                Problem(
                    location,
                    f"{found!r} is not a question of this checklist: the last question is in "
                    f"{letter}{after}; remove the added row",
                )
            )
        row += 1
    return problems


# -- cell values ---------------------------------------------------------------------------


def _score(cell: _Cell | None, expected: ExpectedChecklist) -> tuple[int | None, str | None]:
    """A cell's whole number on the scale, None when empty; or what is wrong with it."""
    low, high = expected.scale_min, expected.scale_max
    hint = f"write a whole number {low}–{high}, or leave the cell empty"
    if cell is None:
        return None, None
    value = cell.value
    if cell.data_type == "f":
        formula = str(getattr(value, "text", value))
        return None, (
            f"{_short(formula)!r} is a formula; type the number itself ({low}–{high}), or "
            "leave the cell empty"
        )
    if cell.data_type == "e":
        return None, f"the error value {value} is not a score: {hint}"
    if isinstance(value, bool):
        return None, f"{str(value).upper()} is a yes/no value, not a score: {hint}"
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return None, (
            f"{_shown_date(value)} is a date or time, not a score (is the cell formatted as a "
            f"date?): {hint}"
        )
    number: Decimal
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, None
        if not (_WHOLE.fullmatch(text) or _DECIMAL.fullmatch(text)):
            return None, f"{_short(text)!r} is not a score: {hint}"
        number = Decimal(text.replace(",", "."))
        if number != number.to_integral_value():
            return None, f"{text!r} is not a whole number: {hint}"
    elif isinstance(value, int | float):
        try:
            number = Decimal(value)
            whole_number = number == number.to_integral_value()
        except (InvalidOperation, ValueError):  # NaN and infinity cannot come from a cell
            return None, f"{value} is not a score: {hint}"
        if not whole_number:
            return None, f"{value} is not a whole number: {hint}"
    else:
        return None, f"{_short(str(value))!r} is not a score: {hint}"
    whole = int(number)
    if not low <= whole <= high:
        return None, f"{whole} is outside the scale {low}–{high}: {hint}"
    return whole, None


def _comment(cell: _Cell | None) -> tuple[str | None, str | None]:
    """A comment as text (formulas and error values too, never evaluated); or its problem."""
    if cell is None:
        return None, None
    value = cell.value
    if isinstance(value, str):
        text = value
    elif cell.data_type == "f":
        text = str(getattr(value, "text", value))
    elif isinstance(value, bool):
        text = str(value).upper()
    elif isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        text = _shown_date(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None, None
    try:
        reject_control_characters(text)
    except ValueError as exc:
        return None, f"the comment {exc}; remove it"
    if len(text) > MAX_COMMENT_CHARS:
        return None, (
            f"the comment is {len(text):,} characters long; at most {MAX_COMMENT_CHARS:,} are "
            "kept: shorten it"
        )
    return text, None


def _plain_text(cell: _Cell | None) -> str:
    """A cell as a ref or label: stripped text; whole numbers without a decimal point."""
    if cell is None:
        return ""
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "text", value)).strip()


def _whole_number(cell: _Cell | None) -> int | None:
    if cell is None or isinstance(cell.value, bool):
        return None
    value = cell.value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _shown_date(value: dt.datetime | dt.date | dt.time | dt.timedelta) -> str:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value.isoformat()


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
