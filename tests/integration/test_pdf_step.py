"""The PDF step, without workers: a PDF waits for its Office file, is converted from the stored
file (never rendered again), fails with it, and is found again when its hand-over is lost."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from sqlalchemy import select

from service.api.portal.pages.generation import failure_cause
from service.batches.control import (
    batch_progress,
    create_batch,
    find_stale,
    pending_document,
    resend_stale,
    start_batch,
)
from service.batches.document_maker import DocumentMaker, MadeDocument
from service.batches.pdf_step import OFFICE_FAILED, Step
from service.batches.render_job import Outcome, RenderJob
from service.batches.template_library import TemplateLibrary
from service.change_detection.fingerprints import renderer_identity
from service.change_detection.stamps import consistent_read, document_stamp
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import make_pdf_converter
from service.regeneration.planning import plan_regeneration
from service.regeneration.runs import run_regeneration
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue, both_stores
from tests.integration.conftest import forget_snapshots

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice", "pdftotext")]
REAL_TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
LETTER = DocumentKind.FEEDBACK_LETTER
# How pdftotext prints a bulleted list's symbol (Symbol font's bullet, or the plain one).
BULLETS = {"\uf0b7", "•"}
CHANGED_ON_DISK = "ÄNDRAD MALL EFTER ATT OFFICE-FILEN SPARATS"


@pytest.fixture(scope="module")
def converter() -> Iterator[PdfConverter]:
    converter = make_pdf_converter(warm=True, timeout_seconds=120, restart_after=100)
    yield converter
    close = getattr(converter, "close", None)
    if close is not None:
        close()


class CountingMaker(DocumentMaker):
    """The real maker, counting the renders it is asked for (a PDF step must ask for none)."""

    renders = 0

    def render(self, kind: DocumentKind, context: dict[str, Any], **options: Any) -> MadeDocument:
        self.renders += 1
        return super().render(kind, context, **options)


@dataclass
class Letters:
    """Askersund's feedback letter wanted as docx and PDF, with a queue that records sends."""

    runtime: Runtime
    queue: RecordingQueue
    meeting_id: int
    organisation_id: int
    converter: PdfConverter

    def job(self, *, templates: Path = REAL_TEMPLATES, queue: bool = True) -> RenderJob:
        """A worker's render job; without ``queue`` it hands nothing on (a worker that died
        between storing the Office file and sending its PDF)."""
        sessions = self.runtime.sessions
        maker = CountingMaker(
            sessions=sessions,
            templates=TemplateLibrary(templates, files=self.runtime.files),
            pdf=self.converter,
        )
        return RenderJob(
            sessions=sessions,
            files=self.runtime.files,
            maker=maker,
            queue=self.queue if queue else None,
        )

    def start(self) -> tuple[int, int, int]:
        """A batch of the letter with its PDF: (batch, docx row, pdf row)."""
        batch_id = start_batch(
            self.runtime.sessions,
            self.queue,
            meeting_id=self.meeting_id,
            kinds=[LETTER],
            organisation_ids=[self.organisation_id],
            with_pdf=True,
        )
        with self.runtime.sessions() as session:
            rows = {d.format: d.id for d in session.get_one(m.Batch, batch_id).documents}
        return batch_id, rows["docx"], rows["pdf"]

    def row(self, document_id: int) -> m.GeneratedDocument:
        with self.runtime.sessions() as session:
            return session.get_one(m.GeneratedDocument, document_id)

    def file(self, document_id: int) -> bytes:
        key = self.row(document_id).file_key
        assert key is not None
        return self.runtime.files.get(key)


@pytest.fixture
def letters(sample_imported: Settings, converter: PdfConverter) -> Iterator[Letters]:
    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    yield Letters(runtime, queue, meeting_id, organisation_id, converter)
    runtime.close()


def pdf_text(pdf: bytes, work: Path) -> str:
    path = work / "text-check.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        # -raw: in content order, and a hyphen that ends a line is kept (Office wrote it).
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout


