"""The xlsx template engine, on small workbooks built here with openpyxl or by hand."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from service.engines.xlsx_engine import XlsxTemplate, xlsx_spots
from service.errors import RenderError, TemplateError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
DRAWING_MAIN = "{http://schemas.openxmlformats.org/drawingml/2006/main}"

HOSTILE_VALUES = {
    "xml": 'Åbo & Söner <AB> "citat"',
    "expression": "{{ 7*7 }}",
    "statement": "{% for x in y %}",
    "emoji": "👩‍💼🚀",
    "swedish": "åäöÅÄÖ",
}


# -- builders -------------------------------------------------------------------------------


def saved(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def render(template: bytes, context: dict[str, Any]) -> bytes:
    return XlsxTemplate.from_bytes(template, name="mall.xlsx").render(context)


def reopen(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def member(data: bytes, name: str) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(name).decode("utf-8")


def hand_made(rows: str, *, shared: tuple[str, ...] = (), after_data: str = "") -> bytes:
    """A minimal xlsx whose sheet 'Data' and shared strings are written out as XML."""
    worksheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{worksheet}"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData>{after_data}</worksheet>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{"".join(shared)}</sst>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def replace_in_member(data: bytes, name: str, old: str, new: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    assert name in source.namelist(), f"no {name} to change"
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == name:
                assert old.encode() in content
                content = content.replace(old.encode(), new.encode())
            target.writestr(info.filename, content)
    return buffer.getvalue()


def one_sheet(**cells: Any) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    for ref, value in cells.items():
        ws[ref] = value
    return saved(wb)


def loop_template() -> bytes:
    """A row loop with formulas, validation, formatting, merges, names and a chart below it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "Poäng för {{ title }}"
    ws["A2"] = "{%tr for q in items %}"
    ws["A3"] = "{{ q.name }}"
    ws["B3"] = "{{ q.score }}"
    ws["C3"] = "=B3*2"
    ws["E3"] = "{{ q.note }}"
    ws.merge_cells("E3:F3")
    ws["A4"] = "{%tr endfor %}"
    ws["A5"] = "Summa"
    ws["B5"] = "=SUM(B2:B4)"
    ws["C5"] = "=B5+B7"
    ws["A6"] = "Sammanfattning"
    ws.merge_cells("A6:B6")
    ws["B7"] = 3
    body_rule = DataValidation(type="whole", operator="between", formula1="1", formula2="3")
    ws.add_data_validation(body_rule)
    body_rule.add("B3")
    below_rule = DataValidation(type="whole", operator="greaterThan", formula1="$B$5")
    ws.add_data_validation(below_rule)
    below_rule.add("B7")
    green = PatternFill("solid", fgColor="C6EFCE")
    ws.conditional_formatting.add("C3", FormulaRule(formula=["C3>2"], fill=green))
    ws.conditional_formatting.add("B5", FormulaRule(formula=["B5>10"], fill=green))
    wb.defined_names["scores"] = DefinedName("scores", attr_text="Data!$B$2:$B$4")
    wb.defined_names["total"] = DefinedName("total", attr_text="Data!$B$5")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=2, max_row=4))
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
    ws.add_chart(chart, "B10")
    return saved(wb)


def items(count: int) -> list[dict[str, Any]]:
    return [{"name": f"Fråga {n}", "score": n, "note": f"not {n}"} for n in range(1, count + 1)]


def chart_xml(data: bytes) -> Any:
    return etree.fromstring(member(data, "xl/charts/chart1.xml").encode())


def cf_ranges(ws: Any) -> dict[str, list[str]]:
    return {
        str(cf.sqref): [rule.formula[0] for rule in cf.rules] for cf in ws.conditional_formatting
    }


# -- text and values ------------------------------------------------------------------------


