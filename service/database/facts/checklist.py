"""Load the facts of one organisation's self-assessment checklist workbook from the database."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.own_rows import network_organisation
from service.database.facts.records import (
    HeldRound,
    checklist_facts,
    held_rounds,
    meeting_facts,
    round_facts,
)
from service.database.facts.shared import SharedFacts, shared_or_built
from service.database.session import participant_url
from service.documents.checklist import ChecklistDocFacts, ChecklistRoundFacts
from service.documents.facts import OrganisationFacts
from service.errors import NotFoundError, RenderError


def load_checklist_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> ChecklistDocFacts:
    """The checklist of one organisation: the round of this meeting to fill in, earlier ones.

    Earlier rounds are the network's rounds of the same checklist held for meetings before this
    one, oldest first; a round without a meeting has no place in time and is left out.
    """
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    if organisation_id is None:
        raise RenderError("the checklist is made per organisation")
    org = network_organisation(
        session, shared, network_id=meeting.network_id, organisation_id=organisation_id
    )
    network = meeting.network
    checklist = network.checklist
    if checklist is None:
        raise RenderError(f"network {network.name!r} has no checklist")
    rounds = [r for r in held_rounds(session, network.id, shared) if r.checklist_id == checklist.id]
    earlier = tuple(
        _round_facts(session, rnd, organisation_id, shared)
        for rnd in rounds
        if rnd.meeting_date < meeting.date
    )
    current_round = next((rnd for rnd in rounds if rnd.meeting_id == meeting.id), None)
    if current_round is not None:
        current = _round_facts(session, current_round, organisation_id, shared)
    else:
        current = ChecklistRoundFacts(
            label=meeting.checklist_tab or meeting.title,
            meeting_ref=meeting.ref,
            meeting_title=meeting.title,
            meeting_date=meeting.date,
        )
    labels = {}
    for key, label in (checklist.scale_labels or {}).items():
        if str(key).lstrip("-").isdigit():
            labels[int(key)] = str(label)
    return ChecklistDocFacts(
        network_name=network.name,
        project_platform=network.project_platform,
        organisation=OrganisationFacts(
            name=org.facts.name,
            type=org.facts.type,
            county=org.facts.county,
            programme_role=org.facts.programme_role,
            delegation=org.facts.delegation,
        ),
        organisation_ref=org.ref,
        meeting=meeting_facts(meeting),
        meeting_ref=meeting.ref,
        checklist=shared_or_built(
            shared, session, ("checklist", checklist.id), lambda: checklist_facts(checklist)
        ),
        checklist_title=checklist.title,
        scale_labels=labels,
        earlier_rounds=earlier,
        current_round=current,
        participant_url=participant_url(session),
    )


def _round_facts(
    session: Session, rnd: HeldRound, organisation_id: int, shared: SharedFacts | None
) -> ChecklistRoundFacts:
    """A round with this organisation's scores; no scores at all gives an empty round."""
    scored = round_facts(session, rnd, organisation_id, shared)
    return ChecklistRoundFacts(
        label=rnd.label,
        ref=rnd.ref,
        meeting_ref=rnd.meeting_ref,
        meeting_title=rnd.meeting_title,
        meeting_date=rnd.meeting_date,
        assessed_on=rnd.assessed_on,
        scores=dict(scored.scores) if scored else {},
        comments=dict(scored.comments) if scored else {},
    )
