"""Real Celery workers sending through the real SMTP server: a retry, a worker killed mid-send."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery

from service.cli.local_cluster import WorkerProcess
from service.clock import utcnow
from service.database.session import unit_of_work
from service.domain.kinds import MessageState
from service.mail.outbox import release
from service.mail.sending import resend_stalled
from service.runtime import Runtime
from service.settings import Settings
from service.task_queue import MAIL_DAILY_TASK, MAIL_QUEUE, celery_config
from tests.integration.conftest import wait_until
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    PORTAL_URL,
    invite,
    outbox,
)
from tests.integration.mail.smtp_server import SmtpServer


def one_queued_invitation(runtime: Runtime) -> int:
    """Benchmarking 2's invitations built and held; one of them queued to the workers."""
    report = invite(runtime, hold=True)
    chosen = report.added[0]
    with unit_of_work(runtime.sessions) as session:
        release(session, chosen, now=utcnow())
    runtime.queue.send_message(chosen)
    return chosen


def state_is(runtime: Runtime, message_id: int, state: MessageState) -> Callable[[], bool]:
    return lambda: outbox(runtime.sessions, id=message_id)[0].state is state


def test_a_worker_retries_a_421_and_the_server_gets_the_message_once(
    worker_runtime: Runtime,
    smtp_server: SmtpServer,
    start_worker: Callable[..., WorkerProcess],
    worker_settings: Settings,
) -> None:
    start_worker(worker_settings, concurrency=1)
    smtp_server.defer(2)

    message = one_queued_invitation(worker_runtime)

    wait_until(state_is(worker_runtime, message, MessageState.SENT), what="the message sent")
    (row,) = outbox(worker_runtime.sessions, id=message)
    assert smtp_server.data_commands == 3
    assert [r.message_id for r in smtp_server.received] == [row.message_id]
    assert row.attempts == 3
    assert row.last_error is None


def test_a_worker_killed_while_the_server_holds_data_leads_to_one_delivery(
    worker_runtime: Runtime,
    smtp_server: SmtpServer,
    start_worker: Callable[..., WorkerProcess],
    worker_settings: Settings,
) -> None:
    first_worker = start_worker(worker_settings, concurrency=1)
    smtp_server.stall_next()
    message = one_queued_invitation(worker_runtime)
    assert smtp_server.stalled.wait(30), "the worker never reached DATA"

    first_worker.kill()
    wait_until(lambda: len(smtp_server.dropped) == 1, timeout=10, what="the server to drop it")
    smtp_server.release()
    (stalled,) = outbox(worker_runtime.sessions, id=message)
    resent = resend_stalled(
        worker_runtime.sessions,
        worker_runtime.queue,
        older_than=dt.timedelta(0),
        max_attempts=worker_settings.mail_max_attempts,
        now=utcnow(),
    )
    start_worker(worker_settings, concurrency=1)

    wait_until(state_is(worker_runtime, message, MessageState.SENT), what="the message sent")
    time.sleep(1.0)  # room for a second delivery, if anything were to make one
    (row,) = outbox(worker_runtime.sessions, id=message)
    assert stalled.state is MessageState.SENDING
    assert stalled.attempts == 1
    assert resent == [message]
    assert len(smtp_server.with_message_id(row.message_id)) == 1
    assert len(smtp_server.received) == 1
    assert row.attempts == 2
    assert row.message_id == stalled.message_id


def test_the_daily_task_on_a_worker_builds_and_sends_the_days_invitations_once(
    worker_runtime: Runtime,
    smtp_server: SmtpServer,
    start_worker: Callable[..., WorkerProcess],
    worker_settings: Settings,
) -> None:
    start_worker(worker_settings, concurrency=2)
    app = Celery("test-sender")
    app.conf.update(celery_config(worker_settings))
    day = INVITATION_DAY.isoformat()

    try:
        app.send_task(MAIL_DAILY_TASK, kwargs={"now": day}, queue=MAIL_QUEUE)
        smtp_server.wait_for(28, timeout=60)
        app.send_task(MAIL_DAILY_TASK, kwargs={"now": day}, queue=MAIL_QUEUE)
        wait_until(
            lambda: all(r.state is MessageState.SENT for r in outbox(worker_runtime.sessions)),
            what="every invitation sent",
        )
        time.sleep(2.0)  # the second run's time to (not) build and send anything
    finally:
        app.close()

    rows = outbox(worker_runtime.sessions)
    assert len(rows) == 28
    assert len(smtp_server.received) == 28
    assert {r.message_id for r in smtp_server.received} == {row.message_id for row in rows}
    assert all(row.created_by == "schema" for row in rows)
    assert f"{PORTAL_URL}/lank/bdt_" in smtp_server.to("eva.nordin@fagersta.example")[0].text()


def test_a_pool_process_killed_mid_send_is_not_sent_twice_by_the_redelivered_task(
    worker_runtime: Runtime,
    smtp_server: SmtpServer,
    start_worker: Callable[..., WorkerProcess],
    worker_settings: Settings,
    tmp_path: Path,
) -> None:
    worker = start_worker(worker_settings, concurrency=1)
    smtp_server.stall_next()
    message = one_queued_invitation(worker_runtime)
    assert smtp_server.stalled.wait(30), "the worker never reached DATA"

    # Only the process running the task dies: Celery rejects the task, which comes back at
    # once (task_reject_on_worker_lost) to a new pool process.
    for pid in worker.pool_pids():
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(smtp_server.dropped) == 1, timeout=10, what="the server to drop it")
    smtp_server.release()
    time.sleep(2.0)  # the redelivered task's time to find the message taken
    (after_redelivery,) = outbox(worker_runtime.sessions, id=message)
    resend_stalled(
        worker_runtime.sessions,
        worker_runtime.queue,
        older_than=dt.timedelta(0),
        max_attempts=worker_settings.mail_max_attempts,
        now=utcnow(),
    )

    wait_until(state_is(worker_runtime, message, MessageState.SENT), what="the message sent")
    (row,) = outbox(worker_runtime.sessions, id=message)
    assert after_redelivery.state is MessageState.SENDING
    assert after_redelivery.attempts == 1
    # The other task's line may follow the SENT state by a few milliseconds.
    log_file = tmp_path / "worker0.log"
    wait_until(
        lambda: ": 'skipped'" in log_file.read_text(encoding="utf-8"), what="both tasks' lines"
    )
    log = log_file.read_text(encoding="utf-8")
    assert "WorkerLostError" in log
    assert "succeeded in" in log and ": 'skipped'" in log  # the redelivered task
    assert len(smtp_server.with_message_id(row.message_id)) == 1
    assert row.attempts == 2