def test_a_tag_split_over_rich_text_runs_is_rendered() -> None:
    template = hand_made(
        '<row r="1"><c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="inlineStr"><is><r><t>{{ num</t></r><r><t>ber }}</t></r></is></c></row>',
        shared=("<si><r><rPr><b/></rPr><t>Hej {{ na</t></r><r><t>me }}!</t></r></si>",),
    )

    data = render(template, {"name": "Askersund", "number": 7})

    ws = reopen(data).active
    assert ws["A1"].value == "Hej Askersund!"
    sheet = etree.fromstring(member(data, "xl/worksheets/sheet1.xml").encode())
    (run,) = sheet.find(f".//{{{MAIN}}}c[@r='A1']").iter(f"{{{MAIN}}}r")
    assert run.find(f"{{{MAIN}}}rPr/{{{MAIN}}}b") is not None  # the first run's formatting
    assert ws["B1"].value == 7
    assert ws["B1"].data_type == "n"


def test_a_cell_that_is_one_tag_keeps_the_value_type() -> None:
    wb = Workbook()
    ws = wb.active
    for ref, tag in {
        "A1": "{{ integer }}",
        "A2": "{{ real }}",
        "A3": "{{ decimal }}",
        "A4": "{{ day }}",
        "A5": "{{ moment }}",
        "A6": "{{ flag }}",
        "A7": "{{ nothing }}",
        "A8": "{{ text }}",
        "A9": "  {{ integer }}  ",
    }.items():
        ws[ref] = tag
    ws["A4"].number_format = "yyyy-mm-dd"
    ws["A5"].number_format = "yyyy-mm-dd hh:mm"
    ws["A7"].fill = PatternFill("solid", fgColor="FFF2CC")
    context = {
        "integer": 42,
        "real": 2.5,
        "decimal": Decimal("1.25"),
        "day": dt.date(2019, 9, 26),
        "moment": dt.datetime(2019, 9, 26, 9, 30),
        "flag": True,
        "nothing": None,
        "text": "0042",
    }

    ws = reopen(render(saved(wb), context)).active

    assert [ws[f"A{r}"].value for r in range(1, 10)] == [
        42,
        2.5,
        1.25,
        dt.datetime(2019, 9, 26),
        dt.datetime(2019, 9, 26, 9, 30),
        True,
        None,
        "0042",
        42,
    ]
    assert ws["A7"].fill.fgColor.rgb.endswith("FFF2CC")  # None keeps the cell and its style
    assert ws["A8"].data_type == "s"


