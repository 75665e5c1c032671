"""Load the facts of the organiser's meeting checklist from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.own_rows import person_facts
from service.database.facts.records import meeting_facts
from service.database.facts.shared import SharedFacts
from service.database.submission_status import load_submission_status
from service.documents.organiser_checklist import (
    ChecklistItemFacts,
    OrganisationStatusFacts,
    OrganiserChecklistFacts,
)
from service.domain.deadlines import SWEDISH_TIME
from service.domain.kinds import AttendanceStatus
from service.errors import NotFoundError, RenderError


def load_organiser_checklist_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> OrganiserChecklistFacts:
    """Everything the host's checklist for one meeting shows (made once per meeting)."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    if organisation_id is not None:
        raise RenderError("the organiser's checklist is made per meeting, not per organisation")
    network = meeting.network
    # One rule for "submitted" and "on time", shared with the status view.
    status = load_submission_status(session, meeting.id, timezone=SWEDISH_TIME)
    assessment_round = status.assessment_round
    next_meeting = session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == meeting.network_id, m.Meeting.date > meeting.date)
        .order_by(m.Meeting.date)
        .limit(1)
    ).first()
    mentors = dict.fromkeys(g.mentor.name for g in network.groups if g.mentor is not None)
    needs = _special_needs(session, meeting.id)
    return OrganiserChecklistFacts(
        network_name=network.name,
        meeting=meeting_facts(meeting),
        organiser=network.organiser,
        project_platform=network.project_platform,
        host_name=meeting.host.name if meeting.host else None,
        mentor_names=tuple(mentors),
        round_label=assessment_round.label if assessment_round else None,
        items=tuple(
            ChecklistItemFacts(
                phase=item.phase,
                text=item.text,
                done=item.done,
                due_date=item.due_date,
                responsible=item.responsible,
            )
            for item in meeting.organiser_checklist_items
        ),
        organisations=tuple(
            OrganisationStatusFacts(
                name=row.name,
                roles=tuple(p.role.value for p in row.organisation.participants),
                self_assessment_submitted=row.checklist.submitted,
                contact=person_facts(row.organisation.contact),
                presentation_uploaded_on=row.deck.local_date if row.deck else None,
                presentation_on_time=row.deck.on_time if row.deck else None,
                special_needs=needs.get(row.organisation.id, ()),
            )
            for row in status.organisations
        ),
        tracks_presentations=True,
        next_meeting=meeting_facts(next_meeting) if next_meeting else None,
    )


def _special_needs(session: Session, meeting_id: int) -> dict[int, tuple[tuple[str, str], ...]]:
    """Per organisation id, (name, need) of each participant of the meeting who stated one.

    Someone who sent their apologies (förhinder) needs nothing at the meeting; blank needs
    are no needs. Ordered by name, then participant id, so the slide reads the same each time.
    """
    rows = session.execute(
        select(m.Participant.organisation_id, m.Participant.name, m.Attendance.special_needs)
        .join(m.Participant, m.Attendance.participant_id == m.Participant.id)
        .where(
            m.Attendance.meeting_id == meeting_id,
            m.Attendance.status != AttendanceStatus.ABSENT,
            m.Attendance.special_needs.is_not(None),
        )
        .order_by(m.Participant.name, m.Participant.id)
    ).all()
    needs: dict[int, list[tuple[str, str]]] = {}
    for organisation_id, name, need in rows:
        if need and need.strip():
            needs.setdefault(organisation_id, []).append((name, need.strip()))
    return {organisation_id: tuple(found) for organisation_id, found in needs.items()}
