"""Networks (programme rounds) and their groups (clusters)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import Problem
from service.intake.entities.fields import Id, NonNull
from service.intake.entities.store import get_entity, order_problem, save
from service.intake.programme_format import Record
from service.intake.text_rules import LongText, Ref, ShortText


class NetworkPatch(Record):
    """Changes to a network."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    organiser: ShortText | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    concept: LongText | None = None
    project_platform: ShortText | None = None
    checklist_id: Id | None = None


class NetworkCreate(NetworkPatch):
    """A new network (programme round); without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


class GroupPatch(Record):
    """Changes to a group."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    note: LongText | None = None
    mentor_organisation_id: Id | None = None


class GroupCreate(GroupPatch):
    """A new group (cluster) of a network; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


_NETWORK_REFERENCES = {"checklist_id": m.Checklist}


def _network_rules(network: m.Network) -> list[Problem]:
    return order_problem(
        network.period_start,
        network.period_end,
        at="$.period_end",
        message="is before period_start",
    )


def create_network(session: Session, data: NetworkCreate) -> m.Network:
    """Start a network (programme round)."""
    return save(
        session,
        m.Network(),
        data.model_dump(),
        network_id=None,
        references=_NETWORK_REFERENCES,
        rules=_network_rules,
    )


def update_network(session: Session, network_id: int, changes: NetworkPatch) -> m.Network:
    """Change a network's fields."""
    network = get_entity(session, m.Network, network_id)
    return save(
        session,
        network,
        changes.model_dump(exclude_unset=True),
        network_id=network.id,
        references=_NETWORK_REFERENCES,
        rules=_network_rules,
    )


_GROUP_REFERENCES = {"mentor_organisation_id": m.Organisation}


def create_group(session: Session, network_id: int, data: GroupCreate) -> m.Group:
    """Add a group (cluster) to a network."""
    network = get_entity(session, m.Network, network_id)
    return save(
        session,
        m.Group(network_id=network.id),
        data.model_dump(),
        network_id=network.id,
        references=_GROUP_REFERENCES,
    )


def update_group(session: Session, group_id: int, changes: GroupPatch) -> m.Group:
    """Change a group's fields."""
    group = get_entity(session, m.Group, group_id)
    return save(
        session,
        group,
        changes.model_dump(exclude_unset=True),
        network_id=group.network_id,
        references=_GROUP_REFERENCES,
    )