def test_mixed_text_becomes_a_string() -> None:
    template = one_sheet(A1="Summa: {{ total }} av {{ max }}", A2="{{ a }}{{ b }}")

    ws = reopen(render(template, {"total": 40, "max": 72, "a": 1, "b": 2})).active

    assert ws["A1"].value == "Summa: 40 av 72"
    assert ws["A2"].value == "12"
    assert ws["A2"].data_type == "s"


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "=1+1"])
def test_data_that_looks_like_a_formula_stays_text(value: str) -> None:
    template = one_sheet(A1="{{ value }}", A2="Värde: {{ value }}")

    data = render(template, {"value": value})

    ws = reopen(data).active
    assert (ws["A1"].value, ws["A1"].data_type) == (value, "s")
    assert ws["A2"].value == f"Värde: {value}"
    assert "<f>" not in member(data, "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_hostile_text_appears_as_typed(value: str) -> None:
    template = one_sheet(A1="{{ value }}", A2="«{{ value }}»")

    ws = reopen(render(template, {"value": value})).active

    assert ws["A1"].value == value
    assert ws["A2"].value == f"«{value}»"


def test_control_characters_are_removed_from_values() -> None:
    template = one_sheet(A1="{{ value }}", A2="x{{ value }}x")

    ws = reopen(render(template, {"value": "a\x00b\x1fc\td"})).active

    assert ws["A1"].value == "abc\td"
    assert ws["A2"].value == "xabc\tdx"


def test_words_manual_line_break_u000b_becomes_a_newline_in_the_cell() -> None:
    template = one_sheet(A1="{{ value }}")

    data = render(template, {"value": "första raden\x0bandra raden"})

    assert reopen(data).active["A1"].value == "första raden\nandra raden"
    with zipfile.ZipFile(io.BytesIO(data)) as package:  # no raw or escaped U+000B in any part
        xml_parts = [n for n in package.namelist() if n.endswith((".xml", ".rels"))]
        assert not [n for n in xml_parts if re.search(rb"\x0b|_x000B_", package.read(n))]


def test_quotes_typed_as_typographic_inside_a_tag_still_work() -> None:
    template = one_sheet(A1="{{ missing | default(“tom”) }}", A2="“citat” {{ x }}")

    ws = reopen(render(template, {"x": 1})).active

    assert ws["A1"].value == "tom"
    assert ws["A2"].value == "“citat” 1"  # outside a tag the text is left as typed


# -- row loops --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_row_loop_moves_everything_below_it(count: int) -> None:
    data = render(loop_template(), {"title": "Askersund", "items": items(count)})

    ws = reopen(data)["Data"]

    def moved(template_row: int) -> int:  # rows below the loop: 2 markers and 1 body row go
        return template_row - 3 + count

    assert [ws.cell(row, 1).value for row in range(2, 2 + count)] == [
        f"Fråga {n}" for n in range(1, count + 1)
    ]
    assert [ws.cell(row, 2).value for row in range(2, 2 + count)] == list(range(1, count + 1))
    assert [ws.cell(row, 3).value for row in range(2, 2 + count)] == [
        f"=B{row}*2" for row in range(2, 2 + count)
    ]
    total = moved(5)
    assert ws.cell(total, 1).value == "Summa"
    assert ws.cell(total, 2).value == (f"=SUM(B2:B{1 + count})" if count else "=SUM(#REF!)")
    assert ws.cell(total, 3).value == f"=B{total}+B{moved(7)}"
    assert ws.cell(moved(7), 2).value == 3
    assert {str(r) for r in ws.merged_cells.ranges} == {f"A{moved(6)}:B{moved(6)}"} | {
        f"E{row}:F{row}" for row in range(2, 2 + count)
    }
    validations = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    body = {1: "B2", 3: "B2:B4"}
    # The rule below the loop moves, and so does the cell its bound refers to.
    assert validations == ({"1": body[count]} if count else {}) | {f"$B${total}": f"B{moved(7)}"}
    formats = cf_ranges(ws)
    assert formats[f"B{total}"] == [f"B{total}>10"]
    if count:
        assert formats[f"C2:C{1 + count}" if count > 1 else "C2"] == ["C2>2"]
    else:
        assert len(formats) == 1
    book = reopen(data)
    assert book.defined_names["total"].attr_text == f"Data!$B${total}"
    assert book.defined_names["scores"].attr_text == (
        f"Data!$B$2:$B${1 + count}" if count else "#REF!"
    )


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_chart_is_kept_and_its_series_follow_the_loop(count: int) -> None:
    data = render(loop_template(), {"title": "x", "items": items(count)})

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "xl/charts/chart1.xml" in names
    assert "xl/drawings/drawing1.xml" in names
    chart = chart_xml(data)
    values = chart.find(f".//{CHART}val//{CHART}f").text
    categories = chart.find(f".//{CHART}cat//{CHART}f").text
    if count:
        assert values == f"Data!$B$2:$B${1 + count}"
        assert categories == f"Data!$A$2:$A${1 + count}"
        cached = [pt.findtext(f"{CHART}v") for pt in chart.iter(f"{CHART}pt")]
        assert cached[:count] == [repr(float(n)) for n in range(1, count + 1)]
    else:
        assert values == "#REF!"
    drawing = etree.fromstring(member(data, "xl/drawings/drawing1.xml").encode())
    anchor_row = drawing.find(".//{*}from/{*}row").text
    assert int(anchor_row) == 9 - 3 + count  # B10, zero-based, moved with the rows


def test_a_multi_row_body_repeats_as_a_block() -> None:
    template = one_sheet(
        A1="{%tr for p in people %}", A2="{{ p.name }}", A3='=A2&"!"', A4="{%tr endfor %}"
    )

    ws = reopen(render(template, {"people": [{"name": "Ada"}, {"name": "Bo"}]})).active

    assert [ws[f"A{r}"].value for r in range(1, 5)] == ["Ada", '=A1&"!"', "Bo", '=A3&"!"']


def test_shared_formulas_are_expanded_and_moved() -> None:
    template = hand_made(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>2</v></c></row>'
        '<row r="4"><c r="A4"><v>1</v></c><c r="B4"><f t="shared" ref="B4:B5" si="0">A4*2</f>'
        "<v>2</v></c></row>"
        '<row r="5"><c r="A5"><v>2</v></c><c r="B5"><f t="shared" si="0"/><v>4</v></c></row>',
        shared=(
            "<si><t>{%tr for x in xs %}</t></si>",
            "<si><t>{{ x }}</t></si>",
            "<si><t>{%tr endfor %}</t></si>",
        ),
    )

    ws = reopen(render(template, {"xs": [10, 20]})).active

    assert [ws["A1"].value, ws["A2"].value] == [10, 20]
    assert [ws["B3"].value, ws["B4"].value] == ["=A3*2", "=A4*2"]


def test_wrapped_text_gets_a_row_height_that_fits() -> None:
    wb = Workbook()
    ws = wb.active
    ws.column_dimensions["A"].width = 10
    ws["A1"] = "{{ text }}"
    ws["A1"].alignment = Alignment(wrap_text=True)
    ws["A2"] = "{{ text }}"
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.row_dimensions[2].height = 20  # set by hand: left alone

    ws = reopen(render(saved(wb), {"text": "ord " * 30})).active

    assert ws.row_dimensions[1].height > 5 * 15
    assert ws.row_dimensions[2].height == 20


def test_text_with_a_line_break_wraps_even_where_the_template_cell_does_not() -> None:
    """A line break shows only in a wrapping cell: a wrapped copy of the format is added."""
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "{{ text }}"  # the default format
    ws["B1"] = "{{ text }}"
    ws["B1"].font = Font(bold=True)  # a format of its own, kept in the copy
    ws["C1"] = "{{ text }}"
    ws["C1"].alignment = Alignment(wrap_text=True, vertical="top")  # already wraps
    ws["A2"] = "{{ one_line }}"
    ws["A3"] = "{{ text }}"  # the default format again: the same copy
    template = saved(wb)
    template_formats = len(reopen(template)._cell_styles)
    context = {"text": "första raden\nandra raden", "one_line": "en rad"}

    data = render(template, context)

    out = reopen(data).active
    for ref in ("A1", "B1", "C1", "A3"):
        assert out[ref].value == "första raden\nandra raden"
        assert out[ref].alignment.wrap_text is True, ref
    assert out["B1"].font.b is True
    assert out["C1"].alignment.vertical == "top"
    assert not out["A2"].alignment.wrap_text  # one line: the format is left as it was
    assert out["A1"].style_id == out["A3"].style_id
    assert len(reopen(data)._cell_styles) == template_formats + 2  # A1/A3 and B1 copied once
    assert out.row_dimensions[3].height >= 2 * 15  # the row grows to show both lines
    assert render(template, context) == data  # the same context, the same bytes


# -- column and sheet loops --------------------------------------------------------------------


def column_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Tabell"
    ws["A1"] = "Område"
    ws["B1"] = "{%tc for r in rounds %}{{ r.label }}{%tc endfor %}"
    ws["C1"] = "Nu"
    ws["A2"] = "Styrning"
    ws["B2"] = "{{ r.mean }}"
    ws["C2"] = "=AVERAGE(B2:B2)"
    ws["A3"] = "Ledning"
    ws["B3"] = "{{ r.mean + 1 }}"
    ws["C3"] = "=B3"
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 9
    chart = BarChart()
    for col, colour in ((2, "8FAADC"), (3, "1F3864")):
        series = Series(Reference(ws, min_col=col, min_row=2, max_row=3), title_from_data=False)
        series.graphicalProperties.solidFill = colour
        chart.series.append(series)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=3))
    ws.add_chart(chart, "A6")
    return saved(wb)


