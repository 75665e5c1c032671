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
from service.batches.preflight import Gap, preflight
from service.domain.kinds import DocumentKind, DocumentStatus

router = APIRouter(tags=["generation"], dependencies=[OrganiserDep], responses=ERROR_RESPONSES)


class BatchRequest(BaseModel):
    """Which documents to generate; both lists default to everything."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[DocumentKind] | None = Field(default=None, max_length=20)
    organisation_ids: list[int] | None = Field(default=None, max_length=10_000)
    pdf: bool = Field(default=False, description="Also make a PDF of kinds that offer one.")
    allow_placeholders: bool = Field(
        default=False,
        description="Start even though participants' documents would print organiser "
        "placeholders ([Fyll i …]); without it such a batch is refused with 422 listing them "
        "(see GET /meetings/{id}/preflight).",
    )


class GapOut(BaseModel):
    """One organiser placeholder a document would print, and the fact to enter instead."""

    kind: DocumentKind
    organisation_id: int | None
    organisation_name: str | None
    placeholder: str
    fact: str

    @classmethod
    def of(cls, gap: Gap) -> GapOut:
        """The answer for a gap."""
        return cls(
            kind=gap.kind,
            organisation_id=gap.organisation_id,
            organisation_name=gap.organisation_name,
            placeholder=gap.placeholder,
            fact=gap.fact,
        )


class PreflightOut(BaseModel):
    """What participants' documents of a meeting would print as organiser placeholders."""

    meeting_id: int
    ready: bool = Field(description="True when no participant's document has a placeholder.")
    gaps: list[GapOut]


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
    """Record a batch for a meeting and queue one task per document.

    422 with every gap while participants' documents would print organiser placeholders,
    unless ``allow_placeholders`` is true.
    """
    request = request or BatchRequest()
    batch_id = start_batch(
        runtime.sessions,
        runtime.queue,
        meeting_id=meeting_id,
        kinds=request.kinds,
        organisation_ids=request.organisation_ids,
        with_pdf=request.pdf,
        allow_placeholders=request.allow_placeholders,
    )
    with runtime.sessions() as session:
        return _batch_out(batch_progress(session, batch_id))


@router.get("/meetings/{meeting_id}/preflight", response_model=PreflightOut)
def get_preflight(meeting_id: int, session: SessionDep) -> PreflightOut:
    """Per participant-facing document, the organiser placeholders it would print now."""
    gaps = preflight(session, meeting_id=meeting_id)
    return PreflightOut(meeting_id=meeting_id, ready=not gaps, gaps=[GapOut.of(g) for g in gaps])


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: int, session: SessionDep) -> BatchOut:
    """Progress of a batch: counts per state, each document's status and error."""
    return _batch_out(batch_progress(session, batch_id))
