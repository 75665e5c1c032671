"""Create, read, update and list the programme's entities."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.dependencies import OrganiserDep

router = APIRouter(dependencies=[OrganiserDep])
