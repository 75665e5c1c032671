"""Build doc_templates/network_overview.xlsx, the network overview's figures as a workbook.

Run from the repository root:
``python doc_templates/scripts/build_network_overview_workbook.py``.
The same context as the overview deck (``service.documents.network_overview``): cells that are
exactly one tag keep numbers as numbers, so organisers can sort, filter and chart them. Tags
follow the conventions of ``service.engines.xlsx_engine``: the organisation, area and statement
rows are ``{%tr for %}`` loops, the count per scale value a ``{%tc for %}`` column loop, and the
native charts follow the rows and columns the loops insert.

Sheets: "Organisationer" (total and movement, counts, readiness; a bar chart of the totals),
"Områden" (network means and the distribution of answers; two charts), "Svagast" (the
statements with the lowest network mean) and "Påståenden" (every statement).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from service.engines.opc import FIXED_TIME, fix_zip_timestamps
from sheet_styles import font_children_in_excel_order

XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
OUTPUT = Path(__file__).resolve().parents[1] / "network_overview.xlsx"

ORGANISATIONS = "Organisationer"
AREAS = "Områden"
WEAKEST = "Svagast"
STATEMENTS = "Påståenden"

NAVY = "1F3864"
LIGHT_BLUE = "8FAADC"
PALE_RED = "F4B183"
GREY = "595959"

FONT = "Calibri"
TITLE = Font(name=FONT, size=15, bold=True, color=NAVY)
BODY = Font(name=FONT, size=11)
STRONG = Font(name=FONT, size=11, bold=True, color=NAVY)
SMALL = Font(name=FONT, size=9, italic=True, color=GREY)
HEADER = Font(name=FONT, size=11, bold=True, color="FFFFFF")
MARKER = Font(name=FONT, size=9, italic=True, color="7F7F7F")

THIN = Side(style="thin", color="BFBFBF")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="top")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)

PREVIOUS = "{% if rounds.has_previous %}{{ rounds.previous }}{% else %}Föregående{% endif %}"
EMPTY = (
    "{% if not has_scores %}Ingen självskattning är registrerad för {{ meeting.title }} "
    "ännu.{% endif %}"
)
SIGNED = '+0;"−"0;"±"0'
SIGNED_MEAN = '+0.00;"−"0.00;"±"0.00'


def put(ws: Any, ref: str, value: Any, **style: Any) -> Any:
    cell = ws[ref]
    cell.value = value
    for key, setting in style.items():
        setattr(cell, key, setting)
    return cell


def header(ws: Any, ref: str, text: str) -> None:
    put(ws, ref, text, font=HEADER, fill=PatternFill("solid", fgColor=NAVY),
        alignment=HEADER_ALIGN, border=GRID)  # fmt: skip


def cell(ws: Any, ref: str, text: str, number_format: str | None = None, **style: Any) -> None:
    options: dict[str, Any] = {"font": BODY, "alignment": CENTER, "border": GRID, **style}
    if number_format:
        options["number_format"] = number_format
    put(ws, ref, text, **options)


def marker(ws: Any, ref: str, text: str) -> None:
    """A loop marker row: it vanishes when the workbook is rendered."""
    put(ws, ref, text, font=MARKER)


def heading(ws: Any, title: str, lines: list[str]) -> None:
    """Title in A1, then one wrapped line per row below it."""
    put(ws, "A1", title, font=TITLE)
    for row, text in enumerate(lines, 2):
        put(ws, f"A{row}", text, font=SMALL if row > 2 else BODY)


def print_setup(ws: Any, *, landscape: bool = True) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.left.text = "{{ network.name }}"
    ws.oddHeader.left.size = 9
    ws.oddHeader.right.text = "&A"
    ws.oddHeader.right.size = 9
    ws.oddFooter.left.text = "Sammanställning för nätverket – {{ meeting.title }}"
    ws.oddFooter.left.size = 9
    ws.oddFooter.right.text = "Sida &P av &N"
    ws.oddFooter.right.size = 9


def bar_chart(*, title: str, stacked: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked" if stacked else "clustered"
    if stacked:
        chart.overlap = 100
    chart.title = title
    chart.style = 2
    chart.height = 10
    chart.width = 22
    chart.gapWidth = 60
    chart.x_axis.scaling.orientation = "maxMin"  # first row at the top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.crosses = "max"  # keep the value axis at the bottom of the reversed categories
    chart.legend.position = "b"
    chart.dataLabels = DataLabelList(
        showVal=True,
        showSerName=False,
        showCatName=False,
        showLegendKey=False,
        showPercent=False,
        showLeaderLines=False,
    )
    return chart


def add_series(chart: BarChart, ws: Any, column: str, *, rows: tuple[int, int], color: str) -> None:
    """A series over the loop rows of one column, named by the column's header (row 6)."""
    index = ord(column) - ord("A") + 1
    series = Series(Reference(ws, min_col=index, min_row=rows[0], max_row=rows[1]))
    series.tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!${column}$6"))
    series.graphicalProperties.solidFill = color
    series.graphicalProperties.line.solidFill = color
    chart.series.append(series)


