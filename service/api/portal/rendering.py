"""Pages from Jinja2 templates, with the Swedish filters every page uses.

Every page gets ``caller`` (who is signed in, or None) and ``csrf_token`` (for its forms);
``notice`` shows a short confirmation after a form was sent (post, redirect, get: the
redirect's ``?klart=`` names a fixed text of ``NOTICES``, never text from the address).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.access.portal_sessions import PortalCaller
from service.api.portal.security import csrf_token_for
from service.clock import utcnow
from service.documents import swedish
from service.messages import Language, describe_size

PORTAL_DIR = Path(__file__).resolve().parent
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Confirmations after a form: the key travels in ?klart=, the text never does. Each page
# module adds its own keys (``NOTICES.update(...)`` at import).
NOTICES: dict[str, str] = {
    "inloggad": "Du är inloggad.",
    "utloggad": "Du är utloggad.",
}


def local_time(moment: dt.datetime | None) -> str:
    """``7 december 2026 kl. 09.30`` in Swedish time; empty for no time."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    local = aware.astimezone(STOCKHOLM)
    return f"{swedish.long_date(local.date())} kl. {swedish.clock(local.time())}"


def days_left(day: dt.date | None, *, today: dt.date | None = None) -> str:
    """How far a date is from today, in words: ``om 5 dagar``, ``i dag``, ``för 2 dagar sedan``."""
    if day is None:
        return ""
    today = today or utcnow().astimezone(STOCKHOLM).date()
    delta = (day - today).days
    if delta == 0:
        return "i dag"
    if delta == 1:
        return "i morgon"
    if delta == -1:
        return "i går"
    if delta > 0:
        return f"om {delta} dagar"
    return f"för {-delta} dagar sedan"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(PORTAL_DIR / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        datum=swedish.long_date,
        datumtid=local_time,
        dagar_kvar=days_left,
        storlek=lambda size: "" if size is None else describe_size(size, Language.SV),
        tal=swedish.number,
    )
    return environment


ENVIRONMENT = _environment()


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    caller: PortalCaller | None,
    status_code: int = 200,
) -> HTMLResponse:
    """The template rendered for this request, with what every page needs."""
    csrf_token, new_cookie = csrf_token_for(request, caller)
    notice = NOTICES.get(request.query_params.get("klart", ""))
    html = ENVIRONMENT.get_template(template).render(
        {
            "request": request,
            "caller": caller,
            "csrf_token": csrf_token,
            "notice": notice,
            "path": request.url.path,
            **(context or {}),
        }
    )
    response = HTMLResponse(html, status_code=status_code)
    if new_cookie is not None:
        new_cookie.set_on(response, request)
    return response
