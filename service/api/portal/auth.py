"""Who is at the browser, for the portal's pages: dependencies and their refusals.

A page for participants needs a participant's session (from their organisation's link); a page
for organisers needs an organiser's session (from the login form). Without one, an organiser
page sends the browser to the login form and comes back afterwards; a participant session on
an organiser page is refused (403) without saying more.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request

from service.access.portal_sessions import PortalCaller, SessionRules, resolve_session
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.portal.security import SESSION_COOKIE, verify_csrf
from service.clock import utcnow
from service.settings import Settings


class SignInRequiredError(Exception):
    """The page needs a signed-in organiser; the browser is sent to the login form."""


class ParticipantLinkRequiredError(Exception):
    """The page needs a participant's session, which only their personal link opens."""


class OrganiserOnlyError(Exception):
    """A participant's session asked for an organiser's page."""


def session_rules(settings: Settings) -> SessionRules:
    """The portal's session lifetimes from settings."""
    return SessionRules(
        lifetime=dt.timedelta(hours=settings.portal_session_hours),
        idle=dt.timedelta(minutes=settings.portal_idle_minutes),
    )


def portal_caller(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> PortalCaller | None:
    """The signed-in caller of this browser, or None."""
    return resolve_session(
        session,
        request.cookies.get(SESSION_COOKIE),
        rules=session_rules(runtime.settings),
        now=utcnow(),
    )


MaybeCallerDep = Annotated[PortalCaller | None, Depends(portal_caller)]


def require_organiser_page(caller: MaybeCallerDep) -> PortalCaller:
    """An organiser's session, or off to the login form (or 403 for a participant)."""
    if caller is None:
        raise SignInRequiredError
    if not caller.is_organiser:
        raise OrganiserOnlyError
    return caller


def require_participant_page(caller: MaybeCallerDep) -> PortalCaller:
    """A participant's session; an organiser is sent to the organisers' pages instead."""
    if caller is None or caller.organisation_id is None:
        raise ParticipantLinkRequiredError
    return caller


OrganiserPageDep = Annotated[PortalCaller, Depends(require_organiser_page)]
ParticipantPageDep = Annotated[PortalCaller, Depends(require_participant_page)]


async def _form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=0, max_fields=200)
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def checked_form_caller(request: Request, caller: MaybeCallerDep) -> PortalCaller | None:
    """The caller of a plain form POST whose CSRF token (field or header) is right.

    Multipart forms (uploads) check their token themselves after reading the body within
    its size limit: see ``verify_csrf``.
    """
    verify_csrf(request, caller, await _form_token(request))
    return caller


CheckedFormDep = Annotated[PortalCaller | None, Depends(checked_form_caller)]


async def checked_anonymous_form(request: Request) -> None:
    """A form shown to anyone (the login form): its token is the browser's CSRF cookie's,
    whether or not a session is open."""
    verify_csrf(request, None, await _form_token(request))


AnonymousFormDep = Annotated[None, Depends(checked_anonymous_form)]


def checked_organiser(caller: CheckedFormDep) -> PortalCaller:
    """An organiser's form POST with a right CSRF token."""
    return require_organiser_page(caller)


def checked_participant(caller: CheckedFormDep) -> PortalCaller:
    """A participant's form POST with a right CSRF token."""
    return require_participant_page(caller)


OrganiserFormDep = Annotated[PortalCaller, Depends(checked_organiser)]
ParticipantFormDep = Annotated[PortalCaller, Depends(checked_participant)]
