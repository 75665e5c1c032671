"""What the hosts share, served on the segment's address from the root namespace.

Redis is a private server bound to the segment (the machine's own listens on 127.0.0.1 only);
PostgreSQL is the machine's, reached through a TCP forwarder; the object store is a SeaweedFS
S3 server bound to the segment. Each is a process of ours, stopped by ``close``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from service.cli.local_cluster import redis_server_binary, wait_for_redis
from service.settings import PROJECT_ROOT
from tests.integration.s3_server import S3Server, start_s3_server

REDIS_PORT = 6379
POSTGRES_PORT = 5432
S3_PORT = 8333
BUCKET = "benchdocs"


def wait_for_port(address: str, port: int, *, process: subprocess.Popen[bytes], what: str) -> None:
    """Block until something accepts connections at the address, or fail naming ``what``."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {address}:{port} within 20 s")
        time.sleep(0.05)


class SharedServices:
    """Processes in the root namespace that serve the segment."""

    def __init__(self, address: str, work_dir: Path) -> None:
        self.address = address
        self._work_dir = work_dir
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._s3: list[S3Server] = []

    def _start(self, what: str, command: list[str]) -> subprocess.Popen[bytes]:
        with open(self._work_dir / f"{what}.log", "ab") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
            )
        self._processes.append((what, process))
        return process

    def redis(self) -> str:
        """A Redis of our own on the segment; its URL."""
        data = self._work_dir / "redis"
        data.mkdir()
        process = self._start(
            "redis",
            [
                redis_server_binary(),
                "--bind", self.address, "--port", str(REDIS_PORT),
                "--save", "", "--appendonly", "no", "--dir", str(data),
            ],
        )  # fmt: skip
        url = f"redis://{self.address}:{REDIS_PORT}/0"
        wait_for_port(self.address, REDIS_PORT, process=process, what="redis-server")
        wait_for_redis(url, process=process)
        return url

    def postgres(self, upstream: tuple[str, int]) -> tuple[str, int]:
        """The machine's PostgreSQL, forwarded to the segment; the address hosts use."""
        process = self._start(
            "postgres-forwarder",
            [
                sys.executable, "-m", "tests.integration.multihost.forwarder",
                f"{self.address}:{POSTGRES_PORT}", f"{upstream[0]}:{upstream[1]}",
            ],
        )  # fmt: skip
        wait_for_port(self.address, POSTGRES_PORT, process=process, what="the forwarder")
        return self.address, POSTGRES_PORT

    def s3(self) -> S3Server:
        """A SeaweedFS S3 server on the segment, with the bucket the hosts share."""
        server = start_s3_server(
            self._work_dir / "s3", ip=self.address, port=S3_PORT, buckets=(BUCKET,)
        )
        self._s3.append(server)
        self._processes.append(("weed", server.process))
        return server

    def close(self) -> list[str]:
        """Stop every process; names of any that would not end."""
        for server in self._s3:
            server.stop()
        for _what, process in self._processes:
            if process.poll() is None:
                process.terminate()
        stubborn = []
        for what, process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    stubborn.append(f"{what} (pid {process.pid})")
        return stubborn
