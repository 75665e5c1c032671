"""Load the deck's facts from the database, and the helpers other loaders share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.database import models as m
from service.database.facts.shared import SharedFacts, shared_or_built
from service.documents.facts import (
    AreaFacts,
    ChecklistFacts,
    DeckFacts,
    FilmFacts,
    IndicatorFacts,
    InitiativeFacts,
    LeadershipFacts,
    MeasurementFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
    RoundFacts,
)
from service.domain import deadlines
from service.domain.movement import QuestionRef, Scale
from service.errors import NotFoundError, RenderError


def upload_deadline(meeting: m.Meeting) -> dt.date:
    """The explicit override, or one week before the meeting."""
    return deadlines.upload_deadline(meeting.date, meeting.upload_deadline_override)


def person_facts(p: m.Participant | None) -> PersonFacts | None:
    """A participant as documents show them."""
    if p is None:
        return None
    return PersonFacts(name=p.name, role=p.role.value, title=p.title, email=p.email)


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


def round_facts(
    session: Session, rnd: m.AssessmentRound, organisation_id: int
) -> RoundFacts | None:
    """One organisation's scores and comments in a round; None if it has none."""
    rows = session.execute(
        select(m.ChecklistQuestion.ref, m.Score.value, m.Score.comment)
        .join(m.Score, m.Score.question_id == m.ChecklistQuestion.id)
        .where(m.Score.round_id == rnd.id, m.Score.organisation_id == organisation_id)
    ).all()
    if not rows:
        return None
    return RoundFacts(
        label=rnd.label,
        scores={ref: value for ref, value, _ in rows},
        comments={ref: comment for ref, _, comment in rows if comment},
    )


def rounds_for(
    session: Session, meeting: m.Meeting, organisation_id: int
) -> tuple[RoundFacts | None, RoundFacts | None]:
    """The round held for this meeting, and the latest round before it."""
    rounds = session.execute(
        select(m.AssessmentRound, m.Meeting.date)
        .join(m.Meeting, m.AssessmentRound.meeting_id == m.Meeting.id)
        .where(m.AssessmentRound.network_id == meeting.network_id)
        .order_by(m.Meeting.date)
    ).all()
    current = next((r for r, _ in rounds if r.meeting_id == meeting.id), None)
    earlier = [r for r, date in rounds if date < meeting.date]
    previous = earlier[-1] if earlier else None
    return (
        round_facts(session, previous, organisation_id) if previous else None,
        round_facts(session, current, organisation_id) if current else None,
    )


def _baseline_and_latest(
    indicator: m.Indicator,
) -> tuple[MeasurementFacts | None, MeasurementFacts | None]:
    """An indicator's baseline and its latest other measurement (measurements are by date)."""
    baseline = latest = None
    for x in indicator.measurements:
        facts = MeasurementFacts(x.date, x.value_total, x.value_women, x.value_men)
        if x.is_baseline:
            baseline = facts
        else:
            latest = facts
    return baseline, latest


def indicator_facts(i: m.ImprovementInitiative) -> tuple[IndicatorFacts, ...]:
    """Every indicator of an initiative with its baseline and latest measurement."""
    return tuple(
        IndicatorFacts(
            initiative_title=i.title,
            name=indicator.name,
            unit=indicator.unit,
            population=indicator.population.value,
            baseline=baseline,
            latest=latest,
        )
        for indicator in i.indicators
        for baseline, latest in [_baseline_and_latest(indicator)]
    )


def organisation_initiatives(
    session: Session, organisation_id: int
) -> Sequence[m.ImprovementInitiative]:
    """An organisation's improvement initiatives in order, with their indicators and those
    measurements: three queries however many there are (not one per initiative and
    indicator, as lazy loading would)."""
    return session.scalars(
        select(m.ImprovementInitiative)
        .where(m.ImprovementInitiative.organisation_id == organisation_id)
        .order_by(m.ImprovementInitiative.id)
        .options(
            selectinload(m.ImprovementInitiative.indicators).selectinload(m.Indicator.measurements)
        )
    ).all()


