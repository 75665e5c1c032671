"""The outbox: messages as records, and what an organiser may do with each.

A message is added once per purpose (a unique key such as ``invitation:m3:p17``): building the
same day's messages again finds them there and adds nothing. From then on its state says what
happens to it::

    held ──release──▶ queued ──(worker)──▶ sending ──▶ sent
      ▲                 │                     │
      └──────hold───────┘                     └──▶ failed ──send again──▶ queued

and ``cancelled`` from held, queued or failed. A message that is sending or sent cannot be
stopped: the server may already have it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import MessageKind, MessageState
from service.errors import ConflictError, NotFoundError
from service.intake.entities import MAX_ID

# What an organiser can do in each state (the pages and the CLI offer only these).
CAN_SEND = frozenset({MessageState.HELD, MessageState.FAILED})
CAN_HOLD = frozenset({MessageState.QUEUED})
CAN_CANCEL = frozenset({MessageState.HELD, MessageState.QUEUED, MessageState.FAILED})

# Tokens in personal links: blanked out of a message once the server has it.
_TOKEN_IN_TEXT = re.compile(r"bdt_[A-Za-z0-9_-]{43}")
SENT_TOKEN_MARK = "bdt_…"  # noqa: S105 (a mark, not a secret)

STATE_WORDS = {
    MessageState.HELD: "Väntar på dig",
    MessageState.QUEUED: "Köad",
    MessageState.SENDING: "Skickas",
    MessageState.SENT: "Skickad",
    MessageState.FAILED: "Misslyckades",
    MessageState.CANCELLED: "Stoppad",
}


@dataclass(frozen=True)
class MessageDraft:
    """A message ready to be recorded: built from a template for one recipient."""

    kind: MessageKind
    purpose: str
    meeting_id: int
    recipient_email: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    organisation_id: int | None = None
    participant_id: int | None = None
    recipient_name: str | None = None
    cc: Sequence[str] = ()
    calendar: str | None = None
    calendar_sequence: int | None = None
    calendar_digest: str | None = None
    token_id: int | None = None
    opt_out_url: str | None = None
    opt_out_sha256: str | None = None
    attachments: Sequence[dict[str, Any]] = field(default_factory=tuple)


def purpose_taken(session: Session, purpose: str) -> bool:
    """Whether a message for this purpose exists already (in any state)."""
    return (
        session.scalar(select(m.OutboxMessage.id).where(m.OutboxMessage.purpose == purpose))
        is not None
    )


def add_message(
    session: Session, draft: MessageDraft, *, hold: bool, by: str, now: dt.datetime
) -> m.OutboxMessage | None:
    """Record a message unless one with its purpose exists; None when it did.

    Runs in a savepoint, so a concurrent run that added the same purpose first (the unique key
    refuses the second) leaves the caller's transaction usable.
    """
    if purpose_taken(session, draft.purpose):
        return None
    row = m.OutboxMessage(
        kind=draft.kind,
        purpose=draft.purpose,
        meeting_id=draft.meeting_id,
        organisation_id=draft.organisation_id,
        participant_id=draft.participant_id,
        recipient_name=draft.recipient_name,
        recipient_email=draft.recipient_email,
        cc=list(draft.cc),
        subject=draft.subject,
        body_text=draft.body_text,
        body_html=draft.body_html,
        calendar=draft.calendar,
        calendar_sequence=draft.calendar_sequence,
        calendar_digest=draft.calendar_digest,
        attachments=list(draft.attachments),
        message_id=draft.message_id,
        state=MessageState.HELD if hold else MessageState.QUEUED,
        token_id=draft.token_id,
        opt_out_url=draft.opt_out_url,
        opt_out_sha256=draft.opt_out_sha256,
        created_at=now,
        created_by=by[:300],
        queued_at=None if hold else now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def get_message(session: Session, message_id: int) -> m.OutboxMessage:
    """One message by id; NotFoundError when there is none."""
    row = session.get(m.OutboxMessage, message_id) if 1 <= message_id <= MAX_ID else None
    if row is None:
        raise NotFoundError(f"message {message_id} not found")
    return row


def meeting_messages(
    session: Session,
    meeting_id: int,
    *,
    kind: MessageKind | None = None,
    state: MessageState | None = None,
) -> list[m.OutboxMessage]:
    """A meeting's messages, newest first, optionally of one kind or state."""
    query = select(m.OutboxMessage).where(m.OutboxMessage.meeting_id == meeting_id)
    if kind is not None:
        query = query.where(m.OutboxMessage.kind == kind)
    if state is not None:
        query = query.where(m.OutboxMessage.state == state)
    return list(session.scalars(query.order_by(m.OutboxMessage.id.desc())))


