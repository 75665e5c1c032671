"""The portal added to the API's app: pages, static files, headers and Swedish error pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.portal.auth import (
    OrganiserOnlyError,
    ParticipantLinkRequiredError,
    SignInRequiredError,
)
from service.api.portal.pages import (
    generation,
    imports,
    letters,
    links,
    messages,
    opt_out,
    organiser,
    participant,
    public,
    regeneration,
    templates,
)
from service.api.portal.rendering import PORTAL_DIR, page
from service.api.portal.security import CsrfRefusedError, SecurityHeadersMiddleware
from service.intake.entities import MAX_ID

_MACHINE_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/health", "/static/")
PAGE_ROUTERS = [
    public.router,
    participant.router,
    organiser.router,
    imports.router,
    generation.router,
    letters.router,
    links.router,
    regeneration.router,
    templates.router,
    messages.router,
    opt_out.router,
]


def is_portal_request(request: Request) -> bool:
    """Whether a person's browser asked for a page (answered in HTML), not a script."""
    return not request.url.path.startswith(_MACHINE_PREFIXES)


def error_page(
    request: Request, status_code: int, heading: str, *paragraphs: str, link: tuple[str, str] | None
) -> Response:
    """A Swedish error page; the caller is not looked up again (the error may be about it)."""
    context = {"heading": heading, "paragraphs": list(paragraphs), "link": link}
    return page(request, "error.html", context, caller=None, status_code=status_code)


def not_found_page(request: Request) -> Response:
    """The portal's 404: the same for what does not exist and what is someone else's."""
    return error_page(
        request,
        status.HTTP_404_NOT_FOUND,
        "Sidan finns inte",
        "Sidan du sökte finns inte, eller så har du inte tillgång till den.",
        "Kontrollera adressen, eller gå tillbaka till startsidan.",
        link=("/", "Till startsidan"),
    )


def invalid_request_page(request: Request, errors: Sequence[Any]) -> Response:
    """A page's address or form that FastAPI could not read: a wrong id is simply not there,
    a form field out of bounds (hand-made, or far too long) is refused without storing."""
    if any(error.get("loc", ("",))[0] == "path" for error in errors):
        return not_found_page(request)
    fields = sorted({str(error["loc"][-1]) for error in errors if error.get("loc")})
    return error_page(
        request,
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "Uppgifterna kunde inte tas emot",
        "Formuläret innehöll något som inte går att ta emot (till exempel en alldeles för lång "
        "text), så ingenting har sparats.",
        f"Det gäller fältet: {', '.join(fields)}." if fields else "",
        "Gå tillbaka, rätta uppgiften och försök igen.",
        link=("/", "Till startsidan"),
    )


def ids_in_range(request: Request) -> None:
    """An id in a page's address beyond what the database holds is simply not there (404).

    Runs before the page: PostgreSQL would refuse such a number in a query (a 500).
    """
    for name, value in request.path_params.items():
        number = int(value) if isinstance(value, str) and value.isdigit() else value
        if name.endswith("_id") and isinstance(number, int) and not 1 <= number <= MAX_ID:
            raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)


def install_portal(app: FastAPI) -> None:
    """Add the pages, their static files, security headers and error pages to ``app``."""
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=PORTAL_DIR / "static"), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router, dependencies=[Depends(ids_in_range)])

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, _exc: SignInRequiredError) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if "hx-request" in request.headers:
            # Back to the page the part belongs to (login checks that it is a local path).
            current = urlsplit(request.headers.get("hx-current-url", ""))
            target = current.path + (f"?{current.query}" if current.query else "")
        elif request.method != "GET":
            target = "/arrangor"
        login = f"/logga-in?nasta={quote(target, safe='')}"
        if "hx-request" in request.headers:
            # A part of a page asked (htmx polling): send the whole tab to the login form,
            # instead of placing the form inside the part.
            return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": login})
        return RedirectResponse(login, status.HTTP_303_SEE_OTHER)

    @app.exception_handler(ParticipantLinkRequiredError)
    async def _link(request: Request, _exc: ParticipantLinkRequiredError) -> Response:
        return error_page(
            request,
            status.HTTP_401_UNAUTHORIZED,
            "Öppna din personliga länk",
            "Den här sidan visar en organisations dokument. Den öppnas med den personliga länk "
            "som er processledare skickade till er.",
            "Har länken slutat fungera? Be er processledare om en ny.",
            link=("/", "Till startsidan"),
        )

    @app.exception_handler(OrganiserOnlyError)
    async def _organiser_only(request: Request, _exc: OrganiserOnlyError) -> Response:
        return error_page(
            request,
            status.HTTP_403_FORBIDDEN,
            "Sidan är till för arrangörer",
            "Du är inloggad med en organisations personliga länk. Den här sidan kräver ett "
            "konto för arrangörer.",
            link=("/mina-dokument", "Till era dokument"),
        )

    @app.exception_handler(CsrfRefusedError)
    async def _csrf(request: Request, _exc: CsrfRefusedError) -> Response:
        return error_page(
            request,
            status.HTTP_403_FORBIDDEN,
            "Formuläret kunde inte skickas",
            "Formuläret har gått ut eller kom inte från den här webbplatsen, så ingenting "
            "har sparats.",
            "Ladda om sidan och försök igen.",
            link=("/", "Till startsidan"),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_portal_request(request) and exc.status_code == status.HTTP_404_NOT_FOUND:
            return not_found_page(request)
        if is_portal_request(request) and exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            return error_page(
                request,
                exc.status_code,
                "Det gick inte att göra så",
                "Sidan tar inte emot den sortens förfrågan.",
                link=("/", "Till startsidan"),
            )
        return await http_exception_handler(request, exc)
