"""An organisation's improvement work: initiatives, and per meeting its analysis and plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.dependencies import SessionDep
from service.api.schemas import AnalysisOut, InitiativeOut, InitiativeQuery, Page, PlanOut, page_of
from service.database import models as m
from service.intake import entities
from service.intake.entities import (
    AnalysisReplace,
    InitiativeCreate,
    InitiativePatch,
    PlanReplace,
)

router = APIRouter(tags=["improvement work"])


@router.post("/organisations/{organisation_id}/initiatives", status_code=status.HTTP_201_CREATED)
def create_initiative(
    organisation_id: int, data: InitiativeCreate, session: SessionDep
) -> InitiativeOut:
    """Add an improvement initiative, with its indicator and measurements."""
    initiative = entities.create_initiative(session, organisation_id, data)
    return InitiativeOut.model_validate(initiative)


@router.get("/organisations/{organisation_id}/initiatives")
def list_initiatives(
    organisation_id: int, session: SessionDep, query: Annotated[InitiativeQuery, Query()]
) -> Page[InitiativeOut]:
    """An organisation's improvement initiatives."""
    within = (m.Organisation, organisation_id)
    listing = entities.list_entities(session, m.ImprovementInitiative, query, within=within)
    return page_of(InitiativeOut, listing)


@router.get("/initiatives/{initiative_id}")
def read_initiative(initiative_id: int, session: SessionDep) -> InitiativeOut:
    """One improvement initiative, with its indicator and measurements."""
    initiative = entities.get_entity(session, m.ImprovementInitiative, initiative_id)
    return InitiativeOut.model_validate(initiative)


@router.patch("/initiatives/{initiative_id}")
def update_initiative(
    initiative_id: int, changes: InitiativePatch, session: SessionDep
) -> InitiativeOut:
    """Change an initiative; a given indicator (or null) replaces the old one."""
    initiative = entities.update_initiative(session, initiative_id, changes)
    return InitiativeOut.model_validate(initiative)


@router.put("/organisations/{organisation_id}/meetings/{meeting_id}/analysis")
def put_analysis(
    organisation_id: int, meeting_id: int, data: AnalysisReplace, session: SessionDep
) -> AnalysisOut:
    """Store an organisation's leadership and culture analysis for a meeting, replacing any."""
    analysis = entities.put_analysis(session, organisation_id, meeting_id, data)
    return AnalysisOut.model_validate(analysis)


@router.get("/organisations/{organisation_id}/meetings/{meeting_id}/analysis")
def read_analysis(organisation_id: int, meeting_id: int, session: SessionDep) -> AnalysisOut:
    """An organisation's leadership and culture analysis for a meeting."""
    analysis = entities.get_for_meeting(
        session, m.LeadershipCultureAnalysis, organisation_id, meeting_id
    )
    return AnalysisOut.model_validate(analysis)


@router.put("/organisations/{organisation_id}/meetings/{meeting_id}/plan")
def put_plan(
    organisation_id: int, meeting_id: int, data: PlanReplace, session: SessionDep
) -> PlanOut:
    """Store an organisation's continuation plan for a meeting, replacing any."""
    return PlanOut.model_validate(entities.put_plan(session, organisation_id, meeting_id, data))


@router.get("/organisations/{organisation_id}/meetings/{meeting_id}/plan")
def read_plan(organisation_id: int, meeting_id: int, session: SessionDep) -> PlanOut:
    """An organisation's continuation plan for a meeting, with its activities in order."""
    plan = entities.get_for_meeting(session, m.ContinuationPlan, organisation_id, meeting_id)
    return PlanOut.model_validate(plan)
