"""A pure xlsx template engine working on the workbook's XML parts.

Why XML and not openpyxl: openpyxl drops the charts and images of a workbook it loads and saves,
and rewrites what it does not model (x14 extensions, some drawing and print settings). An
organiser's template must come back with everything it had. So the engine parses the sheets,
drawings and charts once with lxml; ``render`` writes only the parts it changes (the sheets, their
drawings and charts, the workbook, its relationships and content types); every other member is
copied byte for byte. The price is reference shifting done here: one A1-reference scanner serves
cell formulas, conditional formats, validations, defined names, merged cells and chart series.

Template conventions (all evaluated in a sandboxed, strict Jinja environment):

- ``{{ expr }}`` in any text cell. A cell that is exactly one tag gets the value's type: numbers
  stay numbers, dates and times become date serials (format the cell as a date), booleans stay
  booleans, None leaves the cell empty with its style. Any other text renders to a string.
  Values are always written as text cells, never as formulas, and never parsed as templates.
- Row loop: a row whose first non-empty cell reads ``{%tr for x in items %}`` and a row whose
  first cell reads ``{%tr endfor %}``; the rows between repeat per item and both marker rows
  vanish. Column loop: a cell whose text starts with ``{%tc for x in items %}`` and a cell in the
  same row whose text ends with ``{%tc endfor %}`` (the same cell is fine); those columns repeat
  per item over the whole sheet and the markers are removed from the text. Loops on one axis do
  not nest; a cell may sit in one row loop and one column loop.
- Sheet loop: a row whose first cell reads ``{%sheet for x in items %}`` repeats its sheet per
  item (the row vanishes; no items removes the sheet). A tag in a sheet's tab name (such as
  ``{{ x.tab }}``) names it from data; names are cleaned to Excel's rules and made unique.
- Rows and columns that loops insert or remove move everything after them, as inserting rows in
  Excel would: formulas on every sheet, conditional formatting, data validation, merged cells,
  hyperlinks, defined names (print titles, named ranges), frozen panes, drawing anchors and
  chart series. A range that spans a loop, its marker rows included (``=SUM(D7:D9)`` around
  body row 8), grows with it; a reference from inside a repeated row to the same row stays in
  the copy. A single-cell reference into a loop from outside points at the first copy; what an
  empty loop removes becomes ``#REF!``.
- A chart series whose values lie in a repeated column (or row) is repeated per item; the last
  copy keeps the series' colours and earlier ones get lighter shades of them. Chart titles and
  a drawing's alt text (``descr``) may hold tags.
- Tags also work in data-validation messages (cut to Excel's 255/32 characters), in the print
  header and footer (``&`` in values is escaped), and in the tab name.
- Rows whose height was not set by hand get one that fits their wrapped text (estimated from
  the font size and column width): Excel and LibreOffice keep stored heights when opening.
- Not supported: Excel tables (ListObjects) in sheets with loops (a TemplateError), formulas
  that are themselves templated, 3-D references, comments or notes moving with rows, and
  charts on chart sheets following loops (chart sheets are copied as they are).

Formula results are not computed: the workbook is marked for full recalculation on load, so
Excel and LibreOffice show them; chart caches are rebuilt from the rendered values. Static
cells keep their shared strings; rendered text is written as inline strings. ``render`` gives
the same bytes for the same context: member order is stable and zip times are fixed.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import math
import posixpath
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jinja2
from lxml import etree  # type: ignore[import-untyped]

from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import (
    NO_FILTERS,
    Filters,
    make_environment,
    plain_text,
)
from service.engines.opc import (
    OFFICE_DOCUMENT,
    PARSER,
    RELATIONSHIP_TYPES,
    Package,
    Relationship,
    ZipEntry,
    rels_name,
    rels_xml,
    write_zip,
    xml_bytes,
)
from service.engines.safe_text import xml_safe
from service.engines.tags import (
    ROW_ENDFOR,
    ROW_FOR,
    Expression,
    Loop,
    TagCompiler,
    Trail,
    element_path,
    evaluate,
    follow,
    loop_items,
    render_error,
    render_text,
)
from service.errors import RenderError, TemplateError

__all__ = ["XlsxTemplate", "xlsx_spots"]

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_M = f"{{{_MAIN_NS}}}"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_R_ID = f"{{{_R_NS}}}id"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

_REL = RELATIONSHIP_TYPES
_RT_EXTENDED_PROPERTIES = _REL + "extended-properties"
_RT_WORKSHEET = _REL + "worksheet"
_RT_SHARED_STRINGS = _REL + "sharedStrings"
_RT_STYLES = _REL + "styles"
_RT_CALC_CHAIN = _REL + "calcChain"
_RT_DRAWING = _REL + "drawing"
_RT_CHART = _REL + "chart"
_RT_TABLE = _REL + "table"
# Parts a sheet owns: a copied sheet gets copies of them. Others (images, styles) are shared.
_OWNED_RELTYPES = frozenset(
    {
        _RT_DRAWING,
        _RT_CHART,
        _REL + "comments",
        _REL + "vmlDrawing",
        _REL + "printerSettings",
        _REL + "chartUserShapes",
        _REL + "themeOverride",
        "http://schemas.microsoft.com/office/2011/relationships/chartStyle",
        "http://schemas.microsoft.com/office/2011/relationships/chartColorStyle",
    }
)


_MAX_ROW = 1_048_576
_MAX_COL = 16_384
_MAX_CELL_TEXT = 32_767
# Excel's limits for data-validation texts (MS-OI29500 2.1.613).
_DV_TEXT_LIMITS = {"prompt": 255, "promptTitle": 32, "error": 224, "errorTitle": 32}
_HEADER_FOOTER_TAGS = tuple(
    _M + tag
    for tag in ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter")
)

_SHEET_FOR = re.compile(r"\{%-?\s*sheet\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_COL_FOR = re.compile(r"\s*\{%-?\s*tc\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_COL_ENDFOR = re.compile(r"\{%-?\s*tc\s+endfor\s*-?%\}\s*$")
_TAG_START = re.compile(r"\{[{%#]")
_TAG_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_SINGLE_TAG = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}\s*", re.S)
# Office and LibreOffice autocorrect may turn quotes typed inside a tag into typographic ones.
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'"})
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


# -- A1 references ----------------------------------------------------------------------------


def _col_index(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def _col_letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_name(row: int, col: int) -> str:
    return f"{_col_letters(col)}{row}"


@dataclass(frozen=True)
class _Ref:
    """One reference in a formula: a cell, an area, whole columns or whole rows."""

    sheet: str | None  # the sheet's name (unquoted); None for the formula's own sheet
    sheet_text: str  # the sheet prefix as written, with its '!' ('' when none)
    kind: str  # "cell", "area", "cols" or "rows"
    c1: int
    r1: int
    c2: int
    r2: int
    fixed: tuple[bool, bool, bool, bool]  # '$' before c1, r1, c2, r2


_CELL_PART = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})")
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
    cells = [_CELL_PART.fullmatch(p) for p in parts]
    if all(cells) and len(parts) in (1, 2):
        (a, b) = (cells[0], cells[-1])
        assert a is not None and b is not None
        c1, r1, c2, r2 = _col_index(a[2]), int(a[4]), _col_index(b[2]), int(b[4])
        fixed = (bool(a[1]), bool(a[3]), bool(b[1]), bool(b[3]))
        kind = "cell" if len(parts) == 1 else "area"
    elif len(parts) == 2 and all(_COL_PART.fullmatch(p) for p in parts):
        a, b = (_COL_PART.fullmatch(p) for p in parts)
        assert a is not None and b is not None
        c1, r1, c2, r2 = _col_index(a[2]), 1, _col_index(b[2]), _MAX_ROW
        fixed = (bool(a[1]), False, bool(b[1]), False)
        kind = "cols"
    elif len(parts) == 2 and all(_ROW_PART.fullmatch(p) for p in parts):
        a, b = (_ROW_PART.fullmatch(p) for p in parts)
        assert a is not None and b is not None
        c1, r1, c2, r2 = 1, int(a[2]), _MAX_COL, int(b[2])
        fixed = (False, bool(a[1]), False, bool(b[1]))
        kind = "rows"
    else:
        return None
    if not (min(c1, c2) >= 1 and max(c1, c2) <= _MAX_COL and min(r1, r2) >= 1):
        return None
    if max(r1, r2) > _MAX_ROW:
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


def _quote_sheet(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and not re.fullmatch(
        r"(?i)[a-z]{1,3}[0-9]+|r[0-9]*(c[0-9]*)?|c[0-9]*|true|false", name
    ):
        return name
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Formula:
    """A formula split into literal text and references."""

    pieces: tuple[str | _Ref, ...]

    @property
    def refs(self) -> list[_Ref]:
        return [p for p in self.pieces if isinstance(p, _Ref)]

    def render(self, resolve: Callable[[_Ref], str]) -> str:
        return "".join(p if isinstance(p, str) else resolve(p) for p in self.pieces)

    def translated(self, rows: int, cols: int) -> str:
        """The formula as Excel would write it ``rows`` down and ``cols`` right (shared)."""

        def move(ref: _Ref) -> str:
            c1 = ref.c1 if ref.fixed[0] else ref.c1 + cols
            r1 = ref.r1 if ref.fixed[1] else ref.r1 + rows
            c2 = ref.c2 if ref.fixed[2] else ref.c2 + cols
            r2 = ref.r2 if ref.fixed[3] else ref.r2 + rows
            return ref.sheet_text + _ref_body(ref.kind, c1, r1, c2, r2, ref.fixed)

        return self.render(move)


@functools.lru_cache(maxsize=8192)
def _parse_formula(text: str) -> _Formula:
    """Split a formula (without its leading ``=``) into literal text and references."""
    pieces: list[str | _Ref] = []
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
            _Ref(
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
    return _Formula(tuple(p for p in pieces if p != ""))


def _ref_body(kind: str, c1: int, r1: int, c2: int, r2: int, fixed: Sequence[bool]) -> str:
    def col(c: int, f: bool) -> str:
        return ("$" if f else "") + _col_letters(c)

    def row(r: int, f: bool) -> str:
        return ("$" if f else "") + str(r)

    if kind == "cell":
        return col(c1, fixed[0]) + row(r1, fixed[1])
    if kind == "cols":
        return f"{col(c1, fixed[0])}:{col(c2, fixed[2])}"
    if kind == "rows":
        return f"{row(r1, fixed[1])}:{row(r2, fixed[3])}"
    return f"{col(c1, fixed[0])}{row(r1, fixed[1])}:{col(c2, fixed[2])}{row(r2, fixed[3])}"


def _parse_area(text: str) -> _Ref | None:
    """One range of an ``sqref`` or ``ref`` attribute, as an area."""
    parsed = _parse_ref_body(text.strip())
    if parsed is None:
        return None
    kind, c1, r1, c2, r2, fixed = parsed
    return _Ref(None, "", kind, c1, r1, c2, r2, (fixed[0], fixed[1], fixed[2], fixed[3]))


# -- where template rows and columns land ------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """Template indices that do not map one to one: a removed marker or a loop body."""

    start: int
    end: int
    loop: int | None  # loop id; None for a removed index
    base: int  # output index of the first copy, or of whatever follows a removed index
    count: int
    delta_after: int


Ctx = Mapping[int, int]  # loop id -> copy number, for the loops a reference is made from


class _AxisMap:
    """Where each template row (or column) of one rendered sheet ends up."""

    def __init__(
        self,
        *,
        removed: Sequence[int],
        bodies: Sequence[tuple[int, int, int]],  # (loop id, first, last)
        counts: Mapping[int, int],
        limit: int,
    ) -> None:
        spans = sorted(
            [(i, i, None) for i in removed] + [(first, last, lid) for lid, first, last in bodies],
            key=lambda span: span[0],
        )
        delta = 0
        segments: list[_Segment] = []
        for start, end, lid in spans:
            base = start + delta
            count = 0 if lid is None else counts[lid]
            delta += -1 if lid is None else (count - 1) * (end - start + 1)
            segments.append(_Segment(start, end, lid, base, count, delta))
        self._segments = segments
        self._starts = [s.start for s in segments]
        self._by_loop = {s.loop: s for s in segments if s.loop is not None}
        self._limit = limit

    def _find(self, index: int) -> tuple[_Segment | None, int]:
        position = bisect_right(self._starts, index) - 1
        if position < 0:
            return None, 0
        segment = self._segments[position]
        if index <= segment.end:
            return segment, 0
        return None, segment.delta_after

    def _ok(self, index: int) -> int | None:
        return index if 1 <= index <= self._limit else None

    def copy(self, loop: int, index: int, number: int) -> int:
        """Output index of template ``index`` (in the body of ``loop``) in copy ``number``."""
        s = self._by_loop[loop]
        return s.base + number * (s.end - s.start + 1) + index - s.start

    def single(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return None
        number = min(ctx.get(segment.loop, 0), segment.count - 1)
        return self._ok(self.copy(segment.loop, index, number))

    def start(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return self._ok(segment.base)
        return self._ok(self.copy(segment.loop, index, ctx.get(segment.loop, 0)))

    def end(self, index: int, ctx: Ctx) -> int | None:
        segment, delta = self._find(index)
        if segment is None:
            return self._ok(index + delta)
        if segment.loop is None or segment.count == 0:
            return self._ok(segment.base - 1) if segment.base > 1 else None
        number = ctx.get(segment.loop, segment.count - 1)
        return self._ok(self.copy(segment.loop, index, number))

    def loop_around(self, first: int, last: int) -> int | None:
        """The loop whose body holds all of ``first..last``, if any."""
        segment, _ = self._find(first)
        if segment is not None and segment.loop is not None and last <= segment.end:
            return segment.loop
        return None

    def count(self, loop: int) -> int:
        return self._by_loop[loop].count


def _map_area(
    ref: _Ref, rows: _AxisMap, cols: _AxisMap, rctx: Ctx, cctx: Ctx
) -> tuple[int, int, int, int] | None:
    """(c1, r1, c2, r2) of a reference after rendering; None when it no longer exists."""
    if ref.kind == "cell":
        r = rows.single(ref.r1, rctx)
        c = cols.single(ref.c1, cctx)
        return None if r is None or c is None else (c, r, c, r)
    c1, c2 = ref.c1, ref.c2
    r1, r2 = ref.r1, ref.r2
    if ref.kind != "rows":
        c1_, c2_ = cols.start(ref.c1, cctx), cols.end(ref.c2, cctx)
        if c1_ is None or c2_ is None or c1_ > c2_:
            return None
        c1, c2 = c1_, c2_
    if ref.kind != "cols":
        r1_, r2_ = rows.start(ref.r1, rctx), rows.end(ref.r2, rctx)
        if r1_ is None or r2_ is None or r1_ > r2_:
            return None
        r1, r2 = r1_, r2_
    return c1, r1, c2, r2


def _map_ref_text(ref: _Ref, rows: _AxisMap, cols: _AxisMap, rctx: Ctx, cctx: Ctx) -> str | None:
    area = _map_area(ref, rows, cols, rctx, cctx)
    if area is None:
        return None
    return _ref_body(ref.kind, *area, ref.fixed)


# -- reading the package ---------------------------------------------------------------------


@dataclass(frozen=True)
class _SheetEntry:
    """A sheet as the workbook lists it."""

    name: str
    sheet_id: str
    rid: str
    part: str
    state: str | None
    index: int


@dataclass(frozen=True)
class _SharedString:
    text: str
    first_rpr: Any  # the first run's properties of a rich-text string, or None


def _sheet_entries(package: Package) -> tuple[str, Any, list[_SheetEntry]]:
    """The workbook part, its XML and its sheets."""
    office = [r for r in package.rels("") if r.reltype == OFFICE_DOCUMENT]
    if not office:
        raise TemplateError(f"{package.name}: no workbook in the file")
    workbook_part = office[0].target
    root = package.xml(workbook_part)
    if root.tag.startswith(f"{{{_STRICT_MAIN_NS}}}"):
        raise TemplateError(f"{package.name}: Strict Open XML is not supported; save as .xlsx")
    rels = {r.rid: r for r in package.rels(workbook_part)}
    entries = []
    sheets = root.find(f"{_M}sheets")
    for index, sheet in enumerate([] if sheets is None else sheets, 0):
        rel = rels.get(sheet.get(_R_ID, ""))
        if rel is None or rel.reltype != _RT_WORKSHEET:
            continue  # chart sheets and dialog sheets are copied as they are
        entries.append(
            _SheetEntry(
                sheet.get("name", ""),
                sheet.get("sheetId", ""),
                rel.rid,
                rel.target,
                sheet.get("state"),
                index,
            )
        )
    if not entries:
        raise TemplateError(f"{package.name}: the workbook has no worksheet")
    return workbook_part, root, entries


def _shared_strings(package: Package, workbook_part: str) -> list[_SharedString]:
    part = next(
        (r.target for r in package.rels(workbook_part) if r.reltype == _RT_SHARED_STRINGS), None
    )
    if part is None or part not in package.members:
        return []
    strings = []
    for si in package.xml(part).iterchildren(f"{_M}si"):
        runs = list(si.iterchildren(f"{_M}r"))
        if runs:
            text = "".join(r.findtext(f"{_M}t") or "" for r in runs)
            strings.append(_SharedString(text, runs[0].find(f"{_M}rPr")))
        else:
            strings.append(_SharedString(si.findtext(f"{_M}t") or "", None))
    return strings


@dataclass(frozen=True)
class _Styles:
    """What row heights depend on: per cell format, whether it wraps and its font."""

    wrap: tuple[bool, ...]
    fonts: tuple[tuple[float, bool], ...]  # (size in points, bold)

    def fit(self, style: str | None, width: float) -> tuple[float, float] | None:
        """(characters per line, line height) for wrapped text in a column ``width`` wide."""
        index = int(style) if style and style.isdigit() else 0
        if index >= len(self.wrap) or not self.wrap[index]:
            return None
        size, bold = self.fonts[index]
        # Column widths count '0' digits of the 11 pt default font; text runs about 1.1 to 1.3
        # characters per digit width, bold a little less. Erring low costs a blank line.
        per_line = max(1.0, width * 1.1 * 11 / size * (0.9 if bold else 1.0) - 1)
        return per_line, size * 1.3 + 0.5


def _styles(package: Package, workbook_part: str) -> _Styles:
    part = next((r.target for r in package.rels(workbook_part) if r.reltype == _RT_STYLES), None)
    if part is None or part not in package.members:
        return _Styles((), ())
    root = package.xml(part)
    fonts = []
    for font in root.iterfind(f"{_M}fonts/{_M}font"):
        size = font.find(f"{_M}sz")
        bold = font.find(f"{_M}b")
        fonts.append(
            (
                float(size.get("val", "11")) if size is not None else 11.0,
                bold is not None and bold.get("val", "1") not in ("0", "false"),
            )
        )
    wrap: list[bool] = []
    xf_fonts: list[tuple[float, bool]] = []
    for xf in root.iterfind(f"{_M}cellXfs/{_M}xf"):
        alignment = xf.find(f"{_M}alignment")
        wrap.append(alignment is not None and alignment.get("wrapText", "0") in ("1", "true"))
        font_id = int(xf.get("fontId", "0") or 0)
        xf_fonts.append(fonts[font_id] if font_id < len(fonts) else (11.0, False))
    return _Styles(tuple(wrap), tuple(xf_fonts))


def _column_widths(root: Any) -> tuple[dict[int, float], float]:
    """Width of each column the sheet sets, and the default width."""
    pr = root.find(f"{_M}sheetFormatPr")
    default = 8.43
    if pr is not None and pr.get("defaultColWidth"):
        default = float(pr.get("defaultColWidth"))
    elif pr is not None and pr.get("baseColWidth"):
        default = float(pr.get("baseColWidth")) + 0.71
    widths: dict[int, float] = {}
    for col in root.iterfind(f"{_M}cols/{_M}col"):
        low, high = int(col.get("min", "1")), int(col.get("max", "1"))
        width = float(col.get("width", default))
        for index in range(low, min(high, low + 255) + 1):
            widths[index] = 0.0 if col.get("hidden") in ("1", "true") else width
    return widths, default


def _default_row_height(root: Any) -> float:
    pr = root.find(f"{_M}sheetFormatPr")
    return float(pr.get("defaultRowHeight", "15")) if pr is not None else 15.0


def _text_lines(text: str, per_line: float) -> int:
    """Lines a wrapped cell needs for ``text``, wrapping at spaces as Excel does."""
    lines = 0
    for paragraph in text.split("\n"):
        used = 0
        lines += 1
        for word in paragraph.split(" "):
            length = len(word)
            if used and used + 1 + length > per_line:
                lines += 1
                used = 0
            if length > per_line:
                lines += int(length // per_line)
                length = int(length % per_line)
            used += length + (1 if used else 0)
    return lines


# -- finding template text: shared by the parser and the template checker ----------------------


@dataclass(frozen=True)
class _FoundCell:
    """A cell of a sheet as the template holds it."""

    row: int
    col: int
    element: Any
    label: str
    source: str | None  # template text (markers stripped) if the cell holds template text
    formula: str | None  # formula text, shared formulas expanded
    value: Any  # the literal value (for chart caches)


@dataclass(frozen=True)
class _Marker:
    """A ``{%tr for %}``, ``{%tr endfor %}``, ``{%sheet for %}`` or ``{%tc ... %}`` marker."""

    kind: str  # "tr-for", "tr-endfor", "sheet-for", "tc-for", "tc-endfor"
    row: int
    col: int
    label: str
    source: str
    loop: tuple[str, str] | None = None  # (variable, items expression)


@dataclass(frozen=True)
class _FoundAttr:
    """Template text outside the cells: validation messages, header and footer, alt text."""

    path: tuple[int, ...]  # from the part's root element
    attribute: str | None  # None: the element's text
    label: str
    source: str
    header_footer: bool = False


@dataclass(frozen=True)
class _ChartScan:
    part: str
    root: Any
    texts: tuple[_FoundAttr, ...]  # a:p paragraphs with template text


@dataclass(frozen=True)
class _DrawingScan:
    part: str
    root: Any
    texts: tuple[_FoundAttr, ...]
    charts: tuple[_ChartScan, ...]


@dataclass(frozen=True)
class _SheetScan:
    entry: _SheetEntry
    root: Any
    rows: tuple[tuple[int, dict[str, str]], ...]  # every row element: (index, attributes)
    cells: tuple[_FoundCell, ...]  # cells outside marker rows, in reading order
    markers: tuple[_Marker, ...]
    attrs: tuple[_FoundAttr, ...]
    drawing: _DrawingScan | None
    has_tables: bool
    tab_source: str | None


def _has_tag(text: str) -> bool:
    return _TAG_START.search(text) is not None


def _straighten(text: str) -> str:
    """Plain quotes inside tags; text outside tags is left as typed."""
    return _TAG_SPAN.sub(lambda m: m.group(0).translate(_SMART_QUOTES), text)


def _cell_text(c: Any, strings: Sequence[_SharedString]) -> tuple[str | None, Any]:
    """(text of a string cell or None, literal value)."""
    kind = c.get("t")
    if kind == "s":
        v = c.findtext(f"{_M}v")
        try:
            text = strings[int(v or "")].text
        except (ValueError, IndexError):
            return None, None
        return text, text
    if kind == "inlineStr":
        is_ = c.find(f"{_M}is")
        if is_ is None:
            return "", ""
        runs = list(is_.iterchildren(f"{_M}r"))
        text = "".join(r.findtext(f"{_M}t") or "" for r in runs) if runs else is_.findtext(f"{_M}t")
        return text or "", text or ""
    v = c.findtext(f"{_M}v")
    if v is None:
        return None, None
    if kind == "str":
        return None, v
    if kind == "b":
        return None, v == "1"
    if kind == "e":
        return None, None
    try:
        return None, float(v)
    except ValueError:
        return None, None


def _cell_position(c: Any, row: int, previous_col: int) -> int:
    ref = c.get("r")
    if ref:
        match = _CELL_PART.fullmatch(ref)
        if match:
            return _col_index(match[2])
    return previous_col + 1


def _scan_sheet(
    package: Package, entry: _SheetEntry, strings: Sequence[_SharedString]
) -> _SheetScan:
    root = package.xml(entry.part)
    name = entry.name
    rows: list[tuple[int, dict[str, str]]] = []
    cells: list[_FoundCell] = []
    markers: list[_Marker] = []
    shared: dict[str, tuple[int, int, _Formula]] = {}
    sheet_data = root.find(f"{_M}sheetData")
    previous_row = 0
    for row_el in [] if sheet_data is None else sheet_data.iterchildren(f"{_M}row"):
        index = int(row_el.get("r") or previous_row + 1)
        previous_row = index
        attributes = {k: v for k, v in row_el.attrib.items() if k not in ("r", "spans")}
        rows.append((index, attributes))
        row_cells: list[_FoundCell] = []
        col = 0
        for c in row_el.iterchildren(f"{_M}c"):
            col = _cell_position(c, index, col)
            label = f"{name}!{_cell_name(index, col)}"
            text, value = _cell_text(c, strings)
            formula = _formula_of(c, index, col, shared)
            source = text if formula is None and text is not None and _has_tag(text) else None
            row_cells.append(_FoundCell(index, col, c, label, source, formula, value))
        first = next(
            (
                cell
                for cell in row_cells
                if cell.formula is not None or (cell.value not in (None, ""))
            ),
            None,
        )
        marker = _row_marker(first)
        if marker is not None:
            markers.append(marker)
            continue
        for cell in row_cells:
            if cell.source is None:
                cells.append(cell)
                continue
            source, found = _column_markers(cell)
            markers.extend(found)
            cells.append(
                _FoundCell(cell.row, cell.col, cell.element, cell.label, source, None, None)
            )
    attrs = _sheet_attrs(root, name)
    rels = package.rels(entry.part)
    drawing = next(
        (
            _scan_drawing(package, r.target, name)
            for r in rels
            if r.reltype == _RT_DRAWING and not r.external and r.target in package.members
        ),
        None,
    )
    has_tables = any(r.reltype == _RT_TABLE for r in rels)
    tab_source = _straighten(name) if _has_tag(name) else None
    return _SheetScan(
        entry, root, tuple(rows), tuple(cells), tuple(markers), attrs, drawing, has_tables,
        tab_source,
    )  # fmt: skip


def _formula_of(
    c: Any, row: int, col: int, shared: dict[str, tuple[int, int, _Formula]]
) -> str | None:
    f = c.find(f"{_M}f")
    if f is None:
        return None
    text = f.text or ""
    if f.get("t") == "shared":
        si = f.get("si", "")
        if text:
            shared[si] = (row, col, _parse_formula(text))
        elif si in shared:
            origin_row, origin_col, master = shared[si]
            text = master.translated(row - origin_row, col - origin_col)
    return text


def _row_marker(cell: _FoundCell | None) -> _Marker | None:
    if cell is None or cell.source is None:
        return None
    text = _straighten(cell.source).strip()
    match = ROW_FOR.fullmatch(text)
    if match:
        return _Marker("tr-for", cell.row, cell.col, cell.label, text, (match[1], match[2]))
    if ROW_ENDFOR.fullmatch(text):
        return _Marker("tr-endfor", cell.row, cell.col, cell.label, text)
    match = _SHEET_FOR.fullmatch(text)
    if match:
        return _Marker("sheet-for", cell.row, cell.col, cell.label, text, (match[1], match[2]))
    return None


def _column_markers(cell: _FoundCell) -> tuple[str, list[_Marker]]:
    """The cell's template text without column markers, and the markers."""
    source = _straighten(cell.source or "")
    found: list[_Marker] = []
    start = _COL_FOR.match(source)
    if start:
        found.append(
            _Marker("tc-for", cell.row, cell.col, cell.label, start.group(0).strip(),
                    (start[1], start[2]))
        )  # fmt: skip
        source = source[start.end() :]
    end = _COL_ENDFOR.search(source)
    if end:
        found.append(_Marker("tc-endfor", cell.row, cell.col, cell.label, end.group(0).strip()))
        source = source[: end.start()]
    return source, found


