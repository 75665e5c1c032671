"""Organisers issue, copy and revoke participants' personal links.

A personal link is ``<base>/lank/<token>``: the token is shown once, on the page that
answers the form that made it (never stored in clear, so it cannot be shown again). The
list shows each organisation's links with their status in words and when each was last used.
Revoking asks for confirmation on a page of its own, so it works without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.access.tokens import (
    MAX_LABEL_LENGTH,
    TokenRequest,
    TokenStatus,
    issue_token,
    list_tokens,
    revoke_token,
    token_status,
)
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.ids import fits_id
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.rendering import NOTICES, page
from service.clock import utcnow
from service.database import models as m
from service.intake.entities import MAX_ID
from service.intake.text_rules import FORBIDDEN_CONTROL

router = APIRouter(include_in_schema=False)

NOTICES.update({"lank-aterkallad": "Länken är återkallad. Den fungerar inte längre."})

STATUS_WORDS = {
    TokenStatus.LIVE: ("aktiv", "ok"),
    TokenStatus.EXPIRED: ("utgången", "neutral"),
    TokenStatus.REVOKED: ("återkallad", "bad"),
}
LABEL_TEXT = "Vem länken är till"
DAYS_TEXT = "Giltig i antal dagar"


@dataclass(frozen=True)
class LinkRow:
    """One personal link as the list shows it (never its token)."""

    id: int
    label: str
    status: str
    status_class: str
    live: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class OrganisationLinks:
    """An organisation and its links."""

    organisation: m.Organisation
    network_name: str
    links: list[LinkRow]


def _rows(session: Session, organisation_id: int, now: dt.datetime) -> list[LinkRow]:
    rows = []
    for token in list_tokens(session, organisation_id):
        state = token_status(token, now=now)
        words, css = STATUS_WORDS[state]
        rows.append(
            LinkRow(
                id=token.id,
                label=token.label or "(utan namn)",
                status=words,
                status_class=css,
                live=state is TokenStatus.LIVE,
                created_at=token.created_at,
                expires_at=token.expires_at,
                last_used_at=token.last_used_at,
            )
        )
    return rows


def _organisation(session: Session, organisation_id: int) -> m.Organisation:
    org = session.get(m.Organisation, organisation_id) if 1 <= organisation_id <= MAX_ID else None
    if org is None:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    return org


def participant_base_url(request: Request, runtime: RuntimeDep) -> str:
    """Where participants reach the portal: the configured address, else this request's."""
    configured = runtime.settings.participant_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/arrangor/lankar", response_class=HTMLResponse)
def links(
    request: Request,
    caller: OrganiserPageDep,
    session: SessionDep,
    natverk: str = "",
    organisation: str = "",
) -> Response:
    """Every organisation's personal links, optionally of one network or one organisation."""
    networks = list(session.scalars(select(m.Network).order_by(m.Network.id)))
    names = {n.id: n.name for n in networks}
    network_id = int(natverk) if natverk.isdigit() and fits_id(natverk) else None
    organisation_id = (
        int(organisation) if organisation.isdigit() and fits_id(organisation) else None
    )
    query = select(m.Organisation).order_by(m.Organisation.network_id, m.Organisation.name)
    all_organisations = list(session.scalars(query))
    shown = [
        org
        for org in all_organisations
        if (network_id is None or org.network_id == network_id)
        and (organisation_id is None or org.id == organisation_id)
    ]
    now = utcnow()
    groups = [
        OrganisationLinks(
            organisation=org,
            network_name=names.get(org.network_id, ""),
            links=_rows(session, org.id, now),
        )
        for org in shown
    ]
    return page(
        request,
        "organiser/links.html",
        {
            "groups": groups,
            "networks": networks,
            "organisations": all_organisations,
            "network_names": names,
            "network_id": network_id,
            "organisation_id": organisation_id,
            "filtered": network_id is not None or organisation_id is not None,
        },
        caller=caller,
    )


