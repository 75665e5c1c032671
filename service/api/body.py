"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

from fastapi import Request

from service.errors import InvalidInputError, Problem


class BodyTooLargeError(InvalidInputError):
    """A request body over its limit (HTTP 413)."""


async def read_limited_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes the limit (no full read first)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(
            [Problem("$", f"body is {declared} bytes; the limit is {max_bytes}")]
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError([Problem("$", f"body exceeds the limit of {max_bytes} bytes")])
        chunks.append(chunk)
    return b"".join(chunks)
