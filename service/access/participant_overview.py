"""What one organisation sees of its network's meetings: documents, deadlines, what it sent.

Per meeting of the organisation's network, newest first: its documents as the participant API
shows them (the latest version of each slot, grouped by kind with one file per format, each
with its earlier versions; feedback letters only once released), the upload deadline and the
meeting date, the round its checklist belongs to, and the checklists and decks it has sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access.visible_documents import Viewer, latest_visible, visible_versions
from service.database import models as m
from service.database.submission_status import meeting_round
from service.database.versions import NumberedDocument
from service.domain.deadlines import upload_deadline
from service.domain.kinds import DocumentKind, UploadKind
from service.errors import NotFoundError
from service.intake.entities import MAX_ID
from service.messages import message


@dataclass(frozen=True)
class DocumentFormat:
    """One format of a document: its latest version and the earlier ones, newest first."""

    latest: NumberedDocument
    earlier: tuple[NumberedDocument, ...]


@dataclass(frozen=True)
class DocumentEntry:
    """One document of a meeting, in each format it was made in (docx and pdf, say)."""

    kind: DocumentKind
    formats: tuple[DocumentFormat, ...]


@dataclass(frozen=True)
class MeetingOverview:
    """One meeting as the organisation sees it."""

    meeting: m.Meeting
    upload_deadline: dt.date
    assessment_round: m.AssessmentRound | None
    documents: tuple[DocumentEntry, ...]
    uploads: tuple[m.Upload, ...]  # newest first

    @property
    def checklist_uploads(self) -> tuple[m.Upload, ...]:
        """The filled checklists sent for this meeting's round, newest first."""
        return tuple(u for u in self.uploads if u.kind == UploadKind.CHECKLIST)

    @property
    def deck_uploads(self) -> tuple[m.Upload, ...]:
        """The finished presentations sent for this meeting, newest first."""
        return tuple(u for u in self.uploads if u.kind == UploadKind.DECK)


# The order documents are listed in: what to prepare first, then what comes after the meeting.
_KIND_ORDER = {
    kind: position
    for position, kind in enumerate(
        [
            DocumentKind.ORGANISATION_AGENDA,
            DocumentKind.AGENDA,
            DocumentKind.CHECKLIST,
            DocumentKind.DECK,
            DocumentKind.FEEDBACK_LETTER,
        ]
    )
}


def _organisation(session: Session, organisation_id: int) -> m.Organisation:
    organisation = session.get(m.Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError(
            f"organisation {organisation_id} not found",
            text=message("access.organisation_not_found", id=str(organisation_id)),
        )
    return organisation


def network_meeting(session: Session, organisation_id: int, meeting_id: int) -> m.Meeting:
    """A meeting of the organisation's network; any other is not found (as a wrong id)."""
    organisation = _organisation(session, organisation_id)
    meeting = session.get(m.Meeting, meeting_id) if 1 <= meeting_id <= MAX_ID else None
    if meeting is None or meeting.network_id != organisation.network_id:
        raise NotFoundError(
            f"meeting {meeting_id} not found in {organisation.name}'s network",
            text=message(
                "access.meeting_not_found", id=str(meeting_id), organisation=organisation.name
            ),
        )
    return meeting


def meeting_overview(session: Session, organisation_id: int, meeting: m.Meeting) -> MeetingOverview:
    """One meeting's documents, deadline, round and uploads for the organisation."""
    viewer = Viewer(organisation_id=organisation_id)
    by_kind: dict[DocumentKind, list[DocumentFormat]] = {}
    for item in latest_visible(session, viewer, meeting_id=meeting.id):
        _, versions = visible_versions(session, viewer, item.document.id)
        earlier = tuple(v for v in versions if v.version < item.version)
        by_kind.setdefault(item.document.kind, []).append(DocumentFormat(item, earlier))
    documents = tuple(
        DocumentEntry(kind, tuple(sorted(formats, key=lambda f: f.latest.document.format)))
        for kind, formats in sorted(
            by_kind.items(), key=lambda pair: (_KIND_ORDER.get(pair[0], 99), pair[0].value)
        )
    )
    uploads = session.scalars(
        select(m.Upload)
        .where(m.Upload.organisation_id == organisation_id, m.Upload.meeting_id == meeting.id)
        .order_by(m.Upload.uploaded_at.desc(), m.Upload.id.desc())
    ).all()
    return MeetingOverview(
        meeting=meeting,
        upload_deadline=upload_deadline(meeting.date, meeting.upload_deadline_override),
        assessment_round=meeting_round(session, meeting.id),
        documents=documents,
        uploads=tuple(uploads),
    )


def participant_overview(
    session: Session, organisation_id: int
) -> tuple[m.Organisation, list[MeetingOverview]]:
    """The organisation and every meeting of its network, newest first."""
    organisation = _organisation(session, organisation_id)
    meetings = session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == organisation.network_id)
        .order_by(m.Meeting.date.desc(), m.Meeting.id.desc())
    ).all()
    return organisation, [meeting_overview(session, organisation.id, mt) for mt in meetings]
