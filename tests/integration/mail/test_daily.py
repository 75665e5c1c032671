"""The daily run on the sample's Benchmarking 2: once a day, caught up, locked, and what is due."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageKind, ParticipantRole, UploadKind
from service.locks import ExpiringLock
from service.mail.daily import MAIL_LOCK_KEY, DailyOutcome, DueRules, build_due, run_daily
from service.mail.opt_out import opt_out
from service.runtime import Runtime
from tests.conftest import RecordingQueue
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    building,
    mail_sender,
    meeting_id,
    outbox,
    send_all,
)
from tests.integration.mail.smtp_server import SmtpServer

RULES = DueRules(invitation_days_before=14, reminder_days_before_deadline=3)
DEADLINE = dt.date(2019, 9, 19)  # Benchmarking 2's upload deadline
REMINDER_DAY = INVITATION_DAY + dt.timedelta(days=4)  # 16 September: 3 days before
DAY_AFTER_DEADLINE = INVITATION_DAY + dt.timedelta(days=8)  # 20 September


@pytest.fixture
def redis_client(broker_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker_url)
    yield client
    client.close()


def daily(runtime: Runtime, client: redis.Redis, now: dt.datetime) -> DailyOutcome:
    return run_daily(
        sessions=runtime.sessions,
        queue=runtime.queue,
        redis_client=client,
        rules=RULES,
        settings=building(runtime.settings, now),
    )


def queued(runtime: Runtime) -> list[int]:
    assert isinstance(runtime.queue, RecordingQueue)
    return runtime.queue.messages


def count(runtime: Runtime, kind: MessageKind) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(m.OutboxMessage)
                .where(m.OutboxMessage.kind == kind)
            )
            or 0
        )


def test_the_daily_run_twice_on_the_same_day_builds_and_queues_nothing_new(
    mail_runtime: Runtime, redis_client: redis.Redis
) -> None:
    first = daily(mail_runtime, redis_client, INVITATION_DAY)
    queued_first = list(queued(mail_runtime))

    second = daily(mail_runtime, redis_client, INVITATION_DAY + dt.timedelta(hours=3))

    assert first.ran and second.ran
    assert first.today == dt.date(2019, 9, 12)
    assert len(first.report.added) == 28
    assert sorted(queued_first) == sorted(first.report.added)
    assert second.report.added == []
    assert second.report.already_there == 28
    assert queued(mail_runtime) == queued_first
    assert count(mail_runtime, MessageKind.INVITATION) == 28
    assert ExpiringLock(redis_client, key=MAIL_LOCK_KEY, expire_seconds=1).holder() is None


def test_a_run_while_another_holds_the_lock_does_nothing(
    mail_runtime: Runtime, redis_client: redis.Redis
) -> None:
    lock = ExpiringLock(redis_client, key=MAIL_LOCK_KEY, expire_seconds=60)
    token = lock.acquire()
    assert token is not None

    skipped = daily(mail_runtime, redis_client, INVITATION_DAY)
    lock.release(token)
    after = daily(mail_runtime, redis_client, INVITATION_DAY)

    assert not skipped.ran
    assert skipped.report.added == []
    assert after.ran
    assert len(after.report.added) == 28


def test_two_runs_at_the_same_moment_build_each_message_once(
    mail_runtime: Runtime, broker_url: str
) -> None:
    start = threading.Barrier(2)
    outcomes: list[DailyOutcome] = []
    errors: list[BaseException] = []

    def run() -> None:
        client = redis.Redis.from_url(broker_url)
        try:
            start.wait(timeout=10)
            outcomes.append(daily(mail_runtime, client, INVITATION_DAY))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(len(o.report.added) for o in outcomes) == 28
    assert count(mail_runtime, MessageKind.INVITATION) == 28
    assert sorted(queued(mail_runtime)) == sorted(i for o in outcomes for i in o.report.added)


def test_two_builds_without_the_lock_still_add_each_message_once_and_issue_no_stray_links(
    mail_runtime: Runtime,
) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with unit_of_work(mail_runtime.sessions) as session:
                start.wait(timeout=10)
                build_due(
                    session,
                    today=INVITATION_DAY.date(),
                    rules=RULES,
                    settings=building(mail_runtime.settings),
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    with mail_runtime.sessions() as session:
        links = session.scalars(
            select(m.AccessToken.label).where(m.AccessToken.label.like("E-post:%"))
        ).all()
    assert errors == [] or all("locked" in str(e) for e in errors), errors
    assert count(mail_runtime, MessageKind.INVITATION) == 28
    assert len(links) == 27


def test_a_day_the_schedule_missed_is_caught_up_on_the_next_run(
    mail_runtime: Runtime, redis_client: redis.Redis
) -> None:
    two_days_late = INVITATION_DAY + dt.timedelta(days=2)

    outcome = daily(mail_runtime, redis_client, two_days_late)

    assert outcome.today == dt.date(2019, 9, 14)
    assert len(outcome.report.added) == 28
    assert count(mail_runtime, MessageKind.INVITATION) == 28


def test_nothing_is_due_the_day_before_invitations(
    mail_runtime: Runtime, redis_client: redis.Redis
) -> None:
    outcome = daily(mail_runtime, redis_client, INVITATION_DAY - dt.timedelta(days=1))

    assert outcome.report.added == []


def uploaded_deck(runtime: Runtime, organisation_ref: str) -> None:
    """The organisation's deck for Benchmarking 2, sent in two days before the deadline."""
    with unit_of_work(runtime.sessions) as session:
        organisation = session.scalars(
            select(m.Organisation).where(m.Organisation.ref == organisation_ref)
        ).one()
        session.add(
            m.Upload(
                organisation_id=organisation.id,
                kind=UploadKind.DECK,
                meeting_id=meeting_id(runtime.sessions),
                file_key="uploads/deck.pptx",
                file_name="deck.pptx",
                content_type="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                size_bytes=1,
                sha256="0" * 64,
                uploaded_at=dt.datetime(2019, 9, 17, 10, 0, tzinfo=dt.UTC),
                uploaded_by="test",
            )
        )


