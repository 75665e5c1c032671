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

from sqlalchemy import or_, select, update
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
from service.batches.template_snapshots import pin_batch_templates
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
from service.task_queue import DocumentQueue

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
    network_orgs = session.scalars(
        select(m.Organisation)
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
    pack_order = list(PACKS)
    ordered = sorted(wanted_kinds, key=lambda k: pack_order.index(k) + 1 if k in PACKS else 0)
    for kind in ordered:
        spec = output_spec(kind)
        targets: list[m.Organisation | None] = (
            list(organisations) if spec.per_organisation else [None]
        )
        for org in targets:
            for file_format in spec.formats(with_pdf=with_pdf):
                batch.documents.append(
                    pending_document(
                        kind=kind,
                        file_format=file_format,
                        meeting_id=meeting_id,
                        meeting_title=meeting.title,
                        organisation_id=org.id if org else None,
                        organisation_name=org.name if org else None,
                    )
                )
    session.flush()
    pin_batch_templates(session, batch)  # drills (issue 16 item 4): templates are snapshots
    return batch


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
        meeting_id=meeting_id,
        organisation_id=organisation_id,
        kind=kind,
        format=file_format,
        status=DocumentStatus.PENDING,
        file_name=output_spec(kind).file_name(
            meeting_title=meeting_title,
            organisation_name=organisation_name,
            file_format=file_format,
        ),
        content_type=CONTENT_TYPES[file_format],
    )


def dispatch(
    sessions: sessionmaker[Session], queue: DocumentQueue, document_ids: Sequence[int]
) -> int:
    """Hand documents to the queue of their step; returns how many the broker took.

    Office files and zips go to rendering, PDFs to conversion (``pdf_step``). A PDF whose
    Office sibling is still on its way stays pending: the sibling's worker hands it on once
    the Office file is stored. A PDF whose Office sibling failed is failed here, saying so.

    Each is marked queued before its message is sent, so a worker that starts at once never
    has its ``running`` overwritten; a row that moved since it was read (a worker took it, or
    handed it on) is left alone. If the broker is unreachable the document goes back to
    pending and sending stops: ``resend_stale`` (beat, or ``benchdocs resend``) picks it up.
    """
    routes = _routes(sessions, document_ids)
    to_send = [(document_id, routes[document_id]) for document_id in document_ids]
    sent = 0
    for position, (document_id, route) in enumerate(to_send):
        if route.step is None:
            continue
        if not _claim(sessions, document_id, was=route.status):
            continue
        try:
            if route.step == Step.PDF:
                queue.send_pdf(document_id)
            else:
                queue.send_render(document_id)
        except TransientError as exc:
            unsent = [d for d, r in to_send[position:] if r.step is not None]
            log.warning("broker unavailable, %d document(s) left pending: %s", len(unsent), exc)
            for document_id_left in unsent:
                _set_status(
                    sessions,
                    document_id_left,
                    DocumentStatus.PENDING,
                    only_if=DocumentStatus.QUEUED,
                )
            break
        sent += 1
    return sent


@dataclass(frozen=True)
class _Route:
    """Where dispatch sends a row (``step`` None: nowhere, it waits or has failed)."""

    status: DocumentStatus
    step: Step | None


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
                routes[row.id] = _Route(row.status, step_of(row.format))
    # An id that no longer exists (its batch deleted) is not sent: nobody wants it.
    return {d: routes.get(d, _Route(DocumentStatus.PENDING, None)) for d in document_ids}


def _claim(sessions: sessionmaker[Session], document_id: int, *, was: DocumentStatus) -> bool:
    """Mark a row queued if it is still as dispatch read it; whether it was."""
    doc = m.GeneratedDocument
    with unit_of_work(sessions) as session:
        result = session.execute(
            update(doc)
            .where(doc.id == document_id, doc.status == was)
            .values(status=DocumentStatus.QUEUED, enqueued_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _set_status(
    sessions: sessionmaker[Session],
    document_id: int,
    status: DocumentStatus,
    *,
    only_if: DocumentStatus | None,
) -> None:
    statement = update(m.GeneratedDocument).where(m.GeneratedDocument.id == document_id)
    if only_if is not None:
        statement = statement.where(m.GeneratedDocument.status == only_if)
    values: dict[str, object] = {"status": status}
    if status == DocumentStatus.QUEUED:
        values["enqueued_at"] = utcnow()
    with unit_of_work(sessions) as session:
        session.execute(statement.values(**values))


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


def find_stale(session: Session, *, older_than: dt.timedelta, now: dt.datetime) -> list[int]:
    """Documents the database still wants but that have not moved for too long.

    A PDF pending while its Office file is still on its way is not stray: it waits (the
    Office file's worker hands it on). Once its Office file is done and the hand-over was lost
    with a worker, it is found here like any other.
    """
    cutoff = now - older_than
    doc = m.GeneratedDocument
    return list(
        session.scalars(
            select(doc.id)
            .where(
                or_(
                    (doc.status == DocumentStatus.PENDING)
                    & (doc.created_at < cutoff)
                    & ~waits_for_office_file(),
                    (doc.status == DocumentStatus.QUEUED) & (doc.enqueued_at < cutoff),
                    (doc.status == DocumentStatus.RUNNING) & (doc.started_at < cutoff),
                )
            )
            .order_by(doc.id)
        )
    )


def resend_stale(
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
) -> list[int]:
    """Re-send every document stuck pending, queued or running; duplicates are harmless."""
    with sessions() as session:
        stale = find_stale(session, older_than=older_than, now=now)
    if stale:
        log.warning("re-sending %d stale documents: %s", len(stale), stale[:20])
        dispatch(sessions, queue, stale)
    return stale


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