def test_a_column_loop_repeats_columns_and_moves_what_follows() -> None:
    rounds = [{"label": "BM 1", "mean": 1.5}, {"label": "BM 2", "mean": 2.0}]

    data = render(column_template(), {"rounds": rounds})

    ws = reopen(data)["Tabell"]
    assert [c.value for c in ws[1]] == ["Område", "BM 1", "BM 2", "Nu"]
    assert [c.value for c in ws[2]] == ["Styrning", 1.5, 2.0, "=AVERAGE(B2:C2)"]
    assert ws["D3"].value == "=B3"  # a single cell: the first copy
    assert [ws.column_dimensions[c].width for c in "BCD"] == [20, 20, 9]
    chart = chart_xml(data)
    series = chart.findall(f".//{CHART}ser")
    assert [s.find(f"{CHART}val//{CHART}f").text for s in series] == [
        "Tabell!$B$2:$B$3",
        "Tabell!$C$2:$C$3",
        "Tabell!$D$2:$D$3",
    ]
    assert [s.find(f"{CHART}idx").get("val") for s in series] == ["0", "1", "2"]
    colours = [s.find(f".//{CHART}spPr//{DRAWING_MAIN}srgbClr").get("val") for s in series]
    assert colours[1:] == ["8FAADC", "1F3864"]  # the last copy keeps the template's colour
    assert colours[0] != "8FAADC"  # earlier copies are lighter shades


