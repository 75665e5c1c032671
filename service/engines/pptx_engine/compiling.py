"""Compiling a presentation's scans into slide plans, every tag compiled once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from service.engines.jinja_env import Filters, make_environment
from service.engines.pptx_engine.scanning import (
    CHART_PREFIX,
    FoundDirective,
    FoundShape,
    FoundTable,
    FoundText,
    pair_row_markers,
    scan_slide,
)
from service.engines.tags import (
    ElementPath,
    Expression,
    Loop,
    NamesRead,
    TagCompiler,
    element_path,
)


@dataclass(frozen=True)
class TextSpot:
    """One templated paragraph."""

    path: ElementPath
    label: str
    template: jinja2.Template
    drop_if_empty: bool


@dataclass(frozen=True)
class RowLoop:
    """Rows ``start+1 .. end-1`` of a table, repeated per item; rows start and end are markers."""

    table_path: ElementPath
    start: int
    end: int
    loop: Loop
    body: tuple[TextSpot, ...]  # paths relative to the a:tbl element, first index = row


@dataclass(frozen=True)
class ShapeSpot:
    """A chart or picture whose content comes from an expression."""

    path: ElementPath
    expression: Expression


@dataclass(frozen=True)
class SlidePlan:
    """What to do with one slide of the template; paths are relative to the slide's root."""

    repeat: Loop | None
    directive_path: ElementPath | None
    texts: tuple[TextSpot, ...]
    row_loops: tuple[RowLoop, ...]
    charts: tuple[ShapeSpot, ...]
    images: tuple[ShapeSpot, ...]
    notes: tuple[TextSpot, ...]  # paths relative to the notes slide's root


class SlideCompiler:
    """Builds the slide plans of a template from its scan, compiling each tag once."""

    def __init__(self, name: str, filters: Filters) -> None:
        self._tags = TagCompiler(name, make_environment(filters=filters))

    @property
    def reads(self) -> NamesRead:
        """The context names the slides compiled so far read."""
        return self._tags.reads

    def slide_plan(self, number: int, slide: Any) -> SlidePlan:
        root = slide.part._element
        scan = scan_slide(number, slide)
        # What a '{%slide for x in items %}' binds, everywhere on the slide but in its items.
        bound = frozenset(f.var for f in scan.found if isinstance(f, FoundDirective))
        repeat: Loop | None = None
        directive_path: ElementPath | None = None
        texts: list[TextSpot] = []
        row_loops: list[RowLoop] = []
        charts: list[ShapeSpot] = []
        images: list[ShapeSpot] = []
        for found in scan.found:
            if isinstance(found, FoundShape):
                if not found.fits:
                    kind = "chart" if found.prefix == CHART_PREFIX else "picture"
                    self._tags.fail(f"{found.label}: shape named '{found.prefix}…' is not a {kind}")
                spot = ShapeSpot(
                    element_path(root, found.element),
                    self._tags.expression(found.source, found.label, bound=bound),
                )
                (charts if found.prefix == CHART_PREFIX else images).append(spot)
            elif isinstance(found, FoundDirective):
                if repeat is not None:
                    self._tags.fail(f"{found.label}: a slide can have only one '{{%slide for %}}'")
                repeat = Loop(found.var, self._tags.expression(found.items, found.label))
                directive_path = element_path(root, found.element)
            elif isinstance(found, FoundText):
                texts.append(self._text_spot(root, found, bound))
            else:
                table_texts, loops = self._table(root, found, bound)
                texts.extend(table_texts)
                row_loops.extend(loops)
        notes: list[TextSpot] = []
        if scan.notes:
            notes_root = slide.notes_slide.part._element
            notes = [self._text_spot(notes_root, found, bound) for found in scan.notes]
        return SlidePlan(
            repeat=repeat,
            directive_path=directive_path,
            texts=tuple(texts),
            row_loops=tuple(row_loops),
            charts=tuple(charts),
            images=tuple(images),
            notes=tuple(notes),
        )

    def _text_spot(self, root: Any, found: FoundText, bound: frozenset[str]) -> TextSpot:
        template = self._tags.template(found.source, found.label, bound=bound)
        drop = found.source.lstrip().startswith("{%")
        return TextSpot(element_path(root, found.element), found.label, template, drop)

    def _table(
        self, root: Any, table: FoundTable, bound: frozenset[str]
    ) -> tuple[list[TextSpot], list[RowLoop]]:
        pairing = pair_row_markers(table)
        if pairing.flaws:
            label, message = pairing.flaws[0]
            self._tags.fail(f"{label}: {message}")
        loops: dict[int, Loop] = {}  # by the row of its '{%tr for %}'
        for start, _end in pairing.loops:
            var, items = start.loop or ("", "")
            loops[start.row] = Loop(var, self._tags.expression(items, start.label, bound=bound))
        texts: list[TextSpot] = []
        bodies: dict[int, list[TextSpot]] = {start.row: [] for start, _ in pairing.loops}
        for row, found in table.cells:
            loop_start = pairing.owner.get(row)
            if loop_start is None:
                texts.append(self._text_spot(root, found, bound))
            else:
                # Body spots are addressed from the a:tbl element: their rows are copied.
                in_row = bound | {loops[loop_start.row].var}
                bodies[loop_start.row].append(self._text_spot(table.tbl, found, in_row))
        tbl_path = element_path(root, table.tbl)
        row_loops = [
            RowLoop(tbl_path, start.row, end.row, loops[start.row], tuple(bodies[start.row]))
            for start, end in pairing.loops
        ]
        return texts, row_loops
