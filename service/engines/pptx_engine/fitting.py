"""Tables that fit their slide: rows measured with the template's fonts, split into pages.

A presentation has no page flow: a table taller than its slide simply runs off it. The engine
therefore measures each row of a table its row loops filled (text wrapped at the cell's width
with the run's typeface, size and weight, plus cell margins and paragraph spacing) and, when
the rows do not fit above the slide's bottom margin, continues the table on copies of the
slide (see ``rendering``). Measuring is pure: the glyph widths come from a ``FontBook`` the
caller passes in (``service.pdf.fonts`` reads the font files LibreOffice renders with);
``APPROXIMATE_FONTS`` is a deterministic stand-in when none is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pptx.oxml.ns import qn

EMU_PER_POINT = 12700
# Defaults of DrawingML when a table cell or run does not say (ECMA-376 21.1.2.3, 21.1.2.1).
_DEFAULT_MARGIN_LR = 91440
_DEFAULT_MARGIN_TB = 45720
_DEFAULT_SIZE = 18.0  # points
# Single line spacing as a multiple of the font size: Calibri's (and Carlito's) ascent,
# descent and line gap add up to 1.22 em, and LibreOffice and PowerPoint space lines by them.
LINE_HEIGHT = 1.22


class FontBook(Protocol):
    """Glyph widths of the fonts a presentation's text is set in."""

    def text_width(self, text: str, *, typeface: str, size: float, bold: bool) -> float:
        """The advance width of ``text`` in points, set in ``typeface`` at ``size`` points."""
        ...


@dataclass(frozen=True)
class ApproximateFonts:
    """A deterministic stand-in: every character 0.45 em wide (Calibri averages about 0.41)."""

    em_share: float = 0.45

    def text_width(self, text: str, *, typeface: str, size: float, bold: bool) -> float:
        """``len(text)`` times a fixed share of the size."""
        return len(text) * size * self.em_share * (1.06 if bold else 1.0)


APPROXIMATE_FONTS = ApproximateFonts()


@dataclass(frozen=True)
class TableLayout:
    """How the engine lays out tables: the fonts to measure with, the continued slides' title.

    ``continued_suffix`` is added to the title of each slide a table continues on, such as
    ``" (forts.)"``; ``bottom_margin`` (EMU) is kept free at the slide's foot.
    """

    fonts: FontBook = APPROXIMATE_FONTS
    continued_suffix: str = " (cont.)"
    bottom_margin: int = 457200  # half an inch


DEFAULT_LAYOUT = TableLayout()


@dataclass(frozen=True)
class ThemeFonts:
    """The latin typefaces a theme names ``+mj-lt`` (headings) and ``+mn-lt`` (body)."""

    major: str = "Calibri"
    minor: str = "Calibri"

    def resolve(self, typeface: str | None) -> str:
        """The typeface a run names, theme references resolved; the body font if none."""
        if not typeface or typeface.startswith("+mn"):
            return self.minor
        if typeface.startswith("+mj"):
            return self.major
        return typeface


def theme_fonts(theme: Any) -> ThemeFonts:
    """The major and minor latin typefaces of a theme's ``a:theme`` element (None: defaults)."""
    if theme is None:
        return ThemeFonts()
    scheme = theme.find(f"{qn('a:themeElements')}/{qn('a:fontScheme')}")
    if scheme is None:
        return ThemeFonts()
    faces = {}
    for kind in ("majorFont", "minorFont"):
        latin = scheme.find(f"{qn(f'a:{kind}')}/{qn('a:latin')}")
        faces[kind] = latin.get("typeface") if latin is not None else None
    return ThemeFonts(major=faces["majorFont"] or "Calibri", minor=faces["minorFont"] or "Calibri")


def row_height(tr: Any, column_widths: Sequence[int], *, fonts: FontBook, theme: ThemeFonts) -> int:
    """The height (EMU) row ``tr`` needs: its text wrapped in each cell, or its own height."""
    needed = int(tr.get("h", "0"))
    column = 0
    for tc in tr.iterchildren(qn("a:tc")):
        span = int(tc.get("gridSpan", "1"))
        width = sum(column_widths[column : column + span])
        column += span
        if tc.get("hMerge") == "1" or tc.get("vMerge") == "1" or tc.get("rowSpan"):
            continue  # covered by a merged cell, or spanning rows: measured with no row alone
        needed = max(needed, _cell_height(tc, width, fonts=fonts, theme=theme))
    return needed


def _cell_height(tc: Any, width: int, *, fonts: FontBook, theme: ThemeFonts) -> int:
    tcpr = tc.find(qn("a:tcPr"))
    margin = {
        side: int(tcpr.get(side, default)) if tcpr is not None else default
        for side, default in (
            ("marL", _DEFAULT_MARGIN_LR),
            ("marR", _DEFAULT_MARGIN_LR),
            ("marT", _DEFAULT_MARGIN_TB),
            ("marB", _DEFAULT_MARGIN_TB),
        )
    }
    text_width = max(width - margin["marL"] - margin["marR"], EMU_PER_POINT) / EMU_PER_POINT
    body = tc.find(qn("a:txBody"))
    points = 0.0
    if body is not None:
        for p in body.iterchildren(qn("a:p")):
            points += _paragraph_height(p, text_width, fonts=fonts, theme=theme)
    return round(points * EMU_PER_POINT) + margin["marT"] + margin["marB"]


