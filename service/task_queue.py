"""The one way documents are handed to workers: by task name, with ids only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Protocol, runtime_checkable

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]  # kombu has no types
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.errors import TransientError
from service.settings import Settings

log = logging.getLogger(__name__)

RENDER_TASK = "benchdocs.render_document"
# Several Office documents in one message (``Settings.render_chunk_documents``).
RENDER_MANY_TASK = "benchdocs.render_documents"
CONVERT_TASK = "benchdocs.convert_pdf"
RESEND_TASK = "benchdocs.resend_pending"
SEND_MESSAGE_TASK = "benchdocs.send_message"
RESEND_MESSAGES_TASK = "benchdocs.resend_stalled_messages"
MAIL_DAILY_TASK = "benchdocs.mail_daily"
# Queues by cost: Office rendering (milliseconds, no LibreOffice) and PDF conversion (a warm
# LibreOffice per process, a quarter of a second a file) are sized apart, so a PDF-heavy batch
# never holds back the next organiser's Office files. A PDF is a second task, sent once its
# Office file is stored (``service.batches.pdf_step``).
RENDER_QUEUE = "render"
PDF_QUEUE = "pdf"
# E-mail has its own queue, so a long PDF batch never holds back an invitation.
MAIL_QUEUE = "mail"
# Where every document went before the split. A worker that consumes ``render`` drains it too,
# so messages sent before an upgrade are not stranded; a PDF found there is handed on to
# ``pdf`` (``RenderJob.run``), so a render-only worker still never converts.
LEGACY_DOCUMENTS_QUEUE = "documents"
WORKER_QUEUES = (RENDER_QUEUE, PDF_QUEUE, MAIL_QUEUE)
_DOCUMENT_TASKS = {RENDER_QUEUE: RENDER_TASK, PDF_QUEUE: CONVERT_TASK}
# Messages per pipeline round trip (each one Redis command).
_PUBLISH_CHUNK = 200
# What an unreachable broker raises: kombu wraps errors while sending, a pipeline's flush not.
_BROKER_ERRORS = (OperationalError, OSError, RedisConnectionError, RedisTimeoutError)
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def consumed_queues(queues: Sequence[str]) -> list[str]:
    """The Celery queues a worker asked for ``queues`` consumes (``render`` brings the legacy
    ``documents`` queue along)."""
    consumed = list(dict.fromkeys(queues))
    if RENDER_QUEUE in consumed:
        consumed.append(LEGACY_DOCUMENTS_QUEUE)
    return consumed


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by the sender (API, CLI) and the worker."""
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
        },
        # No result backend: the database holds each document's truth.
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_seconds,
        "task_time_limit": settings.task_time_limit_seconds,
        # Beat's periodic tasks (resend, nightly planning) are cheap: they go with rendering.
        "task_default_queue": RENDER_QUEUE,
        "task_queues": [
            Queue(name)  # type: ignore[no-untyped-call]
            for name in (*WORKER_QUEUES, LEGACY_DOCUMENTS_QUEUE)
        ],
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "timezone": settings.regeneration_timezone,
    }


class DocumentQueue(Protocol):
    """Hands documents to workers: Office files and zips to rendering, PDFs to conversion."""

    def send_render(self, document_id: int) -> None: ...

    def send_pdf(self, document_id: int) -> None: ...


@runtime_checkable
class BulkDocumentQueue(DocumentQueue, Protocol):
    """A document queue that sends many messages in one go (one connection, one producer)."""

    def send_documents(
        self, messages: Sequence[tuple[str, int]], *, chunkable: AbstractSet[int] = frozenset()
    ) -> int:
        """Send ``(queue, document id)`` in order; how many the broker took (fewer than all
        when it became unreachable: the rest were not sent). Neighbouring documents in
        ``chunkable`` (Office files to render) may share a message."""
        ...


