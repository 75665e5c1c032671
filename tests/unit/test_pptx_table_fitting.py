"""Tables that do not fit their slide continue on copies of it, split by measured row heights."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pptx import Presentation
from pptx.util import Inches, Pt

from service.engines.pptx_engine import PptxTemplate
from service.engines.pptx_engine.fitting import (
    APPROXIMATE_FONTS,
    TableLayout,
    paginate,
    wrapped_line_count,
)
from service.pdf.fonts import OutlineFonts, find_font_files, installed_fonts

LAYOUT = TableLayout(fonts=APPROXIMATE_FONTS, continued_suffix=" (forts.)")
TITLE_ONLY = 5
SLIDE_BOTTOM = Inches(7.5) - LAYOUT.bottom_margin


def build_template(*, with_intro: bool = True, beside: str | None = None) -> bytes:
    """A 4:3 slide: a title, an introduction above a table with a row loop over ``rows``.

    ``beside`` names a narrow text box standing right of the table.
    """
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Förflyttning sedan förra gången"
    if beside is not None:
        card = slide.shapes.add_textbox(Inches(9.6), Inches(2.5), Inches(0.35), Inches(3))
        card.name = beside
        card.text_frame.text = "Fyll i"
    if with_intro:
        intro = slide.shapes.add_textbox(Inches(0.5), Inches(1.6), Inches(9), Inches(0.8))
        intro.name = "Inledning"
        intro.text_frame.text = "Summa: {{ total }}"
    cells = [
        ["Nr", "Påstående"],
        ["{%tr for r in rows %}", ""],
        ["{{ r.number }}", "{{ r.text }}"],
        ["{%tr endfor %}", ""],
    ]
    frame = slide.shapes.add_table(4, 2, Inches(0.5), Inches(2.5), Inches(9), Inches(1.6))
    frame.name = "Tabell"
    frame.table.columns[0].width = Inches(1)
    frame.table.columns[1].width = Inches(8)
    for r, row in enumerate(cells):
        frame.table.rows[r].height = Inches(0.4)
        for c, text in enumerate(row):
            cell = frame.table.cell(r, c)
            cell.text = text
            if text:
                cell.text_frame.paragraphs[0].runs[0].font.size = Pt(14)
    after = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    after.shapes.title.text = "Nästa bild"
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def render(rows: list[dict[str, str]], *, layout: TableLayout = LAYOUT, **kw: Any) -> Any:
    template = PptxTemplate.from_bytes(build_template(**kw), name="t.pptx", layout=layout)
    return Presentation(io.BytesIO(template.render({"rows": rows, "total": "40"})))


def table_of(slide: Any) -> Any:
    return next(shape for shape in slide.shapes if shape.name == "Tabell")


def rows_of(slide: Any) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table_of(slide).table.rows]


def statements(count: int, text: str = "Kort påstående.") -> list[dict[str, str]]:
    return [{"number": str(n), "text": f"{text} ({n})"} for n in range(1, count + 1)]


def test_a_table_that_fits_stays_on_its_slide() -> None:
    deck = render(statements(3))

    assert [s.shapes.title.text for s in deck.slides] == [
        "Förflyttning sedan förra gången",
        "Nästa bild",
    ]
    assert [row[0] for row in rows_of(deck.slides[0])] == ["Nr", "1", "2", "3"]


def test_a_long_table_continues_with_its_heading_and_every_row_once() -> None:
    deck = render(statements(30))

    slides = list(deck.slides)[:-1]
    assert len(slides) >= 2
    assert slides[0].shapes.title.text == "Förflyttning sedan förra gången"
    assert {s.shapes.title.text for s in slides[1:]} == {"Förflyttning sedan förra gången (forts.)"}
    assert deck.slides[-1].shapes.title.text == "Nästa bild"
    numbers = []
    for slide in slides:
        rows = rows_of(slide)
        assert rows[0] == ["Nr", "Påstående"]
        numbers += [row[0] for row in rows[1:]]
        frame = table_of(slide)
        assert frame.top + frame.height <= SLIDE_BOTTOM
    assert numbers == [str(n) for n in range(1, 31)]


def test_rows_are_split_by_their_height_not_counted() -> None:
    long_text = "Ett påstående som är så långt att det bryts över flera rader i cellen " * 3

    short = render(statements(30))
    tall = render(statements(30, long_text))

    assert len(rows_of(tall.slides[0])) < len(rows_of(short.slides[0]))
    assert len(tall.slides) > len(short.slides)


def test_continued_slides_leave_out_what_stood_above_the_table_and_move_it_up() -> None:
    deck = render(statements(30))

    first, second = deck.slides[0], deck.slides[1]
    assert "Inledning" in [shape.name for shape in first.shapes]
    assert "Inledning" not in [shape.name for shape in second.shapes]
    assert table_of(second).top == Inches(1.6)
    assert table_of(first).top == Inches(2.5)


@pytest.mark.parametrize(("name", "on_copies"), [("first:Kort", False), ("Kort", True)])
def test_a_shape_named_first_stands_beside_the_table_on_its_first_slide_only(
    name: str, on_copies: bool
) -> None:
    deck = render(statements(30), beside=name)

    slides = list(deck.slides)[:-1]
    assert len(slides) >= 2
    assert name in [shape.name for shape in slides[0].shapes]
    for copy_ in slides[1:]:
        assert (name in [shape.name for shape in copy_.shapes]) is on_copies
        assert table_of(copy_).top == Inches(1.6)


def test_a_row_too_tall_for_any_slide_stands_alone_rather_than_looping() -> None:
    huge = [{"number": "1", "text": "ord " * 2000}, {"number": "2", "text": "kort"}]

    deck = render(huge)

    assert [row[0] for row in rows_of(deck.slides[0])] == ["Nr", "1"]
    assert [row[0] for row in rows_of(deck.slides[1])] == ["Nr", "2"]


def test_the_same_rows_give_the_same_bytes() -> None:
    template = PptxTemplate.from_bytes(build_template(), name="t.pptx", layout=LAYOUT)
    context = {"rows": statements(40), "total": "40"}

    assert template.render(context) == template.render(context)


def test_paginate_keeps_the_heading_on_every_page() -> None:
    assert paginate(10, [30, 30, 30, 30], first=75, later=100) == [[0, 1], [2, 3]]
    assert paginate(10, [200, 5], first=100, later=100) == [[0], [1]]
    assert paginate(10, [], first=100, later=100) == [[]]


def test_wrapping_breaks_at_spaces_and_inside_words_too_long_for_the_cell() -> None:
    def width(text: str) -> float:
        return float(len(text))

    assert wrapped_line_count("", 10, width) == 1
    assert wrapped_line_count("abc def ghi", 7, width) == 2
    assert wrapped_line_count("abcdefghijklmnopqrstu", 10, width) == 3


def test_carlito_stands_in_for_calibri_and_bold_is_wider() -> None:
    files = find_font_files(["/usr/share/fonts"])
    if ("calibri", False) not in files:
        pytest.skip("neither Calibri nor Carlito is installed")
    fonts = OutlineFonts(files, fallback=APPROXIMATE_FONTS)

    regular = fonts.text_width("Förflyttning", typeface="Calibri", size=14, bold=False)
    bold = fonts.text_width("Förflyttning", typeface="Calibri", size=14, bold=True)

    assert 50 < regular < bold < 100
    assert fonts.text_width("WWW", typeface="Calibri", size=14, bold=False) > fonts.text_width(
        "iii", typeface="Calibri", size=14, bold=False
    )
    # A typeface without a file is measured as Calibri.
    assert fonts.text_width("x", typeface="Okänd", size=14, bold=False) == fonts.text_width(
        "x", typeface="Calibri", size=14, bold=False
    )
    assert installed_fonts() is not APPROXIMATE_FONTS


def test_without_any_font_file_the_approximation_is_used(tmp_path: Any) -> None:
    assert find_font_files([tmp_path]) == {}
    fonts = OutlineFonts({}, fallback=APPROXIMATE_FONTS)

    assert fonts.text_width("abcd", typeface="Calibri", size=10, bold=False) == pytest.approx(18.0)
