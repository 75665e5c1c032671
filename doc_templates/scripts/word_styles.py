"""Shared look of the Word templates: A4, Calibri body and Cambria headings, Swedish language.

Used by the ``build_*_template.py`` scripts beside it. Tags follow the conventions of
``service.engines.docx_engine``: ``{{ value }}`` in any text, ``{%p ... %}`` paragraphs and
``{%tr ... %}`` rows that disappear from the finished document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

LANGUAGE = "sv-SE"
BODY_FONT = "Calibri"
HEADING_FONT = "Cambria"

NAVY = RGBColor(0x1F, 0x38, 0x64)
GREY = RGBColor(0x59, 0x59, 0x59)
CONTROL_GREY = RGBColor(0x8C, 0x8C, 0x8C)
HEADER_FILL = "DEEAF6"
HIGHLIGHT_FILL = "FFF2CC"
RULE = "BFBFBF"

PAGE_WIDTH = Cm(21.0)
PAGE_HEIGHT = Cm(29.7)
SIDE_MARGIN = Cm(2.2)
TEXT_WIDTH = Cm(21.0 - 2 * 2.2)
# Fixed, so that building a template twice changes nothing but the zip times.
CREATED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def new_document(*, title: str, subject: str) -> Any:
    """An empty A4 document with the house styles, Swedish as its language."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.left_margin = section.right_margin = SIDE_MARGIN
    section.top_margin, section.bottom_margin = Cm(2.4), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(1.1), Cm(1.0)
    _style_document(doc)
    props = doc.core_properties
    props.title, props.subject, props.language = title, subject, LANGUAGE
    props.author = props.last_modified_by = "Sveriges Kommuner och Regioner – benchmarking"
    props.keywords = "jämställdhetsintegrering; benchmarking; mall"
    # No tag syntax here: docxtpl renders the document properties as templates too.
    props.comments = (
        "Mall för benchdocs. Taggarna inom klamrar fylls i automatiskt; rader och stycken "
        "med tr- och p-taggar försvinner i det färdiga dokumentet."
    )
    props.created = props.modified = CREATED
    props.revision = 1
    # python-docx's own template brings a thumbnail of an unrelated page; file browsers show it.
    rels = doc.part.package.rels
    for rId in [k for k, rel in rels.items() if rel.reltype.endswith("/metadata/thumbnail")]:
        rels.pop(rId)
    # ... and Word 2010's stylesWithEffects, a second copy of the styles that no longer matches
    # ours (a schema validator warns that Word may find "unreadable content"); Word 2013 and
    # later neither write nor need it, and Word 2010 rebuilds it from styles.xml.
    part_rels = doc.part.rels
    for rId in [k for k, rel in part_rels.items() if rel.reltype.endswith("/stylesWithEffects")]:
        part_rels.pop(rId)
    return doc


def _style_document(doc: Any) -> None:
    styles_root = doc.styles.element
    defaults = styles_root.find(qn("w:docDefaults"))
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    _set_fonts(rpr, BODY_FONT)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    # Theme font attributes win over named fonts: drop them so each style's font is explicit.
    for fonts in styles_root.iter(qn("w:rFonts")):
        for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attribute), None)
    settings = doc.settings.element
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is None:
        theme_lang = OxmlElement("w:themeFontLang")
        settings.append(theme_lang)
    theme_lang.set(qn("w:val"), LANGUAGE)

    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1

    title = doc.styles["Title"]
    _heading_style(title, size=22, space_before=0, space_after=10)
    _remove_borders(title)
    subtitle = doc.styles["Subtitle"]
    _heading_style(subtitle, size=12, space_before=0, space_after=14, bold=False)
    subtitle.font.italic = False
    for spacing in subtitle.element.rPr.findall(qn("w:spacing")):
        subtitle.element.rPr.remove(spacing)
    subtitle.font.color.rgb = GREY
    _heading_style(doc.styles["Heading 1"], size=14, space_before=16, space_after=4)
    _heading_style(doc.styles["Heading 2"], size=12, space_before=10, space_after=3)

    bullet = doc.styles["List Bullet"]
    bullet.paragraph_format.space_after = Pt(3)
    bullet.paragraph_format.line_spacing = 1.1

    for name in ("Header", "Footer"):
        style = doc.styles[name]
        style.font.size = Pt(8.5)
        style.font.color.rgb = GREY
        style.paragraph_format.space_after = Pt(0)
        tabs = style.paragraph_format.tab_stops
        for stop in list(tabs):
            tabs._pPr.tabs.remove(stop._tab)
        tabs.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)

    table_text = doc.styles.add_style("Tabelltext", 1)
    table_text.base_style = normal
    table_text.font.size = Pt(10)
    table_text.paragraph_format.space_before = Pt(1)
    table_text.paragraph_format.space_after = Pt(1)
    table_text.paragraph_format.line_spacing = 1.0

    control = doc.styles.add_style("Mallstyrning", 1)
    control.base_style = table_text
    control.font.size = Pt(7.5)
    control.font.italic = True
    control.font.color.rgb = CONTROL_GREY


