"""Import of a whole programme round in the sample-programme format."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.api.body import read_limited_body
from service.api.dependencies import OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES
from service.intake.programme_import import import_programme

router = APIRouter(tags=["import"], dependencies=[OrganiserDep], responses=ERROR_RESPONSES)


class ImportResult(BaseModel):
    """What an import created."""

    network_id: int
    network_ref: str
    organisations: int
    participants: int
    meetings: int
    assessment_rounds: int


@router.post(
    "/programmes/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": (
                "A programme in the format of docs/import-format.md. An indicator's "
                "measurements use the API's names value_total, value_women and value_men; "
                "files with the older value, women and men still import."
            ),
        }
    },
)
async def import_programme_file(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> ImportResult:
    """Import a programme all or nothing; 422 lists the JSON path of every bad field."""
    raw = await read_limited_body(request, max_bytes=runtime.settings.max_import_bytes)
    # Parsing, checking and writing a programme takes seconds for a large network: in the
    # thread pool, so the process's other requests are answered meanwhile.
    summary = await run_in_threadpool(
        import_programme, session, raw, max_bytes=runtime.settings.max_import_bytes
    )
    return ImportResult.model_validate(summary, from_attributes=True)
