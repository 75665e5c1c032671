"""Facts a whole network's documents share, kept between documents by whoever can vouch for them.

A loader builds its network-wide part through ``SharedFacts.get``: the render worker passes
its cache keyed by the database's data revision (``change_detection.revision_cache``), read in
the document's snapshot, so 300 organisation agendas read the network's delegations once per
revision instead of 300 times. Without a cache (the CLI, previews, tests) every call builds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

Built = TypeVar("Built")


class SharedFacts(Protocol):
    """Keeps immutable facts under a key while the data they were read from stays put."""

    def get(self, session: Session, key: Hashable, build: Callable[[], Built]) -> Built:
        """The value for ``key`` as of the session's data, built when not kept."""
        ...

    def vouches(self, session: Session) -> bool:
        """Whether values are kept at the session's data (else ``get`` builds every time)."""
        ...


def shared_or_built(
    shared: SharedFacts | None, session: Session, key: Hashable, build: Callable[[], Built]
) -> Built:
    """``shared.get(...)``, or simply ``build()`` without a cache."""
    return build() if shared is None else shared.get(session, key, build)
