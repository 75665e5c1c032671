"""The sheets of one render, and what a template's references point at among them.

Each output sheet (``SheetInstance``) knows where its template rows and columns landed; ``Links``
turns a reference written in the template into the text it must read in the output, seen from
the sheet that holds it: moved by the loops, prefixed by the copied sheet's new name, or
``#REF!`` when what it named is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.engines.tags import Trail
from service.engines.xlsx_engine.axes import AxisMap, Ctx, map_area, map_ref_text
from service.engines.xlsx_engine.compiling import SheetPlan
from service.engines.xlsx_engine.formulas import (
    Ref,
    area_text,
    cell_name,
    parse_area,
    parse_formula,
    quote_sheet,
    ref_body,
)

UNKNOWN = object()  # a formula's value: not computed here
_GONE = object()  # a sheet the template has but a sheet loop left out


@dataclass
class SheetInstance:
    """One output sheet: a template sheet, or one copy of a repeated one."""

    plan: SheetPlan
    scope: dict[str, Any]
    trail: Trail
    first: bool  # the first (or only) copy keeps the template's part names
    name: str = ""
    index: int = 0
    rows: AxisMap | None = None
    cols: AxisMap | None = None
    row_items: dict[int, list[Any]] = field(default_factory=dict)
    col_items: dict[int, list[Any]] = field(default_factory=dict)
    part: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # template part -> output part
    sheet_id: str = ""
    rid: str = ""
    values: dict[tuple[int, int], Any] = field(default_factory=dict)

    @property
    def row_map(self) -> AxisMap:
        assert self.rows is not None
        return self.rows

    @property
    def col_map(self) -> AxisMap:
        assert self.cols is not None
        return self.cols


# (the sheet, "rows" or "cols", a loop id, a copy number): one copy of a repeated chart series
Repeat = tuple[SheetInstance, str, int, int]


class Links:
    """References among the output sheets of one render, by the template's sheet names."""

    def __init__(self, instances: Sequence[SheetInstance], plans: Sequence[SheetPlan]) -> None:
        self._by_name: dict[str, list[SheetInstance]] = {}
        for instance in instances:
            key = instance.plan.entry.name.casefold()
            self._by_name.setdefault(key, []).append(instance)
        self._template_names = {plan.entry.name.casefold() for plan in plans}

    def resolver(
        self,
        own: SheetInstance | None,
        rctx: Ctx,
        cctx: Ctx,
        repeat: Repeat | None = None,
    ) -> Callable[[Ref], str]:
        """Maps a template reference to its rendered text, as seen from ``own``."""

        def resolve(ref: Ref) -> str:
            target, rows_ctx, cols_ctx, prefix = self.target(ref, own, rctx, cctx)
            if target is None:
                return ref.sheet_text + ref_body(
                    ref.kind, ref.c1, ref.r1, ref.c2, ref.r2, ref.fixed
                )
            if repeat is not None and target is repeat[0]:
                if repeat[1] == "rows":
                    rows_ctx = {**rows_ctx, repeat[2]: repeat[3]}
                else:
                    cols_ctx = {**cols_ctx, repeat[2]: repeat[3]}
            if target is _GONE:
                return "#REF!"
            text = map_ref_text(ref, target.row_map, target.col_map, rows_ctx, cols_ctx)
            return "#REF!" if text is None else prefix + text

        return resolve

    def target(
        self, ref: Ref, own: SheetInstance | None, rctx: Ctx, cctx: Ctx
    ) -> tuple[Any, Ctx, Ctx, str]:
        """(instance or None for a sheet outside the workbook or _GONE, contexts, prefix)."""
        if ref.sheet is None:
            if own is None:
                return None, {}, {}, ""
            return own, rctx, cctx, ""
        key = ref.sheet.casefold()
        if own is not None and key == own.plan.entry.name.casefold():
            return own, rctx, cctx, quote_sheet(own.name) + "!"
        found = self._by_name.get(key)
        if found is None:
            if key in self._template_names:
                return _GONE, {}, {}, ""
            return None, {}, {}, ""
        return found[0], {}, {}, quote_sheet(found[0].name) + "!"

    def formula(self, text: str, own: SheetInstance | None) -> str:
        """A formula's text with every reference as seen from ``own`` (None: the workbook)."""
        return parse_formula(text).render(self.resolver(own, {}, {}))


def sqref(text: str, instance: SheetInstance) -> str:
    """Each range of a space-separated list, expanded over the loops it spans."""
    out = []
    for part in text.split():
        area = parse_area(part)
        if area is None:
            out.append(part)
            continue
        if area.kind == "cell":
            area = Ref(None, "", "area", area.c1, area.r1, area.c1, area.r1, area.fixed)
        mapped = map_area(area, instance.row_map, instance.col_map, {}, {})
        if mapped is not None:
            c1, r1, c2, r2 = mapped
            out.append(area_text(c1, r1, c2, r2))
    return " ".join(out)


def placements(text: str, instance: SheetInstance) -> list[str]:
    """A range placed once per loop copy when it lies inside a loop body, else expanded."""
    area = parse_area(text)
    if area is None:
        return [text]
    rows, cols = instance.row_map, instance.col_map
    row_loop = rows.loop_around(area.r1, area.r2) if area.kind != "cols" else None
    col_loop = cols.loop_around(area.c1, area.c2) if area.kind != "rows" else None
    row_copies: list[int | None] = [None] if row_loop is None else list(range(rows.count(row_loop)))
    col_copies: list[int | None] = [None] if col_loop is None else list(range(cols.count(col_loop)))
    if area.kind == "cell":
        area = Ref(None, "", "area", area.c1, area.r1, area.c1, area.r1, area.fixed)
    placed = []
    for kr in row_copies:
        for kc in col_copies:
            rctx = {} if kr is None or row_loop is None else {row_loop: kr}
            cctx = {} if kc is None or col_loop is None else {col_loop: kc}
            mapped = map_area(area, rows, cols, rctx, cctx)
            if mapped is not None:
                c1, r1, c2, r2 = mapped
                placed.append(area_text(c1, r1, c2, r2))
    return placed


def cell_ref(text: str, instance: SheetInstance) -> str | None:
    """Where a single cell (the top left of a range) landed; None if it is gone."""
    area = parse_area(text)
    if area is None:
        return text
    row = instance.row_map.start(area.r1, {})
    col = instance.col_map.start(area.c1, {})
    if row is None or col is None:
        return None
    return cell_name(row, col)
