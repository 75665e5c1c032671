"""The checklist workbook: Askersund's facts (from the sample file, no database) in, cells out."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import signal
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta
from lxml import etree  # type: ignore[import-untyped]
from openpyxl import load_workbook

from service.documents.checklist import (
    LAYOUT_ID,
    ChecklistDocFacts,
    ChecklistRoundFacts,
    build_checklist_context,
)
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
)
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.movement import QuestionRef, Scale
from service.engines.jinja_env import make_environment
from service.engines.xlsx_engine import XlsxTemplate, xlsx_spots
from service.settings import PROJECT_ROOT
from tests.conftest import CHILD_TIMEOUT

TEMPLATE = PROJECT_ROOT / "doc_templates" / "checklist.xlsx"
SAMPLE = PROJECT_ROOT / "service" / "data" / "sample-programme.json"
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"

needs_libreoffice = pytest.mark.needs_tools("soffice", "pdftotext")


# -- builders -------------------------------------------------------------------------------


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def checklist_facts(data: dict[str, Any]) -> ChecklistFacts:
    c = data["checklist"]
    return ChecklistFacts(
        scale=Scale(c["scale"]["min"], c["scale"]["max"]),
        areas=tuple(AreaFacts(a["id"], a["name"]) for a in c["areas"]),
        questions=tuple(QuestionRef(q["id"], a["id"]) for a in c["areas"] for q in a["questions"]),
        question_texts={q["id"]: q["text"] for a in c["areas"] for q in a["questions"]},
    )


def round_facts(data: dict[str, Any], index: int, org: str) -> ChecklistRoundFacts:
    assessment = data["self_assessments"][index]
    meeting = next(m for m in data["meetings"] if m["id"] == assessment["meeting_id"])
    return ChecklistRoundFacts(
        label=assessment["round_label"],
        ref=assessment["id"],
        meeting_ref=meeting["id"],
        meeting_title=meeting["title"],
        meeting_date=dt.date.fromisoformat(meeting["date"]),
        assessed_on=dt.date.fromisoformat(assessment["assessed_on"]),
        scores=dict(zip(assessment["question_order"], assessment["scores"][org], strict=True)),
        comments=assessment.get("comments", {}).get(org, {}),
    )


def askersund_facts(*, meeting: int = 2) -> ChecklistDocFacts:
    """Askersund's checklist for Benchmarking ``meeting`` of the sample programme."""
    data = sample()
    org = next(o for o in data["organisations"] if o["id"] == "askersund")
    held = data["meetings"][meeting - 1]
    date = dt.date.fromisoformat(held["date"])
    people = tuple(
        PersonFacts(p["name"], p["role"], p.get("title"))
        for p in data["participants"]
        if p["organisation_id"] == "askersund"
    )
    rounds = [round_facts(data, i, "askersund") for i in range(len(data["self_assessments"]))]
    return ChecklistDocFacts(
        network_name=data["network"]["name"],
        project_platform=data["network"]["project_platform"],
        organisation=OrganisationFacts(name=org["name"], delegation=people),
        organisation_ref="askersund",
        meeting=MeetingFacts(
            title=held["title"],
            number=held["number"],
            date=date,
            upload_deadline=date - dt.timedelta(days=7),
        ),
        meeting_ref=held["id"],
        checklist=checklist_facts(data),
        checklist_title=data["checklist"]["title"],
        scale_labels={int(k): v for k, v in data["checklist"]["scale"]["labels"].items()},
        earlier_rounds=tuple(rounds[: meeting - 1]),
        current_round=rounds[meeting - 1],
    )


@pytest.fixture(scope="module")
def template() -> XlsxTemplate:
    return XlsxTemplate.from_bytes(TEMPLATE.read_bytes(), name="checklist.xlsx")


@pytest.fixture(scope="module")
def rendered(template: XlsxTemplate) -> bytes:
    return template.render(build_checklist_context(askersund_facts()))


