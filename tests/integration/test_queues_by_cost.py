"""Queues by cost with real workers: Office files on ``render``, PDFs on ``pdf``; a worker sized
for one queue takes nothing from the other, and a PDF worker killed mid-conversion loses
nothing. Also ``benchdocs worker``: it becomes Celery, so stopping it leaves no process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from service.batches.control import resend_stale, start_batch
from service.batches.document_maker import DocumentMaker
from service.batches.pdf_step import Step
from service.batches.render_job import RenderJob
from service.cli.base import EXIT_INVALID
from service.cli.local_cluster import WorkerProcess, settings_environment
from service.clock import utcnow
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from service.settings import Settings
from service.task_queue import (
    LEGACY_DOCUMENTS_QUEUE,
    MAIL_QUEUE,
    PDF_QUEUE,
    RENDER_QUEUE,
    RENDER_TASK,
    celery_config,
)
from tests.conftest import CHILD_TIMEOUT, both_stores
from tests.integration.conftest import batch_complete, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice", "pdftotext")]
LETTER = DocumentKind.FEEDBACK_LETTER


def organisation_ids(runtime: Runtime, *refs: str) -> list[int]:
    with runtime.sessions() as session:
        by_ref = dict(session.execute(select(m.Organisation.ref, m.Organisation.id)).all())
    return [by_ref[ref] for ref in refs]


def meeting(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()


def rows(runtime: Runtime, batch_id: int) -> list[m.GeneratedDocument]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument)
                .where(m.GeneratedDocument.batch_id == batch_id)
                .order_by(m.GeneratedDocument.id)
            )
        )


def letters_with_pdfs(runtime: Runtime, *refs: str) -> int:
    return start_batch(
        runtime.sessions,
        runtime.queue,
        meeting_id=meeting(runtime),
        kinds=[LETTER],
        organisation_ids=organisation_ids(runtime, *refs),
        with_pdf=True,
    )


def pdf_text(pdf: bytes, work: Path) -> str:
    path = work / "check.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout


def assert_every_document_done_once(runtime: Runtime, batch_id: int, work: Path) -> None:
    """Every row done, one per slot, each PDF a real PDF of its organisation's letter."""
    documents = rows(runtime, batch_id)
    assert {d.status for d in documents} == {DocumentStatus.DONE}
    slots = [(d.organisation_id, d.format) for d in documents]
    assert len(slots) == len(set(slots))
    with runtime.sessions() as session:
        names = dict(session.execute(select(m.Organisation.id, m.Organisation.name)).all())
        in_meeting = session.scalar(
            select(func.count()).where(
                m.GeneratedDocument.meeting_id == meeting(runtime),
                m.GeneratedDocument.kind == LETTER,
            )
        )
    assert in_meeting == len(documents)  # nothing made twice under another row
    for document in documents:
        if document.format == "pdf":
            assert document.file_key is not None
            text = pdf_text(runtime.files.get(document.file_key), work)
            assert names[document.organisation_id] in text


