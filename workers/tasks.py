"""Tasks: load by id, call the use case, decide on retry. Nothing else lives here."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from functools import lru_cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown

from service.batches.control import resend_stale
from service.batches.document_maker import DocumentMaker
from service.batches.failures import is_transient
from service.batches.leases import LeaseKeeper
from service.batches.pdf_step import Step
from service.batches.render_job import Outcome, RenderJob
from service.batches.template_library import TemplateLibrary
from service.errors import DeliveryDeferredError, InputsNotReadyError
from service.mail.building import build_settings
from service.mail.daily import DueRules, run_daily
from service.mail.sending import MailSender, resend_stalled, retry_delay
from service.pdf.libreoffice import converter_for
from service.regeneration.schedule import (
    NIGHTLY_TASK,
    REFRESH_RUNS_TASK,
    refresh_unfinished_runs,
    run_nightly,
)
from service.runtime import Runtime, build_runtime
from service.settings import get_settings
from service.task_queue import (
    CONVERT_TASK,
    MAIL_DAILY_TASK,
    RENDER_MANY_TASK,
    RENDER_TASK,
    RESEND_MESSAGES_TASK,
    RESEND_TASK,
    SEND_MESSAGE_TASK,
)
from workers.celery_app import app

log = logging.getLogger(__name__)

# A pack whose documents are still being made comes back after a short wait (1 s, then longer
# up to 5 s), for up to about two hours (each wait far below the broker's visibility
# timeout), instead of holding a worker.
PACK_WAIT_SECONDS = 5
PACK_WAIT_RETRIES = 1440
# A chunk's unfinished documents start again one by one after this.
CHUNK_HANDOVER_SECONDS = 1


@lru_cache(maxsize=1)
def _runtime() -> Runtime:
    return build_runtime(get_settings())


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(_runtime().settings.redis_url)


@lru_cache(maxsize=1)
def _lease_keeper() -> LeaseKeeper:
    """This process's lease keeper; it also looks for lapsed leases, as beat does."""
    runtime = _runtime()
    return LeaseKeeper(
        runtime.sessions,
        lease_seconds=runtime.settings.lease_seconds,
        sweep=_resend_stale_now,
        sweep_seconds=runtime.settings.resend_interval_seconds,
    )


def _resend_stale_now() -> int:
    runtime = _runtime()
    stale = resend_stale(
        runtime.sessions,
        runtime.queue,
        older_than=dt.timedelta(seconds=runtime.settings.resend_after_seconds),
        now=runtime.clock.now(),
        settings=runtime.settings,
    )
    return len(stale)


@lru_cache(maxsize=1)
def _render_job() -> RenderJob:
    runtime = _runtime()
    maker = DocumentMaker(
        sessions=runtime.sessions,
        templates=runtime.templates,
        pdf=converter_for(runtime.settings),
    )
    return RenderJob(
        sessions=runtime.sessions,
        files=runtime.files,
        maker=maker,
        queue=runtime.queue,
        debug_delay_seconds=runtime.settings.debug_render_delay_seconds,
        pack_budget_seconds=runtime.settings.task_soft_time_limit_seconds / 2,
        leases=_lease_keeper(),
    )


@lru_cache(maxsize=1)
def _mail_sender() -> MailSender:
    runtime = _runtime()
    return MailSender.from_settings(
        runtime.settings, sessions=runtime.sessions, files=runtime.files
    )


def reset_process_state() -> None:
    """Forget the parent's engine after a fork; templates are parsed again lazily."""
    if _runtime.cache_info().currsize:
        _runtime().engine.dispose(close=False)
    _runtime.cache_clear()
    _lease_keeper.cache_clear()
    _render_job.cache_clear()
    _mail_sender.cache_clear()
    _redis.cache_clear()


def close_process_state() -> None:
    """Stop this process's LibreOffice, if it started one."""
    if _lease_keeper.cache_info().currsize:
        _lease_keeper().stop()
    if _render_job.cache_info().currsize:
        converter = _render_job().maker.pdf
        close = getattr(converter, "close", None)
        if close is not None:
            close()


