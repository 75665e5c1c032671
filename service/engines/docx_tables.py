"""Table grids after ``{%tc for %}``, ``{% hm %}`` and ``{% colspan %}``, as docxtpl fixes them.

A table's ``w:tblGrid`` declares its columns; Word redraws a table whose rows hold more or
fewer cells than that, but LibreOffice (our PDF path) drops or squeezes the extra columns.
After a render, ``adjust_table_grids`` makes every grid match its widest row (cells counted
with their ``gridSpan``), keeping the table's total width: docxtpl's ``fix_tables``, applied to
every part that uses those tags, and robust to columns without a width.

It is a ``docx_values`` part fix (registered on import): ``has_grid_tags`` tells at load, from
a part's Jinja source, whether the part needs it, so other templates pay nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.docx_values import PartFix, PartWriter, register_part_fix
from service.engines.opc import PARSER, xml_bytes

__all__ = ["adjust_table_grids", "has_grid_tags"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# In a part's Jinja source, after docxtpl's pre-processing: a '{%tc for %}' cell has become a
# Jinja statement standing between cells (after a cell or at a row's start); '{% hm %}' and
# '{% colspan %}' write a cell's gridSpan from a value.
_GRID_TAGS = re.compile(
    r"(?:</w:tc>|<w:tr(?:\s[^>]*)?>|</w:trPr>|</w:tblPrEx>)\s*\{%"
    r"|\{%-?\s*(?:end)?for\b[^%]*%\}\s*<w:tc[\s>]"
    r'|<w:gridSpan w:val="[^"]*\{\{'
)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def has_grid_tags(source: str) -> bool:
    """Whether a part's Jinja source holds a tag that can change a table's column count."""
    if "{%" not in source and 'w:val="{{' not in source:
        return False
    return _GRID_TAGS.search(_JINJA_COMMENT.sub("", source)) is not None


def _fix_grids(xml: str, _writer: PartWriter) -> str:
    data = xml.encode("utf-8")
    fixed = adjust_table_grids(data)
    return xml if fixed is data else fixed.decode("utf-8")


register_part_fix(PartFix("table grids", has_grid_tags, _fix_grids))


_TABLE_EDGE = re.compile(rb"<w:tbl[ >]|</w:tbl>")
_ROW = re.compile(rb"<w:tr[ >].*?</w:tr>", re.S)
_CELL = re.compile(rb"<w:tc[ >]")
_SPAN = re.compile(rb'<w:gridSpan w:val="(\d+)"/>')
_GRID = re.compile(rb"<w:tblGrid>(.*?)</w:tblGrid>", re.S)
_GRID_COL = re.compile(rb'<w:gridCol(?: w:w="(\d+)")?/>')


def adjust_table_grids(xml: bytes) -> bytes:
    """The part ``xml`` with every table's grid matching its rows; unchanged bytes if none.

    Tables are found and their grids rewritten in the text, without re-serialising the part;
    a part with nested tables or unusual grid markup takes the slower way through lxml.
    """
    pieces: list[bytes] = []
    done = depth = start = 0
    for edge in _TABLE_EDGE.finditer(xml):
        if edge.group() != b"</w:tbl>":
            depth += 1
            if depth == 1:
                start = edge.start()
            elif depth > 1:
                return _adjust_with_lxml(xml)
            continue
        depth -= 1
        if depth == 0:
            table = xml[start : edge.end()]
            fixed = _adjust_text(table)
            if fixed is None:
                return _adjust_with_lxml(xml)
            if fixed is not table:
                pieces += (xml[done:start], fixed)
                done = edge.end()
    if not pieces:
        return xml
    pieces.append(xml[done:])
    return b"".join(pieces)


def _adjust_text(table: bytes) -> bytes | None:
    """``table`` with its grid matching its rows (the same object if it does); None when the
    text is not the plain markup the fast way understands."""
    grids = _GRID.findall(table)
    if (
        len(grids) != 1
        or b"<w:tblGridChange" in table
        or table.count(b"<w:gridSpan") != len(_SPAN.findall(table))
    ):
        return None
    columns = _GRID_COL.findall(grids[0])
    if len(columns) != grids[0].count(b"<w:gridCol"):
        return None
    needed = 0
    for row in _ROW.finditer(table):
        text = row.group()
        cells = len(_CELL.findall(text))
        needed = max(needed, cells + sum(int(span) - 1 for span in _SPAN.findall(text)))
    if needed in (0, len(columns)):
        return table
    widths = [float(width or 0) for width in columns]
    new = _widths(widths, needed)
    cols = b"".join(
        b"<w:gridCol/>" if width is None else b'<w:gridCol w:w="%d"/>' % width for width in new
    )
    return _GRID.sub(lambda _: b"<w:tblGrid>" + cols + b"</w:tblGrid>", table, count=1)


def _widths(widths: list[float], needed: int) -> Sequence[int | None]:
    """docxtpl's new column widths: added columns take an average share and the old ones
    shrink in proportion; removed columns' width is spread evenly over those left."""
    have, total = len(widths), sum(widths)
    if total <= 0:
        return [None] * needed
    if needed > have:
        return [int(w * have / needed) for w in widths] + [int(total / needed)] * (needed - have)
    extra = int(sum(widths[needed:]) / needed)
    return [int(w) + extra for w in widths[:needed]]


def _adjust_with_lxml(xml: bytes) -> bytes:
    root = etree.fromstring(xml, PARSER)
    changed = False
    for table in root.iter(f"{_W}tbl"):
        changed |= _adjust(table)
    return xml_bytes(root) if changed else xml


def _width(column: Any) -> float:
    try:
        return float(column.get(f"{_W}w") or 0)
    except ValueError:
        return 0.0


def _span(cell: Any) -> int:
    span = cell.find(f"{_W}tcPr/{_W}gridSpan")
    if span is None:
        return 1
    try:
        return max(int(span.get(f"{_W}val") or 1), 1)
    except ValueError:
        return 1


def _adjust(table: Any) -> bool:
    grid = table.find(f"{_W}tblGrid")
    if grid is None:
        return False
    columns = grid.findall(f"{_W}gridCol")
    rows = table.findall(f"{_W}tr")
    if not rows:
        return False
    # Only this table's rows and cells: nested tables are adjusted on their own.
    needed = max(sum(_span(cell) for cell in row.findall(f"{_W}tc")) for row in rows)
    have = len(columns)
    if needed == have or needed == 0:
        return False
    widths = [_width(column) for column in columns]
    total = sum(widths)
    if needed > have:
        # docxtpl: the old columns shrink in proportion, the new ones take an average share.
        for column, width in zip(columns, widths, strict=True):
            if total > 0:
                column.set(f"{_W}w", str(int(width * have / needed)))
        for _ in range(needed - have):
            added = etree.SubElement(grid, f"{_W}gridCol")
            if total > 0:
                added.set(f"{_W}w", str(int(total / needed)))
    else:
        # docxtpl: the removed width is spread evenly over the columns left.
        removed = sum(widths[needed:])
        for column in columns[needed:]:
            grid.remove(column)
        extra = int(removed / needed)
        for column, width in zip(columns[:needed], widths[:needed], strict=True):
            if total > 0:
                column.set(f"{_W}w", str(int(width) + extra))
    return True