def broker_queue_length(settings: Settings, queue: str) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def test_a_render_only_worker_leaves_every_pdf_to_a_pdf_worker(
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    start_worker(queues=[RENDER_QUEUE], concurrency=1)
    batch_id = letters_with_pdfs(runtime, "askersund", "fagersta")

    def office_done_and_pdfs_queued() -> bool:
        states = {(d.format, d.status) for d in rows(runtime, batch_id)}
        return states == {("docx", DocumentStatus.DONE), ("pdf", DocumentStatus.QUEUED)}

    wait_until(office_done_and_pdfs_queued, what="the Office files, and their PDFs queued")
    pdf_ids = [d.id for d in rows(runtime, batch_id) if d.format == "pdf"]
    # A message from before the split, on the old queue: the render worker hands it on.
    sender = Celery("legacy-sender")
    sender.conf.update(celery_config(pipeline_settings))
    sender.send_task(RENDER_TASK, args=[pdf_ids[0]], queue=LEGACY_DOCUMENTS_QUEUE)
    sender.close()
    wait_until(
        lambda: broker_queue_length(pipeline_settings, PDF_QUEUE) == 3,
        what="the old message forwarded to the pdf queue",
    )
    time.sleep(1.0)

    for document in rows(runtime, batch_id):
        if document.format == "pdf":
            assert document.status == DocumentStatus.QUEUED
            assert document.attempts == 0 and document.file_key is None
    assert broker_queue_length(pipeline_settings, LEGACY_DOCUMENTS_QUEUE) == 0

    start_worker(queues=[PDF_QUEUE], concurrency=1)
    wait_until(batch_complete(runtime, batch_id), timeout=120, what="the PDFs")

    assert_every_document_done_once(runtime, batch_id, tmp_path)
    assert broker_queue_length(pipeline_settings, PDF_QUEUE) == 0


@both_stores
def test_a_pdf_worker_killed_mid_conversion_loses_no_pdf_and_makes_none_twice(
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    start_worker(queues=[RENDER_QUEUE], concurrency=1)
    slow = pipeline_settings.model_copy(update={"debug_render_delay_seconds": 4.0})
    doomed = start_worker(slow, queues=[PDF_QUEUE], concurrency=1)
    batch_id = letters_with_pdfs(runtime, "askersund", "fagersta")

    def a_pdf_converting() -> bool:
        return any(
            d.format == "pdf" and d.status == DocumentStatus.RUNNING
            for d in rows(runtime, batch_id)
        )

    wait_until(a_pdf_converting, what="a PDF to start converting")
    (killed,) = [
        d.id
        for d in rows(runtime, batch_id)
        if d.format == "pdf" and d.status == DocumentStatus.RUNNING
    ]
    doomed.kill()  # the whole worker, SIGKILL: its unacknowledged messages stay with Redis

    start_worker(queues=[PDF_QUEUE], concurrency=1)
    # What beat's resend does every few minutes; here at once.
    resend_stale(runtime.sessions, runtime.queue, older_than=dt.timedelta(0), now=utcnow())
    wait_until(batch_complete(runtime, batch_id), timeout=120, what="the PDFs after the kill")

    assert_every_document_done_once(runtime, batch_id, tmp_path)
    by_id = {d.id: d for d in rows(runtime, batch_id)}
    assert by_id[killed].attempts == 2


def test_a_pdf_whose_render_worker_died_before_handing_it_on_is_brought_back_by_resend(
    runtime: Runtime,
    sample: ImportSummary,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    batch_id = letters_with_pdfs(runtime, "askersund")
    (office,) = [d.id for d in rows(runtime, batch_id) if d.format == "docx"]
    # A render worker that stores the Office file and dies before it sends the PDF on.
    died = RenderJob(
        sessions=runtime.sessions,
        files=runtime.files,
        maker=DocumentMaker(sessions=runtime.sessions, templates=runtime.templates),
        queue=None,
    )
    died.run(office, step=Step.RENDER)
    assert [d.status for d in rows(runtime, batch_id)] == [
        DocumentStatus.DONE,
        DocumentStatus.PENDING,
    ]
    start_worker(queues=[PDF_QUEUE], concurrency=1)

    resent = resend_stale(runtime.sessions, runtime.queue, older_than=dt.timedelta(0), now=utcnow())
    wait_until(batch_complete(runtime, batch_id), timeout=120, what="the PDF after resend")

    assert len(resent) == 1
    assert_every_document_done_once(runtime, batch_id, tmp_path)


# -- benchdocs worker ---------------------------------------------------------------------------


@pytest.fixture
def worker_command(
    pipeline_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``benchdocs worker`` with the test's settings; its output goes to a log file."""
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, **settings_environment(pipeline_settings)}

    def start(*arguments: str) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"benchdocs-worker{len(started)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "worker", *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_pong(settings: Settings, process: subprocess.Popen[bytes]) -> None:
    probe = Celery("probe")
    probe.conf.update(celery_config(settings))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, f"benchdocs worker exited with {process.returncode}"
            if probe.control.ping(timeout=0.5):
                return
        pytest.fail("benchdocs worker never answered a ping")
    finally:
        probe.close()


def test_benchdocs_worker_becomes_celery_and_leaves_nothing_behind_on_sigterm(
    pipeline_settings: Settings,
    worker_command: Callable[..., subprocess.Popen[bytes]],
) -> None:
    process = worker_command("--queues", "render,mail", "--concurrency", "2")
    wait_for_pong(pipeline_settings, process)
    main = psutil.Process(process.pid)
    pool = main.children(recursive=True)
    assert "celery" in " ".join(main.cmdline())
    assert "--queues" in main.cmdline()
    queues = main.cmdline()[main.cmdline().index("--queues") + 1].split(",")
    assert sorted(queues) == sorted([RENDER_QUEUE, MAIL_QUEUE, LEGACY_DOCUMENTS_QUEUE])
    assert len(pool) == 2

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=CHILD_TIMEOUT)

    for child in pool:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child


def test_benchdocs_worker_refuses_an_unknown_queue_naming_the_option(
    worker_command: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    process = worker_command("--queues", "render,fax")

    process.wait(timeout=CHILD_TIMEOUT)

    assert process.returncode == EXIT_INVALID
    output = (tmp_path / "benchdocs-worker0.log").read_text(encoding="utf-8")
    assert "--queues: unknown queue 'fax'; choose from render, pdf, mail" in output
