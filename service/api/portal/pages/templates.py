"""Organisers manage templates: upload a version, see the checker's report, preview, activate, roll back."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
