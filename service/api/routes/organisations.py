"""Organisations of a network and the participants of their delegations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.dependencies import SessionDep
from service.api.schemas import (
    OrganisationOut,
    OrganisationQuery,
    Page,
    ParticipantOut,
    ParticipantQuery,
    page_of,
)
from service.database import models as m
from service.intake import entities
from service.intake.entities import (
    OrganisationCreate,
    OrganisationPatch,
    ParticipantCreate,
    ParticipantPatch,
)

router = APIRouter(tags=["organisations"])


@router.post("/networks/{network_id}/organisations", status_code=status.HTTP_201_CREATED)
def create_organisation(
    network_id: int, data: OrganisationCreate, session: SessionDep
) -> OrganisationOut:
    """Add an organisation to a network; its group must be one of the network's."""
    return OrganisationOut.model_validate(entities.create_organisation(session, network_id, data))


@router.get("/networks/{network_id}/organisations")
def list_organisations(
    network_id: int, session: SessionDep, query: Annotated[OrganisationQuery, Query()]
) -> Page[OrganisationOut]:
    """The organisations of a network."""
    listing = entities.list_entities(session, m.Organisation, query, within=(m.Network, network_id))
    return page_of(OrganisationOut, listing)


@router.get("/organisations/{organisation_id}")
def read_organisation(organisation_id: int, session: SessionDep) -> OrganisationOut:
    """One organisation."""
    return OrganisationOut.model_validate(
        entities.get_entity(session, m.Organisation, organisation_id)
    )


@router.patch("/organisations/{organisation_id}")
def update_organisation(
    organisation_id: int, changes: OrganisationPatch, session: SessionDep
) -> OrganisationOut:
    """Change an organisation; its contact must be one of its own participants."""
    return OrganisationOut.model_validate(
        entities.update_organisation(session, organisation_id, changes)
    )


@router.post("/organisations/{organisation_id}/participants", status_code=status.HTTP_201_CREATED)
def create_participant(
    organisation_id: int, data: ParticipantCreate, session: SessionDep
) -> ParticipantOut:
    """Add a person to an organisation's delegation."""
    return ParticipantOut.model_validate(
        entities.create_participant(session, organisation_id, data)
    )


@router.get("/organisations/{organisation_id}/participants")
def list_participants(
    organisation_id: int, session: SessionDep, query: Annotated[ParticipantQuery, Query()]
) -> Page[ParticipantOut]:
    """The delegation of an organisation."""
    within = (m.Organisation, organisation_id)
    return page_of(
        ParticipantOut, entities.list_entities(session, m.Participant, query, within=within)
    )


@router.get("/participants/{participant_id}")
def read_participant(participant_id: int, session: SessionDep) -> ParticipantOut:
    """One participant."""
    return ParticipantOut.model_validate(
        entities.get_entity(session, m.Participant, participant_id)
    )


@router.patch("/participants/{participant_id}")
def update_participant(
    participant_id: int, changes: ParticipantPatch, session: SessionDep
) -> ParticipantOut:
    """Change a participant, or move them to another organisation of the same network."""
    return ParticipantOut.model_validate(
        entities.update_participant(session, participant_id, changes)
    )
