"""Leases on running documents: who runs a document and until when, renewed while it runs.

A worker process that claims a document records itself (``host:pid``) and a deadline on the
row; a daemon thread renews the deadline of every document the process is running, every
third of the lease. A process that dies (or loses the database) stops renewing, its lease
lapses, and the periodic resend (``control.resend_stale``) sends the document again within
``lease_seconds`` plus one resend interval, whatever the broker's visibility timeout. The
attempt number stays the fencing token: a run whose lease lapsed but that comes back records
nothing (``render_job._claimed_row``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentStatus

log = logging.getLogger(__name__)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite hands them back naive)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def lease_owner() -> str:
    """This process's name on a lease: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str | None) -> bool:
    """Whether a lease's owner is a process of this host that no longer exists.

    A pool child killed on this host leaves its lease behind; a sibling need not wait for it
    to lapse. Owners on other hosts cannot be checked here: their lease decides.
    """
    if not owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LeaseKeeper:
    """Renews the leases of the documents this process runs, from a daemon thread.

    ``sweep``, when given, is called every ``sweep_seconds`` from the same thread: a worker
    process looks for lapsed leases itself, so a dead worker's documents come back even
    without beat.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease_seconds: float,
        sweep: Callable[[], object] | None = None,
        sweep_seconds: float = 15.0,
    ) -> None:
        self._sessions = sessions
        self.lease_seconds = lease_seconds
        self._sweep = sweep
        self._sweep_seconds = sweep_seconds
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def owner(self) -> str:
        """The name this process writes on its leases."""
        return lease_owner()

    def expiry(self, now: dt.datetime | None = None) -> dt.datetime:
        """The deadline of a lease taken or renewed now."""
        return (now or utcnow()) + dt.timedelta(seconds=self.lease_seconds)

    def hold(self, document_id: int, attempt: int) -> None:
        """Renew this document's lease (at ``attempt``) until ``release``."""
        with self._lock:
            self._held[document_id] = attempt
        self.start()

    def release(self, document_id: int) -> None:
        """Stop renewing a document's lease (its run ended, one way or another)."""
        with self._lock:
            self._held.pop(document_id, None)

    def held(self) -> dict[int, int]:
        """The documents whose leases this process renews, with their attempts."""
        with self._lock:
            return dict(self._held)

    def start(self) -> None:
        """Start the renewing thread in this process (again after a fork)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (tests, process shutdown); leases then lapse."""
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)
        self._thread = None

    def renew(self) -> int:
        """Extend every held lease now; rows no longer ours are forgotten. How many renewed."""
        held = self.held()
        if not held:
            return 0
        doc = m.GeneratedDocument
        owner = self.owner
        renewed = 0
        lost: list[int] = []
        with unit_of_work(self._sessions) as session:
            expires = self.expiry()
            for document_id, attempt in held.items():
                result = session.execute(
                    update(doc)
                    .where(
                        doc.id == document_id,
                        doc.attempts == attempt,
                        doc.status == DocumentStatus.RUNNING,
                        doc.lease_owner == owner,
                    )
                    .values(lease_expires_at=expires)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    renewed += 1
                else:
                    lost.append(document_id)
        with self._lock:
            for document_id in lost:
                if self._held.get(document_id) == held[document_id]:
                    del self._held[document_id]
        return renewed

    def _loop(self) -> None:
        every = self.lease_seconds / 3
        if self._sweep is not None:
            every = min(every, self._sweep_seconds)
        every = max(0.2, every)
        next_sweep = time.monotonic() + min(self._sweep_seconds, every)
        while not self._stop.wait(every):
            try:
                self.renew()
            except Exception:  # the database away: the lease lapses, logged
                log.warning("could not renew document leases", exc_info=True)
            if self._sweep is not None and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self._sweep_seconds
                try:
                    self._sweep()
                except Exception:  # the next sweep tries again
                    log.warning("could not look for lapsed leases", exc_info=True)
