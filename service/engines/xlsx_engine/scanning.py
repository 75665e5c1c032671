"""Finding template text in a workbook: shared by the compiler and the template checker.

A scan lists each sheet's cells, its loop markers (``{%tr %}``, ``{%tc %}``, ``{%sheet %}``)
and the template text outside cells (validation messages, header and footer, alt text, chart
titles), without compiling or judging any of it. ``xlsx_spots`` hands the same places to the
checker, named as the engine's errors name them.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.inspection import TemplateSpot
from service.engines.opc import Package
from service.engines.tags import ROW_ENDFOR, ROW_FOR, element_path
from service.engines.xlsx_engine.formulas import (
    CELL_PART,
    Formula,
    cell_name,
    col_index,
    parse_formula,
)
from service.engines.xlsx_engine.spreadsheetml import (
    DV_TEXT_LIMITS,
    HEADER_FOOTER_TAGS,
    RT_CHART,
    RT_CORE_PROPERTIES,
    RT_DRAWING,
    RT_TABLE,
    XDR,
    XM,
    A,
    M,
)
from service.engines.xlsx_engine.workbook import (
    SharedString,
    SheetEntry,
    shared_strings,
    sheet_entries,
)

_SHEET_FOR = re.compile(r"\{%-?\s*sheet\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_COL_FOR = re.compile(r"\s*\{%-?\s*tc\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_COL_ENDFOR = re.compile(r"\{%-?\s*tc\s+endfor\s*-?%\}\s*$")
_TAG_START = re.compile(r"\{[{%#]")
_TAG_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# Office and LibreOffice autocorrect may turn quotes typed inside a tag into typographic ones.
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class FoundCell:
    """A cell of a sheet as the template holds it."""

    row: int
    col: int
    element: Any
    label: str
    source: str | None  # template text (markers stripped) if the cell holds template text
    formula: str | None  # formula text, shared formulas expanded
    value: Any  # the literal value (for chart caches)


@dataclass(frozen=True)
class Marker:
    """A ``{%tr for %}``, ``{%tr endfor %}``, ``{%sheet for %}`` or ``{%tc ... %}`` marker."""

    kind: str  # "tr-for", "tr-endfor", "sheet-for", "tc-for", "tc-endfor"
    row: int
    col: int
    label: str
    source: str
    loop: tuple[str, str] | None = None  # (variable, items expression)


@dataclass(frozen=True)
class FoundAttr:
    """Template text outside the cells: validation messages, header and footer, alt text."""

    path: tuple[int, ...]  # from the part's root element
    attribute: str | None  # None: the element's text
    label: str
    source: str
    header_footer: bool = False


@dataclass(frozen=True)
class ChartScan:
    part: str
    root: Any
    texts: tuple[FoundAttr, ...]  # a:p paragraphs with template text


@dataclass(frozen=True)
class DrawingScan:
    part: str
    root: Any
    texts: tuple[FoundAttr, ...]
    charts: tuple[ChartScan, ...]


@dataclass(frozen=True)
class SheetScan:
    entry: SheetEntry
    root: Any
    rows: tuple[tuple[int, dict[str, str]], ...]  # every row element: (index, attributes)
    cells: tuple[FoundCell, ...]  # cells outside marker rows, in reading order
    markers: tuple[Marker, ...]
    attrs: tuple[FoundAttr, ...]
    drawing: DrawingScan | None
    has_tables: bool
    tab_source: str | None


def _has_tag(text: str) -> bool:
    return _TAG_START.search(text) is not None


def _straighten(text: str) -> str:
    """Plain quotes inside tags; text outside tags is left as typed."""
    return _TAG_SPAN.sub(lambda m: m.group(0).translate(_SMART_QUOTES), text)


def _cell_text(c: Any, strings: Sequence[SharedString]) -> tuple[str | None, Any]:
    """(text of a string cell or None, literal value)."""
    kind = c.get("t")
    if kind == "s":
        v = c.findtext(f"{M}v")
        try:
            text = strings[int(v or "")].text
        except (ValueError, IndexError):
            return None, None
        return text, text
    if kind == "inlineStr":
        is_ = c.find(f"{M}is")
        if is_ is None:
            return "", ""
        runs = list(is_.iterchildren(f"{M}r"))
        text = "".join(r.findtext(f"{M}t") or "" for r in runs) if runs else is_.findtext(f"{M}t")
        return text or "", text or ""
    v = c.findtext(f"{M}v")
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
        match = CELL_PART.fullmatch(ref)
        if match:
            return col_index(match[2])
    return previous_col + 1


def _scan_sheet(package: Package, entry: SheetEntry, strings: Sequence[SharedString]) -> SheetScan:
    root = package.xml(entry.part)
    name = entry.name
    rows: list[tuple[int, dict[str, str]]] = []
    cells: list[FoundCell] = []
    markers: list[Marker] = []
    shared: dict[str, tuple[int, int, Formula]] = {}
    sheet_data = root.find(f"{M}sheetData")
    previous_row = 0
    for row_el in [] if sheet_data is None else sheet_data.iterchildren(f"{M}row"):
        index = int(row_el.get("r") or previous_row + 1)
        previous_row = index
        attributes = {k: v for k, v in row_el.attrib.items() if k not in ("r", "spans")}
        rows.append((index, attributes))
        row_cells: list[FoundCell] = []
        col = 0
        for c in row_el.iterchildren(f"{M}c"):
            col = _cell_position(c, index, col)
            label = f"{name}!{cell_name(index, col)}"
            text, value = _cell_text(c, strings)
            formula = _formula_of(c, index, col, shared)
            source = text if formula is None and text is not None and _has_tag(text) else None
            row_cells.append(FoundCell(index, col, c, label, source, formula, value))
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
                FoundCell(cell.row, cell.col, cell.element, cell.label, source, None, None)
            )
    attrs = _sheet_attrs(root, name)
    rels = package.rels(entry.part)
    drawing = next(
        (
            _scan_drawing(package, r.target, name)
            for r in rels
            if r.reltype == RT_DRAWING and not r.external and r.target in package.members
        ),
        None,
    )
    has_tables = any(r.reltype == RT_TABLE for r in rels)
    tab_source = _straighten(name) if _has_tag(name) else None
    return SheetScan(
        entry, root, tuple(rows), tuple(cells), tuple(markers), attrs, drawing, has_tables,
        tab_source,
    )  # fmt: skip


def _formula_of(
    c: Any, row: int, col: int, shared: dict[str, tuple[int, int, Formula]]
) -> str | None:
    f = c.find(f"{M}f")
    if f is None:
        return None
    text = f.text or ""
    if f.get("t") == "shared":
        si = f.get("si", "")
        if text:
            shared[si] = (row, col, parse_formula(text))
        elif si in shared:
            origin_row, origin_col, master = shared[si]
            text = master.translated(row - origin_row, col - origin_col)
    return text


def _row_marker(cell: FoundCell | None) -> Marker | None:
    if cell is None or cell.source is None:
        return None
    text = _straighten(cell.source).strip()
    match = ROW_FOR.fullmatch(text)
    if match:
        return Marker("tr-for", cell.row, cell.col, cell.label, text, (match[1], match[2]))
    if ROW_ENDFOR.fullmatch(text):
        return Marker("tr-endfor", cell.row, cell.col, cell.label, text)
    match = _SHEET_FOR.fullmatch(text)
    if match:
        return Marker("sheet-for", cell.row, cell.col, cell.label, text, (match[1], match[2]))
    return None


def _column_markers(cell: FoundCell) -> tuple[str, list[Marker]]:
    """The cell's template text without column markers, and the markers."""
    source = _straighten(cell.source or "")
    found: list[Marker] = []
    start = _COL_FOR.match(source)
    if start:
        found.append(
            Marker("tc-for", cell.row, cell.col, cell.label, start.group(0).strip(),
                    (start[1], start[2]))
        )  # fmt: skip
        source = source[start.end() :]
    end = _COL_ENDFOR.search(source)
    if end:
        found.append(Marker("tc-endfor", cell.row, cell.col, cell.label, end.group(0).strip()))
        source = source[: end.start()]
    return source, found