# -- Organisationer -----------------------------------------------------------------------------


def build_organisations(ws: Any) -> None:
    ws.sheet_view.showGridLines = False
    for col, width in {"A": 30, "B": 13, "C": 13, "D": 12, "E": 11, "F": 16}.items():
        ws.column_dimensions[col].width = width
    heading(
        ws,
        "Sammanställning för nätverket – {{ meeting.title }}",
        [
            "{{ network.name }} · {{ meeting.date }} · självskattning {{ rounds.current }}"
            "{% if rounds.has_previous %} jämfört med {{ rounds.previous }}{% endif %}",
            "{{ naming }} " + EMPTY,
            "{{ readiness.text }}",
        ],
    )
    ws["A4"].font = STRONG
    header(ws, "A6", "Organisation")
    header(ws, "B6", f"Summa {PREVIOUS}")
    header(ws, "C6", "Summa {{ rounds.current }}")
    header(ws, "D6", "Förändring")
    header(ws, "E6", "{%tc for v in scale.levels %}{{ v.label }}{%tc endfor %}")
    header(ws, "F6", "Tumregeln uppfylld")
    marker(ws, "A7", "{%tr for o in organisations %}")
    cell(ws, "A8", "{{ o.name }}", alignment=WRAP_TOP)
    cell(ws, "B8", "{{ o.previous_total }}", "0")
    cell(ws, "C8", "{{ o.current_total }}", "0", font=STRONG)
    cell(ws, "D8", "{{ o.delta }}", SIGNED)
    cell(ws, "E8", "{{ o.counts[v.index] }}", "0")
    cell(ws, "F8", "{{ o.ready_text }}")
    marker(ws, "A9", "{%tr endfor %}")
    put(ws, "A10", "Summa av alla påståenden, högst {{ scale.max_total }} poäng; tom cell = "
        "ingen självskattning.", font=SMALL)  # fmt: skip

    chart = bar_chart(title="Summa poäng per organisation")
    add_series(chart, ws, "B", rows=(7, 9), color=LIGHT_BLUE)
    add_series(chart, ws, "C", rows=(7, 9), color=NAVY)
    chart.set_categories(Reference(ws, min_col=1, min_row=7, max_row=9))
    chart.y_axis.scaling.min = 0
    chart.y_axis.number_format = "0"
    chart.dataLabels.numFmt = "0"
    ws.add_chart(chart, "A12")
    ws.freeze_panes = "B7"
    print_setup(ws)


# -- Områden ------------------------------------------------------------------------------------


def build_areas(ws: Any) -> None:
    ws.sheet_view.showGridLines = False
    for col, width in {"A": 36, "B": 12, "C": 12, "D": 12, "E": 11}.items():
        ws.column_dimensions[col].width = width
    heading(
        ws,
        "Nätverkets medelvärde och svar per område",
        [
            "Medelvärdet av alla organisationers svar inom området på skalan {{ scale.min }}–"
            "{{ scale.max }}; antal svar per nivå i {{ rounds.current }}.",
            "Ej bedömda påståenden räknas inte. " + EMPTY,
        ],
    )
    header(ws, "A6", "Område")
    header(ws, "B6", PREVIOUS)
    header(ws, "C6", "{{ rounds.current }}")
    header(ws, "D6", "Förändring")
    header(ws, "E6", "{%tc for v in scale.levels %}{{ v.label }}{%tc endfor %}")
    marker(ws, "A7", "{%tr for a in areas %}")
    cell(ws, "A8", "{{ a.name }}", alignment=WRAP_TOP)
    cell(ws, "B8", "{{ a.previous_mean }}", "0.00")
    cell(ws, "C8", "{{ a.current_mean }}", "0.00", font=STRONG)
    cell(ws, "D8", "{{ a.delta }}", SIGNED_MEAN)
    cell(ws, "E8", "{{ a.counts[v.index] }}", "0")
    marker(ws, "A9", "{%tr endfor %}")

    means = bar_chart(title="Medelvärde per område")
    add_series(means, ws, "B", rows=(7, 9), color=LIGHT_BLUE)
    add_series(means, ws, "C", rows=(7, 9), color=NAVY)
    means.set_categories(Reference(ws, min_col=1, min_row=7, max_row=9))
    means.y_axis.scaling.min = 1
    means.y_axis.scaling.max = 3
    means.y_axis.majorUnit = 0.5
    means.y_axis.number_format = "0.0"
    means.dataLabels.numFmt = "0.00"
    ws.add_chart(means, "A12")

    distribution = bar_chart(title="Antal svar per nivå och område", stacked=True)
    # One series in the column loop: the engine repeats it per scale value.
    add_series(distribution, ws, "E", rows=(7, 9), color=NAVY)
    distribution.set_categories(Reference(ws, min_col=1, min_row=7, max_row=9))
    distribution.y_axis.scaling.min = 0
    distribution.y_axis.number_format = "0"
    distribution.dataLabels.numFmt = "0"
    ws.add_chart(distribution, "A33")
    ws.freeze_panes = "B7"
    print_setup(ws)


