"""An organisation's finished presentation for a meeting: kept as an upload, judged on time.

The deck is inspected (a real pptx, no macros, within the limits) and stored as it came; it is
not opened further here (the meeting pack converts it later, its external links cut). Every
version stays listed; the latest one counts, and the packs that gather it are marked stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.change_detection.staleness import mark_packs_stale
from service.database import models as m
from service.domain.deadlines import is_on_time, upload_deadline
from service.domain.kinds import UploadKind
from service.errors import NotFoundError
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.messages import message
from service.storage.file_store import FileStore
from service.uploads.stored_uploads import Uploader, record_upload, store_file

DEFAULT_FILE_NAME = "presentation.pptx"


@dataclass(frozen=True)
class DeckUploadResult:
    """The stored deck and how it stands against the meeting's upload deadline."""

    upload: m.Upload
    meeting: m.Meeting
    deadline: dt.date
    on_time: bool


def meeting_of_organisation(
    session: Session, organisation_id: int, meeting_id: int
) -> tuple[m.Organisation, m.Meeting]:
    """The organisation and a meeting of its network; any other meeting is not found (404)."""
    organisation = session.get(m.Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError(
            f"organisation {organisation_id} not found",
            text=message("access.organisation_not_found", id=str(organisation_id)),
        )
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None or meeting.network_id != organisation.network_id:
        raise NotFoundError(
            f"meeting {meeting_id} not found in {organisation.name}'s network",
            text=message(
                "access.meeting_not_found", id=str(meeting_id), organisation=organisation.name
            ),
        )
    return organisation, meeting


def upload_deck(
    session: Session,
    files: FileStore,
    *,
    organisation_id: int,
    meeting_id: int,
    data: bytes,
    file_name: str | None,
    uploader: Uploader,
    limits: UploadLimits,
    now: dt.datetime,
    timezone: str,
) -> DeckUploadResult:
    """Store an organisation's deck for a meeting; refused files store nothing."""
    organisation, meeting = meeting_of_organisation(session, organisation_id, meeting_id)
    # The gate refuses any type but the accepted one, so the file is now a plain pptx.
    inspected = inspect_upload(
        data, file_name=file_name or DEFAULT_FILE_NAME, accepted={FileType.PPTX}, limits=limits
    )
    upload = record_upload(
        session,
        kind=UploadKind.DECK,
        organisation_id=organisation.id,
        inspected=inspected,
        default_name=DEFAULT_FILE_NAME,
        uploader=uploader,
        now=now,
        meeting_id=meeting.id,
    )
    store_file(files, upload, inspected.data)
    mark_packs_stale(session, meeting_id=meeting.id, organisation_id=organisation.id, now=now)
    deadline = upload_deadline(meeting.date, meeting.upload_deadline_override)
    return DeckUploadResult(
        upload=upload,
        meeting=meeting,
        deadline=deadline,
        on_time=is_on_time(now, deadline, timezone),
    )