def workbook(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def local_range(ws: Any, name: str) -> list[Any]:
    """The cells of a sheet's own defined name, such as ``bd_scores``."""
    _sheet, ref = ws.defined_names[name].attr_text.split("!")
    cells = ws[ref.replace("$", "")]
    if not isinstance(cells, tuple):
        return [cells]
    return [row[0] if isinstance(row, tuple) else row for row in cells]


def validation_bounds(ws: Any, rule: Any) -> tuple[Any, Any]:
    return ws[rule.formula1.replace("$", "")].value, ws[rule.formula2.replace("$", "")].value


def convert(source: Path, target_format: str, out_dir: Path, profile: Path) -> Path:
    """One cold LibreOffice conversion with a private profile; its process group dies on hang."""
    process = subprocess.Popen(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            target_format,
            "--outdir",
            str(out_dir),
            str(source),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        process.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"LibreOffice did not convert {source.name} within {CHILD_TIMEOUT:g} s")
    extension = target_format.split(":")[0]
    result = out_dir / f"{source.stem}.{extension}"
    assert result.exists(), f"LibreOffice wrote no {extension} for {source.name}"
    return result


# -- the context ----------------------------------------------------------------------------


def test_context_holds_both_rounds_with_the_sample_totals() -> None:
    context = build_checklist_context(askersund_facts())

    (bm1,) = context["earlier_rounds"]
    current = context["current"]
    assert (bm1["label"], bm1["total"], bm1["count_min"], bm1["count_max"]) == ("BM 1", 37, 13, 2)
    assert current["label"] == "BM 2"
    assert current["previous_label"] == "BM 1"
    assert sum(q["score"] for q in current["questions"]) == 40
    assert bm1["area_means"]["A5"] == 1.33
    assert bm1["area_means"]["A7"] == 2.0
    q14 = next(q for q in current["questions"] if q["ref"] == "Q14")
    assert (q14["previous"], q14["score"]) == (2, 3)
    assert q14["comment"].startswith("Könsuppdelad statistik införd")
    assert context["checklist"]["scale"]["prompt"] == (
        "1 = Inte påbörjat, finns inte\n2 = Behöver utvecklas\n3 = Det finns/vi gör"
    )
    assert "minst 13 av 24" in context["checklist"]["readiness_rule"]
    assert context["needs"]["intro"].startswith("13 påståenden har fortfarande poäng 1")
    assert len(context["needs"]["questions"]) == 13


def test_without_earlier_rounds_the_context_says_it_is_the_first() -> None:
    context = build_checklist_context(askersund_facts(meeting=1))

    assert context["earlier_rounds"] == []
    assert context["current"]["previous_label"] == ""
    assert [q["previous"] for q in context["current"]["questions"]] == [None] * 24
    assert context["instructions"]["earlier"].startswith("Det här är er första skattning")


def test_every_template_variable_comes_from_the_context() -> None:
    context = build_checklist_context(askersund_facts())
    environment = make_environment(filters=SWEDISH_FILTERS)
    spots = xlsx_spots(TEMPLATE.read_bytes(), name="checklist.xlsx")

    assert len(spots) > 10 and any(spot.loop_variables for spot in spots)
    for spot in spots:
        source = re.sub(r"\{%-?\s*(tr|tc|sheet)\s.*?%\}", "", spot.source)
        names = meta.find_undeclared_variables(environment.parse(source))
        missing = names - set(context) - set(spot.loop_variables)
        assert not missing, f"{spot.location}: {missing}"
        for items in spot.loop_variables.values():
            root = items.split(".")[0]
            known = set(context) | set(spot.loop_variables)  # loops may use an outer one
            assert root in known, f"{spot.location}: loop over unknown {items!r}"


# -- the rendered workbook -------------------------------------------------------------------


def test_the_workbook_has_one_sheet_per_round_and_a_summary(rendered: bytes) -> None:
    wb = workbook(rendered)

    assert wb.sheetnames == ["Instruktion", "BM 1", "BM 2", "Sammanställning"]
    text = "\n".join(str(c.value) for row in wb["Instruktion"].iter_rows() for c in row if c.value)
    assert "Askersunds kommun" in text
    assert "politiker, chef och strateg" in text
    assert "Inte påbörjat, finns inte" in text
    assert "Det finns/vi gör" in text
    assert "19 september 2019" in text  # the upload deadline
    assert "minst 13 av 24" in text
    assert "{{" not in text and "{%" not in text


def test_the_earlier_round_is_prefilled_and_locked(rendered: bytes) -> None:
    ws = workbook(rendered)["BM 1"]
    data = sample()
    order = data["self_assessments"][0]["question_order"]
    expected = data["self_assessments"][0]["scores"]["askersund"]

    numbers = [c.value for c in local_range(ws, "bd_question_refs")]
    scores = local_range(ws, "bd_scores")

    assert numbers == list(range(1, 25))  # statements by number, never by internal id
    checklist_order = [q["id"] for a in data["checklist"]["areas"] for q in a["questions"]]
    assert order == checklist_order  # so number n stands for the n-th statement
    assert [c.value for c in scores] == expected
    assert ws.protection.sheet
    assert all(c.protection.locked for c in scores)
    assert local_range(ws, "bd_round")[0].value == "sa_bm1"
    assert local_range(ws, "bd_layout")[0].value == LAYOUT_ID
    assert ws.data_validations.dataValidation == []


def test_the_current_round_has_open_score_cells_with_validation(rendered: bytes) -> None:
    ws = workbook(rendered)["BM 2"]

    scores = local_range(ws, "bd_scores")
    comments = local_range(ws, "bd_comments")

    assert len(scores) == 24
    assert sum(c.value for c in scores) == 40  # stored scores are prefilled
    assert not any(c.protection.locked for c in [*scores, *comments])
    assert ws.protection.sheet
    (rule,) = ws.data_validations.dataValidation
    assert rule.type == "whole"
    assert rule.operator == "between"
    assert validation_bounds(ws, rule) == (1, 3)
    assert str(rule.sqref) == f"{scores[0].coordinate}:{scores[-1].coordinate}"
    assert (
        rule.prompt == "1 = Inte påbörjat, finns inte\n2 = Behöver utvecklas\n3 = Det finns/vi gör"
    )
    assert (
        local_range(ws, "bd_organisation")[0].value,
        local_range(ws, "bd_meeting")[0].value,
    ) == (
        "askersund",
        "bm2",
    )
    assert ws.column_dimensions["H"].hidden


def test_movement_is_a_formula_per_question_with_green_and_red(rendered: bytes) -> None:
    ws = workbook(rendered)["BM 2"]
    rows = [c.row for c in local_range(ws, "bd_scores")]

    assert [ws[f"G{r}"].value for r in rows] == [
        f'=IF(OR(D{r}="",F{r}=""),"",D{r}-F{r})' for r in rows
    ]
    q14 = rows[13]
    assert (ws[f"F{q14}"].value, ws[f"D{q14}"].value) == (2, 3)
    formats = {str(cf.sqref): [r.formula[0] for r in cf.rules] for cf in ws.conditional_formatting}
    first, last = rows[0], rows[-1]
    assert formats[f"G{first}:G{last}"] == [
        f"AND(ISNUMBER(G{first}),G{first}>0)",
        f"AND(ISNUMBER(G{first}),G{first}<0)",
    ]


def test_the_footer_sums_the_inserted_rows(rendered: bytes) -> None:
    wb = workbook(rendered)
    for name, has_previous in (("BM 1", False), ("BM 2", True)):
        ws = wb[name]
        rows = [c.row for c in local_range(ws, "bd_scores")]
        first, last = rows[0], rows[-1]
        total = last + 2

        assert ws[f"A{total}"].value == "Summa poäng"
        assert ws[f"D{total}"].value == f'=IF(COUNT(D{first}:D{last})=0,"",SUM(D{first}:D{last}))'
        assert ws[f"D{total + 1}"].value == 72
        assert ws[f"D{total + 3}"].value == (f'=IF(D{total}="","",COUNTIF(D{first}:D{last},$H$5))')
        assert ws[f"A{total + 3}"].value == "Antal 1:or"
        assert ws[f"A{total + 4}"].value == "Antal 3:or"
        if has_previous:
            assert (
                ws[f"F{total}"].value == f'=IF(COUNT(F{first}:F{last})=0,"",SUM(F{first}:F{last}))'
            )


def test_the_summary_has_means_per_area_and_round_and_a_native_chart(rendered: bytes) -> None:
    ws = workbook(rendered)["Sammanställning"]

    assert [ws["A4"].value, ws["B4"].value, ws["C4"].value] == ["Område", "BM 1", "BM 2"]
    assert ws["A9"].value == "Könsuppdelad statistik och analys"
    assert ws["B9"].value == 1.33  # BM 1, from the data
    assert ws["C9"].value == (
        "=IFERROR(AVERAGEIF('BM 2'!$H$9:$H$32,$D9,'BM 2'!$D$9:$D$32),\"\")"
    )  # BM 2, live over the sheet being filled in
    assert [ws["A13"].value, ws["B13"].value, ws["C13"].value] == ["Summa poäng", 37, "='BM 2'!D34"]

    archive = zipfile.ZipFile(io.BytesIO(rendered))
    chart = etree.fromstring(archive.read("xl/charts/chart1.xml"))
    # Columns: the legend reads in bar order (a horizontal bar chart's legend is reversed).
    assert chart.find(f".//{CHART}barChart/{CHART}barDir").get("val") == "col"
    scaling = chart.find(f".//{CHART}valAx/{CHART}scaling")
    assert (scaling.find(f"{CHART}min").get("val"), scaling.find(f"{CHART}max").get("val")) == (
        "1",
        "3",
    )  # the value axis spans the scale, not 0-4
    formats = {e.get("formatCode") for e in chart.iter(f"{CHART}numFmt")} - {"0"}
    assert formats == {"0.00"}  # one format for every data label
    series = chart.findall(f".//{CHART}ser")
    assert [s.find(f"{CHART}tx//{CHART}f").text for s in series] == [
        "'Sammanställning'!$B$4",
        "'Sammanställning'!$C$4",
    ]
    assert [s.find(f"{CHART}val//{CHART}f").text for s in series] == [
        "'Sammanställning'!$B$5:$B$12",
        "'Sammanställning'!$C$5:$C$12",
    ]
    assert series[0].find(f"{CHART}cat/{CHART}strRef/{CHART}f").text == (
        "'Sammanställning'!$A$5:$A$12"
    )
    drawing_xml = archive.read("xl/drawings/drawing1.xml")
    assert drawing_xml.split(b"?>", 1)[1].lstrip().startswith(b"<xdr:wsDr ")  # strict readers
    drawing = etree.fromstring(drawing_xml)
    description = drawing.find(f".//{XDR}cNvPr").get("descr")
    assert description == (
        "Stapeldiagram över självskattningen för Askersunds kommun: medelvärdet per område "
        "för BM 1 och BM 2, på skalan 1–3 där 3 är högst."
    )


def test_the_summary_lists_statements_at_the_bottom_of_the_scale_by_formulas(
    rendered: bytes,
) -> None:
    wb = workbook(rendered)
    ws, bm2 = wb["Sammanställning"], wb["BM 2"]
    rows = [c.row for c in local_range(bm2, "bd_scores")]
    first, last = rows[0], rows[-1]

    heading = next(c.row for c in ws["A"] if c.value == "Behov av fortsatt förbättringsarbete")
    listed = [ws[f"A{r}"].value for r in range(heading + 2, heading + 2 + 24)]
    assert listed[0] == (
        f"=IFERROR(INDEX('BM 2'!$J${first}:$J${last},SMALL('BM 2'!$I${first}:$I${last},$D"
        f"{heading + 2})-ROW('BM 2'!$J${first})+1),\"\")"
    )
    assert [ws[f"D{r}"].value for r in range(heading + 2, heading + 2 + 24)] == list(range(1, 25))
    assert bm2[f"I{first}"].value == (
        f'=IF(COUNT($D${first}:$D${last})>0,IF(D{first}=$H$5,ROW(),""),IF(F{first}=$H$5,ROW(),""))'
    )
    assert bm2[f"J{first + 1}"].value.startswith("Nr 2 – Den politiska ledningen efterfrågar")
    assert bm2.column_dimensions["I"].hidden and bm2.column_dimensions["J"].hidden
    assert ws.row_breaks.brk[0].id == heading - 1  # the list starts a page of its own


def test_the_file_properties_name_the_checklist_in_swedish(rendered: bytes) -> None:
    properties = workbook(rendered).properties

    assert properties.title == "Checklista för jämställdhetsintegrering – Askersunds kommun – BM 2"
    assert properties.subject.startswith("Självskattning inför Benchmarking 2")
    assert properties.language == "sv-SE"
    assert properties.created == dt.datetime(2019, 9, 26)  # the meeting, not 2000-01-01
    assert properties.modified == dt.datetime(2019, 9, 26)


def test_the_template_itself_stays_a_valid_workbook() -> None:
    """Dates cannot hold a tag: a template whose created date is ``{{ … }}`` is refused."""
    template = load_workbook(TEMPLATE)

    assert template.properties.title == "{{ file.title }}"
    assert template.properties.created == dt.datetime(2000, 1, 1)


def test_the_instructions_send_the_filled_file_to_benchdocs(template: XlsxTemplate) -> None:
    facts = replace(askersund_facts(), participant_url="https://benchdocs.example.se/deltagare")

    ws = workbook(template.render(build_checklist_context(facts)))["Instruktion"]

    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert (
        "5. Ladda upp den ifyllda checklistan till benchdocs på "
        "https://benchdocs.example.se/deltagare" in text
    )
    assert "senast 19 september 2019" in text
    assert "Projektplats" not in text and "projektplats" not in text


def test_the_chart_axis_follows_the_scale_of_the_data(template: XlsxTemplate) -> None:
    facts = askersund_facts()
    facts = replace(
        facts,
        checklist=replace(facts.checklist, scale=Scale(1, 4)),
        scale_labels={**facts.scale_labels, 4: "Fullt ut"},
    )

    data = template.render(build_checklist_context(facts))

    chart = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml"))
    scaling = chart.find(f".//{CHART}valAx/{CHART}scaling")
    assert (scaling.find(f"{CHART}min").get("val"), scaling.find(f"{CHART}max").get("val")) == (
        "1",
        "4",
    )


def test_a_first_meeting_has_no_earlier_sheet_and_one_chart_series(
    template: XlsxTemplate,
) -> None:
    data = template.render(build_checklist_context(askersund_facts(meeting=1)))

    wb = workbook(data)
    assert wb.sheetnames == ["Instruktion", "BM 1", "Sammanställning"]
    assert [c.value for c in wb["Sammanställning"][4]][:3] == ["Område", "BM 1", "Områdes-id"]
    chart = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("xl/charts/chart1.xml"))
    assert len(chart.findall(f".//{CHART}ser")) == 1


