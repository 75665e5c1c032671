"""Organisers issue, copy and revoke participants' personal links."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
