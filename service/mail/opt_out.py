"""A participant's "no more reminders", by the key in a reminder's opt-out link.

The key is the capability: 24 random bytes, only its SHA-256 stored with the message. Whoever
holds the link may stop that participant's reminders (the participant, or a mail client
acting for them by RFC 8058's one-click POST); nothing else is needed, and nothing else is
told. Opting out also stops the participant's reminders that are built but not yet sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import MessageKind, MessageState
from service.mail.outbox import revoke_unsent_links

# What building makes (``secrets.token_urlsafe(24)``: 32 characters); anything else is unknown.
_KEY = re.compile(r"[A-Za-z0-9_-]{20,100}")
_NOT_SENT = (MessageState.HELD, MessageState.QUEUED)


@dataclass(frozen=True)
class OptOutTarget:
    """Whom a key stands for, as the confirmation page names them."""

    participant_id: int
    recipient_email: str
    network_name: str
    already: bool


def _message_for(session: Session, key: str) -> m.OutboxMessage | None:
    if not _KEY.fullmatch(key):
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    return session.scalar(
        select(m.OutboxMessage)
        .where(
            m.OutboxMessage.opt_out_sha256 == digest,
            m.OutboxMessage.kind == MessageKind.UPLOAD_REMINDER,
            m.OutboxMessage.participant_id.is_not(None),
        )
        .limit(1)
    )


def opt_out_target(session: Session, key: str) -> OptOutTarget | None:
    """Whom an opt-out key stands for; None for a key no reminder carried (or malformed)."""
    message = _message_for(session, key)
    if message is None or message.participant_id is None:
        return None
    network = session.scalar(
        select(m.Network.name)
        .join(m.Meeting, m.Meeting.network_id == m.Network.id)
        .where(m.Meeting.id == message.meeting_id)
    )
    already = (
        session.scalar(
            select(m.ReminderOptOut.id).where(
                m.ReminderOptOut.participant_id == message.participant_id
            )
        )
        is not None
    )
    return OptOutTarget(
        participant_id=message.participant_id,
        recipient_email=message.recipient_email,
        network_name=network or "",
        already=already,
    )


def opt_out(session: Session, key: str, *, now: dt.datetime) -> OptOutTarget | None:
    """Record the opt-out (once) and stop unsent reminders; None for an unknown key."""
    target = opt_out_target(session, key)
    if target is None:
        return None
    if not target.already:
        try:
            with session.begin_nested():
                session.add(
                    m.ReminderOptOut(participant_id=target.participant_id, opted_out_at=now)
                )
        except IntegrityError:
            pass  # a second click at the same moment recorded it first
    unsent = list(
        session.scalars(
            select(m.OutboxMessage.id).where(
                m.OutboxMessage.participant_id == target.participant_id,
                m.OutboxMessage.kind == MessageKind.UPLOAD_REMINDER,
                m.OutboxMessage.state.in_(_NOT_SENT),
            )
        )
    )
    session.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id.in_(unsent))
        .values(state=MessageState.CANCELLED, last_error="mottagaren har avslutat påminnelser")
        .execution_options(synchronize_session=False)
    )
    revoke_unsent_links(session, unsent, now=now)
    return target
