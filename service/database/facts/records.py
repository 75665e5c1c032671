"""Load the deck's facts from the database, and the helpers other loaders share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.database.facts.own_rows import (
    OwnInitiatives,
    network_organisation,
    own_facts,
    read_analyses,
    read_initiatives,
    read_plans,
    read_round_scores,
)
from service.database.facts.shared import SharedFacts, shared_or_built
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    DeckFacts,
    FilmFacts,
    MeetingFacts,
    PlanActivityFacts,
    RoundFacts,
)
from service.domain import deadlines
from service.domain.movement import QuestionRef, Scale
from service.errors import NotFoundError, RenderError


def upload_deadline(meeting: m.Meeting) -> dt.date:
    """The explicit override, or one week before the meeting."""
    return deadlines.upload_deadline(meeting.date, meeting.upload_deadline_override)


def meeting_facts(meeting: m.Meeting) -> MeetingFacts:
    """The display facts of a meeting."""
    return MeetingFacts(
        title=meeting.title,
        number=meeting.number,
        date=meeting.date,
        upload_deadline=upload_deadline(meeting),
        theme=meeting.theme,
        start_time=meeting.start_time,
        end_time=meeting.end_time,
        place=meeting.place,
        venue=meeting.venue,
        checklist_tab=meeting.checklist_tab,
        venue_address=meeting.venue_address,
        travel_directions=meeting.travel_directions,
        digital_link=meeting.digital_link,
        process_leader_name=meeting.process_leader_name,
        process_leader_email=meeting.process_leader_email,
        skr_contact_name=meeting.skr_contact_name,
        skr_contact_email=meeting.skr_contact_email,
        film_title=meeting.film_title,
        film_link=meeting.film_link,
    )


def checklist_facts(checklist: m.Checklist) -> ChecklistFacts:
    """A checklist's scale, areas and questions in order."""
    return ChecklistFacts(
        scale=Scale(checklist.scale_min, checklist.scale_max),
        areas=tuple(AreaFacts(a.ref, a.name) for a in checklist.areas),
        questions=tuple(QuestionRef(q.ref, a.ref) for a in checklist.areas for q in a.questions),
        question_texts={q.ref: q.text for a in checklist.areas for q in a.questions},
    )


def network_checklist_facts(
    session: Session, network: m.Network, shared: SharedFacts | None
) -> ChecklistFacts | None:
    """The network's checklist (kept by ``shared`` between documents: areas and questions are
    the same for every organisation, and were most of a deck's or letter's facts)."""
    checklist_id = network.checklist_id
    if checklist_id is None:
        return None
    return shared_or_built(
        shared,
        session,
        ("checklist", checklist_id),
        lambda: checklist_facts(session.get_one(m.Checklist, checklist_id)),
    )


@dataclass(frozen=True)
class HeldRound:
    """An assessment round of the network and the meeting it was held for, as plain values
    (the same for every document of the network: kept between them)."""

    id: int
    network_id: int
    checklist_id: int
    ref: str
    label: str
    assessed_on: dt.date | None
    meeting_id: int
    meeting_ref: str
    meeting_title: str
    meeting_date: dt.date


def held_rounds(
    session: Session, network_id: int, shared: SharedFacts | None = None
) -> tuple[HeldRound, ...]:
    """The network's rounds held for a meeting, by the meeting's date (then as entered); a
    round without a meeting has no place in time and is left out."""

    def read() -> tuple[HeldRound, ...]:
        rows = session.execute(
            select(m.AssessmentRound, m.Meeting.ref, m.Meeting.title, m.Meeting.date)
            .join(m.Meeting, m.AssessmentRound.meeting_id == m.Meeting.id)
            .where(m.AssessmentRound.network_id == network_id)
            .order_by(m.Meeting.date, m.AssessmentRound.id)
        ).all()
        return tuple(
            HeldRound(
                id=rnd.id,
                network_id=rnd.network_id,
                checklist_id=rnd.checklist_id,
                ref=rnd.ref,
                label=rnd.label,
                assessed_on=rnd.assessed_on,
                meeting_id=held_for,
                meeting_ref=ref,
                meeting_title=title,
                meeting_date=date,
            )
            for rnd, ref, title, date in rows
            for held_for in [rnd.meeting_id]
            if held_for is not None
        )

    return shared_or_built(shared, session, ("rounds", network_id), read)