def release(session: Session, message_id: int, *, now: dt.datetime) -> m.OutboxMessage:
    """Send a held message, or a failed one again (same Message-ID); the caller queues it."""
    row = get_message(session, message_id)
    if row.state not in CAN_SEND:
        raise ConflictError(_refusal(row, "skickas"))
    row.state = MessageState.QUEUED
    row.queued_at = now
    if row.attempts and row.last_error:
        row.last_error = f"skickas igen; förra gången: {row.last_error}"[:2000]
    row.attempts = 0
    return row


def hold(session: Session, message_id: int) -> m.OutboxMessage:
    """Stop a queued message before a worker takes it; it waits until released."""
    return _move(session, message_id, CAN_HOLD, MessageState.HELD, what="hållas kvar")


def cancel(session: Session, message_id: int, *, now: dt.datetime) -> m.OutboxMessage:
    """Decide a message should never go; the personal link it would have carried is revoked."""
    row = _move(session, message_id, CAN_CANCEL, MessageState.CANCELLED, what="stoppas")
    revoke_unsent_links(session, [row.id], now=now)
    return row


def _move(
    session: Session,
    message_id: int,
    allowed: frozenset[MessageState],
    to: MessageState,
    *,
    what: str,
) -> m.OutboxMessage:
    """One conditional update, so a worker claiming the message at the same time wins or loses
    cleanly; ConflictError (in Swedish, saying why) when the state does not allow it."""
    row = get_message(session, message_id)
    result = session.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id == row.id, m.OutboxMessage.state.in_(allowed))
        .values(state=to)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    if not getattr(result, "rowcount", 0):
        raise ConflictError(_refusal(row, what))
    return row


def revoke_unsent_links(session: Session, message_ids: Sequence[int], *, now: dt.datetime) -> None:
    """Revoke the tokens of cancelled messages: a link nobody was sent must not stay open."""
    session.execute(
        update(m.AccessToken)
        .where(
            m.AccessToken.id.in_(
                select(m.OutboxMessage.token_id).where(
                    m.OutboxMessage.id.in_(message_ids),
                    m.OutboxMessage.state == MessageState.CANCELLED,
                    m.OutboxMessage.token_id.is_not(None),
                )
            ),
            m.AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


# Why an action is refused, by the message's state: "Meddelande 5 kan inte stoppas: det …".
_STATE_REASONS = {
    MessageState.HELD: "väntar redan på att du skickar det",
    MessageState.QUEUED: "ligger redan i kön för att skickas",
    MessageState.SENDING: "skickas just nu",
    MessageState.SENT: "är redan skickat",
    MessageState.FAILED: "har misslyckats; skicka det igen i stället",
    MessageState.CANCELLED: "är stoppat",
}


def _refusal(row: m.OutboxMessage, what: str) -> str:
    return f"Meddelande {row.id} kan inte {what}: det {_STATE_REASONS[MessageState(row.state)]}."


def blank_tokens(text: str) -> str:
    """The text with every personal-link token replaced by a mark."""
    return _TOKEN_IN_TEXT.sub(SENT_TOKEN_MARK, text)


def stalled_messages(
    session: Session,
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
    queued_older_than: dt.timedelta | None = None,
) -> list[m.OutboxMessage]:
    """Messages a worker took or was given but never finished: sending or queued too long.

    ``queued_older_than`` (default ``older_than``) may be longer: a queued message may only be
    waiting its turn behind a slow server, and sending its task again would only grow the queue.
    """
    cutoff = now - older_than
    queued_cutoff = now - (older_than if queued_older_than is None else queued_older_than)
    return list(
        session.scalars(
            select(m.OutboxMessage)
            .where(
                (
                    (m.OutboxMessage.state == MessageState.SENDING)
                    & (m.OutboxMessage.sending_since <= cutoff)
                )
                | (
                    (m.OutboxMessage.state == MessageState.QUEUED)
                    & (m.OutboxMessage.queued_at <= queued_cutoff)
                )
            )
            .order_by(m.OutboxMessage.id)
        )
    )
