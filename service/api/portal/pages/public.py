"""Pages anyone reaches: the start page, signing in and out, personal links, accessibility."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access.organisers import (
    LoginLimits,
    LoginRefusedError,
    TooManyAttemptsError,
    authenticate,
)
from service.access.portal_sessions import (
    end_session,
    open_organiser_session,
    open_participant_session,
)
from service.access.tokens import TokenStatus, token_status_of
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.portal.auth import (
    AnonymousFormDep,
    CheckedFormDep,
    MaybeCallerDep,
    session_rules,
)
from service.api.portal.rendering import page
from service.api.portal.security import SESSION_COOKIE, CookieToSet, clear_session_cookie
from service.clock import utcnow
from service.database import models as m
from service.intake.text_rules import FORBIDDEN_CONTROL

router = APIRouter(include_in_schema=False)

# When the statement was last reviewed (the law asks for the date).
STATEMENT_UPDATED = dt.date(2026, 12, 7)
_REFUSED_LINK = {
    TokenStatus.EXPIRED: "Länken har gått ut.",
    TokenStatus.REVOKED: "Länken har återkallats.",
    None: "Länken känns inte igen. Kontrollera att hela länken kom med när du kopierade den.",
}


def safe_next(path: str | None, default: str) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or len(path) > 500
        or FORBIDDEN_CONTROL.search(path)
        or any(ch.isspace() for ch in path)
    ):
        return default
    return path


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: MaybeCallerDep) -> Response:
    """The start page; a signed-in browser goes straight to its own start."""
    if caller is not None:
        target = "/arrangor" if caller.is_organiser else "/mina-dokument"
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    return page(request, "home.html", caller=None)


@router.get("/logga-in", response_class=HTMLResponse)
def login_form(request: Request, caller: MaybeCallerDep, nasta: str | None = None) -> Response:
    """The organisers' login form."""
    if caller is not None and caller.is_organiser:
        return RedirectResponse(safe_next(nasta, "/arrangor"), status.HTTP_303_SEE_OTHER)
    context = {"error": None, "username": "", "next_path": safe_next(nasta, "/arrangor")}
    return page(request, "login.html", context, caller=None)


