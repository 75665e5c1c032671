"""Participants' pages: their organisation's documents, deadlines and what they have sent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.api.dependencies import SessionDep
from service.api.portal.auth import ParticipantPageDep
from service.api.portal.rendering import page
from service.database import models as m

router = APIRouter(include_in_schema=False)


@router.get("/mina-dokument", response_class=HTMLResponse)
def documents(request: Request, caller: ParticipantPageDep, session: SessionDep) -> Response:
    """Era dokument: per meeting, the documents, deadlines and what has been sent."""
    organisation = session.get(m.Organisation, caller.organisation_id)
    return page(
        request,
        "participant/documents.html",
        {"organisation_name": organisation.name if organisation else ""},
        caller=caller,
    )
