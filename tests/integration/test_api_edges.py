"""The served API's edges: ids past the columns, tokens in logs, slow clients, clean stops.

Ids and logs run on both databases (PostgreSQL is where an id past 2**31 - 1 answered 500).
The served tests run ``benchdocs serve`` as an operator would: its own process (group),
settings from the environment, stopped with SIGTERM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.access.tokens import issue_token
from service.cli.local_cluster import free_port, settings_environment
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.intake.programme_import import ImportSummary
from service.runtime import build_runtime
from service.settings import PROJECT_ROOT, Settings
from tests.conftest import CHILD_TIMEOUT

pytestmark = pytest.mark.integration

API = "/api/v1"
BIG = 2**31  # one past the largest 32-bit id


# -- ids past the column's range ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/batches/{BIG}",
        f"{API}/uploads/{BIG}/file",
        f"{API}/documents/{BIG}/file",
        f"{API}/documents/{10**30}/versions",
        f"{API}/meetings/{BIG}/submission-status",
        f"{API}/organisations/{BIG}/documents",
        f"{API}/organisations/{BIG}/uploads",
        f"{API}/regenerations/{BIG}",
        f"{API}/messages/{BIG}",
        f"{API}/batches/-1",
        f"{API}/batches/0",
    ],
)
def test_a_path_id_no_row_can_have_answers_404(
    client: TestClient, sample: ImportSummary, path: str
) -> None:
    answer = client.get(path)

    assert answer.status_code == 404, answer.text
    assert "not found" in answer.json()["detail"]


def test_ids_in_range_still_reach_their_rows_and_query_ids_out_of_range_are_422(
    client: TestClient, sample: ImportSummary
) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()

    assert client.get(f"{API}/meetings/{meeting}/submission-status").status_code == 200
    assert client.get(f"{API}/meetings/+{meeting}/submission-status").status_code == 200
    refused = client.get(f"{API}/documents", params={"meeting_id": str(BIG)})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "meeting_id"
    # Not a number at all: FastAPI's own validation answers, as before.
    assert client.get(f"{API}/batches/abc").status_code == 422
    # A participant asking for an id past the range gets the same 404 as for another's row.
    with unit_of_work(runtime.sessions) as session:
        organisation = session.scalars(select(m.Organisation.id).limit(1)).one()
        token = issue_token(
            session,
            organisation_id=organisation,
            valid_for=dt.timedelta(days=1),
            label="t",
            now=utcnow(),
        ).token
    participant = TestClient(client.app)  # no organiser key: it would win over the token
    answer = participant.get(f"{API}/documents/{BIG}/file", params={"token": token})
    assert answer.status_code == 404


# -- served: logs, stops, slow clients -----------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[str]
    base: str
    output: list[str]

    def log(self) -> str:
        return "".join(self.output)


@contextlib.contextmanager
def serve(
    settings: Settings, *, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[Served]:
    """``benchdocs serve`` in its own session; SIGTERM and a hard stop at the end."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        **settings_environment(settings),
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    served = Served(process, f"http://127.0.0.1:{port}", output)
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not _answers(served.base):
            assert process.poll() is None, "serve stopped:\n" + served.log()
            assert time.monotonic() < deadline, "serve never answered:\n" + served.log()
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for_workers(served: Served, workers: int) -> list[psutil.Process]:
    """The supervisor's worker processes, once each has started serving."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    while served.log().count("Application startup complete") < workers:
        assert time.monotonic() < deadline, "the workers never started:\n" + served.log()
        time.sleep(0.2)
    return psutil.Process(served.process.pid).children(recursive=True)


def _stop(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=60)


@pytest.fixture
def token_settings(sample_imported: Settings, broker_url: str) -> tuple[Settings, str]:
    settings = sample_imported.model_copy(update={"redis_url": broker_url})
    runtime = build_runtime(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            organisation = session.scalars(select(m.Organisation.id).limit(1)).one()
            token = issue_token(
                session,
                organisation_id=organisation,
                valid_for=dt.timedelta(days=1),
                label="log test",
                now=utcnow(),
            ).token
    finally:
        runtime.close()
    return settings, token


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("database_backend", "log_format"), [("sqlite", "text"), ("postgresql", "json")]
)
def test_serve_stops_on_sigterm_with_no_process_left_and_never_logs_a_token(
    token_settings: tuple[Settings, str], log_format: str
) -> None:
    settings, token = token_settings
    secret = token.removeprefix("bdt_")
    with serve(settings, workers=2, extra_env={"BENCHDOCS_LOG_FORMAT": log_format}) as served:
        children = _wait_for_workers(served, 2)
        assert len([c for c in children if "spawn_main" in " ".join(c.cmdline())]) == 2
        encoded = "".join(f"%{ord(c):02X}" for c in "token")
        # The server decodes these to its ``token`` parameter: the token is taken (404 for
        # another organisation's document, not 401), so it must not reach the log.
        for query in (f"%74oken={token}", f"x=1&{encoded.lower()}={token}"):
            answer = httpx.get(f"{served.base}{API}/documents/1/file?{query}", timeout=10)
            assert answer.status_code in (200, 404), answer.text
        # Spellings the server does not take: still redacted, whatever they are.
        for query in (f"TOKEN={token}", f"x=1&%54oKen={token}", f"t={token.replace('_', '%5F')}"):
            httpx.get(f"{served.base}{API}/documents/1/file?{query}", timeout=10)
        httpx.get(f"{served.base}/lank/%62dt_{secret}", timeout=10)
        _stop(served)
        log = served.log()
        time.sleep(0.5)
        alive = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]

    assert served.process.returncode == 0, log
    assert alive == [], f"processes left after SIGTERM: {alive}"
    assert secret not in log
    assert log.count("[redacted]") >= 6, log
    if log_format == "json":
        # Every process's lines (supervisor and workers) are JSON objects.
        assert all(line.startswith("{") for line in log.splitlines() if line.strip()), log
        access = [
            json.loads(line)
            for line in log.splitlines()
            if line.startswith("{") and '"uvicorn.access"' in line
        ]
        assert len(access) >= 6 and all(secret not in e["message"] for e in access)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_killed_supervisor_takes_its_workers_with_it(
    token_settings: tuple[Settings, str],
) -> None:
    settings, _token = token_settings
    with serve(settings, workers=2) as served:
        children = _wait_for_workers(served, 2)
        served.process.kill()  # no chance to stop them itself
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
            assert time.monotonic() < deadline, "a worker outlived its killed supervisor"
            time.sleep(0.2)


SLOW_CONNECTIONS = 140


@pytest.mark.timeout(240)
@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_slow_clients_do_not_stop_others_being_answered(
    token_settings: tuple[Settings, str],
) -> None:
    """140 connections sending their headers a byte at a time, one process capped at 100.

    Without a header timeout they would hold the cap and everyone else would get 503 (or
    wait); with it they are cut off after 2 s and answers come within a few seconds.
    """
    settings, _token = token_settings
    limits = {
        "BENCHDOCS_API_LIMIT_CONCURRENCY": "100",
        "BENCHDOCS_API_HEADER_TIMEOUT_SECONDS": "2",
    }
    with serve(settings, workers=1, extra_env=limits) as served:
        port = int(served.base.rsplit(":", 1)[1])
        stop = threading.Event()
        cut_off = [0]
        opened = [0]

        def slowloris() -> None:
            """Opens 140 connections and drips their headers until the server closes them."""
            request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
            sockets: list[tuple[socket.socket, int]] = []
            for _ in range(SLOW_CONNECTIONS):
                with contextlib.suppress(OSError):
                    sockets.append((socket.create_connection(("127.0.0.1", port), 2), 0))
            opened[0] = len(sockets)
            try:
                while sockets and not stop.is_set():
                    kept = []
                    for sock, sent in sockets:
                        try:
                            sock.send(request[sent : sent + 1])
                            kept.append((sock, sent + 1))
                        except OSError:
                            cut_off[0] += 1
                            sock.close()
                    sockets = kept
                    stop.wait(0.2)
            finally:
                for sock, _sent in sockets:
                    sock.close()

        attacker = threading.Thread(target=slowloris, daemon=True)
        attacker.start()
        try:
            time.sleep(1.0)  # the slow connections are open and dripping
            statuses: list[int | str] = []
            waits: list[float] = []
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    statuses.append(httpx.get(f"{served.base}/health", timeout=10).status_code)
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)
                waits.append(time.monotonic() - started)
                time.sleep(0.3)
        finally:
            stop.set()
            attacker.join(timeout=30)
        _stop(served)

    assert opened[0] == SLOW_CONNECTIONS
    # Every slow connection was cut off, and from 3 s on every answer came promptly.
    assert cut_off[0] == SLOW_CONNECTIONS, f"{cut_off[0]} slow connections cut off"
    later = [(s, w) for s, w, at in zip(statuses, waits, _times(waits), strict=True) if at > 3.0]
    answers = list(zip(statuses, waits, strict=True))
    assert later and all(s == 200 and w < 2.0 for s, w in later), answers


def _times(waits: list[float]) -> list[float]:
    """When each request started, from the first (each wait plus the 0.3 s pause)."""
    moments, now = [], 1.0
    for wait in waits:
        moments.append(now)
        now += wait + 0.3
    return moments


def test_the_reverse_proxy_in_compose_bounds_slow_clients() -> None:
    """The documented proxy sets header and body timeouts and sits in front of the API."""
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    config = (PROJECT_ROOT / "ops" / "nginx.conf").read_text(encoding="utf-8")
    assert "nginx" in compose and "ops/nginx.conf" in compose
    for directive in (
        "client_header_timeout",
        "client_body_timeout",
        "send_timeout",
        "limit_conn",
        "client_max_body_size",
    ):
        assert directive in config, directive
    assert "reverse proxy" in Path(PROJECT_ROOT / "docs" / "operations.md").read_text().lower()
