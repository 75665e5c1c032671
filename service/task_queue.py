"""The one way documents are handed to workers: by task name, with ids only."""

from __future__ import annotations

from typing import Any, Protocol

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]  # kombu has no types
from kombu.exceptions import OperationalError

from service.errors import TransientError
from service.settings import Settings

RENDER_TASK = "benchdocs.render_document"
RESEND_TASK = "benchdocs.resend_pending"
SEND_MESSAGE_TASK = "benchdocs.send_message"
RESEND_MESSAGES_TASK = "benchdocs.resend_stalled_messages"
MAIL_DAILY_TASK = "benchdocs.mail_daily"
DOCUMENTS_QUEUE = "documents"
# E-mail has its own queue, so a long PDF batch never holds back an invitation; every worker
# consumes both unless told otherwise (-Q).
MAIL_QUEUE = "mail"


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
        "task_default_queue": DOCUMENTS_QUEUE,
        "task_queues": [
            Queue(DOCUMENTS_QUEUE),  # type: ignore[no-untyped-call]
            Queue(MAIL_QUEUE),  # type: ignore[no-untyped-call]
        ],
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "timezone": settings.regeneration_timezone,
    }


class DocumentQueue(Protocol):
    """Hands documents to workers."""

    def send_render(self, document_id: int) -> None: ...


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

    def send_render(self, document_id: int) -> None:
        """Queue one document by id; an unreachable broker is a TransientError."""
        try:
            self._app.send_task(
                RENDER_TASK,
                args=[document_id],
                queue=DOCUMENTS_QUEUE,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
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
