"""Finding template text on slides: shared by the compiler and the template checker.

A scan lists what the engine renders on one slide and its notes, in reading order: templated
paragraphs, tables with their row markers, shapes named ``chart:EXPR`` or ``image:EXPR`` and the
``{%slide for %}`` box, without compiling or judging any of it. ``pptx_spots`` hands the same
places to the checker, named as the engine's errors name them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.shapes.group import GroupShape

from service.engines.inspection import TemplateSpot
from service.engines.tags import ROW_ENDFOR, ROW_FOR
from service.errors import TemplateError

_SLIDE_FOR = re.compile(r"\{%-?\s*slide\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
CHART_PREFIX = "chart:"
_IMAGE_PREFIX = "image:"


@dataclass(frozen=True)
class FoundText:
    """A paragraph that holds template text (a ``{``), found but not compiled."""

    element: Any  # the a:p element
    label: str
    source: str


@dataclass(frozen=True)
class FoundMarker:
    """A table row whose first cell is a ``{%tr for %}`` or ``{%tr endfor %}`` marker."""

    row: int  # index among the table's rows
    label: str
    source: str  # the first cell's text
    loop: tuple[str, str] | None  # (variable, items expression); None for an endfor


@dataclass(frozen=True)
class FoundTable:
    """A table: its row markers and the template paragraphs of its other rows."""

    tbl: Any  # the a:tbl element
    label: str
    markers: tuple[FoundMarker, ...]
    cells: tuple[tuple[int, FoundText], ...]  # (row index, paragraph), in reading order


@dataclass(frozen=True)
class FoundShape:
    """A shape named ``chart:EXPR`` or ``image:EXPR``."""

    element: Any
    label: str
    prefix: str
    source: str  # EXPR
    fits: bool  # whether the shape is a chart (or picture) at all


@dataclass(frozen=True)
class FoundDirective:
    """A text box whose whole text is ``{%slide for x in items %}``."""

    element: Any
    label: str
    source: str
    var: str
    items: str


_Found = FoundText | FoundTable | FoundShape | FoundDirective


@dataclass(frozen=True)
class SlideScan:
    """Everything on one slide that the engine renders, in reading order."""

    found: tuple[_Found, ...]
    notes: tuple[FoundText, ...]


@dataclass(frozen=True)
class _RowPairing:
    """How a table's row markers pair up, and what is wrong with them."""

    loops: tuple[tuple[FoundMarker, FoundMarker], ...]  # (for, endfor)
    owner: Mapping[int, FoundMarker]  # body row -> the '{%tr for %}' that repeats it
    flaws: tuple[tuple[str, str], ...]  # (label, message)


def open_presentation(data: bytes, *, name: str) -> Any:
    try:
        return Presentation(BytesIO(data))
    except Exception as exc:  # any failure means the file is unreadable
        raise TemplateError(f"{name}: not a readable pptx file ({exc})") from exc


def scan_slide(number: int, slide: Any) -> SlideScan:
    """Find the template text of a slide and its notes, without compiling or judging it."""
    where = f"slide {number}"
    found: list[_Found] = []
    for shape, label in _walk_shapes(slide.shapes, f"{where}, shape "):
        name = shape.name
        if name.startswith(CHART_PREFIX):
            source = name[len(CHART_PREFIX) :]
            found.append(FoundShape(shape._element, label, CHART_PREFIX, source, shape.has_chart))
            continue
        if name.startswith(_IMAGE_PREFIX):
            source = name[len(_IMAGE_PREFIX) :]
            fits = _is_picture(shape)
            found.append(FoundShape(shape._element, label, _IMAGE_PREFIX, source, fits))
            continue
        if shape.has_text_frame:
            tx_body = shape._element.find(qn("p:txBody"))
            text = _element_text(tx_body).strip()
            match = _SLIDE_FOR.fullmatch(text)
            if match is not None:
                directive = FoundDirective(
                    shape._element, label, text, match.group(1), match.group(2)
                )
                found.append(directive)
                continue
            found.extend(_found_paragraphs(tx_body, label))
        elif shape.has_table:
            found.append(_scan_table(shape._element, label))
    notes: list[FoundText] = []
    if slide.has_notes_slide:
        for shape, label in _walk_shapes(slide.notes_slide.shapes, f"{where}, notes shape "):
            if shape.has_text_frame:
                notes.extend(_found_paragraphs(shape._element.find(qn("p:txBody")), label))
    return SlideScan(tuple(found), tuple(notes))


def _found_paragraphs(tx_body: Any, label: str) -> Iterator[FoundText]:
    if tx_body is None:  # a placeholder that has never held text
        return
    for index, p in enumerate(tx_body.iterchildren(qn("a:p")), 1):
        source = _paragraph_source(p)
        if "{" in source:
            yield FoundText(p, f"{label}, paragraph {index}", source)


def _scan_table(frame: Any, label: str) -> FoundTable:
    tbl = frame.find(f"{qn('a:graphic')}/{qn('a:graphicData')}/{qn('a:tbl')}")
    markers: list[FoundMarker] = []
    cells: list[tuple[int, FoundText]] = []
    for r, tr in enumerate(tbl.iterchildren(qn("a:tr"))):
        row_label = f"{label}, row {r + 1}"
        tcs = list(tr.iterchildren(qn("a:tc")))
        first = _element_text(tcs[0].find(qn("a:txBody"))).strip() if tcs else ""
        start = ROW_FOR.fullmatch(first)
        if start is not None:
            markers.append(FoundMarker(r, row_label, first, (start.group(1), start.group(2))))
            continue
        if ROW_ENDFOR.fullmatch(first):
            markers.append(FoundMarker(r, row_label, first, None))
            continue
        for c, tc in enumerate(tcs, 1):
            for found in _found_paragraphs(tc.find(qn("a:txBody")), f"{row_label}, cell {c}"):
                cells.append((r, found))
    return FoundTable(tbl, label, tuple(markers), tuple(cells))


def pair_row_markers(table: FoundTable) -> _RowPairing:
    """Pair ``{%tr for %}`` with ``{%tr endfor %}``; an unclosed loop runs to the table's end."""
    loops: list[tuple[FoundMarker, FoundMarker]] = []
    flaws: list[tuple[str, str]] = []
    open_loop: FoundMarker | None = None
    for marker in table.markers:
        if marker.loop is not None:
            if open_loop is not None:
                flaws.append((marker.label, "row loops cannot be nested"))
            open_loop = marker
        elif open_loop is None:
            flaws.append((marker.label, "'{%tr endfor %}' without '{%tr for %}'"))
        else:
            loops.append((open_loop, marker))
            open_loop = None
    if open_loop is not None:
        flaws.append((open_loop.label, "'{%tr for %}' without endfor"))
    # A row belongs to the nearest '{%tr for %}' above it with no '{%tr endfor %}' between.
    owner: dict[int, FoundMarker] = {}
    marker_at = {marker.row: marker for marker in table.markers}
    current: FoundMarker | None = None
    for row in range(1 + max([*marker_at, *(r for r, _ in table.cells)], default=-1)):
        at = marker_at.get(row)
        if at is not None:
            current = at if at.loop is not None else None
        elif current is not None:
            owner[row] = current
    return _RowPairing(tuple(loops), owner, tuple(flaws))


def pptx_spots(data: bytes, *, name: str) -> list[TemplateSpot]:
    """Every piece of template text in a pptx file where the engine renders it, uncompiled.

    Text paragraphs come as they are; a chart or picture named ``chart:EXPR`` as ``{{ EXPR }}``;
    the structural markers (``{%slide for %}`` boxes, ``{%tr for %}``/``{%tr endfor %}`` rows)
    as their own text, at the location the engine's errors name. ``loop_variables`` holds the
    slide loop and row loop around each spot. Raises TemplateError only for an unreadable file.
    """
    prs = open_presentation(data, name=name)
    spots: list[TemplateSpot] = []
    for number, slide in enumerate(prs.slides, 1):
        scan = scan_slide(number, slide)
        directive = next((f for f in scan.found if isinstance(f, FoundDirective)), None)
        outer = {} if directive is None else {directive.var: directive.items.strip()}
        for found in scan.found:
            if isinstance(found, FoundDirective):
                spots.append(TemplateSpot(found.label, found.source))
            elif isinstance(found, FoundShape):
                source = f"{{{{ {found.source.strip()} }}}}"
                spots.append(TemplateSpot(found.label, source, outer))
            elif isinstance(found, FoundText):
                spots.append(TemplateSpot(found.label, found.source, outer))
            else:
                spots.extend(_table_spots(found, outer))
        spots.extend(TemplateSpot(found.label, found.source, outer) for found in scan.notes)
    return spots


def _table_spots(table: FoundTable, outer: Mapping[str, str]) -> list[TemplateSpot]:
    owner = pair_row_markers(table).owner
    rows: list[tuple[int, TemplateSpot]] = [
        (marker.row, TemplateSpot(marker.label, marker.source, outer)) for marker in table.markers
    ]
    for row, found in table.cells:
        start = owner.get(row)
        scope = dict(outer)
        if start is not None and start.loop is not None:
            scope[start.loop[0]] = start.loop[1].strip()
        rows.append((row, TemplateSpot(found.label, found.source, scope)))
    return [spot for _row, spot in sorted(rows, key=lambda item: item[0])]


def _walk_shapes(shapes: Any, prefix: str) -> Iterator[tuple[Any, str]]:
    """Every shape, group members included, with a label such as ``shape 'Grupp 1' > 'Text'``."""
    for shape in shapes:
        label = f"{prefix}'{shape.name}'"
        yield shape, label
        if isinstance(shape, GroupShape):
            yield from _walk_shapes(shape.shapes, f"{label} > ")


def _is_picture(shape: Any) -> bool:
    if shape._element.tag == qn("p:pic"):
        return True
    return callable(getattr(shape, "insert_picture", None))


def _paragraph_source(p: Any) -> str:
    """The text of a paragraph across all its runs; line breaks as newlines."""
    parts: list[str] = []
    for child in p.iterchildren():
        if child.tag == qn("a:br"):
            parts.append("\n")
        elif child.tag in (qn("a:r"), qn("a:fld")):
            t = child.find(qn("a:t"))
            if t is not None and t.text:
                parts.append(t.text)
    return "".join(parts)


def _element_text(tx_body: Any) -> str:
    if tx_body is None:
        return ""
    return "\n".join(_paragraph_source(p) for p in tx_body.iterchildren(qn("a:p")))
