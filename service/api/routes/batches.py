"""Batches of generated documents: start one, watch it, download what it made."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.dependencies import OrganiserDep

router = APIRouter(tags=["generation"], dependencies=[OrganiserDep])
