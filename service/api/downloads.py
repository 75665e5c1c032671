"""Files sent to a browser or a script: a safe file name and headers that keep them private."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from service.access.visible_documents import FileToSend

# A downloaded file may hold personal data and its URL may hold a token: keep both out of
# shared caches and out of the Referer header of anything the file links to.
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def header_safe(name: str) -> str:
    """The plain ``filename=`` parameter: printable ASCII without quote or backslash.

    Everything else is in ``filename*=``, which clients prefer.
    """
    return "".join(c for c in name if " " <= c <= "~" and c not in '"\\')


def content_disposition(name: str, default: str) -> str:
    """An attachment named ``name``: ASCII for old clients (``default`` if none), else UTF-8."""
    ascii_name = header_safe(name) or default
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def attachment(data: bytes, *, name: str, content_type: str, default: str) -> Response:
    """The bytes as an attachment named ``name`` (``default`` when nothing of it is ASCII)."""
    return Response(
        content=data,
        media_type=content_type,
        headers={"Content-Disposition": content_disposition(name, default), **PRIVATE_HEADERS},
    )


def file_response(found: FileToSend, *, fallback_name: str) -> Response:
    """The file as an attachment under its (Swedish, UTF-8) name, never cached or sniffed."""
    return attachment(
        found.data, name=found.file_name, content_type=found.content_type, default=fallback_name
    )
