"""Who came to a meeting: one attendance row per participant and meeting.

The agenda's participant list and the summary to SKR use attendance once any is recorded for
the meeting (those registered or present; not those with förhinder), the roster before that.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import AttendanceStatus
from service.errors import NotFoundError
from service.intake.entities.store import get_entity
from service.intake.programme_format import Record
from service.intake.text_rules import LongText


class AttendanceEntry(Record):
    """One participant's attendance at a meeting and what they need to take part."""

    status: AttendanceStatus
    special_needs: LongText | None = None


def meeting_participant(
    session: Session, meeting_id: int, participant_id: int
) -> tuple[m.Meeting, m.Participant]:
    """The meeting and a participant of one of its network's organisations (else 404)."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    participant = get_entity(session, m.Participant, participant_id)
    organisation = session.get_one(m.Organisation, participant.organisation_id)
    if organisation.network_id != meeting.network_id:
        raise NotFoundError(
            f"participant {participant_id} does not take part in meeting {meeting_id}'s network"
        )
    return meeting, participant


def put_attendance(
    session: Session, meeting_id: int, participant_id: int, entry: AttendanceEntry
) -> m.Attendance:
    """Record (or change) a participant's attendance at a meeting."""
    meeting, participant = meeting_participant(session, meeting_id, participant_id)
    row = session.scalars(
        select(m.Attendance).where(
            m.Attendance.meeting_id == meeting.id, m.Attendance.participant_id == participant.id
        )
    ).first()
    if row is None:
        row = m.Attendance(meeting_id=meeting.id, participant_id=participant.id)
        session.add(row)
    row.status = entry.status
    special = (entry.special_needs or "").strip()
    row.special_needs = special or None
    session.flush()
    return row


def delete_attendance(session: Session, meeting_id: int, participant_id: int) -> None:
    """Forget a participant's attendance at a meeting (nothing happens if none is recorded)."""
    meeting, participant = meeting_participant(session, meeting_id, participant_id)
    row = session.scalars(
        select(m.Attendance).where(
            m.Attendance.meeting_id == meeting.id, m.Attendance.participant_id == participant.id
        )
    ).first()
    if row is not None:
        session.delete(row)
        session.flush()


def list_attendance(session: Session, meeting_id: int) -> list[m.Attendance]:
    """A meeting's attendance, by organisation and participant as entered."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    return list(
        session.scalars(
            select(m.Attendance)
            .join(m.Participant, m.Participant.id == m.Attendance.participant_id)
            .where(m.Attendance.meeting_id == meeting.id)
            .order_by(m.Participant.organisation_id, m.Participant.id)
        )
    )
