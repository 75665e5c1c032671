"""Render one stored document request: the body of the worker's task, without Celery."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.models import DocumentStatus
from service.database.session import unit_of_work
from service.errors import GenerationError, NotFoundError, TransientError
from service.generation.batches import utcnow
from service.generation.document_maker import DocumentMaker
from service.generation.file_store import FileStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Target:
    """What a document row asks for, read once at the start of a run."""

    kind: m.DocumentKind
    file_format: str
    meeting_id: int
    organisation_id: int | None


class Outcome(StrEnum):
    """What a render attempt did."""

    RENDERED = "rendered"
    ALREADY_DONE = "already_done"
    FAILED = "failed"
    MISSING = "missing"


@dataclass
class RenderJob:
    """Collaborators a render needs; built once per worker process."""

    sessions: sessionmaker[Session]
    files: FileStore
    maker: DocumentMaker
    debug_delay_seconds: float = 0.0

    def run(self, document_id: int) -> Outcome:
        """Render, store and record one document; safe to run twice for the same id."""
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is None:
                log.warning("document %s no longer exists; dropping its task", document_id)
                return Outcome.MISSING
            if doc.status in (DocumentStatus.DONE, DocumentStatus.FAILED):
                return Outcome.ALREADY_DONE
            doc.status = DocumentStatus.RUNNING
            doc.started_at = utcnow()
            doc.attempts += 1
            target = _Target(doc.kind, doc.format, doc.meeting_id, doc.organisation_id)
        if self.debug_delay_seconds:
            time.sleep(self.debug_delay_seconds)
        try:
            self._render_and_store(document_id, target)
        except TransientError:
            raise
        except GenerationError as exc:
            self._fail(document_id, str(exc))
            return Outcome.FAILED
        except NotFoundError as exc:
            self._fail(document_id, str(exc))
            return Outcome.FAILED
        return Outcome.RENDERED

    def _render_and_store(self, document_id: int, target: _Target) -> None:
        started = time.perf_counter()
        made = self.maker.make(
            target.kind,
            meeting_id=target.meeting_id,
            organisation_id=target.organisation_id,
            file_format=target.file_format,
        )
        data, loaded = made.data, made.template
        render_ms = (time.perf_counter() - started) * 1000
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is None:
                return
            # The key is a function of the document alone: a second run overwrites, never adds.
            key = f"meetings/{target.meeting_id}/documents/{document_id}/{doc.file_name}"
            stored = self.files.put(key, data)
            doc.template_id = _template_id(session, target.kind, loaded.file_name, loaded.sha256)
            doc.status = DocumentStatus.DONE
            doc.file_key = stored.key
            doc.size_bytes = stored.size_bytes
            doc.sha256 = stored.sha256
            doc.render_ms = render_ms
            doc.finished_at = utcnow()
            doc.error = None

    def _fail(self, document_id: int, reason: str) -> None:
        log.error("document %s failed: %s", document_id, reason)
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is not None:
                doc.status = DocumentStatus.FAILED
                doc.error = reason[:2000]
                doc.finished_at = utcnow()

    def fail_unexpectedly(self, document_id: int, exc: BaseException) -> None:
        """Record a failure nobody planned for; the log keeps the whole exception."""
        log.exception("document %s failed unexpectedly", document_id, exc_info=exc)
        self._fail(document_id, f"internal error ({type(exc).__name__}); see the worker log")


def _template_id(session: Session, kind: m.DocumentKind, file_name: str, sha256: str) -> int:
    existing = session.scalar(
        select(m.DocumentTemplate.id).where(
            m.DocumentTemplate.file_name == file_name, m.DocumentTemplate.sha256 == sha256
        )
    )
    if existing is not None:
        return existing
    try:
        # Two workers may meet a new template at once: the unique key decides, the loser reads.
        with session.begin_nested():
            row = m.DocumentTemplate(kind=kind, file_name=file_name, sha256=sha256)
            session.add(row)
        return row.id
    except IntegrityError:
        return session.scalars(
            select(m.DocumentTemplate.id).where(
                m.DocumentTemplate.file_name == file_name, m.DocumentTemplate.sha256 == sha256
            )
        ).one()
