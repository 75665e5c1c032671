"""/metrics after a real batch (API and worker), and JSON log lines with their ids, tokens redacted.

The figures are checked against the database and Redis themselves: documents by kind, format
and state against a GROUP BY, histogram counts against the rendered rows, queue depths
against LLEN.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from service.api.app import create_app
from service.batches.control import batch_progress
from service.cli.local_cluster import WorkerProcess, free_port, settings_environment
from service.database import models as m
from service.domain.kinds import DocumentStatus
from service.intake.programme_import import ImportSummary
from service.observability.logs import configure_logging
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY, RecordingQueue, require_tools
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration
TOKEN = "bdt_" + "Q" * 43
# Every Celery queue the depth gauge reports: by cost, e-mail, and the one from before the split.
QUEUES = ("render", "pdf", "mail", "documents")


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called ``name`` in a scrape, keyed by its sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        text: str = answer.read().decode()
        return text


def ids_of(runtime: Runtime, ref: str, model: type[m.Meeting] | type[m.Organisation]) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(model.id).where(model.ref == ref)).one()


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_metrics_after_a_real_batch_equal_the_database_and_the_broker(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    require_tools("soffice")
    probe_port = free_port()
    worker_settings = pipeline_settings.model_copy(
        update={
            "metrics_dir": tmp_path / "worker-metrics",
            "worker_probe_port": probe_port,
            "log_format": "json",
        }
    )
    broker = redis.Redis.from_url(pipeline_settings.redis_url)
    body = {
        "kinds": ["feedback_letter", "deck"],
        "organisation_ids": [
            ids_of(runtime, "askersund", m.Organisation),
            ids_of(runtime, "fagersta", m.Organisation),
        ],
        "pdf": True,
    }

    # Queued, with no worker yet: the depth is what Redis holds.
    started = client.post(
        f"/api/v1/meetings/{ids_of(runtime, 'bm2', m.Meeting)}/batches", json=body
    )
    assert started.status_code == 202, started.text
    batch_id = int(started.json()["id"])
    waiting = samples(client.get("/metrics").text, "benchdocs_queue_depth")
    assert waiting == {(("queue", q),): float(broker.llen(q)) for q in QUEUES}
    with runtime.sessions() as session:
        batch_size = batch_progress(session, batch_id).total
    # The Office files are queued; their PDFs wait for them (pending, not yet in Redis).
    assert batch_size == 8
    # One message: the four Office files are rendered together (a chunk).
    assert (broker.llen("render"), broker.llen("pdf")) == (1, 0)

    start_worker(worker_settings)
    wait_until(batch_complete(runtime, batch_id), timeout=180, what="the batch to finish")
    api_text = client.get("/metrics").text
    worker_text = scrape(f"http://127.0.0.1:{probe_port}/metrics")

    doc = m.GeneratedDocument
    with runtime.sessions() as session:
        by_state = session.execute(
            select(doc.kind, doc.format, doc.status, func.count()).group_by(
                doc.kind, doc.format, doc.status
            )
        ).all()
        rendered = session.execute(
            select(doc.kind, doc.format).where(
                doc.batch_id == batch_id,
                doc.status == DocumentStatus.DONE,
                doc.reused_from_id.is_(None),
                doc.render_ms.is_not(None),
            )
        ).all()
        states = Counter(d.status for d in session.scalars(select(doc)))
    assert states == {DocumentStatus.DONE: 8}
    assert samples(api_text, "benchdocs_documents") == {
        (("format", str(f)), ("kind", str(k)), ("state", str(s))): float(n)
        for k, f, s, n in by_state
    }
    render_counts = samples(worker_text, "benchdocs_render_duration_seconds_count")
    assert render_counts == {
        (("format", f), ("kind", str(k))): float(n)
        for (k, f), n in Counter((k, f) for k, f in rendered).items()
    }
    assert sum(render_counts.values()) == 8
    assert samples(worker_text, "benchdocs_pdf_conversion_duration_seconds_count") == {
        (("source_format", "docx"),): 2.0,
        (("source_format", "pptx"),): 2.0,
    }
    assert samples(api_text, "benchdocs_queue_depth") == {
        (("queue", q),): float(broker.llen(q)) for q in QUEUES
    }
    assert broker.llen("render") == broker.llen("pdf") == 0

    # The worker's log: one JSON object per line, each task's lines with its ids.
    with runtime.sessions() as session:
        document_ids = set(session.scalars(select(doc.id).where(doc.batch_id == batch_id)))
    log_text = (tmp_path / "worker0.log").read_text(encoding="utf-8")
    events = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    assert events and all({"time", "level", "logger", "message"} <= set(e) for e in events)
    # A PDF's own task: Celery's line; an Office file of a chunk: the chunk's line for it.
    succeeded = [e for e in events if "succeeded" in e["message"] and "document_id" in e]
    in_chunk = [
        e
        for e in events
        if re.fullmatch(r"document \d+: rendered \(one of 4 in this task\)", e["message"])
    ]
    assert {e["document_id"] for e in succeeded + in_chunk} == document_ids
    assert len(succeeded) == len(in_chunk) == 4
    assert {e["batch_id"] for e in succeeded + in_chunk} == {batch_id}
    assert all(e["task_id"] in e["message"] for e in succeeded)
    assert len({e["task_id"] for e in in_chunk}) == 1
    assert all(str(e["document_id"]) in e["message"] for e in in_chunk)
    broker.close()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Logging configured as JSON into a buffer, as ``benchdocs serve`` would; undone after."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(log_format="json", level="INFO", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_json_log_lines_carry_request_and_batch_ids_and_never_a_token(
    sample_imported: Settings, json_log: io.StringIO
) -> None:
    runtime = build_runtime(sample_imported, queue=RecordingQueue())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        meeting = ids_of(runtime, "bm2", m.Meeting)
        request = urllib.request.Request(
            f"{base}/api/v1/meetings/{meeting}/batches",
            data=json.dumps({"kinds": ["agenda"]}).encode(),
            headers={
                "X-API-Key": TEST_API_KEY,
                "Content-Type": "application/json",
                "X-Request-ID": "req-obs-1",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            batch_id = json.loads(answer.read())["id"]
            assert answer.headers["X-Request-ID"] == "req-obs-1"
        try:
            urllib.request.urlopen(f"{base}/api/v1/documents/1/file?token={TOKEN}", timeout=10)
        except urllib.error.HTTPError as refused:
            assert refused.code in (401, 403, 404)
        logging.getLogger("service.test").warning("a participant's link: /lank/%s", TOKEN)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()

    lines = json_log.getvalue().splitlines()
    events = [json.loads(line) for line in lines]
    assert TOKEN not in json_log.getvalue()
    started = [e for e in events if e["logger"] == "service.batches.control"]
    assert len(started) == 1
    assert started[0]["batch_id"] == batch_id and started[0]["request_id"] == "req-obs-1"
    assert started[0]["level"] == "INFO" and f"batch {batch_id}" in started[0]["message"]
    access = [e for e in events if e["logger"] == "uvicorn.access"]
    assert any("token=[redacted]" in e["message"] for e in access)
    assert any(e.get("request_id") == "req-obs-1" for e in access)
    warned = [e for e in events if e["logger"] == "service.test"]
    assert warned[0]["message"] == "a participant's link: /lank/[redacted]"


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_benchdocs_serve_writes_only_json_lines_when_configured(
    migrated: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, **settings_environment(migrated), "BENCHDOCS_LOG_FORMAT": "json"}
    server = subprocess.Popen(
        # One process: this test is about the log's lines (test_api_edges serves several).
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, "benchdocs serve exited"
                assert time.monotonic() < deadline, "benchdocs serve never answered"
                time.sleep(0.1)
        probe = urllib.request.Request(f"{base}/healthz", headers={"X-Request-ID": "serve-1"})
        urllib.request.urlopen(probe, timeout=5).close()
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/api/v1/documents/1/file?token={TOKEN}", timeout=5)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    events = [json.loads(line) for line in errors.splitlines() if line.strip()]
    assert TOKEN not in errors
    assert {e["logger"] for e in events} >= {"uvicorn.error", "uvicorn.access"}
    probed = [e for e in events if e.get("request_id") == "serve-1"]
    assert len(probed) == 1 and "/healthz" in probed[0]["message"]
    assert any("token=[redacted]" in e["message"] for e in events)