def initiative_facts(i: m.ImprovementInitiative) -> InitiativeFacts:
    """An improvement initiative with its first indicator's baseline and latest value."""
    indicator = i.indicators[0] if i.indicators else None
    baseline, latest = _baseline_and_latest(indicator) if indicator else (None, None)
    return InitiativeFacts(
        title=i.title,
        level=i.level,
        verksamhet=i.verksamhet,
        status=i.status,
        pdsa_phase=i.pdsa_phase,
        problem=i.problem,
        action=i.action,
        results=i.results,
        owner=person_facts(i.owner),
        indicator_name=indicator.name if indicator else None,
        indicator_unit=indicator.unit if indicator else None,
        indicator_population=indicator.population.value if indicator else "kvinnor_män",
        baseline=baseline,
        latest=latest,
        transferable=i.transferable,
        transfer_to=tuple(i.transfer_to or ()),
    )


def organisation_facts(org: m.Organisation) -> OrganisationFacts:
    """An organisation with its group, mentor, contact and delegation."""
    group = org.group
    # The delegation first: its contact is one of them, then found without a query of its own.
    delegation = tuple(p for p in map(person_facts, org.participants) if p is not None)
    return OrganisationFacts(
        name=org.name,
        type=org.type,
        county=org.county,
        programme_role=org.programme_role,
        group_name=group.name if group else None,
        mentor_name=group.mentor.name if group and group.mentor else None,
        political_decision_kind=org.political_decision_kind,
        political_decision_year=org.political_decision_year,
        contact=person_facts(org.contact),
        delegation=delegation,
    )


def plan_facts(
    session: Session, *, organisation_id: int, meeting_id: int
) -> tuple[PlanActivityFacts, ...]:
    """The activities of an organisation's continuation plan from a meeting, in order."""
    plan = session.scalars(
        select(m.ContinuationPlan).where(
            m.ContinuationPlan.organisation_id == organisation_id,
            m.ContinuationPlan.meeting_id == meeting_id,
        )
    ).first()
    return tuple(
        PlanActivityFacts(
            activity=a.activity,
            owner=person_facts(a.owner),
            deadline=a.deadline,
            follow_up=a.follow_up,
            status=a.status,
        )
        for a in (plan.activities if plan else [])
    )


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
    org = session.get(m.Organisation, organisation_id)
    if org is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
    network = meeting.network
    previous, current = rounds_for(session, meeting, organisation_id)
    next_meeting = session.scalars(
        select(m.Meeting)
        .where(m.Meeting.network_id == meeting.network_id, m.Meeting.date > meeting.date)
        .order_by(m.Meeting.date)
        .limit(1)
    ).first()
    initiatives = organisation_initiatives(session, organisation_id)
    analysis = session.scalars(
        select(m.LeadershipCultureAnalysis).where(
            m.LeadershipCultureAnalysis.organisation_id == organisation_id,
            m.LeadershipCultureAnalysis.meeting_id == meeting_id,
        )
    ).first()
    leadership = (
        LeadershipFacts(
            strengths=analysis.strengths,
            obstacles=analysis.obstacles,
            culture_observations=analysis.culture_observations,
            film_reflection=analysis.film_reflection,
            actions=analysis.actions,
        )
        if analysis
        else None
    )
    return DeckFacts(
        network_name=network.name,
        organisation=organisation_facts(org),
        meeting=meeting_facts(meeting),
        checklist=network_checklist_facts(session, network, shared),
        previous_round=previous,
        current_round=current,
        initiatives=tuple(initiative_facts(i) for i in initiatives),
        plan=plan_facts(session, organisation_id=organisation_id, meeting_id=meeting_id),
        next_meeting=meeting_facts(next_meeting) if next_meeting else None,
        leadership=leadership,
        film=FilmFacts(title=meeting.film_title, link=meeting.film_link),
        indicators=tuple(x for i in initiatives for x in indicator_facts(i)),
    )
