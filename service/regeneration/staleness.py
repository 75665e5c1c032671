"""Mark documents stale when data they were made from changes (STUB: refined by regeneration)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.database import models as m


def mark_stale(session: Session, *, organisation_id: int, now: dt.datetime) -> int:
    """Mark every done document of the organisation stale; returns how many were marked."""
    doc = m.GeneratedDocument
    result = session.execute(
        update(doc)
        .where(doc.organisation_id == organisation_id, doc.status == m.DocumentStatus.DONE)
        .where(doc.stale_since.is_(None))
        .values(stale_since=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
