"""Organisers manage templates: upload, check, preview, activate and roll back versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
