"""Redis and PostgreSQL servers of a test's own, on spare ports, that the test may stop.

Tests that prove what happens when a component goes away must never stop the machine's
services (other sessions use them). These start private ones on 127.0.0.1:

- ``PrivateRedis``: the same ``redis-server`` the demo embeds, no persistence;
- ``PrivatePostgres``: a throw-away cluster made with ``initdb`` (trust authentication,
  listening on 127.0.0.1 only), run as the ``postgres`` user when the tests run as root.

Each is a context manager that removes everything it made; ``stop()`` and ``start()`` in
between take the service away and bring it back on the same port.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from service.cli.local_cluster import free_port, start_redis_server, wait_for_redis

_START_TIMEOUT = 30.0


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live: on PATH, or Debian's newest versioned directory."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(port: int, *, up: bool, timeout: float = _START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while port_answers(port) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still {'closed' if up else 'open'} after {timeout} s")
        time.sleep(0.05)


class PrivateRedis:
    """A private Redis on a spare port; ``url`` is database 0 of it."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        """Start (or start again) on the same port; returns when it answers PING."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._process = start_redis_server(self.work_dir, self.port)
        wait_for_redis(self.url, process=self._process)
        return self

    def stop(self) -> None:
        """Stop it; returns when the port refuses connections."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        _wait_for_port(self.port, up=False)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


def postgres_tools_absence() -> str | None:
    """Why a private PostgreSQL cannot be made here, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL's initdb is not installed (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run the server as"
    return None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a spare port; ``url`` reaches its ``postgres`` db."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError(postgres_tools_absence())
        self._bin = bindir
        self._root: Path | None = None
        self._owner: pwd.struct_passwd | None = None

    @property
    def _data(self) -> Path:
        assert self._root is not None
        return self._root / "data"

    def _run(self, *command: str) -> None:
        # The server refuses to run as root: as root, run it as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def create(self) -> PrivatePostgres:
        """Make the cluster (initdb, about two seconds) and start it."""
        self._root = Path(tempfile.mkdtemp(prefix="benchdocs-private-pg-"))
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam("postgres")
            os.chown(self._root, self._owner.pw_uid, self._owner.pw_gid)
        self._run(
            str(self._bin / "initdb"),
            "-D",
            str(self._data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )
        return self.start()

    def start(self) -> PrivatePostgres:
        """Start (or start again) on the same port; returns when it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._root} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(self._bin / "pg_ctl"),
            "-D",
            str(self._data),
            "-o",
            options,
            "-l",
            str(self._data / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        _wait_for_port(self.port, up=True)
        return self

    def stop(self) -> None:
        """Stop it at once (fast shutdown); returns when the port refuses connections."""
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")
        _wait_for_port(self.port, up=False)

    def drop(self) -> None:
        """Stop it if it runs and remove its files."""
        if self._root is None:
            return
        if port_answers(self.port):
            self.stop()
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def __enter__(self) -> PrivatePostgres:
        return self.create()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.drop()