def docx_words(data: bytes) -> tuple[Counter[str], Counter[str]]:
    """The words of a Word file: its body's (tables included), and its headers' and footers'
    (repeated on every page)."""
    document = docx.Document(io.BytesIO(data))
    body = _paragraph_words(document.element.body)
    margins: Counter[str] = Counter()
    for section in document.sections:
        for part in (section.header, section.footer):
            margins += _paragraph_words(part._element)
    return body, margins


def _paragraph_words(element: Any) -> Counter[str]:
    found: Counter[str] = Counter()
    for paragraph in element.iter(qn("w:p")):
        text = "".join(
            node.text or "" if node.tag == qn("w:t") else " "
            for node in paragraph.iter(qn("w:t"), qn("w:tab"), qn("w:br"))
        )
        found.update(text.split())
    return found


def assert_same_words(office: bytes, pdf: bytes, work: Path) -> None:
    """The PDF holds exactly the Office file's words: its body once, its headers and footers
    once per page. Page numbers (a field: Word keeps one cached value, the PDF prints each
    page's) and list bullets (numbering, not text) are the only differences allowed."""
    text = pdf_text(pdf, work)
    pages = text.count("\f") or 1
    body, margins = docx_words(office)
    expected = body + Counter({word: n * pages for word, n in margins.items()})
    found = Counter(text.split())

    def page_number(word: str) -> bool:
        return word.isdigit() and 1 <= int(word) <= pages

    missing = expected - found
    assert all(page_number(word) for word in missing.elements()), missing
    extra = found - expected
    assert all(page_number(word) or word in BULLETS for word in extra.elements()), extra


# -- statuses and queues ----------------------------------------------------------------------


def test_a_pdf_waits_pending_until_its_office_file_is_stored_then_goes_to_the_pdf_queue(
    letters: Letters,
) -> None:
    batch_id, docx_id, pdf_id = letters.start()

    assert letters.queue.rendering == [docx_id] and letters.queue.pdfs == []
    with letters.runtime.sessions() as session:
        progress = batch_progress(session, batch_id)
        assert progress.counts["queued"] == 1 and progress.counts["pending"] == 1
        assert not progress.is_complete

    assert letters.job().run(docx_id, step=Step.RENDER) == Outcome.RENDERED

    assert letters.queue.pdfs == [pdf_id]
    assert letters.row(pdf_id).status == DocumentStatus.QUEUED

    assert letters.job().run(pdf_id, step=Step.PDF) == Outcome.RENDERED

    with letters.runtime.sessions() as session:
        progress = batch_progress(session, batch_id)
        assert progress.counts["done"] == 2 and progress.is_complete


def test_the_pdf_has_the_stored_office_files_text(letters: Letters, tmp_path: Path) -> None:
    _, docx_id, pdf_id = letters.start()
    letters.job().run(docx_id, step=Step.RENDER)

    letters.job().run(pdf_id, step=Step.PDF)

    office = letters.file(docx_id)
    assert "Askersunds" in docx_words(office)[0]
    assert_same_words(office, letters.file(pdf_id), tmp_path)


@both_stores
def test_the_pdf_step_converts_the_stored_file_and_never_renders(
    letters: Letters, tmp_path: Path
) -> None:
    _, docx_id, pdf_id = letters.start()
    letters.job().run(docx_id, step=Step.RENDER)
    office = letters.file(docx_id)
    changed = tmp_path / "templates"
    shutil.copytree(REAL_TEMPLATES, changed)
    template = docx.Document()
    template.add_paragraph(CHANGED_ON_DISK)
    template.save(str(changed / spec_for(LETTER).template_file))
    pdf_job = letters.job(templates=changed)

    assert pdf_job.run(pdf_id, step=Step.PDF) == Outcome.RENDERED

    assert isinstance(pdf_job.maker, CountingMaker) and pdf_job.maker.renders == 0
    assert CHANGED_ON_DISK not in pdf_text(letters.file(pdf_id), tmp_path)
    assert_same_words(office, letters.file(pdf_id), tmp_path)
    pdf, source = letters.row(pdf_id), letters.row(docx_id)
    assert pdf.template_id == source.template_id
    assert pdf.inputs is not None and source.inputs is not None
    assert (pdf.inputs["template"], pdf.inputs["context"]) == (
        source.inputs["template"],
        source.inputs["context"],
    )


