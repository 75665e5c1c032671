"""A filled-in self-assessment checklist workbook read back into scores; a pure reader.

The workbook is the one benchdocs generated (``doc_templates/checklist.xlsx``): every round
sheet carries, in its hidden column H, the layout id, the round, organisation and meeting refs
and the scale, and sheet-local names (``bd_layout``, ``bd_question_refs``, ``bd_scores``,
``bd_comments`` ...) point at them and at the question rows. Excel and LibreOffice keep those
names when a participant saves; other tools may lose or stale them, so the reader falls back to
the layout id wherever it is and to the Nr column A. The Nr column holds each statement's
number in checklist order (files made before that hold the question refs; both are read). A
score is only ever read from the row that holds its own statement's number or ref, and rows
out of the downloaded order are refused.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from service.documents.checklist import LAYOUT_ID
from service.errors import FileRejectedError, Problem, RejectionReason
from service.intake.text_rules import FORBIDDEN_CONTROL, normalise_line_breaks
from service.messages import Message, Quoted, message

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
    # The network's organisations by ref, so a wrong organisation's file names both by name.
    organisation_names: Mapping[str, str] = field(default_factory=dict, hash=False)

    def name_of(self, organisation_ref: str) -> Message | str | Quoted:
        """An organisation as people call it; its ref quoted if the network has no such one."""
        return self.organisation_names.get(organisation_ref) or Quoted(organisation_ref)


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
                [Problem.of(WORKBOOK, message("checklist.not_benchdocs"))],
            )
        found[-1] = replace(found[-1], identity=replace(found[-1].identity, is_last=True))
        return cls(found)

    def read_scores(self, expected: ExpectedChecklist) -> list[ReadScore]:
        """Every expected question's score and comment on the round's sheet, or every problem."""
        sheet = self._sheet_for(expected.round_ref)
        problems = _identity_problems(sheet, expected)
        if sheet.identity.layout != LAYOUT_ID or sheet.identity.organisation_ref != (
            expected.organisation_ref
        ):
            # Another layout or another organisation's file: its rows say nothing more.
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
                problems.append(Problem.of(score_cell, score_problem))
            if comment_problem:
                problems.append(Problem.of(comment_cell, comment_problem))
            scores.append(ReadScore(ref, value, comment, score_cell))
        if problems:
            raise FileRejectedError(RejectionReason.CONTENT, problems)
        return scores

    def _sheet_for(self, round_ref: str) -> _Sheet:
        matches = [s for s in self._sheets if s.identity.round_ref == round_ref]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            others = tuple(dict.fromkeys(s.identity.round_ref or "''" for s in self._sheets))
            text = message("checklist.no_round_sheet", round=Quoted(round_ref), found=others)
        else:
            text = message(
                "checklist.round_sheets_twice",
                count=len(matches),
                round=Quoted(round_ref),
                titles=tuple(Quoted(s.identity.sheet) for s in matches),
            )
        raise FileRejectedError(RejectionReason.CONTENT, [Problem.of(WORKBOOK, text)])


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
                            Problem.of(
                                WORKBOOK,
                                message(
                                    "checklist.too_many_sheets",
                                    count=str(len(workbook.worksheets)),
                                    max=str(MAX_SHEETS),
                                ),
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
            [Problem.of(WORKBOOK, message("checklist.xml_entities"))],
        ) from exc
    except Exception as exc:  # openpyxl fails on broken parts in many ways; each means corrupt
        raise FileRejectedError(
            RejectionReason.CORRUPT,
            [Problem.of(WORKBOOK, message("checklist.unreadable", error=type(exc).__name__))],
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
        text = message(
            "checklist.other_layout", layout=Quoted(identity.layout), expected=Quoted(LAYOUT_ID)
        )
        return [Problem.of(at(0), text)]
    if identity.organisation_ref != expected.organisation_ref:
        # Named by both organisations' names, at the file: the hidden cell means nothing
        # to the participant.
        text = message(
            "checklist.other_organisation",
            found=expected.name_of(identity.organisation_ref),
            expected=expected.name_of(expected.organisation_ref),
        )
        return [Problem.of(WORKBOOK, text)]
    problems = []
    found = (identity.scale_min, identity.scale_max)
    if found != (expected.scale_min, expected.scale_max):
        shown = "–".join("?" if v is None else str(v) for v in found)
        text = message(
            "checklist.other_scale",
            found=shown,
            low=str(expected.scale_min),
            high=str(expected.scale_max),
        )
        problems.append(
            Problem.of(at(4) if identity.scale_min != expected.scale_min else at(5), text)
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
    typed = {r: _plain_text(c) for (r, col), c in sheet.grid.items() if col == block.ref_column}
    column, shown = _as_refs(typed, refs)
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
                typed=typed,
                shown=shown,
            )
            return rows, extra

    found_rows = [row for ref in refs for row in positions.get(ref, [])]
    if block.first_row is not None:
        start = block.first_row
    elif found_rows:
        start = min(found_rows)
    else:
        start = sheet.layout_cell[0] + FIRST_QUESTION_BELOW_LAYOUT
    rows = {ref: positions[ref][0] for ref in refs if len(positions.get(ref, [])) == 1}
    shifted = _shift_problems(
        column, refs, title=title, letter=letter, start=start, typed=typed, shown=shown
    )
    if shifted is not None:
        return rows, shifted
    problems = []
    for i, ref in enumerate(refs):
        row = start + i
        found = column.get(row, "")
        if found == ref:
            continue
        elsewhere = tuple(f"{letter}{r}" for r in positions.get(ref, []) if r != row)
        where = (
            message("checklist.ref_elsewhere", ref=shown[ref], cells=elsewhere)
            if elsewhere
            else message("checklist.ref_nowhere", ref=shown[ref], column=letter)
        )
        text = message(
            "checklist.row_moved",
            ref=shown[ref],
            found=Quoted(typed[row]) if found else message("checklist.empty_cell"),
            where=where,
        )
        problems.append(Problem.of(f"{title}!{letter}{row}", text))
    problems += _extra_rows(
        column,
        title,
        letter,
        after=start + len(refs) - 1,
        named_end=block.last_row,
        rows={ref: start + i for i, ref in enumerate(refs)},
        in_order=False,
        typed=typed,
        shown=shown,
    )
    return rows, problems


def _as_refs(typed: dict[int, str], refs: tuple[str, ...]) -> tuple[dict[int, str], dict[str, str]]:
    """The Nr column as question refs, and each ref as the column shows it.

    A file made before statements were numbered holds the refs themselves ("Q14"); a newer
    one holds each statement's number in checklist order ("14"), which stands for the ref
    at that place. Numbers are read as such only when the column holds no ref at all, so a
    checklist whose refs look like numbers is still matched by its refs.
    """
    if not refs or set(typed.values()) & set(refs):
        return dict(typed), {ref: ref for ref in refs}
    by_number = {str(number): ref for number, ref in enumerate(refs, 1)}
    column = {row: by_number.get(text, text) for row, text in typed.items()}
    return column, {ref: number for number, ref in by_number.items()}


def _shift_problems(
    column: dict[int, str],
    refs: tuple[str, ...],
    *,
    title: str,
    letter: str,
    start: int,
    typed: dict[int, str],
    shown: dict[str, str],
) -> list[Problem] | None:
    """One problem per deleted or added row when that is all that happened; else None.

    A deleted row moves every row below it up by one; told row by row, that would be one
    problem per question below it. When the refs found, in order, are the checklist's with
    rows left out or added (and no question moved), each deleted or added row is named once.
    """
    # The block ends at its last question; what follows it is told by ``_extra_rows``.
    stop = max((r for r in column if column[r] in refs and r >= start), default=start - 1)
    sequence = [(row, column.get(row, "")) for row in range(start, stop + 1)]
    texts = [text for _, text in sequence]
    opcodes = SequenceMatcher(None, refs, texts, autojunk=False).get_opcodes()
    if any(tag == "replace" for tag, *_ in opcodes):
        return None  # rows moved, sorted or overwritten: told row by row
    inserted = [t for tag, _, _, j1, j2 in opcodes if tag == "insert" for t in texts[j1:j2]]
    if any(t in refs for t in inserted):
        return None  # a question moved or copied
    problems: list[Problem] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "delete":
            for i in range(i1, i2):
                text = message(
                    "checklist.row_missing",
                    row=str(start + i),
                    number=str(i + 1),
                    ref=refs[i],
                )
                problems.append(Problem.of(f"{title}!{letter}{start + i}", text))
        elif tag == "insert":
            for row, found in sequence[j1:j2]:
                cell = Quoted(typed[row]) if found else message("checklist.empty_cell")
                text = message("checklist.row_inserted", found=cell)
                problems.append(Problem.of(f"{title}!{letter}{row}", text))
    return problems


def _extra_rows(
    column: dict[int, str],
    title: str,
    letter: str,
    *,
    after: int,
    named_end: int | None,
    rows: dict[str, int],
    in_order: bool,
    typed: dict[int, str],
    shown: dict[str, str],
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
            text = message("checklist.row_twice", ref=shown[found], first=f"{letter}{rows[found]}")
            problems.append(Problem.of(location, text))
        elif found and found not in rows:
            text = message(
                "checklist.row_not_a_question", found=Quoted(typed[row]), last=f"{letter}{after}"
            )
            problems.append(Problem.of(location, text))
        row += 1
    return problems


# -- cell values ---------------------------------------------------------------------------


def _score(cell: _Cell | None, expected: ExpectedChecklist) -> tuple[int | None, Message | None]:
    """A cell's whole number on the scale, None when empty; or what is wrong with it."""
    low, high = str(expected.scale_min), str(expected.scale_max)
    hint = message("checklist.score_hint", low=low, high=high)

    def wrong(code: str, value: str | Quoted) -> tuple[None, Message]:
        return None, message(code, value=value, hint=hint)

    if cell is None:
        return None, None
    value = cell.value
    if cell.data_type == "f":
        formula = str(getattr(value, "text", value))
        return None, message(
            "checklist.score_formula", formula=Quoted(_short(formula)), low=low, high=high
        )
    if cell.data_type == "e":
        return wrong("checklist.score_error_value", str(value))
    if isinstance(value, bool):
        return wrong("checklist.score_yes_no", str(value).upper())
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return wrong("checklist.score_date", _shown_date(value))
    number: Decimal
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, None
        if not (_WHOLE.fullmatch(text) or _DECIMAL.fullmatch(text)):
            return wrong("checklist.score_not_a_score", Quoted(_short(text)))
        number = Decimal(text.replace(",", "."))
        if number != number.to_integral_value():
            return wrong("checklist.score_not_whole", Quoted(text))
    elif isinstance(value, int | float):
        try:
            number = Decimal(value)
            whole_number = number == number.to_integral_value()
        except (InvalidOperation, ValueError):  # NaN and infinity cannot come from a cell
            return wrong("checklist.score_not_a_score", str(value))
        if not whole_number:
            return wrong("checklist.score_not_whole", str(value))
    else:
        return wrong("checklist.score_not_a_score", Quoted(_short(str(value))))
    whole = int(number)
    if not expected.scale_min <= whole <= expected.scale_max:
        return None, message(
            "checklist.score_outside_scale", value=str(whole), low=low, high=high, hint=hint
        )
    return whole, None


def _comment(cell: _Cell | None) -> tuple[str | None, Message | None]:
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
    text = normalise_line_breaks(text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        return None, None
    if control := FORBIDDEN_CONTROL.search(text):
        return None, message(
            "checklist.comment_control",
            char=f"U+{ord(control.group()):04X}",
            position=str(control.start()),
        )
    if len(text) > MAX_COMMENT_CHARS:
        return None, message("checklist.comment_too_long", length=len(text), max=MAX_COMMENT_CHARS)
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
