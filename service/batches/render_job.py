"""Render one stored document request: the body of the worker's task, without Celery.

Every document records its fingerprint (``service.change_detection.fingerprints``). When the
slot's latest done version has the same fingerprint and its file is still stored, the row
reuses that file (``reused_from_id``) instead of rendering and converting again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.batches import packs
from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.change_detection.fingerprints import DocumentInputs, document_inputs, renderer_identity
from service.change_detection.stamps import consistent_read, document_stamp
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import PACKS, spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import GenerationError, NotFoundError, TransientError
from service.observability.log_context import set_ids
from service.observability.metrics import observe_render
from service.pdf.converter import PdfConverter
from service.storage.file_store import FileStore, StoredFile

log = logging.getLogger(__name__)
_INLINE_ATTEMPTS = 3


@dataclass(frozen=True)
class _Target:
    """What a document row asks for, read once at the start of a run."""

    kind: DocumentKind
    file_format: str
    meeting_id: int
    organisation_id: int | None


class Outcome(StrEnum):
    """What a render attempt did."""

    RENDERED = "rendered"
    REUSED = "reused"  # same fingerprint as the slot's latest version: its file is kept
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
    # How long a pack may convert decks in one run before it hands over to its next attempt
    # (the task's soft time limit would otherwise stop a first pack of 300 uploaded decks).
    pack_budget_seconds: float | None = None

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
            set_ids(batch_id=doc.batch_id, document_id=document_id)
        if self.debug_delay_seconds:
            time.sleep(self.debug_delay_seconds)
        try:
            if target.kind in PACKS:
                outcome = self._assemble_and_store(document_id, target)
            else:
                outcome = self._render_and_store(document_id, target)
        except TransientError:
            raise
        except GenerationError as exc:
            self._fail(document_id, str(exc))
            return Outcome.FAILED
        except NotFoundError as exc:
            self._fail(document_id, str(exc))
            return Outcome.FAILED
        return outcome

    def _render_and_store(self, document_id: int, target: _Target) -> Outcome:
        started = time.perf_counter()
        loaded = self.maker.template(target.kind)
        renderer = renderer_identity(target.file_format)
        # The stamp first, then the facts, in one snapshot: the stamp vouches for this context.
        with consistent_read(self.sessions) as session:
            stamp = document_stamp(
                session,
                spec_for(target.kind),
                meeting_id=target.meeting_id,
                organisation_id=target.organisation_id,
                template_sha256=loaded.sha256,
                renderer=renderer,
            )
            context = self.maker.context(
                target.kind,
                meeting_id=target.meeting_id,
                organisation_id=target.organisation_id,
                session=session,
            )
        inputs = document_inputs(
            template_sha256=loaded.sha256,
            context=context,
            file_format=target.file_format,
            stamp=stamp,
            renderer=renderer,
        )
        reused = self._reuse(document_id, target, inputs)
        if reused is not None:
            return reused
        made = self.maker.render(
            target.kind, context, file_format=target.file_format, template=loaded
        )
        data = made.data
        render_ms = (time.perf_counter() - started) * 1000
        observe_render(target.kind, target.file_format, render_ms)
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is None:
                return Outcome.MISSING
            # The key is a function of the document alone: a second run overwrites, never adds.
            key = f"meetings/{target.meeting_id}/documents/{document_id}/{doc.file_name}"
            stored = self.files.put(key, data)
            _mark_done(
                doc,
                file=stored,
                template_id=_template_id(session, target.kind, loaded.file_name, loaded.sha256),
                inputs=inputs,
                render_ms=render_ms,
                reused_from_id=None,
            )
        return Outcome.RENDERED

    def _assemble_and_store(self, document_id: int, target: _Target) -> Outcome:
        """A pack: gathered from finished files, kept when they are the same as last time."""
        started = time.perf_counter()
        with consistent_read(self.sessions) as session:
            inputs = packs.gather(
                session,
                target.kind,
                meeting_id=target.meeting_id,
                organisation_id=target.organisation_id,
                document_id=document_id,
            )
        packs.wait_if_needed(inputs)
        recorded = {"format": target.file_format, "pack": inputs.digests()}
        latest = self._latest_version(document_id, target)
        if (
            latest is not None
            and latest.fingerprint == inputs.fingerprint
            and latest.file_key is not None
            and self.files.exists(latest.file_key)
        ):
            with unit_of_work(self.sessions) as session:
                row = session.get(m.GeneratedDocument, document_id, with_for_update=True)
                if row is None:
                    return Outcome.MISSING
                source = session.get_one(m.GeneratedDocument, latest.id)
                _mark_file_done(
                    row,
                    file=StoredFile(latest.file_key, latest.size_bytes, latest.sha256),
                    fingerprint=inputs.fingerprint,
                    inputs={**recorded, "left_out": (source.inputs or {}).get("left_out", [])},
                    render_ms=None,
                    reused_from_id=latest.id,
                )
            return Outcome.REUSED
        built = packs.build(
            inputs,
            files=self.files,
            pdf=self.maker.pdf,
            until=None
            if self.pack_budget_seconds is None
            else time.monotonic() + self.pack_budget_seconds,
        )
        render_ms = (time.perf_counter() - started) * 1000
        observe_render(target.kind, target.file_format, render_ms)
        with unit_of_work(self.sessions) as session:
            row = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if row is None:
                return Outcome.MISSING
            key = f"meetings/{target.meeting_id}/documents/{document_id}/{row.file_name}"
            _mark_file_done(
                row,
                file=self.files.put(key, built.data),
                fingerprint=inputs.fingerprint,
                inputs={
                    **recorded,
                    "left_out": [[item.organisation, item.reason] for item in built.left_out],
                },
                render_ms=render_ms,
                reused_from_id=None,
            )
        return Outcome.RENDERED

    def _latest_version(self, document_id: int, target: _Target) -> Any:
        """The slot's latest done version other than this row: id, fingerprint and file."""
        doc = m.GeneratedDocument
        same_organisation = (
            doc.organisation_id.is_(None)
            if target.organisation_id is None
            else doc.organisation_id == target.organisation_id
        )
        with self.sessions() as session:
            return session.execute(
                select(doc.id, doc.fingerprint, doc.file_key, doc.size_bytes, doc.sha256)
                .where(
                    doc.meeting_id == target.meeting_id,
                    same_organisation,
                    doc.kind == target.kind,
                    doc.format == target.file_format,
                    doc.status == DocumentStatus.DONE,
                    doc.id != document_id,
                )
                .order_by(doc.id.desc())
                .limit(1)
            ).first()

    def _reuse(self, document_id: int, target: _Target, inputs: DocumentInputs) -> Outcome | None:
        """Keep the slot's latest version's file if it was made from the same inputs."""
        doc = m.GeneratedDocument
        latest = self._latest_version(document_id, target)
        fingerprint = inputs.fingerprint
        if latest is None or latest.fingerprint != fingerprint or latest.file_key is None:
            return None
        if not self.files.exists(latest.file_key):
            return None
        with unit_of_work(self.sessions) as session:
            row = session.get(doc, document_id, with_for_update=True)
            if row is None:
                return Outcome.MISSING
            source = session.get_one(doc, latest.id)
            _mark_done(
                row,
                file=StoredFile(
                    key=latest.file_key, size_bytes=latest.size_bytes, sha256=latest.sha256
                ),
                template_id=source.template_id,
                inputs=inputs,
                render_ms=None,
                reused_from_id=latest.id,
            )
        return Outcome.REUSED

    def _fail(self, document_id: int, reason: str) -> None:
        log.error("document %s failed: %s", document_id, reason)
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is not None:
                doc.status = DocumentStatus.FAILED
                doc.error = reason[:2000]
                doc.finished_at = utcnow()

    def give_up(self, document_id: int, exc: TransientError, *, attempts: int) -> None:
        """Record a transient failure that outlasted its retries."""
        log.error("document %s failed %d times: %s", document_id, attempts, exc)
        self._fail(document_id, f"failed {attempts} times: {exc}")

    def fail_unexpectedly(self, document_id: int, exc: BaseException) -> None:
        """Record a failure nobody planned for; the log keeps the whole exception."""
        log.exception("document %s failed unexpectedly", document_id, exc_info=exc)
        self._fail(document_id, f"internal error ({type(exc).__name__}); see the worker log")