# Connected when the worker imports this module (the app's ``include``), before it forks.
@worker_process_init.connect
def _fresh_process_state(**_: Any) -> None:
    # Database connections must not cross a fork: each pool child builds its own.
    reset_process_state()
    # Every pool process renews its leases and looks for lapsed ones, with or without beat.
    try:
        _lease_keeper().start()
    except Exception:  # a worker without its sweep still renders
        log.warning("could not start the lease keeper", exc_info=True)
    # Templates parsed before the first task, not while a batch waits for it; in a thread,
    # so the pool does not wait for this process to say it is up (the library has a lock).
    try:
        templates = _render_job().maker.templates
    except Exception:  # the first task reports it
        log.warning("could not prepare the render job", exc_info=True)
        return
    threading.Thread(
        target=_warm_up, args=(templates,), name="template-warm-up", daemon=True
    ).start()


def _warm_up(templates: TemplateLibrary) -> None:
    try:
        templates.warm_up()
    except Exception:  # its documents report what is wrong with a template
        log.warning("could not parse the templates ahead", exc_info=True)


@worker_process_shutdown.connect
def _release_process_state(**_: Any) -> None:
    close_process_state()


@app.task(name=RENDER_TASK, bind=True, max_retries=None)
def render_document(self: Task, document_id: int) -> str:
    """Render one Office file (or zip) by id; a PDF found here is forwarded to ``pdf``."""
    return _make(self, document_id, Step.RENDER)


# Never retried as a whole: what a chunk could not finish goes on one document per task,
# with that task's retries (and its own failure when it keeps failing).
@app.task(name=RENDER_MANY_TASK, max_retries=0)
def render_documents(document_ids: list[int]) -> dict[str, int]:
    """Render a chunk of Office files by id, their database work shared (``run_many``)."""
    job = _render_job()
    outcomes: dict[int, Outcome] = {}
    try:
        job.run_many(document_ids, outcomes=outcomes)
    except Exception as exc:  # the soft time limit too: it stops the chunk, not its documents
        unfinished = [document_id for document_id in document_ids if document_id not in outcomes]
        log.warning(
            "documents %s: the chunk stopped (%s); each goes on in a task of its own",
            unfinished,
            exc,
            exc_info=not is_transient(exc),
        )
        _hand_over_one_by_one(job, unfinished)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts


def _hand_over_one_by_one(job: RenderJob, document_ids: list[int]) -> None:
    """Send each document to the one-document task, after a second (a passing cause may have
    passed); unsent, its lease lapses and the periodic resend sends it."""
    for document_id in document_ids:
        if job.holds(document_id):
            _hold_for_retry(job, document_id, CHUNK_HANDOVER_SECONDS)
        try:
            render_document.apply_async((document_id,), countdown=CHUNK_HANDOVER_SECONDS)
        except Exception:
            log.warning("document %s: could not hand it over; resend finds it", document_id)


@app.task(name=CONVERT_TASK, bind=True, max_retries=None)
def convert_pdf(self: Task, document_id: int) -> str:
    """Make one PDF by id: from its stored Office file, or rendered here if it has none."""
    return _make(self, document_id, Step.PDF)


def _make(task: Task, document_id: int, step: Step) -> str:
    job = _render_job()
    try:
        return job.run(document_id, step=step).value
    except InputsNotReadyError as exc:
        if task.request.retries >= PACK_WAIT_RETRIES:
            job.give_up(document_id, exc, attempts=task.request.retries + 1)
            return "failed"
        wait = min(PACK_WAIT_SECONDS, 1 + task.request.retries)
        log.info("document %s: %s; trying again in %d s", document_id, exc, wait)
        _hold_for_retry(job, document_id, wait)
        raise task.retry(exc=exc, countdown=wait, max_retries=PACK_WAIT_RETRIES) from exc
    except SoftTimeLimitExceeded as exc:
        job.fail_unexpectedly(document_id, exc)
        return "failed"
    except Exception as exc:
        if not is_transient(exc):
            # Not transient: record it on the document and do not retry; the log has the trace.
            job.fail_unexpectedly(document_id, exc)
            raise
        retries = task.request.retries
        if retries >= _runtime().settings.task_max_retries:
            # Every document ends: failed, its cause named and marked transient, so the
            # periodic resend tries it again once the cause is gone.
            return _given_up(job, document_id, exc, attempts=retries + 1)
        wait = min(60, 2**retries)
        log.warning("document %s: %s; retry %d in %d s", document_id, exc, retries + 1, wait)
        _hold_for_retry(job, document_id, wait)
        raise task.retry(exc=exc, countdown=wait, max_retries=None) from exc


