"""Batches of generated documents: start one, watch it.

Downloads are in ``routes/access.py``, where participants may fetch their own documents.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from service.api.dependencies import OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES
from service.batches.control import BatchProgress, batch_progress, start_batch
from service.domain.kinds import DocumentKind, DocumentStatus

router = APIRouter(tags=["generation"], dependencies=[OrganiserDep], responses=ERROR_RESPONSES)


class BatchRequest(BaseModel):
    """Which documents to generate; both lists default to everything."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[DocumentKind] | None = Field(default=None, max_length=20)
    organisation_ids: list[int] | None = Field(default=None, max_length=10_000)
    pdf: bool = Field(default=False, description="Also make a PDF of kinds that offer one.")


class DocumentOut(BaseModel):
    """One wanted document and where it stands."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: DocumentKind
    format: str
    organisation_id: int | None
    status: DocumentStatus
    attempts: int
    error: str | None
    file_name: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    render_ms: float | None
    finished_at: dt.datetime | None
    download_url: str | None = None


class BatchOut(BaseModel):
    """A batch's progress: counts per state and every document."""

    id: int
    meeting_id: int
    created_at: dt.datetime
    requested_kinds: list[str]
    total: int
    counts: dict[str, int]
    complete: bool
    documents: list[DocumentOut]


def _batch_out(progress: BatchProgress) -> BatchOut:
    batch = progress.batch
    documents = []
    for doc in batch.documents:
        out = DocumentOut.model_validate(doc)
        if doc.status == DocumentStatus.DONE:
            out.download_url = f"/api/v1/documents/{doc.id}/file"
        documents.append(out)
    return BatchOut(
        id=batch.id,
        meeting_id=batch.meeting_id,
        created_at=batch.created_at,
        requested_kinds=batch.requested_kinds,
        total=progress.total,
        counts=progress.counts,
        complete=progress.is_complete,
        documents=documents,
    )


@router.post(
    "/meetings/{meeting_id}/batches",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
)
def create_batch(
    meeting_id: int, runtime: RuntimeDep, request: BatchRequest | None = None
) -> BatchOut:
    """Record a batch for a meeting and queue one task per document."""
    request = request or BatchRequest()
    batch_id = start_batch(
        runtime.sessions,
        runtime.queue,
        meeting_id=meeting_id,
        kinds=request.kinds,
        organisation_ids=request.organisation_ids,
        with_pdf=request.pdf,
    )
    with runtime.sessions() as session:
        return _batch_out(batch_progress(session, batch_id))


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: int, session: SessionDep) -> BatchOut:
    """Progress of a batch: counts per state, each document's status and error."""
    return _batch_out(batch_progress(session, batch_id))
