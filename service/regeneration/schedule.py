"""The nightly regeneration: when it runs, which night a run belongs to, and its lock.

Two layers keep it to one run a night, whatever beat, workers or people do:

- a lock in Redis (``SET key token NX EX seconds``, released by a compare-and-delete script)
  so that two runs are never at work at once: two beats, a message delivered twice, a run by
  hand. It expires by itself, so a crashed run never blocks the next night;
- the run's key ``nightly:YYYY-MM-DD`` is unique in the database, so a night that already ran
  is skipped even when the first run had finished (and released the lock) before the second
  one started.

A run belongs to the night of the latest scheduled start at or before it (plus a few minutes,
for a clock that is slightly fast), in the configured time zone: with 02:00, runs at 01:59 and
02:01 are the same night, and a catch-up at 15:00 after a beat that was down at 02:00 is still
that night. On the spring night when 02:00 does not exist, the start is 03:00 summer time (as
Celery's crontab fires); on the autumn night when 02:00 comes twice, the first one counts and
the second is the same night anyway.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.errors import ConfigurationError, ConflictError, TransientError
from service.locks import ExpiringLock
from service.observability.metrics import count_regeneration_run
from service.pdf.converter import PdfConverter
from service.regeneration.runs import RENDERING, refresh_run, run_regeneration
from service.settings import Settings
from service.storage.file_store import FileStore
from service.task_queue import DocumentQueue

log = logging.getLogger(__name__)

NIGHTLY_TASK = "benchdocs.regenerate_nightly"
REFRESH_RUNS_TASK = "benchdocs.refresh_regeneration_runs"
LOCK_KEY = "benchdocs:regeneration:lock"
# A run this much before the scheduled start still belongs to that night (clock skew).
EARLY_TOLERANCE = dt.timedelta(minutes=10)
# Folding batch outcomes into their runs: often enough that finished_at is near the truth.
REFRESH_RUNS_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class NightlySchedule:
    """The local time the regeneration starts each night, in its time zone."""

    at: dt.time
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> NightlySchedule:
        """Parse ``regeneration_time`` (HH:MM) and ``regeneration_timezone``."""
        hour, minute = (int(part) for part in settings.regeneration_time.split(":"))
        try:
            zone = ZoneInfo(settings.regeneration_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(
                "invalid configuration: BENCHDOCS_REGENERATION_TIMEZONE: unknown time zone "
                f"{settings.regeneration_timezone!r}"
            ) from exc
        return cls(at=dt.time(hour, minute), zone=zone)

    def start_on(self, night: dt.date) -> dt.datetime:
        """When the run of that night starts; a time that DST skips moves on by the gap."""
        wall = dt.datetime.combine(night, self.at, tzinfo=self.zone)
        # Through UTC and back: a skipped wall time (02:30 in spring) becomes a real one.
        return wall.astimezone(dt.UTC).astimezone(self.zone)

    def night_of(self, now: dt.datetime) -> dt.date:
        """The local date of the latest scheduled start at or before ``now`` (plus tolerance)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        moment = now.astimezone(dt.UTC) + EARLY_TOLERANCE
        night = moment.astimezone(self.zone).date()
        if moment < self.start_on(night):
            night -= dt.timedelta(days=1)
        return night

    def run_key(self, now: dt.datetime) -> str:
        """The unique key of the night's run, such as ``nightly:2026-11-30``."""
        return f"nightly:{self.night_of(now).isoformat()}"


def nightly_run_key(now: dt.datetime, settings: Settings) -> str:
    """The run key of the night ``now`` belongs to, by the configured schedule."""
    return NightlySchedule.from_settings(settings).run_key(now)


class RunLock(ExpiringLock):
    """The regeneration's lock: one run at a time, across beats and hands."""

    def __init__(self, client: redis.Redis, *, expire_seconds: int, key: str = LOCK_KEY) -> None:
        super().__init__(client, key=key, expire_seconds=expire_seconds)


class NightlyResult(enum.StrEnum):
    """What one call of the nightly entry did."""

    RAN = "ran"
    SKIPPED_LOCKED = "skipped_locked"  # another run was at work
    SKIPPED_ALREADY_RAN = "skipped_already_ran"  # this night's run is recorded already


@dataclass(frozen=True)
class RunOutcome:
    """The nightly entry's result, the night's key and the run it recorded or found."""

    result: NightlyResult
    run_key: str
    run_id: int | None = None