def _new_link_page(
    request: Request,
    caller: OrganiserPageDep,
    runtime: RuntimeDep,
    org: m.Organisation,
    *,
    form: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    max_days = runtime.settings.token_valid_days
    return page(
        request,
        "organiser/links_new.html",
        {
            "organisation": org,
            "max_days": max_days,
            "form": form or {"label": "", "days": str(max_days)},
            "errors": errors or [],
            "label_text": LABEL_TEXT,
            "days_text": DAYS_TEXT,
            "max_label": MAX_LABEL_LENGTH,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/lankar/ny/{organisation_id}", response_class=HTMLResponse)
def new_link_form(
    request: Request,
    organisation_id: int,
    caller: OrganiserPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The form for a new personal link for one organisation."""
    return _new_link_page(request, caller, runtime, _organisation(session, organisation_id))


@router.post("/arrangor/lankar/ny/{organisation_id}", response_class=HTMLResponse)
def create_link(
    request: Request,
    organisation_id: int,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    etikett: Annotated[str, Form(max_length=20_000)] = "",
    dagar: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Issue a link; the answer shows it once, in full, ready to copy."""
    org = _organisation(session, organisation_id)
    max_days = runtime.settings.token_valid_days
    errors: list[tuple[str, str]] = []
    label = etikett.strip()
    if not label:
        errors.append(("etikett", f"Fyll i ”{LABEL_TEXT}”, till exempel ”Delegationen”."))
    elif FORBIDDEN_CONTROL.search(label):
        errors.append(
            (
                "etikett",
                f"”{LABEL_TEXT}” innehåller ett osynligt styrtecken som inte går att spara. "
                "Skriv om texten och försök igen.",
            )
        )
    elif len(label) > MAX_LABEL_LENGTH:
        errors.append(("etikett", f"”{LABEL_TEXT}” får vara högst {MAX_LABEL_LENGTH} tecken."))
    days_text = dagar.strip()
    days = int(days_text) if days_text.isdigit() and len(days_text) < 6 else None
    if days is None or not 1 <= days <= max_days:
        errors.append(("dagar", f"”{DAYS_TEXT}” ska vara ett heltal från 1 till {max_days}."))
    request_model: TokenRequest | None = None
    if not errors:
        try:
            request_model = TokenRequest(label=label, valid_days=days)
        except ValidationError:
            errors.append(("etikett", f"”{LABEL_TEXT}” går inte att spara. Skriv om texten."))
    if errors or request_model is None or days is None:
        return _new_link_page(
            request,
            caller,
            runtime,
            org,
            form={"label": etikett[:1000], "days": dagar[:20]},
            errors=errors,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    issued = issue_token(
        session,
        organisation_id=org.id,
        valid_for=dt.timedelta(days=days),
        label=request_model.label,
        now=utcnow(),
    )
    response = page(
        request,
        "organiser/links_created.html",
        {
            "organisation": org,
            "row": issued.row,
            "link": f"{participant_base_url(request, runtime)}/lank/{issued.token}",
        },
        caller=caller,
        status_code=status.HTTP_201_CREATED,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _token(session: Session, token_id: int) -> m.AccessToken:
    row = session.get(m.AccessToken, token_id) if 1 <= token_id <= MAX_ID else None
    if row is None:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    return row


@router.get("/arrangor/lankar/{token_id}/aterkalla", response_class=HTMLResponse)
def confirm_revoke(
    request: Request, token_id: int, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """Are you sure? The link stops working at once."""
    row = _token(session, token_id)
    org = _organisation(session, row.organisation_id)
    state = token_status(row, now=utcnow())
    return page(
        request,
        "organiser/links_revoke.html",
        {"organisation": org, "row": row, "status": STATUS_WORDS[state][0]},
        caller=caller,
    )


@router.post("/arrangor/lankar/{token_id}/aterkalla")
def revoke(token_id: int, _caller: OrganiserFormDep, session: SessionDep) -> Response:
    """Revoke the link at once; its sessions end with it."""
    row = _token(session, token_id)
    revoke_token(session, row.id, now=utcnow())
    return RedirectResponse(
        f"/arrangor/lankar?organisation={row.organisation_id}&klart=lank-aterkallad",
        status.HTTP_303_SEE_OTHER,
    )