def _sheet_attrs(root: Any, name: str) -> tuple[_FoundAttr, ...]:
    found: list[_FoundAttr] = []
    for dv in root.iter(f"{_M}dataValidation", "{*}dataValidation"):
        sqref = dv.get("sqref") or dv.findtext(f"{_XM}sqref") or ""
        first = sqref.split(" ")[0].split(":")[0] if sqref else "?"
        for attribute in _DV_TEXT_LIMITS:
            value = dv.get(attribute)
            if value and _has_tag(value):
                label = f"{name}!{first} (data validation {attribute})"
                found.append(
                    _FoundAttr(element_path(root, dv), attribute, label, _straighten(value))
                )
    header_footer = root.find(f"{_M}headerFooter")
    if header_footer is not None:
        for element in header_footer:
            if element.tag in _HEADER_FOOTER_TAGS and element.text and _has_tag(element.text):
                label = f"{name} ({etree.QName(element).localname})"
                found.append(
                    _FoundAttr(
                        element_path(root, element), None, label, _straighten(element.text), True
                    )
                )
    # Iterating a set of tags would not be ordered; dedupe while keeping document order.
    unique: dict[tuple[tuple[int, ...], str | None], _FoundAttr] = {}
    for item in found:
        unique.setdefault((item.path, item.attribute), item)
    return tuple(unique.values())