def round_facts(
    session: Session,
    rnd: HeldRound | m.AssessmentRound,
    organisation_id: int,
    shared: SharedFacts | None = None,
) -> RoundFacts | None:
    """One organisation's scores and comments in a round; None if it has none."""
    own = own_facts(
        session,
        shared,
        ("scores", rnd.id),
        read_round_scores(rnd.id),
        network_id=rnd.network_id,
        organisation_id=organisation_id,
    )
    if own is None:
        return None
    return RoundFacts(label=rnd.label, scores=dict(own.scores), comments=dict(own.comments))


def rounds_for(
    session: Session,
    meeting: m.Meeting,
    organisation_id: int,
    shared: SharedFacts | None = None,
) -> tuple[RoundFacts | None, RoundFacts | None]:
    """The round held for this meeting, and the latest round before it."""
    rounds = held_rounds(session, meeting.network_id, shared)
    current = next((r for r in rounds if r.meeting_id == meeting.id), None)
    earlier = [r for r in rounds if r.meeting_date < meeting.date]
    previous = earlier[-1] if earlier else None
    return (
        round_facts(session, previous, organisation_id, shared) if previous else None,
        round_facts(session, current, organisation_id, shared) if current else None,
    )


def own_initiatives(
    session: Session, shared: SharedFacts | None, *, network_id: int, organisation_id: int
) -> OwnInitiatives:
    """An organisation's improvement initiatives and their indicators."""
    found = own_facts(
        session,
        shared,
        "initiatives",
        read_initiatives,
        network_id=network_id,
        organisation_id=organisation_id,
    )
    return found or OwnInitiatives()


def plan_facts(
    session: Session,
    shared: SharedFacts | None,
    *,
    network_id: int,
    organisation_id: int,
    meeting_id: int,
) -> tuple[PlanActivityFacts, ...]:
    """The activities of an organisation's continuation plan from a meeting, in order."""
    found = own_facts(
        session,
        shared,
        ("plans", meeting_id),
        read_plans(meeting_id),
        network_id=network_id,
        organisation_id=organisation_id,
    )
    return found or ()


def _next_meeting_facts(session: Session, meeting: m.Meeting) -> MeetingFacts | None:
    """The network's next meeting by date."""
    found = session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == meeting.network_id, m.Meeting.date > meeting.date)
        .order_by(m.Meeting.date)
        .limit(1)
    ).first()
    return meeting_facts(found) if found else None


def load_deck_facts(
    session: Session,
    *,
    meeting_id: int,
    organisation_id: int | None,
    shared: SharedFacts | None = None,
) -> DeckFacts:
    """Everything the presentation deck of one organisation for one meeting shows."""
    meeting = session.get(m.Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    if organisation_id is None:
        raise RenderError("the presentation deck is made per organisation")
    network_id = meeting.network_id
    org = network_organisation(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    network = meeting.network
    previous, current = rounds_for(session, meeting, organisation_id, shared)
    next_meeting = shared_or_built(
        shared, session, ("next meeting", meeting.id), lambda: _next_meeting_facts(session, meeting)
    )
    initiatives = own_initiatives(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    leadership = own_facts(
        session,
        shared,
        ("analyses", meeting_id),
        read_analyses(meeting_id),
        network_id=network_id,
        organisation_id=organisation_id,
    )
    return DeckFacts(
        network_name=network.name,
        organisation=org.facts,
        meeting=meeting_facts(meeting),
        checklist=network_checklist_facts(session, network, shared),
        previous_round=previous,
        current_round=current,
        initiatives=initiatives.initiatives,
        plan=plan_facts(
            session,
            shared,
            network_id=network_id,
            organisation_id=organisation_id,
            meeting_id=meeting_id,
        ),
        next_meeting=next_meeting,
        leadership=leadership,
        film=FilmFacts(title=meeting.film_title, link=meeting.film_link),
        indicators=initiatives.indicators,
    )
