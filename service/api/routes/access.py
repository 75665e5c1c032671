"""Access tokens for participants, and documents as each caller may see them."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
