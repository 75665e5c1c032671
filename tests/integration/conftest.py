"""Fixtures that run the real pipeline: Redis, a real Celery worker, a migrated database."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psutil
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.api.app import create_app
from service.batches.control import batch_progress, create_batch
from service.batches.template_snapshots import snapshot_key
from service.cli.local_cluster import WorkerProcess, embedded_redis
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import spec_for
from service.domain.kinds import DocumentKind
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.task_queue import WORKER_QUEUES
from tests.conftest import (
    TEST_API_KEY,
    Databases,
    DatabaseState,
    RecordingQueue,
    cut_short,
    under_ci,
    wait_seconds,
)
from tests.integration.use_cases import render_here

if TYPE_CHECKING:
    from tests.integration.test_facts_at_scale import Network

TEST_REDIS_URL = os.environ.get("BENCHDOCS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_url_of_this_process(base: str) -> str:
    """The tests' Redis database; under pytest-xdist, worker gwN takes the Nth one below it.

    The tests empty their database before and after each test, so two processes sharing one
    would empty each other's queues.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    parts = urlsplit(base)
    database = int(parts.path.strip("/") or 0) - int(worker.removeprefix("gw"))
    if database < 0:
        raise pytest.UsageError(f"no Redis database below 0 for {worker}: raise {base}'s")
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis; without one (outside CI), the embedded Redis server instead.

    Only a failed connection means "no Redis"; a refused password, say, fails the tests.
    """
    url = redis_url_of_this_process(TEST_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
        yield url
        return
    except redis.AuthenticationError:
        raise
    except (redis.ConnectionError, redis.TimeoutError):
        if under_ci():
            raise
    finally:
        client.close()
    with embedded_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def broker_url(redis_server: str) -> Iterator[str]:
    """A real Redis database of the tests' own, emptied before and after each test."""
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()
    client.close()


@pytest.fixture
def pipeline_settings(migrated: Settings, broker_url: str) -> Settings:
    return migrated.model_copy(update={"redis_url": broker_url})


@pytest.fixture
def runtime(pipeline_settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(pipeline_settings)
    yield rt
    rt.close()


@pytest.fixture
def sample(runtime: Runtime, sample_summary: ImportSummary) -> ImportSummary:
    """The sample programme in the test's database (imported once per session, copied)."""
    return sample_summary


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The API wired to the real queue."""
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as c:
        yield c


@pytest.fixture
def start_worker(
    pipeline_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes; every one started is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(
        settings: Settings | None = None,
        *,
        concurrency: int = 2,
        queues: Sequence[str] = WORKER_QUEUES,
    ) -> WorkerProcess:
        worker = WorkerProcess(
            settings or pipeline_settings,
            concurrency=concurrency,
            name=f"test{len(started)}",
            log_file=tmp_path / f"worker{len(started)}.log",
            queues=queues,
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        kill_with_descendants(worker)


def kill_with_descendants(worker: WorkerProcess) -> None:
    """End a test's worker at once, with all it started (LibreOffice in sessions of its own)."""
    # The test is over: a warm shutdown would only cost seconds.
    if worker.process is None or worker.process.poll() is not None:
        return
    descendants = psutil.Process(worker.process.pid).children(recursive=True)
    worker.kill()
    for process in descendants:  # SIGKILL ends them now; their new parent reaps them
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def wait_until(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str) -> None:
    """Poll until the predicate holds, or fail saying what did not happen.

    The wait ends before the test's own timeout would, so a wait longer than the test may
    run fails here, saying so, instead of being killed by pytest-timeout.
    """
    allowed = wait_seconds(timeout)
    deadline = time.monotonic() + allowed
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {allowed:g} s waiting for {what}{cut_short(timeout, allowed)}"
            )
        time.sleep(0.05)


def batch_complete(runtime: Runtime, batch_id: int) -> Callable[[], bool]:
    def check() -> bool:
        with runtime.sessions() as session:
            return batch_progress(session, batch_id).is_complete

    return check


# -- Benchmarking 3 made, then a change: the start of the regeneration tests -------------------


def meeting_id(runtime: Runtime, ref: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def render_meeting_documents(
    runtime: Runtime, ref: str, kinds: list[DocumentKind] | None = None
) -> list[int]:
    """A meeting's documents (by default its agenda and decks), rendered in this process."""
    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session,
            meeting_id=meeting_id(runtime, ref),
            kinds=kinds or [DocumentKind.AGENDA, DocumentKind.DECK],
        )
        document_ids = [d.id for d in batch.documents]
    render_here(runtime, document_ids)
    return document_ids


def change_askersunds_scores(runtime: Runtime) -> None:
    """One score of Askersund moves: its deck's chart and movement change, nothing else."""
    with unit_of_work(runtime.sessions) as session:
        askersund = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
        score = session.scalars(
            select(m.Score).where(m.Score.organisation_id == askersund).order_by(m.Score.id.desc())
        ).first()
        assert score is not None
        score.value = (score.value or 0) % 3 + 1  # the scale is 1 to 3


def make_bm3(settings: Settings) -> list[int]:
    """Benchmarking 3's agenda and decks, rendered; then Askersund's scores change."""
    runtime = build_runtime(settings, queue=RecordingQueue())
    try:
        document_ids = render_meeting_documents(runtime, "bm3")
        change_askersunds_scores(runtime)
    finally:
        runtime.close()
    return document_ids


@pytest.fixture
def database_start(
    database_start: DatabaseState | None,
    request: pytest.FixtureRequest,
    databases: Databases,
    database_backend: str,
) -> DatabaseState | None:
    """A test that uses ``bm3_made`` starts on that state, made once per session."""
    return databases.carried_on(
        request,
        database_backend,
        database_start,
        when="bm3_made",
        name="BM 3 made, then Askersund's scores changed",
        build=make_bm3,
    )


@pytest.fixture
def bm3_made(sample: ImportSummary, database_start: DatabaseState) -> list[int]:
    """The ids of Benchmarking 3's agenda and decks, made before Askersund's scores changed."""
    document_ids: list[int] = database_start.value
    return list(document_ids)


def forget_snapshots(runtime: Runtime, batch_id: int) -> None:
    """Remove the template snapshots a batch's rows were pinned to from the file store."""
    with runtime.sessions() as session:
        pinned = session.execute(
            select(m.DocumentTemplate.kind, m.DocumentTemplate.sha256)
            .join(m.GeneratedDocument, m.GeneratedDocument.template_id == m.DocumentTemplate.id)
            .where(m.GeneratedDocument.batch_id == batch_id)
            .distinct()
        ).all()
    assert pinned
    for kind, sha256 in pinned:
        runtime.files.delete(snapshot_key(sha256, spec_for(kind).office_format))


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Network]]:
    """The sample grown to 10 and to 60 organisations (``test_facts_at_scale.Network``), each
    in its own SQLite database, built once per module that counts statements with them."""
    from tests.integration.test_facts_at_scale import SIZES, Network

    directory = tmp_path_factory.mktemp("networks")
    built = {size: Network(directory, size) for size in SIZES}
    yield built
    for network in built.values():
        network.engine.dispose()
