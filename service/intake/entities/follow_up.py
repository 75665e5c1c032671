"""What follows a meeting: leadership and culture analyses, continuation plans, feedback."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import InvalidInputError, NotFoundError, Problem
from service.intake.entities.fields import Id, NonNull, TextList
from service.intake.entities.store import Rules, entity_label, get_entity, reference_problems, save
from service.intake.programme_format import AnalysisFields, Record
from service.intake.text_rules import LongText, Ref, ShortText
from service.intake.vocabulary import ActivityStatus


class AnalysisReplace(AnalysisFields):
    """An organisation's leadership and culture analysis for a meeting, replaced as a whole."""


class PlanActivityCreate(Record):
    """One activity of a continuation plan."""

    activity: LongText
    owner_participant_id: Id | None = None
    deadline: dt.date | None = None
    follow_up: LongText | None = None
    status: ActivityStatus | None = None


class PlanReplace(Record):
    """An organisation's continuation plan for a meeting, replaced as a whole."""

    activities: list[PlanActivityCreate] = Field(default_factory=list, max_length=200)


class FeedbackPatch(Record):
    """Changes to a meeting's feedback."""

    author_organisation_id: Id | None = None
    sent_to: ShortText | None = None
    plus: NonNull[TextList] = None
    minus: NonNull[TextList] = None
    interesting: NonNull[TextList] = None
    ideas_per_organisation: NonNull[Annotated[dict[Ref, TextList], Field(max_length=2000)]] = None
    next_meeting_id: Id | None = None


class FeedbackCreate(FeedbackPatch):
    """The organiser's Plus – Minus – Intressant feedback after a meeting."""

    plus: TextList = Field(default_factory=list)
    minus: TextList = Field(default_factory=list)
    interesting: TextList = Field(default_factory=list)
    ideas_per_organisation: dict[Ref, TextList] = Field(default_factory=dict, max_length=2000)


_FEEDBACK_REFERENCES = {"author_organisation_id": m.Organisation, "next_meeting_id": m.Meeting}


def _feedback_rules(session: Session, network_id: int) -> Rules[m.MeetingFeedback]:
    def rules(feedback: m.MeetingFeedback) -> list[Problem]:
        known = set(
            session.scalars(
                select(m.Organisation.ref).where(m.Organisation.network_id == network_id)
            )
        )
        return [
            Problem(f"$.ideas_per_organisation.{ref}", f"unknown organisation ref {ref!r}")
            for ref in feedback.ideas_per_organisation
            if ref not in known
        ]

    return rules


def create_feedback(session: Session, meeting_id: int, data: FeedbackCreate) -> m.MeetingFeedback:
    """Record the organiser's feedback after a meeting."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    return save(
        session,
        m.MeetingFeedback(meeting_id=meeting.id),
        data.model_dump(),
        network_id=meeting.network_id,
        references=_FEEDBACK_REFERENCES,
        rules=_feedback_rules(session, meeting.network_id),
    )


def update_feedback(
    session: Session, feedback_id: int, changes: FeedbackPatch
) -> m.MeetingFeedback:
    """Change a meeting's feedback."""
    feedback = get_entity(session, m.MeetingFeedback, feedback_id)
    network_id = get_entity(session, m.Meeting, feedback.meeting_id).network_id
    return save(
        session,
        feedback,
        changes.model_dump(exclude_unset=True),
        network_id=network_id,
        references=_FEEDBACK_REFERENCES,
        rules=_feedback_rules(session, network_id),
    )


PerMeeting = TypeVar("PerMeeting", m.LeadershipCultureAnalysis, m.ContinuationPlan)


def get_for_meeting(
    session: Session, model: type[PerMeeting], organisation_id: int, meeting_id: int
) -> PerMeeting:
    """An organisation's analysis or plan for a meeting, or NotFoundError."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    found = _find_for_meeting(session, model, organisation, meeting)
    if found is None:
        raise NotFoundError(
            f"organisation {organisation.id} has no {entity_label(model)} for meeting {meeting.id}"
        )
    return found


def _organisation_and_meeting(
    session: Session, organisation_id: int, meeting_id: int
) -> tuple[m.Organisation, m.Meeting]:
    organisation = get_entity(session, m.Organisation, organisation_id)
    meeting = get_entity(session, m.Meeting, meeting_id)
    if organisation.network_id != meeting.network_id:
        raise NotFoundError(
            f"meeting {meeting.id} is not in the network of organisation {organisation.id}"
        )
    return organisation, meeting


def _find_for_meeting(
    session: Session, model: type[PerMeeting], organisation: m.Organisation, meeting: m.Meeting
) -> PerMeeting | None:
    query = select(model).filter_by(organisation_id=organisation.id, meeting_id=meeting.id)
    return session.scalars(query).one_or_none()


def put_analysis(
    session: Session, organisation_id: int, meeting_id: int, data: AnalysisReplace
) -> m.LeadershipCultureAnalysis:
    """Store an organisation's leadership and culture analysis for a meeting, replacing any."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    analysis = _find_for_meeting(
        session, m.LeadershipCultureAnalysis, organisation, meeting
    ) or m.LeadershipCultureAnalysis(organisation_id=organisation.id, meeting_id=meeting.id)
    return save(session, analysis, data.model_dump(), network_id=meeting.network_id)


def put_plan(
    session: Session, organisation_id: int, meeting_id: int, data: PlanReplace
) -> m.ContinuationPlan:
    """Store an organisation's continuation plan for a meeting, replacing any."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    problems = [
        problem
        for i, activity in enumerate(data.activities)
        for problem in reference_problems(
            session,
            activity.model_dump(),
            {"owner_participant_id": m.Participant},
            network_id=meeting.network_id,
            at=f"$.activities[{i}]",
        )
    ]
    if problems:
        raise InvalidInputError(problems)
    plan = _find_for_meeting(
        session, m.ContinuationPlan, organisation, meeting
    ) or m.ContinuationPlan(organisation_id=organisation.id, meeting_id=meeting.id)
    plan.activities = [
        m.PlanActivity(position=i, **activity.model_dump())
        for i, activity in enumerate(data.activities)
    ]
    return save(session, plan, {}, network_id=meeting.network_id)
