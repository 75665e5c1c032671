"""Render one stored document request: the body of the worker's task, without Celery.

Every document records its fingerprint (``service.change_detection.fingerprints``). When the
slot's latest done version has the same fingerprint and its file is still stored, the row
reuses that file (``reused_from_id``) instead of rendering and converting again.

A PDF is converted from its Office file once that is stored, in a task of its own on the
``pdf`` queue (``service.batches.pdf_step``): the Office file's job hands it on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.batches import packs
from service.batches.control import dispatch
from service.batches.document_maker import DocumentMaker
from service.batches.failures import is_transient, transient_reason, unexpected_reason
from service.batches.leases import LeaseKeeper, as_utc, owner_is_dead
from service.batches.pdf_step import (
    PDF_STAMP,
    OfficeSource,
    Step,
    converts_office_file,
    office_failed_reason,
    office_sibling,
    pdf_inputs,
    step_of,
    waiting_pdfs,
    waiting_pdfs_of,
)
from service.batches.template_library import LoadedTemplate, TemplateLibrary
from service.batches.template_snapshots import template_row_id
from service.change_detection.fingerprints import DocumentInputs, document_inputs, renderer_identity
from service.change_detection.revision_cache import RevisionCache
from service.change_detection.stamps import DigestCache, consistent_read, document_stamps
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import PACKS, PrivateData, spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import GenerationError, NotFoundError, RenderError, TransientError
from service.observability.log_context import log_ids, set_ids
from service.observability.metrics import observe_render
from service.pdf.converter import PdfConverter
from service.storage.file_store import FileStore, StoredFile
from service.task_queue import DocumentQueue

log = logging.getLogger(__name__)
_INLINE_ATTEMPTS = 3


@dataclass(frozen=True)
class _Target:
    """What a document row asks for, read once at the start of a run."""

    kind: DocumentKind
    file_format: str
    meeting_id: int
    organisation_id: int | None
    # A PDF's stored Office file (its sibling in the batch, done); None: render it here.
    source: OfficeSource | None = None
    # The row's attempt number this run claimed: its fencing token. A run whose row has since
    # been claimed again (its worker was cut off and the row re-sent) records nothing.
    attempt: int = 0
    # drills (issue 16 item 4): the template snapshot the batch started with, if pinned.
    template_id: int | None = None
    batch_id: int | None = None

    def file_key(self, document_id: int, file_name: str | None) -> str:
        """Where the document's file is stored: a function of the document alone, so a
        second run overwrites, never adds."""
        return f"meetings/{self.meeting_id}/documents/{document_id}/{file_name}"


@dataclass
class _Prepared:
    """A chunk's document between its snapshot and its record: what it is made from, then
    its bytes, or the latest version whose file it keeps."""

    document_id: int
    target: _Target
    template: LoadedTemplate
    context: dict[str, Any]
    inputs: DocumentInputs
    extra: dict[str, Any]
    # Time spent on it so far (its render_ms once recorded).
    seconds: float
    data: bytes | None = None
    reuse: Any = None


class Outcome(StrEnum):
    """What a render attempt did."""

    RENDERED = "rendered"
    REUSED = "reused"  # same fingerprint as the slot's latest version: its file is kept
    ALREADY_DONE = "already_done"
    FAILED = "failed"
    MISSING = "missing"
    WAITING = "waiting"  # a PDF whose Office file is still on its way: back to pending
    FORWARDED = "forwarded"  # sent to the queue of its step (a message on the wrong queue)
    SUPERSEDED = "superseded"  # another attempt claimed the row meanwhile: this one's dropped
    HELD = "held"  # a live worker holds the row's lease: this (duplicate) message is dropped


@dataclass
class RenderJob:
    """Collaborators a render needs; built once per worker process.

    With a ``queue`` (a worker's), a finished Office file hands its waiting PDF on to the
    ``pdf`` queue; without one (inline), the caller runs the PDF rows itself, after.
    """

    sessions: sessionmaker[Session]
    files: FileStore
    maker: DocumentMaker
    queue: DocumentQueue | None = None
    debug_delay_seconds: float = 0.0
    # How long a pack may convert decks in one run before it hands over to its next attempt
    # (the task's soft time limit would otherwise stop a first pack of 300 uploaded decks).
    pack_budget_seconds: float | None = None
    # Renews the leases of the rows this process runs (one per process; made when not given).
    leases: LeaseKeeper | None = None
    # The attempt each row's latest run in this process claimed (its fencing token).
    _attempts: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    # The network-wide stamp digests and facts, kept while the data revision stays put.
    digests: DigestCache = field(default_factory=DigestCache, init=False, repr=False)
    shared_facts: RevisionCache[Any] = field(
        default_factory=lambda: RevisionCache[Any](max_entries=512), init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.leases is None:
            self.leases = LeaseKeeper(self.sessions, lease_seconds=30.0)

    @property
    def keeper(self) -> LeaseKeeper:
        """This job's lease keeper."""
        assert self.leases is not None
        return self.leases

    def run(self, document_id: int, *, step: Step | None = None) -> Outcome:
        """Render (or convert), store and record one document; safe to run twice for an id.

        ``step`` is the queue the task came from: a row of the other step is forwarded to its
        own queue (a message from before the split), so a render-only worker never converts.
        """
        begun = self._begin(document_id, step)
        if isinstance(begun, Outcome):
            self._not_claimed(document_id, begun, step)
            return begun
        target = begun
        try:
            return self._run_claimed(document_id, target)
        finally:
            self.keeper.release(document_id)

    def run_many(
        self, document_ids: Sequence[int], *, outcomes: dict[int, Outcome] | None = None
    ) -> dict[int, Outcome]:
        """Render a chunk of Office documents as ``run`` renders each, their database work
        shared: one transaction claims them, one snapshot reads their stamps and facts, one
        query finds their latest versions and one transaction records them.

        ``outcomes`` (returned) is filled as documents end, so a caller cut off midway knows
        which did not. A pack or a PDF among them runs on its own, as ``run`` runs it.
        """
        outcomes = {} if outcomes is None else outcomes
        claimed: dict[int, _Target] = {}
        for document_id, begun in self._begin_many(document_ids, Step.RENDER).items():
            if isinstance(begun, Outcome):
                self._not_claimed(document_id, begun, Step.RENDER)
                outcomes[document_id] = begun
            else:
                claimed[document_id] = begun
        try:
            together = {
                document_id: target
                for document_id, target in claimed.items()
                if target.kind not in PACKS and target.source is None
            }
            for document_id, target in claimed.items():
                if document_id not in together:
                    outcomes[document_id] = self._run_claimed(document_id, target)
            if together:
                self._render_chunk(together, outcomes)
        finally:
            for document_id in claimed:
                self.keeper.release(document_id)
            set_ids(batch_id=None, document_id=None)
        for document_id, target in claimed.items():
            # A task per document has Celery's line for each; a chunk's has one for them all.
            with log_ids(batch_id=target.batch_id, document_id=document_id):
                log.info(
                    "document %s: %s (one of %d in this task)",
                    document_id,
                    outcomes.get(document_id, "unfinished"),
                    len(document_ids),
                )
        return outcomes

    def _not_claimed(self, document_id: int, begun: Outcome, step: Step | None) -> None:
        """What a row that this run did not claim still needs."""
        if begun == Outcome.ALREADY_DONE:
            # A worker that died after storing an Office file left its PDF waiting.
            self._hand_on(document_id)
        if begun == Outcome.FORWARDED:
            assert self.queue is not None
            if step == Step.RENDER:
                self.queue.send_pdf(document_id)
            else:
                self.queue.send_render(document_id)

    def _run_claimed(self, document_id: int, target: _Target) -> Outcome:
        """The claimed run's work, while its lease is renewed."""
        if self.debug_delay_seconds:
            time.sleep(self.debug_delay_seconds)
        try:
            if target.kind in PACKS:
                outcome = self._assemble_and_store(document_id, target)
            elif target.source is not None:
                outcome = self._convert_and_store(document_id, target, target.source)
            else:
                outcome = self._render_and_store(document_id, target)
        except TransientError:
            raise
        except GenerationError as exc:
            return self._fail(document_id, str(exc), attempt=target.attempt)
        except NotFoundError as exc:
            return self._fail(document_id, str(exc), attempt=target.attempt)
        if outcome in (Outcome.RENDERED, Outcome.REUSED):
            self._hand_on(document_id)
        return outcome

    def _begin(self, document_id: int, step: Step | None) -> _Target | Outcome:
        """Mark the row running and read what it asks for, or say why it does not start."""
        return self._begin_many([document_id], step)[document_id]

    def _begin_many(
        self, document_ids: Sequence[int], step: Step | None
    ) -> dict[int, _Target | Outcome]:
        """``_begin`` for several rows, in one transaction (rows locked in id order)."""
        doc = m.GeneratedDocument
        begun: dict[int, _Target | Outcome] = {}
        try:
            with unit_of_work(self.sessions) as session:
                rows = session.scalars(
                    select(doc)
                    .where(doc.id.in_(list(document_ids)))
                    .order_by(doc.id)
                    .with_for_update()
                ).all()
                for row in rows:
                    begun[row.id] = self._claim(session, row, step)
        except BaseException:
            # Nothing was claimed: the leases this run took hold of are let go.
            for document_id, claimed in begun.items():
                if isinstance(claimed, _Target):
                    self.keeper.release(document_id)
            raise
        for document_id in document_ids:
            if document_id not in begun:
                log.warning("document %s no longer exists; dropping its task", document_id)
                begun[document_id] = Outcome.MISSING
        return begun

    def _claim(
        self, session: Session, doc: m.GeneratedDocument, step: Step | None
    ) -> _Target | Outcome:
        """Claim a locked row for this run: its target, or why it does not start."""
        document_id = doc.id
        set_ids(batch_id=doc.batch_id, document_id=document_id)
        if doc.status in (DocumentStatus.DONE, DocumentStatus.FAILED):
            return Outcome.ALREADY_DONE
        if self._held_elsewhere(doc):
            log.warning(
                "document %s is running under %s until %s; dropping this duplicate",
                document_id,
                doc.lease_owner,
                doc.lease_expires_at,
            )
            return Outcome.HELD
        if step is not None and step_of(doc.format) != step and self.queue is not None:
            doc.status = DocumentStatus.QUEUED
            doc.enqueued_at = utcnow()
            return Outcome.FORWARDED
        source, not_now = self._office_source(session, doc)
        if not_now is not None:
            return not_now
        doc.status = DocumentStatus.RUNNING
        doc.started_at = utcnow()
        doc.attempts += 1
        doc.lease_owner = self.keeper.owner
        doc.lease_expires_at = self.keeper.expiry()
        doc.failed_transient = False
        self._attempts[document_id] = doc.attempts
        self.keeper.hold(document_id, doc.attempts)
        return _Target(
            doc.kind,
            doc.format,
            doc.meeting_id,
            doc.organisation_id,
            source,
            attempt=doc.attempts,
            template_id=doc.template_id,  # drills: the batch's template snapshot
            batch_id=doc.batch_id,
        )

    def _held_elsewhere(self, doc: m.GeneratedDocument) -> bool:
        """Whether another live process holds the row's lease (it is rendering it now)."""
        if doc.status != DocumentStatus.RUNNING or doc.lease_owner is None:
            return False
        if doc.lease_owner == self.keeper.owner:
            return False
        expires = doc.lease_expires_at
        if expires is None or as_utc(expires) <= utcnow():
            return False
        return not owner_is_dead(doc.lease_owner)

    def holds(self, document_id: int) -> bool:
        """Whether a run in this process claimed the row (what ``hold_for_retry`` is fenced by)."""
        return document_id in self._attempts

    def hold_for_retry(self, document_id: int, seconds: float) -> None:
        """Keep a row whose task retries in ``seconds``: its lease covers the wait, unowned.

        The retry (in any process) claims it; if this worker dies meanwhile, the lease lapses
        after the wait and the periodic resend sends the document again.
        """
        attempt = self._attempts.get(document_id)
        doc = m.GeneratedDocument
        with unit_of_work(self.sessions) as session:
            statement = update(doc).where(
                doc.id == document_id, doc.status == DocumentStatus.RUNNING
            )
            if attempt is not None:
                statement = statement.where(doc.attempts == attempt)
            session.execute(
                statement.values(
                    lease_owner=None,
                    lease_expires_at=self.keeper.expiry(utcnow() + dt.timedelta(seconds=seconds)),
                )
            )

    def _office_source(
        self, session: Session, doc: m.GeneratedDocument
    ) -> tuple[OfficeSource | None, Outcome | None]:
        """For a PDF row: its Office sibling's stored file, or why it cannot start now."""
        if not converts_office_file(doc.kind, doc.format):
            return None, None
        office = office_sibling(session, doc)
        if office is None:
            return None, None  # no Office row in its batch: render it here, then convert
        if office.status == DocumentStatus.FAILED:
            doc.status = DocumentStatus.FAILED
            doc.error = office_failed_reason(office.format, office.error)[:2000]
            doc.finished_at = utcnow()
            return None, Outcome.FAILED
        if office.status != DocumentStatus.DONE or office.file_key is None:
            # Sent early (a duplicate, or a retried Office file): the sibling hands it on.
            doc.status = DocumentStatus.PENDING
            return None, Outcome.WAITING
        return (
            OfficeSource(
                id=office.id,
                file_key=office.file_key,
                inputs=dict(office.inputs or {}),
                template_id=office.template_id,
            ),
            None,
        )

    def _hand_on(self, document_id: int) -> None:
        """Send the PDFs that wait for this (now stored) Office file to the ``pdf`` queue."""
        if self.queue is None:
            return
        with self.sessions() as session:
            office = session.get(m.GeneratedDocument, document_id)
            waiting = waiting_pdfs(session, office) if office is not None else []
        if waiting:
            # Unsent (the broker away) they stay pending; resend_stale finds them.
            dispatch(self.sessions, self.queue, waiting)

    def _convert_and_store(
        self, document_id: int, target: _Target, source: OfficeSource
    ) -> Outcome:
        """A PDF from its stored Office file: converted, never rendered again."""
        started = time.perf_counter()
        inputs = pdf_inputs(source.inputs)
        if inputs is None:
            return self._render_and_store(document_id, target)
        reused = self._reuse(document_id, target, inputs)
        if reused is not None:
            return reused
        try:
            office_file = self.files.get(source.file_key)
        except NotFoundError:
            log.warning(
                "document %s: Office file %r is gone; rendering it again",
                document_id,
                source.file_key,
            )
            return self._render_and_store(document_id, target)
        if self.maker.pdf is None:
            raise RenderError("PDF conversion is not available here")
        data = self.maker.pdf.convert(
            office_file, source_format=spec_for(target.kind).office_format
        )
        render_ms = (time.perf_counter() - started) * 1000
        observe_render(target.kind, target.file_format, render_ms)
        with self._recording() as written, unit_of_work(self.sessions) as session:
            doc = _claimed_row(session, document_id, target)
            if isinstance(doc, Outcome):
                return doc
            key = target.file_key(document_id, doc.file_name)
            _mark_done(
                doc,
                file=self._put(written, document_id, key, data),
                template_id=source.template_id,
                inputs=inputs,
                render_ms=render_ms,
                reused_from_id=None,
            )
        return Outcome.RENDERED

    def _render_and_store(self, document_id: int, target: _Target) -> Outcome:
        started = time.perf_counter()
        loaded = self.maker.template(target.kind, pinned=target.template_id)  # drills
        with consistent_read(self.sessions) as session:
            context, inputs, extra = self._prepare(session, target, loaded)
        reused = self._reuse(document_id, target, inputs, extra=extra)
        if reused is not None:
            return reused
        made = self.maker.render(
            target.kind, context, file_format=target.file_format, template=loaded
        )
        data = made.data
        render_ms = (time.perf_counter() - started) * 1000
        observe_render(target.kind, target.file_format, render_ms)
        with self._recording() as written, unit_of_work(self.sessions) as session:
            doc = _claimed_row(session, document_id, target)
            if isinstance(doc, Outcome):
                return doc
            key = target.file_key(document_id, doc.file_name)
            stored = self._put(written, document_id, key, data)
            _mark_done(
                doc,
                file=stored,
                template_id=template_row_id(session, target.kind, loaded.file_name, loaded.sha256),
                inputs=inputs,
                render_ms=render_ms,
                reused_from_id=None,
                extra=extra,
            )
        return Outcome.RENDERED

    def _prepare(
        self, session: Session, target: _Target, loaded: LoadedTemplate
    ) -> tuple[dict[str, Any], DocumentInputs, dict[str, Any]]:
        """A document's context, its inputs (the fingerprint) and what its row keeps beside
        them, read in ``session``'s one snapshot: the stamp first, then the facts, so the
        stamp vouches for this context."""
        spec = spec_for(target.kind)
        renderer = renderer_identity(target.file_format)
        # An Office file that may become a PDF keeps the PDF's stamp too, read in the same
        # snapshot: the PDF converted from it carries it (``pdf_step.pdf_inputs``).
        renderers = [renderer]
        if spec.offers_pdf and target.file_format != "pdf":
            renderers.append(renderer_identity("pdf"))
        stamps = document_stamps(
            session,
            spec,
            meeting_id=target.meeting_id,
            organisation_id=target.organisation_id,
            template_sha256=loaded.sha256,
            renderers=renderers,
            cache=self.digests,
        )
        context = self.maker.context(
            target.kind,
            meeting_id=target.meeting_id,
            organisation_id=target.organisation_id,
            session=session,
            shared=self.shared_facts,
        )
        inputs = document_inputs(
            template_sha256=loaded.sha256,
            context=context,
            file_format=target.file_format,
            stamp=stamps[0],
            renderer=renderer,
        )
        extra = {PDF_STAMP: stamps[1]} if len(stamps) > 1 else {}
        return context, inputs, extra

    def _render_chunk(self, targets: dict[int, _Target], outcomes: dict[int, Outcome]) -> None:
        """Render claimed Office documents with one snapshot, one query for their latest
        versions and one transaction to record them; a document's own failure is its own."""
        failures: dict[int, str] = {}
        prepared = self._prepare_chunk(targets, failures)
        for item in prepared:
            set_ids(document_id=item.document_id)
            if self.debug_delay_seconds:  # drills: each document takes at least this long
                time.sleep(self.debug_delay_seconds)
            if item.reuse is None:
                self._render_prepared(item, failures, outcomes)
        finished = self._record_chunk(
            [item for item in prepared if item.reuse is not None or item.data is not None]
        )
        outcomes.update(finished)
        for document_id, reason in failures.items():
            target = targets[document_id]
            outcomes[document_id] = self._fail(document_id, reason, attempt=target.attempt)

    def _prepare_chunk(
        self, targets: dict[int, _Target], failures: dict[int, str]
    ) -> list[_Prepared]:
        """Each document's context and inputs, read in one snapshot, and the latest version
        whose file it keeps when nothing changed; a document that cannot be read fails alone."""
        started = time.perf_counter()
        templates: dict[tuple[DocumentKind, int | None], LoadedTemplate] = {}
        prepared: list[_Prepared] = []
        with consistent_read(self.sessions) as session:
            self._read_own_digests(session, targets.values())
            for document_id, target in targets.items():
                set_ids(document_id=document_id)
                begun = time.perf_counter()
                key = (target.kind, target.template_id)
                try:
                    if key not in templates:
                        templates[key] = self.maker.template(target.kind, pinned=target.template_id)
                    context, inputs, extra = self._prepare(session, target, templates[key])
                except (GenerationError, NotFoundError) as exc:
                    failures[document_id] = str(exc)
                    continue
                seconds = time.perf_counter() - begun
                prepared.append(
                    _Prepared(document_id, target, templates[key], context, inputs, extra, seconds)
                )
            latest = self._latest_versions(session, prepared)
        # The chunk's shared reads, spread over its documents' times.
        shared = time.perf_counter() - started - sum(item.seconds for item in prepared)
        for item in prepared:
            item.seconds += shared / len(prepared)
            found = latest.get(item.document_id)
            if (
                found is not None
                and found.fingerprint == item.inputs.fingerprint
                and found.file_key is not None
                and self.files.exists(found.file_key)
            ):
                item.reuse = found
        return prepared

    def _render_prepared(
        self, item: _Prepared, failures: dict[int, str], outcomes: dict[int, Outcome]
    ) -> None:
        """Render one prepared document of a chunk: its bytes, or its own failure recorded.

        A passing cause (``is_transient``) stops the chunk: its caller hands the rest on.
        """
        begun = time.perf_counter()
        try:
            item.data = self.maker.render(
                item.target.kind,
                item.context,
                file_format=item.target.file_format,
                template=item.template,
            ).data
        except (GenerationError, NotFoundError) as exc:
            failures[item.document_id] = str(exc)
            return
        except Exception as exc:
            if is_transient(exc):
                raise
            outcomes[item.document_id] = self.fail_unexpectedly(item.document_id, exc)
            return
        item.seconds += time.perf_counter() - begun
        observe_render(item.target.kind, item.target.file_format, item.seconds * 1000)

    def _read_own_digests(self, session: Session, targets: Iterable[_Target]) -> None:
        """Read the chunk's organisations' own stamp buckets at once, per meeting."""
        wanted: dict[int, tuple[set[int], set[PrivateData]]] = {}
        for target in targets:
            if target.organisation_id is None:
                continue
            spec = spec_for(target.kind)
            organisations, kinds = wanted.setdefault(target.meeting_id, (set(), set()))
            organisations.add(target.organisation_id)
            kinds.update(spec.reads_own_organisation - spec.reads_other_organisations)
        for meeting_id, (organisations, kinds) in wanted.items():
            network_id = self.digests.network_of(session, meeting_id)
            self.digests.read_own(session, network_id, organisations, frozenset(kinds))

    def _record_chunk(self, made: Sequence[_Prepared]) -> dict[int, Outcome]:
        """Store the chunk's files and record its rows in one transaction; then hand on the
        PDFs that waited for them."""
        if not made:
            return {}
        doc = m.GeneratedDocument
        finished: dict[int, Outcome] = {}
        waiting: list[int] = []
        template_ids: dict[tuple[DocumentKind, str, str], int] = {}
        with self._recording() as written, unit_of_work(self.sessions) as session:
            rows = {
                row.id: row
                for row in session.scalars(
                    select(doc)
                    .where(doc.id.in_([item.document_id for item in made]))
                    .order_by(doc.id)
                    .with_for_update()
                )
            }
            kept: list[tuple[_Prepared, m.GeneratedDocument]] = []
            for item in made:
                set_ids(document_id=item.document_id)
                row = _fenced(rows.get(item.document_id), item.document_id, item.target)
                if isinstance(row, Outcome):
                    finished[item.document_id] = row
                else:
                    kept.append((item, row))
            stored = self._put_all(
                written,
                [
                    (
                        item.document_id,
                        item.target.file_key(item.document_id, row.file_name),
                        item.data,
                    )
                    for item, row in kept
                    if item.reuse is None and item.data is not None
                ],
            )
            recorded: list[m.GeneratedDocument] = []
            for item, row in kept:
                set_ids(document_id=item.document_id)
                if item.reuse is not None:
                    _mark_done(
                        row,
                        file=StoredFile(
                            item.reuse.file_key, item.reuse.size_bytes, item.reuse.sha256
                        ),
                        template_id=item.reuse.template_id,
                        inputs=item.inputs,
                        render_ms=None,
                        reused_from_id=item.reuse.id,
                        extra=item.extra,
                    )
                    finished[item.document_id] = Outcome.REUSED
                else:
                    loaded = item.template
                    template_key = (item.target.kind, loaded.file_name, loaded.sha256)
                    if template_key not in template_ids:
                        template_ids[template_key] = template_row_id(session, *template_key)
                    _mark_done(
                        row,
                        file=stored[item.document_id],
                        template_id=template_ids[template_key],
                        inputs=item.inputs,
                        render_ms=item.seconds * 1000,
                        reused_from_id=None,
                        extra=item.extra,
                    )
                    finished[item.document_id] = Outcome.RENDERED
                recorded.append(row)
            if self.queue is not None:
                waiting = waiting_pdfs_of(session, recorded)
        if waiting:
            assert self.queue is not None
            # Unsent (the broker away) they stay pending; resend_stale finds them.
            dispatch(self.sessions, self.queue, waiting)
        return finished

    def _latest_versions(self, session: Session, prepared: Sequence[_Prepared]) -> dict[int, Any]:
        """Each document's slot's latest done version (``_latest_version``), in one query."""
        if not prepared:
            return {}
        doc = m.GeneratedDocument

        def slot_of(target: _Target) -> tuple[int, int | None, DocumentKind, str]:
            return (target.meeting_id, target.organisation_id, target.kind, target.file_format)

        slots = {slot_of(item.target) for item in prepared}
        same_slot = or_(
            *(
                and_(
                    doc.meeting_id == meeting_id,
                    doc.kind == kind,
                    doc.organisation_id.is_(None)
                    if organisation_id is None
                    else doc.organisation_id == organisation_id,
                    doc.format == file_format,
                )
                for meeting_id, organisation_id, kind, file_format in slots
            )
        )
        newest = (
            select(func.max(doc.id))
            .where(same_slot, doc.status == DocumentStatus.DONE)
            .group_by(doc.meeting_id, doc.organisation_id, doc.kind, doc.format)
        )
        rows = session.execute(
            select(
                doc.id, doc.meeting_id, doc.organisation_id, doc.kind, doc.format,
                doc.fingerprint, doc.file_key, doc.size_bytes, doc.sha256, doc.template_id,
            ).where(doc.id.in_(newest))
        ).all()  # fmt: skip
        by_slot = {(r.meeting_id, r.organisation_id, r.kind, r.format): r for r in rows}
        return {item.document_id: by_slot.get(slot_of(item.target)) for item in prepared}

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
                row = _claimed_row(session, document_id, target)
                if isinstance(row, Outcome):
                    return row
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
        with self._recording() as written, unit_of_work(self.sessions) as session:
            row = _claimed_row(session, document_id, target)
            if isinstance(row, Outcome):
                return row
            key = target.file_key(document_id, row.file_name)
            _mark_file_done(
                row,
                file=self._put(written, document_id, key, built.data),
                fingerprint=inputs.fingerprint,
                inputs={
                    **recorded,
                    "left_out": [[item.organisation, item.reason] for item in built.left_out],
                },
                render_ms=render_ms,
                reused_from_id=None,
            )
        return Outcome.RENDERED

    @contextmanager
    def _recording(self) -> Iterator[list[tuple[int, str]]]:
        """Collects the (document, key) a finishing transaction writes; removes them if it
        fails.

        A file written by a transaction that then failed (a lost database, a fenced commit)
        would be referenced by nothing: it is removed unless the row records it after all.
        """
        written: list[tuple[int, str]] = []
        try:
            yield written
        except BaseException:
            by_document: dict[int, list[str]] = {}
            for document_id, key in written:
                by_document.setdefault(document_id, []).append(key)
            for document_id, keys in by_document.items():
                self._remove_unrecorded(document_id, keys)
            raise

    def _put(
        self, written: list[tuple[int, str]], document_id: int, key: str, data: bytes
    ) -> StoredFile:
        return self._put_all(written, [(document_id, key, data)])[document_id]

    def _put_all(
        self, written: list[tuple[int, str]], files: Sequence[tuple[int, str, bytes]]
    ) -> dict[int, StoredFile]:
        """Store a chunk's files side by side, each document's under its key.

        Each put waits for its own disk flush or object-store round trip, not for the
        others' (on this machine's local disk that saves little: 8 files 3.9 ms side by side,
        4.2 ms in turn; to an object store a chunk waits for about one round trip instead of
        sixteen). Every put has ended before this returns or raises (a time limit included),
        so the cleanup of a failed transaction never races a write still under way.
        """
        written.extend((document_id, key) for document_id, key, _ in files)
        if len(files) <= 1:
            return {document_id: self.files.put(key, data) for document_id, key, data in files}
        stored: dict[int, StoredFile] = {}
        errors: list[BaseException] = []

        def put(document_id: int, key: str, data: bytes) -> None:
            try:
                stored[document_id] = self.files.put(key, data)
            except BaseException as exc:  # raised in the caller's thread, below
                errors.append(exc)

        writers = [
            threading.Thread(target=put, args=file, name=f"put-{file[0]}", daemon=True)
            for file in files
        ]
        for writer in writers:
            writer.start()
        try:
            for writer in writers:
                writer.join()
        except BaseException:
            for writer in writers:
                writer.join()
            raise
        if errors:
            raise errors[0]
        return stored

    def _remove_unrecorded(self, document_id: int, keys: list[str]) -> None:
        """Delete files no row records, holding the row's lock so no run records one meanwhile."""
        try:
            with unit_of_work(self.sessions) as session:
                row = session.get(m.GeneratedDocument, document_id, with_for_update=True)
                for key in keys:
                    if row is not None and row.file_key == key:
                        continue
                    self.files.delete(key)
                    log.warning(
                        "document %s: removed %r, written but not recorded", document_id, key
                    )
        except Exception:  # `benchdocs storage check --repair` finds it later
            log.warning(
                "document %s: could not remove unrecorded files %s",
                document_id,
                keys,
                exc_info=True,
            )

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

    def _reuse(
        self,
        document_id: int,
        target: _Target,
        inputs: DocumentInputs,
        *,
        extra: dict[str, Any] | None = None,
    ) -> Outcome | None:
        """Keep the slot's latest version's file if it was made from the same inputs."""
        doc = m.GeneratedDocument
        latest = self._latest_version(document_id, target)
        fingerprint = inputs.fingerprint
        if latest is None or latest.fingerprint != fingerprint or latest.file_key is None:
            return None
        if not self.files.exists(latest.file_key):
            return None
        with unit_of_work(self.sessions) as session:
            row = _claimed_row(session, document_id, target)
            if isinstance(row, Outcome):
                return row
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
                extra=extra,
            )
        return Outcome.REUSED

    def _fail(
        self,
        document_id: int,
        reason: str,
        *,
        attempt: int | None = None,
        transient: bool = False,
    ) -> Outcome:
        """Record a failure, unless the row is done or (``attempt``) another run claimed it.

        ``transient``: the cause passes by itself; the periodic resend tries the row again.
        """
        with unit_of_work(self.sessions) as session:
            doc = session.get(m.GeneratedDocument, document_id, with_for_update=True)
            if doc is None:
                return Outcome.MISSING
            if doc.status == DocumentStatus.DONE or (
                attempt is not None and doc.attempts != attempt
            ):
                log.warning(
                    "document %s: this run's failure is not recorded (%s): attempt %s has %s it",
                    document_id,
                    reason,
                    doc.attempts,
                    "finished" if doc.status == DocumentStatus.DONE else "claimed",
                )
                return Outcome.SUPERSEDED
            log.error("document %s failed: %s", document_id, reason)
            doc.status = DocumentStatus.FAILED
            doc.error = reason[:2000]
            doc.finished_at = utcnow()
            doc.failed_transient = transient
            doc.lease_owner = None
            doc.lease_expires_at = None
            # The PDFs waiting for this Office file will not get one: they fail with it.
            for waiting in session.scalars(
                select(m.GeneratedDocument)
                .where(m.GeneratedDocument.id.in_(waiting_pdfs(session, doc)))
                .with_for_update()
            ):
                if waiting.status == DocumentStatus.PENDING:
                    waiting.status = DocumentStatus.FAILED
                    waiting.error = office_failed_reason(doc.format, doc.error)[:2000]
                    waiting.finished_at = utcnow()
                    waiting.failed_transient = transient
        return Outcome.FAILED

    def give_up(self, document_id: int, exc: BaseException, *, attempts: int) -> Outcome:
        """Record a transient failure that outlasted its retries, its cause named.

        Marked transient: the periodic resend tries it again later (``control.resend_stale``).
        """
        log.error("document %s failed %d times: %s", document_id, attempts, exc)
        return self._fail(
            document_id,
            transient_reason(exc, attempts=attempts),
            attempt=self._attempts.get(document_id),
            transient=True,
        )

    def fail_unexpectedly(self, document_id: int, exc: BaseException) -> Outcome:
        """Record a failure nobody planned for; the log keeps the whole exception."""
        log.exception("document %s failed unexpectedly", document_id, exc_info=exc)
        return self._fail(
            document_id, unexpected_reason(exc), attempt=self._attempts.get(document_id)
        )