# -- Svagast and Påståenden ---------------------------------------------------------------------


def build_statements(ws: Any, *, items: str, title: str, lines: list[str]) -> None:
    ws.sheet_view.showGridLines = False
    for col, width in {"A": 6, "B": 70, "C": 30, "D": 10, "E": 8, "F": 8, "G": 10}.items():
        ws.column_dimensions[col].width = width
    heading(ws, title, lines)
    for col, text in zip(
        "ABCDEFG",
        ["Nr", "Påstående", "Område", "Medel", "Min", "Max", "Antal svar"],
        strict=True,
    ):
        header(ws, f"{col}6", text)
    marker(ws, "A7", f"{{%tr for s in {items} %}}")
    cell(ws, "A8", "{{ s.number }}", "0")
    cell(ws, "B8", "{{ s.text }}", alignment=WRAP_TOP)
    cell(ws, "C8", "{{ s.area }}", alignment=WRAP_TOP)
    cell(ws, "D8", "{{ s.mean }}", "0.00", font=STRONG)
    cell(ws, "E8", "{{ s.min }}", "0")
    cell(ws, "F8", "{{ s.max }}", "0")
    cell(ws, "G8", "{{ s.assessed }}", "0")
    marker(ws, "A9", "{%tr endfor %}")
    ws.freeze_panes = "A7"
    print_setup(ws)


# -- after openpyxl -----------------------------------------------------------------------------

CHART_NAMES = {
    "Summa poäng per organisation": (
        "Diagram: summa per organisation",
        "Liggande stapeldiagram med summan av varje organisations självskattning, "
        "{{ rounds.previous }} och {{ rounds.current }}, i {{ network.name }}.",
    ),
    "Medelvärde per område": (
        "Diagram: medelvärde per område",
        "Liggande stapeldiagram med nätverkets medelvärde per område, {{ rounds.previous }} "
        "och {{ rounds.current }}, på skalan {{ scale.min }} till {{ scale.max }}.",
    ),
    "Antal svar per nivå och område": (
        "Diagram: svar per nivå och område",
        "Staplat liggande stapeldiagram med antalet svar på varje nivå inom varje område, "
        "summerat över nätverkets organisationer, {{ rounds.current }}.",
    ),
}


def finish(data: bytes, chart_titles: dict[str, str]) -> bytes:
    """What openpyxl cannot do: the charts' names and alt text, a fixed modification time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if re.fullmatch(r"xl/drawings/drawing\d+\.xml", info.filename):
                root = etree.fromstring(content)
                rels = etree.fromstring(source.read(_rels_name(info.filename)))
                targets = {r.get("Id"): r.get("Target") for r in rels}
                for frame in root.iter(f"{XDR}graphicFrame"):
                    chart = frame.find(".//{*}chart")
                    rid = chart.get(
                        "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
                    )
                    title = chart_titles[Path(targets[rid]).name]
                    name, description = CHART_NAMES[title]
                    properties = frame.find(f".//{XDR}cNvPr")
                    properties.set("name", name)
                    properties.set("descr", description)
                content = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            if info.filename == "xl/styles.xml":
                content = font_children_in_excel_order(content)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the time of saving, whatever the properties say.
                fixed = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + fixed + rb"\g<2>",
                    content,
                )
            target.writestr(info.filename, content)
    return out.getvalue()


def _rels_name(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels"


def _chart_titles(data: bytes) -> dict[str, str]:
    """Chart part file name -> its title, from the saved workbook."""
    titles = {}
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        for name in source.namelist():
            if re.fullmatch(r"xl/charts/chart\d+\.xml", name):
                root = etree.fromstring(source.read(name))
                text = "".join(t.text or "" for t in root.iter("{*}t"))
                titles[Path(name).name] = text
    return titles


def build() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = ORGANISATIONS
    build_organisations(ws)
    build_areas(wb.create_sheet(AREAS))
    build_statements(
        wb.create_sheet(WEAKEST),
        items="weakest",
        title="Här är nätverket som helhet svagast",
        lines=[
            "Påståendena med lägst medelvärde i {{ rounds.current }} över alla organisationer; "
            "min och max visar spridningen.",
            "Nr är påståendets nummer i checklistan. " + EMPTY,
        ],
    )
    build_statements(
        wb.create_sheet(STATEMENTS),
        items="statements",
        title="Alla påståenden i {{ rounds.current }}",
        lines=[
            "Nätverkets medelvärde, lägsta och högsta svar per påstående, i checklistans "
            "ordning. Sortera eller filtrera fritt.",
            EMPTY,
        ],
    )
    wb.active = 0
    # Fixed dates and zip times: building twice gives the same file.
    wb.properties.creator = "benchdocs"
    wb.properties.title = "Sammanställning för nätverket"
    wb.properties.subject = "Nätverkets självskattning per träff"
    wb.properties.language = "sv-SE"
    wb.properties.created = wb.properties.modified = FIXED_TIME.replace(tzinfo=None)
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()
    return fix_zip_timestamps(finish(data, _chart_titles(data)))


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
