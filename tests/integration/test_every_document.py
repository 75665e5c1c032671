"""Every kind, for every sample organisation, through a real worker, read back from the files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from service.batches.control import start_batch
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.domain.kinds import DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from tests.document_text import docx_text, pdf_text, pptx_text, xlsx_text
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration
LEFTOVER_TAG = re.compile(r"\{\{|\{%|%\}|\}\}")

# Every kind of Benchmarking 2 with its PDF, on two shared cores: minutes at worst.
BATCH_SECONDS = 300


@pytest.mark.needs_tools("soffice", "pdftotext")
@pytest.mark.timeout(BATCH_SECONDS + 60)  # and a minute to start the worker and read the PDFs
def test_every_kind_and_format_comes_out_readable_and_filled(
    runtime: Runtime,
    sample: ImportSummary,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    start_worker()
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
        names = {o.id: o.name for o in session.scalars(select(m.Organisation))}

    batch_id = start_batch(runtime.sessions, runtime.queue, meeting_id=meeting.id, with_pdf=True)
    wait_until(batch_complete(runtime, batch_id), timeout=BATCH_SECONDS, what="every document")

    with runtime.sessions() as session:
        documents = session.scalars(
            select(m.GeneratedDocument).where(m.GeneratedDocument.batch_id == batch_id)
        ).all()
    failed = [(d.kind, d.format, d.error) for d in documents if d.status != DocumentStatus.DONE]
    assert failed == []
    assert {(d.kind, d.format) for d in documents} == {
        (spec.kind, file_format)
        for spec in CATALOGUE.values()
        for file_format in spec.formats(with_pdf=True)
    }
    readers = {"pptx": pptx_text, "docx": docx_text, "xlsx": xlsx_text}
    for doc in documents:
        data = runtime.files.get(doc.file_key or "")
        text = pdf_text(data, tmp_path) if doc.format == "pdf" else readers[doc.format](data)
        where = f"{doc.kind.value} {doc.format} for {names.get(doc.organisation_id or 0)}"
        assert not LEFTOVER_TAG.search(text), f"template syntax left in {where}"
        assert "Benchmarking 2" in text, where
        if doc.organisation_id is not None:
            # PDF text may break a long name over two lines.
            expected = names[doc.organisation_id]
            assert expected in text or expected in " ".join(text.split()), where
