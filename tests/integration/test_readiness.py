"""/healthz and /readyz on the API, a worker's probes and ``benchdocs health``, against real parts.

Components are taken away for real: a private PostgreSQL and a private Redis (never the
machine's) are stopped, and the file store's directory is a regular file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.cli.local_cluster import WorkerProcess, free_port, settings_environment
from service.runtime import build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY, absent, under_ci
from tests.integration.s3_server import S3Server
from tests.tools.private_services import (
    PrivatePostgres,
    PrivateRedis,
    postgres_tools_absence,
)

pytestmark = pytest.mark.integration
TIMEOUT = 1.0


def settings_with(tmp_path: Path, **values: object) -> Settings:
    """Settings for one app; SQLite in the test's directory unless told otherwise."""
    defaults: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'ready.sqlite3'}",
        "file_store_dir": tmp_path / "files",
        "api_key": TEST_API_KEY,
        "readiness_timeout_seconds": TIMEOUT,
    }
    return Settings(**{**defaults, **values})  # type: ignore[arg-type]


AppFor = Callable[[Settings], TestClient]


@pytest.fixture
def app_for(tmp_path: Path) -> Iterator[AppFor]:
    """Build an API client for given settings; every runtime is closed after the test."""
    runtimes = []

    def build(settings: Settings) -> TestClient:
        runtime = build_runtime(settings)
        runtimes.append(runtime)
        return TestClient(create_app(runtime))  # no API key: probes need none

    yield build
    for runtime in runtimes:
        runtime.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with PrivateRedis(tmp_path / "private-redis") as server:
        yield server


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    reason = postgres_tools_absence()
    if reason is not None:
        if under_ci():
            absent(reason)
        pytest.skip(reason)
    with PrivatePostgres() as server:
        yield server


def components(response: httpx2.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"status", "components"}
    return dict(body["components"])


def test_ready_until_postgresql_stops_then_503_naming_the_database_and_ready_again(
    app_for: AppFor, private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    client = app_for(
        settings_with(tmp_path, database_url=private_postgres.url, redis_url=private_redis.url)
    )
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "components": {"database": "ok", "broker": "ok", "store": "ok"},
    }

    private_postgres.stop()
    stopped = client.get("/readyz")

    assert stopped.status_code == 503
    found = components(stopped)
    assert stopped.json()["status"] == "not ready"
    assert found["broker"] == "ok" and found["store"] == "ok"
    assert found["database"].startswith("OperationalError")
    assert str(private_postgres.port) in found["database"]
    assert client.get("/healthz").status_code == 200  # liveness never asks the database

    private_postgres.start()
    assert client.get("/readyz").status_code == 200


