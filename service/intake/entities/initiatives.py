"""Improvement initiatives of an organisation, each with its indicator and measurements."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import IndicatorPopulation
from service.errors import Problem
from service.intake.entities.checklists import questions_in_order
from service.intake.entities.fields import Id, NonNull
from service.intake.entities.store import Rules, get_entity, save
from service.intake.programme_format import InitiativeFields, MeasurementValues, Record
from service.intake.text_rules import Ref, ShortText, Text50


class MeasurementCreate(MeasurementValues):
    """One measurement of an indicator: a total, or values for women and men."""

    date: dt.date
    is_baseline: bool = False


class IndicatorCreate(Record):
    """The indicator of an initiative, with its measurements."""

    name: ShortText
    unit: Text50 | None = None
    population: IndicatorPopulation = IndicatorPopulation.WOMEN_MEN
    measurements: list[MeasurementCreate] = Field(default_factory=list, max_length=100)


class InitiativePatch(InitiativeFields):
    """Changes to an improvement initiative; an indicator, when given, replaces the old one."""

    ref: NonNull[Ref] = None
    title: NonNull[ShortText] = None
    area_id: Id | None = None
    question_refs: NonNull[Annotated[list[Ref], Field(max_length=200)]] = None
    transfer_to: NonNull[Annotated[list[ShortText], Field(max_length=50)]] = None
    owner_participant_id: Id | None = None
    indicator: IndicatorCreate | None = None


class InitiativeCreate(InitiativePatch):
    """A new improvement initiative; without a ref, one is made from the title."""

    ref: Ref | None = None
    title: ShortText
    question_refs: list[Ref] = Field(default_factory=list, max_length=200)
    transfer_to: list[ShortText] = Field(default_factory=list, max_length=50)


_INITIATIVE_REFERENCES = {"owner_participant_id": m.Participant}


def _initiative_rules(session: Session, network: m.Network) -> Rules[m.ImprovementInitiative]:
    def rules(initiative: m.ImprovementInitiative) -> list[Problem]:
        checklist_id = network.checklist_id
        area = session.get(m.ChecklistArea, initiative.area_id) if initiative.area_id else None
        problems = []
        if initiative.area_id is not None and (area is None or area.checklist_id != checklist_id):
            problems.append(
                Problem(
                    "$.area_id",
                    f"checklist area {initiative.area_id} is not in network {network.id}'s "
                    "checklist",
                )
            )
        questions = questions_in_order(session, checklist_id) if checklist_id else {}
        problems += [
            Problem(f"$.question_refs[{i}]", f"unknown question {ref!r}")
            for i, ref in enumerate(initiative.question_refs)
            if ref not in questions
        ]
        return problems

    return rules


def _indicators(indicator: IndicatorCreate | None) -> list[m.Indicator]:
    if indicator is None:
        return []
    return [
        m.Indicator(
            name=indicator.name,
            unit=indicator.unit,
            population=indicator.population,
            measurements=[m.IndicatorMeasurement(**x.model_dump()) for x in indicator.measurements],
        )
    ]


def create_initiative(
    session: Session, organisation_id: int, data: InitiativeCreate
) -> m.ImprovementInitiative:
    """Add an improvement initiative, with its indicator, to an organisation."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    network = get_entity(session, m.Network, organisation.network_id)
    return save(
        session,
        m.ImprovementInitiative(
            organisation_id=organisation.id, indicators=_indicators(data.indicator)
        ),
        data.model_dump(exclude={"indicator"}),
        network_id=network.id,
        references=_INITIATIVE_REFERENCES,
        rules=_initiative_rules(session, network),
    )


def update_initiative(
    session: Session, initiative_id: int, changes: InitiativePatch
) -> m.ImprovementInitiative:
    """Change an initiative; a given indicator (or null) replaces the old one."""
    initiative = get_entity(session, m.ImprovementInitiative, initiative_id)
    organisation = get_entity(session, m.Organisation, initiative.organisation_id)
    network = get_entity(session, m.Network, organisation.network_id)
    if "indicator" in changes.model_fields_set:
        initiative.indicators = _indicators(changes.indicator)
    return save(
        session,
        initiative,
        changes.model_dump(exclude_unset=True, exclude={"indicator"}),
        network_id=network.id,
        references=_INITIATIVE_REFERENCES,
        rules=_initiative_rules(session, network),
    )
