"""Work a request leaves for after its transaction has committed (FastAPI background tasks)."""

from __future__ import annotations

import logging

from service.errors import BenchdocsError
from service.mail.sending import queue_messages
from service.runtime import Runtime

log = logging.getLogger(__name__)


def queue_after_commit(runtime: Runtime, message_ids: list[int]) -> None:
    """Hand the queued ones of these messages to the workers (held ones stay).

    Runs after the commit, so a worker never looks for a message before it exists. A broker
    that is away leaves them queued in the database, and the resend task hands them over.
    """
    if not message_ids:
        return
    try:
        queue_messages(runtime.sessions, runtime.queue, message_ids)
    except BenchdocsError:
        log.exception("could not hand messages %s to the workers", message_ids)
