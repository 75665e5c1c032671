"""Uploads: filled checklists become scores, finished decks become submissions; status view."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
