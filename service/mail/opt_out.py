"""Opting out of reminders by the link in a reminder (RFC 8058 one-click, or a page's button).

The link's key is 32 random characters, stored only as its sha256 on the reminder it came in.
Opting out twice is the same as once; an unknown or malformed key changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m

# secrets.token_urlsafe(24), as building makes them.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class OptedOut:
    """Who opted out, for the confirmation page."""

    participant_id: int
    participant_name: str
    already: bool  # they had opted out before


def opt_out_of_reminders(session: Session, key: str, *, now: dt.datetime) -> OptedOut | None:
    """Record that the reminder's recipient wants no more reminders; None for an unknown key."""
    if _KEY_SHAPE.fullmatch(key) is None:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    participant_id = session.scalar(
        select(m.OutboxMessage.participant_id).where(m.OutboxMessage.opt_out_sha256 == digest)
    )
    participant = session.get(m.Participant, participant_id) if participant_id else None
    if participant is None:
        return None
    already = (
        session.scalar(
            select(m.ReminderOptOut.id).where(m.ReminderOptOut.participant_id == participant.id)
        )
        is not None
    )
    if not already:
        try:
            with session.begin_nested():
                session.add(m.ReminderOptOut(participant_id=participant.id, opted_out_at=now))
        except IntegrityError:  # the same link, clicked twice at once
            already = True
    return OptedOut(participant.id, participant.name, already)