def _claimed_row(
    session: Session, document_id: int, target: _Target
) -> m.GeneratedDocument | Outcome:
    """The row, locked, when this run may record its result on it; else why it may not.

    The fencing check: a worker cut off mid-render whose row was re-sent and claimed again
    (or finished) by another worker drops its result instead of writing over the other's file.
    """
    return _fenced(
        session.get(m.GeneratedDocument, document_id, with_for_update=True), document_id, target
    )


def _fenced(
    row: m.GeneratedDocument | None, document_id: int, target: _Target
) -> m.GeneratedDocument | Outcome:
    """The locked row if this run's claim still holds it (``_claimed_row``)."""
    if row is None:
        return Outcome.MISSING
    if row.status == DocumentStatus.RUNNING and row.attempts == target.attempt:
        return row
    log.warning(
        "document %s: attempt %s's result dropped: the row is %s at attempt %s",
        document_id,
        target.attempt,
        row.status,
        row.attempts,
    )
    return Outcome.SUPERSEDED


def _mark_done(
    doc: m.GeneratedDocument,
    *,
    file: StoredFile,
    template_id: int | None,
    inputs: DocumentInputs,
    render_ms: float | None,
    reused_from_id: int | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record a finished document: its file, template, inputs and, if reused, its source.

    ``extra`` is kept beside the inputs (an Office file's ``pdf_stamp``).
    """
    _mark_file_done(
        doc,
        file=file,
        fingerprint=inputs.fingerprint,
        inputs={**inputs.to_json(), **(extra or {})},
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
    doc.lease_owner = None
    doc.lease_expires_at = None
    doc.failed_transient = False


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
    try:
        outcomes = {document_id: _run_inline(job, document_id) for document_id in document_ids}
        # A PDF listed before its Office file waited for it; the Office files are made now.
        for document_id, outcome in outcomes.items():
            if outcome == Outcome.WAITING:
                outcomes[document_id] = _run_inline(job, document_id)
    finally:
        job.keeper.stop()
    return [outcomes[document_id] for document_id in document_ids]


def _run_inline(job: RenderJob, document_id: int) -> Outcome:
    for attempt in range(_INLINE_ATTEMPTS):
        try:
            return job.run(document_id)
        except TransientError as exc:
            # The row stays running, which a second run() renders again (as a retry does).
            if attempt == _INLINE_ATTEMPTS - 1:
                job.give_up(document_id, exc, attempts=_INLINE_ATTEMPTS)
    return Outcome.FAILED
