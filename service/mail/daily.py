"""The daily e-mail run: what is due today for every coming meeting, built once and queued.

For each meeting not yet held, on the local date ``today`` (Europe/Stockholm by default):

- from ``invitation_days_before`` days before the meeting: invitations (to anyone not yet
  invited: someone added to a delegation later is invited the next day), and a calendar update
  to everyone invited if the meeting's time or place has changed since;
- from ``reminder_days_before_deadline`` days before the upload deadline until the deadline:
  reminders to organisations missing an upload (once per deadline);
- from the day after the deadline: the list of late uploads to the process leader (once).

Due means "on or after", so a day the schedule missed is caught up on the next run; every
message has a purpose key, so a second run on the same day (two beats, a hand and a beat)
adds nothing. A Redis lock keeps two runs from building at the same moment.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.deadlines import upload_deadline
from service.locks import ExpiringLock
from service.mail.building import (
    BuildReport,
    BuildSettings,
    build_invitations,
    build_late_notice,
    build_meeting_changes,
    build_upload_reminders,
)
from service.mail.sending import queue_messages
from service.task_queue import MessageQueue

log = logging.getLogger(__name__)

MAIL_LOCK_KEY = "benchdocs:mail:daily-lock"
MAIL_LOCK_SECONDS = 1800


@dataclass(frozen=True)
class DueRules:
    """How many days before what each kind of message is due (settings)."""

    invitation_days_before: int
    reminder_days_before_deadline: int


class DueKind(enum.StrEnum):
    """What may be due for a meeting on a day."""

    INVITATIONS = "invitations"
    REMINDERS = "reminders"
    LATE_NOTICE = "late_notice"


def due_on(
    today: dt.date, *, meeting_date: dt.date, deadline: dt.date, rules: DueRules
) -> list[DueKind]:
    """What is due for one meeting on a local date (pure: the schedule's whole logic)."""
    if today >= meeting_date:
        return []
    due = []
    if today >= meeting_date - dt.timedelta(days=rules.invitation_days_before):
        due.append(DueKind.INVITATIONS)
    if deadline - dt.timedelta(days=rules.reminder_days_before_deadline) <= today <= deadline:
        due.append(DueKind.REMINDERS)
    if today > deadline:
        due.append(DueKind.LATE_NOTICE)
    return due


@dataclass(frozen=True)
class DailyOutcome:
    """What one daily run did."""

    ran: bool  # False: another run held the lock
    today: dt.date
    report: BuildReport


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    """The date where the organisations are."""
    return now.astimezone(ZoneInfo(timezone)).date()


def build_due(
    session: Session, *, today: dt.date, rules: DueRules, settings: BuildSettings
) -> BuildReport:
    """Build every message due today for every meeting not yet held."""
    report = BuildReport()
    meetings = session.scalars(
        select(m.Meeting).where(m.Meeting.date > today).order_by(m.Meeting.date, m.Meeting.id)
    ).all()
    for meeting in meetings:
        deadline = upload_deadline(meeting.date, meeting.upload_deadline_override)
        for due in due_on(today, meeting_date=meeting.date, deadline=deadline, rules=rules):
            if due is DueKind.INVITATIONS:
                report.merge(build_meeting_changes(session, meeting.id, settings))
                report.merge(build_invitations(session, meeting.id, settings))
            elif due is DueKind.REMINDERS:
                report.merge(build_upload_reminders(session, meeting.id, settings))
            else:
                report.merge(build_late_notice(session, meeting.id, settings))
    return report


def run_daily(
    *,
    sessions: sessionmaker[Session],
    queue: MessageQueue,
    redis_client: redis.Redis,
    rules: DueRules,
    settings: BuildSettings,
) -> DailyOutcome:
    """The beat's entry: lock, build what is due, commit, then queue what was added."""
    today = local_today(settings.now, settings.timezone)
    lock = ExpiringLock(redis_client, key=MAIL_LOCK_KEY, expire_seconds=MAIL_LOCK_SECONDS)
    token = lock.acquire()
    if token is None:
        log.info("daily mail run skipped: another run holds the lock")
        return DailyOutcome(ran=False, today=today, report=BuildReport())
    try:
        with unit_of_work(sessions) as session:
            report = build_due(session, today=today, rules=rules, settings=settings)
    finally:
        lock.release(token)
    queue_messages(sessions, queue, report.added)
    log.info(
        "daily mail run for %s: %d new, %d already there, %d skipped",
        today,
        len(report.added),
        report.already_there,
        len(report.skipped),
    )
    return DailyOutcome(ran=True, today=today, report=report)