def test_a_column_loop_without_items_removes_its_columns() -> None:
    ws = reopen(render(column_template(), {"rounds": []}))["Tabell"]

    assert [c.value for c in ws[1]] == ["Område", "Nu"]
    assert ws["B2"].value == "=AVERAGE(#REF!)"


def sheet_loop_template() -> bytes:
    wb = Workbook()
    summary = wb.active
    summary.title = "Summering"
    summary["A1"] = "='{{ r.name }}'!B2"
    rounds = wb.create_sheet("{{ r.name }}")
    rounds["A1"] = "{%sheet for r in rounds %}"
    rounds["A2"] = "Omgång {{ r.name }}"
    rounds["B2"] = "{{ r.score }}"
    rounds["B3"] = "=B2*2"
    rounds.defined_names["score"] = DefinedName("score", attr_text="'{{ r.name }}'!$B$2")
    rounds.print_title_rows = "2:2"
    wb.create_sheet("Efter")["A1"] = "sist"
    return saved(wb)


def test_a_sheet_loop_makes_one_sheet_per_item_named_from_data() -> None:
    rounds = [
        {"name": "BM 1", "score": 1},
        {"name": "BM/2*", "score": 2},
        {"name": "BM 1", "score": 3},
    ]

    data = render(sheet_loop_template(), {"rounds": rounds})

    wb = reopen(data)
    assert wb.sheetnames == ["Summering", "BM 1", "BM2", "BM 1 (2)", "Efter"]
    assert [wb[name]["A1"].value for name in wb.sheetnames[1:4]] == [
        "Omgång BM 1",
        "Omgång BM/2*",
        "Omgång BM 1",
    ]
    # The marker row is gone: row 2 of the template is row 1 of each copy.
    assert [wb[name]["B1"].value for name in wb.sheetnames[1:4]] == [1, 2, 3]
    assert wb["BM2"]["B2"].value == "=B1*2"
    assert wb["Summering"]["A1"].value == "='BM 1'!B1"  # from outside: the first copy
    assert [wb[name].defined_names["score"].attr_text for name in wb.sheetnames[1:4]] == [
        "'BM 1'!$B$1",
        "'BM2'!$B$1",  # BM2 is also a cell address: quoted
        "'BM 1 (2)'!$B$1",
    ]
    assert [wb[name].print_title_rows for name in wb.sheetnames[1:4]] == ["$1:$1"] * 3
    workbook_xml = member(data, "xl/workbook.xml")
    assert workbook_xml.count("tabSelected") == 0
    assert sum('tabSelected="1"' in member(data, n) for n in _sheet_parts(data)) == 1


def _sheet_parts(data: bytes) -> list[str]:
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    return [n for n in names if n.startswith("xl/worksheets/sheet")]


