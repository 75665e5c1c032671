"""A checklist made from the database, filled in, saved again by LibreOffice, read back."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.database.facts.records import checklist_facts
from service.database.session import make_engine, make_session_factory
from service.domain.kinds import DocumentKind
from service.settings import PROJECT_ROOT, Settings
from service.uploads.checklist_reader import ChecklistFile, ExpectedChecklist, ReadScore
from tests.conftest import CHILD_TIMEOUT, require_tools

pytestmark = pytest.mark.integration

SHEET = "BM 2"
TYPED_SCORES: dict[str, int | str | None] = {"Q01": 2, "Q02": "3", "Q03": None, "Q24": 3}
TYPED_COMMENTS = {
    "Q01": "Förbättrat – nämnderna följer upp 👍",
    "Q02": '=HYPERLINK("https://skr.se";"SKR")',
    "Q03": "Går inte att bedöma än.\nVi återkommer.",
}


@pytest.fixture
def sessions(sample_imported: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on a database that holds the sample programme."""
    engine = make_engine(sample_imported.database_url)
    factory = make_session_factory(engine)
    yield factory
    engine.dispose()


def generated_checklist(
    sessions: sessionmaker[Session], *, organisation: str
) -> tuple[bytes, ExpectedChecklist]:
    """The organisation's BM 2 checklist as a worker makes it, and what the database expects."""
    maker = DocumentMaker(sessions, TemplateLibrary(PROJECT_ROOT / "doc_templates"))
    with sessions() as session:
        meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
        org = session.scalars(
            select(m.Organisation).where(m.Organisation.ref == organisation)
        ).one()
        assessment_round = session.scalars(
            select(m.AssessmentRound).where(m.AssessmentRound.ref == "sa_bm2")
        ).one()
        checklist = session.get(m.Checklist, assessment_round.checklist_id)
        assert checklist is not None
        facts = checklist_facts(checklist)
        wanted = ExpectedChecklist(
            round_ref=assessment_round.ref,
            organisation_ref=org.ref,
            scale_min=checklist.scale_min,
            scale_max=checklist.scale_max,
            question_refs=tuple(q.ref for q in facts.questions),
        )
        data = maker.make(
            DocumentKind.CHECKLIST, meeting_id=meeting.id, organisation_id=org.id
        ).data
    return data, wanted


def filled(data: bytes, refs: tuple[str, ...]) -> bytes:
    """The typed scores and comments, written as a participant's script would.

    A participant finds a statement by its number in the Nr column (its place in ``refs``).
    """
    book = load_workbook(io.BytesIO(data))
    ws = book[SHEET]
    numbers = {ws.cell(row, 1).value: row for row in range(1, ws.max_row + 1)}
    rows = {ref: numbers[number] for number, ref in enumerate(refs, 1)}
    for ref, value in TYPED_SCORES.items():
        ws.cell(rows[ref], 4).value = value
    for ref, text in TYPED_COMMENTS.items():
        cell = ws.cell(rows[ref], 5)
        cell.value = text
        cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def resaved_by_libreoffice(data: bytes, workdir: Path) -> bytes:
    """The workbook opened and saved as xlsx by LibreOffice, with a private profile."""
    require_tools("soffice")
    source = workdir / "in" / "checklista.xlsx"
    source.parent.mkdir()
    source.write_bytes(data)
    out_dir = workdir / "out"
    process = subprocess.Popen(
        [
            "soffice",
            f"-env:UserInstallation=file://{workdir / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx:Calc Office Open XML",
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
        pytest.fail(f"LibreOffice did not save the checklist within {CHILD_TIMEOUT:g} s")
    result = out_dir / "checklista.xlsx"
    assert result.exists(), "LibreOffice wrote no xlsx"
    return result.read_bytes()


def assert_typed_values(read: list[ReadScore], wanted: ExpectedChecklist) -> None:
    by_ref = {s.question_ref: s for s in read}
    assert [s.question_ref for s in read] == list(wanted.question_refs)
    assert {ref: by_ref[ref].value for ref in TYPED_SCORES} == {
        "Q01": 2,
        "Q02": 3,
        "Q03": None,
        "Q24": 3,
    }
    assert {ref: by_ref[ref].comment for ref in TYPED_COMMENTS} == TYPED_COMMENTS
    assert by_ref["Q01"].cell == f"{SHEET}!D9"


def test_a_filled_checklist_from_the_database_reads_back_as_typed(
    sessions: sessionmaker[Session],
) -> None:
    data, wanted = generated_checklist(sessions, organisation="askersund")

    workbook = ChecklistFile.open(filled(data, wanted.question_refs))
    read = workbook.read_scores(wanted)

    assert [(r.sheet, r.round_ref, r.is_last) for r in workbook.rounds] == [
        ("BM 1", "sa_bm1", False),
        (SHEET, "sa_bm2", True),
    ]
    assert_typed_values(read, wanted)
    # The questions not typed into keep the database's prefilled scores.
    assert {s.question_ref: s.value for s in read}["Q14"] == 3


def test_a_checklist_saved_again_by_libreoffice_reads_back_as_typed(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    data, wanted = generated_checklist(sessions, organisation="askersund")

    resaved = resaved_by_libreoffice(filled(data, wanted.question_refs), tmp_path)
    read = ChecklistFile.open(resaved).read_scores(wanted)

    assert resaved != filled(data, wanted.question_refs)
    assert_typed_values(read, wanted)


def test_a_checklist_generated_before_numbering_reads_back_after_libreoffice(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given a file as generated before statements were numbered: refs ("Q14") in the Nr column.
    data, wanted = generated_checklist(sessions, organisation="askersund")
    book = load_workbook(io.BytesIO(filled(data, wanted.question_refs)))
    ws = book[SHEET]
    for row in range(1, ws.max_row + 1):
        number = ws.cell(row, 1).value
        if isinstance(number, int) and 1 <= number <= len(wanted.question_refs):
            ws.cell(row, 1).value = wanted.question_refs[number - 1]
    old = io.BytesIO()
    book.save(old)

    read = ChecklistFile.open(resaved_by_libreoffice(old.getvalue(), tmp_path)).read_scores(wanted)

    assert ws["A22"].value == "Q14"
    assert_typed_values(read, wanted)
    assert {s.question_ref: s.value for s in read}["Q14"] == 3