def _paragraph_height(p: Any, width: float, *, fonts: FontBook, theme: ThemeFonts) -> float:
    """Points a paragraph takes: its lines, wrapped at ``width`` points, and its spacing."""
    rpr = _first_run_properties(p)
    size = int(rpr.get("sz")) / 100 if rpr is not None and rpr.get("sz") else _DEFAULT_SIZE
    bold = rpr is not None and rpr.get("b") in ("1", "true")
    latin = rpr.find(qn("a:latin")) if rpr is not None else None
    typeface = theme.resolve(latin.get("typeface") if latin is not None else None)
    lines = 0
    for line in _paragraph_lines(p):
        lines += wrapped_line_count(
            line,
            width,
            lambda text: fonts.text_width(text, typeface=typeface, size=size, bold=bold),
        )
    ppr = p.find(qn("a:pPr"))
    spacing = _line_spacing(ppr)
    before = _spacing_points(ppr, "a:spcBef", size)
    after = _spacing_points(ppr, "a:spcAft", size)
    return lines * size * LINE_HEIGHT * spacing + before + after


def wrapped_line_count(text: str, width: float, measure: Callable[[str], float]) -> int:
    """Lines ``text`` takes when wrapped at spaces to ``width``; a word too long breaks anywhere.

    ``measure(text)`` gives a text's width in the same unit as ``width``. An empty line is one.
    """
    words = text.split(" ")
    lines = 1
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines += 1
        current = word
        # A word wider than the cell breaks between characters, as both renderers do.
        while measure(current) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and measure(current[:cut]) > width:
                cut -= 1
            lines += 1
            current = current[cut:]
    return lines


def _paragraph_lines(p: Any) -> list[str]:
    lines = [""]
    for child in p.iterchildren():
        if child.tag == qn("a:br"):
            lines.append("")
        elif child.tag in (qn("a:r"), qn("a:fld")):
            t = child.find(qn("a:t"))
            if t is not None and t.text:
                lines[-1] += t.text
    return lines


def _first_run_properties(p: Any) -> Any:
    for child in p.iterchildren(qn("a:r")):
        rpr = child.find(qn("a:rPr"))
        if rpr is not None:
            return rpr
    return p.find(qn("a:endParaRPr"))


def _line_spacing(ppr: Any) -> float:
    if ppr is None:
        return 1.0
    pct = ppr.find(f"{qn('a:lnSpc')}/{qn('a:spcPct')}")
    return int(pct.get("val")) / 100000 if pct is not None else 1.0


def _spacing_points(ppr: Any, tag: str, size: float) -> float:
    if ppr is None:
        return 0.0
    spacing = ppr.find(qn(tag))
    if spacing is None:
        return 0.0
    pts = spacing.find(qn("a:spcPts"))
    if pts is not None:
        return int(pts.get("val")) / 100
    pct = spacing.find(qn("a:spcPct"))
    return int(pct.get("val")) / 100000 * size * LINE_HEIGHT if pct is not None else 0.0


def column_widths(tbl: Any) -> list[int]:
    """The widths (EMU) of a table's grid columns."""
    grid = tbl.find(qn("a:tblGrid"))
    return [int(col.get("w", "0")) for col in grid.iterchildren(qn("a:gridCol"))]


def paginate(header: int, units: Sequence[int], *, first: int, later: int) -> list[list[int]]:
    """Which units (indices) go on each page: ``header`` repeats on every page.

    ``first`` and ``later`` are the heights available for the table on the first and on each
    continued page. Each page takes as many whole units as fit, and at least one, so a unit
    taller than a page stands alone rather than looping forever.
    """
    pages: list[list[int]] = [[]]
    used = header
    for index, height in enumerate(units):
        room = first if len(pages) == 1 else later
        if pages[-1] and used + height > room:
            pages.append([])
            used = header
        pages[-1].append(index)
        used += height
    return pages


def element_extent(element: Any) -> tuple[int, int, int, int] | None:
    """``(left, top, width, height)`` of a shape from its own transform; None if it has none."""
    for path in (
        f"{qn('p:spPr')}/{qn('a:xfrm')}",
        qn("p:xfrm"),
        f"{qn('p:grpSpPr')}/{qn('a:xfrm')}",
    ):
        xfrm = element.find(path)
        if xfrm is None:
            continue
        off, ext = xfrm.find(qn("a:off")), xfrm.find(qn("a:ext"))
        if off is None or ext is None:
            return None
        return int(off.get("x")), int(off.get("y")), int(ext.get("cx")), int(ext.get("cy"))
    return None


def placeholder_type(element: Any) -> str | None:
    """The placeholder type of a shape (``title``, ``body`` …); None if it is no placeholder."""
    for nv in element:
        ph = nv.find(f"{qn('p:nvPr')}/{qn('p:ph')}")
        if ph is not None:
            return str(ph.get("type", "body"))
    return None
