"""E-mail against a real SMTP server (aiosmtpd on 127.0.0.1) and the sample programme."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.session import unit_of_work
from service.mail.building import BuildReport, BuildSettings, build_invitations, build_settings
from service.mail.sending import MailSender
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue
from tests.integration.mail.smtp_server import SmtpServer, running_smtp_server

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Benchmarking 2 of the sample is on 2019-09-26: its invitations are due 14 days before.
BM2_DATE = dt.date(2019, 9, 26)
# 08:00 in Stockholm, as UTC: every stored time is UTC (SQLite would keep a zone's wall clock).
INVITATION_DAY = dt.datetime(2019, 9, 12, 8, 0, tzinfo=STOCKHOLM).astimezone(dt.UTC)
MAIL_FROM = "Benchmarking SKR <benchmarking@skr.example>"
REPLY_TO = "Karin Dahl <karin.dahl@skr.example>"
PORTAL_URL = "http://testserver"  # Starlette's TestClient answers there


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port of 127.0.0.1, accepting everything until scripted."""
    with running_smtp_server() as server:
        yield server


def mail_settings_for(base: Settings, server: SmtpServer | None, outbox: Path) -> Settings:
    """Settings that send through ``server`` (or, without one, write to ``outbox``)."""
    return base.model_copy(
        update={
            "smtp_host": server.host if server else None,
            "smtp_port": server.port if server else 587,
            "smtp_security": "none",
            "smtp_timeout_seconds": 10.0,
            "mail_from": MAIL_FROM,
            "mail_reply_to": REPLY_TO,
            "mail_outbox_dir": outbox,
            "participant_url": PORTAL_URL,
        }
    )


@pytest.fixture
def mail_settings(sample_imported: Settings, smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    """The sample programme, sending through the test's SMTP server."""
    return mail_settings_for(sample_imported, smtp_server, tmp_path / "outbox")


@pytest.fixture
def mail_runtime(mail_settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(mail_settings, queue=RecordingQueue())
    yield runtime
    runtime.close()


@pytest.fixture
def worker_settings(
    sample_imported: Settings, broker_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> Settings:
    """The sample programme, a real broker, the test's SMTP server, quick retries."""
    settings = mail_settings_for(sample_imported, smtp_server, tmp_path / "outbox")
    return settings.model_copy(update={"redis_url": broker_url, "mail_retry_seconds": 0.2})


@pytest.fixture
def worker_runtime(worker_settings: Settings) -> Iterator[Runtime]:
    """The runtime of an entry point: its queue is the real broker."""
    runtime = build_runtime(worker_settings)
    yield runtime
    runtime.close()


def mail_sender(runtime: Runtime, *, max_attempts: int | None = None) -> MailSender:
    sender = MailSender.from_settings(
        runtime.settings, sessions=runtime.sessions, files=runtime.files
    )
    if max_attempts is not None:
        sender.max_attempts = max_attempts
    return sender


def meeting_id(sessions: sessionmaker[Session], ref: str = "bm2") -> int:
    with sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def building(
    settings: Settings, now: dt.datetime = INVITATION_DAY, *, hold: bool | None = None
) -> BuildSettings:
    return build_settings(settings, by="test", now=now.astimezone(dt.UTC), hold=hold)


def invite(
    runtime: Runtime,
    ref: str = "bm2",
    now: dt.datetime = INVITATION_DAY,
    *,
    hold: bool | None = None,
) -> BuildReport:
    """Build the meeting's invitations, committed."""
    with unit_of_work(runtime.sessions) as session:
        return build_invitations(
            session, meeting_id(runtime.sessions, ref), building(runtime.settings, now, hold=hold)
        )


def outbox(sessions: sessionmaker[Session], **where: object) -> list[m.OutboxMessage]:
    """Outbox rows, by id, filtered by column values."""
    with sessions() as session:
        query = select(m.OutboxMessage).order_by(m.OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(m.OutboxMessage, column) == value)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def send_all(sender: MailSender, ids: list[int], now: dt.datetime = INVITATION_DAY) -> list[str]:
    """Send each message once, as a worker would; the outcomes."""
    return [sender.send(message_id, now=now.astimezone(dt.UTC)).value for message_id in ids]
