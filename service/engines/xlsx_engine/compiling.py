"""Compiling a workbook's scans into plans: every tag compiled once, every loop located."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from service.engines.jinja_env import Filters, make_environment, plain_text
from service.engines.opc import Package, ZipEntry
from service.engines.tags import Expression, Loop, NamesRead, TagCompiler
from service.engines.xlsx_engine.formulas import Formula, Ref, parse_area, parse_formula
from service.engines.xlsx_engine.scanning import (
    FoundAttr,
    FoundCell,
    Marker,
    SheetScan,
    open_workbook,
    pair_markers,
    scan_properties,
)
from service.engines.xlsx_engine.spreadsheetml import DV_TEXT_LIMITS, OWNED_RELTYPES, M
from service.engines.xlsx_engine.workbook import (
    SharedString,
    SheetEntry,
    Styles,
    column_widths,
    default_row_height,
    read_styles,
    shared_strings,
)

_SINGLE_TAG = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}\s*", re.S)


@dataclass(frozen=True)
class AxisLoop(Loop):
    """A row or column loop; ``id`` numbers the loops of one axis of one sheet."""

    id: int
    first: int  # first body row or column
    last: int


STATIC, FORMULA, TEXT, TYPED = range(4)


@dataclass(frozen=True)
class CellPlan:
    col: int
    label: str
    kind: int
    element: Any
    style: str | None
    value: Any = None
    template: jinja2.Template | None = None
    expression: Expression | None = None
    formula: Formula | None = None
    formula_attrib: tuple[tuple[str, str], ...] = ()
    array_ref: Ref | None = None
    first_rpr: Any = None
    fit: tuple[float, float] | None = None  # wrapped text: (characters per line, line height)
    # The same for a wrapped copy of the cell's format, taken when text has a line break.
    wrap_fit: tuple[float, float] | None = None


@dataclass(frozen=True)
class ColBlock:
    loop: AxisLoop
    cells: tuple[CellPlan, ...]


@dataclass(frozen=True)
class RowPlan:
    index: int
    attrib: tuple[tuple[str, str], ...]
    blocks: tuple[CellPlan | ColBlock, ...]
    auto_height: float | None  # the default height if the row's height is not set by hand


@dataclass(frozen=True)
class RowBlock:
    loop: AxisLoop
    rows: tuple[RowPlan, ...]


@dataclass(frozen=True)
class TextPlan:
    path: tuple[int, ...]
    attribute: str | None
    label: str
    template: jinja2.Template
    limit: int | None = None


@dataclass(frozen=True)
class ChartPlan:
    part: str
    root: Any
    texts: tuple[TextPlan, ...]


@dataclass(frozen=True)
class DrawingPlan:
    part: str
    root: Any
    texts: tuple[TextPlan, ...]
    charts: tuple[ChartPlan, ...]


@dataclass(frozen=True)
class SheetPlan:
    entry: SheetEntry
    skeleton: Any  # the sheet's XML with an empty sheetData
    tab: jinja2.Template | None
    repeat: tuple[str, Expression] | None
    blocks: tuple[RowPlan | RowBlock, ...]
    row_loops: tuple[AxisLoop, ...]
    col_loops: tuple[AxisLoop, ...]
    removed_rows: tuple[int, ...]
    texts: tuple[TextPlan, ...]
    drawing: DrawingPlan | None
    owned: tuple[str, ...]  # parts the sheet owns (drawing, charts, comments, ...)


class _Compiler:
    """Turns the scans of a workbook into sheet plans, compiling each tag once."""

    def __init__(
        self, name: str, strings: Sequence[SharedString], styles: Styles, filters: Filters
    ) -> None:
        self._tags = TagCompiler(name, make_environment(filters=filters))
        self._header_footer = make_environment(filters=filters, finalize=_header_footer_text)
        self._strings = strings
        self._styles = styles
        self.styles = styles

    @property
    def reads(self) -> NamesRead:
        """The context names the sheets compiled so far read."""
        return self._tags.reads

    def sheet(self, scan: SheetScan, owned: Sequence[str]) -> SheetPlan:
        pairing = pair_markers(scan.markers)
        if pairing.flaws:
            label, message = pairing.flaws[0]
            self._tags.fail(f"{label}: {message}")
        if scan.has_tables and (pairing.row_loops or pairing.col_loops or pairing.sheet_loop):
            self._tags.fail(f"{scan.entry.name}: Excel tables cannot be used in a sheet with loops")
        # What a '{%sheet for x in items %}' binds, everywhere on the sheet but in its items.
        sheet_loop = pairing.sheet_loop.loop if pairing.sheet_loop is not None else None
        bound = frozenset() if sheet_loop is None else frozenset({sheet_loop[0]})
        row_loops = tuple(
            self._loop(number, start, start.row + 1, end.row - 1, bound)
            for number, (start, end) in enumerate(pairing.row_loops)
        )
        col_loops = tuple(
            self._loop(number, start, start.col, end.col, bound)
            for number, (start, end) in enumerate(pairing.col_loops)
        )
        repeat = None
        if pairing.sheet_loop is not None and sheet_loop is not None:
            var, items = sheet_loop
            repeat = (var, self._tags.expression(items, pairing.sheet_loop.label))
        removed = tuple(
            sorted(m.row for m in scan.markers if m.kind in ("tr-for", "tr-endfor", "sheet-for"))
        )
        widths, default_width = column_widths(scan.root)
        merged_widths: dict[tuple[int, int], float] = {}
        for merge in scan.root.iterfind(f"{M}mergeCells/{M}mergeCell"):
            area = parse_area(merge.get("ref", ""))
            if area is not None and area.kind == "area" and area.r1 == area.r2:
                merged_widths[(area.r1, area.c1)] = sum(
                    widths.get(c, default_width) for c in range(area.c1, area.c2 + 1)
                )
        row_vars = {row: loop.var for loop in row_loops for row in range(loop.first, loop.last + 1)}
        col_vars = {col: loop.var for loop in col_loops for col in range(loop.first, loop.last + 1)}
        cells_by_row: dict[int, list[CellPlan]] = {}
        for cell in scan.cells:
            width = merged_widths.get((cell.row, cell.col), widths.get(cell.col, default_width))
            fit = self._styles.fit(cell.element.get("s"), width)
            wrap_fit = self._styles.fit(cell.element.get("s"), width, wrapped=True)
            loop_vars = (row_vars.get(cell.row), col_vars.get(cell.col))
            cell_bound = bound.union(var for var in loop_vars if var is not None)
            cell_plan = self._cell(cell, fit, cell_bound, wrap_fit)
            cells_by_row.setdefault(cell.row, []).append(cell_plan)
        blocks = self._row_blocks(
            scan, cells_by_row, row_loops, col_loops, set(removed), default_row_height(scan.root)
        )
        skeleton = copy.deepcopy(scan.root)
        sheet_data = skeleton.find(f"{M}sheetData")
        if sheet_data is not None:
            for child in list(sheet_data):
                sheet_data.remove(child)
        texts = tuple(self.text(found, bound) for found in scan.attrs)
        drawing = None
        if scan.drawing is not None:
            drawing = DrawingPlan(
                scan.drawing.part,
                scan.drawing.root,
                tuple(self.text(t, bound) for t in scan.drawing.texts),
                tuple(
                    ChartPlan(c.part, c.root, tuple(self.text(t, bound) for t in c.texts))
                    for c in scan.drawing.charts
                ),
            )
        tab = None
        if scan.tab_source is not None:
            label = f"{scan.entry.name} (sheet name)"
            tab = self._tags.template(scan.tab_source, label, bound=bound)
        return SheetPlan(
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
        scan: SheetScan,
        cells_by_row: Mapping[int, list[CellPlan]],
        row_loops: Sequence[AxisLoop],
        col_loops: Sequence[AxisLoop],
        removed: set[int],
        default_height: float,
    ) -> tuple[RowPlan | RowBlock, ...]:
        blocks: list[RowPlan | RowBlock] = []
        loop_of = {row: loop for loop in row_loops for row in range(loop.first, loop.last + 1)}
        current: tuple[AxisLoop, list[RowPlan]] | None = None
        for index, attrib in scan.rows:
            if index in removed:
                continue
            custom = attrib.get("customHeight") in ("1", "true")
            plan = RowPlan(
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
                blocks.append(RowBlock(loop, ()))
            current[1].append(plan)
            blocks[-1] = RowBlock(loop, tuple(current[1]))
        return tuple(blocks)

    def _cell(
        self,
        cell: FoundCell,
        fit: tuple[float, float] | None,
        bound: frozenset[str],
        wrap_fit: tuple[float, float] | None = None,
    ) -> CellPlan:
        element = cell.element
        style = element.get("s")
        if cell.formula is not None:
            f = element.find(f"{M}f")
            attrib = tuple(
                (k, v) for k, v in f.attrib.items() if k not in ("t", "si", "ref") or (
                    k == "t" and v == "array"
                )
            )  # fmt: skip
            array_ref = parse_area(f.get("ref", "")) if f.get("t") == "array" else None
            return CellPlan(
                cell.col, cell.label, FORMULA, element, style,
                formula=parse_formula(cell.formula), formula_attrib=attrib, array_ref=array_ref,
            )  # fmt: skip
        if cell.source is None:
            if not isinstance(cell.value, str):
                fit = None
            return CellPlan(cell.col, cell.label, STATIC, element, style, value=cell.value, fit=fit)
        first_rpr = None
        if element.get("t") == "s":
            try:
                first_rpr = self._strings[int(element.findtext(f"{M}v") or "")].first_rpr
            except (ValueError, IndexError):
                first_rpr = None
        single = _SINGLE_TAG.fullmatch(cell.source)
        if single is not None and not single.group(1).startswith("-"):
            inner = single.group(1)
            if inner.endswith("-"):
                inner = inner[:-1]
            expression = self._tags.expression(inner, cell.label, bound=bound)
            return CellPlan(
                cell.col, cell.label, TYPED, element, style, expression=expression,
                first_rpr=first_rpr, fit=fit, wrap_fit=wrap_fit,
            )  # fmt: skip
        template = self._tags.template(cell.source, cell.label, bound=bound)
        return CellPlan(
            cell.col, cell.label, TEXT, element, style, template=template, first_rpr=first_rpr,
            fit=fit, wrap_fit=wrap_fit,
        )  # fmt: skip

    def text(self, found: FoundAttr, bound: frozenset[str]) -> TextPlan:
        environment = self._header_footer if found.header_footer else None
        template = self._tags.template(found.source, found.label, environment, bound=bound)
        limit = DV_TEXT_LIMITS.get(found.attribute or "")
        if found.attribute in ("descr", "title"):
            limit = None
        return TextPlan(found.path, found.attribute, found.label, template, limit)

    def _loop(
        self, number: int, marker: Marker, first: int, last: int, bound: frozenset[str]
    ) -> AxisLoop:
        var, items = marker.loop or ("", "")
        expression = self._tags.expression(items, marker.label, bound=bound)
        return AxisLoop(var=var, items=expression, id=number, first=first, last=last)


def _header_footer_text(value: Any) -> str:
    """Like plain text, but '&' in values is doubled: it starts a code in headers and footers."""
    return plain_text(value).replace("&", "&&")


def _cell_blocks(
    cells: Sequence[CellPlan], col_loops: Sequence[AxisLoop]
) -> tuple[CellPlan | ColBlock, ...]:
    blocks: list[CellPlan | ColBlock] = []
    loop_of = {col: loop for loop in col_loops for col in range(loop.first, loop.last + 1)}
    for cell in sorted(cells, key=lambda c: c.col):
        loop = loop_of.get(cell.col)
        if loop is None:
            blocks.append(cell)
        elif blocks and isinstance(blocks[-1], ColBlock) and blocks[-1].loop is loop:
            blocks[-1] = ColBlock(loop, (*blocks[-1].cells, cell))
        else:
            blocks.append(ColBlock(loop, (cell,)))
    return tuple(blocks)


@dataclass(frozen=True)
class WorkbookPlan:
    """A compiled workbook: its package, its workbook part and one plan per worksheet."""

    name: str
    package: Package
    workbook_part: str
    workbook_root: Any
    sheets: tuple[SheetPlan, ...]
    date1904: bool
    reads: NamesRead
    properties: DrawingPlan | None = None  # core properties with tags (no charts)
    styles: Styles = field(default_factory=lambda: Styles((), ()))  # which formats wrap
    _copies: dict[str, ZipEntry] = field(default_factory=dict, compare=False, repr=False)

    def copied(self, member: str) -> ZipEntry:
        """A member a render copies as it is: compressed at its first render, then reused."""
        entry = self._copies.get(member)
        if entry is None:
            entry = self._copies[member] = ZipEntry.of(member, self.package.members[member])
        return entry


def compile_workbook(data: bytes, *, name: str, filters: Filters) -> WorkbookPlan:
    """Parse ``data`` (an .xlsx file) and compile every tag in it; raise TemplateError."""
    package, workbook_part, workbook_root, scans = open_workbook(data, name)
    compiler = _Compiler(
        name, shared_strings(package, workbook_part), read_styles(package, workbook_part), filters
    )
    sheets = tuple(
        compiler.sheet(scan, package.owned_tree(scan.entry.part, OWNED_RELTYPES)) for scan in scans
    )
    found = scan_properties(package)
    properties = None
    if found is not None:
        texts = tuple(compiler.text(t, frozenset()) for t in found.texts)
        properties = DrawingPlan(found.part, found.root, texts, ())
    pr = workbook_root.find(f"{M}workbookPr")
    date1904 = pr is not None and pr.get("date1904") in ("1", "true")
    return WorkbookPlan(
        name,
        package,
        workbook_part,
        workbook_root,
        sheets,
        date1904,
        compiler.reads,
        properties,
        compiler.styles,
    )