def test_rendering_again_gives_the_same_bytes(template: XlsxTemplate) -> None:
    # How fast it renders is measured by bench/render_and_pipeline.py, not asserted here.
    context = build_checklist_context(askersund_facts())
    first = template.render(context)

    again = [template.render(context) for _ in range(5)]

    assert again == [first] * 5


def test_an_unassessed_current_round_leaves_scores_empty(template: XlsxTemplate) -> None:
    facts = askersund_facts()
    facts = replace(facts, current_round=replace(facts.current_round, scores={}, comments={}))

    ws = workbook(template.render(build_checklist_context(facts)))["BM 2"]

    assert [c.value for c in local_range(ws, "bd_scores")] == [None] * 24
    assert [c.value for c in local_range(ws, "bd_question_refs")][:2] == [1, 2]


# -- LibreOffice ------------------------------------------------------------------------------


@needs_libreoffice
def test_libreoffice_converts_the_checklist_to_pdf(rendered: bytes, tmp_path: Path) -> None:
    source = tmp_path / "checklista.xlsx"
    source.write_bytes(rendered)

    pdf = convert(source, "pdf", tmp_path, tmp_path / "profile")

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Askersunds kommun" in text
    assert "Självskattning BM 2" in text
    assert "Summa poäng" in text
    assert re.search(r"Summa poäng\s+40\b", text)  # the formula was computed
    assert "Medelvärde per område" in text
    assert "{{" not in text


