"""Batches: record what a meeting wants, hand it to the queue, report progress, re-send strays.

The database is the truth of what a batch wants. The broker only carries document ids; a
message lost with a killed worker or a restarted broker is found here and sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.batches.pdf_step import (
    Step,
    converts_office_file,
    office_failed_reason,
    office_sibling_states,
    step_of,
    waits_for_office_file,
)
from service.batches.preflight import PlaceholdersError, preflight
from service.batches.template_snapshots import snapshot_templates
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import (
    CONTENT_TYPES,
    PACKS,
    available_kinds,
    batch_kinds,
    output_spec,
)
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import InvalidInputError, NotFoundError, Problem, TransientError
from service.observability.log_context import set_ids
from service.settings import Settings
from service.task_queue import PDF_QUEUE, RENDER_QUEUE, BulkDocumentQueue, DocumentQueue

log = logging.getLogger(__name__)


def create_batch(
    session: Session,
    *,
    meeting_id: int,
    kinds: Sequence[DocumentKind] | None = None,
    organisation_ids: Sequence[int] | None = None,
    with_pdf: bool = False,
) -> m.Batch:
    """Record a batch and one pending document per wanted (kind, organisation).

    ``kinds`` defaults to every rendered kind; packs (``catalogue.PACKS``) are made only when
    asked for, after the documents they gather (their rows come last, in ``PACKS`` order).
    """
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    wanted_kinds = list(dict.fromkeys(kinds)) if kinds else available_kinds()
    unavailable = [k for k in wanted_kinds if k not in batch_kinds()]
    if unavailable:
        raise InvalidInputError(
            [
                Problem(
                    f"$.kinds[{wanted_kinds.index(k)}]",
                    f"document kind {k.value!r} is not available yet",
                )
                for k in unavailable
            ]
        )
    # The network's organisations as (id, name) rows, not entities: a one-document batch of a
    # network of hundreds spent most of its time building organisation objects it never used.
    network_orgs = session.execute(
        select(m.Organisation.id, m.Organisation.name)
        .where(m.Organisation.network_id == meeting.network_id)
        .order_by(m.Organisation.id)
    ).all()
    if organisation_ids:
        known = {o.id: o for o in network_orgs}
        missing = [
            Problem(
                f"$.organisation_ids[{i}]",
                f"organisation {oid} does not take part in meeting {meeting_id}'s network",
            )
            for i, oid in enumerate(organisation_ids)
            if oid not in known
        ]
        if missing:
            raise InvalidInputError(missing)
        organisations = [known[oid] for oid in dict.fromkeys(organisation_ids)]
    else:
        organisations = list(network_orgs)
    batch = m.Batch(meeting_id=meeting_id, requested_kinds=[k.value for k in wanted_kinds])
    session.add(batch)
    session.flush()
    pack_order = list(PACKS)
    ordered = sorted(wanted_kinds, key=lambda k: pack_order.index(k) + 1 if k in PACKS else 0)
    # Templates are snapshots: every row renders the template as it is now, whatever an editor
    # saves over the file while the batch runs.
    pinned = snapshot_templates(session, ordered)
    rows = [
        {
            "batch_id": batch.id,
            **_pending_columns(
                template_id=pinned.get(kind),
                kind=kind,
                file_format=file_format,
                meeting_id=meeting_id,
                meeting_title=meeting.title,
                organisation_id=org.id if org else None,
                organisation_name=org.name if org else None,
            ),
        }
        for kind in ordered
        for org in (organisations if output_spec(kind).per_organisation else [None])
        for file_format in output_spec(kind).formats(with_pdf=with_pdf)
    ]
    # One bulk INSERT for the batch's rows (a thousand ORM objects cost a third of a second);
    # the ids come in the order of the rows, and ``batch.documents`` is loaded in one query.
    if rows:
        session.execute(insert(m.GeneratedDocument), rows)
    session.refresh(batch, ["documents"])
    return batch


def _pending_columns(
    *,
    kind: DocumentKind,
    file_format: str,
    meeting_id: int,
    meeting_title: str,
    organisation_id: int | None,
    organisation_name: str | None,
    template_id: int | None = None,
) -> dict[str, object]:
    """The columns of a wanted document, pending, with its download name."""
    return {
        "template_id": template_id,
        "meeting_id": meeting_id,
        "organisation_id": organisation_id,
        "kind": kind,
        "format": file_format,
        "status": DocumentStatus.PENDING,
        "attempts": 0,
        "file_name": output_spec(kind).file_name(
            meeting_title=meeting_title,
            organisation_name=organisation_name,
            file_format=file_format,
        ),
        "content_type": CONTENT_TYPES[file_format],
    }


def pending_document(
    *,
    kind: DocumentKind,
    file_format: str,
    meeting_id: int,
    meeting_title: str,
    organisation_id: int | None,
    organisation_name: str | None,
) -> m.GeneratedDocument:
    """A wanted document, pending, with its download name: the row every batch is made of."""
    return m.GeneratedDocument(
        **_pending_columns(
            kind=kind,
            file_format=file_format,
            meeting_id=meeting_id,
            meeting_title=meeting_title,
            organisation_id=organisation_id,
            organisation_name=organisation_name,
        )
    )


def dispatch(
    sessions: sessionmaker[Session], queue: DocumentQueue, document_ids: Sequence[int]
) -> int:
    """Hand documents to the queue of their step; returns how many the broker took.

    Office files and zips go to rendering, PDFs to conversion (``pdf_step``). A PDF whose
    Office sibling is still on its way stays pending: the sibling's worker hands it on once
    the Office file is stored. A PDF whose Office sibling failed is failed here, saying so.

    The rows are marked queued before their messages are sent (in one statement per state
    they were read in), so a worker that starts at once never has its ``running``
    overwritten; a row that moved since it was read (a worker took it, or handed it on) is
    left alone. Meeting-wide Office files go first, each alone (``_Route.first``); an
    organisation's Office files may share a message with their neighbours (a chunk, rendered
    with one claim and one record: ``RenderJob.run_many``). The messages then go in one go
    (``BulkDocumentQueue``). If the broker is
    unreachable, the documents it did not take go back to pending and sending stops:
    ``resend_stale`` (beat, or ``benchdocs resend``) picks them up.
    """
    unique = list(dict.fromkeys(document_ids))
    routes = _routes(sessions, unique)
    wanted = [(document_id, routes[document_id]) for document_id in unique]
    claimed = _claim(sessions, [(d, r.status) for d, r in wanted if r.step is not None])
    to_send = [
        (PDF_QUEUE if route.step == Step.PDF else RENDER_QUEUE, document_id)
        for document_id, route in sorted(wanted, key=lambda item: not item[1].first)
        if document_id in claimed
    ]
    if isinstance(queue, BulkDocumentQueue):
        chunkable = {document_id for document_id, route in wanted if route.chunkable}
        sent = queue.send_documents(to_send, chunkable=chunkable)
    else:
        sent = _send_one_by_one(queue, to_send)
    if sent < len(to_send):
        unsent = [document_id for _, document_id in to_send[sent:]]
        log.warning("broker unavailable, %d document(s) left pending", len(unsent))
        _set_status(sessions, unsent, DocumentStatus.PENDING, only_if=DocumentStatus.QUEUED)
    return sent


def _send_one_by_one(queue: DocumentQueue, messages: Sequence[tuple[str, int]]) -> int:
    """Send through a queue that takes one message at a time; how many it took."""
    for sent, (step_queue, document_id) in enumerate(messages):
        try:
            if step_queue == PDF_QUEUE:
                queue.send_pdf(document_id)
            else:
                queue.send_render(document_id)
        except TransientError as exc:
            log.warning("the broker did not take document %d: %s", document_id, exc)
            return sent
    return len(messages)


@dataclass(frozen=True)
class _Route:
    """Where dispatch sends a row (``step`` None: nowhere, it waits or has failed)."""

    status: DocumentStatus
    step: Step | None
    # An organisation's Office file to render (not a pack): it may share a message with its
    # neighbours.
    chunkable: bool = False
    # A meeting-wide Office file: it reads the whole network, so it is the longest of its
    # batch to make; sent first and alone, none of them ends the batch on one busy worker.
    first: bool = False


def _routes(sessions: sessionmaker[Session], document_ids: Sequence[int]) -> dict[int, _Route]:
    """Each row's step, its status as read, and whether a PDF must wait or fail."""
    doc = m.GeneratedDocument
    routes: dict[int, _Route] = {}
    with unit_of_work(sessions) as session:
        rows = session.execute(
            select(
                doc.id, doc.batch_id, doc.meeting_id, doc.organisation_id, doc.kind, doc.format,
                doc.status,
            ).where(doc.id.in_(list(document_ids)))
        ).all()  # fmt: skip
        pdfs = [
            (row.id, row.batch_id, row.meeting_id, row.organisation_id, row.kind)
            for row in rows
            if converts_office_file(row.kind, row.format)
        ]
        siblings = office_sibling_states(session, pdfs)
        for row in rows:
            sibling = siblings.get(row.id)
            if sibling is not None and sibling.status == DocumentStatus.FAILED:
                session.execute(
                    update(doc)
                    .where(doc.id == row.id, doc.status == row.status)
                    .values(
                        status=DocumentStatus.FAILED,
                        error=office_failed_reason(sibling.format, sibling.error),
                        finished_at=utcnow(),
                    )
                )
                routes[row.id] = _Route(row.status, None)
            elif sibling is not None and sibling.status != DocumentStatus.DONE:
                routes[row.id] = _Route(row.status, None)  # handed on by its sibling's worker
            else:
                step = step_of(row.format)
                rendered = step == Step.RENDER and row.kind not in PACKS
                routes[row.id] = _Route(
                    row.status,
                    step,
                    chunkable=rendered and row.organisation_id is not None,
                    first=rendered and row.organisation_id is None,
                )
    # An id that no longer exists (its batch deleted) is not sent: nobody wants it.
    return {d: routes.get(d, _Route(DocumentStatus.PENDING, None)) for d in document_ids}


