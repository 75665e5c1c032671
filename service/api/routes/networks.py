"""Networks (programme rounds) and their groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.dependencies import SessionDep
from service.api.schemas import GroupOut, NetworkOut, Page, RefQuery, page_of
from service.database import models as m
from service.intake import entities
from service.intake.entities import GroupCreate, GroupPatch, NetworkCreate, NetworkPatch

router = APIRouter(tags=["networks"])


@router.post("/networks", status_code=status.HTTP_201_CREATED)
def create_network(data: NetworkCreate, session: SessionDep) -> NetworkOut:
    """Start a network (programme round); without a ref, one is made from the name."""
    return NetworkOut.model_validate(entities.create_network(session, data))


@router.get("/networks")
def list_networks(session: SessionDep, query: Annotated[RefQuery, Query()]) -> Page[NetworkOut]:
    """All networks, oldest first."""
    return page_of(NetworkOut, entities.list_entities(session, m.Network, query))


@router.get("/networks/{network_id}")
def read_network(network_id: int, session: SessionDep) -> NetworkOut:
    """One network."""
    return NetworkOut.model_validate(entities.get_entity(session, m.Network, network_id))


@router.patch("/networks/{network_id}")
def update_network(network_id: int, changes: NetworkPatch, session: SessionDep) -> NetworkOut:
    """Change a network; fields left out keep their values."""
    return NetworkOut.model_validate(entities.update_network(session, network_id, changes))


@router.post("/networks/{network_id}/groups", status_code=status.HTTP_201_CREATED)
def create_group(network_id: int, data: GroupCreate, session: SessionDep) -> GroupOut:
    """Add a group (cluster) to a network; its mentor must be one of the network's."""
    return GroupOut.model_validate(entities.create_group(session, network_id, data))


@router.get("/networks/{network_id}/groups")
def list_groups(
    network_id: int, session: SessionDep, query: Annotated[RefQuery, Query()]
) -> Page[GroupOut]:
    """The groups of a network."""
    within = (m.Network, network_id)
    return page_of(GroupOut, entities.list_entities(session, m.Group, query, within=within))


@router.get("/groups/{group_id}")
def read_group(group_id: int, session: SessionDep) -> GroupOut:
    """One group."""
    return GroupOut.model_validate(entities.get_entity(session, m.Group, group_id))


@router.patch("/groups/{group_id}")
def update_group(group_id: int, changes: GroupPatch, session: SessionDep) -> GroupOut:
    """Change a group; fields left out keep their values."""
    return GroupOut.model_validate(entities.update_group(session, group_id, changes))