def _scan_drawing(package: Package, part: str, sheet: str) -> _DrawingScan:
    root = package.xml(part)
    texts: list[_FoundAttr] = []
    for nv in root.iter(f"{_XDR}cNvPr"):
        for attribute in ("descr", "title"):
            value = nv.get(attribute)
            if value and _has_tag(value):
                label = f"{sheet}, drawing '{nv.get('name', '')}' ({attribute})"
                texts.append(
                    _FoundAttr(element_path(root, nv), attribute, label, _straighten(value))
                )
    charts = []
    for rel in package.rels(part):
        if rel.reltype == _RT_CHART and not rel.external and rel.target in package.members:
            chart_root = package.xml(rel.target)
            chart_texts = []
            for number, p in enumerate(chart_root.iter(f"{_A}p"), 1):
                source = "".join(t.text or "" for t in p.iter(f"{_A}t"))
                if _has_tag(source):
                    label = f"{sheet}, {posixpath.basename(rel.target)}, paragraph {number}"
                    chart_texts.append(
                        _FoundAttr(element_path(chart_root, p), None, label, _straighten(source))
                    )
            charts.append(_ChartScan(rel.target, chart_root, tuple(chart_texts)))
    return _DrawingScan(part, root, tuple(texts), tuple(charts))


@dataclass(frozen=True)
class _Pairing:
    row_loops: tuple[tuple[_Marker, _Marker], ...]
    col_loops: tuple[tuple[_Marker, _Marker], ...]
    sheet_loop: _Marker | None
    flaws: tuple[tuple[str, str], ...]


def _pair_markers(markers: Sequence[_Marker]) -> _Pairing:
    flaws: list[tuple[str, str]] = []
    row_loops: list[tuple[_Marker, _Marker]] = []
    open_row: _Marker | None = None
    sheet_loops = [m for m in markers if m.kind == "sheet-for"]
    for extra in sheet_loops[1:]:
        flaws.append((extra.label, "a sheet can have only one '{%sheet for %}'"))
    for marker in (m for m in markers if m.kind.startswith("tr-")):
        if marker.kind == "tr-for":
            if open_row is not None:
                flaws.append((marker.label, "row loops cannot be nested"))
            open_row = marker
        elif open_row is None:
            flaws.append((marker.label, "'{%tr endfor %}' without '{%tr for %}'"))
        else:
            row_loops.append((open_row, marker))
            open_row = None
    if open_row is not None:
        flaws.append((open_row.label, "'{%tr for %}' without '{%tr endfor %}'"))
    col_loops: list[tuple[_Marker, _Marker]] = []
    open_col: _Marker | None = None
    for marker in sorted(
        (m for m in markers if m.kind.startswith("tc-")),
        key=lambda m: (m.row, m.col, m.kind == "tc-endfor"),
    ):
        if open_col is not None and open_col.row != marker.row:
            flaws.append((open_col.label, "'{%tc for %}' without '{%tc endfor %}' in its row"))
            open_col = None
        if marker.kind == "tc-for":
            if open_col is not None:
                flaws.append((marker.label, "column loops cannot be nested"))
            open_col = marker
        elif open_col is None:
            flaws.append((marker.label, "'{%tc endfor %}' without '{%tc for %}'"))
        else:
            col_loops.append((open_col, marker))
            open_col = None
    if open_col is not None:
        flaws.append((open_col.label, "'{%tc for %}' without '{%tc endfor %}' in its row"))
    spans = sorted(col_loops, key=lambda pair: pair[0].col)
    for (a_start, a_end), (b_start, _b_end) in itertools.pairwise(spans):
        if b_start.col <= a_end.col:
            flaws.append((b_start.label, f"column loop overlaps the one at {a_start.label}"))
    return _Pairing(
        tuple(row_loops),
        tuple(col_loops),
        sheet_loops[0] if sheet_loops else None,
        tuple(flaws),
    )