def _sheet_attrs(root: Any, name: str) -> tuple[FoundAttr, ...]:
    found: list[FoundAttr] = []
    for dv in root.iter(f"{M}dataValidation", "{*}dataValidation"):
        sqref = dv.get("sqref") or dv.findtext(f"{XM}sqref") or ""
        first = sqref.split(" ")[0].split(":")[0] if sqref else "?"
        for attribute in DV_TEXT_LIMITS:
            value = dv.get(attribute)
            if value and _has_tag(value):
                label = f"{name}!{first} (data validation {attribute})"
                found.append(
                    FoundAttr(element_path(root, dv), attribute, label, _straighten(value))
                )
    header_footer = root.find(f"{M}headerFooter")
    if header_footer is not None:
        for element in header_footer:
            if element.tag in HEADER_FOOTER_TAGS and element.text and _has_tag(element.text):
                label = f"{name} ({etree.QName(element).localname})"
                found.append(
                    FoundAttr(
                        element_path(root, element), None, label, _straighten(element.text), True
                    )
                )
    # Iterating a set of tags would not be ordered; dedupe while keeping document order.
    unique: dict[tuple[tuple[int, ...], str | None], FoundAttr] = {}
    for item in found:
        unique.setdefault((item.path, item.attribute), item)
    return tuple(unique.values())


