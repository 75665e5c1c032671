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


def file_response(found: FileToSend, *, fallback_name: str) -> Response:
    """The file as an attachment under its (Swedish, UTF-8) name, never cached or sniffed."""
    ascii_name = header_safe(found.file_name) or fallback_name
    return Response(
        content=found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.file_name)}"
            ),
            **PRIVATE_HEADERS,
        },
    )
