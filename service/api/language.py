"""Which language a request is answered in: Swedish for participants, English for the organiser."""

from __future__ import annotations

from fastapi import Request

from service.messages import Language, negotiate


def request_language(request: Request) -> Language:
    """``Accept-Language`` decides; without it a participant's token gets Swedish.

    A participant comes with ``Authorization: Bearer`` (or ``?token=`` on a download link);
    the organiser with ``X-API-Key``, and the organiser's API stays English by default.
    """
    headers = request.headers
    participant = "x-api-key" not in headers and (
        headers.get("authorization", "").lower().startswith("bearer")
        or "token" in request.query_params
    )
    default = Language.SV if participant else Language.EN
    return negotiate(headers.get("accept-language"), default=default)