def _scan_drawing(package: Package, part: str, sheet: str) -> DrawingScan:
    root = package.xml(part)
    texts: list[FoundAttr] = []
    for nv in root.iter(f"{XDR}cNvPr"):
        for attribute in ("descr", "title"):
            value = nv.get(attribute)
            if value and _has_tag(value):
                label = f"{sheet}, drawing '{nv.get('name', '')}' ({attribute})"
                texts.append(
                    FoundAttr(element_path(root, nv), attribute, label, _straighten(value))
                )
    charts = []
    for rel in package.rels(part):
        if rel.reltype == RT_CHART and not rel.external and rel.target in package.members:
            chart_root = package.xml(rel.target)
            chart_texts = []
            for number, p in enumerate(chart_root.iter(f"{A}p"), 1):
                source = "".join(t.text or "" for t in p.iter(f"{A}t"))
                if _has_tag(source):
                    label = f"{sheet}, {posixpath.basename(rel.target)}, paragraph {number}"
                    chart_texts.append(
                        FoundAttr(element_path(chart_root, p), None, label, _straighten(source))
                    )
            charts.append(ChartScan(rel.target, chart_root, tuple(chart_texts)))
    return DrawingScan(part, root, tuple(texts), tuple(charts))


@dataclass(frozen=True)
class _Pairing:
    row_loops: tuple[tuple[Marker, Marker], ...]
    col_loops: tuple[tuple[Marker, Marker], ...]
    sheet_loop: Marker | None
    flaws: tuple[tuple[str, str], ...]


def pair_markers(markers: Sequence[Marker]) -> _Pairing:
    flaws: list[tuple[str, str]] = []
    row_loops: list[tuple[Marker, Marker]] = []
    open_row: Marker | None = None
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
    col_loops: list[tuple[Marker, Marker]] = []
    open_col: Marker | None = None
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


@dataclass(frozen=True)
class PropertiesScan:
    """The package's core properties (title, subject, language, dates) with template text."""

    part: str
    root: Any
    texts: tuple[FoundAttr, ...]


def scan_properties(package: Package) -> PropertiesScan | None:
    """``docProps/core.xml``'s elements whose text holds a tag, such as ``{{ file.title }}``."""
    part = next(
        (r.target for r in package.rels("") if r.reltype == RT_CORE_PROPERTIES and not r.external),
        None,
    )
    if part is None or part not in package.members:
        return None
    root = package.xml(part)
    texts = tuple(
        FoundAttr(
            element_path(root, element),
            None,
            f"document properties ({etree.QName(element).localname})",
            _straighten(element.text),
        )
        for element in root
        if isinstance(element.tag, str) and element.text and _has_tag(element.text)
    )
    return PropertiesScan(part, root, texts) if texts else None


def open_workbook(data: bytes, name: str) -> tuple[Package, str, Any, list[SheetScan]]:
    package = Package(data, name=name, kind="xlsx")
    workbook_part, workbook_root, entries = sheet_entries(package)
    strings = shared_strings(package, workbook_part)
    scans = [_scan_sheet(package, entry, strings) for entry in entries]
    return package, workbook_part, workbook_root, scans


def xlsx_spots(data: bytes, *, name: str) -> list[TemplateSpot]:
    """Every piece of template text in an xlsx file where the engine renders it, uncompiled.

    Cells come as their text at ``Sheet!B4`` (a cell with column markers as the markers and the
    remaining text, each at the cell); row markers as their own text; a ``{%sheet for x in
    items %}`` row as ``{{ items }}`` (as pptx hands over ``chart:EXPR``); tab names,
    validation messages, header and footer, chart titles, alt text and document properties at
    their own locations.
    ``loop_variables`` maps the sheet, row and column loops around each spot to their items
    expression. Raises TemplateError only for an unreadable file.
    """
    package, _part, _root, scans = open_workbook(data, name)
    spots: list[TemplateSpot] = []
    properties = scan_properties(package)
    if properties is not None:
        spots.extend(TemplateSpot(t.label, t.source) for t in properties.texts)
    for scan in scans:
        pairing = pair_markers(scan.markers)
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


def _row_owners(loops: Sequence[tuple[Marker, Marker]]) -> dict[int, Marker]:
    return {row: start for start, end in loops for row in range(start.row + 1, end.row)}


def _col_owners(loops: Sequence[tuple[Marker, Marker]]) -> dict[int, Marker]:
    return {col: start for start, end in loops for col in range(start.col, end.col + 1)}


def _scope_at(marker: Marker | None) -> dict[str, str]:
    if marker is None or marker.loop is None:
        return {}
    return {marker.loop[0]: marker.loop[1].strip()}
