"""A stored file sent back as a download: a safe file name in both header forms."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response


def header_safe(name: str) -> str:
    """The plain ``filename=`` form: printable ASCII without quote or backslash.

    Everything else travels in ``filename*=``, which clients prefer.
    """
    return "".join(c for c in name if " " <= c <= "~" and c not in '"\\')


def attachment(data: bytes, *, name: str, content_type: str, default: str) -> Response:
    """The bytes as an attachment named ``name`` (``default`` when nothing of it is ASCII)."""
    ascii_name = header_safe(name) or default
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
