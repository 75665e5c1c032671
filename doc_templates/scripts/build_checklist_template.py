"""Build doc_templates/checklist.xlsx, the per-organisation self-assessment checklist.

Run from the repository root: ``python doc_templates/scripts/build_checklist_template.py``.
The result is committed; organisers may then edit the .xlsx in Excel or LibreOffice directly.
Tags follow the conventions of ``service.engines.xlsx_engine``; the context comes from
``service.documents.checklist.build_checklist_context``.

Sheets: "Instruktion"; "{{ r.tab }}", repeated per earlier round (its first row is the
``{%sheet for %}`` marker and vanishes); "{{ current.tab }}", the round to fill in; and
"Sammanställning" with a column per earlier round (``{%tc for %}``) and a native bar chart.
Column H of each round sheet is hidden and holds what a later upload needs to read the file
back: the layout id, round, organisation and meeting refs, the scale and each question's area;
local defined names ``bd_*`` point at the same cells and at the question, score and comment
columns.
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
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.protection import SheetProtection

from service.engines.opc import FIXED_TIME, fix_zip_timestamps
from sheet_styles import font_children_in_excel_order

XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
OUTPUT = Path(__file__).resolve().parents[1] / "checklist.xlsx"

LAYOUT_ID = "benchdocs-checklista/1"  # service.documents.checklist.LAYOUT_ID
CURRENT = "{{ current.tab }}"
EARLIER = "{{ r.tab }}"
SUMMARY = "Sammanställning"

NAVY = "1F3864"
BLUE = "2E75B6"
LIGHT_BLUE = "8FAADC"
PALE = "F2F5F9"
INPUT = "FFF2CC"  # the cells to fill in
GREY = "595959"
READ_ONLY = "EDEDED"

FONT = "Calibri"
TITLE = Font(name=FONT, size=15, bold=True, color=NAVY)
HEADING = Font(name=FONT, size=12, bold=True, color=NAVY)
LABEL = Font(name=FONT, size=11, bold=True)
BODY = Font(name=FONT, size=11)
SMALL = Font(name=FONT, size=9, italic=True, color=GREY)
HEADER = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HIDDEN = Font(name=FONT, size=9, color=GREY)

THIN = Side(style="thin", color="BFBFBF")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="top")
RIGHT = Alignment(horizontal="right", vertical="top")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
UNLOCKED = Protection(locked=False)
MARKER = Font(name=FONT, size=9, italic=True, color="7F7F7F")

GOOD = PatternFill("solid", fgColor="C6EFCE")
BAD = PatternFill("solid", fgColor="FFC7CE")


def fill(color: str) -> PatternFill:
    return PatternFill("solid", fgColor=color)


def put(ws: Any, ref: str, value: Any, **style: Any) -> Any:
    cell = ws[ref]
    cell.value = value
    for key, setting in style.items():
        setattr(cell, key, setting)
    return cell


def marker(ws: Any, ref: str, text: str) -> None:
    """A loop marker row: it vanishes when the workbook is rendered."""
    put(ws, ref, text, font=MARKER)


def protect(ws: Any) -> None:
    """Sheet protection without a password: against slips, not against people."""
    ws.protection = SheetProtection(
        sheet=True, formatColumns=False, formatRows=False, selectLockedCells=False
    )


def print_setup(ws: Any, *, landscape: bool, title_rows: str | None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    # Inches. The header and footer sit 0.35 in from the edge and the sheet starts 0.9 in from
    # it, so the header's 9 pt line never overlaps the title (it did with 0.6 and 0.3).
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.9
    ws.page_margins.header = ws.page_margins.footer = 0.35
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddHeader.left.text = "{{ organisation.name }}"
    ws.oddHeader.left.size = 9
    ws.oddHeader.right.text = "&A"
    ws.oddHeader.right.size = 9
    ws.oddFooter.left.text = "{{ checklist.title }}"
    ws.oddFooter.left.size = 9
    ws.oddFooter.right.text = "Sida &P av &N"
    ws.oddFooter.right.size = 9


# -- Instruktion --------------------------------------------------------------------------------


def build_instructions(ws: Any) -> None:
    ws.title = "Instruktion"
    ws.sheet_view.showGridLines = False
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 96
    put(ws, "A1", "{{ checklist.title }}", font=TITLE)
    put(ws, "A2", "{{ organisation.name }} · {{ network.name }}", font=LABEL)
    text = {"font": BODY, "alignment": WRAP_TOP}
    heading = {"font": HEADING, "alignment": WRAP_TOP}
    put(ws, "A4", "Syfte", **heading)
    put(
        ws,
        "B4",
        "Checklistan hjälper er att själva skatta hur långt organisationen har kommit i "
        "arbetet med jämställdhetsintegrering. Summan av poängen visar utvecklingen över tid "
        "och gör det möjligt att jämföra skattningarna inför varje benchmarkingträff.",
        **text,
    )
    put(ws, "A6", "Så gör ni", **heading)
    steps = [
        "1. Gör skattningen gemensamt – politiker, chef och strateg tillsammans. Samtalet om "
        "varför ni väljer en viss poäng är lika viktigt som själva poängen.",
        "2. Fyll i fliken {{ current.tab }}: en poäng per påstående i kolumnen Poäng (de gula "
        "cellerna) och gärna en kort motivering i kolumnen Kommentar.",
        "3. Lämna poängen tom om ni inte kan bedöma ett påstående. Tomma poäng räknas inte in "
        "i summan eller i medelvärdena.",
        "4. {{ instructions.earlier }}",
        "5. {{ instructions.upload }}",
    ]
    for row, step in enumerate(steps, 6):
        put(ws, f"B{row}", step, **text)
    put(ws, "A12", "Poängskala", **heading)
    marker(ws, "A13", "{%tr for s in checklist.scale.labels %}")
    put(ws, "A14", "{{ s.value }}", font=LABEL, alignment=Alignment(horizontal="left"))
    put(ws, "B14", "{{ s.label }}", **text)
    marker(ws, "A15", "{%tr endfor %}")
    put(ws, "A17", "Tumregel", **heading)
    put(ws, "B17", "{{ checklist.readiness_rule }}", **text)
    put(ws, "A19", "Flikarna", **heading)
    marker(ws, "A20", "{%tr for t in tabs %}")
    put(ws, "A21", "{{ t.name }}", font=LABEL, alignment=WRAP_TOP)
    put(ws, "B21", "{{ t.description }}", **text)
    marker(ws, "A22", "{%tr endfor %}")
    put(ws, "A24", "Om filen", **heading)
    put(
        ws,
        "B24",
        "Filen är framtagen för {{ organisation.name }} inför {{ meeting.title }}. Låsta celler "
        "är skyddade utan lösenord (Granska > Ta bort bladskydd). Ändra inte kolumnen Nr eller "
        "de dolda cellerna – de används när den ifyllda filen läses in igen.",
        **text,
    )
    print_setup(ws, landscape=False, title_rows=None)


# -- round sheets -------------------------------------------------------------------------------


def build_round_sheet(ws: Any, *, current: bool) -> dict[str, int]:
    """One round's sheet; ``current`` adds the previous round, movement and input cells."""
    top = 1 if current else 2  # an earlier round's sheet starts with its {%sheet for %} row
    rnd = "current" if current else "r"
    last_col = "G" if current else "E"
    ws.sheet_view.showGridLines = False
    ws.sheet_view.zoomScale = 100
    widths = {"A": 7, "B": 24, "C": 60, "D": 9, "E": 42, "F": 13, "G": 13, "H": 16}
    for col, width in widths.items():
        if current or col not in "FG":
            ws.column_dimensions[col].width = width
    ws.column_dimensions["H"].hidden = True
    if current:  # the live list of statements at the bottom of the scale (see build_summary)
        ws.column_dimensions["I"].hidden = True
        ws.column_dimensions["J"].hidden = True
    if not current:
        marker(ws, "A1", "{%sheet for r in earlier_rounds %}")

    def row(offset: int) -> int:
        return top + offset

    title = f"Självskattning {{{{ {rnd}.label }}}} – {{{{ checklist.title }}}}"
    put(ws, f"A{row(0)}", title, font=TITLE)
    header_rows = [
        ("Organisation", "{{ organisation.name }}"),
        ("Omgång", f"{{{{ {rnd}.description }}}}"),
        ("Datum för skattningen", f"{{{{ {rnd}.assessed_on }}}}"),
        ("Deltagare i skattningen", f"{{{{ {rnd}.participants }}}}"),
        ("Poängskala", "{{ checklist.scale.text }}"),
        ("Så fyller ni i" if current else "Låst skattning", None),
    ]
    if current:
        note = (
            "Sätt poäng och skriv gärna en kommentar i de gula cellerna. Övriga celler är låsta "
            "(bladskydd utan lösenord). Förflyttning = poängen nu minus förra skattningens."
        )
    else:
        note = (
            "Den här skattningen är låst. Den aktuella skattningen fyller ni i på fliken "
            "{{ current.tab }}."
        )
    for offset, (label, value) in enumerate(header_rows, 1):
        r = row(offset)
        ws.merge_cells(f"A{r}:B{r}")
        put(ws, f"A{r}", label, font=LABEL, alignment=WRAP_TOP)
        ws.merge_cells(f"C{r}:{last_col}{r}")
        if value is None:
            put(ws, f"C{r}", note, font=SMALL, alignment=WRAP_TOP)
            continue
        put(
            ws,
            f"C{r}",
            value,
            font=BODY,
            alignment=Alignment(wrap_text=True, vertical="top", horizontal="left"),
        )
    date_cell = ws[f"C{row(3)}"]
    date_cell.number_format = "yyyy-mm-dd"
    ws.row_dimensions[row(4)].height = 30
    if current:
        for r in (row(3), row(4)):
            ws[f"C{r}"].fill = fill(INPUT)
            ws[f"C{r}"].protection = UNLOCKED

    head = row(7)
    headers = ["Nr", "Område", "Påstående", "Poäng", "Kommentar"]
    if current:
        headers += ["Förra skattningen {{ current.previous_label }}", "Förflyttning"]
    for index, text in enumerate(headers):
        col = "ABCDEFG"[index]
        put(ws, f"{col}{head}", text, font=HEADER, fill=fill(NAVY), alignment=HEADER_ALIGN,
            border=GRID)  # fmt: skip
    ws.row_dimensions[head].height = 46
    put(ws, f"H{head}", "Områdes-id", font=HIDDEN)

    start, body, end = head + 1, head + 2, head + 3
    marker(ws, f"A{start}", f"{{%tr for q in {rnd}.questions %}}")
    cells = {
        # The statement's number as people read it (1, 2, ...), never the internal id: the
        # reader maps numbers to statements by their place in the checklist.
        "A": ("{{ q.position }}", CENTER),
        "B": ("{{ q.area }}", WRAP_TOP),
        "C": ("{{ q.text }}", WRAP_TOP),
        "D": ("{{ q.score }}", CENTER),
        "E": ("{{ q.comment }}", WRAP_TOP),
    }
    if current:
        cells["F"] = ("{{ q.previous }}", CENTER)
        cells["G"] = (f'=IF(OR(D{body}="",F{body}=""),"",D{body}-F{body})', CENTER)
    for col, (value, alignment) in cells.items():
        put(ws, f"{col}{body}", value, font=BODY, alignment=alignment, border=GRID)
    if current:
        for col in "DE":
            ws[f"{col}{body}"].fill = fill(INPUT)
            ws[f"{col}{body}"].protection = UNLOCKED
        ws[f"F{body}"].fill = fill(READ_ONLY)
        ws[f"G{body}"].number_format = "+0;-0;0"
    put(ws, f"H{body}", "{{ q.area_ref }}", font=HIDDEN)
    marker(ws, f"A{end}", "{%tr endfor %}")

    # The footer's ranges run from marker row to marker row, so they grow with the questions.
    scores = f"D{start}:D{end}"
    previous = f"F{start}:F{end}"
    minimum, maximum = f"$H${top + 4}", f"$H${top + 5}"  # the scale, in hidden cells
    if current:
        # Column I: the row number of a statement still at the bottom of the scale, in this
        # round once any score is set here, else in the previous round; J: how it is listed.
        # The summary picks them in order with SMALL and INDEX (no FILTER: Excel 2016 and
        # LibreOffice 7 both compute it).
        put(
            ws,
            f"I{body}",
            f'=IF(COUNT($D${start}:$D${end})>0,IF(D{body}={minimum},ROW(),""),'
            f'IF(F{body}={minimum},ROW(),""))',
            font=HIDDEN,
        )
        put(ws, f"J{body}", "Nr {{ q.position }} – {{ q.text }} ({{ q.area }})", font=HIDDEN)
    foot = end + 2
    footer = [
        ("Summa poäng", f'=IF(COUNT({scores})=0,"",SUM({scores}))',
         f'=IF(COUNT({previous})=0,"",SUM({previous}))'),
        ("Högsta möjliga summa", "{{ checklist.max_total }}", None),
        ("Andel av max", f'=IF(D{foot}="","",D{foot}/D{foot + 1})',
         f'=IF(F{foot}="","",F{foot}/D{foot + 1})'),
        ("Antal {{ checklist.scale.min }}:or", f'=IF(D{foot}="","",COUNTIF({scores},{minimum}))',
         f'=IF(F{foot}="","",COUNTIF({previous},{minimum}))'),
        ("Antal {{ checklist.scale.max }}:or", f'=IF(D{foot}="","",COUNTIF({scores},{maximum}))',
         f'=IF(F{foot}="","",COUNTIF({previous},{maximum}))'),
        ("Bedömda påståenden (av {{ checklist.question_count }})", f"=COUNT({scores})",
         f'=IF(F{foot}="","",COUNT({previous}))'),
    ]  # fmt: skip
    for offset, (label, formula, previous_formula) in enumerate(footer):
        r = foot + offset
        ws.merge_cells(f"A{r}:C{r}")
        put(ws, f"A{r}", label, font=LABEL, alignment=RIGHT)
        put(ws, f"D{r}", formula, font=LABEL, alignment=CENTER, border=GRID)
        if current and previous_formula:
            put(ws, f"F{r}", previous_formula, font=BODY, alignment=CENTER, border=GRID,
                fill=fill(READ_ONLY))  # fmt: skip
    share = foot + 2
    ws[f"D{share}"].number_format = "0%"
    if current:
        ws[f"F{share}"].number_format = "0%"
        put(ws, f"G{foot}", f'=IF(OR(D{foot}="",F{foot}=""),"",D{foot}-F{foot})', font=LABEL,
            alignment=CENTER, border=GRID, number_format="+0;-0;0")  # fmt: skip
    ready = foot + len(footer)
    ws.merge_cells(f"A{ready}:C{ready}")
    put(
        ws,
        f"A{ready}",
        "Tumregel för modellorganisation (inga {{ checklist.scale.min }}:or, "
        "{{ checklist.scale.max }}:or på mer än hälften)",
        font=LABEL,
        alignment=RIGHT,
    )
    ws.merge_cells(f"D{ready}:{last_col}{ready}")
    put(
        ws,
        f"D{ready}",
        f'=IF(D{foot}="","",IF(AND(D{foot + 3}=0,D{foot + 4}*2>ROWS({scores})),'
        '"Uppfylld","Inte uppfylld ännu"))',
        font=BODY,
        alignment=Alignment(vertical="top", wrap_text=True),
    )
    # Hidden identity of the sheet, for reading a filled-in file back.
    hidden = [
        LAYOUT_ID,
        f"{{{{ {rnd}.ref }}}}",
        "{{ organisation.ref }}",
        "{{ meeting.ref }}" if current else "{{ r.meeting_ref }}",
        "{{ checklist.scale.min }}",
        "{{ checklist.scale.max }}",
    ]
    for offset, value in enumerate(hidden):
        put(ws, f"H{top + offset}", value, font=HIDDEN)
    names = {
        "bd_layout": f"$H${top}",
        "bd_round": f"$H${top + 1}",
        "bd_organisation": f"$H${top + 2}",
        "bd_meeting": f"$H${top + 3}",
        "bd_question_refs": f"$A${start}:$A${end}",
        "bd_scores": f"$D${start}:$D${end}",
        "bd_comments": f"$E${start}:$E${end}",
    }
    quoted = "'" + ws.title.replace("'", "''") + "'"
    for name, ref in names.items():
        ws.defined_names[name] = DefinedName(name, attr_text=f"{quoted}!{ref}")

    if current:
        validation = DataValidation(
            type="whole",
            operator="between",
            formula1=minimum,
            formula2=maximum,
            allow_blank=True,
            showInputMessage=True,
            showErrorMessage=True,
            promptTitle="{{ checklist.scale.prompt_title }}",
            prompt="{{ checklist.scale.prompt }}",
            errorTitle="Ogiltig poäng",
            error="Ange en hel poäng från {{ checklist.scale.min }} till "
            "{{ checklist.scale.max }}, eller lämna cellen tom.",
        )
        ws.add_data_validation(validation)
        validation.add(f"D{body}")
        for ref in (f"G{body}", f"G{foot}"):
            ws.conditional_formatting.add(
                ref,
                FormulaRule(
                    formula=[f"AND(ISNUMBER({ref}),{ref}>0)"],
                    fill=GOOD,
                    font=Font(color="006100", bold=True),
                ),
            )
            ws.conditional_formatting.add(
                ref,
                FormulaRule(
                    formula=[f"AND(ISNUMBER({ref}),{ref}<0)"],
                    fill=BAD,
                    font=Font(color="9C0006", bold=True),
                ),
            )
    # The footer block (Summa poäng to Tumregel) starts a page of its own, so a page never
    # ends inside it: a spreadsheet has no "keep together", and the rows above it grow with
    # the comments typed in, so no fixed place would do.
    ws.row_breaks.append(Break(id=foot - 1))
    ws.freeze_panes = f"A{head + 1}"
    protect(ws)
    print_setup(ws, landscape=True, title_rows=f"{head}:{head}")
    return {"start": start, "body": body, "end": end, "sum": foot, "share": foot + 2,
            "count_min": foot + 3, "count_max": foot + 4}  # fmt: skip


