"""Meetings with their agenda, and the organiser's checklist for each meeting."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import Problem
from service.intake.entities.fields import Id, NonNull, TextList
from service.intake.entities.store import get_entity, order_problem, save
from service.intake.programme_format import MeetingDetails, Record
from service.intake.text_rules import LongText, Ref, ShortText, Text100
from service.intake.vocabulary import ChecklistPhase


class AgendaItemCreate(Record):
    """One slot of a meeting's programme."""

    start_time: dt.time | None = None
    end_time: dt.time | None = None
    item: LongText
    responsible: ShortText | None = None
    format: ShortText | None = None


AgendaItems = Annotated[list[AgendaItemCreate], Field(max_length=200)]


class MeetingPatch(MeetingDetails):
    """Changes to a meeting; agenda items, when given, replace the whole agenda."""

    ref: NonNull[Ref] = None
    number: NonNull[Annotated[int, Field(ge=0, le=100)]] = None
    step_number: int | None = Field(default=None, ge=0, le=100)
    title: NonNull[ShortText] = None
    theme: ShortText | None = None
    date: NonNull[dt.date] = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    place: ShortText | None = None
    venue: ShortText | None = None
    host_organisation_id: Id | None = None
    upload_deadline_override: dt.date | None = None
    checklist_tab: Text100 | None = None
    presentation_template: ShortText | None = None
    goals: NonNull[TextList] = None
    preparations: NonNull[TextList] = None
    agenda_items: NonNull[AgendaItems] = None
    # The network overview calls the organisations "Organisation A, B, …" instead of naming them.
    overview_anonymised: NonNull[bool] = None


class MeetingCreate(MeetingPatch):
    """A new meeting of a network, with its agenda; without a ref, one is made from the title."""

    ref: Ref | None = None
    number: int = Field(ge=0, le=100)
    title: ShortText
    date: dt.date
    goals: TextList = Field(default_factory=list)
    preparations: TextList = Field(default_factory=list)
    agenda_items: AgendaItems = Field(default_factory=list)
    overview_anonymised: bool = False


class OrganiserChecklistItemPatch(Record):
    """Changes to an item of the organiser's checklist."""

    phase: NonNull[ChecklistPhase] = None
    text: NonNull[LongText] = None
    done: bool | None = None
    due_date: dt.date | None = None
    responsible: ShortText | None = None


class OrganiserChecklistItemCreate(OrganiserChecklistItemPatch):
    """A new item at the end of a meeting's organiser checklist."""

    phase: ChecklistPhase
    text: LongText


_MEETING_REFERENCES = {"host_organisation_id": m.Organisation}


def _meeting_rules(meeting: m.Meeting) -> list[Problem]:
    return order_problem(
        meeting.start_time,
        meeting.end_time,
        at="$.end_time",
        message="is not after start_time",
        strict=True,
    ) + order_problem(
        meeting.upload_deadline_override,
        meeting.date,
        at="$.upload_deadline_override",
        message="is after the meeting date",
    )


def _agenda(items: list[AgendaItemCreate]) -> list[m.AgendaItem]:
    return [m.AgendaItem(position=i, **item.model_dump()) for i, item in enumerate(items)]


def create_meeting(session: Session, network_id: int, data: MeetingCreate) -> m.Meeting:
    """Add a meeting, with its agenda, to a network."""
    network = get_entity(session, m.Network, network_id)
    return save(
        session,
        m.Meeting(network_id=network.id, agenda_items=_agenda(data.agenda_items)),
        data.model_dump(exclude={"agenda_items"}),
        network_id=network.id,
        references=_MEETING_REFERENCES,
        rules=_meeting_rules,
    )


def update_meeting(session: Session, meeting_id: int, changes: MeetingPatch) -> m.Meeting:
    """Change a meeting's fields; a given agenda replaces the old one."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    if changes.agenda_items is not None:
        meeting.agenda_items = _agenda(changes.agenda_items)
    return save(
        session,
        meeting,
        changes.model_dump(exclude_unset=True, exclude={"agenda_items"}),
        network_id=meeting.network_id,
        references=_MEETING_REFERENCES,
        rules=_meeting_rules,
    )


def add_organiser_checklist_item(
    session: Session, meeting_id: int, data: OrganiserChecklistItemCreate
) -> m.OrganiserChecklistItem:
    """Add an item at the end of a meeting's organiser checklist."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    last = max((item.position for item in meeting.organiser_checklist_items), default=-1)
    return save(
        session,
        m.OrganiserChecklistItem(meeting_id=meeting.id, position=last + 1),
        data.model_dump(),
        network_id=meeting.network_id,
    )


def update_organiser_checklist_item(
    session: Session, item_id: int, changes: OrganiserChecklistItemPatch
) -> m.OrganiserChecklistItem:
    """Change an item of an organiser checklist, such as ticking it off."""
    item = get_entity(session, m.OrganiserChecklistItem, item_id)
    return save(session, item, changes.model_dump(exclude_unset=True), network_id=None)
