"""Answers built from stamped tables, kept while the database's data revision stays put.

The organiser's submission status of a 300-organisation network costs ~15 ms of CPU to load
and serialise, and under 20 concurrent clients it is asked for many times between two
changes. Any committed write to a stamped table moves the data revision (triggers), so an
answer kept under the revision it was built at is the answer the database would give now.

Sound only for answers built from stamped tables alone, in a request that has written
nothing: the revision is read first, then the rows, so what is kept under a revision is at
least as new as that revision (a write committed in between makes a newer revision current,
which misses this entry). On PostgreSQL a transaction's own writes bump the revision only as
it commits, so a request that wrote first would read its old revision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy.orm import Session

from service.change_detection.stamps import data_revision


class RevisionCache:
    """A bounded, thread-safe map from (key, data revision) to an answer's bytes.

    One per API process. Without a revision to vouch for the data (no write yet, or a table
    lost its triggers) every call builds afresh.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[Hashable, tuple[str, int]], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, session: Session, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The answer for ``key`` at the session's data revision, built once per revision."""
        revision = data_revision(session)
        if revision is None:
            self.misses += 1
            return build()
        entry = (key, revision)
        with self._lock:
            kept = self._entries.get(entry)
            if kept is not None:
                self._entries.move_to_end(entry)
                self.hits += 1
                return kept
        self.misses += 1
        answer = build()
        with self._lock:
            self._entries[entry] = answer
            self._entries.move_to_end(entry)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return answer