# -- Sammanställning ----------------------------------------------------------------------------


def build_summary(ws: Any, current: dict[str, int]) -> None:
    """The summary; ``current`` is where the current round's sheet has its rows."""
    ws.sheet_view.showGridLines = False
    for col, width in {"A": 46, "B": 13, "C": 13, "D": 14}.items():
        ws.column_dimensions[col].width = width
    ws.column_dimensions["D"].hidden = True
    put(ws, "A1", "Sammanställning – {{ organisation.name }}", font=TITLE)
    ws.merge_cells("A2:C2")
    put(
        ws,
        "A2",
        "Medelvärde per område och omgång på skalan {{ checklist.scale.min }}–"
        "{{ checklist.scale.max }}. Kolumnen {{ current.label }} räknas om när ni fyller i "
        "poäng på fliken {{ current.tab }}.",
        font=BODY,
        alignment=WRAP_TOP,
    )
    ws.row_dimensions[2].height = 48
    header = {"font": HEADER, "fill": fill(NAVY), "alignment": HEADER_ALIGN, "border": GRID}
    put(ws, "A4", "Område", **header)
    put(ws, "B4", "{%tc for r in earlier_rounds %}{{ r.label }}{%tc endfor %}", **header)
    put(ws, "C4", "{{ current.label }}", **header)
    put(ws, "D4", "Områdes-id", font=HIDDEN)
    marker(ws, "A5", "{%tr for a in areas %}")
    put(ws, "A6", "{{ a.name }}", font=BODY, alignment=WRAP_TOP, border=GRID)
    put(ws, "B6", "{{ r.area_means[a.ref] }}", font=BODY, alignment=CENTER, border=GRID,
        number_format="0.00")  # fmt: skip
    cur = f"'{CURRENT}'"
    start, end = current["start"], current["end"]
    put(
        ws,
        "C6",
        f'=IFERROR(AVERAGEIF({cur}!$H${start}:$H${end},$D6,{cur}!$D${start}:$D${end}),"")',
        font=LABEL,
        alignment=CENTER,
        border=GRID,
        number_format="0.00",
        fill=fill(PALE),
    )
    put(ws, "D6", "{{ a.ref }}", font=HIDDEN)
    marker(ws, "A7", "{%tr endfor %}")
    totals = [
        ("Summa poäng", "{{ r.total }}", f"={cur}!D{current['sum']}", "0"),
        (
            "Andel av max ({{ checklist.max_total }} poäng)",
            "{{ r.share }}",
            f"={cur}!D{current['share']}",
            "0%",
        ),
        (
            "Antal {{ checklist.scale.min }}:or",
            "{{ r.count_min }}",
            f"={cur}!D{current['count_min']}",
            "0",
        ),
        (
            "Antal {{ checklist.scale.max }}:or",
            "{{ r.count_max }}",
            f"={cur}!D{current['count_max']}",
            "0",
        ),
    ]
    for r, (label, earlier, now, number_format) in enumerate(totals, 8):
        put(ws, f"A{r}", label, font=LABEL, alignment=WRAP_TOP, border=GRID)
        put(ws, f"B{r}", earlier, font=BODY, alignment=CENTER, border=GRID,
            number_format=number_format)  # fmt: skip
        put(ws, f"C{r}", now, font=LABEL, alignment=CENTER, border=GRID,
            number_format=number_format, fill=fill(PALE))  # fmt: skip

    # Columns, not horizontal bars: Excel and LibreOffice list a horizontal bar chart's legend
    # in reverse series order, so its legend never matched the bars; with columns the areas
    # run left to right as in the table and the legend reads in bar order.
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = "Medelvärde per område"
    chart.style = 2
    chart.height = 10.5
    chart.width = 17.5
    chart.gapWidth = 60
    for column, color in ((2, LIGHT_BLUE), (3, NAVY)):
        series = Series(Reference(ws, min_col=column, min_row=5, max_row=7))
        series.tx = SeriesLabel(strRef=StrRef(f"'{SUMMARY}'!${'ABC'[column - 1]}$4"))
        # Area names are text: a string reference, so readers show them as categories.
        series.cat = AxDataSource(strRef=StrRef(f"'{SUMMARY}'!$A$5:$A$7"))
        series.graphicalProperties.solidFill = color
        series.graphicalProperties.line.solidFill = color
        chart.series.append(series)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    # The value axis spans the scale; the engine sets it from the cells named bd_chart_min
    # and bd_chart_max (the scale from data), these are the sample's 1-3.
    chart.y_axis.scaling.min = 1
    chart.y_axis.scaling.max = 3
    chart.y_axis.majorUnit = 1
    chart.y_axis.number_format = "0"
    chart.legend.position = "b"
    chart.dataLabels = DataLabelList(
        showVal=True,
        showSerName=False,
        showCatName=False,
        showLegendKey=False,
        showPercent=False,
        showLeaderLines=False,
    )
    # One number format for every label: two decimals, as the table shows the means.
    chart.dataLabels.numFmt = "0.00"
    ws.add_chart(chart, "A13")
    put(ws, "D2", "{{ checklist.scale.min }}", font=HIDDEN)
    put(ws, "D3", "{{ checklist.scale.max }}", font=HIDDEN)
    for name, ref in (("bd_chart_min", "$D$2"), ("bd_chart_max", "$D$3")):
        ws.defined_names[name] = DefinedName(name, attr_text=f"'{SUMMARY}'!{ref}")

    build_needs(ws, current)
    # The needs list starts a page of its own: the table and chart stay together above it.
    ws.row_breaks.append(Break(id=34))
    protect(ws)
    print_setup(ws, landscape=False, title_rows=None)


