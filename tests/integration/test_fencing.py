"""A run whose row was claimed again meanwhile records nothing: the fencing token.

A worker host cut off mid-render keeps its task; its row is re-sent and made by another worker.
When the cut host comes back and finishes, its (older) result must not replace the newer file,
nor mark the finished document failed.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docx
import pytest
from sqlalchemy import select

from service.batches.control import resend_stale, start_batch
from service.batches.document_maker import DocumentMaker, MadeDocument
from service.batches.render_job import Outcome, RenderJob
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import RenderError
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue

pytestmark = pytest.mark.integration
LETTER = DocumentKind.FEEDBACK_LETTER
NEW_NAME = "Askersund ny 🌿 kommun"
WAIT = 60


class HeldMaker(DocumentMaker):
    """The real maker, held inside ``render`` until released: a worker cut off mid-render."""

    def __init__(self, *args: Any, fail: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inside = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def render(self, kind: DocumentKind, context: dict[str, Any], **options: Any) -> MadeDocument:
        self.inside.set()
        assert self.release.wait(WAIT), "the held render was never released"
        if self.fail:
            raise RenderError("the cut-off worker's render broke on its way back")
        return super().render(kind, context, **options)


@dataclass
class Letter:
    runtime: Runtime
    queue: RecordingQueue
    document_id: int
    organisation_id: int
    outcomes: list[Outcome] = field(default_factory=list)

    def job(self, maker: DocumentMaker | None = None) -> RenderJob:
        sessions = self.runtime.sessions
        return RenderJob(
            sessions=sessions,
            files=self.runtime.files,
            maker=maker
            or DocumentMaker(sessions=sessions, templates=self.runtime.templates, pdf=None),
        )

    def row(self) -> m.GeneratedDocument:
        with self.runtime.sessions() as session:
            return session.get_one(m.GeneratedDocument, self.document_id)

    def stored_text(self) -> str:
        key = self.row().file_key
        assert key is not None
        document = docx.Document(io.BytesIO(self.runtime.files.get(key)))
        return "\n".join(p.text for p in document.paragraphs)


@pytest.fixture
def letter(sample_imported: Settings) -> Iterator[Letter]:
    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    batch_id = start_batch(
        runtime.sessions,
        queue,
        meeting_id=meeting_id,
        kinds=[LETTER],
        organisation_ids=[organisation_id],
    )
    with runtime.sessions() as session:
        (document_id,) = [d.id for d in session.get_one(m.Batch, batch_id).documents]
    yield Letter(runtime, queue, document_id, organisation_id)
    runtime.close()


@pytest.mark.parametrize("cut_off_run_ends", ["with its file", "with an error"])
def test_a_cut_off_run_that_comes_back_changes_nothing_made_meanwhile(
    letter: Letter, cut_off_run_ends: str
) -> None:
    runtime = letter.runtime
    held = HeldMaker(
        sessions=runtime.sessions,
        templates=runtime.templates,
        pdf=None,
        fail=cut_off_run_ends == "with an error",
    )
    cut_off = threading.Thread(
        target=lambda: letter.outcomes.append(letter.job(held).run(letter.document_id))
    )
    cut_off.start()
    try:
        assert held.inside.wait(WAIT), "the first run never reached its render"
        assert letter.row().attempts == 1
        # Meanwhile the organisation is renamed, the row is re-sent and another worker makes it.
        with unit_of_work(runtime.sessions) as session:
            session.get_one(m.Organisation, letter.organisation_id).name = NEW_NAME
        resent = resend_stale(
            runtime.sessions,
            letter.queue,
            older_than=dt.timedelta(0),
            now=utcnow() + dt.timedelta(seconds=1),
        )
        assert resent == [letter.document_id]
        assert letter.job().run(letter.document_id) == Outcome.RENDERED
        made = letter.row()
        assert (made.status, made.attempts) == (DocumentStatus.DONE, 2)
        assert NEW_NAME in letter.stored_text()
    finally:
        held.release.set()
        cut_off.join(WAIT)

    # The cut-off run came back: it rendered the old name (or broke), and recorded nothing.
    assert letter.outcomes == [Outcome.SUPERSEDED]
    after = letter.row()
    assert (after.status, after.attempts, after.error) == (DocumentStatus.DONE, 2, None)
    assert (after.sha256, after.finished_at, after.file_key) == (
        made.sha256,
        made.finished_at,
        made.file_key,
    )
    assert NEW_NAME in letter.stored_text()
