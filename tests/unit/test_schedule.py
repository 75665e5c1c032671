"""The nightly schedule: which night a run belongs to, when beat fires, and beat restarts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from celery.schedules import crontab

from service.errors import ConfigurationError
from service.regeneration.schedule import NIGHTLY_TASK, NightlySchedule, nightly_run_key
from service.settings import PROJECT_ROOT, Settings, get_settings
from workers.celery_app import BeatScheduler, beat_schedule, create_celery_app

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NIGHTLY = "regenerate-nightly"


def local(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    """A wall-clock time in Stockholm (the first one, where DST makes a time occur twice)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=STOCKHOLM)


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def schedule_at(time: str = "02:00", zone: str = "Europe/Stockholm") -> NightlySchedule:
    return NightlySchedule.from_settings(
        Settings(regeneration_time=time, regeneration_timezone=zone)
    )


# --- which night a run belongs to ---------------------------------------------------------


def test_a_run_a_minute_early_or_late_belongs_to_the_same_night() -> None:
    schedule = schedule_at("02:00")

    early = schedule.run_key(local(2026, 11, 30, 1, 59))
    late = schedule.run_key(local(2026, 11, 30, 2, 1))

    assert early == late == "nightly:2026-11-30"


def test_the_key_is_the_local_date_whatever_zone_now_is_given_in() -> None:
    # 23:30 UTC on the 29th is 00:30 on the 30th in Stockholm (winter, UTC+1).
    schedule = schedule_at("00:00")

    assert schedule.run_key(utc(2026, 11, 29, 23, 30)) == "nightly:2026-11-30"


def test_a_catch_up_later_in_the_day_belongs_to_that_night() -> None:
    schedule = schedule_at("02:00")

    assert schedule.run_key(local(2026, 11, 30, 15, 0)) == "nightly:2026-11-30"
    assert schedule.run_key(local(2026, 12, 1, 1, 0)) == "nightly:2026-11-30"


def test_a_schedule_at_midnight_keeps_runs_either_side_of_midnight_together() -> None:
    schedule = schedule_at("00:00")

    before = schedule.run_key(local(2026, 11, 29, 23, 58))
    after = schedule.run_key(local(2026, 11, 30, 0, 3))

    assert before == after == "nightly:2026-11-30"


def test_more_than_the_tolerance_early_is_still_the_night_before() -> None:
    schedule = schedule_at("02:00")

    assert schedule.run_key(local(2026, 11, 30, 1, 40)) == "nightly:2026-11-29"


def test_on_the_spring_night_the_skipped_hour_starts_at_three_summer_time() -> None:
    # 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; 02:00 does not exist.
    schedule = schedule_at("02:00")

    start = schedule.start_on(dt.date(2026, 3, 29))

    assert start.astimezone(dt.UTC) == utc(2026, 3, 29, 1, 0)
    assert schedule.run_key(local(2026, 3, 29, 3, 0)) == "nightly:2026-03-29"
    assert schedule.run_key(local(2026, 3, 29, 1, 30)) == "nightly:2026-03-28"


def test_on_the_autumn_night_both_two_oclocks_are_the_same_night() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:00 to 03:00 happens twice.
    schedule = schedule_at("02:00")

    first = schedule.run_key(utc(2026, 10, 25, 0, 1))  # 02:01 CEST
    second = schedule.run_key(utc(2026, 10, 25, 1, 1))  # 02:01 CET

    assert first == second == "nightly:2026-10-25"


def test_the_key_follows_the_settings() -> None:
    settings = Settings(regeneration_time="23:30", regeneration_timezone="UTC")

    assert nightly_run_key(utc(2026, 11, 30, 23, 31), settings) == "nightly:2026-11-30"
    assert nightly_run_key(utc(2026, 11, 30, 23, 0), settings) == "nightly:2026-11-29"


def test_an_unknown_time_zone_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="BENCHDOCS_REGENERATION_TIMEZONE"):
        schedule_at(zone="Europe/Atlantis")


def test_now_must_carry_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_at().run_key(dt.datetime(2026, 11, 30, 2, 0))


# --- beat's entry --------------------------------------------------------------------------