# Rows per UPDATE … WHERE id IN (…): well inside every database's limit on parameters.
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


def _claim(sessions: sessionmaker[Session], rows: Sequence[tuple[int, DocumentStatus]]) -> set[int]:
    """Mark queued every row still in the state dispatch read it in; the ids that were."""
    doc = m.GeneratedDocument
    by_status: dict[DocumentStatus, list[int]] = {}
    for document_id, status in rows:
        by_status.setdefault(status, []).append(document_id)
    claimed: set[int] = set()
    if not by_status:
        return claimed
    now = utcnow()
    with unit_of_work(sessions) as session:
        for status, ids in by_status.items():
            for chunk in _chunks(ids):
                claimed.update(
                    session.scalars(
                        update(doc)
                        .where(doc.id.in_(chunk), doc.status == status)
                        .values(status=DocumentStatus.QUEUED, enqueued_at=now)
                        .returning(doc.id)
                        .execution_options(synchronize_session=False)
                    )
                )
    return claimed


def _set_status(
    sessions: sessionmaker[Session],
    document_ids: Sequence[int],
    status: DocumentStatus,
    *,
    only_if: DocumentStatus | None,
) -> None:
    doc = m.GeneratedDocument
    values: dict[str, object] = {"status": status}
    if status == DocumentStatus.QUEUED:
        values["enqueued_at"] = utcnow()
    with unit_of_work(sessions) as session:
        for chunk in _chunks(document_ids):
            statement = update(doc).where(doc.id.in_(chunk))
            if only_if is not None:
                statement = statement.where(doc.status == only_if)
            session.execute(statement.values(**values).execution_options(synchronize_session=False))


