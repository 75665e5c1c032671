"""Organisations and participants from a spreadsheet: preview what changes, then apply.

The body is multipart/form-data with the roster in the field ``file`` (xlsx or CSV) and the
small fields ``remove_missing`` and (apply only) ``expected_digest``, read with a cap by
``service.api.body.read_upload_form``, so an oversized file costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.api.body import read_upload_form
from service.api.dependencies import OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES, ErrorOut, ProblemOut
from service.errors import InvalidInputError, Problem
from service.file_safety.file_inspection import limits_from_settings
from service.intake.roster_import import (
    Action,
    RosterPlan,
    RosterUpload,
    apply_roster,
    preview_roster,
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


async def _read_form(request: Request, *, max_bytes: int) -> _RosterForm:
    """The roster file and the small fields, never reading more than the cap."""
    form = await read_upload_form(
        request,
        max_bytes=max_bytes,
        fields=("remove_missing", "expected_digest"),
        missing_file=Problem("$.file", "is required: the roster file"),
    )
    problems = []
    flag = form.fields.get("remove_missing", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        problems.append(Problem("$.remove_missing", f"{flag!r} is not true or false"))
    digest = form.fields.get("expected_digest", "").strip().lower() or None
    if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
        problems.append(Problem("$.expected_digest", "is not a digest from a preview"))
    if problems:
        raise InvalidInputError(problems)
    return _RosterForm(
        upload=RosterUpload(
            data=form.data, file_name=form.file_name or "roster", remove_missing=flag in _TRUE
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
        preview_roster, session, network_id, form.upload, limits=limits_from_settings(settings)
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
        limits=limits_from_settings(settings),
        expected_digest=form.expected_digest,
    )
    return RosterPlanOut.of(plan)
