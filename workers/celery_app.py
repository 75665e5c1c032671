"""The Celery application (``celery -A workers.celery_app worker``) and beat's schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import crontab

from service.mail.daily import MAIL_LOCK_SECONDS
from service.regeneration.schedule import (
    NIGHTLY_TASK,
    REFRESH_RUNS_EVERY_SECONDS,
    REFRESH_RUNS_TASK,
    NightlySchedule,
)
from service.settings import PROJECT_ROOT, Settings, get_settings
from service.task_queue import (
    MAIL_DAILY_TASK,
    RESEND_MESSAGES_TASK,
    RESEND_TASK,
    celery_config,
)
from workers.observability import WorkerObservability
from workers.shutdown import SecondTermIsCold

# Where beat keeps its last-run times when no --schedule is given: never the working directory.
DEFAULT_BEAT_SCHEDULE_FILE = PROJECT_ROOT / "var" / "celerybeat-schedule"


class BeatScheduler(PersistentScheduler):  # type: ignore[misc]  # Celery has no types
    """Celery's file-backed scheduler, creating the file's directory first."""

    def setup_schedule(self) -> None:
        """Open (or create) the schedule file that keeps last-run times across restarts."""
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic tasks: re-send strays, fold finished runs in, the nightly regeneration."""
    nightly = NightlySchedule.from_settings(settings)
    mail_at = mail_time_in_app_zone(settings)
    return {
        "resend-stale-documents": {
            "task": RESEND_TASK,
            # Lapsed leases are found within this (and failed-transient rows re-sent).
            "schedule": settings.resend_interval_seconds,
            "options": {"expires": settings.resend_interval_seconds},
        },
        "refresh-regeneration-runs": {
            "task": REFRESH_RUNS_TASK,
            "schedule": REFRESH_RUNS_EVERY_SECONDS,
            # With workers down these pile up; the next one does the same work.
            "options": {"expires": REFRESH_RUNS_EVERY_SECONDS},
        },
        "resend-stalled-messages": {
            "task": RESEND_MESSAGES_TASK,
            "schedule": max(30.0, settings.mail_resend_after_seconds / 2),
        },
        "mail-daily": {
            "task": MAIL_DAILY_TASK,
            # Crontab entries are read in the app's time zone (the regeneration's); the daily
            # run's own zone may differ, so its local time is converted for today.
            "schedule": crontab(hour=mail_at.hour, minute=mail_at.minute),
        },
        "regenerate-nightly": {
            "task": NIGHTLY_TASK,
            # In the app's time zone (below), so 02:00 stays 02:00 local across DST.
            "schedule": crontab(hour=nightly.at.hour, minute=nightly.at.minute),
        },
    }


def mail_time_in_app_zone(settings: Settings) -> dt.time:
    """The daily mail time (mail_timezone) as a wall time in the app's zone, for crontab.

    Both zones are Europe/Stockholm by default, and then this is the configured time.
    """
    hour, minute = (int(part) for part in settings.mail_time.split(":"))
    mail_zone = ZoneInfo(settings.mail_timezone)
    app_zone = ZoneInfo(settings.regeneration_timezone)
    today = dt.datetime.now(mail_zone).date()
    moment = dt.datetime.combine(today, dt.time(hour, minute), tzinfo=mail_zone)
    return moment.astimezone(app_zone).time()


def create_celery_app(settings: Settings) -> Celery:
    """A configured app with its periodic tasks."""
    app = Celery("benchdocs", include=["workers.tasks"])
    app.conf.update(celery_config(settings))

    app.conf.update(
        # Crontab entries are read in this zone; beat resets its file if the zone changes.
        timezone=settings.regeneration_timezone,
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
        beat_scheduler=f"{__name__}:BeatScheduler",
        beat_schedule_filename=str(DEFAULT_BEAT_SCHEDULE_FILE),
        # Write last-run times after every sent task, not every 3 minutes: a beat killed just
        # after 02:00 must not send the night again on restart (the run key would stop it).
        beat_sync_every=1,
        task_annotations={
            NIGHTLY_TASK: nightly_time_limits(settings),
            MAIL_DAILY_TASK: mail_daily_time_limits(),
        },
    )
    return app


def mail_daily_time_limits() -> dict[str, float]:
    """The daily e-mail run's limits: its lock's expiry, as the nightly run's.

    It builds every due message of every meeting in one transaction (a link, a text and a
    calendar each: about 4 ms a message here). Under the tasks' default soft limit a large
    programme would be stopped, rolled back and stopped again every day.
    """
    seconds = float(MAIL_LOCK_SECONDS)
    return {"soft_time_limit": seconds * 0.9, "time_limit": seconds}


def nightly_time_limits(settings: Settings) -> dict[str, float]:
    """The nightly task's time limits: the hard one is the lock's expiry.

    Planning and queueing every change (a new template changes them all) takes longer than one
    document. At the lock's expiry the lock never lapses under a run still at work; the soft
    limit leaves time to record the failure and release the lock.
    """
    seconds = float(settings.regeneration_lock_seconds)
    return {"soft_time_limit": seconds * 0.9, "time_limit": seconds}


_settings = get_settings()
app = create_celery_app(_settings)
# Logging, per-task log ids, the metrics directory and the probe server (worker_probe_port).
WorkerObservability(_settings).connect()
# drills (issue 16 item 5): a second SIGTERM turns the warm shutdown cold.
SecondTermIsCold().connect()