def _given_up(job: RenderJob, document_id: int, exc: BaseException, *, attempts: int) -> str:
    try:
        return job.give_up(document_id, exc, attempts=attempts).value
    except Exception:  # the database away too: the lease lapses, resend finds it
        log.exception("document %s: could not record its failure", document_id)
        return Outcome.FAILED.value


def _hold_for_retry(job: RenderJob, document_id: int, wait: float) -> None:
    try:
        job.hold_for_retry(document_id, wait)
    except Exception:  # the database away: the retry claims the row anyway
        log.warning("document %s: could not extend its lease for the retry", document_id)


@app.task(name=RESEND_TASK)
def resend_pending() -> int:
    """Periodic: re-send documents the database wants but nobody has finished."""
    return _resend_stale_now()


# Never retried: once the run is recorded its key turns a second attempt into a skip, and a
# failure before that is left to the next night, which checks the same documents again.
@app.task(name=NIGHTLY_TASK, max_retries=0)
def regenerate_nightly(now: str | None = None) -> str:
    """Beat, nightly: regenerate what changed in active meetings, once per night.

    ``now`` (ISO 8601 with offset) stands for the current time, to run a given night by hand.
    """
    moment = dt.datetime.fromisoformat(now) if now else _runtime().clock.now()
    runtime = _runtime()
    return run_nightly(
        sessions=runtime.sessions,
        queue=runtime.queue,
        files=runtime.files,
        templates=runtime.templates,
        settings=runtime.settings,
        redis_client=_redis(),
        now=moment,
    ).result.value


@app.task(name=REFRESH_RUNS_TASK)
def refresh_regeneration_runs() -> int:
    """Periodic: fold finished regeneration batches into their runs (counts, finished_at)."""
    return refresh_unfinished_runs(_runtime().sessions)


# Retries count against mail_max_attempts in the outbox (the message's attempts), not here.
@app.task(name=SEND_MESSAGE_TASK, bind=True, max_retries=None)
def send_message(self: Task, message_id: int) -> str:
    """Send one outbox message by id; a deferred delivery is tried again with back-off."""
    settings = _runtime().settings
    try:
        return _mail_sender().send(message_id, now=_runtime().clock.now()).value
    except DeliveryDeferredError as exc:
        countdown = retry_delay(
            self.request.retries,
            first_seconds=settings.mail_retry_seconds,
            resend_after_seconds=settings.mail_resend_after_seconds,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc


@app.task(name=RESEND_MESSAGES_TASK)
def resend_stalled_messages() -> int:
    """Periodic: queue again messages whose worker died mid-send or whose task was lost."""
    runtime = _runtime()
    return len(
        resend_stalled(
            runtime.sessions,
            runtime.queue,
            older_than=dt.timedelta(seconds=runtime.settings.mail_resend_after_seconds),
            # A queued task is lost only with the broker's data; waiting behind a slow server
            # is not lost. The broker itself re-delivers unacknowledged tasks after this.
            queued_older_than=dt.timedelta(
                seconds=runtime.settings.broker_visibility_timeout_seconds
            ),
            max_attempts=runtime.settings.mail_max_attempts,
            now=runtime.clock.now(),
        )
    )


# Never retried: the next run (tomorrow, or by hand) builds whatever is still due.
@app.task(name=MAIL_DAILY_TASK, max_retries=0)
def mail_daily(now: str | None = None) -> int:
    """Beat, daily: build and queue the invitations, reminders and notices due today.

    ``now`` (ISO 8601 with offset) stands for the current time, to run a given day by hand.
    """
    runtime = _runtime()
    settings = runtime.settings
    moment = dt.datetime.fromisoformat(now) if now else runtime.clock.now()
    outcome = run_daily(
        sessions=runtime.sessions,
        queue=runtime.queue,
        redis_client=_redis(),
        rules=DueRules(
            invitation_days_before=settings.invitation_days_before,
            reminder_days_before_deadline=settings.reminder_days_before_deadline,
        ),
        settings=build_settings(settings, by="schema", now=moment),
    )
    return len(outcome.report.added)