@router.post("/logga-in", response_class=HTMLResponse)
def login(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    _checked: AnonymousFormDep,
    anvandarnamn: Annotated[str, Form(max_length=200)] = "",
    losenord: Annotated[str, Form(max_length=2000)] = "",
    nasta: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    """Sign an organiser in: a new session (never the one the browser came with)."""
    settings = runtime.settings
    limits = LoginLimits(
        per_account=settings.login_failures_per_account,
        per_client=settings.login_failures_per_client,
        window=dt.timedelta(minutes=settings.login_window_minutes),
    )
    now = utcnow()
    next_path = safe_next(nasta, "/arrangor")
    try:
        user = authenticate(
            session,
            username=anvandarnamn,
            password=losenord,
            client=_client(request),
            limits=limits,
            now=now,
        )
    except TooManyAttemptsError as exc:
        minutes = int(exc.retry_after.total_seconds() // 60)
        error = (
            f"För många misslyckade inloggningar. Vänta {minutes} minuter och försök igen, "
            "eller be en administratör om ett nytt lösenord."
        )
        context = {"error": error, "username": anvandarnamn[:100], "next_path": next_path}
        response = page(
            request,
            "login.html",
            context,
            caller=None,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response.headers["Retry-After"] = str(int(exc.retry_after.total_seconds()))
        return response
    except LoginRefusedError:
        context = {
            "error": "Fel användarnamn eller lösenord. Kontrollera stavningen och försök igen.",
            "username": anvandarnamn[:100],
            "next_path": next_path,
        }
        return page(request, "login.html", context, caller=None, status_code=401)
    opened = open_organiser_session(
        session,
        user,
        rules=session_rules(settings),
        now=now,
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    separator = "&" if "?" in next_path else "?"
    redirect = RedirectResponse(f"{next_path}{separator}klart=inloggad", status.HTTP_303_SEE_OTHER)
    CookieToSet(SESSION_COOKIE, opened.cookie).set_on(redirect, request)
    return redirect


@router.post("/logga-ut")
def logout(request: Request, session: SessionDep, _checked: CheckedFormDep) -> Response:
    """End this browser's session on the server and forget the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(session, cookie, now=utcnow())
    response = RedirectResponse("/?klart=utloggad", status.HTTP_303_SEE_OTHER)
    clear_session_cookie(response)
    return response


@router.get("/lank/{token}", response_class=HTMLResponse)
def personal_link(
    request: Request, token: str, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """A participant's personal link: a session for their organisation, then a clean address.

    The token leaves the address bar at once (303 to ``/mina-dokument``), is never sent on
    as a Referer, and is redacted from access logs.
    """
    now = utcnow()
    response: Response
    opened = open_participant_session(
        session,
        token,
        rules=session_rules(runtime.settings),
        now=now,
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    if opened is None:
        reason = _REFUSED_LINK.get(token_status_of(session, token, now=now), _REFUSED_LINK[None])
        response = page(
            request,
            "error.html",
            {
                "heading": "Länken fungerar inte",
                "paragraphs": [reason, "Be er processledare om en ny personlig länk."],
                "link": ("/", "Till startsidan"),
            },
            caller=None,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    else:
        response = RedirectResponse("/mina-dokument", status.HTTP_303_SEE_OTHER)
        CookieToSet(SESSION_COOKIE, opened.cookie).set_on(response, request)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _statement(
    request: Request,
    runtime: RuntimeDep,
    caller: MaybeCallerDep,
    *,
    report: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    sent: bool = False,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "accessibility.html",
        {
            "contact_email": runtime.settings.accessibility_contact_email,
            "updated": STATEMENT_UPDATED,
            "report": report or {"page": "", "description": "", "contact": ""},
            "report_errors": errors or [],
            "report_sent": sent,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/tillganglighet", response_class=HTMLResponse)
def accessibility_statement(
    request: Request, runtime: RuntimeDep, caller: MaybeCallerDep, skickad: bool = False
) -> Response:
    """The accessibility statement (tillgänglighetsredogörelse) and its report form."""
    return _statement(request, runtime, caller, sent=skickad)


@router.post("/tillganglighet/rapport", response_class=HTMLResponse)
def report_problem(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    caller: CheckedFormDep,
    beskrivning: Annotated[str, Form(max_length=20_000)] = "",
    sida: Annotated[str, Form(max_length=2_000)] = "",
    kontakt: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Store a reported accessibility problem for the organisers to see."""
    report = {"page": sida, "description": beskrivning, "contact": kontakt}
    errors: list[tuple[str, str]] = []
    description = beskrivning.strip()
    if not description:
        errors.append(("beskrivning", "Beskriv problemet innan du skickar rapporten."))
    elif len(description) > 5000:
        errors.append(("beskrivning", "Beskrivningen får vara högst 5 000 tecken."))
    for field_id, value in (("beskrivning", beskrivning), ("sida", sida), ("kontakt", kontakt)):
        if FORBIDDEN_CONTROL.search(value):
            errors.append((field_id, "Texten innehåller ett tecken som inte går att spara."))
    if len(sida) > 500:
        errors.append(("sida", "Sidans namn eller adress får vara högst 500 tecken."))
    contact = kontakt.strip()
    if contact and ("@" not in contact or len(contact) > 320 or any(c.isspace() for c in contact)):
        errors.append(
            ("kontakt", "Skriv e-postadressen som namn@exempel.se, eller lämna fältet tomt.")
        )
    if errors:
        return _statement(request, runtime, caller, report=report, errors=errors, status_code=422)
    session.add(
        m.AccessibilityReport(
            page=sida.strip() or None, description=description, contact=contact or None
        )
    )
    return RedirectResponse("/tillganglighet?skickad=true#rapportera", status.HTTP_303_SEE_OTHER)