def _open_workbook(data: bytes, name: str) -> tuple[Package, str, Any, list[_SheetScan]]:
    package = Package(data, name=name, kind="xlsx")
    workbook_part, workbook_root, entries = _sheet_entries(package)
    strings = _shared_strings(package, workbook_part)
    scans = [_scan_sheet(package, entry, strings) for entry in entries]
    return package, workbook_part, workbook_root, scans


def xlsx_spots(data: bytes, *, name: str) -> list[TemplateSpot]:
    """Every piece of template text in an xlsx file where the engine renders it, uncompiled.

    Cells come as their text at ``Sheet!B4`` (a cell with column markers as the markers and the
    remaining text, each at the cell); row markers as their own text; a ``{%sheet for x in
    items %}`` row as ``{{ items }}`` (as pptx hands over ``chart:EXPR``); tab names,
    validation messages, header and footer, chart titles and alt text at their own locations.
    ``loop_variables`` maps the sheet, row and column loops around each spot to their items
    expression. Raises TemplateError only for an unreadable file.
    """
    _package, _part, _root, scans = _open_workbook(data, name)
    spots: list[TemplateSpot] = []
    for scan in scans:
        pairing = _pair_markers(scan.markers)
        outer: dict[str, str] = {}
        if pairing.sheet_loop is not None and pairing.sheet_loop.loop is not None:
            var, items = pairing.sheet_loop.loop
            outer[var] = items.strip()
        if scan.tab_source is not None:
            spots.append(TemplateSpot(f"{scan.entry.name} (sheet name)", scan.tab_source, outer))
        row_owner = _row_owners(pairing.row_loops)
        col_owner = _col_owners(pairing.col_loops)
        located: list[tuple[int, int, int, TemplateSpot]] = []
        for marker in scan.markers:
            if marker.kind == "sheet-for" and marker.loop is not None:
                source = f"{{{{ {marker.loop[1].strip()} }}}}"
                located.append((marker.row, marker.col, 0, TemplateSpot(marker.label, source)))
                continue
            scope = dict(outer)
            if marker.kind.startswith("tc-"):
                scope.update(_scope_at(row_owner.get(marker.row)))
            order = 0 if marker.kind != "tc-endfor" else 2
            located.append(
                (marker.row, marker.col, order, TemplateSpot(marker.label, marker.source, scope))
            )
        for cell in scan.cells:
            if cell.source is None:
                continue
            scope = dict(outer)
            scope.update(_scope_at(row_owner.get(cell.row)))
            scope.update(_scope_at(col_owner.get(cell.col)))
            located.append((cell.row, cell.col, 1, TemplateSpot(cell.label, cell.source, scope)))
        spots.extend(spot for *_key, spot in sorted(located, key=lambda item: item[:3]))
        spots.extend(TemplateSpot(a.label, a.source, dict(outer)) for a in scan.attrs)
        if scan.drawing is not None:
            spots.extend(TemplateSpot(a.label, a.source, dict(outer)) for a in scan.drawing.texts)
            for chart in scan.drawing.charts:
                spots.extend(TemplateSpot(a.label, a.source, dict(outer)) for a in chart.texts)
    return spots


def _row_owners(loops: Sequence[tuple[_Marker, _Marker]]) -> dict[int, _Marker]:
    return {row: start for start, end in loops for row in range(start.row + 1, end.row)}


def _col_owners(loops: Sequence[tuple[_Marker, _Marker]]) -> dict[int, _Marker]:
    return {col: start for start, end in loops for col in range(start.col, end.col + 1)}


def _scope_at(marker: _Marker | None) -> dict[str, str]:
    if marker is None or marker.loop is None:
        return {}
    return {marker.loop[0]: marker.loop[1].strip()}


# -- compiled plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AxisLoop(Loop):
    """A row or column loop; ``id`` numbers the loops of one axis of one sheet."""

    id: int
    first: int  # first body row or column
    last: int


_STATIC, _FORMULA, _TEXT, _TYPED = range(4)


@dataclass(frozen=True)
class _CellPlan:
    col: int
    label: str
    kind: int
    element: Any
    style: str | None
    value: Any = None
    template: jinja2.Template | None = None
    expression: Expression | None = None
    formula: _Formula | None = None
    formula_attrib: tuple[tuple[str, str], ...] = ()
    array_ref: _Ref | None = None
    first_rpr: Any = None
    fit: tuple[float, float] | None = None  # wrapped text: (characters per line, line height)


@dataclass(frozen=True)
class _ColBlock:
    loop: _AxisLoop
    cells: tuple[_CellPlan, ...]


@dataclass(frozen=True)
class _RowPlan:
    index: int
    attrib: tuple[tuple[str, str], ...]
    blocks: tuple[_CellPlan | _ColBlock, ...]
    auto_height: float | None  # the default height if the row's height is not set by hand


@dataclass(frozen=True)
class _RowBlock:
    loop: _AxisLoop
    rows: tuple[_RowPlan, ...]


@dataclass(frozen=True)
class _TextPlan:
    path: tuple[int, ...]
    attribute: str | None
    label: str
    template: jinja2.Template
    limit: int | None = None


@dataclass(frozen=True)
class _ChartPlan:
    part: str
    root: Any
    texts: tuple[_TextPlan, ...]


@dataclass(frozen=True)
class _DrawingPlan:
    part: str
    root: Any
    texts: tuple[_TextPlan, ...]
    charts: tuple[_ChartPlan, ...]


@dataclass(frozen=True)
class _SheetPlan:
    entry: _SheetEntry
    skeleton: Any  # the sheet's XML with an empty sheetData
    tab: jinja2.Template | None
    repeat: tuple[str, Expression] | None
    blocks: tuple[_RowPlan | _RowBlock, ...]
    row_loops: tuple[_AxisLoop, ...]
    col_loops: tuple[_AxisLoop, ...]
    removed_rows: tuple[int, ...]
    texts: tuple[_TextPlan, ...]
    drawing: _DrawingPlan | None
    owned: tuple[str, ...]  # parts the sheet owns (drawing, charts, comments, ...)


class _Compiler:
    """Turns the scans of a workbook into sheet plans, compiling each tag once."""

    def __init__(
        self, name: str, strings: Sequence[_SharedString], styles: _Styles, filters: Filters
    ) -> None:
        self._tags = TagCompiler(name, make_environment(filters=filters))
        self._header_footer = make_environment(filters=filters, finalize=_header_footer_text)
        self._strings = strings
        self._styles = styles

    def sheet(self, scan: _SheetScan, owned: Sequence[str]) -> _SheetPlan:
        pairing = _pair_markers(scan.markers)
        if pairing.flaws:
            label, message = pairing.flaws[0]
            self._tags.fail(f"{label}: {message}")
        if scan.has_tables and (pairing.row_loops or pairing.col_loops or pairing.sheet_loop):
            self._tags.fail(f"{scan.entry.name}: Excel tables cannot be used in a sheet with loops")
        row_loops = tuple(
            self._loop(number, start, start.row + 1, end.row - 1)
            for number, (start, end) in enumerate(pairing.row_loops)
        )
        col_loops = tuple(
            self._loop(number, start, start.col, end.col)
            for number, (start, end) in enumerate(pairing.col_loops)
        )
        repeat = None
        if pairing.sheet_loop is not None and pairing.sheet_loop.loop is not None:
            var, items = pairing.sheet_loop.loop
            repeat = (var, self._tags.expression(items, pairing.sheet_loop.label))
        removed = tuple(
            sorted(m.row for m in scan.markers if m.kind in ("tr-for", "tr-endfor", "sheet-for"))
        )
        widths, default_width = _column_widths(scan.root)
        merged_widths: dict[tuple[int, int], float] = {}
        for merge in scan.root.iterfind(f"{_M}mergeCells/{_M}mergeCell"):
            area = _parse_area(merge.get("ref", ""))
            if area is not None and area.kind == "area" and area.r1 == area.r2:
                merged_widths[(area.r1, area.c1)] = sum(
                    widths.get(c, default_width) for c in range(area.c1, area.c2 + 1)
                )
        cells_by_row: dict[int, list[_CellPlan]] = {}
        for cell in scan.cells:
            width = merged_widths.get((cell.row, cell.col), widths.get(cell.col, default_width))
            fit = self._styles.fit(cell.element.get("s"), width)
            cells_by_row.setdefault(cell.row, []).append(self._cell(cell, fit))
        blocks = self._row_blocks(
            scan, cells_by_row, row_loops, col_loops, set(removed), _default_row_height(scan.root)
        )
        skeleton = copy.deepcopy(scan.root)
        sheet_data = skeleton.find(f"{_M}sheetData")
        if sheet_data is not None:
            for child in list(sheet_data):
                sheet_data.remove(child)
        texts = tuple(self._text(found, scan.entry.name) for found in scan.attrs)
        drawing = None
        if scan.drawing is not None:
            drawing = _DrawingPlan(
                scan.drawing.part,
                scan.drawing.root,
                tuple(self._text(t, scan.entry.name) for t in scan.drawing.texts),
                tuple(
                    _ChartPlan(c.part, c.root, tuple(self._text(t, c.part) for t in c.texts))
                    for c in scan.drawing.charts
                ),
            )
        tab = None
        if scan.tab_source is not None:
            tab = self._tags.template(scan.tab_source, f"{scan.entry.name} (sheet name)")
        return _SheetPlan(
            entry=scan.entry,
            skeleton=skeleton,
            tab=tab,
            repeat=repeat,
            blocks=blocks,
            row_loops=row_loops,
            col_loops=col_loops,
            removed_rows=removed,
            texts=texts,
            drawing=drawing,
            owned=tuple(owned),
        )

    def _row_blocks(
        self,
        scan: _SheetScan,
        cells_by_row: Mapping[int, list[_CellPlan]],
        row_loops: Sequence[_AxisLoop],
        col_loops: Sequence[_AxisLoop],
        removed: set[int],
        default_height: float,
    ) -> tuple[_RowPlan | _RowBlock, ...]:
        blocks: list[_RowPlan | _RowBlock] = []
        loop_of = {row: loop for loop in row_loops for row in range(loop.first, loop.last + 1)}
        current: tuple[_AxisLoop, list[_RowPlan]] | None = None
        for index, attrib in scan.rows:
            if index in removed:
                continue
            custom = attrib.get("customHeight") in ("1", "true")
            plan = _RowPlan(
                index,
                tuple(attrib.items()),
                _cell_blocks(cells_by_row.get(index, []), col_loops),
                None if custom else default_height,
            )
            loop = loop_of.get(index)
            if loop is None:
                blocks.append(plan)
                continue
            if current is None or current[0] is not loop:
                current = (loop, [])
                blocks.append(_RowBlock(loop, ()))
            current[1].append(plan)
            blocks[-1] = _RowBlock(loop, tuple(current[1]))
        return tuple(blocks)

    def _cell(self, cell: _FoundCell, fit: tuple[float, float] | None) -> _CellPlan:
        element = cell.element
        style = element.get("s")
        if cell.formula is not None:
            f = element.find(f"{_M}f")
            attrib = tuple(
                (k, v) for k, v in f.attrib.items() if k not in ("t", "si", "ref") or (
                    k == "t" and v == "array"
                )
            )  # fmt: skip
            array_ref = _parse_area(f.get("ref", "")) if f.get("t") == "array" else None
            return _CellPlan(
                cell.col, cell.label, _FORMULA, element, style,
                formula=_parse_formula(cell.formula), formula_attrib=attrib, array_ref=array_ref,
            )  # fmt: skip
        if cell.source is None:
            if not isinstance(cell.value, str):
                fit = None
            return _CellPlan(
                cell.col, cell.label, _STATIC, element, style, value=cell.value, fit=fit
            )
        first_rpr = None
        if element.get("t") == "s":
            try:
                first_rpr = self._strings[int(element.findtext(f"{_M}v") or "")].first_rpr
            except (ValueError, IndexError):
                first_rpr = None
        single = _SINGLE_TAG.fullmatch(cell.source)
        if single is not None and not single.group(1).startswith("-"):
            inner = single.group(1)
            if inner.endswith("-"):
                inner = inner[:-1]
            expression = self._tags.expression(inner, cell.label)
            return _CellPlan(
                cell.col, cell.label, _TYPED, element, style, expression=expression,
                first_rpr=first_rpr, fit=fit,
            )  # fmt: skip
        template = self._tags.template(cell.source, cell.label)
        return _CellPlan(
            cell.col, cell.label, _TEXT, element, style, template=template, first_rpr=first_rpr,
            fit=fit,
        )  # fmt: skip

    def _text(self, found: _FoundAttr, _where: str) -> _TextPlan:
        environment = self._header_footer if found.header_footer else None
        template = self._tags.template(found.source, found.label, environment)
        limit = _DV_TEXT_LIMITS.get(found.attribute or "")
        if found.attribute in ("descr", "title"):
            limit = None
        return _TextPlan(found.path, found.attribute, found.label, template, limit)

    def _loop(self, number: int, marker: _Marker, first: int, last: int) -> _AxisLoop:
        var, items = marker.loop or ("", "")
        expression = self._tags.expression(items, marker.label)
        return _AxisLoop(var=var, items=expression, id=number, first=first, last=last)