def _heading_style(
    style: Any, *, size: float, space_before: float, space_after: float, bold: bool = True
) -> None:
    style.font.name = HEADING_FONT
    _set_fonts(style.element.get_or_add_rPr(), HEADING_FONT)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.color.rgb = NAVY
    style.font.all_caps = False
    style.paragraph_format.space_before = Pt(space_before)
    style.paragraph_format.space_after = Pt(space_after)
    style.paragraph_format.keep_with_next = True


def _set_fonts(rpr: Any, font: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), font)


def _remove_borders(style: Any) -> None:
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


# -- text -------------------------------------------------------------------------------------


def paragraph(
    container: Any,
    *runs: str | tuple[str, str],
    style: str | None = None,
    keep_with_next: bool = False,
) -> Any:
    """A paragraph of runs; a run given as ``(text, "b")`` is bold, ``"i"`` italic."""
    p = container.add_paragraph(style=style)
    if keep_with_next:
        p.paragraph_format.keep_with_next = True
    for run in runs:
        text, marks = (run, "") if isinstance(run, str) else run
        r = p.add_run(text)
        r.bold = True if "b" in marks else None
        r.italic = True if "i" in marks else None
    return p


def control(container: Any, tag: str) -> Any:
    """A paragraph holding only a ``{%p … %}`` tag, small and grey: it never prints."""
    return paragraph(container, tag, style="Mallstyrning")