def test_a_pdf_sent_before_its_office_file_is_stored_goes_back_to_waiting(
    letters: Letters,
) -> None:
    _, docx_id, pdf_id = letters.start()

    assert letters.job().run(pdf_id, step=Step.PDF) == Outcome.WAITING

    row = letters.row(pdf_id)
    assert row.status == DocumentStatus.PENDING and row.attempts == 0
    letters.job().run(docx_id, step=Step.RENDER)
    assert letters.queue.pdfs == [pdf_id]


def test_a_pdf_that_reaches_the_render_queue_is_forwarded_unconverted(letters: Letters) -> None:
    _, docx_id, pdf_id = letters.start()
    letters.job(queue=False).run(docx_id, step=Step.RENDER)
    job = letters.job()

    assert job.run(pdf_id, step=Step.RENDER) == Outcome.FORWARDED

    assert letters.queue.pdfs == [pdf_id]
    row = letters.row(pdf_id)
    assert row.status == DocumentStatus.QUEUED and row.attempts == 0 and row.file_key is None


# -- failures and lost hand-overs --------------------------------------------------------------


def test_a_pdf_whose_office_file_failed_fails_saying_why(letters: Letters, tmp_path: Path) -> None:
    broken = tmp_path / "templates"
    shutil.copytree(REAL_TEMPLATES, broken)
    template = docx.Document()
    template.add_paragraph("{{ organisation.nme }}")
    template.save(str(broken / spec_for(LETTER).template_file))
    batch_id, docx_id, pdf_id = letters.start()
    forget_snapshots(letters.runtime, batch_id)  # the worker reads its own, broken, file

    assert letters.job(templates=broken).run(docx_id, step=Step.RENDER) == Outcome.FAILED

    pdf = letters.row(pdf_id)
    assert pdf.status == DocumentStatus.FAILED
    assert pdf.error is not None and pdf.error.startswith(OFFICE_FAILED)
    assert "nme" in pdf.error
    assert failure_cause(pdf.error).startswith("PDF-filen görs av Office-filen")
    assert letters.queue.pdfs == []
    with letters.runtime.sessions() as session:
        assert batch_progress(session, batch_id).is_complete


@both_stores
def test_resend_leaves_a_waiting_pdf_alone_and_brings_back_a_lost_hand_over(
    letters: Letters,
) -> None:
    _, docx_id, pdf_id = letters.start()
    later = utcnow() + dt.timedelta(hours=1)
    with letters.runtime.sessions() as session:
        assert find_stale(session, older_than=dt.timedelta(0), now=later) == [docx_id]

    letters.job(queue=False).run(docx_id, step=Step.RENDER)  # stored, then the worker died
    assert letters.row(pdf_id).status == DocumentStatus.PENDING
    resent = resend_stale(
        letters.runtime.sessions, letters.queue, older_than=dt.timedelta(0), now=later
    )

    assert resent == [pdf_id]
    assert letters.queue.pdfs == [pdf_id]
    assert letters.job().run(pdf_id, step=Step.PDF) == Outcome.RENDERED


def test_an_office_file_delivered_again_hands_its_waiting_pdf_on(letters: Letters) -> None:
    _, docx_id, pdf_id = letters.start()
    letters.job(queue=False).run(docx_id, step=Step.RENDER)  # stored, then the worker died

    assert letters.job().run(docx_id, step=Step.RENDER) == Outcome.ALREADY_DONE

    assert letters.queue.pdfs == [pdf_id]


def test_a_pdf_without_an_office_file_in_its_batch_renders_one_and_converts_it(
    letters: Letters, tmp_path: Path
) -> None:
    with unit_of_work(letters.runtime.sessions) as session:
        meeting = session.get_one(m.Meeting, letters.meeting_id)
        organisation = session.get_one(m.Organisation, letters.organisation_id)
        batch = m.Batch(meeting_id=meeting.id, requested_kinds=[LETTER.value])
        session.add(batch)
        batch.documents.append(
            pending_document(
                kind=LETTER,
                file_format="pdf",
                meeting_id=meeting.id,
                meeting_title=meeting.title,
                organisation_id=organisation.id,
                organisation_name=organisation.name,
            )
        )
        session.flush()
        (pdf_id,) = [d.id for d in batch.documents]
    job = letters.job()

    assert job.run(pdf_id, step=Step.PDF) == Outcome.RENDERED

    assert isinstance(job.maker, CountingMaker) and job.maker.renders == 1
    assert "Askersunds kommun" in pdf_text(letters.file(pdf_id), tmp_path)


