"""Organisers import a programme or a roster: upload, preview what would change, confirm."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
