"""Rendering a sheet's drawing and charts: anchors, texts, series and their caches.

A chart series whose values lie in a repeated row or column is repeated per item; the last
copy keeps the series' colours and earlier ones get lighter shades of them. Chart caches are
rebuilt from the rendered values, so a reader that does not recalculate shows them too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.opc import with_prefixes, xml_bytes
from service.engines.tags import follow, render_text
from service.engines.xlsx_engine.axes import map_area
from service.engines.xlsx_engine.compiling import ChartPlan, DrawingPlan, TextPlan
from service.engines.xlsx_engine.formulas import Formula, Ref, parse_formula
from service.engines.xlsx_engine.instances import UNKNOWN, Links, Repeat, SheetInstance
from service.engines.xlsx_engine.spreadsheetml import DRAWING_PREFIXES, XDR, A, C


class DrawingRenderer:
    """Renders the drawings and charts of one workbook render."""

    def __init__(
        self,
        *,
        template_name: str,
        links: Links,
        axis_names: Mapping[int, Mapping[str, str]] | None = None,
    ) -> None:
        self._name = template_name
        self._links = links
        # Per template sheet index: "min"/"max" -> the formula of bd_chart_min/bd_chart_max.
        self._axis_names = axis_names or {}

    def drawing(self, drawing: DrawingPlan, instance: SheetInstance) -> bytes:
        """The drawing part: anchors moved with their cells, texts filled."""
        root = copy.deepcopy(drawing.root)
        for anchor in root:
            for tag, mapper in ((f"{XDR}from", "start"), (f"{XDR}to", "end")):
                point = anchor.find(tag)
                if point is None:
                    continue
                for axis_tag, axis in ((f"{XDR}row", instance.row_map),
                                       (f"{XDR}col", instance.col_map)):  # fmt: skip
                    element = point.find(axis_tag)
                    if element is None or not (element.text or "").strip().isdigit():
                        continue
                    index = int(element.text) + 1
                    moved = getattr(axis, mapper)(index, {})
                    element.text = str(max((moved or index) - 1, 0))
        self._apply_texts(root, drawing.texts, instance)
        return xml_bytes(with_prefixes(root, DRAWING_PREFIXES))

    def _apply_texts(self, root: Any, texts: Sequence[TextPlan], instance: SheetInstance) -> None:
        for spot in texts:
            element = follow(root, spot.path)
            text = render_text(
                spot.template,
                instance.scope,
                label=spot.label,
                template_name=self._name,
                trail=instance.trail,
            )
            if spot.attribute is not None:
                element.set(spot.attribute, text)
                continue
            runs = list(element.iter(f"{A}r"))
            for extra in runs[1:]:
                extra.getparent().remove(extra)
            if runs:
                t = runs[0].find(f"{A}t")
                if t is None:
                    t = etree.SubElement(runs[0], f"{A}t")
                t.text = text

    def chart(self, chart: ChartPlan, instance: SheetInstance) -> bytes:
        """The chart part: series moved, repeated per loop item, caches rebuilt."""
        root = copy.deepcopy(chart.root)
        self._apply_texts(root, chart.texts, instance)
        plot = root.find(f"{C}chart/{C}plotArea")
        for group in [] if plot is None else list(plot):
            for ser in list(group.iterchildren(f"{C}ser")):
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
            self._set_axis_bounds(plot, instance)
            for number, ser in enumerate(plot.iter(f"{C}ser")):
                for tag in ("idx", "order"):
                    element = ser.find(f"{C}{tag}")
                    if element is not None:
                        element.set("val", str(number))
        return xml_bytes(with_prefixes(root, DRAWING_PREFIXES))

    def _set_axis_bounds(self, plot: Any, instance: SheetInstance) -> None:
        """Value axes span the numbers in the sheet's cells named bd_chart_min/bd_chart_max.

        So a chart of scores keeps its axis on the scale from data (1-3, or 1-4), whatever
        the bars; a name that is missing or not a number leaves the template's bound.
        """
        names = self._axis_names.get(instance.plan.entry.index, {})
        bounds: dict[str, float] = {}
        for bound, text in names.items():
            values = self._cached_values(parse_formula(text), instance, None) or []
            number = next((v for v in values if isinstance(v, int | float)), None)
            if number is not None and not isinstance(number, bool):
                bounds[bound] = float(number)
        if not bounds:
            return
        for scaling in plot.iterfind(f"{C}valAx/{C}scaling"):
            for bound in ("max", "min"):  # schema order: orientation, max, min
                if bound not in bounds:
                    continue
                element = scaling.find(f"{C}{bound}")
                if element is None:
                    element = etree.Element(f"{C}{bound}")
                    anchor = scaling.find(f"{C}max") if bound == "min" else None
                    if anchor is None:
                        anchor = scaling.find(f"{C}orientation")
                    if anchor is None:
                        scaling.insert(0, element)
                    else:
                        anchor.addnext(element)
                element.set("val", _number_text(bounds[bound]))

    def _series_loop(self, ser: Any, instance: SheetInstance) -> Repeat | None:
        """(sheet, axis, loop, copies) when the series' values lie in a repeated row or column."""
        values = _series_ref(ser, ("val", "yVal"))
        if values is None:
            return None
        target, *_ = self._links.target(values, instance, {}, {})
        if not isinstance(target, SheetInstance):
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

    def _map_series(self, ser: Any, instance: SheetInstance, repeat: Repeat | None) -> None:
        resolve = self._links.resolver(instance, {}, {}, repeat)
        for f in ser.iter(f"{C}f"):
            formula = parse_formula(f.text or "")
            f.text = formula.render(resolve)
            holder = f.getparent()
            kind = etree.QName(holder).localname
            if kind not in ("numRef", "strRef"):
                continue
            cached = self._cached_values(formula, instance, repeat)
            if cached is not None:
                _set_cache(holder, cached, numeric=kind == "numRef")

    def _cached_values(
        self, formula: Formula, instance: SheetInstance, repeat: Repeat | None
    ) -> list[Any] | None:
        refs = formula.refs
        if len(refs) != 1 or any(isinstance(p, str) and p.strip() for p in formula.pieces):
            return None
        ref = refs[0]
        target, rctx, cctx, _prefix = self._links.target(ref, instance, {}, {})
        if not isinstance(target, SheetInstance):
            return None
        if repeat is not None and target is repeat[0]:
            if repeat[1] == "rows":
                rctx = {repeat[2]: repeat[3]}
            else:
                cctx = {repeat[2]: repeat[3]}
        area = map_area(ref, target.row_map, target.col_map, rctx, cctx)
        if area is None:
            return []
        c1, r1, c2, r2 = area
        if (c2 - c1 + 1) * (r2 - r1 + 1) > 10_000:
            return None
        return [target.values.get((r, c)) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def _lighten(ser: Any, share: float) -> None:
    """Blend the explicit RGB colours of a series' shape toward white by ``share`` (0–1)."""
    sp_pr = ser.find(f"{C}spPr")
    if sp_pr is None or share <= 0:
        return
    for colour in sp_pr.iter(f"{A}srgbClr"):
        value = colour.get("val", "")
        if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
            continue
        channels = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
        colour.set("val", "".join(f"{round(c + (255 - c) * share):02X}" for c in channels))


def _series_ref(ser: Any, tags: Sequence[str]) -> Ref | None:
    for tag in tags:
        element = ser.find(f"{C}{tag}")
        if element is None:
            continue
        f = element.find(f".//{C}f")
        if f is None or not f.text:
            return None
        refs = parse_formula(f.text).refs
        return refs[0] if len(refs) == 1 else None
    return None


def _set_cache(holder: Any, values: Sequence[Any], *, numeric: bool) -> None:
    tag = f"{C}numCache" if numeric else f"{C}strCache"
    old = holder.find(tag)
    format_code = None if old is None else old.findtext(f"{C}formatCode")
    if old is not None:
        holder.remove(old)
    # The schema wants the cache right after the formula, before any extLst.
    cache = etree.Element(tag)
    holder.find(f"{C}f").addnext(cache)
    if numeric:
        etree.SubElement(cache, f"{C}formatCode").text = format_code or "General"
    etree.SubElement(cache, f"{C}ptCount", {"val": str(len(values))})
    for index, value in enumerate(values):
        if value is None or value is UNKNOWN:
            continue
        if numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            text = repr(float(value))
        else:
            text = value if isinstance(value, str) else _number_text(value)
        pt = etree.SubElement(cache, f"{C}pt", {"idx": str(index)})
        etree.SubElement(pt, f"{C}v").text = text


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
