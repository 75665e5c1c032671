"""A1 references in formulas and ranges: read them, move them, write them back.

One scanner serves cell formulas, conditional formats, validations, defined names, merged cells
and chart series: a formula is split into literal text and references (``Formula``), and each
reference is printed again wherever the rows and columns it names have moved.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.engines.xlsx_engine.spreadsheetml import MAX_COL, MAX_ROW


def col_index(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def col_letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    return f"{col_letters(col)}{row}"


@dataclass(frozen=True)
class Ref:
    """One reference in a formula: a cell, an area, whole columns or whole rows."""

    sheet: str | None  # the sheet's name (unquoted); None for the formula's own sheet
    sheet_text: str  # the sheet prefix as written, with its '!' ('' when none)
    kind: str  # "cell", "area", "cols" or "rows"
    c1: int
    r1: int
    c2: int
    r2: int
    fixed: tuple[bool, bool, bool, bool]  # '$' before c1, r1, c2, r2


CELL_PART = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})")
_COL_PART = re.compile(r"(\$?)([A-Za-z]{1,3})")
_ROW_PART = re.compile(r"(\$?)([0-9]{1,7})")
_QUOTED_SHEET = r"'(?:[^']|'')+'"
_PLAIN_SHEET = r"[^\W\d][\w.]*"
_CELL_TEXT = r"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}"
_FORMULA_TOKEN = re.compile(
    r'(?P<string>"(?:[^"]|"")*")'
    r"|(?P<bracket>\[[^\]]*\])"
    r"|(?<![\w.$'!:#\]])"
    rf"(?P<ref>(?:(?P<sheet>{_QUOTED_SHEET}|{_PLAIN_SHEET})!)?"
    rf"(?P<body>{_CELL_TEXT}(?::{_CELL_TEXT})?"
    r"|\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}"
    r"|\$?[0-9]{1,7}:\$?[0-9]{1,7}))"
    r"(?![\w.(!:$])",
    re.S,
)


def _parse_ref_body(body: str) -> tuple[str, int, int, int, int, tuple[bool, ...]] | None:
    """``$A$1:B2`` -> ("area", c1, r1, c2, r2, fixed); None if it is not a valid reference."""
    parts = body.split(":")
    cells = [CELL_PART.fullmatch(p) for p in parts]
    if all(cells) and len(parts) in (1, 2):
        (a, b) = (cells[0], cells[-1])
        assert a is not None and b is not None
        c1, r1, c2, r2 = col_index(a[2]), int(a[4]), col_index(b[2]), int(b[4])
        fixed = (bool(a[1]), bool(a[3]), bool(b[1]), bool(b[3]))
        kind = "cell" if len(parts) == 1 else "area"
    elif len(parts) == 2 and all(_COL_PART.fullmatch(p) for p in parts):
        a, b = (_COL_PART.fullmatch(p) for p in parts)
        assert a is not None and b is not None
        c1, r1, c2, r2 = col_index(a[2]), 1, col_index(b[2]), MAX_ROW
        fixed = (bool(a[1]), False, bool(b[1]), False)
        kind = "cols"
    elif len(parts) == 2 and all(_ROW_PART.fullmatch(p) for p in parts):
        a, b = (_ROW_PART.fullmatch(p) for p in parts)
        assert a is not None and b is not None
        c1, r1, c2, r2 = 1, int(a[2]), MAX_COL, int(b[2])
        fixed = (False, bool(a[1]), False, bool(b[1]))
        kind = "rows"
    else:
        return None
    if not (min(c1, c2) >= 1 and max(c1, c2) <= MAX_COL and min(r1, r2) >= 1):
        return None
    if max(r1, r2) > MAX_ROW:
        return None
    if c1 > c2:
        c1, c2, fixed = c2, c1, (fixed[2], fixed[1], fixed[0], fixed[3])
    if r1 > r2:
        r1, r2, fixed = r2, r1, (fixed[0], fixed[3], fixed[2], fixed[1])
    return kind, c1, r1, c2, r2, fixed


def _unquote_sheet(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def quote_sheet(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and not re.fullmatch(
        r"(?i)[a-z]{1,3}[0-9]+|r[0-9]*(c[0-9]*)?|c[0-9]*|true|false", name
    ):
        return name
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class Formula:
    """A formula split into literal text and references."""

    pieces: tuple[str | Ref, ...]

    @property
    def refs(self) -> list[Ref]:
        return [p for p in self.pieces if isinstance(p, Ref)]

    def render(self, resolve: Callable[[Ref], str]) -> str:
        return "".join(p if isinstance(p, str) else resolve(p) for p in self.pieces)

    def translated(self, rows: int, cols: int) -> str:
        """The formula as Excel would write it ``rows`` down and ``cols`` right (shared)."""

        def move(ref: Ref) -> str:
            c1 = ref.c1 if ref.fixed[0] else ref.c1 + cols
            r1 = ref.r1 if ref.fixed[1] else ref.r1 + rows
            c2 = ref.c2 if ref.fixed[2] else ref.c2 + cols
            r2 = ref.r2 if ref.fixed[3] else ref.r2 + rows
            return ref.sheet_text + ref_body(ref.kind, c1, r1, c2, r2, ref.fixed)

        return self.render(move)


@functools.lru_cache(maxsize=8192)
def parse_formula(text: str) -> Formula:
    """Split a formula (without its leading ``=``) into literal text and references."""
    pieces: list[str | Ref] = []
    position = 0
    for match in _FORMULA_TOKEN.finditer(text):
        if match.group("ref") is None:
            continue
        parsed = _parse_ref_body(match.group("body"))
        if parsed is None:
            continue
        kind, c1, r1, c2, r2, fixed = parsed
        sheet_text = match.group("sheet")
        pieces.append(text[position : match.start()])
        pieces.append(
            Ref(
                sheet=None if sheet_text is None else _unquote_sheet(sheet_text),
                sheet_text="" if sheet_text is None else sheet_text + "!",
                kind=kind,
                c1=c1,
                r1=r1,
                c2=c2,
                r2=r2,
                fixed=(fixed[0], fixed[1], fixed[2], fixed[3]),
            )
        )
        position = match.end()
    pieces.append(text[position:])
    return Formula(tuple(p for p in pieces if p != ""))


def ref_body(kind: str, c1: int, r1: int, c2: int, r2: int, fixed: Sequence[bool]) -> str:
    def col(c: int, f: bool) -> str:
        return ("$" if f else "") + col_letters(c)

    def row(r: int, f: bool) -> str:
        return ("$" if f else "") + str(r)

    if kind == "cell":
        return col(c1, fixed[0]) + row(r1, fixed[1])
    if kind == "cols":
        return f"{col(c1, fixed[0])}:{col(c2, fixed[2])}"
    if kind == "rows":
        return f"{row(r1, fixed[1])}:{row(r2, fixed[3])}"
    return f"{col(c1, fixed[0])}{row(r1, fixed[1])}:{col(c2, fixed[2])}{row(r2, fixed[3])}"


def parse_area(text: str) -> Ref | None:
    """One range of an ``sqref`` or ``ref`` attribute, as an area."""
    parsed = _parse_ref_body(text.strip())
    if parsed is None:
        return None
    kind, c1, r1, c2, r2, fixed = parsed
    return Ref(None, "", kind, c1, r1, c2, r2, (fixed[0], fixed[1], fixed[2], fixed[3]))


def area_text(c1: int, r1: int, c2: int, r2: int) -> str:
    if (c1, r1) == (c2, r2):
        return cell_name(r1, c1)
    return f"{cell_name(r1, c1)}:{cell_name(r2, c2)}"
