"""Regeneration runs: what each run checked, redid and why; start one by hand."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import redis
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.api.dependencies import OrganiserDep, RuntimeDep, SessionDep
from service.api.schemas import ERROR_RESPONSES, Page, PageQuery
from service.batches.control import batch_progress
from service.database import models as m
from service.errors import InvalidInputError, Problem
from service.intake.entities import Id
from service.regeneration.runs import refresh_run
from service.regeneration.schedule import run_manual

router = APIRouter(tags=["regeneration"], dependencies=[OrganiserDep], responses=ERROR_RESPONSES)


class RegenerationRequest(BaseModel):
    """A regeneration by hand: by default of every active meeting, for real."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(
        default=False, description="Only check and report what would change; render nothing."
    )
    meeting_ids: list[Id] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The meetings to check (default: those whose round is active).",
    )


class ChangeOut(BaseModel):
    """A document that changed, and why (``data changed: scores``, ``template changed``)."""

    description: str
    reasons: list[str]
    document_id: int | None = Field(description="The version it replaces; None when new.")
    meeting_id: int
    organisation_id: int | None
    kind: str
    format: str


class FailureOut(BaseModel):
    """A document that could not be checked (stage ``plan``) or made (stage ``render``)."""

    stage: str
    description: str | None = None
    error: str | None = None
    document_id: int | None = None
    more: int | None = Field(default=None, description="How many more, past the stored ones.")


class BatchProgressOut(BaseModel):
    """Where the run's re-renders stand with the workers."""

    id: int
    total: int
    finished: int
    counts: dict[str, int]
    complete: bool


class RegenerationSummaryOut(BaseModel):
    """One regeneration run: its counts and state."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    run_key: str
    trigger: str = Field(description="nightly, manual or upload.")
    dry_run: bool
    status: str = Field(description="running, rendering (workers busy), finished or failed.")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    meeting_ids: list[int]
    checked: int
    unchanged: int
    rerendered: int
    failed: int
    error: str | None
    batch_id: int | None


class RegenerationOut(RegenerationSummaryOut):
    """A run with what changed and why, what failed and why, and its batch's progress."""

    changes: list[ChangeOut]
    failures: list[FailureOut]
    batch: BatchProgressOut | None = None


def _run_out(session: Session, run: m.RegenerationRun) -> RegenerationOut:
    out = RegenerationOut.model_validate(
        {
            **RegenerationSummaryOut.model_validate(run).model_dump(),
            "changes": run.changes,
            "failures": run.failures,
        }
    )
    if run.batch_id is not None:
        progress = batch_progress(session, run.batch_id)
        out.batch = BatchProgressOut(
            id=run.batch_id,
            total=progress.total,
            finished=progress.finished,
            counts=progress.counts,
            complete=progress.is_complete,
        )
    return out


@router.get("/regenerations")
def list_regenerations(
    session: SessionDep, query: Annotated[PageQuery, Query()]
) -> Page[RegenerationSummaryOut]:
    """Every regeneration run, newest first."""
    run = m.RegenerationRun
    total = session.scalar(select(func.count()).select_from(run)) or 0
    rows = session.scalars(
        select(run)
        .order_by(run.started_at.desc(), run.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    return Page(
        items=[RegenerationSummaryOut.model_validate(row) for row in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get("/regenerations/{run_id}")
def read_regeneration(run_id: int, session: SessionDep) -> RegenerationOut:
    """One run: counts, state, each change and failure with its reason, the batch's progress."""
    return _run_out(session, refresh_run(session, run_id))


@router.post("/regenerations", status_code=status.HTTP_202_ACCEPTED)
def start_regeneration(
    runtime: RuntimeDep, request: RegenerationRequest | None = None
) -> RegenerationOut:
    """Check now and re-render what changed (workers render); a dry run answers with the plan.

    409 while another regeneration (the nightly one, say) is at work.
    """
    request = request or RegenerationRequest()
    if request.meeting_ids is not None:
        with runtime.sessions() as session:
            _require_meetings(session, request.meeting_ids)
    client = None if request.dry_run else redis.Redis.from_url(runtime.settings.redis_url)
    try:
        run = run_manual(
            sessions=runtime.sessions,
            queue=runtime.queue,
            files=runtime.files,
            templates=runtime.templates,
            settings=runtime.settings,
            redis_client=client,
            dry_run=request.dry_run,
            meeting_ids=request.meeting_ids,
            now=runtime.clock.now(),
        )
    finally:
        if client is not None:
            client.close()
    with runtime.sessions() as session:
        return _run_out(session, run)


def _require_meetings(session: Session, meeting_ids: list[int]) -> None:
    known = set(session.scalars(select(m.Meeting.id).where(m.Meeting.id.in_(meeting_ids))))
    problems = [
        Problem(f"$.meeting_ids[{index}]", f"meeting {meeting_id} not found")
        for index, meeting_id in enumerate(meeting_ids)
        if meeting_id not in known
    ]
    if problems:
        raise InvalidInputError(problems)
