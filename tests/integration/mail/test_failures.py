"""What the sender does with a server's "try later", a refusal, and no server at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service.access.tokens import aware
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageState
from service.errors import DeliveryDeferredError
from service.mail.sending import resend_stalled
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    invite,
    mail_sender,
    mail_settings_for,
    outbox,
    send_all,
)
from tests.integration.mail.smtp_server import SmtpServer


def test_a_server_that_answers_421_then_accepts_gets_the_message_once(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    (first, *_) = invite(mail_runtime).added
    sender = mail_sender(mail_runtime)
    smtp_server.defer(2)

    for _ in range(2):
        with pytest.raises(DeliveryDeferredError, match="421"):
            sender.send(first, now=INVITATION_DAY)
        (waiting,) = outbox(mail_runtime.sessions, id=first)
        assert waiting.state is MessageState.QUEUED
        assert waiting.last_error == (
            "försöker igen senare: servern svarade 421 4.3.2 Tjänsten är tillfälligt otillgänglig"
        )
    outcome = send_all(sender, [first])

    (row,) = outbox(mail_runtime.sessions, id=first)
    assert outcome == ["sent"]
    assert smtp_server.data_commands == 3
    assert [r.message_id for r in smtp_server.received] == [row.message_id]
    assert row.state is MessageState.SENT
    assert row.attempts == 3
    assert row.last_error is None


def test_a_550_fails_the_message_with_the_servers_answer_and_it_is_not_tried_again(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    (first, second, *_) = invite(mail_runtime).added
    sender = mail_sender(mail_runtime)
    smtp_server.refuse("550 5.1.1 Mottagaren finns inte")

    outcomes = send_all(sender, [first, first])
    smtp_server.refuse(None)
    later = send_all(sender, [first, second])

    (row,) = outbox(mail_runtime.sessions, id=first)
    assert outcomes == ["failed", "skipped"]
    assert later == ["skipped", "sent"]
    assert row.state is MessageState.FAILED
    assert row.attempts == 1
    assert row.last_error == (
        "e-postservern tog inte emot meddelandet: servern svarade 550 5.1.1 Mottagaren finns inte"
    )
    assert smtp_server.data_commands == 2
    assert len(smtp_server.received) == 1


def test_no_server_at_all_is_tried_again_until_the_attempts_run_out(
    sample_imported: Settings, tmp_path: Path
) -> None:
    closed = SmtpServer()  # a free port that nothing listens on: connection refused
    runtime = build_runtime(
        mail_settings_for(sample_imported, closed, tmp_path / "outbox"), queue=RecordingQueue()
    )
    try:
        (first, *_) = invite(runtime).added
        sender = mail_sender(runtime, max_attempts=3)

        for _ in range(2):
            with pytest.raises(DeliveryDeferredError, match=r"127\.0\.0\.1"):
                sender.send(first, now=INVITATION_DAY)
        outcome = send_all(sender, [first])

        (row,) = outbox(runtime.sessions, id=first)
        assert outcome == ["failed"]
        assert row.state is MessageState.FAILED
        assert row.attempts == 3
        assert (row.last_error or "").startswith(
            "gav upp efter 3 försök: fick ingen kontakt med smtp://127.0.0.1:"
        )
        assert "Connection refused" in (row.last_error or "")
    finally:
        runtime.close()


class BrokenTransport:
    """A transport with a bug in it: neither deferred nor refused."""

    description = "broken"

    def deliver(self, message: object) -> str:
        raise RuntimeError("a bug")


def test_an_unexpected_error_fails_the_message_once_instead_of_leaving_it_sending(
    mail_runtime: Runtime,
) -> None:
    (first, *_) = invite(mail_runtime).added
    sender = mail_sender(mail_runtime)
    sender.transport = BrokenTransport()

    with pytest.raises(RuntimeError, match="a bug"):
        sender.send(first, now=INVITATION_DAY)

    (row,) = outbox(mail_runtime.sessions, id=first)
    assert row.state is MessageState.FAILED
    assert row.last_error == "oväntat fel när meddelandet skulle skickas (RuntimeError)"
    assert resend_stalled(
        mail_runtime.sessions,
        mail_runtime.queue,
        older_than=dt.timedelta(0),
        max_attempts=3,
        now=INVITATION_DAY,
    ) == [i for i in invite_ids(mail_runtime) if i != first]


def invite_ids(runtime: Runtime) -> list[int]:
    return [row.id for row in outbox(runtime.sessions)]


def test_a_message_whose_worker_died_on_every_attempt_fails_instead_of_going_round(
    mail_runtime: Runtime,
) -> None:
    (first, second, *rest) = invite(mail_runtime).added
    with unit_of_work(mail_runtime.sessions) as session:
        for message_id, attempts in ((first, 3), (second, 2)):
            row = session.get_one(m.OutboxMessage, message_id)
            row.state = MessageState.SENDING
            row.attempts = attempts
            row.sending_since = INVITATION_DAY
        for message_id in rest:
            session.get_one(m.OutboxMessage, message_id).state = MessageState.SENT

    resent = resend_stalled(
        mail_runtime.sessions,
        mail_runtime.queue,
        older_than=dt.timedelta(minutes=5),
        max_attempts=3,
        now=INVITATION_DAY + dt.timedelta(minutes=10),
    )

    (given_up,) = outbox(mail_runtime.sessions, id=first)
    (again,) = outbox(mail_runtime.sessions, id=second)
    assert resent == [second]
    assert given_up.state is MessageState.FAILED
    assert given_up.last_error == "gav upp efter 3 försök: arbetaren som skickade försvann"
    assert again.state is MessageState.QUEUED
    assert again.last_error == "skickas igen: arbetaren som skickade försvann"
    assert isinstance(mail_runtime.queue, RecordingQueue)
    assert mail_runtime.queue.messages == [second]


def test_a_message_waiting_its_turn_is_not_queued_again_until_the_broker_would_have_lost_it(
    mail_runtime: Runtime,
) -> None:
    (waiting, lost, sending, *rest) = invite(mail_runtime).added
    with unit_of_work(mail_runtime.sessions) as session:
        for message_id, minutes_ago in ((waiting, 10), (lost, 90)):
            row = session.get_one(m.OutboxMessage, message_id)
            row.state = MessageState.QUEUED
            row.queued_at = INVITATION_DAY - dt.timedelta(minutes=minutes_ago)
        row = session.get_one(m.OutboxMessage, sending)
        row.state = MessageState.SENDING
        row.attempts = 1
        row.sending_since = INVITATION_DAY - dt.timedelta(minutes=10)
        for message_id in rest:
            session.get_one(m.OutboxMessage, message_id).state = MessageState.SENT

    resent = resend_stalled(
        mail_runtime.sessions,
        mail_runtime.queue,
        older_than=dt.timedelta(minutes=5),
        queued_older_than=dt.timedelta(hours=1),
        max_attempts=3,
        now=INVITATION_DAY,
    )

    # A dead worker's message goes again after five minutes; a queued one only after an hour
    # (behind a slow server it is only waiting, and a second task would only grow the queue).
    assert resent == [lost, sending]
    (still_waiting,) = outbox(mail_runtime.sessions, id=waiting)
    assert still_waiting.queued_at is not None
    assert aware(still_waiting.queued_at) == INVITATION_DAY - dt.timedelta(minutes=10)


def test_a_server_silent_past_the_timeout_is_tried_again_and_gets_the_message_once(
    mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    impatient = mail_settings.model_copy(update={"smtp_timeout_seconds": 1.0})
    runtime = build_runtime(impatient, queue=RecordingQueue())
    try:
        (first, *_) = invite(runtime).added
        sender = mail_sender(runtime)
        smtp_server.stall_next()

        with pytest.raises(DeliveryDeferredError, match="no answer in time"):
            sender.send(first, now=INVITATION_DAY)
        (waiting,) = outbox(runtime.sessions, id=first)
        smtp_server.release()
        outcome = send_all(sender, [first])

        (row,) = outbox(runtime.sessions, id=first)
    finally:
        runtime.close()
    assert waiting.state is MessageState.QUEUED
    assert waiting.last_error == (
        f"försöker igen senare: smtp://127.0.0.1:{smtp_server.port} (none) "
        "svarade inte inom 1 sekund"
    )
    assert outcome == ["sent"]
    assert len(smtp_server.dropped) == 1
    assert [r.message_id for r in smtp_server.received] == [row.message_id]
    assert row.attempts == 2
