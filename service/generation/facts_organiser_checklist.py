"""Load the facts of the organiser's meeting checklist from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.documents.organiser_checklist import (
    ChecklistItemFacts,
    OrganisationStatusFacts,
    OrganiserChecklistFacts,
)
from service.errors import NotFoundError, RenderError
from service.generation.facts_loader import meeting_facts, person_facts


def load_organiser_checklist_facts(
    session: Session, *, meeting_id: int, organisation_id: int | None
) -> OrganiserChecklistFacts:
    """Everything the host's checklist for one meeting shows (made once per meeting)."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    if organisation_id is not None:
        raise RenderError("the organiser's checklist is made per meeting, not per organisation")
    network = meeting.network
    organisations = session.scalars(
        select(m.Organisation)
        .where(m.Organisation.network_id == meeting.network_id)
        .order_by(m.Organisation.id)
    ).all()
    assessment_round = session.scalars(
        select(m.AssessmentRound)
        .where(m.AssessmentRound.meeting_id == meeting.id)
        .order_by(m.AssessmentRound.id)
        .limit(1)
    ).first()
    submitted: set[int] = set()
    if assessment_round is not None:
        submitted = set(
            session.scalars(
                select(m.Score.organisation_id)
                .where(m.Score.round_id == assessment_round.id)
                .distinct()
            ).all()
        )
    next_meeting = session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == meeting.network_id, m.Meeting.date > meeting.date)
        .order_by(m.Meeting.date)
        .limit(1)
    ).first()
    mentors = dict.fromkeys(g.mentor.name for g in network.groups if g.mentor is not None)
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
                name=org.name,
                roles=tuple(p.role.value for p in org.participants),
                self_assessment_submitted=org.id in submitted,
                contact=person_facts(org.contact),
            )
            for org in organisations
        ),
        next_meeting=meeting_facts(next_meeting) if next_meeting else None,
    )
