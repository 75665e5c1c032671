"""Deadlines that follow from a meeting's date (SKR's model: invite two weeks before,
presentations uploaded one week before)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# The organisations are Swedish; deadlines are dates on their calendar.
SWEDISH_TIME = "Europe/Stockholm"

UPLOAD_OFFSET = dt.timedelta(days=7)
INVITATION_LEAD = dt.timedelta(days=14)


def upload_deadline(date: dt.date, override: dt.date | None = None) -> dt.date:
    """When presentations must be uploaded: the override, or a week before the meeting."""
    return override or date - UPLOAD_OFFSET


def invitation_send_by(date: dt.date) -> dt.date:
    """When the invitation with agenda must go out: two weeks before the meeting."""
    return date - INVITATION_LEAD


def local_date(moment: dt.datetime, timezone: str) -> dt.date:
    """The calendar date of a stored (UTC) time where the organisations are."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(timezone)).date()


def is_on_time(uploaded_at: dt.datetime, deadline: dt.date, timezone: str) -> bool:
    """Whether an upload arrived on or before the deadline's date, in local time."""
    return local_date(uploaded_at, timezone) <= deadline
