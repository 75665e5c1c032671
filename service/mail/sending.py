"""Sending one outbox message: claim it, compose it, hand it over, record what happened.

The claim is one conditional update (queued → sending, attempts + 1), so two workers given the
same message never both send it. Between the claim and the record of success the server may
take the message and the worker die; the message then stays ``sending`` until
``resend_stalled`` queues it again with the same Message-ID: at most one second delivery,
which mail programs recognise as the same message.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageState
from service.errors import DeliveryDeferredError, DeliveryRefusedError
from service.mail.outbox import blank_tokens, stalled_messages
from service.mail_content.composing import (
    AddressError,
    Attachment,
    OutgoingMessage,
    Sender,
    compose,
)
from service.mail_delivery.transport import MailTransport, transport_for
from service.settings import Settings
from service.storage.file_store import FileStore
from service.task_queue import MessageQueue

log = logging.getLogger(__name__)


class SendOutcome(enum.StrEnum):
    """What one attempt came to."""

    SENT = "sent"
    SKIPPED = "skipped"  # not queued any more (sent, held, cancelled, taken by another worker)
    FAILED = "failed"
    DEFERRED = "deferred"  # to be tried again later


@dataclass
class MailSender:
    """Sends outbox messages by id through one transport."""

    sessions: sessionmaker[Session]
    transport: MailTransport
    sender: Sender
    files: FileStore
    max_attempts: int

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sessions: sessionmaker[Session],
        files: FileStore,
        transport: MailTransport | None = None,
    ) -> MailSender:
        """A sender as the settings describe it (SMTP or the outbox folder, unless given)."""
        return cls(
            sessions=sessions,
            transport=transport if transport is not None else transport_for(settings),
            sender=Sender(from_address=settings.mail_from, reply_to=settings.mail_reply_to),
            files=files,
            max_attempts=settings.mail_max_attempts,
        )

    def send(self, message_id: int, *, now: dt.datetime) -> SendOutcome:
        """One attempt; raises DeliveryDeferredError when the caller should retry later."""
        now = now.astimezone(dt.UTC)  # stored as UTC (SQLite drops the zone)
        outgoing = self._claim(message_id, now=now)
        if outgoing is None:
            return SendOutcome.SKIPPED
        outgoing_message, attempts = outgoing
        try:
            mime = compose(outgoing_message, self.sender, date=now)
            where = self.transport.deliver(mime)
        except (AddressError, DeliveryRefusedError) as exc:
            self._finish(message_id, MessageState.FAILED, error=_swedish_reason(exc), now=now)
            return SendOutcome.FAILED
        except DeliveryDeferredError as exc:
            if attempts >= self.max_attempts:
                reason = f"gav upp efter {attempts} försök: {exc.swedish}"
                self._finish(message_id, MessageState.FAILED, error=reason, now=now)
                return SendOutcome.FAILED
            reason = f"försöker igen senare: {exc.swedish}"
            self._finish(message_id, MessageState.QUEUED, error=reason, now=now)
            raise
        except Exception as exc:
            # Bad data or a bug, not the server: fail once, loudly (the log has the trace),
            # instead of staying "sending" for resend_stalled to queue again and again.
            reason = f"oväntat fel när meddelandet skulle skickas ({type(exc).__name__})"
            self._finish(message_id, MessageState.FAILED, error=reason, now=now)
            raise
        self._finish(message_id, MessageState.SENT, error=None, now=now)
        log.info("message %s sent to %s", message_id, where)
        return SendOutcome.SENT

    def _claim(self, message_id: int, *, now: dt.datetime) -> tuple[OutgoingMessage, int] | None:
        with unit_of_work(self.sessions) as session:
            claimed = session.execute(
                update(m.OutboxMessage)
                .where(
                    m.OutboxMessage.id == message_id,
                    m.OutboxMessage.state == MessageState.QUEUED,
                )
                .values(
                    state=MessageState.SENDING,
                    attempts=m.OutboxMessage.attempts + 1,
                    sending_since=now,
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(claimed, "rowcount", 0):
                return None
            row = session.get_one(m.OutboxMessage, message_id)
            session.refresh(row)
            return self._outgoing(session, row), row.attempts

    def _outgoing(self, session: Session, row: m.OutboxMessage) -> OutgoingMessage:
        return outgoing_message(session, row, files=self.files)

    def _finish(
        self, message_id: int, state: MessageState, *, error: str | None, now: dt.datetime
    ) -> None:
        with unit_of_work(self.sessions) as session:
            row = session.get_one(m.OutboxMessage, message_id)
            row.state = state
            row.last_error = error[:2000] if error else None
            if state is MessageState.SENT:
                row.sent_at = now
                # The server has it; the stored copy no longer needs a live link.
                row.body_text = blank_tokens(row.body_text)
                row.body_html = blank_tokens(row.body_html)
            if state is MessageState.QUEUED:
                row.queued_at = now


def retry_delay(retries: int, *, first_seconds: float, resend_after_seconds: float) -> float:
    """Seconds before the next try of a deferred message: doubling from ``first_seconds``.

    Always under half of ``resend_after_seconds``: a deferred message waits ``queued``, and one
    waiting longer than that is taken for lost by ``resend_stalled``, which would queue it a
    second time and use up its attempts twice as fast.
    """
    return min(first_seconds * 2.0 ** min(retries, 32), resend_after_seconds / 2)


def outgoing_message(
    session: Session, row: m.OutboxMessage, *, files: FileStore
) -> OutgoingMessage:
    """Everything the outbox row says, as composing wants it (attachments read from the store).

    The sender and an organiser's ``.eml`` download compose the same message from it.
    """
    attachments = []
    for chosen in row.attachments:
        document = session.get(m.GeneratedDocument, int(chosen.get("document_id", 0)))
        if document is None or document.file_key is None:
            continue
        attachments.append(
            Attachment(
                file_name=document.file_name or f"dokument-{document.id}",
                content_type=document.content_type or "application/octet-stream",
                data=files.get(document.file_key),
            )
        )
    return OutgoingMessage(
        message_id=row.message_id,
        recipient_name=row.recipient_name,
        recipient_email=row.recipient_email,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        cc=tuple(row.cc),
        calendar=row.calendar.encode() if row.calendar else None,
        attachments=tuple(attachments),
        opt_out_url=row.opt_out_url,
    )


def resend_stalled(
    sessions: sessionmaker[Session],
    queue: MessageQueue,
    *,
    older_than: dt.timedelta,
    max_attempts: int,
    now: dt.datetime,
    queued_older_than: dt.timedelta | None = None,
) -> list[int]:
    """Queue again what a dead worker left sending, or a lost task left queued; their ids.

    A message whose worker died on each of its ``max_attempts`` attempts fails instead: it may
    be what kills them.
    """
    now = now.astimezone(dt.UTC)  # stored as UTC (SQLite drops the zone)
    with unit_of_work(sessions) as session:
        stalled = stalled_messages(
            session, older_than=older_than, now=now, queued_older_than=queued_older_than
        )
        ids = []
        for row in stalled:
            if row.state is MessageState.SENDING:
                if row.attempts >= max_attempts:
                    row.state = MessageState.FAILED
                    row.last_error = (
                        f"gav upp efter {row.attempts} försök: arbetaren som skickade försvann"
                    )
                    continue
                row.last_error = "skickas igen: arbetaren som skickade försvann"
            row.state = MessageState.QUEUED
            row.queued_at = now
            ids.append(row.id)
    for message_id in ids:
        queue.send_message(message_id)
    return ids


def send_inline(sender: MailSender, ids: list[int], *, now: dt.datetime) -> dict[SendOutcome, int]:
    """Send messages in this process, without a worker (the demo, an operator's command).

    A deferred delivery stays queued for the workers (or the next inline run) to try again.
    """
    outcomes = dict.fromkeys(SendOutcome, 0)
    for message_id in ids:
        try:
            outcomes[sender.send(message_id, now=now)] += 1
        except DeliveryDeferredError:
            outcomes[SendOutcome.DEFERRED] += 1
    return outcomes


def queue_messages(sessions: sessionmaker[Session], queue: MessageQueue, ids: list[int]) -> None:
    """Hand queued messages to the workers (after the transaction that queued them)."""
    with sessions() as session:
        queued = session.scalars(
            select(m.OutboxMessage.id).where(
                m.OutboxMessage.id.in_(ids), m.OutboxMessage.state == MessageState.QUEUED
            )
        ).all()
    for message_id in queued:
        queue.send_message(message_id)


def _swedish_reason(exc: Exception) -> str:
    if isinstance(exc, AddressError):
        shown = " ".join(exc.address.split())[:320]
        return f"”{shown}” är inte en e-postadress som går att skicka till"
    swedish = exc.swedish if isinstance(exc, DeliveryRefusedError) else str(exc)
    return f"e-postservern tog inte emot meddelandet: {swedish}"