def opted_out(runtime: Runtime, email: str) -> None:
    with unit_of_work(runtime.sessions) as session:
        participant = session.scalars(
            select(m.Participant).where(m.Participant.email == email)
        ).one()
        session.add(m.ReminderOptOut(participant_id=participant.id))


def test_reminders_go_to_organisations_missing_an_upload_except_who_opted_out(
    mail_runtime: Runtime, redis_client: redis.Redis, smtp_server: SmtpServer
) -> None:
    daily(mail_runtime, redis_client, INVITATION_DAY)
    uploaded_deck(mail_runtime, "askersund")
    opted_out(mail_runtime, "hanna.bjork@fagersta.example")

    before = daily(mail_runtime, redis_client, REMINDER_DAY - dt.timedelta(days=1))
    outcome = daily(mail_runtime, redis_client, REMINDER_DAY)
    again = daily(mail_runtime, redis_client, REMINDER_DAY + dt.timedelta(days=1))
    send_all(mail_sender(mail_runtime), outcome.report.added, REMINDER_DAY)

    assert before.report.added == []
    assert again.report.added == []
    reminded = {r for got in smtp_server.wait_for(6) for r in got.rcpt_tos}
    # The contact person of every organisation without a deck, but Askersund (sent) and
    # Fagersta (its contact opted out).
    assert reminded == {
        "lena.holm@hedemora.example",
        "johanna.aberg@norrtalje.example",
        "camilla.nystrom@sodertalje.example",
        "elin.jakobsson@kalmar.example",
        "fredrik.berglund@regionvarmland.example",
        "malin.engstrom@gotland.example",
    }
    assert "Hanna Björk (Fagersta kommun) har avslutat påminnelser." in outcome.report.skipped
    got = smtp_server.to("lena.holm@hedemora.example")[0]
    assert got.message["Subject"] == (
        "Påminnelse: ladda upp senast 19 september 2019 inför Benchmarking 2"
    )
    text = got.text()
    assert "saknar vi fortfarande från Hedemora kommun:\n- presentationen\n" in text
    (opt_out,) = [
        r.opt_out_url
        for r in outbox(
            mail_runtime.sessions,
            recipient_email="lena.holm@hedemora.example",
            kind=MessageKind.UPLOAD_REMINDER,
        )
    ]
    assert opt_out is not None and opt_out in text
    assert got.header("List-Unsubscribe") == f"<{opt_out}>"
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_process_leader_hears_of_late_uploads_the_day_after_the_deadline_once(
    mail_runtime: Runtime, redis_client: redis.Redis, smtp_server: SmtpServer
) -> None:
    uploaded_deck(mail_runtime, "askersund")

    on_deadline = daily(mail_runtime, redis_client, INVITATION_DAY + dt.timedelta(days=7))
    outcome = daily(mail_runtime, redis_client, DAY_AFTER_DEADLINE)
    again = daily(mail_runtime, redis_client, DAY_AFTER_DEADLINE + dt.timedelta(days=1))
    send_all(mail_sender(mail_runtime), outcome.report.added, DAY_AFTER_DEADLINE)

    assert count(mail_runtime, MessageKind.LATE_UPLOADS) == 1
    assert not any(
        row.kind is MessageKind.LATE_UPLOADS
        for row in outbox(mail_runtime.sessions)
        if row.id in on_deadline.report.added
    )
    assert again.report.added == []
    (notice,) = [
        got for got in smtp_server.received if "Sena inlämningar" in str(got.message["Subject"])
    ]
    assert notice.rcpt_tos == ("karin.dahl@skr.example",)
    text = notice.text()
    assert "Sista dag att ladda upp inför Benchmarking 2 var 19 september 2019" in text
    assert "- Hedemora kommun: presentationen" in text
    assert "Askersunds kommun" not in text
    assert text.count("\n- ") == 7