def build_needs(ws: Any, current: dict[str, int]) -> None:
    """ "Behov av fortsatt förbättringsarbete", computed live from the round being filled in.

    One row per statement: row k shows the k-th statement still at the scale's minimum
    (hidden columns I and J of the current round's sheet), or nothing. Formulas, so Excel and
    LibreOffice keep the list true while participants change scores, without benchdocs.
    """
    cur = f"'{CURRENT}'"
    start, body, end = current["start"], current["body"], current["end"]
    keys, labels = f"{cur}!$I${start}:$I${end}", f"{cur}!$J${start}:$J${end}"
    now, before = f"COUNT({cur}!$D${start}:$D${end})", f"COUNT({cur}!$F${start}:$F${end})"
    found = f"COUNT({keys})"
    put(ws, "A35", "Behov av fortsatt förbättringsarbete", font=HEADING)
    put(ws, "D34", "{{ summary.minimum_text }}", font=HIDDEN)
    put(ws, "D35", "{{ current.label }}", font=HIDDEN)
    put(ws, "D36", "{{ current.previous_label }}", font=HIDDEN)
    ws.merge_cells("A36:C36")
    which = f"IF({now}>0,$D$35,$D$36)"
    put(
        ws,
        "A36",
        f'=IF({now}+{before}=0,"Det finns ännu ingen skattning. Listan fylls i när ni har '
        f'skattat.",IF({found}=0,"Inga påståenden har "&$D$34&" i "&{which}&".",{found}&'
        f'IF({found}=1," påstående har"," påståenden har")&" fortfarande "&$D$34&" i "&'
        f'{which}&". De är förslag på var ni kan fortsätta förbättringsarbetet."))',
        font=BODY,
        alignment=WRAP_TOP,
    )
    ws.row_dimensions[36].height = 32
    marker(ws, "A37", "{%tr for q in current.questions %}")
    put(
        ws,
        "A38",
        f'=IFERROR(INDEX({labels},SMALL({keys},$D38)-ROW({cur}!$J${body})+1),"")',
        font=BODY,
        alignment=WRAP_TOP,
    )
    ws.merge_cells("A38:C38")
    put(ws, "D38", "{{ q.position }}", font=HIDDEN)
    marker(ws, "A39", "{%tr endfor %}")