def _header_footer_text(value: Any) -> str:
    """Like plain text, but '&' in values is doubled: it starts a code in headers and footers."""
    return plain_text(value).replace("&", "&&")


def _cell_blocks(
    cells: Sequence[_CellPlan], col_loops: Sequence[_AxisLoop]
) -> tuple[_CellPlan | _ColBlock, ...]:
    blocks: list[_CellPlan | _ColBlock] = []
    loop_of = {col: loop for loop in col_loops for col in range(loop.first, loop.last + 1)}
    for cell in sorted(cells, key=lambda c: c.col):
        loop = loop_of.get(cell.col)
        if loop is None:
            blocks.append(cell)
        elif blocks and isinstance(blocks[-1], _ColBlock) and blocks[-1].loop is loop:
            blocks[-1] = _ColBlock(loop, (*blocks[-1].cells, cell))
        else:
            blocks.append(_ColBlock(loop, (cell,)))
    return tuple(blocks)


# -- the template -----------------------------------------------------------------------------


class XlsxTemplate:
    """A parsed xlsx template: parse once per process, render many times."""

    def __init__(
        self,
        *,
        name: str,
        package: Package,
        workbook_part: str,
        workbook_root: Any,
        sheets: Sequence[_SheetPlan],
        date1904: bool,
    ) -> None:
        self._name = name
        self._package = package
        self._workbook_part = workbook_part
        self._workbook_root = workbook_root
        self._sheets = tuple(sheets)
        self._date1904 = date1904
        self._copies: dict[str, ZipEntry] = {}

    def _copied(self, member: str) -> ZipEntry:
        """A member renders copy as it is: compressed at its first render, then reused."""
        entry = self._copies.get(member)
        if entry is None:
            entry = self._copies[member] = ZipEntry.of(member, self._package.members[member])
        return entry

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str, filters: Filters = NO_FILTERS) -> XlsxTemplate:
        """Parse ``data`` (an .xlsx file) and compile every tag in it; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own.
        """
        package, workbook_part, workbook_root, scans = _open_workbook(data, name)
        compiler = _Compiler(
            name, _shared_strings(package, workbook_part), _styles(package, workbook_part), filters
        )
        sheets = [
            compiler.sheet(scan, package.owned_tree(scan.entry.part, _OWNED_RELTYPES))
            for scan in scans
        ]
        pr = workbook_root.find(f"{_M}workbookPr")
        date1904 = pr is not None and pr.get("date1904") in ("1", "true")
        return cls(
            name=name,
            package=package,
            workbook_part=workbook_part,
            workbook_root=workbook_root,
            sheets=sheets,
            date1904=date1904,
        )

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        return self._name

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Fill a fresh copy of the template with ``context``; return the .xlsx bytes."""
        return _Renderer(self, context).run()


# -- rendering --------------------------------------------------------------------------------


_UNKNOWN = object()  # a formula's value: not computed here


@dataclass
class _Instance:
    """One output sheet: a template sheet, or one copy of a repeated one."""

    plan: _SheetPlan
    scope: dict[str, Any]
    trail: Trail
    first: bool  # the first (or only) copy keeps the template's part names
    name: str = ""
    index: int = 0
    rows: _AxisMap | None = None
    cols: _AxisMap | None = None
    row_items: dict[int, list[Any]] = field(default_factory=dict)
    col_items: dict[int, list[Any]] = field(default_factory=dict)
    part: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # template part -> output part
    sheet_id: str = ""
    rid: str = ""
    values: dict[tuple[int, int], Any] = field(default_factory=dict)

    @property
    def row_map(self) -> _AxisMap:
        assert self.rows is not None
        return self.rows

    @property
    def col_map(self) -> _AxisMap:
        assert self.cols is not None
        return self.cols


class _Renderer:
    """Renders one workbook; lives for one render() call."""

    def __init__(self, template: XlsxTemplate, context: Mapping[str, Any]) -> None:
        self._t = template
        self._name = template._name
        self._package = template._package
        self._context = dict(context)
        self._out: dict[str, bytes] = {}
        self._new_parts: list[str] = []
        self._removed: set[str] = set()
        self._content_types: dict[str, str] = {}  # new part -> content type
        self._by_name: dict[str, list[_Instance]] = {}
        self._active = 0
        self._positions: dict[int, list[int]] = {}  # template sheet index -> output indices
        self._others = 0

    # -- the whole workbook --------------------------------------------------------------------

    def run(self) -> bytes:
        instances = self._instances()
        self._active = self._active_index(instances)
        self._name_sheets(instances)
        for instance in instances:
            self._layout(instance)
        self._allocate_parts(instances)
        for instance in instances:
            self._out[instance.part] = self._render_sheet(instance)
        for instance in instances:
            self._render_owned(instance)
        self._render_workbook(instances)
        return self._zip()

    def _instances(self) -> list[_Instance]:
        instances: list[_Instance] = []
        for plan in self._t._sheets:
            if plan.repeat is None:
                instances.append(_Instance(plan, self._context, Trail(), True))
                continue
            var, expression = plan.repeat
            items = self._items(expression, self._context, Trail())
            if not items:
                self._removed.update({plan.entry.part, *plan.owned})
            for number, item in enumerate(items, 1):
                trail = Trail().add(number, expression.source)
                instances.append(_Instance(plan, {**self._context, var: item}, trail, number == 1))
        # Output positions: every sheet of the template keeps its place, copies follow their
        # template, and sheets the engine leaves alone (chart sheets) count too.
        groups: dict[int, list[_Instance]] = {}
        for instance in instances:
            groups.setdefault(instance.plan.entry.index, []).append(instance)
        worksheets = {plan.entry.index for plan in self._t._sheets}
        ordered: list[_Instance] = []
        for template_index in range(len(self._t._workbook_root.find(f"{_M}sheets"))):
            if template_index not in worksheets:
                self._positions[template_index] = [len(ordered) + self._others]
                self._others += 1
                continue
            group = groups.get(template_index, [])
            for instance in group:
                instance.index = len(ordered) + self._others
                ordered.append(instance)
            self._positions[template_index] = [i.index for i in group]
        for instance in ordered:
            key = instance.plan.entry.name.casefold()
            self._by_name.setdefault(key, []).append(instance)
        return ordered

    def _active_index(self, instances: Sequence[_Instance]) -> int:
        """Where the template's active tab ends up (its first copy), or the first sheet."""
        view = self._t._workbook_root.find(f"{_M}bookViews/{_M}workbookView")
        active = int(view.get("activeTab", "0")) if view is not None else 0
        return next(iter(self._positions.get(active, [])), 0)

    def _name_sheets(self, instances: Sequence[_Instance]) -> None:
        taken: set[str] = {i.plan.entry.name.casefold() for i in instances if i.plan.tab is None}
        for instance in instances:
            plan = instance.plan
            if plan.tab is None:
                instance.name = plan.entry.name
                continue
            wanted = self._render_text(plan.tab, instance.scope, plan.entry.name, instance.trail)
            instance.name = _unique_sheet_name(wanted, taken)
            taken.add(instance.name.casefold())

    def _layout(self, instance: _Instance) -> None:
        plan = instance.plan
        counts_r: dict[int, int] = {}
        for loop in plan.row_loops:
            instance.row_items[loop.id] = self._items(loop.items, instance.scope, instance.trail)
            counts_r[loop.id] = len(instance.row_items[loop.id])
        counts_c: dict[int, int] = {}
        for loop in plan.col_loops:
            instance.col_items[loop.id] = self._items(loop.items, instance.scope, instance.trail)
            counts_c[loop.id] = len(instance.col_items[loop.id])
        instance.rows = _AxisMap(
            removed=plan.removed_rows,
            bodies=[(loop.id, loop.first, loop.last) for loop in plan.row_loops],
            counts=counts_r,
            limit=_MAX_ROW,
        )
        instance.cols = _AxisMap(
            removed=(),
            bodies=[(loop.id, loop.first, loop.last) for loop in plan.col_loops],
            counts=counts_c,
            limit=_MAX_COL,
        )

    def _allocate_parts(self, instances: Sequence[_Instance]) -> None:
        taken = set(self._package.members)
        workbook_rels = self._package.rels(self._t._workbook_part)
        rid_numbers = [int(r.rid[3:]) for r in workbook_rels if r.rid[3:].isdigit()]
        next_rid = max(rid_numbers, default=0) + 1
        sheet_ids = [int(i.plan.entry.sheet_id or 0) for i in instances]
        next_sheet_id = max(sheet_ids, default=0) + 1
        for instance in instances:
            entry = instance.plan.entry
            if instance.first:
                instance.part, instance.sheet_id, instance.rid = (
                    entry.part,
                    entry.sheet_id,
                    entry.rid,
                )
                instance.parts = {p: p for p in instance.plan.owned}
                continue
            instance.part = _next_part_name(entry.part, taken)
            instance.sheet_id, next_sheet_id = str(next_sheet_id), next_sheet_id + 1
            instance.rid, next_rid = f"rId{next_rid}", next_rid + 1
            self._new_part(instance.part, entry.part)
            for owned in instance.plan.owned:
                new = _next_part_name(owned, taken)
                instance.parts[owned] = new
                self._new_part(new, owned)

    def _new_part(self, new: str, like: str) -> None:
        self._new_parts.append(new)
        content_type = _override_types(self._package).get(like)
        if content_type is not None:
            self._content_types[new] = content_type

    # -- evaluation ----------------------------------------------------------------------------

    def _items(self, expression: Expression, scope: Mapping[str, Any], trail: Trail) -> list[Any]:
        return loop_items(expression, scope, template_name=self._name, trail=trail)

    def _evaluate(self, expression: Expression, scope: Mapping[str, Any], trail: Trail) -> Any:
        return evaluate(expression, scope, template_name=self._name, trail=trail)

    def _render_text(
        self, template: jinja2.Template, scope: Mapping[str, Any], label: str, trail: Trail
    ) -> str:
        return render_text(template, scope, label=label, template_name=self._name, trail=trail)

    def _error(self, label: str, message: str, trail: Trail) -> RenderError:
        return render_error(self._name, label, message, trail)

    # -- references ----------------------------------------------------------------------------

    def _resolver(
        self,
        own: _Instance | None,
        rctx: Ctx,
        cctx: Ctx,
        repeat: tuple[_Instance, str, int, int] | None = None,
    ) -> Callable[[_Ref], str]:
        """Maps a template reference to its rendered text, as seen from ``own``."""

        def resolve(ref: _Ref) -> str:
            target, rows_ctx, cols_ctx, prefix = self._target(ref, own, rctx, cctx)
            if target is None:
                return ref.sheet_text + _ref_body(
                    ref.kind, ref.c1, ref.r1, ref.c2, ref.r2, ref.fixed
                )
            if repeat is not None and target is repeat[0]:
                if repeat[1] == "rows":
                    rows_ctx = {**rows_ctx, repeat[2]: repeat[3]}
                else:
                    cols_ctx = {**cols_ctx, repeat[2]: repeat[3]}
            if target is _GONE:
                return "#REF!"
            text = _map_ref_text(ref, target.row_map, target.col_map, rows_ctx, cols_ctx)
            return "#REF!" if text is None else prefix + text

        return resolve

    def _target(
        self, ref: _Ref, own: _Instance | None, rctx: Ctx, cctx: Ctx
    ) -> tuple[Any, Ctx, Ctx, str]:
        """(instance or None for a sheet outside the workbook or _GONE, contexts, prefix)."""
        if ref.sheet is None:
            if own is None:
                return None, {}, {}, ""
            return own, rctx, cctx, ""
        key = ref.sheet.casefold()
        if own is not None and key == own.plan.entry.name.casefold():
            return own, rctx, cctx, _quote_sheet(own.name) + "!"
        found = self._by_name.get(key)
        if found is None:
            if any(plan.entry.name.casefold() == key for plan in self._t._sheets):
                return _GONE, {}, {}, ""
            return None, {}, {}, ""
        return found[0], {}, {}, _quote_sheet(found[0].name) + "!"

    def _formula(self, text: str, own: _Instance | None) -> str:
        return _parse_formula(text).render(self._resolver(own, {}, {}))

    def _sqref(self, text: str, instance: _Instance) -> str:
        """Each range of a space-separated list, expanded over the loops it spans."""
        out = []
        for part in text.split():
            area = _parse_area(part)
            if area is None:
                out.append(part)
                continue
            if area.kind == "cell":
                area = _Ref(None, "", "area", area.c1, area.r1, area.c1, area.r1, area.fixed)
            mapped = _map_area(area, instance.row_map, instance.col_map, {}, {})
            if mapped is not None:
                c1, r1, c2, r2 = mapped
                out.append(_area_text(c1, r1, c2, r2))
        return " ".join(out)

    def _placements(self, text: str, instance: _Instance) -> list[str]:
        """A range placed once per loop copy when it lies inside a loop body, else expanded."""
        area = _parse_area(text)
        if area is None:
            return [text]
        rows, cols = instance.row_map, instance.col_map
        row_loop = rows.loop_around(area.r1, area.r2) if area.kind != "cols" else None
        col_loop = cols.loop_around(area.c1, area.c2) if area.kind != "rows" else None
        row_copies: list[int | None] = (
            [None] if row_loop is None else list(range(rows.count(row_loop)))
        )
        col_copies: list[int | None] = (
            [None] if col_loop is None else list(range(cols.count(col_loop)))
        )
        if area.kind == "cell":
            area = _Ref(None, "", "area", area.c1, area.r1, area.c1, area.r1, area.fixed)
        placed = []
        for kr in row_copies:
            for kc in col_copies:
                rctx = {} if kr is None or row_loop is None else {row_loop: kr}
                cctx = {} if kc is None or col_loop is None else {col_loop: kc}
                mapped = _map_area(area, rows, cols, rctx, cctx)
                if mapped is not None:
                    c1, r1, c2, r2 = mapped
                    placed.append(_area_text(c1, r1, c2, r2))
        return placed

    def _cell_ref(self, text: str, instance: _Instance) -> str | None:
        area = _parse_area(text)
        if area is None:
            return text
        row = instance.row_map.start(area.r1, {})
        col = instance.col_map.start(area.c1, {})
        if row is None or col is None:
            return None
        return _cell_name(row, col)

    # -- a sheet -------------------------------------------------------------------------------

    def _render_sheet(self, instance: _Instance) -> bytes:
        plan = instance.plan
        root = copy.deepcopy(plan.skeleton)
        sheet_data = root.find(f"{_M}sheetData")
        bounds = [_MAX_ROW + 1, _MAX_COL + 1, 0, 0]
        if sheet_data is not None:
            self._fill_rows(sheet_data, instance, bounds)
        self._fix_dimension(root, bounds)
        self._fix_views(root, instance)
        self._fix_columns(root, instance)
        self._fix_ranges(root, instance)
        self._fix_texts(root, instance)
        return xml_bytes(root)

    def _fill_rows(self, sheet_data: Any, instance: _Instance, bounds: list[int]) -> None:
        rows = instance.row_map
        for block in instance.plan.blocks:
            if isinstance(block, _RowPlan):
                out = rows.single(block.index, {})
                if out is not None:
                    self._emit_row(sheet_data, instance, block, out, instance.scope, {},
                                   instance.trail, bounds)  # fmt: skip
                continue
            loop = block.loop
            for number, item in enumerate(instance.row_items[loop.id]):
                scope = {**instance.scope, loop.var: item}
                trail = instance.trail.add(number + 1, loop.items.source)
                for row in block.rows:
                    out = rows.copy(loop.id, row.index, number)
                    self._emit_row(sheet_data, instance, row, out, scope, {loop.id: number},
                                   trail, bounds)  # fmt: skip

    def _emit_row(
        self,
        sheet_data: Any,
        instance: _Instance,
        row: _RowPlan,
        out: int,
        scope: Mapping[str, Any],
        rctx: Ctx,
        trail: Trail,
        bounds: list[int],
    ) -> None:
        if out > _MAX_ROW:
            raise self._error(instance.plan.entry.name, "more rows than Excel allows", trail)
        row_el = etree.SubElement(sheet_data, f"{_M}row", {"r": str(out), **dict(row.attrib)})
        cols = instance.col_map
        height = row.auto_height or 0.0
        for block in row.blocks:
            if isinstance(block, _CellPlan):
                col = cols.single(block.col, {})
                if col is not None:
                    value = self._emit_cell(
                        row_el, instance, block, out, col, scope, rctx, {}, trail
                    )
                    height = max(height, _needed_height(block, value))
                    _grow(bounds, out, col)
                continue
            loop = block.loop
            for number, item in enumerate(instance.col_items[loop.id]):
                item_scope = {**scope, loop.var: item}
                item_trail = trail.add(number + 1, loop.items.source)
                for cell in block.cells:
                    col = cols.copy(loop.id, cell.col, number)
                    if col > _MAX_COL:
                        raise self._error(cell.label, "more columns than Excel allows", trail)
                    value = self._emit_cell(row_el, instance, cell, out, col, item_scope, rctx,
                                            {loop.id: number}, item_trail)  # fmt: skip
                    height = max(height, _needed_height(cell, value))
                    _grow(bounds, out, col)
        # Excel and LibreOffice keep stored row heights on opening: fit wrapped text here.
        if row.auto_height is not None and height > row.auto_height + 0.5:
            row_el.set("ht", f"{math.ceil(height * 4) / 4:g}")
            row_el.set("customHeight", "1")

    def _emit_cell(
        self,
        row_el: Any,
        instance: _Instance,
        cell: _CellPlan,
        row: int,
        col: int,
        scope: Mapping[str, Any],
        rctx: Ctx,
        cctx: Ctx,
        trail: Trail,
    ) -> Any:
        """Write one cell; return its value as far as it is known here."""
        ref = _cell_name(row, col)
        if cell.kind == _STATIC:
            c = copy.deepcopy(cell.element)
            c.set("r", ref)
            row_el.append(c)
            instance.values[(row, col)] = cell.value
            return cell.value
        c = etree.SubElement(row_el, f"{_M}c", {"r": ref})
        if cell.style is not None:
            c.set("s", cell.style)
        if cell.kind == _FORMULA:
            assert cell.formula is not None
            f = etree.SubElement(c, f"{_M}f", dict(cell.formula_attrib))
            f.text = cell.formula.render(self._resolver(instance, rctx, cctx))
            if cell.array_ref is not None:
                mapped = _map_area(cell.array_ref, instance.row_map, instance.col_map, rctx, cctx)
                f.set("ref", ref if mapped is None else _area_text(*mapped))
            instance.values[(row, col)] = _UNKNOWN
            return _UNKNOWN
        if cell.kind == _TEXT:
            assert cell.template is not None
            value: Any = self._render_text(cell.template, scope, cell.label, trail)
        else:
            assert cell.expression is not None
            value = self._evaluate(cell.expression, scope, trail)
        written = self._write_value(c, value, cell, trail)
        instance.values[(row, col)] = written
        return written

    def _write_value(self, c: Any, value: Any, cell: _CellPlan, trail: Trail) -> Any:
        """Store ``value`` in cell ``c`` by its type; return it as a chart cache would see it."""
        if value is None or (isinstance(value, str) and value == ""):
            return None
        if isinstance(value, bool):
            c.set("t", "b")
            etree.SubElement(c, f"{_M}v").text = "1" if value else "0"
            return value
        if (isinstance(value, int | float) and math.isfinite(value)) or (
            isinstance(value, Decimal) and value.is_finite()
        ):
            etree.SubElement(c, f"{_M}v").text = (
                repr(value) if isinstance(value, float) else str(value)
            )
            return float(value)
        if isinstance(value, dt.date | dt.time):
            serial = _date_serial(value, date1904=self._t._date1904)
            etree.SubElement(c, f"{_M}v").text = repr(serial)
            return serial
        text = xml_safe(str(value))
        if len(text) > _MAX_CELL_TEXT:
            raise self._error(
                cell.label, f"text of {len(text)} characters; a cell holds {_MAX_CELL_TEXT}", trail
            )
        # An inline string is text whatever it starts with: '=1+1' never becomes a formula.
        c.set("t", "inlineStr")
        is_ = etree.SubElement(c, f"{_M}is")
        holder = is_
        if cell.first_rpr is not None:
            holder = etree.SubElement(is_, f"{_M}r")
            holder.append(copy.deepcopy(cell.first_rpr))
        t = etree.SubElement(holder, f"{_M}t")
        t.text = text
        t.set(_XML_SPACE, "preserve")
        return text

    # -- the rest of a sheet ---------------------------------------------------------------------

    def _fix_dimension(self, root: Any, bounds: list[int]) -> None:
        dimension = root.find(f"{_M}dimension")
        if dimension is None:
            return
        if bounds[2] == 0:
            dimension.set("ref", "A1")
        elif (bounds[0], bounds[1]) == (bounds[2], bounds[3]):
            dimension.set("ref", _cell_name(bounds[0], bounds[1]))
        else:
            dimension.set("ref", _area_text(bounds[1], bounds[0], bounds[3], bounds[2]))

    def _fix_views(self, root: Any, instance: _Instance) -> None:
        views = root.find(f"{_M}sheetViews")
        for number, view in enumerate(
            [] if views is None else views.iterchildren(f"{_M}sheetView")
        ):
            # Exactly one selected tab: several would open the workbook with sheets grouped.
            if number == 0 and instance.index == self._active:
                view.set("tabSelected", "1")
            elif "tabSelected" in view.attrib:
                del view.attrib["tabSelected"]
            if view.get("topLeftCell"):
                view.set("topLeftCell", self._cell_ref(view.get("topLeftCell"), instance) or "A1")
            pane = view.find(f"{_M}pane")
            if pane is not None and pane.get("topLeftCell"):
                old = _parse_area(pane.get("topLeftCell"))
                new = self._cell_ref(pane.get("topLeftCell"), instance) or "A1"
                pane.set("topLeftCell", new)
                new_ref = _parse_area(new)
                if (
                    old is not None
                    and new_ref is not None
                    and pane.get("state", "split")
                    in (
                        "frozen",
                        "frozenSplit",
                    )
                ):
                    if pane.get("ySplit"):
                        pane.set("ySplit", str(new_ref.r1 - 1))
                    if pane.get("xSplit"):
                        pane.set("xSplit", str(new_ref.c1 - 1))
            for selection in view.iterchildren(f"{_M}selection"):
                active = self._cell_ref(selection.get("activeCell", "A1"), instance) or "A1"
                selection.set("activeCell", active)
                if selection.get("sqref"):
                    selection.set("sqref", self._sqref(selection.get("sqref"), instance) or active)

    def _fix_columns(self, root: Any, instance: _Instance) -> None:
        cols_el = root.find(f"{_M}cols")
        if cols_el is None or not instance.plan.col_loops:
            return
        cols = instance.col_map
        bodies = {
            index: loop for loop in instance.plan.col_loops
            for index in range(loop.first, loop.last + 1)
        }  # fmt: skip
        entries: list[tuple[int, int, dict[str, str]]] = []

        def run(low: int, high: int, attrib: dict[str, str]) -> None:
            # Between loop bodies every column moves by the same amount.
            start = cols.single(low, {})
            if start is not None:
                entries.append((start, start + high - low, attrib))

        for col in list(cols_el.iterchildren(f"{_M}col")):
            low, high = int(col.get("min", "1")), int(col.get("max", "1"))
            attrib = {k: v for k, v in col.attrib.items() if k not in ("min", "max")}
            cursor = low
            for index in sorted(i for i in bodies if low <= i <= high):
                if cursor < index:
                    run(cursor, index - 1, attrib)
                loop = bodies[index]
                for number in range(cols.count(loop.id)):
                    out = cols.copy(loop.id, index, number)
                    entries.append((out, out, attrib))
                cursor = index + 1
            if cursor <= high:
                run(cursor, high, attrib)
            cols_el.remove(col)
        for low, high, attrib in sorted(entries, key=lambda entry: entry[0]):
            if low <= _MAX_COL:
                etree.SubElement(
                    cols_el,
                    f"{_M}col",
                    {"min": str(low), "max": str(min(high, _MAX_COL)), **attrib},
                )
        if len(cols_el) == 0:
            root.remove(cols_el)

    def _fix_ranges(self, root: Any, instance: _Instance) -> None:
        merges = root.find(f"{_M}mergeCells")
        if merges is not None:
            refs = [m.get("ref", "") for m in merges.iterchildren(f"{_M}mergeCell")]
            for merge in list(merges):
                merges.remove(merge)
            for ref in refs:
                for placed in self._placements(ref, instance):
                    etree.SubElement(merges, f"{_M}mergeCell", {"ref": placed})
            _set_count_or_drop(root, merges)
        for cf in list(root.iterchildren(f"{_M}conditionalFormatting")):
            sqref = self._sqref(cf.get("sqref", ""), instance)
            if not sqref:
                root.remove(cf)
                continue
            cf.set("sqref", sqref)
            for formula in cf.iter(f"{_M}formula"):
                formula.text = self._formula(formula.text or "", instance)
        validations = root.find(f"{_M}dataValidations")
        if validations is not None:
            for dv in list(validations):
                sqref = self._sqref(dv.get("sqref", ""), instance)
                if not sqref:
                    validations.remove(dv)
                    continue
                dv.set("sqref", sqref)
                for tag in ("formula1", "formula2"):
                    element = dv.find(f"{_M}{tag}")
                    if element is not None and element.text:
                        element.text = self._formula(element.text, instance)
            _set_count_or_drop(root, validations)
        hyperlinks = root.find(f"{_M}hyperlinks")
        if hyperlinks is not None:
            for link in list(hyperlinks):
                for placed in self._placements(link.get("ref", ""), instance):
                    copy_ = copy.deepcopy(link)
                    copy_.set("ref", placed)
                    if copy_.get("location"):
                        copy_.set("location", self._formula(copy_.get("location"), instance))
                    link.addprevious(copy_)
                hyperlinks.remove(link)
            if len(hyperlinks) == 0:
                root.remove(hyperlinks)
        for element in root.iter(f"{_M}autoFilter"):
            if element.get("ref"):
                element.set("ref", self._sqref(element.get("ref"), instance) or "A1")
        for tag in ("ignoredError", "protectedRange"):
            for element in root.iter(f"{_M}{tag}"):
                if element.get("sqref"):
                    element.set("sqref", self._sqref(element.get("sqref"), instance) or "A1")
        for tag, axis in (("rowBreaks", instance.row_map), ("colBreaks", instance.col_map)):
            breaks = root.find(f"{_M}{tag}")
            for brk in [] if breaks is None else list(breaks):
                moved = axis.end(int(brk.get("id", "0")), {})
                if moved is None or moved < 1:
                    breaks.remove(brk)
                else:
                    brk.set("id", str(moved))
        for ext in root.iter(f"{_M}extLst"):
            for sqref in ext.iter(f"{_XM}sqref"):
                sqref.text = self._sqref(sqref.text or "", instance) or "A1"
            for f in ext.iter(f"{_XM}f"):
                f.text = self._formula(f.text or "", instance)

    def _fix_texts(self, root: Any, instance: _Instance) -> None:
        for spot in instance.plan.texts:
            element = follow(root, spot.path)
            text = self._render_text(spot.template, instance.scope, spot.label, instance.trail)
            if spot.limit is not None:
                text = text[: spot.limit]
            if spot.attribute is None:
                element.text = text
            else:
                element.set(spot.attribute, text)

    # -- drawings, charts and other owned parts ---------------------------------------------------

    def _render_owned(self, instance: _Instance) -> None:
        plan = instance.plan
        if plan.drawing is not None:
            drawing = plan.drawing
            self._out[instance.parts[drawing.part]] = self._render_drawing(drawing, instance)
            for chart in drawing.charts:
                self._out[instance.parts[chart.part]] = self._render_chart(chart, instance)
        if instance.first:
            return
        for old in plan.owned:
            self._out.setdefault(instance.parts[old], self._package.members[old])
        pairs = [(plan.entry.part, instance.part), *((o, instance.parts[o]) for o in plan.owned)]
        for old, new in pairs:
            rels = self._package.rels(old)
            if rels:
                self._out[rels_name(new)] = rels_xml(rels, new, instance.parts)
                self._new_parts.append(rels_name(new))

    def _render_drawing(self, drawing: _DrawingPlan, instance: _Instance) -> bytes:
        root = copy.deepcopy(drawing.root)
        for anchor in root:
            for tag, mapper in ((f"{_XDR}from", "start"), (f"{_XDR}to", "end")):
                point = anchor.find(tag)
                if point is None:
                    continue
                for axis_tag, axis in ((f"{_XDR}row", instance.row_map),
                                       (f"{_XDR}col", instance.col_map)):  # fmt: skip
                    element = point.find(axis_tag)
                    if element is None or not (element.text or "").strip().isdigit():
                        continue
                    index = int(element.text) + 1
                    moved = getattr(axis, mapper)(index, {})
                    element.text = str(max((moved or index) - 1, 0))
        self._apply_texts(root, drawing.texts, instance)
        return xml_bytes(root)

    def _apply_texts(self, root: Any, texts: Sequence[_TextPlan], instance: _Instance) -> None:
        for spot in texts:
            element = follow(root, spot.path)
            text = self._render_text(spot.template, instance.scope, spot.label, instance.trail)
            if spot.attribute is not None:
                element.set(spot.attribute, text)
                continue
            runs = list(element.iter(f"{_A}r"))
            for extra in runs[1:]:
                extra.getparent().remove(extra)
            if runs:
                t = runs[0].find(f"{_A}t")
                if t is None:
                    t = etree.SubElement(runs[0], f"{_A}t")
                t.text = text

    def _render_chart(self, chart: _ChartPlan, instance: _Instance) -> bytes:
        root = copy.deepcopy(chart.root)
        self._apply_texts(root, chart.texts, instance)
        plot = root.find(f"{_C}chart/{_C}plotArea")
        for group in [] if plot is None else list(plot):
            for ser in list(group.iterchildren(f"{_C}ser")):
                repeat = self._series_loop(ser, instance)
                if repeat is None:
                    self._map_series(ser, instance, None)
                    continue
                target, axis, loop, count = repeat
                for number in range(count):
                    copy_ = copy.deepcopy(ser)
                    # The last item keeps the template's colours; earlier ones get lighter.
                    _lighten(copy_, 0.6 * (count - 1 - number) / count)
                    self._map_series(copy_, instance, (target, axis, loop, number))
                    ser.addprevious(copy_)
                group.remove(ser)
        if plot is not None:
            for number, ser in enumerate(plot.iter(f"{_C}ser")):
                for tag in ("idx", "order"):
                    element = ser.find(f"{_C}{tag}")
                    if element is not None:
                        element.set("val", str(number))
        return xml_bytes(root)

    def _series_loop(self, ser: Any, instance: _Instance) -> tuple[_Instance, str, int, int] | None:
        """(sheet, axis, loop, copies) when the series' values lie in a repeated row or column."""
        values = _series_ref(ser, ("val", "yVal"))
        if values is None:
            return None
        target, *_ = self._target(values, instance, {}, {})
        if not isinstance(target, _Instance):
            return None
        categories = _series_ref(ser, ("cat", "xVal"))
        found = []
        axes = (
            (
                "rows",
                target.row_map,
                (values.r1, values.r2),
                categories and (categories.r1, categories.r2),
            ),
            (
                "cols",
                target.col_map,
                (values.c1, values.c2),
                categories and (categories.c1, categories.c2),
            ),
        )
        for axis, mapping, (low, high), category_span in axes:
            loop = mapping.loop_around(low, high)
            if loop is None:
                continue
            # Categories in the same loop: the series grows along it instead of repeating.
            if category_span and mapping.loop_around(*category_span) == loop:
                continue
            found.append((target, axis, loop, mapping.count(loop)))
        return found[0] if len(found) == 1 else None

    def _map_series(
        self, ser: Any, instance: _Instance, repeat: tuple[_Instance, str, int, int] | None
    ) -> None:
        resolve = self._resolver(instance, {}, {}, repeat)
        for f in ser.iter(f"{_C}f"):
            formula = _parse_formula(f.text or "")
            f.text = formula.render(resolve)
            holder = f.getparent()
            kind = etree.QName(holder).localname
            if kind not in ("numRef", "strRef"):
                continue
            cached = self._cached_values(formula, instance, repeat)
            if cached is not None:
                _set_cache(holder, cached, numeric=kind == "numRef")

    def _cached_values(
        self, formula: _Formula, instance: _Instance, repeat: tuple[_Instance, str, int, int] | None
    ) -> list[Any] | None:
        refs = formula.refs
        if len(refs) != 1 or any(isinstance(p, str) and p.strip() for p in formula.pieces):
            return None
        ref = refs[0]
        target, rctx, cctx, _prefix = self._target(ref, instance, {}, {})
        if not isinstance(target, _Instance):
            return None
        if repeat is not None and target is repeat[0]:
            if repeat[1] == "rows":
                rctx = {repeat[2]: repeat[3]}
            else:
                cctx = {repeat[2]: repeat[3]}
        area = _map_area(ref, target.row_map, target.col_map, rctx, cctx)
        if area is None:
            return []
        c1, r1, c2, r2 = area
        if (c2 - c1 + 1) * (r2 - r1 + 1) > 10_000:
            return None
        return [target.values.get((r, c)) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    # -- the workbook part and the package ---------------------------------------------------------

    def _render_workbook(self, instances: Sequence[_Instance]) -> None:
        package = self._package
        root = copy.deepcopy(self._t._workbook_root)
        sheets = root.find(f"{_M}sheets")
        old_sheets = list(sheets)
        view = root.find(f"{_M}bookViews/{_M}workbookView")
        for sheet in old_sheets:
            sheets.remove(sheet)
        groups: dict[int, list[_Instance]] = {}
        for instance in instances:
            groups.setdefault(instance.plan.entry.index, []).append(instance)
        worksheets = {plan.entry.index for plan in self._t._sheets}
        for template_index, old in enumerate(old_sheets):
            if template_index not in worksheets:
                sheets.append(old)  # a chart sheet: kept as it is, in its place
                continue
            for instance in groups.get(template_index, []):
                attrib = {"name": instance.name, "sheetId": instance.sheet_id, _R_ID: instance.rid}
                if instance.plan.entry.state:
                    attrib["state"] = instance.plan.entry.state
                etree.SubElement(sheets, f"{_M}sheet", attrib)
        if view is not None:
            view.set("activeTab", str(self._active))
            if view.get("firstSheet"):
                view.set("firstSheet", "0")
        self._render_defined_names(root, instances)
        calc = root.find(f"{_M}calcPr")
        if calc is None:
            calc = etree.Element(f"{_M}calcPr")
            anchors = [
                root.find(f"{_M}{tag}")
                for tag in ("sheets", "functionGroups", "externalReferences", "definedNames")
            ]
            [a for a in anchors if a is not None][-1].addnext(calc)
        # No cached results are written: Excel and LibreOffice must compute every formula.
        calc.set("fullCalcOnLoad", "1")
        self._out[self._t._workbook_part] = xml_bytes(root)

        rels = package.rels(self._t._workbook_part)
        kept = []
        for rel in rels:
            if rel.reltype == _RT_CALC_CHAIN:
                self._removed.add(rel.target)
                continue
            if rel.reltype == _RT_WORKSHEET and rel.target in self._removed:
                continue
            kept.append(rel)
        for instance in instances:
            if not instance.first:
                kept.append(Relationship(instance.rid, _RT_WORKSHEET, instance.part, False))
        rels_part = rels_name(self._t._workbook_part)
        self._out[rels_part] = rels_xml(kept, self._t._workbook_part, {})
        for removed in list(self._removed):
            self._removed.add(rels_name(removed))
        self._out["[Content_Types].xml"] = self._content_types_xml()
        app = next(
            (r.target for r in package.rels("") if r.reltype == _RT_EXTENDED_PROPERTIES), None
        )
        if app is not None and app in package.members:
            app_root = package.xml(app)
            for element in list(app_root):
                if etree.QName(element).localname in ("HeadingPairs", "TitlesOfParts"):
                    app_root.remove(element)
            self._out[app] = xml_bytes(app_root)

    def _render_defined_names(self, root: Any, instances: Sequence[_Instance]) -> None:
        names = root.find(f"{_M}definedNames")
        if names is None:
            return
        by_position = {i.index: i for i in instances}
        for name in list(names):
            names.remove(name)
            local = name.get("localSheetId")
            positions = self._positions.get(int(local)) if local and local.isdigit() else None
            if positions is None:  # a workbook-wide name
                copy_ = copy.deepcopy(name)
                copy_.text = self._formula(name.text or "", None)
                names.append(copy_)
                continue
            # A sheet's own name: one per copy of the sheet, none if the sheet is gone.
            for position in positions:
                own = by_position.get(position)
                copy_ = copy.deepcopy(name)
                copy_.set("localSheetId", str(position))
                copy_.text = _parse_formula(name.text or "").render(self._resolver(own, {}, {}))
                names.append(copy_)
        if len(names) == 0:
            root.remove(names)

    def _content_types_xml(self) -> bytes:
        root = self._package.xml("[Content_Types].xml")
        for override in list(root.iterchildren(f"{{{_CT_NS}}}Override")):
            if override.get("PartName", "").lstrip("/") in self._removed:
                root.remove(override)
        for part, content_type in self._content_types.items():
            etree.SubElement(
                root, f"{{{_CT_NS}}}Override", {"PartName": "/" + part, "ContentType": content_type}
            )
        return xml_bytes(root)

    def _zip(self) -> bytes:
        names = [n for n in self._package.order if n not in self._removed]
        names += [n for n in self._new_parts if n not in self._package.members]
        entries: list[ZipEntry] = []
        seen: set[str] = set()
        for member in names:
            if member in seen:
                continue
            seen.add(member)
            data = self._out.get(member)
            entries.append(self._t._copied(member) if data is None else ZipEntry.of(member, data))
        return write_zip(entries)


_GONE = object()  # a sheet the template has but a sheet loop left out


def _lighten(ser: Any, share: float) -> None:
    """Blend the explicit RGB colours of a series' shape toward white by ``share`` (0–1)."""
    sp_pr = ser.find(f"{_C}spPr")
    if sp_pr is None or share <= 0:
        return
    for colour in sp_pr.iter(f"{_A}srgbClr"):
        value = colour.get("val", "")
        if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
            continue
        channels = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
        colour.set("val", "".join(f"{round(c + (255 - c) * share):02X}" for c in channels))


def _series_ref(ser: Any, tags: Sequence[str]) -> _Ref | None:
    for tag in tags:
        element = ser.find(f"{_C}{tag}")
        if element is None:
            continue
        f = element.find(f".//{_C}f")
        if f is None or not f.text:
            return None
        refs = _parse_formula(f.text).refs
        return refs[0] if len(refs) == 1 else None
    return None


def _set_cache(holder: Any, values: Sequence[Any], *, numeric: bool) -> None:
    tag = f"{_C}numCache" if numeric else f"{_C}strCache"
    old = holder.find(tag)
    format_code = None if old is None else old.findtext(f"{_C}formatCode")
    if old is not None:
        holder.remove(old)
    # The schema wants the cache right after the formula, before any extLst.
    cache = etree.Element(tag)
    holder.find(f"{_C}f").addnext(cache)
    if numeric:
        etree.SubElement(cache, f"{_C}formatCode").text = format_code or "General"
    etree.SubElement(cache, f"{_C}ptCount", {"val": str(len(values))})
    for index, value in enumerate(values):
        if value is None or value is _UNKNOWN:
            continue
        if numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            text = repr(float(value))
        else:
            text = value if isinstance(value, str) else _number_text(value)
        pt = etree.SubElement(cache, f"{_C}pt", {"idx": str(index)})
        etree.SubElement(pt, f"{_C}v").text = text


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _needed_height(cell: _CellPlan, value: Any) -> float:
    if cell.fit is None or not isinstance(value, str) or not value:
        return 0.0
    per_line, line_height = cell.fit
    return _text_lines(value, per_line) * line_height + 2


def _grow(bounds: list[int], row: int, col: int) -> None:
    bounds[0] = min(bounds[0], row)
    bounds[1] = min(bounds[1], col)
    bounds[2] = max(bounds[2], row)
    bounds[3] = max(bounds[3], col)


def _area_text(c1: int, r1: int, c2: int, r2: int) -> str:
    if (c1, r1) == (c2, r2):
        return _cell_name(r1, c1)
    return f"{_cell_name(r1, c1)}:{_cell_name(r2, c2)}"


def _set_count_or_drop(root: Any, container: Any) -> None:
    if len(container) == 0:
        root.remove(container)
    elif container.get("count") is not None:
        container.set("count", str(len(container)))


def _date_serial(value: dt.date | dt.time, *, date1904: bool) -> float | int:
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400 + (
            value.microsecond / 86_400_000_000
        )
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - epoch
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (dt.datetime.combine(value, dt.time()) - epoch).days


def _unique_sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unused tab name: no ``[]:*?/\\``, no edge apostrophes, at most 31 characters."""
    name = _SHEET_NAME_FORBIDDEN.sub("", xml_safe(wanted)).strip().strip("'").strip()
    name = name[:31].strip() or "Blad"
    candidate, number = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({number})"
        candidate = name[: 31 - len(suffix)].rstrip() + suffix
        number += 1
    return candidate


def _next_part_name(like: str, taken: set[str]) -> str:
    """``xl/worksheets/sheet3.xml`` -> the first free ``xl/worksheets/sheetN.xml``."""
    stem, dot, ext = like.rpartition(".")
    stem = stem.rstrip("0123456789")
    number = 1
    while f"{stem}{number}{dot}{ext}" in taken:
        number += 1
    name = f"{stem}{number}{dot}{ext}"
    taken.add(name)
    return name


@functools.lru_cache(maxsize=64)
def _override_types_cached(content_types: bytes) -> dict[str, str]:
    root = etree.fromstring(content_types, PARSER)
    return {
        o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
        for o in root.iterchildren(f"{{{_CT_NS}}}Override")
    }


def _override_types(package: Package) -> dict[str, str]:
    return _override_types_cached(package.members.get("[Content_Types].xml", b"<Types/>"))
