"""Regeneration runs: record a run, plan it, hand what changed to the workers, fold in the outcome.

A run is recorded before any work (its ``run_key`` is unique, so the same night never runs
twice), then planned (``planning``). Unless it is a dry run, every changed slot gets a pending
row in one batch of origin ``regeneration``, dispatched like any batch; ``refresh_run`` folds
the batch's outcome into the run once the workers are done.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.batches.control import dispatch, pending_document
from service.batches.render_job import render_inline
from service.batches.template_library import TemplateLibrary
from service.batches.template_snapshots import pin_batch_templates
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import BatchOrigin, DocumentStatus
from service.errors import ConflictError, NotFoundError
from service.observability.metrics import count_regeneration_run
from service.pdf.converter import PdfConverter
from service.regeneration.planning import (
    PlannedChange,
    RegenerationPlan,
    active_meeting_ids,
    describe,
    plan_regeneration,
)
from service.storage.file_store import FileStore
from service.task_queue import DocumentQueue

log = logging.getLogger(__name__)

# A run keeps at most this many changes in its record (counts are always complete).
MAX_RECORDED_CHANGES = 1000
MAX_RECORDED_FAILURES = 1000

RUNNING = "running"  # recorded, being planned
RENDERING = "rendering"  # its batch is with the workers
FINISHED = "finished"
FAILED = "failed"

_PLAN = "plan"  # a failure found while planning (the context could not be built)
_RENDER = "render"  # a document of the run's batch that failed


def run_regeneration(
    *,
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    files: FileStore,
    templates: TemplateLibrary,
    days_after_meeting: int,
    trigger: str,
    run_key: str | None,
    dry_run: bool,
    meeting_ids: Sequence[int] | None,
    today: dt.date,
    inline: bool = False,
    pdf: PdfConverter | None = None,
) -> m.RegenerationRun:
    """Check the meetings (by default the active ones) and re-render what changed.

    Raises ConflictError when a run with ``run_key`` exists already, NotFoundError for an
    unknown meeting id. With ``inline`` the batch is rendered in this process (``pdf`` converts
    its PDFs) and the run comes back finished; otherwise it is dispatched through the queue
    and the run comes back ``rendering`` (``refresh_run`` finishes it).
    """
    run_id, meetings = _record_run(
        sessions,
        days_after_meeting=days_after_meeting,
        run_key=run_key or f"{trigger}:{uuid.uuid4()}",
        trigger=trigger,
        dry_run=dry_run,
        meeting_ids=meeting_ids,
        today=today,
    )
    try:
        plan = plan_regeneration(sessions, templates.directory, meeting_ids=meetings)
        document_ids = _record_plan(sessions, run_id, plan, dry_run=dry_run)
    except Exception as exc:
        # The run must not stay "running" for ever; the log keeps the whole exception.
        log.exception("regeneration run %s failed", run_id)
        with unit_of_work(sessions) as session:
            run = session.get_one(m.RegenerationRun, run_id)
            run.status = FAILED
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = utcnow()
        count_regeneration_run(trigger, FAILED)
        raise
    if document_ids:
        if inline:
            render_inline(
                document_ids, sessions=sessions, files=files, templates=templates, pdf=pdf
            )
        else:
            dispatch(sessions, queue, document_ids)
    with unit_of_work(sessions) as session:
        run = refresh_run(session, run_id)
        count_regeneration_run(trigger, run.status)
        return run


def _record_run(
    sessions: sessionmaker[Session],
    *,
    days_after_meeting: int,
    run_key: str,
    trigger: str,
    dry_run: bool,
    meeting_ids: Sequence[int] | None,
    today: dt.date,
) -> tuple[int, list[int]]:
    """Insert the run (its key is unique) with the meetings it covers."""
    try:
        with unit_of_work(sessions) as session:
            existing = session.scalar(
                select(m.RegenerationRun.id).where(m.RegenerationRun.run_key == run_key)
            )
            if existing is not None:
                raise ConflictError(f"regeneration run {run_key!r} exists already (run {existing})")
            if meeting_ids is None:
                meetings = active_meeting_ids(
                    session,
                    today=today,
                    days_after=days_after_meeting,
                )
            else:
                meetings = list(dict.fromkeys(meeting_ids))
                known = set(session.scalars(select(m.Meeting.id).where(m.Meeting.id.in_(meetings))))
                missing = [meeting for meeting in meetings if meeting not in known]
                if missing:
                    raise NotFoundError(
                        f"meeting {', '.join(str(meeting) for meeting in missing)} not found"
                    )
            run = m.RegenerationRun(
                run_key=run_key,
                trigger=trigger,
                dry_run=dry_run,
                status=RUNNING,
                started_at=utcnow(),
                meeting_ids=meetings,
            )
            session.add(run)
            session.flush()
            return run.id, meetings
    except IntegrityError as exc:
        # Two runs with one key at the same moment: the unique index decides.
        raise ConflictError(f"regeneration run {run_key!r} exists already") from exc


def _record_plan(
    sessions: sessionmaker[Session], run_id: int, plan: RegenerationPlan, *, dry_run: bool
) -> list[int]:
    """Store the plan on the run and, unless dry, one pending row per change in one batch."""
    with unit_of_work(sessions) as session:
        run = session.get_one(m.RegenerationRun, run_id)
        run.checked = plan.checked
        run.unchanged = plan.unchanged
        run.changes = [_change_record(change) for change in plan.changes[:MAX_RECORDED_CHANGES]]
        run.failures = _failure_records(plan.failures)
        run.failed = len(plan.failures)
        if dry_run or not plan.changes:
            run.status = FINISHED
            run.finished_at = utcnow()
            return []
        batch = _create_batch(session, plan.changes)
        run.batch_id = batch.id
        run.status = RENDERING
        return [document.id for document in batch.documents]


def _failure_records(failures: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """The plan's failures as stored; past the cap, one record counts the rest."""
    records: list[dict[str, Any]] = [
        {"stage": _PLAN, "description": description, "error": reason}
        for description, reason in failures[:MAX_RECORDED_FAILURES]
    ]
    if len(failures) > MAX_RECORDED_FAILURES:
        records.append({"stage": _PLAN, "more": len(failures) - MAX_RECORDED_FAILURES})
    return records


