"""Regeneration runs: what each run checked, redid and why."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
