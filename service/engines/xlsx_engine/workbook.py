"""Reading a workbook: its worksheets, shared strings, and what row heights depend on."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.opc import OFFICE_DOCUMENT, Package, xml_bytes
from service.engines.xlsx_engine.spreadsheetml import (
    R_ID,
    RT_SHARED_STRINGS,
    RT_STYLES,
    RT_WORKSHEET,
    STRICT_MAIN_NS,
    M,
)
from service.errors import TemplateError


@dataclass(frozen=True)
class SheetEntry:
    """A sheet as the workbook lists it."""

    name: str
    sheet_id: str
    rid: str
    part: str
    state: str | None
    index: int


@dataclass(frozen=True)
class SharedString:
    text: str
    first_rpr: Any  # the first run's properties of a rich-text string, or None


def sheet_entries(package: Package) -> tuple[str, Any, list[SheetEntry]]:
    """The workbook part, its XML and its sheets."""
    office = [r for r in package.rels("") if r.reltype == OFFICE_DOCUMENT]
    if not office:
        raise TemplateError(f"{package.name}: no workbook in the file")
    workbook_part = office[0].target
    root = package.xml(workbook_part)
    if root.tag.startswith(f"{{{STRICT_MAIN_NS}}}"):
        raise TemplateError(f"{package.name}: Strict Open XML is not supported; save as .xlsx")
    rels = {r.rid: r for r in package.rels(workbook_part)}
    entries = []
    sheets = root.find(f"{M}sheets")
    for index, sheet in enumerate([] if sheets is None else sheets, 0):
        rel = rels.get(sheet.get(R_ID, ""))
        if rel is None or rel.reltype != RT_WORKSHEET:
            continue  # chart sheets and dialog sheets are copied as they are
        entries.append(
            SheetEntry(
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


def shared_strings(package: Package, workbook_part: str) -> list[SharedString]:
    part = next(
        (r.target for r in package.rels(workbook_part) if r.reltype == RT_SHARED_STRINGS), None
    )
    if part is None or part not in package.members:
        return []
    strings = []
    for si in package.xml(part).iterchildren(f"{M}si"):
        runs = list(si.iterchildren(f"{M}r"))
        if runs:
            text = "".join(r.findtext(f"{M}t") or "" for r in runs)
            strings.append(SharedString(text, runs[0].find(f"{M}rPr")))
        else:
            strings.append(SharedString(si.findtext(f"{M}t") or "", None))
    return strings


@dataclass(frozen=True)
class Styles:
    """What row heights depend on: per cell format, whether it wraps and its font.

    ``part`` is the styles part (None without one), where wrapped copies of formats go.
    """

    wrap: tuple[bool, ...]
    fonts: tuple[tuple[float, bool], ...]  # (size in points, bold)
    part: str | None = None

    def wraps(self, style: str | None) -> bool:
        """Whether the cell format ``style`` (an index into cellXfs) wraps text."""
        index = _style_index(style)
        return index < len(self.wrap) and self.wrap[index]

    def fit(
        self, style: str | None, width: float, *, wrapped: bool = False
    ) -> tuple[float, float] | None:
        """(characters per line, line height) for wrapped text in a column ``width`` wide.

        None when the format does not wrap, unless ``wrapped`` (a wrapped copy will be used).
        """
        index = _style_index(style)
        if index >= len(self.wrap) or not (wrapped or self.wrap[index]):
            return None
        size, bold = self.fonts[index]
        # Column widths count '0' digits of the 11 pt default font; text runs about 1.1 to 1.3
        # characters per digit width, bold a little less. Erring low costs a blank line.
        per_line = max(1.0, width * 1.1 * 11 / size * (0.9 if bold else 1.0) - 1)
        return per_line, size * 1.3 + 0.5


def _style_index(style: str | None) -> int:
    return int(style) if style and style.isdigit() else 0


def read_styles(package: Package, workbook_part: str) -> Styles:
    part = styles_part(package, workbook_part)
    if part is None or part not in package.members:
        return Styles((), ())
    root = package.xml(part)
    fonts = []
    for font in root.iterfind(f"{M}fonts/{M}font"):
        size = font.find(f"{M}sz")
        bold = font.find(f"{M}b")
        fonts.append(
            (
                float(size.get("val", "11")) if size is not None else 11.0,
                bold is not None and bold.get("val", "1") not in ("0", "false"),
            )
        )
    wrap: list[bool] = []
    xf_fonts: list[tuple[float, bool]] = []
    for xf in root.iterfind(f"{M}cellXfs/{M}xf"):
        alignment = xf.find(f"{M}alignment")
        wrap.append(alignment is not None and alignment.get("wrapText", "0") in ("1", "true"))
        font_id = int(xf.get("fontId", "0") or 0)
        xf_fonts.append(fonts[font_id] if font_id < len(fonts) else (11.0, False))
    return Styles(tuple(wrap), tuple(xf_fonts), part)


def styles_part(package: Package, workbook_part: str) -> str | None:
    """The workbook's styles part, if it has one."""
    part = next((r.target for r in package.rels(workbook_part) if r.reltype == RT_STYLES), None)
    return part if part is not None and part in package.members else None


