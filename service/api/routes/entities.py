"""Create, read, update and list the programme's entities, one router per resource family."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.dependencies import OrganiserDep
from service.api.routes import (
    assessments,
    attendance,
    improvement,
    letters,
    meetings,
    networks,
    organisations,
)
from service.api.schemas import ERROR_RESPONSES

router = APIRouter(dependencies=[OrganiserDep], responses=ERROR_RESPONSES)
for _family in (networks, organisations, meetings, assessments, improvement, letters, attendance):
    router.include_router(_family.router)