class Clock:
    """The time a test says it is; beat and its crontab read it through the app."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(STOCKHOLM)


def clocked_app(clock: Clock, settings: Settings | None = None) -> Celery:
    app = create_celery_app(settings or Settings())
    app.now = clock  # beat and every schedule ask the app for the time
    return app


def nightly_entry(app: Celery) -> Any:
    entry = app.conf.beat_schedule[NIGHTLY]["schedule"]
    entry.app = app
    return entry


def test_beat_sends_these_tasks_by_name_at_these_intervals_and_this_local_time() -> None:
    settings = Settings(
        regeneration_time="03:15",
        regeneration_timezone="Europe/Helsinki",
        resend_after_seconds=900,
    )

    app = create_celery_app(settings)

    assert app.conf.beat_schedule == {
        "resend-stale-documents": {
            "task": "benchdocs.resend_pending",
            "schedule": 15.0,
            "options": {"expires": 15.0},
        },
        "refresh-regeneration-runs": {
            "task": "benchdocs.refresh_regeneration_runs",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        "resend-stalled-messages": {
            "task": "benchdocs.resend_stalled_messages",
            "schedule": 150.0,
        },
        # 08:00 in Stockholm (the mail's zone) is 09:00 in Helsinki (the app's).
        "mail-daily": {"task": "benchdocs.mail_daily", "schedule": crontab(minute=0, hour=9)},
        NIGHTLY: {"task": "benchdocs.regenerate_nightly", "schedule": crontab(minute=15, hour=3)},
    }
    assert app.conf.timezone == "Europe/Helsinki"
    assert crontab(minute=15, hour=3) != crontab(minute=0, hour=3)  # the comparison is sharp


def test_lapsed_leases_are_looked_for_every_resend_interval_whatever_the_resend_period() -> None:
    for resend_after in (20, 600):
        settings = Settings(resend_after_seconds=resend_after, resend_interval_seconds=7.0)
        assert beat_schedule(settings)["resend-stale-documents"] == {
            "task": "benchdocs.resend_pending",
            "schedule": 7.0,
            "options": {"expires": 7.0},  # piled up while workers were away: one is enough
        }


def test_every_task_beat_sends_is_one_the_worker_registers() -> None:
    from workers import tasks  # noqa: F401 - registers the tasks with the app
    from workers.celery_app import app

    sent = {entry["task"] for entry in beat_schedule(get_settings()).values()}

    assert sent == {
        "benchdocs.resend_pending",
        "benchdocs.refresh_regeneration_runs",
        "benchdocs.regenerate_nightly",
        "benchdocs.resend_stalled_messages",
        "benchdocs.mail_daily",
    }
    assert sent <= set(app.tasks)


def test_the_daily_mail_task_is_never_retried_and_has_its_locks_time_limit() -> None:
    from service.mail.daily import MAIL_LOCK_SECONDS
    from workers.celery_app import app

    task = app.tasks["benchdocs.mail_daily"]

    assert task.max_retries == 0
    assert task.time_limit == MAIL_LOCK_SECONDS
    assert task.soft_time_limit < task.time_limit


def test_the_nightly_task_is_never_retried_and_outlives_no_lock() -> None:
    from workers.celery_app import app
    from workers.tasks import regenerate_nightly

    task = app.tasks[NIGHTLY_TASK]
    assert regenerate_nightly.name == NIGHTLY_TASK

    assert task.max_retries == 0
    assert task.time_limit == get_settings().regeneration_lock_seconds
    assert task.soft_time_limit < task.time_limit


def test_the_app_reads_crontabs_in_the_regeneration_time_zone() -> None:
    app = create_celery_app(Settings(regeneration_timezone="Europe/Helsinki"))

    assert app.conf.timezone == "Europe/Helsinki"
    assert str(app.timezone) == "Europe/Helsinki"


@pytest.mark.parametrize(
    ("last_run", "now", "due", "next_in"),
    [
        # beat (re)started before 02:00, yesterday's run in its file: waits until 02:00
        (local(2026, 11, 29, 2, 0, 1), local(2026, 11, 30, 1, 30), False, dt.timedelta(minutes=30)),
        # at 02:00 it is due, and the next one is tomorrow at 02:00
        (local(2026, 11, 29, 2, 0, 1), local(2026, 11, 30, 2, 0, 0), True, dt.timedelta(days=1)),
        # restarted at 03:00 after tonight's run: nothing until tomorrow
        (local(2026, 11, 30, 2, 0, 1), local(2026, 11, 30, 3, 0), False, dt.timedelta(hours=23)),
        # restarted at 03:00 after a beat that was down at 02:00: catches up at once
        (local(2026, 11, 29, 2, 0, 1), local(2026, 11, 30, 3, 0), True, dt.timedelta(hours=23)),
        # spring night: due at 03:00 summer time (01:00 UTC), not before
        (local(2026, 3, 28, 2, 0, 1), utc(2026, 3, 29, 0, 59), False, dt.timedelta(minutes=1)),
        (local(2026, 3, 28, 2, 0, 1), utc(2026, 3, 29, 1, 0), True, dt.timedelta(hours=23)),
        # autumn night: the second 02:00 (01:00 UTC) is not a second run
        (utc(2026, 10, 25, 0, 0, 1), utc(2026, 10, 25, 1, 0, 1), False, dt.timedelta(hours=24)),
    ],
    ids=[
        "before-2",
        "at-2",
        "restart-after-run",
        "restart-after-missed-run",
        "spring-before",
        "spring-at-3-cest",
        "autumn-second-2",
    ],
)
def test_when_the_nightly_entry_is_due(
    last_run: dt.datetime, now: dt.datetime, due: bool, next_in: dt.timedelta
) -> None:
    entry = nightly_entry(clocked_app(Clock(now)))

    is_due, next_seconds = entry.is_due(last_run)

    assert is_due is due
    assert abs(next_seconds - next_in.total_seconds()) < 2


# --- beat restarts -------------------------------------------------------------------------


class RecordingScheduler(BeatScheduler):
    """Our beat scheduler with a broker that only notes what it was asked to send."""

    producer = None  # never connect to a broker

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **_: Any) -> None:
        # Celery's own bookkeeping, with the message noted instead of published.
        entry = self.reserve(entry) if advance else entry
        self.sent.append(entry.task)
        self._tasks_since_sync += 1
        if self.should_sync():
            self._do_sync()


def beat_on(app: Celery, schedule_file: Path) -> RecordingScheduler:
    return RecordingScheduler(app=app, schedule_filename=str(schedule_file))


def run_ticks(scheduler: RecordingScheduler, *, ticks: int = 10) -> list[str]:
    """Tick like beat's loop does (without sleeping); what was sent meanwhile."""
    before = len(scheduler.sent)
    for _ in range(ticks):
        scheduler.tick()
    return [name for name in scheduler.sent[before:] if name == NIGHTLY_TASK]


