"""A worker told to stop (SIGTERM) finishes the document it is making and leaves none running.

Celery's warm shutdown with late acknowledgement: the running task completes and is
acknowledged; the one it had reserved goes back to the queue, where a second worker finds it.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.cli.local_cluster import WorkerProcess, free_port
from service.database import models as m
from service.domain.kinds import DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from service.settings import Settings
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration


def statuses(runtime: Runtime, batch_id: int) -> dict[int, tuple[DocumentStatus, int]]:
    doc = m.GeneratedDocument
    with runtime.sessions() as session:
        rows = session.execute(
            select(doc.id, doc.status, doc.attempts).where(doc.batch_id == batch_id)
        ).all()
    return {row.id: (row.status, row.attempts) for row in rows}


def readiness(port: int) -> tuple[int, str]:
    """The worker probe's status and what it says of the worker itself (0: no answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())["components"]["worker"]
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())["components"]["worker"]
    except OSError:
        return 0, "gone"


@pytest.fixture
def pipeline_settings(migrated: Settings, broker_url: str) -> Settings:
    """Office files sent two to a message: three letters are two tasks."""
    return migrated.model_copy(update={"redis_url": broker_url, "render_chunk_documents": 2})


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_sigterm_mid_render_finishes_the_document_and_hands_back_the_rest(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    probe_port = free_port()
    slow = pipeline_settings.model_copy(
        update={"debug_render_delay_seconds": 2.0, "worker_probe_port": probe_port}
    )
    worker = start_worker(slow, concurrency=1)
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisations = list(
            session.scalars(select(m.Organisation.id).order_by(m.Organisation.id).limit(3))
        )
    answer = client.post(
        f"/api/v1/meetings/{meeting}/batches",
        json={"kinds": ["feedback_letter"], "organisation_ids": organisations},
    )
    assert answer.status_code == 202, answer.text
    batch_id = int(answer.json()["id"])
    wait_until(
        lambda: DocumentStatus.RUNNING in {s for s, _ in statuses(runtime, batch_id).values()},
        what="a render to start",
    )
    running = [
        d for d, (s, _) in statuses(runtime, batch_id).items() if s == DocumentStatus.RUNNING
    ]

    assert worker.process is not None
    assert readiness(probe_port) == (200, "ok")
    worker.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    wait_until(lambda: readiness(probe_port)[0] != 200, what="the probe to say it stops")
    while_stopping = readiness(probe_port)
    exit_code = worker.process.wait(timeout=60)

    after_stop = statuses(runtime, batch_id)
    assert exit_code == 0
    assert while_stopping[0] == 503
    assert (
        while_stopping[1] == "ShuttingDownError: warm shutdown (SIGTERM): finishing running tasks"
    )
    assert readiness(probe_port) == (0, "gone")
    assert len(running) == 2  # the task's two letters, claimed together
    for document_id in running:
        assert after_stop[document_id] == (DocumentStatus.DONE, 1)  # finished, not abandoned
    assert DocumentStatus.RUNNING not in {s for s, _ in after_stop.values()}
    waiting = [d for d, (s, _) in after_stop.items() if s != DocumentStatus.DONE]
    assert len(waiting) == 1, "the batch should outlast one task"
    assert time.monotonic() - stopped_at < 30
    # What it had not started is back in the queue, not lost with the worker.
    broker = redis.Redis.from_url(pipeline_settings.redis_url)
    assert broker.llen("render") == len(waiting)
    broker.close()

    start_worker()
    wait_until(batch_complete(runtime, batch_id), what="the second worker to finish the batch")

    final = statuses(runtime, batch_id)
    assert set(final.values()) == {(DocumentStatus.DONE, 1)}  # each made exactly once
