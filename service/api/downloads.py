"""Files sent to a browser or a script: a safe file name and headers that keep them private."""

from __future__ import annotations

from fastapi import Response, status
from fastapi.responses import RedirectResponse, StreamingResponse

from service.access.visible_documents import FileToSend
from service.storage.disposition import content_disposition

# A downloaded file may hold personal data and its URL may hold a token: keep both out of
# shared caches and out of the Referer header of anything the file links to.
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def attachment(data: bytes, *, name: str, content_type: str, default: str) -> Response:
    """The bytes as an attachment named ``name`` (``default`` when nothing of it is ASCII)."""
    return Response(
        content=data,
        media_type=content_type,
        headers={"Content-Disposition": content_disposition(name, default), **PRIVATE_HEADERS},
    )


def file_response(found: FileToSend, *, fallback_name: str) -> Response:
    """The file as an attachment under its (Swedish, UTF-8) name, never cached or sniffed.

    Streamed from the store piece by piece; or, for an organiser when presigned downloads are
    on, a temporary redirect to the store's short-lived address (which sets the same name).
    """
    if found.redirect_url is not None:
        return RedirectResponse(
            found.redirect_url, status.HTTP_307_TEMPORARY_REDIRECT, headers=PRIVATE_HEADERS
        )
    assert found.chunks is not None
    return StreamingResponse(
        found.chunks,
        media_type=found.content_type,
        headers={
            "Content-Disposition": content_disposition(found.file_name, fallback_name),
            **PRIVATE_HEADERS,
        },
    )