def test_a_beat_restarted_after_two_does_not_send_the_night_again(tmp_path: Path) -> None:
    clock = Clock(local(2026, 11, 30, 1, 59))
    schedule_file = tmp_path / "beat" / "celerybeat-schedule"
    first = beat_on(clocked_app(clock), schedule_file)
    assert run_ticks(first) == []
    clock.now = local(2026, 11, 30, 2, 0, 5)
    assert run_ticks(first) == [NIGHTLY_TASK]
    first.close()

    clock.now = local(2026, 11, 30, 2, 10)
    second = beat_on(clocked_app(clock), schedule_file)
    after_restart = run_ticks(second)
    clock.now = local(2026, 12, 1, 2, 0, 5)
    next_night = run_ticks(second)
    second.close()

    assert after_restart == []
    assert next_night == [NIGHTLY_TASK]


def test_a_beat_restarted_before_two_sends_the_night_once(tmp_path: Path) -> None:
    clock = Clock(local(2026, 11, 29, 2, 0, 5))
    schedule_file = tmp_path / "celerybeat-schedule"
    first = beat_on(clocked_app(clock), schedule_file)
    first.schedule[NIGHTLY].last_run_at = local(2026, 11, 28, 2, 0, 1)
    assert run_ticks(first) == [NIGHTLY_TASK]
    first.close()

    clock.now = local(2026, 11, 30, 1, 0)
    second = beat_on(clocked_app(clock), schedule_file)
    before_two = run_ticks(second)
    clock.now = local(2026, 11, 30, 2, 0, 1)
    at_two = run_ticks(second) + run_ticks(second)
    second.close()

    assert before_two == []
    assert at_two == [NIGHTLY_TASK]


_KILLED_BEAT = """
import datetime as dt, os, sys
from tests.unit.test_schedule import Clock, beat_on, clocked_app, run_ticks
fired_at = dt.datetime.fromisoformat(sys.argv[1])
clock = Clock(fired_at - dt.timedelta(minutes=2))
app = clocked_app(clock)
app.conf.beat_sync_every = int(sys.argv[3])
scheduler = beat_on(app, sys.argv[2])
scheduler.schedule["regenerate-nightly"].last_run_at = fired_at - dt.timedelta(days=1)
clock.now = fired_at - dt.timedelta(minutes=1)
run_ticks(scheduler)  # sends the minutely refresh: beat's first sync of the file
clock.now = fired_at
print(len(run_ticks(scheduler)), flush=True)
os._exit(0)  # killed: no close, no final sync
"""


def sent_after_a_killed_beat(tmp_path: Path, *, sync_every: int) -> list[str]:
    """Kill a beat right after it sent the night, restart it: what does it send?"""
    schedule_file = tmp_path / "celerybeat-schedule"
    fired_at = local(2026, 11, 30, 2, 0, 5)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLED_BEAT,
            fired_at.isoformat(),
            str(schedule_file),
            str(sync_every),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert killed.stdout.strip() == "1", killed.stderr

    clock = Clock(fired_at + dt.timedelta(seconds=30))
    restarted = beat_on(clocked_app(clock), schedule_file)
    sent = run_ticks(restarted)
    restarted.close()
    return sent


def test_a_beat_killed_right_after_sending_does_not_send_the_night_again(tmp_path: Path) -> None:
    sync_every = create_celery_app(Settings()).conf.beat_sync_every

    assert sent_after_a_killed_beat(tmp_path, sync_every=sync_every) == []


def test_with_celerys_default_sync_a_killed_beat_would_send_the_night_again(
    tmp_path: Path,
) -> None:
    # Why beat_sync_every is 1: by default beat writes its file every 3 minutes; the run key
    # in the database is what would then stop the second run.
    assert sent_after_a_killed_beat(tmp_path, sync_every=0) == [NIGHTLY_TASK]


def test_beat_keeps_its_file_under_var_not_in_the_working_directory() -> None:
    app = create_celery_app(Settings())

    assert Path(app.conf.beat_schedule_filename) == PROJECT_ROOT / "var" / "celerybeat-schedule"
    assert app.conf.beat_scheduler == "workers.celery_app:BeatScheduler"