# -- fingerprints stay what the nightly run expects ---------------------------------------------


def test_a_converted_pdf_carries_the_fingerprint_and_stamp_the_planner_computes(
    letters: Letters,
) -> None:
    with unit_of_work(letters.runtime.sessions) as session:
        batch = create_batch(
            session,
            meeting_id=letters.meeting_id,
            kinds=[LETTER],
            with_pdf=True,
        )
        rows = [(d.id, d.format) for d in batch.documents]
    job = letters.job(queue=False)
    for document_id, _ in rows:
        job.run(document_id, step=None)
    pdf_id = next(d for d, f in rows if f == "pdf")

    plan = plan_regeneration(
        letters.runtime.sessions, REAL_TEMPLATES, meeting_ids=[letters.meeting_id]
    )

    assert plan.changes == [] and plan.failures == []
    assert plan.contexts_built == 0  # every stamp, the PDFs' too, matched without a context
    pdf = letters.row(pdf_id)
    assert pdf.inputs is not None
    with consistent_read(letters.runtime.sessions) as session:
        expected = document_stamp(
            session,
            spec_for(LETTER),
            meeting_id=letters.meeting_id,
            organisation_id=pdf.organisation_id,
            template_sha256=pdf.inputs["template"],
            renderer=renderer_identity("pdf"),
        )
    assert pdf.inputs["stamp"] == expected
    assert pdf.inputs["renderer"] == renderer_identity("pdf")


def test_a_second_batch_reuses_the_pdf_instead_of_converting_again(letters: Letters) -> None:
    _, docx_id, pdf_id = letters.start()
    letters.job().run(docx_id, step=Step.RENDER)
    letters.job().run(pdf_id, step=Step.PDF)
    _, second_docx, second_pdf = letters.start()

    assert letters.job().run(second_docx, step=Step.RENDER) == Outcome.REUSED
    assert letters.job().run(second_pdf, step=Step.PDF) == Outcome.REUSED

    assert letters.row(second_pdf).reused_from_id == pdf_id


def test_a_regeneration_after_a_data_change_converts_each_new_office_file(
    letters: Letters, tmp_path: Path
) -> None:
    batch_id, docx_id, pdf_id = letters.start()
    letters.job().run(docx_id, step=Step.RENDER)
    letters.job().run(pdf_id, step=Step.PDF)
    with unit_of_work(letters.runtime.sessions) as session:
        organisation = session.get_one(m.Organisation, letters.organisation_id)
        organisation.name = "Askersunds kommun (ny nämndorganisation)"

    run = run_regeneration(
        sessions=letters.runtime.sessions,
        queue=letters.queue,
        files=letters.runtime.files,
        templates=letters.runtime.templates,
        days_after_meeting=30,
        trigger="manual",
        run_key=None,
        dry_run=False,
        meeting_ids=[letters.meeting_id],
        today=dt.date(2019, 9, 1),
        inline=True,
        pdf=letters.converter,
    )

    assert run.status == "finished" and run.failed == 0
    assert run.batch_id is not None and run.batch_id != batch_id
    with letters.runtime.sessions() as session:
        fresh = {
            (d.organisation_id, d.format): d
            for d in session.get_one(m.Batch, run.batch_id).documents
        }
    new_docx = fresh[(letters.organisation_id, "docx")]
    new_pdf = fresh[(letters.organisation_id, "pdf")]
    assert {d.status for d in fresh.values()} == {DocumentStatus.DONE}
    assert new_pdf.reused_from_id is None and new_pdf.fingerprint != letters.row(pdf_id).fingerprint
    office = letters.file(new_docx.id)
    body, margins = docx_words(office)
    assert "nämndorganisation)" in body + margins
    assert_same_words(office, letters.file(new_pdf.id), tmp_path)
