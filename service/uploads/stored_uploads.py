"""Uploaded files as benchdocs keeps them: an Upload row and the bytes in the file store.

A row is flushed before its file is written and the file is written last in the transaction,
so a failed write rolls the row back and no row ever points at a missing file. (A commit that
fails after the write leaves an unreferenced file, never a dangling row.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from service.database import models as m
from service.domain.kinds import UploadKind
from service.errors import FileRejectedError, NotFoundError, Problem, RejectionReason
from service.file_safety.file_inspection import FileType, InspectedFile
from service.messages import Size, message
from service.storage.cleanup import remove_on_rollback
from service.storage.file_store import FileStore

# The content type follows from what inspection found, never from what the client claimed.
CONTENT_TYPES = {
    FileType.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileType.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileType.CSV: "text/csv",
}

MAX_FILE_NAME = 120
# Letters (åäö included), digits and a few separators; everything else becomes "_".
_UNSAFE = re.compile(r"[^\w .()\-]+")


def too_large(max_bytes: int) -> FileRejectedError:
    """The refusal of a file over the upload size limit before it is read (HTTP 413, exit 2).

    The API and the CLI refuse an oversized file from its declared or stat size, so the gate
    (which words its own refusal) never receives it.
    """
    text = message("upload.too_large", limit=Size(max_bytes))
    return FileRejectedError(RejectionReason.TOO_LARGE, [Problem.of("file", text)])


def safe_file_name(name: str | None, *, default: str) -> str:
    """A client's file name reduced to one harmless path segment, extension kept."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    if not base:
        return default
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[: MAX_FILE_NAME - len(suffix) - 1]}.{suffix}"
    return base[:MAX_FILE_NAME]


@dataclass(frozen=True)
class Uploader:
    """Who sent a file: the caller's label and, for a participant, the token used."""

    label: str
    access_token_id: int | None = None


def record_upload(
    session: Session,
    *,
    kind: UploadKind,
    organisation_id: int,
    inspected: InspectedFile,
    default_name: str,
    uploader: Uploader,
    now: dt.datetime,
    meeting_id: int | None = None,
    round_id: int | None = None,
) -> m.Upload:
    """Add the Upload row (flushed, so it has an id and key); the file is written by store."""
    file_name = safe_file_name(inspected.file_name, default=default_name)
    row = m.Upload(
        organisation_id=organisation_id,
        kind=kind,
        meeting_id=meeting_id,
        round_id=round_id,
        file_key="",
        file_name=file_name,
        content_type=CONTENT_TYPES[inspected.file_type],
        size_bytes=len(inspected.data),
        sha256=hashlib.sha256(inspected.data).hexdigest(),
        uploaded_at=now,
        uploaded_by=uploader.label[:300],
        access_token_id=uploader.access_token_id,
    )
    session.add(row)
    session.flush()
    row.file_key = f"uploads/organisations/{organisation_id}/{row.id}/{file_name}"
    session.flush()
    return row


def store_file(files: FileStore, row: m.Upload, data: bytes) -> None:
    """Write an upload's bytes under its key; call it last, inside the row's transaction.

    If the transaction then fails (its commit refused, an error after), the file is removed:
    no row would point to it (``remove_on_rollback``).
    """
    session = object_session(row)
    if session is not None:
        remove_on_rollback(session, files, row.file_key)
    files.put(row.file_key, data)


def list_uploads(
    session: Session, organisation_id: int, *, kind: UploadKind | None = None
) -> list[m.Upload]:
    """An organisation's uploads, newest first (earlier versions stay listed)."""
    if session.get(m.Organisation, organisation_id) is None:
        raise NotFoundError(
            f"organisation {organisation_id} not found",
            text=message("access.organisation_not_found", id=str(organisation_id)),
        )
    query = select(m.Upload).where(m.Upload.organisation_id == organisation_id)
    if kind is not None:
        query = query.where(m.Upload.kind == kind)
    return list(session.scalars(query.order_by(m.Upload.uploaded_at.desc(), m.Upload.id.desc())))


def get_upload(session: Session, upload_id: int) -> m.Upload:
    """One upload row, or NotFoundError."""
    row = session.get(m.Upload, upload_id)
    if row is None:
        raise NotFoundError(
            f"upload {upload_id} not found",
            text=message("access.upload_not_found", id=str(upload_id)),
        )
    return row
