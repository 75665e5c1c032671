"""Deadlines that follow from a meeting's date (SKR's model: invite two weeks before,
presentations uploaded one week before)."""

from __future__ import annotations

import datetime as dt

UPLOAD_OFFSET = dt.timedelta(days=7)
INVITATION_LEAD = dt.timedelta(days=14)


def upload_deadline(date: dt.date, override: dt.date | None = None) -> dt.date:
    """When presentations must be uploaded: the override, or a week before the meeting."""
    return override or date - UPLOAD_OFFSET


def invitation_send_by(date: dt.date) -> dt.date:
    """When the invitation with agenda must go out: two weeks before the meeting."""
    return date - INVITATION_LEAD
