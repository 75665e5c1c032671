"""Fixtures that run the real pipeline: Redis, a real Celery worker, a migrated database."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.batches.control import batch_progress
from service.cli.local_cluster import WorkerProcess, embedded_redis
from service.database.session import unit_of_work
from service.intake.programme_import import ImportSummary, import_programme
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY

TEST_REDIS_URL = os.environ.get("BENCHDOCS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis; without one (outside CI), the embedded Redis server instead."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
        yield TEST_REDIS_URL
        return
    except redis.ConnectionError:
        if os.environ.get("CI"):
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
def sample(runtime: Runtime, sample_programme_bytes: bytes) -> ImportSummary:
    with unit_of_work(runtime.sessions) as session:
        return import_programme(session, sample_programme_bytes, max_bytes=10_000_000)


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

    def start(settings: Settings | None = None, *, concurrency: int = 2) -> WorkerProcess:
        worker = WorkerProcess(
            settings or pipeline_settings,
            concurrency=concurrency,
            name=f"test{len(started)}",
            log_file=tmp_path / f"worker{len(started)}.log",
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop(timeout=15)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str) -> None:
    """Poll until the predicate holds, or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def batch_complete(runtime: Runtime, batch_id: int) -> Callable[[], bool]:
    def check() -> bool:
        with runtime.sessions() as session:
            return batch_progress(session, batch_id).is_complete

    return check