FOOTER = ("Summa poäng", "Högsta möjliga summa", "Andel av max", "Antal 1:or", "Antal 3:or",
          "Bedömda påståenden (av 24)", "Tumregel för modellorganisation")  # fmt: skip


@needs_libreoffice
@pytest.mark.parametrize("comment_length", [0, 600], ids=["as-sampled", "long-comments"])
def test_each_round_sheets_footer_block_prints_whole_on_a_page_of_its_own(
    template: XlsxTemplate, tmp_path: Path, comment_length: int
) -> None:
    # Given comments that make the question rows any height (none, or long ones everywhere).
    facts = askersund_facts()
    if comment_length:
        long = {q.ref: "Vi har diskuterat detta länge. " * (comment_length // 31)
                for q in facts.checklist.questions}  # fmt: skip
        facts = replace(facts, current_round=replace(facts.current_round, comments=long))
    source = tmp_path / "checklista.xlsx"
    source.write_bytes(template.render(build_checklist_context(facts)))

    pdf = convert(source, "pdf", tmp_path, tmp_path / "profile")

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    pages = text.split("\f")
    # (The summary sheet shares the first labels; these three are only in a round's footer.)
    footer_pages = [page for page in pages if any(label in page for label in FOOTER[-2:])]
    footer_pages += [page for page in pages if FOOTER[1] in page and page not in footer_pages]
    # Then each round's footer (BM 1 and BM 2) stands whole on one page, no statement with it.
    assert len(footer_pages) == 2
    for page in footer_pages:
        assert all(label in page for label in FOOTER)
        assert "Vi har tagit politiskt beslut" not in page
        assert "långsiktigt och hållbart" not in page  # the last statement


@needs_libreoffice
def test_a_template_saved_by_libreoffice_still_renders(tmp_path: Path) -> None:
    source = tmp_path / "checklist.xlsx"
    source.write_bytes(TEMPLATE.read_bytes())
    out_dir = tmp_path / "saved"
    saved = convert(source, "xlsx:Calc MS Excel 2007 XML", out_dir, tmp_path / "profile")

    template = XlsxTemplate.from_bytes(saved.read_bytes(), name="checklist.xlsx")
    data = template.render(build_checklist_context(askersund_facts()))

    wb = workbook(data)
    assert wb.sheetnames == ["Instruktion", "BM 1", "BM 2", "Sammanställning"]
    ws = wb["BM 2"]
    scores = local_range(ws, "bd_scores")
    assert sum(c.value for c in scores) == 40
    assert not any(c.protection.locked for c in scores)
    (rule,) = ws.data_validations.dataValidation
    assert validation_bounds(ws, rule) == (1, 3)
    assert "Inte påbörjat" in rule.prompt
    rows = [c.row for c in scores]
    assert (
        ws[f"G{rows[-1]}"].value
        == f'=IF(OR(D{rows[-1]}="",F{rows[-1]}=""),"",D{rows[-1]}-F{rows[-1]})'
    )
    assert [c.value for c in local_range(wb["BM 1"], "bd_scores")][:3] == [3, 1, 1]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(re.fullmatch(r"xl/charts/chart\d+\.xml", n) for n in names)


@needs_libreoffice
def test_the_needs_list_follows_scores_filled_in_after_rendering(
    template: XlsxTemplate, tmp_path: Path
) -> None:
    # Given BM 2 not yet assessed: the list shows BM 1's statements at 1.
    facts = askersund_facts()
    facts = replace(facts, current_round=replace(facts.current_round, scores={}, comments={}))
    wb = workbook(template.render(build_checklist_context(facts)))
    bm2 = wb["BM 2"]
    scores = local_range(bm2, "bd_scores")
    # When a participant scores three statements, two of them 1, and LibreOffice recalculates.
    for cell, value in zip(scores[:3], (1, 3, 1), strict=True):
        cell.value = value
    filled = tmp_path / "ifylld.xlsx"
    wb.save(filled)
    recalculated = convert(filled, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out", tmp_path / "p")

    # Then the summary lists exactly those two, in order, and says so.
    ws = load_workbook(recalculated, data_only=True)["Sammanställning"]
    texts = [str(c.value) for c in ws["A"] if c.value]
    heading = texts.index("Behov av fortsatt förbättringsarbete")
    assert texts[heading + 1] == (
        "2 påståenden har fortfarande poäng 1 (Inte påbörjat, finns inte) i BM 2. De är "
        "förslag på var ni kan fortsätta förbättringsarbetet."
    )
    assert [t.split(" – ")[0] for t in texts[heading + 2 :]] == ["Nr 1", "Nr 3"]
    assert texts[heading + 2] == (
        "Nr 1 – Vi har tagit politiskt beslut om jämställdhetsintegrering. (Politisk styrning)"
    )


@needs_libreoffice
def test_before_any_score_in_this_round_the_needs_list_shows_the_previous_round(
    template: XlsxTemplate, tmp_path: Path
) -> None:
    facts = askersund_facts()
    facts = replace(facts, current_round=replace(facts.current_round, scores={}, comments={}))
    source = tmp_path / "tom.xlsx"
    source.write_bytes(template.render(build_checklist_context(facts)))

    recalculated = convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "out", tmp_path / "p")

    ws = load_workbook(recalculated, data_only=True)["Sammanställning"]
    texts = [str(c.value) for c in ws["A"] if c.value]
    heading = texts.index("Behov av fortsatt förbättringsarbete")
    assert texts[heading + 1].startswith("13 påståenden har fortfarande poäng 1")
    assert texts[heading + 1].endswith(
        "i BM 1. De är förslag på var ni kan fortsätta förbättringsarbetet."
    )
    assert len(texts[heading + 2 :]) == 13
