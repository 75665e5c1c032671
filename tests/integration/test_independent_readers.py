"""Every generated kind opens in readers that did not write it (npm packages run by Node.js).

The Python libraries that wrote a file read it back leniently; ExcelJS once refused every
checklist (a drawing without the ``xdr:`` prefix) while openpyxl was content. So each kind is
opened in ExcelJS and SheetJS (xlsx), mammoth (docx) and officeparser (pptx), installed from
``tests/readers/package.json`` (exact versions, ``npm install`` there; ``.ci/run`` does it).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.intake.sample import find_id, sample_database
from service.settings import PROJECT_ROOT
from tests.conftest import CHILD_TIMEOUT, absent

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("node")]

READERS = PROJECT_ROOT / "tests" / "readers"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# What each reader must find in each kind (the sample's Askersund at Benchmarking 2).
EXPECTED = {
    "deck": "Askersunds kommun",
    "checklist": "Summa poäng",
    "agenda": "Benchmarking 2",
    "organisation_agenda": "Askersunds kommun",
    "organiser_checklist": "Benchmarking 2",
    "feedback_letter": "Askersunds kommun",
    "feedback_summary": "Benchmarking 2",
    "network_overview": "Askersunds kommun",
    "network_overview_workbook": "Askersunds kommun",
}
READERS_OF = {"xlsx": {"exceljs", "sheetjs"}, "docx": {"mammoth"}, "pptx": {"officeparser"}}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind in the catalogue, made for Askersund at Benchmarking 2, as files."""
    out = tmp_path_factory.mktemp("generated")
    files = {}
    with sample_database() as sessions:
        maker = DocumentMaker(
            sessions=sessions, templates=TemplateLibrary(PROJECT_ROOT / "doc_templates")
        )
        with sessions() as session:
            meeting_id = find_id(session, m.Meeting, "bm2")
            organisation_id = find_id(session, m.Organisation, "askersund")
        for spec in CATALOGUE.values():
            made = maker.make(
                spec.kind,
                meeting_id=meeting_id,
                organisation_id=organisation_id if spec.per_organisation else None,
            )
            path = out / f"{spec.kind.value}.{spec.office_format}"
            path.write_bytes(made.data)
            files[spec.kind.value] = path
    return files


@pytest.fixture(scope="module")
def verdicts(generated: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, reader) -> what the reader said: ok, its text or its error, its warnings."""
    if not (READERS / "node_modules" / "exceljs").is_dir():
        absent(
            f"the readers' npm packages: run `npm install` in {READERS.relative_to(PROJECT_ROOT)}"
        )
    result = subprocess.run(
        ["node", str(READERS / "read.mjs"), *map(str, generated.values())],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT * 4,
        check=True,
        cwd=READERS,
    )
    kinds = {str(path): kind for kind, path in generated.items()}
    said = {}
    for line in result.stdout.splitlines():
        verdict = json.loads(line)
        said[(kinds[verdict["file"]], verdict["reader"])] = verdict
    return said


def test_every_kind_opens_in_an_independent_reader(
    generated: dict[str, Path], verdicts: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for kind, path in generated.items():
        for reader in READERS_OF[path.suffix[1:]]:
            verdict = verdicts[(kind, reader)]

            assert verdict["ok"], f"{reader} refused the {kind}: {verdict.get('error')}"
            assert EXPECTED[kind] in verdict["text"], f"{reader} read no {EXPECTED[kind]!r}"
            assert "{{" not in verdict["text"], f"{reader} found a leftover tag in the {kind}"
            assert verdict["warnings"] == [], f"{reader} warned about the {kind}"


def test_exceljs_reads_the_checklists_sheets_and_cells(
    verdicts: dict[tuple[str, str], dict[str, Any]],
) -> None:
    text = verdicts[("checklist", "exceljs")]["text"]

    sheets = [line[2:] for line in text.splitlines() if line.startswith("# ")]
    assert sheets == ["Instruktion", "BM 1", "BM 2", "Sammanställning"]
    assert "Behov av fortsatt förbättringsarbete" in text
    assert "Könsuppdelad statistik och analys" in verdicts[("checklist", "sheetjs")]["text"]


def test_word_tables_carry_their_properties_once_in_schema_order_and_repeat_headers(
    generated: dict[str, Path],
) -> None:
    order = [
        "tblStyle",
        "tblpPr",
        "tblOverlap",
        "bidiVisual",
        "tblStyleRowBandSize",
        "tblStyleColBandSize",
        "tblW",
        "jc",
        "tblCellSpacing",
        "tblInd",
        "tblBorders",
        "shd",
        "tblLayout",
        "tblCellMar",
        "tblLook",
        "tblCaption",
        "tblDescription",
    ]
    for kind, path in generated.items():
        if path.suffix != ".docx":
            continue
        body = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"))
        tables = list(body.iter(f"{W}tbl"))
        assert tables, kind
        headed = 0
        for table in tables:
            names = [etree.QName(e).localname for e in table.find(f"{W}tblPr")]

            assert names == sorted(names, key=order.index), f"{kind}: {names}"
            first = table.find(f"{W}tr")
            headed += first is not None and first.find(f"{W}trPr/{W}tblHeader") is not None
        assert headed, f"{kind}: no table repeats its header row"
