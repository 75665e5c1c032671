"""Moving what a sheet says about its cells once loops have moved them.

The used range, views and frozen panes, column widths, merged cells, conditional formatting,
data validation, hyperlinks, filters, protected ranges, page breaks and the x14 extensions:
each names cells or ranges of the template and must name the rendered ones.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.xlsx_engine.formulas import area_text, cell_name, parse_area
from service.engines.xlsx_engine.instances import (
    Links,
    SheetInstance,
    cell_ref,
    placements,
    sqref,
)
from service.engines.xlsx_engine.spreadsheetml import MAX_COL, XM, M


def fix_dimension(root: Any, bounds: list[int]) -> None:
    """The used range, from the rows and columns written (``bounds``: r1, c1, r2, c2)."""
    dimension = root.find(f"{M}dimension")
    if dimension is None:
        return
    if bounds[2] == 0:
        dimension.set("ref", "A1")
    elif (bounds[0], bounds[1]) == (bounds[2], bounds[3]):
        dimension.set("ref", cell_name(bounds[0], bounds[1]))
    else:
        dimension.set("ref", area_text(bounds[1], bounds[0], bounds[3], bounds[2]))


def fix_views(root: Any, instance: SheetInstance, *, active_tab: int) -> None:
    """Selected tab, top-left cells, frozen panes and selections, moved."""
    views = root.find(f"{M}sheetViews")
    for number, view in enumerate([] if views is None else views.iterchildren(f"{M}sheetView")):
        # Exactly one selected tab: several would open the workbook with sheets grouped.
        if number == 0 and instance.index == active_tab:
            view.set("tabSelected", "1")
        elif "tabSelected" in view.attrib:
            del view.attrib["tabSelected"]
        if view.get("topLeftCell"):
            view.set("topLeftCell", cell_ref(view.get("topLeftCell"), instance) or "A1")
        pane = view.find(f"{M}pane")
        if pane is not None and pane.get("topLeftCell"):
            old = parse_area(pane.get("topLeftCell"))
            new = cell_ref(pane.get("topLeftCell"), instance) or "A1"
            pane.set("topLeftCell", new)
            new_ref = parse_area(new)
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
        for selection in view.iterchildren(f"{M}selection"):
            active = cell_ref(selection.get("activeCell", "A1"), instance) or "A1"
            selection.set("activeCell", active)
            if selection.get("sqref"):
                selection.set("sqref", sqref(selection.get("sqref"), instance) or active)


def fix_columns(root: Any, instance: SheetInstance) -> None:
    """Column widths and styles, repeated for the copies of looped columns."""
    cols_el = root.find(f"{M}cols")
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

    for col in list(cols_el.iterchildren(f"{M}col")):
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
        if low <= MAX_COL:
            etree.SubElement(
                cols_el,
                f"{M}col",
                {"min": str(low), "max": str(min(high, MAX_COL)), **attrib},
            )
    if len(cols_el) == 0:
        root.remove(cols_el)


def fix_ranges(root: Any, instance: SheetInstance, links: Links) -> None:
    """Merged cells, conditional formats, validations, hyperlinks, filters and breaks, moved."""
    merges = root.find(f"{M}mergeCells")
    if merges is not None:
        refs = [m.get("ref", "") for m in merges.iterchildren(f"{M}mergeCell")]
        for merge in list(merges):
            merges.remove(merge)
        for ref in refs:
            for placed in placements(ref, instance):
                etree.SubElement(merges, f"{M}mergeCell", {"ref": placed})
        _set_count_or_drop(root, merges)
    for cf in list(root.iterchildren(f"{M}conditionalFormatting")):
        ranges = sqref(cf.get("sqref", ""), instance)
        if not ranges:
            root.remove(cf)
            continue
        cf.set("sqref", ranges)
        for formula in cf.iter(f"{M}formula"):
            formula.text = links.formula(formula.text or "", instance)
    validations = root.find(f"{M}dataValidations")
    if validations is not None:
        for dv in list(validations):
            ranges = sqref(dv.get("sqref", ""), instance)
            if not ranges:
                validations.remove(dv)
                continue
            dv.set("sqref", ranges)
            for tag in ("formula1", "formula2"):
                element = dv.find(f"{M}{tag}")
                if element is not None and element.text:
                    element.text = links.formula(element.text, instance)
        _set_count_or_drop(root, validations)
    hyperlinks = root.find(f"{M}hyperlinks")
    if hyperlinks is not None:
        for link in list(hyperlinks):
            for placed in placements(link.get("ref", ""), instance):
                copy_ = copy.deepcopy(link)
                copy_.set("ref", placed)
                if copy_.get("location"):
                    copy_.set("location", links.formula(copy_.get("location"), instance))
                link.addprevious(copy_)
            hyperlinks.remove(link)
        if len(hyperlinks) == 0:
            root.remove(hyperlinks)
    for element in root.iter(f"{M}autoFilter"):
        if element.get("ref"):
            element.set("ref", sqref(element.get("ref"), instance) or "A1")
    for tag in ("ignoredError", "protectedRange"):
        for element in root.iter(f"{M}{tag}"):
            if element.get("sqref"):
                element.set("sqref", sqref(element.get("sqref"), instance) or "A1")
    for tag, axis in (("rowBreaks", instance.row_map), ("colBreaks", instance.col_map)):
        breaks = root.find(f"{M}{tag}")
        for brk in [] if breaks is None else list(breaks):
            moved = axis.end(int(brk.get("id", "0")), {})
            if moved is None or moved < 1:
                breaks.remove(brk)
            else:
                brk.set("id", str(moved))
    for ext in root.iter(f"{M}extLst"):
        for element in ext.iter(f"{XM}sqref"):
            element.text = sqref(element.text or "", instance) or "A1"
        for f in ext.iter(f"{XM}f"):
            f.text = links.formula(f.text or "", instance)


def _set_count_or_drop(root: Any, container: Any) -> None:
    if len(container) == 0:
        root.remove(container)
    elif container.get("count") is not None:
        container.set("count", str(len(container)))
