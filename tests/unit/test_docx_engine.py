"""The docx template engine, on small templates built here with python-docx."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from service.documents.swedish_filters import SWEDISH_FILTERS
from service.engines.docx_engine import DocxTemplate, docx_spots
from service.errors import RenderError, TemplateError

HOSTILE_VALUES = {
    "xml": 'Åbo & Söner <AB> "citat"',
    "expression": "{{ 7*7 }}",
    "statement": "{% for x in y %}",
    "docxtpl": "{%tr endfor %} {_{ x }_}",
    "emoji": "👩‍💼🚀",
    "swedish": "åäöÅÄÖ",
}

Build = Callable[[Any], None]


# -- builders -------------------------------------------------------------------------------


def template_bytes(build: Build) -> bytes:
    """A .docx made by python-docx, filled in by ``build``."""
    doc = docx.Document()
    build(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def template_of(build: Build, name: str = "mall.docx") -> DocxTemplate:
    return DocxTemplate.from_bytes(template_bytes(build), name=name)


def paragraphs(*texts: str) -> Build:
    def build(doc: Any) -> None:
        for text in texts:
            doc.add_paragraph(text)

    return build


def add_split_paragraph(doc: Any, *runs: str) -> Any:
    """A paragraph whose text is split over runs with different formatting, as Word does."""
    p = doc.add_paragraph()
    for number, text in enumerate(runs):
        run = p.add_run(text)
        run.bold = number % 2 == 1
    return p


def add_row_loop_table(doc: Any, items: str = "people") -> None:
    """A header row, then ``{%tr for %}``, one body row and ``{%tr endfor %}``."""
    table = doc.add_table(rows=4, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Namn", "Roll"
    table.cell(1, 0).text = f"{{%tr for p in {items} %}}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{{ p.name }}", "{{ p.role }}"
    table.cell(3, 0).text = "{%tr endfor %}"


def reopen(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def body_texts(doc: Any) -> list[str]:
    return [p.text for p in doc.paragraphs]


def all_texts(doc: Any) -> list[str]:
    texts = body_texts(doc)
    for table in doc.tables:
        for row in table.rows:
            texts.extend(cell.text for cell in row.cells)
    for section in doc.sections:
        texts.extend(p.text for p in section.header.paragraphs)
        texts.extend(p.text for p in section.footer.paragraphs)
    return texts


# -- tags and structures --------------------------------------------------------------------


def test_a_tag_split_over_three_runs_renders_as_one() -> None:
    template = template_of(
        lambda doc: add_split_paragraph(doc, "Till: {", "{ organisation.na", "me }}.")
    )

    result = reopen(template.render({"organisation": {"name": "Askersunds kommun"}}))

    assert body_texts(result) == ["Till: Askersunds kommun."]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_row_loop_repeats_its_rows_once_per_item_and_its_marker_rows_vanish(
    count: int,
) -> None:
    template = template_of(add_row_loop_table)
    people = [{"name": f"Person {n}", "role": "strateg"} for n in range(1, count + 1)]

    result = reopen(template.render({"people": people}))

    rows = [[cell.text for cell in row.cells] for row in result.tables[0].rows]
    assert rows == [["Namn", "Roll"]] + [[p["name"], "strateg"] for p in people]


def test_a_row_loop_else_row_shows_for_an_empty_list() -> None:
    def build(doc: Any) -> None:
        table = doc.add_table(rows=5, cols=1)
        for row, text in enumerate(
            ["{%tr for p in people %}", "{{ p }}", "{%tr else %}", "Inga", "{%tr endfor %}"]
        ):
            table.cell(row, 0).text = text

    template = template_of(build)

    assert [r.cells[0].text for r in reopen(template.render({"people": []})).tables[0].rows] == [
        "Inga"
    ]
    assert [
        r.cells[0].text for r in reopen(template.render({"people": ["A", "B"]})).tables[0].rows
    ] == ["A", "B"]


@pytest.mark.parametrize(
    ("show", "expected"), [(True, ["Före", "Villkorad", "Efter"]), (False, ["Före", "Efter"])]
)
def test_a_paragraph_if_keeps_or_drops_whole_paragraphs(show: bool, expected: list[str]) -> None:
    template = template_of(
        paragraphs("Före", "{%p if show %}", "Villkorad", "{%p endif %}", "Efter")
    )

    assert body_texts(reopen(template.render({"show": show}))) == expected


def test_a_paragraph_loop_repeats_paragraphs() -> None:
    template = template_of(paragraphs("{%p for goal in goals %}", "• {{ goal }}", "{%p endfor %}"))

    result = reopen(template.render({"goals": ["Ett", "Två"]}))

    assert body_texts(result) == ["• Ett", "• Två"]


def test_headers_and_footers_are_rendered() -> None:
    def build(doc: Any) -> None:
        doc.add_paragraph("Brödtext")
        doc.sections[0].header.paragraphs[0].text = "{{ organisation }}"
        doc.sections[0].footer.paragraphs[0].text = "{{ meeting }} · sida"

    result = reopen(
        template_of(build).render({"organisation": "Askersunds kommun", "meeting": "BM 2"})
    )

    assert result.sections[0].header.paragraphs[0].text == "Askersunds kommun"
    assert result.sections[0].footer.paragraphs[0].text == "BM 2 · sida"


def test_a_cellbg_tag_shades_its_cell() -> None:
    def build(doc: Any) -> None:
        doc.add_table(rows=1, cols=1).cell(0, 0).text = "{% cellbg fill %}{{ text }}"

    result = reopen(template_of(build).render({"fill": "FFF2CC", "text": "Markerad"}))

    cell = result.tables[0].cell(0, 0)
    assert cell.text == "Markerad"
    assert cell._tc.tcPr.find(qn("w:shd")).get(qn("w:fill")) == "FFF2CC"


# -- values ---------------------------------------------------------------------------------


def test_hostile_values_appear_exactly_as_typed_in_body_tables_and_headers() -> None:
    def build(doc: Any) -> None:
        for key in HOSTILE_VALUES:
            doc.add_paragraph(f"{{{{ values.{key} }}}}")
        add_row_loop_table(doc, items="rows")
        doc.sections[0].header.paragraphs[0].text = "{{ values.xml }}"

    rows = [{"name": value, "role": key} for key, value in HOSTILE_VALUES.items()]

    result = reopen(template_of(build).render({"values": HOSTILE_VALUES, "rows": rows}))

    assert body_texts(result) == list(HOSTILE_VALUES.values())
    assert [row.cells[0].text for row in result.tables[0].rows[1:]] == list(HOSTILE_VALUES.values())
    assert result.sections[0].header.paragraphs[0].text == HOSTILE_VALUES["xml"]


def test_control_characters_are_removed_and_everything_else_is_kept() -> None:
    template = template_of(paragraphs("[{{ value }}]"))

    result = reopen(template.render({"value": "a\x00bc\x1f\ufffed\tå"}))

    # The tab is a Word tab (w:tab), as docxtpl writes it; \a and \f are tested with docxtpl.
    assert body_texts(result) == ["[abcd\tå]"]
    assert len(result.paragraphs[0]._p.findall(f".//{qn('w:tab')}")) == 1


def test_a_newline_in_a_value_becomes_a_line_break_in_the_same_paragraph() -> None:
    template = template_of(paragraphs("Före", "Rader: {{ lines }}!", "Efter"))

    result = reopen(template.render({"lines": "ett\ntvå & tre\r\nfyra"}))

    assert body_texts(result) == ["Före", "Rader: ett\ntvå & tre\nfyra!", "Efter"]
    assert len(result.paragraphs[1]._p.findall(f".//{qn('w:br')}")) == 2


def test_words_manual_line_break_u000b_becomes_a_line_break_between_the_two_halves() -> None:
    template = template_of(paragraphs("Text: {{ text }}"))

    data = template.render({"text": "första raden\x0bandra raden"})
    result = reopen(data)

    assert body_texts(result) == ["Text: första raden\nandra raden"]
    assert len(result.paragraphs[0]._p.findall(f".//{qn('w:br')}")) == 1
    with zipfile.ZipFile(io.BytesIO(data)) as package:  # no raw or escaped U+000B in any part
        xml_parts = [n for n in package.namelist() if n.endswith((".xml", ".rels"))]
        assert not [n for n in xml_parts if re.search(rb"\x0b|_x000B_", package.read(n))]


def test_none_prints_as_nothing_and_numbers_as_text() -> None:
    template = template_of(paragraphs("[{{ nothing }}|{{ count }}|{{ share }}]"))

    result = reopen(template.render({"nothing": None, "count": 3, "share": 0.5}))

    assert body_texts(result) == ["[|3|0.5]"]


def test_the_filters_passed_in_are_available() -> None:
    data = template_bytes(
        paragraphs("{{ day | sv_weekday }} {{ day | sv_date }}, {{ n | sv_number }}")
    )
    template = DocxTemplate.from_bytes(data, name="mall.docx", filters=SWEDISH_FILTERS)

    result = reopen(template.render({"day": "2019-09-26", "n": 1234.5}))

    assert body_texts(result) == ["torsdag 26 september 2019, 1\u00a0234,5"]


def test_a_filter_not_passed_in_is_refused_at_load_with_its_location() -> None:
    with pytest.raises(TemplateError, match=r"paragraph 2: No filter named 'sv_date'"):
        template_of(paragraphs("Datum:", "{{ day | sv_date }}"))


# -- safety and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ value.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_the_sandbox_refuses_python_internals(source: str) -> None:
    template = template_of(paragraphs(source))

    with pytest.raises(RenderError, match=r"unsafe|undefined"):
        template.render({"value": "x"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ value | safe }}", "No filter named 'safe'"),
        ("{% autoescape false %}{{ value }}{% endautoescape %}", "autoescape"),
    ],
)
def test_ways_around_escaping_are_refused_at_load(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        template_of(paragraphs(text))


def test_a_broken_tag_is_a_template_error_naming_part_and_paragraph() -> None:
    with pytest.raises(TemplateError, match=r"mall\.docx: word/document\.xml, paragraph 3: "):
        template_of(paragraphs("Rubrik", "{{ ok }}", "{{ meeting.title ", "Slut"))


def test_a_broken_tag_in_a_table_names_row_and_cell() -> None:
    def build(doc: Any) -> None:
        doc.add_paragraph("Rubrik")
        table = doc.add_table(rows=2, cols=2)
        table.cell(1, 1).text = "{{ a b }}"

    with pytest.raises(TemplateError, match=r"word/document\.xml, table 1 row 2, cell 2: "):
        template_of(build)


def test_an_unclosed_block_names_where_it_was_opened() -> None:
    with pytest.raises(TemplateError, match=r"paragraph 2: Unexpected end of template"):
        template_of(paragraphs("Rubrik", "{%p if show %}", "Text", "Slut"))


def test_a_block_spanning_a_table_edge_without_tr_is_refused_at_load() -> None:
    def build(doc: Any) -> None:
        doc.add_table(rows=1, cols=1).cell(0, 0).text = "{% if show %}Cell"
        doc.add_paragraph("Efter {% endif %}")

    with pytest.raises(TemplateError, match=r"table 1 row 1, cell 1: .*different paragraphs"):
        template_of(build)


def test_a_cell_level_value_tag_is_refused_at_load_saying_what_to_use() -> None:
    def build(doc: Any) -> None:
        doc.add_table(rows=1, cols=1).cell(0, 0).text = "{{tc cells }}"

    with pytest.raises(TemplateError, match=r"table 1 row 1.*'\{\{tc \.\.\.\}\}'.*\{%tc for"):
        template_of(build)


def test_an_unknown_variable_is_a_render_error_naming_it_and_its_place() -> None:
    template = template_of(paragraphs("Rubrik", "Hej {{ missing }}"))

    with pytest.raises(
        RenderError,
        match=r"mall\.docx: word/document\.xml, paragraph 2: undefined variable: 'missing'",
    ):
        template.render({})


def test_an_unknown_attribute_in_a_row_loop_names_the_row() -> None:
    template = template_of(add_row_loop_table)

    with pytest.raises(RenderError, match=r"table 1 row 3, cell 2: .*'role'"):
        template.render({"people": [{"name": "Ann"}]})


def test_something_that_is_not_a_docx_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="not a readable docx"):
        DocxTemplate.from_bytes(b"plain text", name="mall.docx")


# -- output ---------------------------------------------------------------------------------


def test_the_same_context_gives_identical_bytes_and_other_data_other_bytes() -> None:
    template = template_of(add_row_loop_table)
    people = [{"name": "Ann", "role": "chef"}]

    first = template.render({"people": people})
    second = template.render({"people": people})

    assert first == second
    assert template.render({"people": [*people, *people]}) != first


def test_only_the_templated_parts_change_and_the_zip_is_sound() -> None:
    data = template_bytes(add_row_loop_table)
    template = DocxTemplate.from_bytes(data, name="mall.docx")

    result = template.render({"people": []})

    with zipfile.ZipFile(io.BytesIO(data)) as before, zipfile.ZipFile(io.BytesIO(result)) as after:
        assert after.testzip() is None
        assert sorted(after.namelist()) == sorted(before.namelist())
        assert {i.date_time for i in after.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        changed = {n for n in before.namelist() if before.read(n) != after.read(n)}
    assert changed == {"word/document.xml"}


def test_renders_from_several_threads_do_not_interfere() -> None:
    template = template_of(add_row_loop_table)

    def render(n: int) -> list[str]:
        people = [{"name": f"{n}-{i}", "role": "r"} for i in range(n % 5)]
        result = reopen(template.render({"people": people}))
        return [row.cells[0].text for row in result.tables[0].rows[1:]]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render, range(40)))

    assert results == [[f"{n}-{i}" for i in range(n % 5)] for n in range(40)]


# -- inspection -----------------------------------------------------------------------------


def test_spots_list_the_template_text_of_each_location_with_loop_variables() -> None:
    def build(doc: Any) -> None:
        add_split_paragraph(doc, "Hej {", "{ name }}")
        doc.add_paragraph("Ingen tagg")
        add_row_loop_table(doc)
        doc.sections[0].header.paragraphs[0].text = "{{ organisation }}"

    spots = docx_spots(template_bytes(build), name="mall.docx")

    assert [(s.location, s.source, dict(s.loop_variables)) for s in spots] == [
        ("word/document.xml, paragraph 1", "Hej {{ name }}", {}),
        ("word/document.xml, table 1 row 2, cell 1", "{%tr for p in people %}", {}),
        ("word/document.xml, table 1 row 3, cell 1", "{{ p.name }}", {"p": "people"}),
        ("word/document.xml, table 1 row 3, cell 2", "{{ p.role }}", {"p": "people"}),
        ("word/document.xml, table 1 row 4, cell 1", "{%tr endfor %}", {"p": "people"}),
        ("word/header1.xml, paragraph 1", "{{ organisation }}", {}),
    ]


def test_spots_do_not_raise_on_broken_syntax() -> None:
    spots = docx_spots(template_bytes(paragraphs("{{ broken", "{% if %}")), name="mall.docx")

    assert [s.source for s in spots] == ["{{ broken", "{% if %}"]


def test_variables_are_the_names_the_template_reads() -> None:
    def build(doc: Any) -> None:
        add_row_loop_table(doc)
        doc.add_paragraph("{{ meeting.title }} {% for g in goals %}{{ g }}{% endfor %}")
        doc.sections[0].footer.paragraphs[0].text = "{{ organisation.name }}"

    assert template_of(build).variables == {"people", "meeting", "goals", "organisation"}
