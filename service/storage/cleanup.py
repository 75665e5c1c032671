"""Files written inside a database transaction are removed if that transaction fails.

A row and its file are written together: the file first (inside the transaction), the row
committed after. If the commit fails, nothing would point to the file; it is removed when
the session rolls back. ``benchdocs storage check`` finds what a crash left anyway.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from service.storage.file_store import FileStore

log = logging.getLogger(__name__)
_WRITTEN = "benchdocs.files_written"
_LISTENING = "benchdocs.files_listening"


def remove_on_rollback(session: Session, files: FileStore, key: str) -> None:
    """Delete ``key`` from ``files`` if the session's transaction rolls back; keep it on commit."""
    written: list[tuple[FileStore, str]] = session.info.setdefault(_WRITTEN, [])
    written.append((files, key))
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _forget)
        event.listen(session, "after_rollback", _remove)


def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _remove(session: Session) -> None:
    for files, key in session.info.pop(_WRITTEN, []):
        try:
            files.delete(key)
            log.warning("removed %r: its transaction failed", key)
        except Exception:
            log.warning("could not remove %r after its transaction failed", key, exc_info=True)
