"""The use cases called with a runtime's parts, as the entry points (API, CLI, worker) call them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import redis

from service.batches.render_job import Outcome, render_inline
from service.database import models as m
from service.pdf.converter import PdfConverter
from service.regeneration.runs import run_regeneration
from service.regeneration.schedule import RunOutcome, run_nightly
from service.runtime import Runtime


def render_here(
    runtime: Runtime, document_ids: Sequence[int], *, pdf: PdfConverter | None = None
) -> list[Outcome]:
    """Render documents in this process, as a worker would."""
    return render_inline(
        document_ids,
        sessions=runtime.sessions,
        files=runtime.files,
        templates=runtime.templates,
        pdf=pdf,
    )


def regenerate_here(runtime: Runtime, **arguments: Any) -> m.RegenerationRun:
    """``run_regeneration`` with the runtime's collaborators and settings."""
    return run_regeneration(
        sessions=runtime.sessions,
        queue=runtime.queue,
        files=runtime.files,
        templates=runtime.templates,
        days_after_meeting=runtime.settings.regeneration_days_after_meeting,
        **arguments,
    )


def nightly(runtime: Runtime, client: redis.Redis, *, now: dt.datetime) -> RunOutcome:
    """The nightly entry as the beat task calls it."""
    return run_nightly(
        sessions=runtime.sessions,
        queue=runtime.queue,
        files=runtime.files,
        templates=runtime.templates,
        settings=runtime.settings,
        redis_client=client,
        now=now,
    )