def start_batch(
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    *,
    meeting_id: int,
    kinds: Sequence[DocumentKind] | None = None,
    organisation_ids: Sequence[int] | None = None,
    with_pdf: bool = False,
    allow_placeholders: bool = False,
) -> int:
    """Create a batch, commit it, then queue every document; returns the batch id.

    Refused (PlaceholdersError, nothing recorded) while a participant's document would print
    an organiser placeholder, unless ``allow_placeholders``: the organiser has seen the list
    (``service.batches.preflight``) and chooses to send the documents as they are.
    """
    with unit_of_work(sessions) as session:
        batch = create_batch(
            session,
            meeting_id=meeting_id,
            kinds=kinds,
            organisation_ids=organisation_ids,
            with_pdf=with_pdf,
        )
        if not allow_placeholders:
            gaps = preflight(
                session,
                meeting_id=meeting_id,
                documents=[(d.kind, d.organisation_id) for d in batch.documents],
            )
            if gaps:
                raise PlaceholdersError(gaps)
        batch_id = batch.id
        document_ids = [d.id for d in batch.documents]
    set_ids(batch_id=batch_id)
    log.info(
        "batch %d of meeting %d: queueing %d documents", batch_id, meeting_id, len(document_ids)
    )
    dispatch(sessions, queue, document_ids)
    return batch_id


