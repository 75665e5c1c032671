"""A batch's finished files for an organiser: one at a time, or together as a zip.

A zip holds only documents that are done, each under a readable, unique Swedish name: the
whole batch has a folder per organisation and one for the meeting's shared documents; an
organisation's zip holds its own documents side by side. The zip is written while it is
sent (``stream_zip``): one file is in memory at a time, however large the batch.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from service.database import models as m
from service.database.versions import file_source
from service.documents.catalogue import safe_file_name
from service.domain.kinds import DocumentStatus
from service.errors import NotFoundError
from service.intake.entities import MAX_ID
from service.storage.file_store import FileStore

# The folder of a meeting's shared documents in the whole batch's zip.
MEETING_FOLDER = "Gemensamt för träffen"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipMember:
    """One file of a zip: its name inside, where it is stored, and when it was made."""

    name: str
    file_key: str
    made_at: dt.datetime | None


@dataclass(frozen=True)
class BatchZip:
    """What a zip of a batch holds, and the name it downloads as."""

    file_name: str
    members: list[ZipMember]


def _in_range(value: int) -> bool:
    # An id beyond the column's range is simply not there (PostgreSQL would refuse the query).
    return 1 <= value <= MAX_ID


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``… before its extension, whichever is free."""
    path = PurePosixPath(name)
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        stem = f"{path.stem} ({number}){path.suffix}"
        candidate = str(path.with_name(stem))
    taken.add(candidate.casefold())
    return candidate


def batch_zip(session: Session, batch_id: int, *, organisation_id: int | None = None) -> BatchZip:
    """The done documents of a batch (or of one of its organisations) as zip members.

    NotFoundError for a batch that does not exist, or an organisation without a document in
    it. A batch with nothing done yet gives an empty list (the caller decides what to say).
    """
    batch = session.get(m.Batch, batch_id) if _in_range(batch_id) else None
    if batch is None:
        raise NotFoundError(f"batch {batch_id} not found")
    documents = list(batch.documents)
    meeting_title = batch_meeting_title(session, batch)
    if organisation_id is not None:
        documents = [d for d in documents if d.organisation_id == organisation_id]
        if not documents:
            raise NotFoundError(f"organisation {organisation_id} has no document in batch")
        organisation = documents[0].organisation
        organisation_name = organisation.name if organisation else str(organisation_id)
        zip_name = safe_file_name(f"{meeting_title} - {organisation_name}")
    else:
        zip_name = safe_file_name(f"{meeting_title} - alla dokument")
    folders: dict[int | None, str] = {}
    taken_folders: set[str] = set()
    taken_names: set[str] = set()
    members = []
    ordered = sorted(
        documents,
        key=lambda d: (
            d.organisation_id is not None,
            d.organisation.name.casefold() if d.organisation else "",
            d.organisation_id or 0,
            d.id,
        ),
    )
    for doc in ordered:
        source = file_source(session, doc) if doc.status == DocumentStatus.DONE else None
        if source is None or source.file_key is None:
            continue
        file_name = safe_file_name(doc.file_name or source.file_name or f"dokument-{doc.id}")
        if organisation_id is None:
            if doc.organisation_id not in folders:
                folder = (
                    safe_file_name(doc.organisation.name)
                    if doc.organisation is not None
                    else MEETING_FOLDER
                )
                folders[doc.organisation_id] = _unique(folder, taken_folders)
            file_name = f"{folders[doc.organisation_id]}/{file_name}"
        members.append(
            ZipMember(
                name=_unique(file_name, taken_names),
                file_key=source.file_key,
                made_at=doc.finished_at,
            )
        )
    return BatchZip(file_name=f"{zip_name}.zip", members=members)


def batch_meeting_title(session: Session, batch: m.Batch) -> str:
    """The title of the meeting a batch is for."""
    meeting = session.get(m.Meeting, batch.meeting_id)
    return meeting.title if meeting is not None else f"Träff {batch.meeting_id}"


class _Sink:
    """A write-only stream that hands on what was written since it was last emptied."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        """Keep a written piece until it is taken."""
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the parts wait to be taken."""

    def close(self) -> None:
        """Nothing to close: the parts wait to be taken."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_time(moment: dt.datetime | None) -> tuple[int, int, int, int, int, int]:
    moment = moment or dt.datetime(2000, 1, 1)
    if moment.year < 1980:
        moment = dt.datetime(1980, 1, 1)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def stream_zip(members: Sequence[ZipMember], files: FileStore) -> Iterator[bytes]:
    """The zip of ``members``, in pieces as it is written: one stored file in memory at a time.

    A file missing from the store is left out (the zip is already on its way); the rest are
    written. The zip is written without seeking (sizes after each file), as streamed zips are.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            try:
                data = files.get(member.file_key)
            except NotFoundError:
                continue
            info = zipfile.ZipInfo(member.name, date_time=_zip_time(member.made_at))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
            del data
            piece = sink.take()
            for start in range(0, len(piece), _CHUNK):
                yield piece[start : start + _CHUNK]
    yield sink.take()
