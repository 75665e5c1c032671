"""Several hosts on one machine: the API and workers each in a network namespace of its own.

They share nothing but PostgreSQL, Redis and the S3 bucket, reached over the segment
(``network.Segment``); each host's own folders (temporary files, an unused local file store)
are its own. The test process stands outside, in the root namespace, as an operator
would: it talks HTTP to the API host and reads the database to check what happened.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from celery import Celery
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.cli.local_cluster import settings_environment
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from service.storage.migration import migrate_directory
from service.storage.s3_file_store import S3FileStore
from service.task_queue import celery_config
from tests.conftest import POSTGRES_ADMIN_URL, absent
from tests.integration.multihost.network import Host, Segment, namespaces_supported
from tests.integration.multihost.services import BUCKET, SharedServices

API_PORT = 8000
HOST_NAMES = ("api", "worker-1", "worker-2")
# PostgreSQL ends a session left idle inside a transaction this long. A host cut off while it
# holds a row lock (between SELECT ... FOR UPDATE and COMMIT) would otherwise keep it until TCP
# gives up, minutes later, and every other worker would wait on that row.
IDLE_IN_TRANSACTION_SECONDS = 10


@pytest.fixture
def database_backend() -> str:
    """Hosts share a database over the network: PostgreSQL only."""
    return "postgresql"


@dataclass
class Cluster:
    """The hosts, what they share, and the operator's own view of the database."""

    segment: Segment
    hosts: dict[str, Host]
    host_settings: Settings
    host_dirs: Path  # each host's own folders, under its name
    runtime: Runtime  # the operator's: the database on 127.0.0.1, the same file store
    api_url: str
    logs: Path

    def celery(self) -> Celery:
        """A Celery client on the shared broker (remote control: ping, inspect)."""
        probe = Celery("benchdocs-operator")
        probe.conf.update(celery_config(self.host_settings))
        return probe

    def log(self, name: str) -> str:
        """What a host's process wrote."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def host_environment(settings: Settings) -> dict[str, str]:
    """The environment of a host's process: ours less any benchdocs setting, plus its settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BENCHDOCS_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(settings_environment(settings))
    return env


def on_host(env: dict[str, str], directory: Path) -> dict[str, str]:
    """``env`` with the host's own folders: temporary files and a local file store.

    A process killed at the end leaves its temporary files (LibreOffice's profiles) behind;
    here they go with the test's folder. The local store is set but must stay unused: the
    files are in the bucket.
    """
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        **env,
        "TMPDIR": str(directory / "tmp"),
        "BENCHDOCS_FILE_STORE_DIR": str(directory / "local-files"),
    }


def wait_for_api(url: str, *, timeout: float = 60.0, log: Path) -> None:
    """Block until the API host answers /readyz: its database, broker and store reachable."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"the API at {url} did not answer within {timeout} s:\n{log.read_text()}")


def wait_for_workers(cluster: Cluster, names: list[str], *, timeout: float = 90.0) -> None:
    """Block until every named worker host answers a ping over the shared broker."""
    wanted = {f"celery@{name}" for name in names}
    probe = cluster.celery()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            replies = probe.control.ping(timeout=0.5) or []
            if wanted <= {node for reply in replies for node in reply}:
                return
        logs = "\n".join(f"--- {n}\n{cluster.log(n)[-3000:]}" for n in names)
        raise RuntimeError(f"workers {sorted(wanted)} not ready within {timeout} s\n{logs}")
    finally:
        probe.close()


@pytest.fixture
def segment() -> Iterator[Segment]:
    """A private LAN segment with the API host and two worker hosts; removed afterwards."""
    if (reason := namespaces_supported()) is not None:
        absent(reason)
    with Segment() as made:
        for name in HOST_NAMES:
            made.add_host(name)
        yield made


@pytest.fixture
def shared_services(segment: Segment, tmp_path: Path) -> Iterator[SharedServices]:
    services = SharedServices(segment.services_address, tmp_path)
    try:
        yield services
    finally:
        stubborn = services.close()
        assert not stubborn, f"shared services would not stop: {stubborn}"


def allow_idle_in_transaction(database_url: str, seconds: int) -> None:
    """Set the database's idle-in-transaction limit (for every new session)."""
    name = make_url(database_url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    f'ALTER DATABASE "{name}" SET idle_in_transaction_session_timeout = '
                    f"'{seconds}s'"
                )
            )
    finally:
        admin.dispose()


@pytest.fixture
def cluster(
    sample_imported: Settings,
    segment: Segment,
    shared_services: SharedServices,
    tmp_path: Path,
) -> Iterator[Cluster]:
    """Redis and PostgreSQL on the segment, the API, beat and two workers on their hosts.

    Broker visibility and re-sending are short, so a lost task comes back in seconds; each
    task waits a moment after it starts, so the test can take a host away mid-task.
    """
    logs = tmp_path / "logs"
    logs.mkdir()
    s3 = shared_services.s3()
    redis_url = shared_services.redis()
    upstream = make_url(POSTGRES_ADMIN_URL)
    pg_address = shared_services.postgres((upstream.host or "127.0.0.1", upstream.port or 5432))
    allow_idle_in_transaction(sample_imported.database_url, IDLE_IN_TRANSACTION_SECONDS)
    host_database = (
        make_url(sample_imported.database_url)
        .set(host=pg_address[0], port=pg_address[1])
        .render_as_string(hide_password=False)
    )
    in_bucket = s3.settings(sample_imported, bucket=BUCKET)
    files = sample_imported.file_store_dir
    if files.is_dir():  # what the sample state stored, into the bucket
        report = migrate_directory(files, S3FileStore.from_settings(in_bucket))
        assert report.complete, report
    host_settings = in_bucket.model_copy(
        update={
            "database_url": host_database,
            "redis_url": redis_url,
            "broker_visibility_timeout_seconds": 10,
            "resend_after_seconds": 5,
            "debug_render_delay_seconds": 1.5,
            # Decks two to a message: the eight make four tasks, so a host is cut off while
            # others still wait.
            "render_chunk_documents": 2,
        }
    )
    env = host_environment(host_settings)
    hosts = segment.hosts
    api = hosts["api"]
    api_url = f"http://{api.address}:{API_PORT}"
    operator = in_bucket.model_copy(update={"redis_url": redis_url})
    runtime = build_runtime(operator)
    made = Cluster(segment, hosts, host_settings, tmp_path, runtime, api_url, logs)
    try:
        python = sys.executable
        api.start(
            [python, "-m", "service.cli", "serve", "--host", api.address, "--port", str(API_PORT)],
            env=on_host(env, tmp_path / "api"),
            cwd=PROJECT_ROOT,
            log_file=logs / "api.log",
        )
        wait_for_api(api_url, log=logs / "api.log")
        # Beat on the API host, as production runs exactly one: it re-sends what the database
        # still wants every max(30 s, resend_after / 2).
        api.start(
            [
                python, "-m", "celery", "-A", "workers.celery_app", "beat", "--loglevel", "INFO",
                "--schedule", str(tmp_path / "celerybeat-schedule"),
            ],
            env=on_host(env, tmp_path / "api"),
            cwd=PROJECT_ROOT,
            log_file=logs / "beat.log",
        )  # fmt: skip
        for name in ("worker-1", "worker-2"):
            hosts[name].start(
                [python, "-m", "service.cli", "worker", "--concurrency", "1"],
                env=on_host(env, tmp_path / name),
                cwd=PROJECT_ROOT,
                log_file=logs / f"{name}.log",
            )
        wait_for_workers(made, ["worker-1", "worker-2"])
        yield made
    finally:
        runtime.close()
