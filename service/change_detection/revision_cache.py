"""Values built from stamped tables, kept while the database's data revision stays put.

The organiser's submission status of a 300-organisation network costs ~15 ms of CPU to load
and serialise, and under 20 concurrent clients it is asked for many times between two
changes; a render worker read the whole network's delegations again for each of 300
organisation agendas. Any committed write to a stamped table moves the data revision
(triggers), so a value kept under the revision it was built at is the value the database
would give now.

Sound only for values built from stamped tables alone, in a transaction that has written
nothing: the revision is read first, then the rows, so what is kept under a revision is at
least as new as that revision (a write committed in between makes a newer revision current,
which misses this entry; in a snapshot, ``stamps.consistent_read``, it is exactly that
revision's). On PostgreSQL a transaction's own writes bump the revision only as it commits,
and on SQLite a rolled-back write's revision number is used again: a transaction that wrote
would keep a value under a revision that does not name it. Kept values are shared by every
caller: they must be immutable (frozen dataclasses, tuples, bytes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from service.change_detection.stamps import data_revision

Value = TypeVar("Value")


class RevisionCache(Generic[Value]):
    """A bounded, thread-safe map from (key, data revision) to a value.

    One per API process (answers' bytes) and per render worker (facts). Without a revision
    to vouch for the data (no write yet, or a table lost its triggers) every call builds
    afresh.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[Hashable, tuple[str, int]], Value] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def vouches(self, session: Session) -> bool:
        """Whether the session's data has a revision to keep values under."""
        return data_revision(session) is not None

    def get(self, session: Session, key: Hashable, build: Callable[[], Value]) -> Value:
        """The value for ``key`` at the session's data revision, built once per revision."""
        revision = data_revision(session)
        if revision is None:
            self.misses += 1
            return build()
        entry = (key, revision)
        with self._lock:
            if entry in self._entries:
                self._entries.move_to_end(entry)
                self.hits += 1
                return self._entries[entry]
        self.misses += 1
        value = build()
        with self._lock:
            self._entries[entry] = value
            self._entries.move_to_end(entry)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value
