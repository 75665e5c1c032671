"""The portal's defences: session cookies, CSRF tokens and the security headers of every page.

- The session cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` over HTTPS; it holds only
  a random value (see ``service.access.portal_sessions``).
- Every form carries a CSRF token: the session's own once signed in; before that (the login
  form) a random value also set as a cookie (double submit). A POST without the right token,
  or from another origin, is refused (403) before it does anything.
- Pages forbid framing (``frame-ancestors 'none'``) and inline scripts (a content security
  policy with ``script-src 'self'``), and send no ``Referer`` beyond the site.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.access.portal_sessions import PortalCaller

SESSION_COOKIE = "benchdocs_session"
CSRF_COOKIE = "benchdocs_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
# OpenAPI's own pages load their scripts from elsewhere: they keep their defaults.
_NO_POLICY_PREFIXES = ("/docs", "/redoc")


class CsrfRefusedError(Exception):
    """A form came back without its token, with a wrong one, or from another site."""


def is_https(request: Request, forced: bool | None) -> bool:
    """Whether cookies must be Secure: forced by settings, else the request's scheme."""
    return forced if forced is not None else request.url.scheme == "https"


@dataclass(frozen=True)
class CookieToSet:
    """A cookie a response must carry (the session, or the anonymous CSRF value)."""

    name: str
    value: str
    max_age: int | None = None

    def set_on(self, response: Response, request: Request) -> None:
        """Set it with the portal's flags."""
        forced = request.app.state.runtime.settings.portal_secure_cookies
        response.set_cookie(
            self.name,
            self.value,
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=is_https(request, forced),
        )


def clear_session_cookie(response: Response) -> None:
    """Make the browser forget its session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def csrf_token_for(request: Request, caller: PortalCaller | None) -> tuple[str, CookieToSet | None]:
    """The token this page's forms carry, and a cookie to set when the browser has none yet."""
    if caller is not None:
        return caller.csrf_token, None
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(existing) <= 100:
        return existing, None
    value = secrets.token_urlsafe(32)
    return value, CookieToSet(CSRF_COOKIE, value)


def _same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) must name this site when it sends one."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if referer is None:
            return origin is None  # "null": a sandboxed or privacy-mode form; refuse it
        origin = referer
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected or origin.startswith(expected + "/")


def verify_csrf(request: Request, caller: PortalCaller | None, sent: str | None) -> None:
    """Refuse a state-changing request that does not prove it came from our own form."""
    expected, _ = (caller.csrf_token, None) if caller else (request.cookies.get(CSRF_COOKIE), None)
    sent = sent or request.headers.get(CSRF_HEADER)
    if (
        not expected
        or not sent
        or len(sent) > 100
        or not secrets.compare_digest(sent.encode(), expected.encode())
        or not _same_origin(request)
    ):
        raise CsrfRefusedError


class SecurityHeadersMiddleware:
    """The headers every answer carries: no framing, no sniffing, no inline scripts.

    Plain ASGI (not BaseHTTPMiddleware), so streamed downloads pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers a route did not set itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(event: Message) -> None:
            if event["type"] == "http.response.start":
                headers = MutableHeaders(scope=event)
                for name, value in _ALWAYS.items():
                    if name not in headers:
                        headers[name] = value
                if not path.startswith(_NO_POLICY_PREFIXES):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                html = headers.get("content-type", "").startswith("text/html")
                if html and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(event)

        await self.app(scope, receive, send_with_headers)


_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
