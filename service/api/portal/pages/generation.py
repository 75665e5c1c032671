"""Organisers generate a meeting's documents: choose, pre-flight, start, watch, retry, download."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
