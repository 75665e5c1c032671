"""The one clock: every "now" in benchdocs is an aware UTC datetime from here.

Entry points hold a ``Clock`` (the system's in production) and pass ``now`` to the use cases,
so a test can stand time still or move it instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


def utcnow() -> dt.datetime:
    """The system's time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> dt.datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        """The current time, aware, in UTC."""
        return utcnow()