def retry_failed(
    sessions: sessionmaker[Session], queue: DocumentQueue, *, batch_id: int
) -> list[int]:
    """Send a batch's failed documents again; returns their ids (none failed: empty).

    Each goes back to pending with its error cleared, then to the queue, as a new batch's
    would (``dispatch``). The rows stay the batch's own, so its progress counts them again;
    ``attempts`` keeps counting. Meant for a failure that has since been mended (a template
    fixed, the converter back), or a passing one.
    """
    doc = m.GeneratedDocument
    with unit_of_work(sessions) as session:
        if session.get(m.Batch, batch_id) is None:
            raise NotFoundError(f"batch {batch_id} not found")
        failed = list(
            session.scalars(
                select(doc.id)
                .where(doc.batch_id == batch_id, doc.status == DocumentStatus.FAILED)
                .order_by(doc.id)
                .with_for_update()
            )
        )
        if failed:
            session.execute(
                update(doc)
                .where(doc.id.in_(failed), doc.status == DocumentStatus.FAILED)
                .values(
                    status=DocumentStatus.PENDING,
                    error=None,
                    started_at=None,
                    finished_at=None,
                )
            )
    if failed:
        log.info("re-sending %d failed document(s) of batch %d", len(failed), batch_id)
        dispatch(sessions, queue, failed)
    return failed


# -- leases (helper `leases`, issue 16): find_stale and resend_stale -----------------------


@dataclass(frozen=True)
class TransientResend:
    """How the periodic resend retries documents failed by a passing cause.

    The n-th resend of a row (n from 0) waits ``first_seconds * 2**n`` after its failure, at
    most ``max_seconds``; after ``limit`` resends it waits for a person.
    """

    first_seconds: float = 60.0
    max_seconds: float = 900.0
    limit: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> TransientResend:
        """The policy the settings describe (``transient_resend_*``)."""
        return cls(
            first_seconds=settings.transient_resend_seconds,
            max_seconds=settings.transient_resend_max_seconds,
            limit=settings.transient_resend_limit,
        )

    def due(self, finished_at: dt.datetime | None, resends: int, now: dt.datetime) -> bool:
        """Whether a failed-transient row that failed at ``finished_at`` is due again."""
        if resends >= self.limit:
            return False
        wait = min(self.max_seconds, self.first_seconds * 2 ** min(resends, 30))
        if finished_at is None:
            return True
        if finished_at.tzinfo is None:  # SQLite hands stored times back naive (UTC)
            finished_at = finished_at.replace(tzinfo=dt.UTC)
        return finished_at + dt.timedelta(seconds=wait) <= now