def test_the_opt_out_link_of_a_reminder_stops_the_next_meetings_reminders(
    mail_runtime: Runtime, redis_client: redis.Redis, smtp_server: SmtpServer
) -> None:
    daily(mail_runtime, redis_client, REMINDER_DAY)
    (reminder,) = outbox(
        mail_runtime.sessions,
        recipient_email="lena.holm@hedemora.example",
        kind=MessageKind.UPLOAD_REMINDER,
    )
    assert reminder.opt_out_url is not None
    key = reminder.opt_out_url.rpartition("/")[2]

    with unit_of_work(mail_runtime.sessions) as session:
        first = opt_out(session, key, now=REMINDER_DAY)
        second = opt_out(session, key, now=REMINDER_DAY)
        unknown = [
            opt_out(session, wrong, now=REMINDER_DAY)
            for wrong in ("x" * 32, key[:-1], key + "x", "", "' OR 1=1 --", "\x00" * 32)
        ]
    bm3_reminder_day = dt.datetime(2019, 11, 11, 8, 0, tzinfo=INVITATION_DAY.tzinfo)
    later = daily(mail_runtime, redis_client, bm3_reminder_day)

    assert first is not None and not first.already
    assert first.recipient_email == "lena.holm@hedemora.example"
    assert second is not None and second.already
    assert unknown == [None] * 6
    assert "Lena Holm (Hedemora kommun) har avslutat påminnelser." in later.report.skipped
    reminded = {
        row.recipient_email
        for row in outbox(mail_runtime.sessions, kind=MessageKind.UPLOAD_REMINDER)
        if row.id in later.report.added
    }
    assert "lena.holm@hedemora.example" not in reminded
    assert "elin.jakobsson@kalmar.example" in reminded


def test_someone_added_later_is_invited_the_next_day_and_no_one_without_an_address(
    mail_runtime: Runtime, redis_client: redis.Redis
) -> None:
    daily(mail_runtime, redis_client, INVITATION_DAY)
    with unit_of_work(mail_runtime.sessions) as session:
        kalmar = session.scalars(select(m.Organisation).where(m.Organisation.ref == "kalmar")).one()
        session.add_all(
            [
                m.Participant(
                    organisation_id=kalmar.id,
                    ref="p28",
                    name="Nina Ny",
                    role=ParticipantRole.STRATEG,
                    email="nina.ny@kalmar.example",
                ),
                m.Participant(
                    organisation_id=kalmar.id,
                    ref="p29",
                    name="Olle Utanadress",
                    role=ParticipantRole.STRATEG,
                    email=None,
                ),
            ]
        )

    next_day = daily(mail_runtime, redis_client, INVITATION_DAY + dt.timedelta(days=1))

    (added,) = outbox(mail_runtime.sessions, id=next_day.report.added[0])
    assert len(next_day.report.added) == 1
    assert added.recipient_email == "nina.ny@kalmar.example"
    assert "Olle Utanadress (Kalmar kommun) har ingen e-postadress." in next_day.report.skipped
    assert count(mail_runtime, MessageKind.INVITATION) == 29