def group_documents(
    messages: Sequence[tuple[str, int]], chunkable: AbstractSet[int], size: int
) -> list[tuple[str, tuple[int, ...]]]:
    """``(queue, document ids)`` per message, in order: neighbouring render documents in
    ``chunkable`` up to ``size`` together, every other document alone."""
    grouped: list[tuple[str, tuple[int, ...]]] = []
    for queue, document_id in messages:
        if queue == RENDER_QUEUE and document_id in chunkable and grouped:
            last_queue, last_ids = grouped[-1]
            if last_queue == RENDER_QUEUE and last_ids[-1] in chunkable and len(last_ids) < size:
                grouped[-1] = (last_queue, (*last_ids, document_id))
                continue
        grouped.append((queue, (document_id,)))
    return grouped


class MessageQueue(Protocol):
    """Hands outbox messages to workers for sending."""

    def send_message(self, message_id: int) -> None: ...


class WorkQueue(DocumentQueue, MessageQueue, Protocol):
    """Hands documents and messages to workers (what an entry point's Runtime holds)."""


class CeleryDocumentQueue:
    """Sends render tasks through Celery by name, so senders never import worker code."""

    def __init__(self, settings: Settings) -> None:
        self._app = Celery("benchdocs-sender")
        self._app.conf.update(celery_config(settings))
        self._chunk_documents = settings.render_chunk_documents

    def send_render(self, document_id: int) -> None:
        """Queue one document for rendering; an unreachable broker is a TransientError."""
        self._send_document(RENDER_TASK, RENDER_QUEUE, document_id)

    def send_pdf(self, document_id: int) -> None:
        """Queue one PDF for conversion; an unreachable broker is a TransientError."""
        self._send_document(CONVERT_TASK, PDF_QUEUE, document_id)

    def send_documents(
        self, messages: Sequence[tuple[str, int]], *, chunkable: AbstractSet[int] = frozenset()
    ) -> int:
        """Send ``(queue, document id)`` in order through one producer, a chunk of messages
        per round trip (kombu's publish batch: a Redis pipeline), so a batch of a thousand
        documents costs a few round trips, not a thousand. Neighbouring render documents in
        ``chunkable`` go ``render_chunk_documents`` to a message (``RENDER_MANY_TASK``).

        Returns how many documents the broker took for certain (whole chunks of messages,
        in order); an unreachable broker stops the sending, and the rest count as unsent (a
        message of a broken chunk that did arrive is a harmless duplicate once the rest are
        re-sent)."""
        grouped = group_documents(messages, chunkable, self._chunk_documents)
        sent = 0
        try:
            with (
                self._app.producer_or_acquire() as producer,
                producer.batch(max_size=_PUBLISH_CHUNK) as batch,
            ):
                covered = 0
                for position, (queue, document_ids) in enumerate(grouped, start=1):
                    many = len(document_ids) > 1
                    self._app.send_task(
                        RENDER_MANY_TASK if many else _DOCUMENT_TASKS[queue],
                        args=[list(document_ids)] if many else [document_ids[0]],
                        queue=queue,
                        producer=producer,
                        retry_policy=_RETRY_POLICY,
                    )
                    covered += len(document_ids)
                    if position % _PUBLISH_CHUNK == 0:
                        batch.flush()
                        sent = covered
            sent = len(messages)
        except _BROKER_ERRORS as exc:
            log.warning("the broker took %d of %d documents: %s", sent, len(messages), exc)
        return sent

    def _send_document(self, task: str, queue: str, document_id: int) -> None:
        try:
            self._app.send_task(
                task,
                args=[document_id],
                queue=queue,
                retry_policy=_RETRY_POLICY,
            )
        except (OperationalError, OSError) as exc:
            raise TransientError(f"the broker did not take document {document_id}: {exc}") from exc

    def send_message(self, message_id: int) -> None:
        """Queue one outbox message by id; an unreachable broker is a TransientError."""
        try:
            self._app.send_task(
                SEND_MESSAGE_TASK,
                args=[message_id],
                queue=MAIL_QUEUE,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )
        except (OperationalError, OSError) as exc:
            raise TransientError(f"the broker did not take message {message_id}: {exc}") from exc

    def close(self) -> None:
        """Release broker connections."""
        self._app.close()