def run_nightly(
    *,
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    files: FileStore,
    templates: TemplateLibrary,
    settings: Settings,
    redis_client: redis.Redis,
    now: dt.datetime,
) -> RunOutcome:
    """Regenerate the night's active meetings once: under the lock, unless the night ran."""
    schedule = NightlySchedule.from_settings(settings)
    key = schedule.run_key(now)
    lock = RunLock(redis_client, expire_seconds=settings.regeneration_lock_seconds)
    token = lock.acquire()
    if token is None:
        log.info("nightly regeneration %s skipped: another run holds the lock", key)
        count_regeneration_run("nightly", NightlyResult.SKIPPED_LOCKED.value)
        return RunOutcome(NightlyResult.SKIPPED_LOCKED, key)
    try:
        earlier = _run_id(sessions, key)
        if earlier is None:
            try:
                run = run_regeneration(
                    sessions=sessions,
                    queue=queue,
                    files=files,
                    templates=templates,
                    days_after_meeting=settings.regeneration_days_after_meeting,
                    trigger="nightly",
                    run_key=key,
                    dry_run=False,
                    meeting_ids=None,
                    today=schedule.night_of(now),
                )
            except ConflictError:
                # Recorded between our check and our insert: a run that held no lock.
                earlier = _run_id(sessions, key)
            else:
                log.info(
                    "nightly regeneration %s: run %d checked %d documents, %d changed",
                    key,
                    run.id,
                    run.checked,
                    len(run.changes),
                )
                return RunOutcome(NightlyResult.RAN, key, run.id)
        log.info("nightly regeneration %s skipped: it ran already as run %s", key, earlier)
        count_regeneration_run("nightly", NightlyResult.SKIPPED_ALREADY_RAN.value)
        return RunOutcome(NightlyResult.SKIPPED_ALREADY_RAN, key, earlier)
    finally:
        if not lock.release(token):
            log.warning(
                "nightly regeneration %s outlived its lock (%d s); raise "
                "BENCHDOCS_REGENERATION_LOCK_SECONDS",
                key,
                settings.regeneration_lock_seconds,
            )


def run_manual(
    *,
    sessions: sessionmaker[Session],
    queue: DocumentQueue,
    files: FileStore,
    templates: TemplateLibrary,
    settings: Settings,
    redis_client: redis.Redis | None,
    dry_run: bool,
    meeting_ids: Sequence[int] | None,
    now: dt.datetime,
    inline: bool = False,
    pdf: PdfConverter | None = None,
) -> m.RegenerationRun:
    """A regeneration asked for by hand (trigger ``manual``), by default of the active meetings.

    A real run takes the nightly lock, so it never overlaps another one (ConflictError while
    one is at work); a dry run changes nothing and needs no lock. Without a Redis client (an
    inline run with no broker) the caller accepts running unlocked.
    """
    today = now.astimezone(NightlySchedule.from_settings(settings).zone).date()
    lock = token = None
    if not dry_run and redis_client is not None:
        lock = RunLock(redis_client, expire_seconds=settings.regeneration_lock_seconds)
        try:
            token = lock.acquire()
        except redis.RedisError as exc:
            raise TransientError(f"the regeneration lock could not be taken: {exc}") from exc
        if token is None:
            raise ConflictError("another regeneration is at work; try again when it has finished")
    try:
        return run_regeneration(
            sessions=sessions,
            queue=queue,
            files=files,
            templates=templates,
            days_after_meeting=settings.regeneration_days_after_meeting,
            trigger="manual",
            run_key=None,
            dry_run=dry_run,
            meeting_ids=meeting_ids,
            today=today,
            inline=inline,
            pdf=pdf,
        )
    finally:
        if lock is not None and token is not None:
            lock.release(token)


def _run_id(sessions: sessionmaker[Session], run_key: str) -> int | None:
    with sessions() as session:
        return session.scalar(
            select(m.RegenerationRun.id).where(m.RegenerationRun.run_key == run_key)
        )


def refresh_unfinished_runs(sessions: sessionmaker[Session]) -> int:
    """Fold the outcome of each run's batch in; how many runs are still rendering."""
    with sessions() as session:
        run_ids = list(
            session.scalars(
                select(m.RegenerationRun.id)
                .where(m.RegenerationRun.status == RENDERING)
                .order_by(m.RegenerationRun.id)
            )
        )
    rendering = 0
    for run_id in run_ids:
        with sessions() as session, session.begin():
            if refresh_run(session, run_id).status == RENDERING:
                rendering += 1
    return rendering