def _plan_failure_count(records: Sequence[dict[str, Any]]) -> int:
    return sum(int(r.get("more", 1)) for r in records if r.get("stage") == _PLAN)


def _change_record(change: PlannedChange) -> dict[str, Any]:
    return {
        "description": change.description,
        "reasons": list(change.reasons),
        "document_id": change.document_id,
        "meeting_id": change.meeting_id,
        "organisation_id": change.organisation_id,
        "kind": change.kind.value,
        "format": change.format,
    }


def _create_batch(session: Session, changes: Sequence[PlannedChange]) -> m.Batch:
    """One batch for the whole run; each row names its own meeting.

    ``Batch.meeting_id`` is required, so a run over several meetings files its batch under
    the first of them.
    """
    meeting_ids = sorted({change.meeting_id for change in changes})
    titles = dict(
        session.execute(
            select(m.Meeting.id, m.Meeting.title).where(m.Meeting.id.in_(meeting_ids))
        ).all()
    )
    organisation_ids = {c.organisation_id for c in changes if c.organisation_id is not None}
    names = dict(
        session.execute(
            select(m.Organisation.id, m.Organisation.name).where(
                m.Organisation.id.in_(organisation_ids)
            )
        ).all()
    )
    batch = m.Batch(
        meeting_id=meeting_ids[0],
        requested_kinds=sorted({change.kind.value for change in changes}),
        origin=BatchOrigin.REGENERATION,
    )
    session.add(batch)
    for change in changes:
        batch.documents.append(
            pending_document(
                kind=change.kind,
                file_format=change.format,
                meeting_id=change.meeting_id,
                meeting_title=titles[change.meeting_id],
                organisation_id=change.organisation_id,
                organisation_name=names.get(change.organisation_id)
                if change.organisation_id is not None
                else None,
            )
        )
    session.flush()
    pin_batch_templates(session, batch)  # the nightly run renders from its snapshots
    return batch


def refresh_run(session: Session, run_id: int) -> m.RegenerationRun:
    """Fold the run's batch outcome in; finish the run once no document is on its way."""
    run = session.get(m.RegenerationRun, run_id)
    if run is None:
        raise NotFoundError(f"regeneration run {run_id} not found")
    if run.batch_id is None or run.status != RENDERING:
        return run
    doc = m.GeneratedDocument
    counts = dict(
        session.execute(
            select(doc.status, func.count())
            .where(doc.batch_id == run.batch_id)
            .group_by(doc.status)
        ).all()
    )
    failed_rows = session.execute(
        select(doc.id, doc.kind, doc.format, doc.error, m.Meeting.title, m.Organisation.name)
        .join(m.Meeting, m.Meeting.id == doc.meeting_id)
        .outerjoin(m.Organisation, m.Organisation.id == doc.organisation_id)
        .where(doc.batch_id == run.batch_id, doc.status == DocumentStatus.FAILED)
        .order_by(doc.id)
    ).all()
    planned = [f for f in run.failures if f.get("stage") == _PLAN]
    rendered = [
        {
            "stage": _RENDER,
            "description": describe(kind, file_format, organisation=name, meeting=title),
            "error": error or "failed",
            "document_id": document_id,
        }
        for document_id, kind, file_format, error, title, name in failed_rows
    ]
    run.failures = planned + rendered[:MAX_RECORDED_FAILURES]
    run.rerendered = counts.get(DocumentStatus.DONE, 0)
    run.failed = _plan_failure_count(planned) + len(failed_rows)
    on_the_way = sum(
        counts.get(status, 0)
        for status in (DocumentStatus.PENDING, DocumentStatus.QUEUED, DocumentStatus.RUNNING)
    )
    if on_the_way == 0:
        run.status = FAILED if run.failed else FINISHED
        run.finished_at = utcnow()
    return run
