"""Organisations and participants from a spreadsheet: preview what changes, then apply."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.schemas import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)