def _mark_done(
    doc: m.GeneratedDocument,
    *,
    file: StoredFile,
    template_id: int | None,
    inputs: DocumentInputs,
    render_ms: float | None,
    reused_from_id: int | None,
) -> None:
    """Record a finished document: its file, template, inputs and, if reused, its source."""
    _mark_file_done(
        doc,
        file=file,
        fingerprint=inputs.fingerprint,
        inputs=inputs.to_json(),
        render_ms=render_ms,
        reused_from_id=reused_from_id,
    )
    doc.template_id = template_id


def _mark_file_done(
    doc: m.GeneratedDocument,
    *,
    file: StoredFile,
    fingerprint: str,
    inputs: dict[str, Any],
    render_ms: float | None,
    reused_from_id: int | None,
) -> None:
    """Record a finished file and what it was made from (a pack: no template, its input files'
    digests as its inputs; a rendered document sets its template after)."""
    doc.status = DocumentStatus.DONE
    doc.template_id = None
    doc.file_key = file.key
    doc.size_bytes = file.size_bytes
    doc.sha256 = file.sha256
    doc.render_ms = render_ms
    doc.finished_at = utcnow()
    doc.error = None
    doc.fingerprint = fingerprint
    doc.inputs = inputs
    doc.reused_from_id = reused_from_id


def _template_id(session: Session, kind: DocumentKind, file_name: str, sha256: str) -> int:
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


def render_inline(
    document_ids: Sequence[int],
    *,
    sessions: sessionmaker[Session],
    files: FileStore,
    templates: TemplateLibrary,
    pdf: PdfConverter | None = None,
) -> list[Outcome]:
    """Render documents one after another in this process, as a worker would (no broker).

    For ``benchdocs regenerate --inline``, benchmarks and tests. A transient failure (a
    converter crash) is tried again twice, then recorded on the document.
    """
    job = RenderJob(
        sessions=sessions,
        files=files,
        maker=DocumentMaker(sessions=sessions, templates=templates, pdf=pdf),
    )
    outcomes = []
    for document_id in document_ids:
        for attempt in range(_INLINE_ATTEMPTS):
            try:
                outcomes.append(job.run(document_id))
                break
            except TransientError as exc:
                # The row stays running, which a second run() renders again (as a retry does).
                if attempt == _INLINE_ATTEMPTS - 1:
                    job.give_up(document_id, exc, attempts=_INLINE_ATTEMPTS)
                    outcomes.append(Outcome.FAILED)
    return outcomes
