"""Organisations of a network and the participants of their delegations."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import ParticipantRole
from service.errors import Problem
from service.intake.entities.fields import Id, NonNull
from service.intake.entities.store import Rules, get_entity, save
from service.intake.programme_format import Record
from service.intake.text_rules import Ref, ShortText, Text50, Text100
from service.intake.vocabulary import Email, ProgrammeRole


class OrganisationFields(Record):
    """What can be set on an organisation both on creation and later."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    type: Text50 | None = None
    county: Text100 | None = None
    programme_role: ProgrammeRole | None = None
    group_id: Id | None = None
    political_decision_exists: bool | None = None
    political_decision_kind: ShortText | None = None
    political_decision_year: int | None = Field(default=None, ge=1900, le=2100)


class OrganisationCreate(OrganisationFields):
    """A new organisation of a network; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


class OrganisationPatch(OrganisationFields):
    """Changes to an organisation; its contact must be one of its own participants."""

    contact_participant_id: Id | None = None


class ParticipantFields(Record):
    """What can be set on a participant both on creation and later."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    role: NonNull[ParticipantRole] = None
    title: ShortText | None = None
    email: Email | None = None
    phone: Text50 | None = None


class ParticipantCreate(ParticipantFields):
    """A new participant of an organisation; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText
    role: ParticipantRole


class ParticipantPatch(ParticipantFields):
    """Changes to a participant, who may move to another organisation of the same network."""

    organisation_id: NonNull[Id] = None


_ORGANISATION_REFERENCES = {"group_id": m.Group, "contact_participant_id": m.Participant}


def _contact_rules(session: Session) -> Rules[m.Organisation]:
    def rules(organisation: m.Organisation) -> list[Problem]:
        contact_id = organisation.contact_participant_id
        contact = session.get(m.Participant, contact_id) if contact_id is not None else None
        if contact is None or contact.organisation_id == organisation.id:
            return []
        return [
            Problem(
                "$.contact_participant_id",
                f"participant {contact.id} belongs to organisation {contact.organisation_id}, "
                f"not {organisation.id}",
            )
        ]

    return rules


def create_organisation(
    session: Session, network_id: int, data: OrganisationCreate
) -> m.Organisation:
    """Add an organisation to a network."""
    network = get_entity(session, m.Network, network_id)
    return save(
        session,
        m.Organisation(network_id=network.id),
        data.model_dump(),
        network_id=network.id,
        references=_ORGANISATION_REFERENCES,
    )


def update_organisation(
    session: Session, organisation_id: int, changes: OrganisationPatch
) -> m.Organisation:
    """Change an organisation's fields, including its group and contact person."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    return save(
        session,
        organisation,
        changes.model_dump(exclude_unset=True),
        network_id=organisation.network_id,
        references=_ORGANISATION_REFERENCES,
        rules=_contact_rules(session),
    )


def create_participant(
    session: Session, organisation_id: int, data: ParticipantCreate
) -> m.Participant:
    """Add a person to an organisation's delegation."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    return save(
        session,
        m.Participant(organisation_id=organisation.id),
        data.model_dump(),
        network_id=organisation.network_id,
    )


def update_participant(
    session: Session, participant_id: int, changes: ParticipantPatch
) -> m.Participant:
    """Change a participant; one who moves stops being the old organisation's contact."""
    participant = get_entity(session, m.Participant, participant_id)
    old = participant.organisation
    save(
        session,
        participant,
        changes.model_dump(exclude_unset=True),
        network_id=old.network_id,
        references={"organisation_id": m.Organisation},
    )
    if participant.organisation_id != old.id and old.contact_participant_id == participant.id:
        old.contact_participant_id = None
        session.flush()
    return participant
