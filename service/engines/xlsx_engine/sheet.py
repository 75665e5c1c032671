"""Rendering one sheet: its rows and cells, looped and filled, and its other texts."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import jinja2
from lxml import etree  # type: ignore[import-untyped]

from service.engines.opc import xml_bytes
from service.engines.safe_text import xml_safe
from service.engines.tags import (
    Expression,
    Trail,
    evaluate,
    follow,
    render_error,
    render_text,
)
from service.engines.xlsx_engine.axes import Ctx, map_area
from service.engines.xlsx_engine.compiling import FORMULA, STATIC, TEXT, CellPlan, RowPlan
from service.engines.xlsx_engine.formulas import area_text, cell_name
from service.engines.xlsx_engine.instances import UNKNOWN, Links, SheetInstance
from service.engines.xlsx_engine.ranges import fix_columns, fix_dimension, fix_ranges, fix_views
from service.engines.xlsx_engine.spreadsheetml import MAX_CELL_TEXT, MAX_COL, MAX_ROW, XML_SPACE, M
from service.engines.xlsx_engine.workbook import WrappedStyles, text_lines
from service.errors import RenderError


class SheetRenderer:
    """Renders the sheets of one workbook render."""

    def __init__(
        self,
        *,
        template_name: str,
        links: Links,
        date1904: bool,
        active_tab: int,
        wrapping: WrappedStyles | None = None,
    ) -> None:
        self._name = template_name
        self._links = links
        self._date1904 = date1904
        self._active_tab = active_tab  # the output position of the selected tab
        self._wrapping = wrapping

    def render(self, instance: SheetInstance) -> bytes:
        """The sheet's XML: its rows filled, everything naming cells moved."""
        plan = instance.plan
        root = copy.deepcopy(plan.skeleton)
        sheet_data = root.find(f"{M}sheetData")
        bounds = [MAX_ROW + 1, MAX_COL + 1, 0, 0]
        if sheet_data is not None:
            self._fill_rows(sheet_data, instance, bounds)
        fix_dimension(root, bounds)
        fix_views(root, instance, active_tab=self._active_tab)
        fix_columns(root, instance)
        fix_ranges(root, instance, self._links)
        self._fix_texts(root, instance)
        return xml_bytes(root)

    def _fill_rows(self, sheet_data: Any, instance: SheetInstance, bounds: list[int]) -> None:
        rows = instance.row_map
        for block in instance.plan.blocks:
            if isinstance(block, RowPlan):
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
        instance: SheetInstance,
        row: RowPlan,
        out: int,
        scope: Mapping[str, Any],
        rctx: Ctx,
        trail: Trail,
        bounds: list[int],
    ) -> None:
        if out > MAX_ROW:
            raise self._error(instance.plan.entry.name, "more rows than Excel allows", trail)
        row_el = etree.SubElement(sheet_data, f"{M}row", {"r": str(out), **dict(row.attrib)})
        cols = instance.col_map
        height = row.auto_height or 0.0
        for block in row.blocks:
            if isinstance(block, CellPlan):
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
                    if col > MAX_COL:
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
        instance: SheetInstance,
        cell: CellPlan,
        row: int,
        col: int,
        scope: Mapping[str, Any],
        rctx: Ctx,
        cctx: Ctx,
        trail: Trail,
    ) -> Any:
        """Write one cell; return its value as far as it is known here."""
        ref = cell_name(row, col)
        if cell.kind == STATIC:
            c = copy.deepcopy(cell.element)
            c.set("r", ref)
            row_el.append(c)
            instance.values[(row, col)] = cell.value
            return cell.value
        c = etree.SubElement(row_el, f"{M}c", {"r": ref})
        if cell.style is not None:
            c.set("s", cell.style)
        if cell.kind == FORMULA:
            assert cell.formula is not None
            f = etree.SubElement(c, f"{M}f", dict(cell.formula_attrib))
            f.text = cell.formula.render(self._links.resolver(instance, rctx, cctx))
            if cell.array_ref is not None:
                mapped = map_area(cell.array_ref, instance.row_map, instance.col_map, rctx, cctx)
                f.set("ref", ref if mapped is None else area_text(*mapped))
            instance.values[(row, col)] = UNKNOWN
            return UNKNOWN
        if cell.kind == TEXT:
            assert cell.template is not None
            value: Any = self._render_text(cell.template, scope, cell.label, trail)
        else:
            assert cell.expression is not None
            value = self._evaluate(cell.expression, scope, trail)
        written = self._write_value(c, value, cell, trail)
        instance.values[(row, col)] = written
        return written

    def _write_value(self, c: Any, value: Any, cell: CellPlan, trail: Trail) -> Any:
        """Store ``value`` in cell ``c`` by its type; return it as a chart cache would see it."""
        if value is None or (isinstance(value, str) and value == ""):
            return None
        if isinstance(value, bool):
            c.set("t", "b")
            etree.SubElement(c, f"{M}v").text = "1" if value else "0"
            return value
        if (isinstance(value, int | float) and math.isfinite(value)) or (
            isinstance(value, Decimal) and value.is_finite()
        ):
            etree.SubElement(c, f"{M}v").text = (
                repr(value) if isinstance(value, float) else str(value)
            )
            return float(value)
        if isinstance(value, dt.date | dt.time):
            serial = _date_serial(value, date1904=self._date1904)
            etree.SubElement(c, f"{M}v").text = repr(serial)
            return serial
        text = xml_safe(str(value))
        if len(text) > MAX_CELL_TEXT:
            raise self._error(
                cell.label, f"text of {len(text)} characters; a cell holds {MAX_CELL_TEXT}", trail
            )
        # An inline string is text whatever it starts with: '=1+1' never becomes a formula.
        c.set("t", "inlineStr")
        is_ = etree.SubElement(c, f"{M}is")
        holder = is_
        if cell.first_rpr is not None:
            holder = etree.SubElement(is_, f"{M}r")
            holder.append(copy.deepcopy(cell.first_rpr))
        t = etree.SubElement(holder, f"{M}t")
        t.text = text
        t.set(XML_SPACE, "preserve")
        if "\n" in text and self._wrapping is not None:
            # A line break shows only in a cell that wraps: a wrapped copy of its format.
            wrapped = self._wrapping.style_for(cell.style)
            if wrapped is not None:
                c.set("s", wrapped)
        return text

    def _fix_texts(self, root: Any, instance: SheetInstance) -> None:
        for spot in instance.plan.texts:
            element = follow(root, spot.path)
            text = self._render_text(spot.template, instance.scope, spot.label, instance.trail)
            if spot.limit is not None:
                text = text[: spot.limit]
            if spot.attribute is None:
                element.text = text
            else:
                element.set(spot.attribute, text)

    def _evaluate(self, expression: Expression, scope: Mapping[str, Any], trail: Trail) -> Any:
        return evaluate(expression, scope, template_name=self._name, trail=trail)

    def _render_text(
        self, template: jinja2.Template, scope: Mapping[str, Any], label: str, trail: Trail
    ) -> str:
        return render_text(template, scope, label=label, template_name=self._name, trail=trail)

    def _error(self, label: str, message: str, trail: Trail) -> RenderError:
        return render_error(self._name, label, message, trail)


def _needed_height(cell: CellPlan, value: Any) -> float:
    if not isinstance(value, str) or not value:
        return 0.0
    fit = cell.fit if cell.fit is not None or "\n" not in value else cell.wrap_fit
    if fit is None:
        return 0.0
    per_line, line_height = fit
    return text_lines(value, per_line) * line_height + 2


def _grow(bounds: list[int], row: int, col: int) -> None:
    bounds[0] = min(bounds[0], row)
    bounds[1] = min(bounds[1], col)
    bounds[2] = max(bounds[2], row)
    bounds[3] = max(bounds[3], col)


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