def test_a_sheet_loop_without_items_removes_the_sheet() -> None:
    data = render(sheet_loop_template(), {"rounds": []})

    wb = reopen(data)
    assert wb.sheetnames == ["Summering", "Efter"]
    assert wb["Summering"]["A1"].value == "=#REF!"
    assert len(_sheet_parts(data)) == 2


def test_a_chart_sheet_keeps_its_place_among_repeated_sheets() -> None:
    wb = Workbook()
    data = wb.active
    data.title = "Data"
    data["A1"] = 1
    chart = BarChart()
    chart.add_data(Reference(data, min_col=1, min_row=1, max_row=1))
    wb.create_chartsheet("Diagram").add_chart(chart)
    repeated = wb.create_sheet("{{ r }}")
    repeated["A1"] = "{%sheet for r in rounds %}"
    repeated["A2"] = "{{ r }}"
    wb.create_sheet("Sist").print_title_rows = "1:1"
    # openpyxl numbers local names among worksheets only; Excel counts the chart sheet too.
    template = replace_in_member(
        saved(wb), "xl/workbook.xml", 'localSheetId="2"', 'localSheetId="3"'
    )

    rendered = reopen(render(template, {"rounds": ["BM 1", "BM 2"]}))

    assert rendered.sheetnames == ["Data", "Diagram", "BM 1", "BM 2", "Sist"]
    assert rendered["Sist"].print_title_rows == "$1:$1"


# -- other places that hold tags ------------------------------------------------------------


def test_validation_messages_are_rendered_and_cut_to_excel_limits() -> None:
    wb = Workbook()
    ws = wb.active
    rule = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="3",
        promptTitle="{{ title }}",
        prompt="{{ prompt }}",
    )
    ws.add_data_validation(rule)
    rule.add("A1")

    ws = reopen(
        render(saved(wb), {"title": "Poäng 1–3", "prompt": "1 = Inte påbörjat" * 20})
    ).active

    (rendered,) = ws.data_validations.dataValidation
    assert rendered.promptTitle == "Poäng 1–3"
    assert rendered.prompt == ("1 = Inte påbörjat" * 20)[:255]


def test_header_and_footer_tags_escape_ampersands() -> None:
    wb = Workbook()
    wb.active.oddHeader.left.text = "{{ name }}"
    wb.active["A1"] = "x"

    ws = reopen(render(saved(wb), {"name": "Åbo & Söner"})).active

    assert ws.oddHeader.left.text == "Åbo && Söner"


# -- errors -------------------------------------------------------------------------------------


def test_variables_are_the_names_read_outside_the_loops_that_bind_them() -> None:
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "{{ q }}"
    ws["A2"] = "{%tr for q in items %}"
    ws["A3"] = "{{ q.name }} {{ unit }}"
    ws["B3"] = "{{ q.score | default(fallback) }}"
    ws["A4"] = "{%tr endfor %}"
    ws.oddHeader.center.text = "{{ header }}"
    looped = wb.create_sheet("{{ r.name }}")
    looped["A1"] = "{%sheet for r in rounds %}"
    looped.oddFooter.center.text = "{{ r.name }} {{ footer }}"

    def variables(data: bytes) -> frozenset[str]:
        return XlsxTemplate.from_bytes(data, name="mall.xlsx").variables

    assert variables(saved(wb)) == {
        "q",
        "items",
        "unit",
        "fallback",
        "header",
        "rounds",
        "footer",
    }
    assert variables(loop_template()) == {"title", "items"}
    assert variables(column_template()) == {"rounds"}
    assert variables(sheet_loop_template()) == {"rounds"}


def test_a_broken_tag_is_a_template_error_naming_the_cell() -> None:
    template = one_sheet(A1="ok", B2="Hej {{ name ")

    with pytest.raises(TemplateError, match=r"mall\.xlsx: Data!B2: "):
        XlsxTemplate.from_bytes(template, name="mall.xlsx")


def test_an_unclosed_row_loop_is_a_template_error() -> None:
    template = one_sheet(A1="{%tr for x in xs %}", A2="{{ x }}")

    with pytest.raises(TemplateError, match=r"Data!A1: '\{%tr for %\}' without"):
        XlsxTemplate.from_bytes(template, name="mall.xlsx")


