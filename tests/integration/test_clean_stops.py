"""`benchdocs worker` and `beat` stop cleanly: no process they started outlives them.

Each is started as an operator (or a supervisor) would, with a marker in its environment that
every descendant inherits (LibreOffice included); after SIGTERM, no process carrying the
marker is left, whoever its parent became. A second SIGTERM turns a warm shutdown cold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from service.batches.control import start_batch
from service.cli.local_cluster import WorkerProcess, settings_environment
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.task_queue import celery_config
from tests.conftest import require_tools
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration
MARK = "BENCHDOCS_STOP_TEST_MARK"


def marked(mark: str) -> list[psutil.Process]:
    """Every live process (not a zombie) whose environment carries the mark."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(MARK) == mark:
                found.append(process)
    return found


class Started:
    """A `benchdocs` command run as its own session, as a supervisor runs it."""

    def __init__(self, settings: Settings, log: Path, *args: str) -> None:
        self.mark = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHDOCS_")}
        env.update(settings_environment(settings))
        env[MARK] = self.mark
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_consuming(self, settings: Settings, timeout: float = 60.0) -> None:
        from celery import Celery

        probe = Celery("benchdocs-stop-probe")
        probe.conf.update(celery_config(settings))
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                if probe.control.ping(timeout=0.5):
                    return
            pytest.fail(f"worker not ready in {timeout} s: {self.log.read_text()[-3000:]}")
        finally:
            probe.close()

    def left_behind(self, grace: float = 20.0) -> list[str]:
        """What still carries the mark once ``grace`` seconds have passed (none: clean)."""
        deadline = time.monotonic() + grace
        while True:
            left = marked(self.mark)
            if not left or time.monotonic() > deadline:
                return [f"{p.pid} {p.name()} ppid={p.ppid()}" for p in left if p.is_running()]
            time.sleep(0.2)

    def kill_everything(self) -> None:
        for process in marked(self.mark):
            with contextlib.suppress(psutil.Error):
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., Started]]:
    runs: list[Started] = []

    def start(settings: Settings, *args: str) -> Started:
        run = Started(settings, tmp_path / f"{args[0]}{len(runs)}.log", *args)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill_everything()


def statuses(runtime: Runtime, batch_id: int) -> list[DocumentStatus]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument.status).where(m.GeneratedDocument.batch_id == batch_id)
            )
        )


def organisations(runtime: Runtime, count: int) -> tuple[int, list[int]]:
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        ids = list(session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)))
    return meeting, ids[:count]


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_sigterm_to_worker_finishes_running_work_and_leaves_no_process(
    pipeline_settings: Settings,
    sample: ImportSummary,
    started: Callable[..., Started],
) -> None:
    require_tools("soffice")
    settings = pipeline_settings.model_copy(update={"debug_render_delay_seconds": 2.0})
    worker = started(settings, "worker", "--concurrency", "2")
    worker.wait_consuming(settings)
    # `benchdocs worker` became Celery: the process a supervisor signals is the worker.
    assert "celery" in " ".join(psutil.Process(worker.process.pid).cmdline())
    runtime = build_runtime(settings)
    try:
        meeting, orgs = organisations(runtime, 2)
        with_pdf = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting,
            kinds=[DocumentKind.FEEDBACK_LETTER],
            organisation_ids=orgs[:1],
            with_pdf=True,
            allow_placeholders=True,
        )
        wait_until(batch_complete(runtime, with_pdf), timeout=120, what="a PDF made")
        assert set(statuses(runtime, with_pdf)) == {DocumentStatus.DONE}
        names = {p.name() for p in marked(worker.mark)}
        assert "soffice.bin" in names, names  # LibreOffice runs, and is a descendant
        running = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting,
            kinds=[DocumentKind.FEEDBACK_LETTER],
            organisation_ids=orgs,
            allow_placeholders=True,
        )
        wait_until(
            lambda: DocumentStatus.RUNNING in statuses(runtime, running),
            what="a render to start",
        )
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=60) == 0
        # Warm: what was running finished (the rest went back to the queue, unlost).
        assert DocumentStatus.DONE in statuses(runtime, running)
        assert DocumentStatus.FAILED not in statuses(runtime, running)
        assert worker.left_behind() == []
    finally:
        runtime.close()


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_second_sigterm_stops_the_worker_cold_and_its_task_comes_back(
    pipeline_settings: Settings,
    sample: ImportSummary,
    started: Callable[..., Started],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    slow = pipeline_settings.model_copy(update={"debug_render_delay_seconds": 40.0})
    worker = started(slow, "worker", "--concurrency", "1")
    worker.wait_consuming(slow)
    runtime = build_runtime(pipeline_settings)
    try:
        meeting, orgs = organisations(runtime, 1)
        batch_id = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting,
            kinds=[DocumentKind.FEEDBACK_LETTER],
            organisation_ids=orgs,
            allow_placeholders=True,
        )
        wait_until(
            lambda: DocumentStatus.RUNNING in statuses(runtime, batch_id),
            what="a render to start",
        )
        worker.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert worker.process.poll() is None, "a warm shutdown waits for the running task"
        stopping = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=30)
        assert time.monotonic() - stopping < 20, "the second SIGTERM did not stop it cold"
        assert worker.left_behind() == []
        # The cancelled task went back to the queue: the next worker makes the document.
        start_worker(pipeline_settings, concurrency=1)
        wait_until(batch_complete(runtime, batch_id), timeout=60, what="the task to come back")
        assert statuses(runtime, batch_id) == [DocumentStatus.DONE]
    finally:
        runtime.close()


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_sigterm_to_beat_leaves_no_process(
    pipeline_settings: Settings, started: Callable[..., Started], tmp_path: Path
) -> None:
    beat = started(pipeline_settings, "beat", "--schedule", str(tmp_path / "beat-schedule"))
    # Started: its schedule file is open (a SIGTERM earlier interrupts Celery's own setup).
    wait_until(
        lambda: any(tmp_path.glob("beat-schedule*")) or beat.process.poll() is not None,
        what="beat to start",
    )
    time.sleep(1.0)
    assert beat.process.poll() is None, beat.log.read_text()[-3000:]
    assert "celery" in " ".join(psutil.Process(beat.process.pid).cmdline())
    beat.process.send_signal(signal.SIGTERM)
    assert beat.process.wait(timeout=30) == 0, beat.log.read_text()[-3000:]
    assert beat.left_behind() == []
