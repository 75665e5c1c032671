"""A PDF row of every kind that offers one is converted from its stored Office sibling: its
task loads no template, builds no context, reads no stamp and renders nothing, and the PDF
carries the fingerprint the Office file was stored with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.batches import render_job
from service.batches.control import start_batch
from service.batches.document_maker import DocumentMaker, MadeDocument
from service.batches.pdf_step import PDF_STAMP, Step
from service.batches.render_job import Outcome, RenderJob
from service.batches.template_library import LoadedTemplate, TemplateLibrary
from service.change_detection.fingerprints import renderer_identity
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.domain.kinds import DocumentKind
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import make_pdf_converter
from service.runtime import build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice")]
TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"
# One of each Office format that is converted: a deck (pptx), a letter (docx).
KINDS = [DocumentKind.DECK, DocumentKind.FEEDBACK_LETTER]


@pytest.fixture(scope="module")
def converter() -> Iterator[PdfConverter]:
    converter = make_pdf_converter(warm=True, timeout_seconds=120, restart_after=100)
    yield converter
    close = getattr(converter, "close", None)
    if close is not None:
        close()


class CountingMaker(DocumentMaker):
    """The real maker, counting every template load, context and render it is asked for."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[str] = []

    def template(self, kind: DocumentKind, *, pinned: int | None = None) -> LoadedTemplate:
        self.calls.append("template")
        return super().template(kind, pinned=pinned)

    def context(self, kind: DocumentKind, **options: Any) -> dict[str, Any]:
        self.calls.append("context")
        return super().context(kind, **options)

    def render(self, kind: DocumentKind, context: dict[str, Any], **options: Any) -> MadeDocument:
        self.calls.append("render")
        return super().render(kind, context, **options)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.value)
def test_the_pdf_task_loads_and_renders_nothing_and_carries_the_office_fingerprint(
    kind: DocumentKind,
    sample_imported: Settings,
    converter: PdfConverter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CATALOGUE[kind].offers_pdf
    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    try:
        with runtime.sessions() as session:
            meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
            org = session.scalars(
                select(m.Organisation.id).where(m.Organisation.ref == "askersund")
            ).one()
        batch_id = start_batch(
            runtime.sessions,
            queue,
            meeting_id=meeting,
            kinds=[kind],
            organisation_ids=[org],
            with_pdf=True,
        )
        with runtime.sessions() as session:
            rows = {d.format: d.id for d in session.get_one(m.Batch, batch_id).documents}
        pdf_id = rows.pop("pdf")
        [office_id] = rows.values()

        def job() -> RenderJob:
            maker = CountingMaker(
                sessions=runtime.sessions,
                templates=TemplateLibrary(TEMPLATES, files=runtime.files),
                pdf=converter,
            )
            return RenderJob(
                sessions=runtime.sessions, files=runtime.files, maker=maker, queue=queue
            )

        office_job = job()
        assert office_job.run(office_id, step=Step.RENDER) == Outcome.RENDERED
        assert isinstance(office_job.maker, CountingMaker)
        assert "render" in office_job.maker.calls  # the counter sees a render when one happens

        stamps: list[object] = []
        real_stamps = render_job.document_stamps

        def counted_stamps(*args: Any, **kwargs: Any) -> Any:
            stamps.append(args)
            return real_stamps(*args, **kwargs)

        monkeypatch.setattr(render_job, "document_stamps", counted_stamps)
        pdf_job = job()
        assert pdf_job.run(pdf_id, step=Step.PDF) == Outcome.RENDERED

        assert isinstance(pdf_job.maker, CountingMaker)
        assert pdf_job.maker.calls == []
        assert stamps == []
        with runtime.sessions() as session:
            office = session.get_one(m.GeneratedDocument, office_id)
            pdf = session.get_one(m.GeneratedDocument, pdf_id)
            assert pdf.file_key is not None
            assert runtime.files.get(pdf.file_key).startswith(b"%PDF")
            assert office.inputs is not None and pdf.inputs is not None
            assert pdf.template_id == office.template_id
            for key in ("template", "context", "parts"):
                assert pdf.inputs.get(key) == office.inputs.get(key)
            assert pdf.inputs["stamp"] == office.inputs[PDF_STAMP]
            assert pdf.inputs["renderer"].startswith(renderer_identity(office.format))
            assert pdf.inputs["renderer"] == renderer_identity("pdf")
            assert pdf.inputs["format"] == "pdf"
    finally:
        runtime.close()
