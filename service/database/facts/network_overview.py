"""Load the facts of a meeting's network overview: every organisation's scores in two rounds."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.records import meeting_facts, network_checklist_facts
from service.database.facts.shared import SharedFacts
from service.documents.network_overview import NetworkOverviewFacts, OrganisationScoresFacts
from service.errors import NotFoundError, RenderError


def _scores_by_organisation(
    session: Session, round_id: int | None
) -> dict[int, dict[str, int | None]]:
    """Each organisation's scores in a round (question ref -> value), in one query."""
    if round_id is None:
        return {}
    rows = session.execute(
        select(m.Score.organisation_id, m.ChecklistQuestion.ref, m.Score.value)
        .join(m.ChecklistQuestion, m.Score.question_id == m.ChecklistQuestion.id)
        .where(m.Score.round_id == round_id)
    ).all()
    scores: dict[int, dict[str, int | None]] = defaultdict(dict)
    for organisation_id, ref, value in rows:
        scores[organisation_id][ref] = value
    return scores


def load_network_overview_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> NetworkOverviewFacts:
    """The network's self-assessment for one meeting: its round and the latest one before it."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    if organisation_id is not None:
        raise RenderError("the network overview is made per meeting, not per organisation")
    network = meeting.network
    # The same rule as the deck's movement (records.rounds_for): the round held for this
    # meeting, and the latest round of an earlier meeting.
    rounds = session.execute(
        select(m.AssessmentRound, m.Meeting.date)
        .join(m.Meeting, m.AssessmentRound.meeting_id == m.Meeting.id)
        .where(m.AssessmentRound.network_id == meeting.network_id)
        .order_by(m.Meeting.date, m.AssessmentRound.id)
    ).all()
    current = next((r for r, _ in rounds if r.meeting_id == meeting.id), None)
    earlier = [r for r, date in rounds if date < meeting.date]
    previous = earlier[-1] if earlier else None
    before = _scores_by_organisation(session, previous.id if previous else None)
    after = _scores_by_organisation(session, current.id if current else None)
    organisations = session.scalars(
        select(m.Organisation)
        .where(m.Organisation.network_id == meeting.network_id)
        .order_by(m.Organisation.id)
    ).all()
    return NetworkOverviewFacts(
        network_name=network.name,
        meeting=meeting_facts(meeting),
        checklist=network_checklist_facts(session, network, shared),
        previous_label=previous.label if previous else None,
        current_label=current.label if current else None,
        organisations=tuple(
            OrganisationScoresFacts(
                name=org.name,
                programme_role=org.programme_role,
                previous=before.get(org.id),
                current=after.get(org.id),
            )
            for org in organisations
        ),
        anonymised=meeting.overview_anonymised,
    )