# -- after openpyxl -----------------------------------------------------------------------------


def finish(data: bytes) -> bytes:
    """What openpyxl cannot do: the chart's alt text, and a fixed modification time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if re.fullmatch(r"xl/drawings/drawing\d+\.xml", info.filename):
                root = etree.fromstring(content)
                frame = root.find(f".//{XDR}cNvPr")
                frame.set("name", "Diagram: medelvärde per område")
                frame.set("descr", "{{ summary.chart_description }}")
                content = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            if info.filename == "xl/styles.xml":
                content = font_children_in_excel_order(content)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the time of saving; the template is the same file every
                # build. A rendered file takes its dates from the context (document_created).
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<2>",
                    content,
                )
            target.writestr(info.filename, content)
    return out.getvalue()


def build() -> bytes:
    wb = Workbook()
    build_instructions(wb.active)
    build_round_sheet(wb.create_sheet(EARLIER), current=False)
    layout = build_round_sheet(wb.create_sheet(CURRENT), current=True)
    build_summary(wb.create_sheet(SUMMARY), layout)
    wb.active = 0
    # Fixed dates and zip times: building twice gives the same file.
    wb.properties.creator = "benchdocs"
    wb.properties.title = "{{ file.title }}"
    wb.properties.subject = "{{ file.subject }}"
    wb.properties.language = "{{ file.language }}"
    wb.properties.created = wb.properties.modified = FIXED_TIME.replace(tzinfo=None)
    buffer = io.BytesIO()
    wb.save(buffer)
    return fix_zip_timestamps(finish(buffer.getvalue()))


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
