"""Organisers' start page: networks, their meetings, and what needs attention."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.api.portal.auth import OrganiserPageDep
from service.api.portal.rendering import page

router = APIRouter(include_in_schema=False)


@router.get("/arrangor", response_class=HTMLResponse)
def start(request: Request, caller: OrganiserPageDep) -> Response:
    """Start: networks and meetings, with what needs attention."""
    return page(request, "organiser/start.html", caller=caller)