def test_an_unknown_variable_is_a_render_error_naming_the_cell() -> None:
    template = XlsxTemplate.from_bytes(one_sheet(C4="{{ organisation.namn }}"), name="mall.xlsx")

    with pytest.raises(RenderError, match=r"mall\.xlsx: Data!C4: undefined variable"):
        template.render({"organisation": {"name": "Askersund"}})


def test_an_error_inside_a_loop_names_the_item() -> None:
    template = XlsxTemplate.from_bytes(loop_template(), name="mall.xlsx")
    broken = [*items(1), {"name": "Fråga 2", "score": 2}]

    with pytest.raises(RenderError, match=r"Data!E3: .*\(item 2 of 'items'\)"):
        template.render({"title": "x", "items": broken})


def test_a_loop_over_something_that_is_not_a_list_is_a_render_error() -> None:
    template = XlsxTemplate.from_bytes(loop_template(), name="mall.xlsx")

    with pytest.raises(RenderError, match=r"Data!A2: 'items' must be a list, not str"):
        template.render({"title": "x", "items": "abc"})


def test_a_file_that_is_not_a_workbook_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="not a readable xlsx file"):
        XlsxTemplate.from_bytes(b"PK nonsense", name="mall.xlsx")


# -- reproducibility and inspection ----------------------------------------------------------


def test_rendering_the_same_context_twice_gives_the_same_bytes() -> None:
    template = XlsxTemplate.from_bytes(loop_template(), name="mall.xlsx")
    context = {"title": "Askersund", "items": items(3)}

    first = template.render(context)
    second = XlsxTemplate.from_bytes(loop_template(), name="mall.xlsx").render(context)

    assert first == second == template.render(context)
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_spots_list_every_tag_with_location_and_loop_variables() -> None:
    spots = xlsx_spots(loop_template(), name="mall.xlsx")

    found = {(s.location, s.source): dict(s.loop_variables) for s in spots}
    assert found == {
        ("Data!A1", "Poäng för {{ title }}"): {},
        ("Data!A2", "{%tr for q in items %}"): {},
        ("Data!A3", "{{ q.name }}"): {"q": "items"},
        ("Data!B3", "{{ q.score }}"): {"q": "items"},
        ("Data!E3", "{{ q.note }}"): {"q": "items"},
        ("Data!A4", "{%tr endfor %}"): {},
    }


def test_spots_of_sheet_and_column_loops_carry_their_variables() -> None:
    sheet_spots = {s.location: dict(s.loop_variables) for s in xlsx_spots(
        sheet_loop_template(), name="mall.xlsx"
    )}  # fmt: skip
    column_spots = [
        (s.location, s.source, dict(s.loop_variables))
        for s in xlsx_spots(column_template(), name="mall.xlsx")
    ]

    assert sheet_spots["{{ r.name }} (sheet name)"] == {"r": "rounds"}
    assert sheet_spots["{{ r.name }}!A2"] == {"r": "rounds"}
    assert sheet_spots["{{ r.name }}!A1"] == {}  # the directive, handed over as '{{ rounds }}'
    assert ("{{ r.name }}!A1", "{{ rounds }}") in {
        (s.location, s.source) for s in xlsx_spots(sheet_loop_template(), name="mall.xlsx")
    }
    assert column_spots == [
        ("Tabell!B1", "{%tc for r in rounds %}", {}),
        ("Tabell!B1", "{{ r.label }}", {"r": "rounds"}),
        ("Tabell!B1", "{%tc endfor %}", {}),
        ("Tabell!B2", "{{ r.mean }}", {"r": "rounds"}),
        ("Tabell!B3", "{{ r.mean + 1 }}", {"r": "rounds"}),
    ]


def test_spots_report_broken_tags_without_judging_them() -> None:
    spots = xlsx_spots(one_sheet(B2="Hej {{ name ", C3="{% if %}"), name="mall.xlsx")

    assert [(s.location, s.source) for s in spots] == [
        ("Data!B2", "Hej {{ name "),
        ("Data!C3", "{% if %}"),
    ]
