"""A participant stops the reminders: the link in every reminder, and its one-click POST.

Mail scanners and link previews open links by GET, so GET only asks; the POST stops the
reminders. The POST needs no CSRF token and no session: the key in the address is the
capability (random, stored only hashed, in one participant's reminders), and a mail client's
RFC 8058 one-click request (``List-Unsubscribe=One-Click``) carries neither. A forged POST
from another site would need the key, and one that had it could stop only those reminders.
Unknown and malformed keys get the same 404 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.api.dependencies import SessionDep
from service.api.portal.rendering import page
from service.clock import utcnow
from service.mail.opt_out import OptOutTarget, opt_out, opt_out_target

router = APIRouter(include_in_schema=False)


def _answer(request: Request, target: OptOutTarget | None, *, done: bool, key: str) -> Response:
    if target is None:
        response = page(
            request,
            "error.html",
            {
                "heading": "Länken fungerar inte",
                "paragraphs": [
                    "Länken för att avsluta påminnelser känns inte igen. Kontrollera att hela "
                    "länken kom med, eller kontakta er processledare.",
                ],
                "link": ("/", "Till startsidan"),
            },
            caller=None,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    else:
        response = page(
            request,
            "opt_out.html",
            {"target": target, "done": done, "action": f"/e-post/avsluta/{key}"},
            caller=None,
        )
    # The address holds the key: it must not travel on as a Referer or stay in a cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/e-post/avsluta/{key}", response_class=HTMLResponse)
def confirm_opt_out(request: Request, key: str, session: SessionDep) -> Response:
    """Ask before stopping the reminders (a GET changes nothing)."""
    return _answer(request, _target(session, key), done=False, key=key)


@router.post("/e-post/avsluta/{key}", response_class=HTMLResponse)
def do_opt_out(request: Request, key: str, session: SessionDep) -> Response:
    """Stop the participant's reminders (the page's button, or a mail client's one click)."""
    target = opt_out(session, key, now=utcnow()) if len(key) <= 100 else None
    return _answer(request, target, done=True, key=key)


def _target(session: Session, key: str) -> OptOutTarget | None:
    return opt_out_target(session, key) if len(key) <= 100 else None