class WrappedStyles:
    """Wrapped copies of cell formats, added to styles.xml for text with line breaks.

    A line break shows in Excel and LibreOffice only in a cell whose format wraps text. A
    rendered string with a newline in a cell whose format does not wrap gets a copy of that
    format with ``wrapText`` on, appended to cellXfs; each format is copied once per render,
    in the order cells are written, so the same context gives the same bytes.
    """

    def __init__(self, package: Package, styles: Styles) -> None:
        self._package = package
        self._styles = styles
        self._copies: dict[int, int] = {}  # format index -> index of its wrapped copy

    def style_for(self, style: str | None) -> str | None:
        """The format for a cell showing text with line breaks: ``style`` or a wrapped copy."""
        if self._styles.part is None or self._styles.wraps(style):
            return style
        index = _style_index(style)
        if index >= len(self._styles.wrap):
            return style  # a format the styles part does not have: left as the template has it
        copy_index = self._copies.setdefault(index, len(self._styles.wrap) + len(self._copies))
        return str(copy_index)

    def part(self) -> tuple[str, bytes] | None:
        """The styles part with the wrapped copies appended; None when none was needed."""
        if not self._copies or self._styles.part is None:
            return None
        root = self._package.xml(self._styles.part)
        cell_xfs = root.find(f"{M}cellXfs")
        formats = cell_xfs.findall(f"{M}xf")
        for index in sorted(self._copies, key=self._copies.__getitem__):
            xf = copy.deepcopy(formats[index])
            alignment = xf.find(f"{M}alignment")
            if alignment is None:
                # CT_Xf: alignment comes first, before protection and extLst.
                alignment = etree.Element(f"{M}alignment")
                xf.insert(0, alignment)
            alignment.set("wrapText", "1")
            xf.set("applyAlignment", "1")
            cell_xfs.append(xf)
        cell_xfs.set("count", str(len(cell_xfs.findall(f"{M}xf"))))
        return self._styles.part, xml_bytes(root)


def column_widths(root: Any) -> tuple[dict[int, float], float]:
    """Width of each column the sheet sets, and the default width."""
    pr = root.find(f"{M}sheetFormatPr")
    default = 8.43
    if pr is not None and pr.get("defaultColWidth"):
        default = float(pr.get("defaultColWidth"))
    elif pr is not None and pr.get("baseColWidth"):
        default = float(pr.get("baseColWidth")) + 0.71
    widths: dict[int, float] = {}
    for col in root.iterfind(f"{M}cols/{M}col"):
        low, high = int(col.get("min", "1")), int(col.get("max", "1"))
        width = float(col.get("width", default))
        for index in range(low, min(high, low + 255) + 1):
            widths[index] = 0.0 if col.get("hidden") in ("1", "true") else width
    return widths, default


def default_row_height(root: Any) -> float:
    pr = root.find(f"{M}sheetFormatPr")
    return float(pr.get("defaultRowHeight", "15")) if pr is not None else 15.0


def text_lines(text: str, per_line: float) -> int:
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
