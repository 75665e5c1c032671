"""Organisations and participants from a spreadsheet: preview what changes, then apply.

The body is multipart/form-data with the roster in the field ``file`` (xlsx or CSV) and the
small fields ``remove_missing`` and (apply only) ``expected_digest``. It is read with a cap:
the declared length first, then the bytes as they arrive, so an oversized file costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from service.api.dependencies import OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES, ErrorOut, ProblemOut
from service.errors import FileRejectedError, InvalidInputError, Problem, RejectionReason
from service.intake.roster_import import (
    Action,
    RosterPlan,
    RosterUpload,
    apply_roster,
    preview_roster,
    upload_limits,
)

router = APIRouter(
    tags=["roster"],
    dependencies=[OrganiserDep],
    responses={
        **ERROR_RESPONSES,
        409: {"model": ErrorOut, "description": "The plan is not the one previewed."},
        413: {"model": ErrorOut, "description": "The file is over the upload limit."},
        415: {"model": ErrorOut, "description": "Not an xlsx or CSV file, or not multipart."},
    },
)

# Room for the multipart boundaries, part headers and the small fields beside the file.
FORM_OVERHEAD_BYTES = 64 * 1024
_FIELD_BYTES = 1024
_TRUE = {"true", "1", "yes", "on", "ja"}
_FALSE = {"false", "0", "no", "off", "nej", ""}


def _form_schema(*, with_digest: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The roster: xlsx or CSV (docs/roster-format.md).",
        },
        "remove_missing": {
            "type": "boolean",
            "default": False,
            "description": "Remove stored participants of the file's organisations that the "
            "file does not list (else they are kept and listed as not_in_file).",
        },
    }
    if with_digest:
        properties["expected_digest"] = {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "The preview's digest: apply only if the plan is still the same.",
        }
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


class FieldChangeOut(BaseModel):
    """One field: its stored value and the file's."""

    field: str
    old: str | None
    new: str | None


class OrganisationStepOut(BaseModel):
    """What applying does to one organisation, and the file rows that name it."""

    action: Action
    ref: str
    name: str
    id: int | None
    rows: list[int]
    changes: list[FieldChangeOut]


class ParticipantStepOut(BaseModel):
    """What applying does to one participant; ``matched_by`` is ref, email or name."""

    action: Action
    organisation_ref: str
    ref: str
    name: str
    id: int | None
    row: int | None
    matched_by: str | None
    changes: list[FieldChangeOut]


class RosterPlanOut(BaseModel):
    """A roster's plan: counts per action, each step, warnings, and the digest to apply by."""

    network_id: int
    network_ref: str
    source: str
    remove_missing: bool
    applied: bool
    digest: str
    counts: dict[str, dict[str, int]]
    organisations: list[OrganisationStepOut]
    participants: list[ParticipantStepOut]
    warnings: list[ProblemOut]

    @classmethod
    def of(cls, plan: RosterPlan) -> RosterPlanOut:
        """The answer for a plan."""
        return cls(
            network_id=plan.network_id,
            network_ref=plan.network_ref,
            source=plan.source,
            remove_missing=plan.remove_missing,
            applied=plan.applied,
            digest=plan.digest,
            counts=plan.counts,
            organisations=[
                OrganisationStepOut.model_validate(s, from_attributes=True)
                for s in plan.organisations
            ],
            participants=[
                ParticipantStepOut.model_validate(s, from_attributes=True)
                for s in plan.participants
            ],
            warnings=[ProblemOut(path=w.location, message=w.message) for w in plan.warnings],
        )


@dataclass(frozen=True)
class _RosterForm:
    upload: RosterUpload
    expected_digest: str | None


def _too_large(max_bytes: int) -> FileRejectedError:
    return FileRejectedError(
        RejectionReason.TOO_LARGE, [Problem("file", f"is larger than {max_bytes} bytes")]
    )


async def _read_form(request: Request, *, max_bytes: int) -> _RosterForm:
    """The roster file and the small fields, never reading more than the cap."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise FileRejectedError(
            RejectionReason.WRONG_TYPE,
            [Problem("file", "send the roster as multipart/form-data in the field 'file'")],
        )
    limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(max_bytes)

    async def capped() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(max_bytes)
            yield chunk

    parser = MultiPartParser(
        request.headers, capped(), max_files=1, max_fields=5, max_part_size=_FIELD_BYTES
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInputError([Problem("file", f"unreadable multipart body: {exc}")]) from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInputError([Problem("$.file", "is required: the roster file")])
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    finally:
        await form.close()
    problems = []
    flag = fields.get("remove_missing", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        problems.append(Problem("$.remove_missing", f"{flag!r} is not true or false"))
    digest = fields.get("expected_digest", "").strip().lower() or None
    if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
        problems.append(Problem("$.expected_digest", "is not a digest from a preview"))
    if problems:
        raise InvalidInputError(problems)
    return _RosterForm(
        upload=RosterUpload(
            data=data, file_name=upload.filename or "roster", remove_missing=flag in _TRUE
        ),
        expected_digest=digest,
    )


@router.post("/networks/{network_id}/roster/preview", openapi_extra=_form_schema(with_digest=False))
async def preview(
    network_id: int, request: Request, runtime: RuntimeDep, session: SessionDep
) -> RosterPlanOut:
    """What the roster would create, update and leave; changes nothing. 422 lists every bad row."""
    settings = runtime.settings
    form = await _read_form(request, max_bytes=settings.max_upload_bytes)
    # Reading a workbook and planning take a while: off the event loop.
    plan = await run_in_threadpool(
        preview_roster, session, network_id, form.upload, limits=upload_limits(settings)
    )
    return RosterPlanOut.of(plan)


@router.post("/networks/{network_id}/roster/apply", openapi_extra=_form_schema(with_digest=True))
async def apply(
    network_id: int, request: Request, runtime: RuntimeDep, session: SessionDep
) -> RosterPlanOut:
    """Apply the roster all or nothing; 409 if ``expected_digest`` no longer matches the plan."""
    settings = runtime.settings
    form = await _read_form(request, max_bytes=settings.max_upload_bytes)
    plan = await run_in_threadpool(
        apply_roster,
        session,
        network_id,
        form.upload,
        limits=upload_limits(settings),
        expected_digest=form.expected_digest,
    )
    return RosterPlanOut.of(plan)
