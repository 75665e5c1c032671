"""The pptx template engine, on small templates built here with python-pptx."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from service.engines.pptx_engine import PptxTemplate
from service.engines.safe_text import xml_safe
from service.errors import RenderError, TemplateError
from tests.conftest import CHILD_TIMEOUT

HOSTILE_VALUES = {
    "xml": 'Åbo & Söner <AB> "citat"',
    "expression": "{{ 7*7 }}",
    "statement": "{% for x in y %}",
    "emoji": "👩‍💼🚀",
    "swedish": "åäöÅÄÖ",
}

# A 1x1 red PNG.
PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


# -- builders -------------------------------------------------------------------------------


def new_deck() -> Any:
    return Presentation()


def blank_slide(prs: Any) -> Any:
    return prs.slides.add_slide(prs.slide_layouts[6])


def add_text_box(slide: Any, *paragraphs: str | list[str], name: str | None = None) -> Any:
    """A text box; a paragraph given as a list becomes one run per item."""
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
    if name is not None:
        box.name = name
    frame = box.text_frame
    for index, paragraph in enumerate(paragraphs):
        p = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        for text in [paragraph] if isinstance(paragraph, str) else paragraph:
            p.add_run().text = text
    return box


def add_table(slide: Any, rows: list[list[str]], name: str = "Tabell") -> Any:
    frame = slide.shapes.add_table(
        len(rows), len(rows[0]), Inches(1), Inches(2), Inches(8), Inches(0.4) * len(rows)
    )
    frame.name = name
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            frame.table.cell(r, c).text = text
    return frame


def add_chart(slide: Any, name: str) -> Any:
    data = CategoryChartData()
    data.categories = ["A", "B"]
    data.add_series("S", (1.0, 2.0))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(6), Inches(4), data
    )
    frame.name = name
    return frame


def to_bytes(prs: Any) -> bytes:
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def template_of(build: Callable[[Any], None]) -> PptxTemplate:
    prs = new_deck()
    build(prs)
    return PptxTemplate.from_bytes(to_bytes(prs), name="test.pptx")


def reopen(data: bytes) -> Any:
    return Presentation(io.BytesIO(data))


def iter_shapes(shapes: Any) -> Iterator[Any]:
    for shape in shapes:
        yield shape
        if shape.shape_type is not None and hasattr(shape, "shapes"):
            yield from iter_shapes(shape.shapes)


def slide_texts(slide: Any) -> list[str]:
    """Every paragraph of every text frame and table cell of a slide."""
    texts: list[str] = []
    for shape in iter_shapes(slide.shapes):
        if shape.has_text_frame:
            texts.extend(p.text for p in shape.text_frame.paragraphs)
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                texts.extend(cell.text for cell in row.cells)
    return texts


def all_texts(prs: Any) -> list[str]:
    texts: list[str] = []
    for slide in prs.slides:
        texts.extend(slide_texts(slide))
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
    return texts


def table_rows(slide: Any, name: str = "Tabell") -> list[list[str]]:
    frame = next(s for s in slide.shapes if s.name == name)
    return [[cell.text for cell in row.cells] for row in frame.table.rows]


# -- text tags ------------------------------------------------------------------------------


def test_tag_split_across_runs_renders_with_the_first_runs_formatting() -> None:
    def build(prs: Any) -> None:
        box = add_text_box(blank_slide(prs), ["Hej {{ organ", "isation.na", "me }}!"])
        first = box.text_frame.paragraphs[0].runs[0]
        first.font.bold = True
        first.font.size = Pt(28)
        first.font.color.rgb = RGBColor(0x1F, 0x38, 0x64)

    template = template_of(build)

    result = reopen(template.render({"organisation": {"name": "Umeå kommun"}}))

    paragraph = result.slides[0].shapes[0].text_frame.paragraphs[0]
    assert paragraph.text == "Hej Umeå kommun!"
    assert len(paragraph.runs) == 1
    assert paragraph.runs[0].font.bold is True
    assert paragraph.runs[0].font.size == Pt(28)
    assert paragraph.runs[0].font.color.rgb == RGBColor(0x1F, 0x38, 0x64)


def test_paragraphs_without_tags_keep_their_runs() -> None:
    def build(prs: Any) -> None:
        box = add_text_box(blank_slide(prs), ["Fet", " och normal"], "{{ name }}")
        box.text_frame.paragraphs[0].runs[0].font.bold = True

    template = template_of(build)

    result = reopen(template.render({"name": "Lund"}))

    paragraphs = result.slides[0].shapes[0].text_frame.paragraphs
    assert [r.text for r in paragraphs[0].runs] == ["Fet", " och normal"]
    assert paragraphs[0].runs[0].font.bold is True
    assert paragraphs[1].text == "Lund"


def test_tags_render_in_groups_table_cells_and_speaker_notes() -> None:
    def build(prs: Any) -> None:
        slide = blank_slide(prs)
        group = slide.shapes.add_group_shape()
        group.name = "Grupp"
        inner = group.shapes.add_group_shape()
        box = inner.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(1))
        box.text_frame.text = "Grupp: {{ a }}"
        add_table(slide, [["Cell: {{ b }}", "fast text"]])
        slide.notes_slide.notes_text_frame.text = "Anteckning: {{ c }}"

    template = template_of(build)

    result = reopen(template.render({"a": "ett", "b": "två", "c": "tre"}))

    slide = result.slides[0]
    assert "Grupp: ett" in slide_texts(slide)
    assert table_rows(slide) == [["Cell: två", "fast text"]]
    assert slide.notes_slide.notes_text_frame.text == "Anteckning: tre"


def test_if_block_in_a_paragraph_and_empty_block_paragraphs_are_removed() -> None:
    template = template_of(
        lambda prs: add_text_box(
            blank_slide(prs),
            "Rubrik",
            "{% if meeting %}Datum: {{ meeting.date }}{% endif %}",
            "{% if not meeting %}Datum meddelas senare.{% endif %}",
        )
    )

    with_meeting = reopen(template.render({"meeting": {"date": "12 maj 2025"}}))
    without = reopen(template.render({"meeting": None}))

    assert slide_texts(with_meeting.slides[0]) == ["Rubrik", "Datum: 12 maj 2025"]
    assert slide_texts(without.slides[0]) == ["Rubrik", "Datum meddelas senare."]


def test_a_newline_in_a_value_becomes_a_line_break_in_the_same_paragraph() -> None:
    template = template_of(lambda prs: add_text_box(blank_slide(prs), "{{ text }}"))

    result = reopen(template.render({"text": "rad ett\nrad två\r\nrad tre"}))

    paragraphs = result.slides[0].shapes[0].text_frame.paragraphs
    assert len(paragraphs) == 1
    assert paragraphs[0].text == "rad ett\vrad två\vrad tre"


def test_words_manual_line_break_u000b_becomes_a_break_element_between_the_two_halves() -> None:
    template = template_of(lambda prs: add_text_box(blank_slide(prs), "{{ text }}"))

    data = template.render({"text": "första raden\x0bandra raden"})
    paragraph = reopen(data).slides[0].shapes[0].text_frame.paragraphs[0]

    children = [child.tag.rsplit("}", 1)[1] for child in paragraph._p if child.tag != qn("a:pPr")]
    assert children[:3] == ["r", "br", "r"]
    assert [r.text for r in paragraph.runs] == ["första raden", "andra raden"]
    with zipfile.ZipFile(io.BytesIO(data)) as package:  # no raw or escaped U+000B in any part
        xml_parts = [n for n in package.namelist() if n.endswith((".xml", ".rels"))]
        assert not [n for n in xml_parts if re.search(rb"\x0b|_x000B_", package.read(n))]


def test_none_renders_as_empty_text() -> None:
    template = template_of(lambda prs: add_text_box(blank_slide(prs), "E-post: {{ email }}"))

    result = reopen(template.render({"email": None}))

    assert slide_texts(result.slides[0]) == ["E-post: "]


# -- table row loops ------------------------------------------------------------------------


ROW_LOOP_TABLE = [
    ["Aktivitet", "Ansvarig"],
    ["{%tr for a in plan.activities %}", ""],
    ["{{ a.activity }}", "{{ a.owner }}"],
    ["{%tr endfor %}", ""],
    ["Summa", "{{ plan.activities | length }} st"],
]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_row_loop_repeats_the_body_rows_once_per_item(count: int) -> None:
    template = template_of(lambda prs: add_table(blank_slide(prs), ROW_LOOP_TABLE))
    activities = [{"activity": f"Aktivitet {n}", "owner": f"Person {n}"} for n in range(count)]

    result = reopen(template.render({"plan": {"activities": activities}}))

    expected = [[a["activity"], a["owner"]] for a in activities]
    assert table_rows(result.slides[0]) == [
        ["Aktivitet", "Ansvarig"],
        *expected,
        ["Summa", f"{count} st"],
    ]


def test_row_loop_frame_height_follows_the_rows() -> None:
    template = template_of(lambda prs: add_table(blank_slide(prs), ROW_LOOP_TABLE))
    activities = [{"activity": "x", "owner": "y"}] * 5

    result = reopen(template.render({"plan": {"activities": activities}}))

    frame = result.slides[0].shapes[0]
    assert frame.height == sum(row.height for row in frame.table.rows)


def test_row_loop_without_endfor_is_a_template_error() -> None:
    rows = [["{%tr for a in items %}"], ["{{ a }}"]]

    with pytest.raises(TemplateError, match=r"slide 1, shape 'Tabell', row 1: .*without endfor"):
        template_of(lambda prs: add_table(blank_slide(prs), rows))


# -- slide loops ----------------------------------------------------------------------------


def build_initiative_deck(prs: Any) -> None:
    add_text_box(blank_slide(prs), "Början: {{ title }}")
    loop_slide = blank_slide(prs)
    add_text_box(loop_slide, "Initiativ: {{ initiative.title }} ({{ title }})")
    add_text_box(loop_slide, "{%slide for initiative in initiatives %}", name="Loop")
    add_table(
        loop_slide,
        [["{%tr for s in initiative.steps %}"], ["Steg: {{ s }}"], ["{%tr endfor %}"]],
    )
    loop_slide.notes_slide.notes_text_frame.text = "Anteckning om {{ initiative.title }}"
    add_text_box(blank_slide(prs), "Slut")


def test_variables_are_the_names_read_outside_the_loops_that_bind_them() -> None:
    def build(prs: Any) -> None:
        build_initiative_deck(prs)
        add_text_box(blank_slide(prs), "{{ s }} {{ initiative | default(fallback) }}")
        add_chart(blank_slide(prs), "chart:charts.main")

    assert template_of(build_initiative_deck).variables == {"title", "initiatives"}
    assert template_of(build).variables == {
        "title",
        "initiatives",
        "s",
        "initiative",
        "fallback",
        "charts",
    }


@pytest.mark.parametrize("count", [0, 2])
def test_slide_loop_repeats_the_slide_once_per_item_in_order(count: int) -> None:
    template = template_of(build_initiative_deck)
    initiatives = [{"title": f"Initiativ {n}", "steps": [f"{n}a", f"{n}b"]} for n in range(count)]

    data = template.render({"title": "Träff 2", "initiatives": initiatives})

    result = reopen(data)
    slides = list(result.slides)
    assert len(slides) == 2 + count
    assert slide_texts(slides[0]) == ["Början: Träff 2"]
    assert slide_texts(slides[-1]) == ["Slut"]
    for slide, initiative in zip(slides[1:-1], initiatives, strict=True):
        assert f"Initiativ: {initiative['title']} (Träff 2)" in slide_texts(slide)
        assert table_rows(slide) == [[f"Steg: {step}"] for step in initiative["steps"]]
        assert slide.notes_slide.notes_text_frame.text == f"Anteckning om {initiative['title']}"
        assert all(shape.name != "Loop" for shape in slide.shapes)
    assert reopen(to_bytes(result)).slides.__len__() == 2 + count


def test_slide_loop_copies_charts_so_each_copy_has_its_own_data() -> None:
    def build(prs: Any) -> None:
        slide = blank_slide(prs)
        add_text_box(slide, "{%slide for area in areas %}")
        add_chart(slide, "chart:area.chart")

    template = template_of(build)
    areas = [
        {"chart": {"categories": ["X", "Y"], "series": [{"name": "Före", "values": [1, 2]}]}},
        {"chart": {"categories": ["Z"], "series": [{"name": "Nu", "values": [3.5]}]}},
    ]

    result = reopen(template.render({"areas": areas}))

    charts = [slide.shapes[0].chart for slide in result.slides]
    assert [list(c.plots[0].categories) for c in charts] == [["X", "Y"], ["Z"]]
    assert [list(c.plots[0].series[0].values) for c in charts] == [[1.0, 2.0], [3.5]]
    assert [c.plots[0].series[0].name for c in charts] == ["Före", "Nu"]
    parts = {slide.shapes[0].chart.part.partname for slide in result.slides}
    assert len(parts) == 2


# -- charts and images ----------------------------------------------------------------------


def test_chart_data_is_replaced_from_the_expression_in_the_shape_name() -> None:
    template = template_of(lambda prs: add_chart(blank_slide(prs), "chart:area_chart"))
    area_chart = {
        "categories": ["Styrning", "Kunskap", "Uppföljning"],
        "series": [
            {"name": "BM 1", "values": [1.5, 2.0, None]},
            {"name": "BM 2", "values": [2.5, 2.75, 3.0]},
        ],
    }

    result = reopen(template.render({"area_chart": area_chart}))

    plot = result.slides[0].shapes[0].chart.plots[0]
    assert list(plot.categories) == area_chart["categories"]
    assert [s.name for s in plot.series] == ["BM 1", "BM 2"]
    assert list(plot.series[0].values) == [1.5, 2.0, None]
    assert list(plot.series[1].values) == [2.5, 2.75, 3.0]


def test_malformed_chart_data_is_a_render_error_naming_the_shape() -> None:
    template = template_of(lambda prs: add_chart(blank_slide(prs), "chart:data"))

    with pytest.raises(RenderError, match=r"slide 1, shape 'chart:data'.*2 values for 1"):
        template.render(
            {"data": {"categories": ["A"], "series": [{"name": "S", "values": [1, 2]}]}}
        )


def test_image_shape_shows_the_given_picture_and_none_keeps_the_template_picture() -> None:
    def build(prs: Any) -> None:
        picture = blank_slide(prs).shapes.add_picture(io.BytesIO(PNG_PIXEL), 0, 0, Inches(2))
        picture.name = "image:logo"

    template = template_of(build)
    jpeg = _tiny_jpeg()

    replaced = reopen(template.render({"logo": jpeg}))
    kept = reopen(template.render({"logo": None}))

    assert replaced.slides[0].shapes[0].image.blob == jpeg
    assert kept.slides[0].shapes[0].image.blob == PNG_PIXEL


def _tiny_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 2), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


# -- errors ---------------------------------------------------------------------------------


def test_broken_tag_is_a_template_error_naming_slide_shape_and_paragraph() -> None:
    def build(prs: Any) -> None:
        blank_slide(prs)
        add_text_box(blank_slide(prs), "ok", "Hej {{ name }", name="Titel 1")

    with pytest.raises(TemplateError, match=r"slide 2, shape 'Titel 1', paragraph 2: unexpected"):
        template_of(build)


def test_unreadable_file_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"broken\.pptx: not a readable pptx file"):
        PptxTemplate.from_bytes(b"not a zip", name="broken.pptx")


def test_unknown_variable_is_a_render_error_naming_location_and_variable() -> None:
    template = template_of(lambda prs: add_text_box(blank_slide(prs), "{{ nobody }}", name="Ruta"))

    with pytest.raises(RenderError, match=r"slide 1, shape 'Ruta', paragraph 1: .*'nobody'"):
        template.render({})


def test_unknown_loop_variable_is_a_render_error() -> None:
    template = template_of(build_initiative_deck)

    with pytest.raises(RenderError, match=r"slide 2, shape 'Loop'.*'initiatives' is undefined"):
        template.render({"title": "x"})


def test_the_sandbox_refuses_python_internals() -> None:
    template = template_of(
        lambda prs: add_text_box(blank_slide(prs), "{{ name.__class__.__mro__ }}")
    )

    with pytest.raises(RenderError, match="slide 1"):
        template.render({"name": "x"})


# -- hostile text, repeat renders and threads -----------------------------------------------


def build_hostile_deck(prs: Any) -> None:
    slide = blank_slide(prs)
    add_text_box(slide, *(f"{key}: {{{{ values.{key} }}}}" for key in HOSTILE_VALUES))
    add_text_box(slide, "kontroll: {{ values.control }}")
    add_table(
        slide,
        [
            ["{%tr for v in rows %}", ""],
            ["{{ v }}", "fast"],
            ["{%tr endfor %}", ""],
        ],
    )
    slide.notes_slide.notes_text_frame.text = "Not: {{ values.xml }}"
    loop_slide = blank_slide(prs)
    add_text_box(loop_slide, "{%slide for v in rows %}")
    add_text_box(loop_slide, "Bild: {{ v }}")


def test_hostile_values_appear_exactly_as_typed_and_no_template_markers_remain() -> None:
    template = template_of(build_hostile_deck)
    values = {**HOSTILE_VALUES, "control": "a\x00b\x07c\x1bd"}
    rows = list(HOSTILE_VALUES.values())

    result = reopen(template.render({"values": values, "rows": rows}))

    texts = all_texts(result)
    for key, value in HOSTILE_VALUES.items():
        assert f"{key}: {value}" in texts
    assert "kontroll: abcd" in texts
    assert "Not: " + HOSTILE_VALUES["xml"] in texts
    assert table_rows(result.slides[0]) == [[v, "fast"] for v in rows]
    assert [slide_texts(s) for s in list(result.slides)[1:]] == [[f"Bild: {v}"] for v in rows]
    template_markers = [t for t in texts if t not in _texts_with_data(texts, rows)]
    assert not [t for t in template_markers if "{{" in t or "{%" in t]


def _texts_with_data(texts: list[str], rows: list[str]) -> set[str]:
    """Texts whose braces come from the data, not from the template."""
    data = [HOSTILE_VALUES["expression"], HOSTILE_VALUES["statement"]]
    return {t for t in texts if any(d in t for d in data) or t in rows}


def test_a_template_renders_many_times_with_independent_results() -> None:
    template = template_of(build_initiative_deck)

    first = template.render({"title": "A", "initiatives": [{"title": "1", "steps": []}]})
    second = template.render({"title": "B", "initiatives": []})

    assert slide_texts(reopen(first).slides[0]) == ["Början: A"]
    assert len(reopen(first).slides) == 3
    assert slide_texts(reopen(second).slides[0]) == ["Början: B"]
    assert len(reopen(second).slides) == 2


def test_renders_from_several_threads_do_not_interfere() -> None:
    template = template_of(build_initiative_deck)

    def render(n: int) -> list[str]:
        initiatives = [{"title": f"{n}-{i}", "steps": [str(i)]} for i in range(n % 3)]
        data = template.render({"title": str(n), "initiatives": initiatives})
        return all_texts(reopen(data))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render, range(12)))

    for n, texts in enumerate(results):
        assert texts[0] == f"Början: {n}"
        assert sum(t.startswith("Initiativ:") for t in texts) == n % 3


# -- templates saved by LibreOffice ---------------------------------------------------------


@pytest.mark.needs_tools("soffice")
def test_a_template_saved_by_libreoffice_still_renders(tmp_path: Path) -> None:
    prs = new_deck()
    build_initiative_deck(prs)
    source = tmp_path / "in" / "mall.pptx"
    source.parent.mkdir()
    source.write_bytes(to_bytes(prs))
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pptx",
            "--outdir",
            str(tmp_path / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )
    saved = (tmp_path / "out" / "mall.pptx").read_bytes()
    template = PptxTemplate.from_bytes(saved, name="mall.pptx")
    initiatives = [{"title": "Ett", "steps": ["a"]}, {"title": "Två", "steps": []}]

    result = reopen(template.render({"title": "Träff", "initiatives": initiatives}))

    texts = all_texts(result)
    assert "Början: Träff" in texts
    assert "Initiativ: Ett (Träff)" in texts
    assert "Initiativ: Två (Träff)" in texts
    assert "Steg: a" in texts
    assert not [t for t in texts if "{{" in t or "{%" in t]


def test_a_render_error_inside_a_loop_names_the_item() -> None:
    template = template_of(build_initiative_deck)
    initiatives = [{"title": "Ett", "steps": []}, {"steps": []}]

    with pytest.raises(RenderError, match=r"slide 2, .*'title'.*\(item 2 of 'initiatives'\)"):
        template.render({"title": "Träff", "initiatives": initiatives})


def test_an_empty_picture_placeholder_named_image_receives_the_picture() -> None:
    def build(prs: Any) -> None:
        slide = prs.slides.add_slide(prs.slide_layouts[8])  # "Picture with Caption"
        slide.placeholders[1].name = "image:logo"

    template = template_of(build)

    result = reopen(template.render({"logo": PNG_PIXEL}))

    picture = next(s for s in result.slides[0].shapes if s.name == "image:logo")
    assert picture.image.blob == PNG_PIXEL


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("a\x00b\x07c\x0cd\x1fe", "abcde"),
        ("a\x0bb", "a\nb"),  # Word's manual line break is a line break
        ("tab\tny rad\nretur\r", "tab\tny rad\nretur\r"),
        ("x\ufffey\uffffz\ud800", "xyz"),
        ('Åbo & Söner <AB> "citat" {{ 7*7 }} {% if %} 👩‍💼🚀', None),
    ],
)
def test_xml_safe_removes_only_what_xml_forbids(typed: str, stored: str | None) -> None:
    assert xml_safe(typed) == (typed if stored is None else stored)