def page_number_field(p: Any) -> None:
    """Append Word's PAGE field to ``p``."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    p._p.append(field)


def header_and_footer(doc: Any, *, header: str, footer: str) -> None:
    """Header text (a tab right-aligns what follows) and a footer ending with the page."""
    section = doc.sections[0]
    head = section.header.paragraphs[0]
    head.text = header
    foot = section.footer.paragraphs[0]
    foot.text = footer + "\tSida "
    page_number_field(foot)


# -- tables -----------------------------------------------------------------------------------

# CT_TblPr's children in the order ECMA-376 (part 1, 17.4.60) requires; Word may "repair" a
# file whose table properties come in another order, and strict readers refuse it.
_TBL_PR_ORDER = (
    "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
    "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd",
    "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription", "tblPrChange",
)  # fmt: skip


def set_table_property(tbl_pr: Any, element: Any) -> None:
    """Put ``element`` into a table's ``w:tblPr`` once, at its place in the schema's order.

    An element of the same name is replaced (python-docx writes ``w:tblLayout`` itself when
    ``autofit`` is set; appending another gave every table two).
    """
    name = element.tag.rsplit("}", 1)[-1]
    for old in tbl_pr.findall(qn(f"w:{name}")):
        tbl_pr.remove(old)
    rank = _TBL_PR_ORDER.index(name)
    for child in tbl_pr:
        other = child.tag.rsplit("}", 1)[-1]
        if other in _TBL_PR_ORDER and _TBL_PR_ORDER.index(other) > rank:
            child.addprevious(element)
            return
    tbl_pr.append(element)


def repeat_as_header(row: Any) -> None:
    """Word repeats this row at the top of every page the table continues on."""
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn("w:tblHeader")) is None:
        tr_pr.append(OxmlElement("w:tblHeader"))


def table(doc: Any, widths_cm: Sequence[float], header: Sequence[str] | None = None) -> Any:
    """A table with fixed column widths, rules between rows and a repeated header row."""
    t = doc.add_table(rows=0, cols=len(widths_cm))
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    t.autofit = False
    tbl_pr = t._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    set_table_property(tbl_pr, layout)
    borders = OxmlElement("w:tblBorders")
    for edge, size, colour in (
        ("top", "8", "1F3864"),
        ("bottom", "8", "1F3864"),
        ("insideH", "4", RULE),
    ):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), size)
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), colour)
        borders.append(element)
    set_table_property(tbl_pr, borders)
    margins = OxmlElement("w:tblCellMar")
    # In the schema's order (top, left, bottom, right): Word may "repair" any other.
    for edge, value in (("top", 45), ("left", 85), ("bottom", 45), ("right", 85)):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(value))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    set_table_property(tbl_pr, margins)
    for column, width in zip(t.columns, widths_cm, strict=True):
        column.width = Cm(width)
    if header is not None:
        repeat_as_header(add_row(t, header, bold=True, fill=HEADER_FILL))
    return t


def add_row(
    t: Any,
    texts: Sequence[str],
    *,
    bold: bool = False,
    fill: str | None = None,
    colour: RGBColor | None = None,
) -> Any:
    """A row of single-paragraph cells in the table text style."""
    row = t.add_row()
    _no_split(row)
    for cell, width, text in zip(row.cells, t.columns, texts, strict=True):
        cell.width = width.width
        p = cell.paragraphs[0]
        p.style = "Tabelltext"
        lines = text.split("\n")
        for number, line in enumerate(lines):
            if number:
                p = cell.add_paragraph(style="Tabelltext")
            run = p.add_run(line)
            run.bold = True if bold else None
            if colour is not None:
                run.font.color.rgb = colour
            elif bold and fill == HEADER_FILL:
                run.font.color.rgb = NAVY
        if fill is not None:
            shade(cell, fill)
    return row


def control_row(t: Any, tag: str) -> Any:
    """A row holding only a ``{%tr … %}`` tag across all columns: it never prints."""
    row = t.add_row()
    cells = row.cells
    merged = cells[0].merge(cells[-1]) if len(cells) > 1 else cells[0]
    p = merged.paragraphs[0]
    p.style = "Mallstyrning"
    p.add_run(tag)
    return row


def merged_row(t: Any, text: str, *, italic: bool = True) -> Any:
    """A row with one cell across all columns, e.g. what an empty list shows."""
    row = t.add_row()
    _no_split(row)
    cells = row.cells
    merged = cells[0].merge(cells[-1]) if len(cells) > 1 else cells[0]
    p = merged.paragraphs[0]
    p.style = "Tabelltext"
    run = p.add_run(text)
    run.italic = True if italic else None
    return row


def facts_table(doc: Any, rows: Sequence[tuple[str, str]], *, label_width: float = 3.6) -> Any:
    """Label–value pairs in two columns without rules, labels in bold navy."""
    t = doc.add_table(rows=0, cols=2)
    t.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    set_table_property(t._tbl.tblPr, layout)
    widths = (label_width, TEXT_WIDTH.cm - label_width)
    for column, width in zip(t.columns, widths, strict=True):
        column.width = Cm(width)
    for label, value in rows:
        row = t.add_row()
        for cell, width, (text, bold) in zip(
            row.cells, widths, ((label, True), (value, False)), strict=True
        ):
            cell.width = Cm(width)
            p = cell.paragraphs[0]
            p.style = "Tabelltext"
            run = p.add_run(text)
            if bold:
                run.bold = True
                run.font.color.rgb = NAVY
    spacer = doc.add_paragraph()
    spacer.paragraph_format.space_after = Pt(2)
    return t


def shade(cell: Any, fill: str) -> None:
    """Give a table cell a background colour."""
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _no_split(row: Any) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
