"""Checklists, self-assessment rounds and each organisation's scores in a round."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.dependencies import SessionDep
from service.api.schemas import (
    AssessmentRoundOut,
    AssessmentRoundQuery,
    ChecklistOut,
    Page,
    RefQuery,
    ScoreSheetOut,
    page_of,
)
from service.change_detection.staleness import mark_stale
from service.clock import utcnow
from service.database import models as m
from service.intake import entities
from service.intake.entities import (
    AssessmentRoundCreate,
    AssessmentRoundPatch,
    ChecklistCreate,
    ChecklistPatch,
    ScoresReplace,
)

router = APIRouter(tags=["self-assessment"])


@router.post("/checklists", status_code=status.HTTP_201_CREATED)
def create_checklist(data: ChecklistCreate, session: SessionDep) -> ChecklistOut:
    """Store a checklist with its scale, areas and questions."""
    return ChecklistOut.model_validate(entities.create_checklist(session, data))


@router.get("/checklists")
def list_checklists(session: SessionDep, query: Annotated[RefQuery, Query()]) -> Page[ChecklistOut]:
    """All checklists, with their areas and questions."""
    return page_of(ChecklistOut, entities.list_entities(session, m.Checklist, query))


@router.get("/checklists/{checklist_id}")
def read_checklist(checklist_id: int, session: SessionDep) -> ChecklistOut:
    """One checklist, with its areas and questions in order."""
    return ChecklistOut.model_validate(entities.get_entity(session, m.Checklist, checklist_id))


@router.patch("/checklists/{checklist_id}")
def update_checklist(
    checklist_id: int, changes: ChecklistPatch, session: SessionDep
) -> ChecklistOut:
    """Change a checklist's title or version; its scale and questions are fixed."""
    return ChecklistOut.model_validate(entities.update_checklist(session, checklist_id, changes))


@router.post("/networks/{network_id}/assessment-rounds", status_code=status.HTTP_201_CREATED)
def create_assessment_round(
    network_id: int, data: AssessmentRoundCreate, session: SessionDep
) -> AssessmentRoundOut:
    """Open a self-assessment round, on the network's checklist unless another is given."""
    assessment_round = entities.create_assessment_round(session, network_id, data)
    return AssessmentRoundOut.model_validate(assessment_round)


@router.get("/networks/{network_id}/assessment-rounds")
def list_assessment_rounds(
    network_id: int, session: SessionDep, query: Annotated[AssessmentRoundQuery, Query()]
) -> Page[AssessmentRoundOut]:
    """The self-assessment rounds of a network."""
    within = (m.Network, network_id)
    listing = entities.list_entities(session, m.AssessmentRound, query, within=within)
    return page_of(AssessmentRoundOut, listing)


@router.get("/assessment-rounds/{round_id}")
def read_assessment_round(round_id: int, session: SessionDep) -> AssessmentRoundOut:
    """One self-assessment round."""
    assessment_round = entities.get_entity(session, m.AssessmentRound, round_id)
    return AssessmentRoundOut.model_validate(assessment_round)


@router.patch("/assessment-rounds/{round_id}")
def update_assessment_round(
    round_id: int, changes: AssessmentRoundPatch, session: SessionDep
) -> AssessmentRoundOut:
    """Change a round's label, ref, meeting or assessment date."""
    assessment_round = entities.update_assessment_round(session, round_id, changes)
    return AssessmentRoundOut.model_validate(assessment_round)


@router.get("/assessment-rounds/{round_id}/scores/{organisation_id}")
def read_scores(round_id: int, organisation_id: int, session: SessionDep) -> ScoreSheetOut:
    """An organisation's scores and comments in a round, in checklist order."""
    return ScoreSheetOut.model_validate(entities.read_scores(session, round_id, organisation_id))


@router.put("/assessment-rounds/{round_id}/scores/{organisation_id}")
def replace_scores(
    round_id: int, organisation_id: int, data: ScoresReplace, session: SessionDep
) -> ScoreSheetOut:
    """Replace an organisation's scores in a round as a whole; a bad value changes nothing.

    The organisation's documents that show the scores are marked stale, or cleared when the
    scores are back to what they were made from, as after an uploaded checklist.
    """
    sheet = entities.replace_scores(session, round_id, organisation_id, data)
    mark_stale(session, organisation_id=organisation_id, now=utcnow())
    return ScoreSheetOut.model_validate(sheet)