def test_503_naming_the_broker_when_redis_stops(
    app_for: AppFor, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    client = app_for(settings_with(tmp_path, redis_url=private_redis.url))
    assert client.get("/readyz").status_code == 200

    private_redis.stop()
    stopped = client.get("/readyz")

    assert stopped.status_code == 503
    found = components(stopped)
    assert found["database"] == "ok" and found["store"] == "ok"
    assert "ConnectionError" in found["broker"] and str(private_redis.port) in found["broker"]
    private_redis.start()
    assert client.get("/readyz").status_code == 200


def test_503_naming_the_store_when_its_directory_cannot_be_used(
    app_for: AppFor, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    # Root ignores permissions, so the store is made unusable by a file where its directory goes.
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file, not a directory")
    client = app_for(
        settings_with(tmp_path, redis_url=private_redis.url, file_store_dir=blocked / "files")
    )

    answer = client.get("/readyz")

    assert answer.status_code == 503
    found = components(answer)
    assert found["database"] == "ok" and found["broker"] == "ok"
    assert found["store"].startswith(f"file store {blocked / 'files'} cannot be written")


def test_503_naming_the_store_while_the_s3_server_is_stopped_then_ready_again(
    app_for: AppFor, private_redis: PrivateRedis, own_s3_server: S3Server, tmp_path: Path
) -> None:
    base = settings_with(tmp_path, redis_url=private_redis.url, s3_connect_timeout_seconds=0.5)
    client = app_for(own_s3_server.settings(base, bucket="egen"))
    assert client.get("/readyz").status_code == 200

    own_s3_server.stop()
    stopped = client.get("/readyz")
    own_s3_server.restart()
    again = client.get("/readyz")

    assert stopped.status_code == 503
    found = components(stopped)
    assert found["database"] == "ok" and found["broker"] == "ok"
    assert found["store"].startswith("bucket 'egen' at http://127.0.0.1:")
    assert own_s3_server.secret_key not in stopped.text
    assert again.status_code == 200, again.text


def test_a_hung_broker_cannot_hang_the_probe(app_for: AppFor, tmp_path: Path) -> None:
    # A server that takes the connection and never says a word.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    port = listener.getsockname()[1]
    client = app_for(settings_with(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        started = time.monotonic()
        answers = [client.get("/readyz") for _ in range(3)]
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        acceptor.join()
        for connection in held:
            connection.close()
        listener.close()

    assert [a.status_code for a in answers] == [503, 503, 503]
    for answer in answers:
        found = components(answer)
        assert found["database"] == "ok" and found["store"] == "ok"
        assert "imeout" in found["broker"] or "no answer" in found["broker"], found["broker"]
    assert elapsed < 3 * (TIMEOUT + 1)


def test_a_failing_probe_shows_no_password(app_for: AppFor, tmp_path: Path) -> None:
    nothing = free_port()
    client = app_for(
        settings_with(
            tmp_path,
            database_url=f"postgresql+psycopg://benchdocs:db-Secret-42@127.0.0.1:{nothing}/x",
            redis_url=f"redis://default:redis-Secret-42@127.0.0.1:{nothing}/0",
        )
    )

    answer = client.get("/readyz")

    assert answer.status_code == 503
    found = components(answer)
    assert found["database"] != "ok" and found["broker"] != "ok" and found["store"] == "ok"
    assert "Secret-42" not in answer.text
    assert "benchdocs:" not in answer.text


def test_probes_take_hostile_requests_in_their_stride(
    app_for: AppFor, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    client = app_for(settings_with(tmp_path, redis_url=private_redis.url))
    junk = "?" + "&".join(f"x{i}=%00%ff%3Cscript%3E{'A' * 200}" for i in range(50))

    assert client.get("/readyz" + junk).status_code == 200
    assert client.get("/healthz" + junk).json()["status"] == "ok"
    assert client.post("/readyz").status_code == 405
    assert (
        client.get("/readyz", headers={"X-Request-ID": "lb-probe.42"}).headers["X-Request-ID"]
        == "lb-probe.42"
    )
    hostile_id = client.get("/readyz", headers={"X-Request-ID": "<script>" + "x" * 5000})
    assert hostile_id.status_code == 200
    assert len(hostile_id.headers["X-Request-ID"]) == 32  # replaced, never echoed
    many = {f"X-Junk-{i}": "y" * 100 for i in range(200)}
    assert client.get("/readyz", headers=many).status_code == 200


def test_a_real_server_refuses_a_huge_header_and_keeps_answering_probes(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    runtime = build_runtime(settings_with(tmp_path, redis_url=private_redis.url))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(
                b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 200_000 + b"\r\n\r\n"
            )
            reply = raw.recv(1024)
        assert reply == b"" or reply.split(b" ")[1] in (b"400", b"431")

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["status"] == "ready"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()


def health_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_environment(settings)}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "health", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_health_command_exits_1_naming_what_is_missing(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, redis_url=private_redis.url)

    ready = health_command(settings)
    private_redis.stop()
    not_ready = health_command(settings)

    assert ready.returncode == 0, ready.stderr
    assert "database: ok" in ready.stdout and ready.stdout.strip().endswith("ready")
    assert not_ready.returncode == 1
    assert "database: ok" in not_ready.stdout and "store: ok" in not_ready.stdout
    assert "broker: ConnectionError" in not_ready.stderr
    assert "not ready: broker" in not_ready.stderr


def test_a_worker_serves_its_probes_and_the_health_command_reads_them(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_with(
        tmp_path,
        redis_url=private_redis.url,
        worker_probe_port=port,
        metrics_dir=tmp_path / "metrics",
    )
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_999999.db").write_bytes(b"left by an earlier run")
    url = f"http://127.0.0.1:{port}"

    with WorkerProcess(settings, concurrency=1, log_file=tmp_path / "worker.log"):
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
                    readiness = json.loads(answer.read())
                    break
            except OSError:
                assert time.monotonic() < deadline, "the worker's probes never answered"
                time.sleep(0.1)
        with urllib.request.urlopen(f"{url}/healthz?junk=%00", timeout=5) as answer:
            alive = json.loads(answer.read())
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
            metrics_type = answer.headers["Content-Type"]
        by_url = health_command(settings, "--url", f"{url}/readyz")
        private_redis.stop()
        by_url_without_broker = health_command(settings, "--url", f"{url}/readyz")
        private_redis.start()

    assert readiness == {
        "status": "ready",
        "components": {"database": "ok", "broker": "ok", "store": "ok", "worker": "ok"},
    }
    assert alive == {"status": "ok"}
    assert metrics_type.startswith("text/plain")
    assert not (tmp_path / "metrics" / "counter_999999.db").exists()  # emptied at start
    assert by_url.returncode == 0 and "broker: ok" in by_url.stdout
    assert by_url_without_broker.returncode == 1
    assert "not ready: broker" in by_url_without_broker.stderr
    gone = health_command(settings, "--url", f"{url}/readyz")
    assert gone.returncode == 1 and "no answer" in gone.stderr
