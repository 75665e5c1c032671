"""Reading request bodies with a size limit, before anything parses them.

Two shapes: a raw body (JSON imports) and a multipart upload (a ``file`` part and a few small
fields). Both refuse on the declared length first, then count the bytes as they arrive, so an
oversized body costs nothing to refuse and is never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Collection
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from service.errors import FileRejectedError, InvalidInputError, Problem, RejectionReason
from service.messages import message
from service.uploads.stored_uploads import too_large


class BodyTooLargeError(InvalidInputError):
    """A request body over its limit (HTTP 413)."""


# Room for the multipart boundaries, part headers and the small fields beside the file.
FORM_OVERHEAD_BYTES = 64 * 1024
FORM_FIELD_BYTES = 1024
_FORM_FIELDS = 5


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


async def _capped(
    request: Request, *, limit: int, refuse: Callable[[], Exception]
) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopped with ``refuse()`` as soon as more than ``limit`` arrived."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise refuse()
        yield chunk


async def read_limited_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes the limit (no full read first)."""
    declared = _declared_length(request)
    if declared is not None and declared > max_bytes:
        raise BodyTooLargeError(
            [Problem("$", f"body is {declared} bytes; the limit is {max_bytes}")]
        )

    def refuse() -> BodyTooLargeError:
        return BodyTooLargeError([Problem("$", f"body exceeds the limit of {max_bytes} bytes")])

    return b"".join([chunk async for chunk in _capped(request, limit=max_bytes, refuse=refuse)])


@dataclass(frozen=True)
class UploadForm:
    """A multipart upload: the ``file`` part's bytes and name, and the small fields asked for."""

    data: bytes
    file_name: str | None
    fields: dict[str, str]


MISSING_FILE = Problem.of("file", message("upload.missing_file"))


async def read_upload_form(
    request: Request,
    *,
    max_bytes: int,
    fields: Collection[str] = (),
    missing_file: Problem = MISSING_FILE,
) -> UploadForm:
    """The ``file`` part (at most ``max_bytes``) and the named small fields of a multipart body.

    Refuses a body that is not multipart (415), one over the cap (413, on its declared length
    or while it streams), an unreadable one and one without a file part (422, ``missing_file``).
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise FileRejectedError(
            RejectionReason.WRONG_TYPE,
            [Problem.of("file", message("upload.not_multipart"))],
        )
    limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise too_large(max_bytes)
    parser = MultiPartParser(
        request.headers,
        _capped(request, limit=limit, refuse=lambda: too_large(max_bytes)),
        max_files=1,
        max_fields=_FORM_FIELDS,
        max_part_size=FORM_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        text = message("upload.unreadable_form", error=str(exc))
        raise InvalidInputError([Problem.of("file", text)]) from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInputError([missing_file])
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_large(max_bytes)
        values = {k: v for k, v in form.multi_items() if k in fields and isinstance(v, str)}
        return UploadForm(data=data, file_name=upload.filename, fields=values)
    finally:
        await form.close()