def find_stale(
    session: Session,
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
    transient: TransientResend | None = None,
) -> list[int]:
    """Documents the database still wants but that have not moved for too long.

    A running document is stray once its lease lapsed (its worker died or lost the
    database), or when it started longer ago than ``older_than`` (rows without a lease, and
    a person's ``benchdocs resend --older-than``). A document failed by a passing cause is
    due again after its back-off (``TransientResend``).

    A PDF pending while its Office file is still on its way is not stray: it waits (the
    Office file's worker hands it on). Once its Office file is done and the hand-over was lost
    with a worker, it is found here like any other.
    """
    cutoff = now - older_than
    doc = m.GeneratedDocument
    stale = set(
        session.scalars(
            select(doc.id).where(
                or_(
                    (doc.status == DocumentStatus.PENDING)
                    & (doc.created_at < cutoff)
                    & ~waits_for_office_file(),
                    (doc.status == DocumentStatus.QUEUED) & (doc.enqueued_at < cutoff),
                    (doc.status == DocumentStatus.RUNNING)
                    & ((doc.started_at < cutoff) | (doc.lease_expires_at < now)),
                )
            )
        )
    )
    policy = transient or TransientResend()
    for row in session.execute(
        select(doc.id, doc.finished_at, doc.auto_resends).where(
            doc.status == DocumentStatus.FAILED,
            doc.failed_transient.is_(True),
            doc.auto_resends < policy.limit,
        )
    ):
        if policy.due(row.finished_at, row.auto_resends, now):
            stale.add(row.id)
    return sorted(stale)


def resend_stale(
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
    settings: Settings | None = None,
) -> list[int]:
    """Re-send every document stuck pending, queued or running (or failed-transient and due).

    Each is put back to pending first, checked again under its lock (another worker or beat
    may have re-sent it meanwhile): a row is sent by one resend only, and a run whose row was
    re-sent records nothing (the attempt is its fencing token). Duplicates are harmless.
    """
    policy = TransientResend.from_settings(settings) if settings else TransientResend()
    with sessions() as session:
        stale = find_stale(session, older_than=older_than, now=now, transient=policy)
    if not stale:
        return []
    taken = _take_back(sessions, stale, older_than=older_than, now=now, policy=policy)
    if taken:
        log.warning("re-sending %d stale documents: %s", len(taken), taken[:20])
        dispatch(sessions, queue, taken)
    return taken


def _take_back(
    sessions: sessionmaker[Session],
    document_ids: Sequence[int],
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
    policy: TransientResend,
) -> list[int]:
    """Put the still-stale rows back to pending, under their locks; their ids."""
    with unit_of_work(sessions) as session:
        # Locked first, then checked again: a row another resend took meanwhile is not stale.
        rows = session.scalars(
            select(m.GeneratedDocument)
            .where(m.GeneratedDocument.id.in_(list(document_ids)))
            .order_by(m.GeneratedDocument.id)
            .with_for_update()
        ).all()
        still = set(find_stale(session, older_than=older_than, now=now, transient=policy))
        taken: list[int] = []
        for row in rows:
            if row.id not in still:
                continue
            if row.status == DocumentStatus.FAILED:
                if not row.failed_transient:
                    continue
                row.auto_resends += 1
                row.error = None
                row.failed_transient = False
                row.finished_at = None
            elif row.status == DocumentStatus.DONE:
                continue
            row.status = DocumentStatus.PENDING
            row.lease_owner = None
            row.lease_expires_at = None
            taken.append(row.id)
        return taken


# -- end of leases' block ----------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """Counts per state and whether the batch has finished."""

    batch: m.Batch
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Documents the batch wants."""
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        """Documents done or failed."""
        return self.counts[DocumentStatus.DONE] + self.counts[DocumentStatus.FAILED]

    @property
    def is_complete(self) -> bool:
        """Whether no document is still on its way."""
        return self.finished == self.total


def batch_progress(session: Session, batch_id: int) -> BatchProgress:
    """The batch with its documents and a count per state."""
    batch = session.get(m.Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"batch {batch_id} not found")
    counter = Counter(d.status.value for d in batch.documents)
    return BatchProgress(
        batch=batch, counts={s.value: counter.get(s.value, 0) for s in DocumentStatus}
    )
