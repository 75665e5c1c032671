"""Meetings, the organiser's feedback after them and the organiser's checklist for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.dependencies import SessionDep
from service.api.schemas import (
    FeedbackOut,
    MeetingOut,
    OrganiserChecklistItemOut,
    OrganiserChecklistQuery,
    Page,
    PageQuery,
    RefQuery,
    page_of,
)
from service.database import models as m
from service.intake import entities
from service.intake.entities import (
    FeedbackCreate,
    FeedbackPatch,
    MeetingCreate,
    MeetingPatch,
    OrganiserChecklistItemCreate,
    OrganiserChecklistItemPatch,
)

router = APIRouter(tags=["meetings"])


@router.post("/networks/{network_id}/meetings", status_code=status.HTTP_201_CREATED)
def create_meeting(network_id: int, data: MeetingCreate, session: SessionDep) -> MeetingOut:
    """Add a meeting with its agenda; without a ref, one is made from the title."""
    return MeetingOut.model_validate(entities.create_meeting(session, network_id, data))


@router.get("/networks/{network_id}/meetings")
def list_meetings(
    network_id: int, session: SessionDep, query: Annotated[RefQuery, Query()]
) -> Page[MeetingOut]:
    """The meetings of a network."""
    within = (m.Network, network_id)
    return page_of(MeetingOut, entities.list_entities(session, m.Meeting, query, within=within))


@router.get("/meetings/{meeting_id}")
def read_meeting(meeting_id: int, session: SessionDep) -> MeetingOut:
    """One meeting, with its agenda, upload deadline and invitation date."""
    return MeetingOut.model_validate(entities.get_entity(session, m.Meeting, meeting_id))


@router.patch("/meetings/{meeting_id}")
def update_meeting(meeting_id: int, changes: MeetingPatch, session: SessionDep) -> MeetingOut:
    """Change a meeting; a given agenda replaces the whole agenda."""
    return MeetingOut.model_validate(entities.update_meeting(session, meeting_id, changes))


@router.post("/meetings/{meeting_id}/feedback", status_code=status.HTTP_201_CREATED)
def create_feedback(meeting_id: int, data: FeedbackCreate, session: SessionDep) -> FeedbackOut:
    """Record the organiser's Plus – Minus – Intressant feedback after a meeting."""
    return FeedbackOut.model_validate(entities.create_feedback(session, meeting_id, data))


@router.get("/meetings/{meeting_id}/feedback")
def list_feedback(
    meeting_id: int, session: SessionDep, query: Annotated[PageQuery, Query()]
) -> Page[FeedbackOut]:
    """The feedback recorded after a meeting."""
    within = (m.Meeting, meeting_id)
    listing = entities.list_entities(session, m.MeetingFeedback, query, within=within)
    return page_of(FeedbackOut, listing)


@router.get("/feedback/{feedback_id}")
def read_feedback(feedback_id: int, session: SessionDep) -> FeedbackOut:
    """One meeting's feedback."""
    return FeedbackOut.model_validate(entities.get_entity(session, m.MeetingFeedback, feedback_id))


@router.patch("/feedback/{feedback_id}")
def update_feedback(feedback_id: int, changes: FeedbackPatch, session: SessionDep) -> FeedbackOut:
    """Change a meeting's feedback; fields left out keep their values."""
    return FeedbackOut.model_validate(entities.update_feedback(session, feedback_id, changes))


@router.post("/meetings/{meeting_id}/organiser-checklist", status_code=status.HTTP_201_CREATED)
def add_organiser_checklist_item(
    meeting_id: int, data: OrganiserChecklistItemCreate, session: SessionDep
) -> OrganiserChecklistItemOut:
    """Add an item at the end of a meeting's organiser checklist."""
    item = entities.add_organiser_checklist_item(session, meeting_id, data)
    return OrganiserChecklistItemOut.model_validate(item)


@router.get("/meetings/{meeting_id}/organiser-checklist")
def list_organiser_checklist(
    meeting_id: int, session: SessionDep, query: Annotated[OrganiserChecklistQuery, Query()]
) -> Page[OrganiserChecklistItemOut]:
    """A meeting's organiser checklist, in order."""
    within = (m.Meeting, meeting_id)
    listing = entities.list_entities(session, m.OrganiserChecklistItem, query, within=within)
    return page_of(OrganiserChecklistItemOut, listing)


@router.get("/organiser-checklist-items/{item_id}")
def read_organiser_checklist_item(item_id: int, session: SessionDep) -> OrganiserChecklistItemOut:
    """One item of an organiser checklist."""
    item = entities.get_entity(session, m.OrganiserChecklistItem, item_id)
    return OrganiserChecklistItemOut.model_validate(item)


@router.patch("/organiser-checklist-items/{item_id}")
def update_organiser_checklist_item(
    item_id: int, changes: OrganiserChecklistItemPatch, session: SessionDep
) -> OrganiserChecklistItemOut:
    """Change an item of an organiser checklist, such as ticking it off."""
    item = entities.update_organiser_checklist_item(session, item_id, changes)
    return OrganiserChecklistItemOut.model_validate(item)
