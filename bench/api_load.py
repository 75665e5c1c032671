"""The API under 20 concurrent clients on a 300-organisation network, served the production way.

A network of 300 organisations (the sample's, cloned) on PostgreSQL, a batch's documents made
for the clients' organisations, and ``benchdocs serve`` run as a separate process on loopback
with an embedded Redis (no worker: POSTed batches wait in the queue). 20 clients, each a
participant of its own organisation holding its token (and the organiser's key for the
organiser's calls), go round the calls for ``--seconds``:

- submission status (organiser): ``GET /meetings/{m}/submission-status``
- document list (participant): ``GET /organisations/{o}/documents``
- file download (participant): ``GET /documents/{d}/file``
- ``GET /me`` (participant)
- POST of a one-document batch (organiser): ``POST /meetings/{m}/batches``
- checklist upload (participant): ``POST /organisations/{o}/checklist-uploads``

Two configurations are measured back to back in the same run, on the same database:
"one process" (one uvicorn process, SQLAlchemy's default pool of 5 + 10: how the API was
served before) and "production" (``--workers`` processes, pools from settings). For each call:
n, p50, p99, max and errors (any answer but the expected status, or a failed connection), and
the ratio of the two configurations' p50 and p99. The targets (2-core machine): submission
status p99 < 100 ms, POST batch p99 < 300 ms, reads p99 < 300 ms, uploads p99 < 1 s, no errors.

Clients behave as very busy people: after each answer a client pauses a random while,
``--think-ms`` on average (500: each of the 20 sends about two calls a second, ten times what
someone clicking through the portal does). The targets are judged there. "saturation" runs the
same clients without pauses: the machine is then busy whatever the code costs and every wait
is about clients ÷ throughput (Little's law), so that run reports capacity (requests per
second, CPU per request), not waits people would see.

    .venv/bin/python -m bench.api_load [--postgres postgresql://postgres@127.0.0.1/test]
        [--organisations 300] [--clients 20] [--seconds 30] [--workers 2] [--think-ms 500]
        [--only production|one-process|baseline|saturation]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select

from bench.regeneration import database
from bench.render_and_pipeline import programme_with
from service.access.tokens import issue_token
from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker
from service.batches.render_job import render_inline
from service.cli.local_cluster import embedded_redis, settings_environment
from service.clock import utcnow
from service.database import models as m
from service.database.session import migrate, unit_of_work
from service.domain.kinds import DocumentKind
from service.intake.programme_import import import_programme
from service.runtime import build_runtime
from service.settings import PROJECT_ROOT, Settings

API_KEY = "bench-organiser-key-api-load"
API = "/api/v1"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CALLS = ("status", "documents", "download", "me", "batch", "upload")
TARGET_P99_MS = {
    "status": 100.0,
    "documents": 300.0,
    "download": 300.0,
    "me": 300.0,
    "batch": 300.0,
    "upload": 1000.0,
}


@dataclass(frozen=True)
class Client:
    """One simulated participant: its organisation, token, a document and its checklist."""

    organisation_id: int
    token: str
    document_id: int
    checklist: bytes


@dataclass(frozen=True)
class World:
    meeting_id: int
    clients: list[Client]


def build_world(settings: Settings, organisations: int, clients: int) -> World:
    """Import the network; for the clients' organisations: tokens, a document, a checklist."""
    runtime = build_runtime(settings)
    migrate(runtime.engine)
    try:
        with unit_of_work(runtime.sessions) as session:
            import_programme(session, programme_with(organisations), max_bytes=100_000_000)
            meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
            # Spread over the network: the first, the middle and the last organisations.
            all_ids = list(session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)))
            step = max(1, len(all_ids) // clients)
            chosen = all_ids[::step][:clients]
            batch = create_batch(
                session,
                meeting_id=meeting_id,
                kinds=[DocumentKind.ORGANISATION_AGENDA],
                organisation_ids=chosen,
            )
            documents = {d.organisation_id: d.id for d in batch.documents}
            tokens = {
                org: issue_token(
                    session,
                    organisation_id=org,
                    valid_for=dt.timedelta(days=1),
                    label="api-load",
                    now=utcnow(),
                ).token
                for org in chosen
            }
        render_inline(
            list(documents.values()),
            sessions=runtime.sessions,
            files=runtime.files,
            templates=runtime.templates,
        )
        maker = DocumentMaker(runtime.sessions, runtime.templates)
        made = [
            Client(
                organisation_id=org,
                token=tokens[org],
                document_id=documents[org],
                # The checklist as benchdocs makes it, already holding the sample's scores.
                checklist=maker.make(
                    DocumentKind.CHECKLIST, meeting_id=meeting_id, organisation_id=org
                ).data,
            )
            for org in chosen
        ]
    finally:
        runtime.close()
    return World(meeting_id=meeting_id, clients=made)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(
    settings: Settings, *, workers: int, extra_env: dict[str, str], tree: Path = PROJECT_ROOT
) -> Iterator[tuple[str, int]]:
    """``benchdocs serve`` in its own process group; stopped with SIGTERM, then checked gone.

    ``tree``: the source tree served (another checkout: the code before a change, same venv).
    """
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        **settings_environment(settings),
        "BENCHDOCS_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    if tree != PROJECT_ROOT:
        env["PYTHONPATH"] = str(tree)
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, cwd=tree, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"benchdocs serve stopped (exit {process.returncode})")
            try:
                # Every worker process up: a few answers in a row.
                if all(httpx.get(f"{base}/health", timeout=2).status_code == 200 for _ in range(8)):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("benchdocs serve did not answer within 120 s")
            time.sleep(0.3)
        time.sleep(2.0 if workers > 1 else 0.0)  # the last worker process's start
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of a process and every descendant still running.

    Load-independent where wall times are not: on a machine shared with other jobs, how much
    CPU the server spent per request compares two configurations better than their waits.
    """
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    wanted = {root}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        grew = bool(more)
        wanted |= more
    return sum(cpu.get(pid, 0.0) for pid in wanted)


@dataclass
class Samples:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # The app's own time (its Server-Timing header): the rest of a wait is queueing for CPU.
    server_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # the serve process tree's CPU over the run
    # (wait in ms, call, seconds into the run, the app's own ms): when the slowest calls came
    # tells warm-up, periodic work and bursts apart; the app's time tells the server's share.
    slowest: list[tuple[float, str, float, float]] = field(default_factory=list)
    warm_up_ms: float = 0.0  # the slowest call of the warm-up, which is not counted


def _calls(world: World, client: Client) -> dict[str, Callable[[httpx.Client], httpx.Response]]:
    organiser = {"X-API-Key": API_KEY}
    participant = {"Authorization": f"Bearer {client.token}"}
    meeting = world.meeting_id
    org = client.organisation_id
    return {
        "status": lambda c: c.get(f"{API}/meetings/{meeting}/submission-status", headers=organiser),
        "documents": lambda c: c.get(f"{API}/organisations/{org}/documents", headers=participant),
        "download": lambda c: c.get(
            f"{API}/documents/{client.document_id}/file", headers=participant
        ),
        "me": lambda c: c.get(f"{API}/me", headers=participant),
        "batch": lambda c: c.post(
            f"{API}/meetings/{meeting}/batches",
            json={
                "kinds": ["organisation_agenda"],
                "organisation_ids": [org],
                # The cloned organisations have no contact person: the letter prints a
                # placeholder, which the organiser accepts here.
                "allow_placeholders": True,
            },
            headers=organiser,
        ),
        "upload": lambda c: c.post(
            f"{API}/organisations/{org}/checklist-uploads",
            files={"file": ("checklista.xlsx", client.checklist, "application/octet-stream")},
            headers=participant,
        ),
    }


EXPECTED = {"batch": 202, "upload": 201}
WARM_UP = 3.0  # seconds of calls not counted at the start of each configuration
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def run_clients(
    base: str, world: World, seconds: float, think_ms: float = 0.0, warm_up: float = WARM_UP
) -> Samples:
    """Every client goes round the calls (each from another starting point) until time is up.

    Calls started in the first ``warm_up`` seconds are not counted (a server starts once and
    serves for days; its first calls open pool connections and fill SQLAlchemy's statement
    caches), only their slowest is kept, to be printed apart.

    ``think_ms``: the mean of a random pause (exponential, as people's are) after each answer;
    0 makes every client send its next call at once (the server is then saturated, and each
    wait is about clients ÷ throughput whatever the call: Little's law).
    """
    samples = Samples()
    lock = threading.Lock()
    began_at = time.monotonic()
    counted_from = began_at + warm_up
    stop_at = counted_from + seconds

    def one(index: int, client: Client) -> None:
        calls = _calls(world, client)
        order = CALLS[index % len(CALLS) :] + CALLS[: index % len(CALLS)]
        pauses = random.Random(index)
        with httpx.Client(base_url=base, timeout=60) as http:
            turn = 0
            # Clients start spread over one mean pause, not all in the same instant.
            time.sleep(pauses.uniform(0, think_ms / 1000))
            while time.monotonic() < stop_at:
                name = order[turn % len(order)]
                turn += 1
                started = time.perf_counter()
                started_at = time.monotonic()
                answer = None
                try:
                    answer = calls[name](http)
                    _ = answer.content
                    failure = (
                        None
                        if answer.status_code == EXPECTED.get(name, 200)
                        else f"{answer.status_code} {answer.text[:200]}"
                    )
                except httpx.HTTPError as exc:
                    failure = f"{type(exc).__name__}: {exc}"
                waited = (time.perf_counter() - started) * 1000
                timing = _TIMING.search(answer.headers.get("server-timing", "")) if answer else None
                with lock:
                    if failure is not None:  # an error counts, warm-up or not
                        samples.errors[name].append(failure)
                    if started_at < counted_from:
                        samples.warm_up_ms = max(samples.warm_up_ms, waited)
                    else:
                        samples.ms[name].append(waited)
                        app_ms = float(timing.group(1)) if timing else -1.0
                        samples.slowest.append((waited, name, started_at - counted_from, app_ms))
                        if timing:
                            samples.server_ms[name].append(float(timing.group(1)))
                if think_ms > 0:
                    time.sleep(pauses.expovariate(1000 / think_ms))

    threads = [
        threading.Thread(target=one, args=(i, c), daemon=True) for i, c in enumerate(world.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples.seconds = time.monotonic() - counted_from
    return samples


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(title: str, samples: Samples, *, clients: int, judged: bool = True) -> None:
    total = sum(len(v) for v in samples.ms.values())
    rate = total / max(samples.seconds, 1e-9)
    cpu_ms = samples.server_cpu_seconds * 1000 / max(total, 1)
    print(
        f"\n{title}: {total} requests, {rate:.1f} per second, "
        f"server CPU {cpu_ms:.1f} ms per request, load average {os.getloadavg()[0]:.1f}"
    )
    if not judged:
        print(
            f"  saturated: no targets; every wait is about {clients} clients ÷ {rate:.0f} per"
            f" second = {clients * 1000 / max(rate, 1e-9):.0f} ms (Little's law)"
        )
    print(
        f"  {'call':10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"
        f" {'app p50':>8}  target"
    )
    for name in CALLS:
        values = samples.ms.get(name, [])
        p99 = quantile(values, 0.99)
        verdict = "ok" if p99 < TARGET_P99_MS[name] and not samples.errors.get(name) else "MISSED"
        if not judged:
            verdict = "-" if not samples.errors.get(name) else "ERRORS"
        print(
            f"  {name:10} {len(values):6d} {statistics.median(values) if values else 0:8.1f} "
            f"{p99:8.1f} {max(values, default=0):8.1f} {len(samples.errors.get(name, [])):7d}"
            f" {statistics.median(samples.server_ms[name] or [0.0]):8.1f}"
            f"  p99 < {TARGET_P99_MS[name]:.0f} {verdict}"
        )
    for name, errors in samples.errors.items():
        print(f"  first {name} error: {errors[0]}")
    worst = sorted(samples.slowest, reverse=True)[:8]
    print(
        "  slowest (waited/app ms, when): "
        + ", ".join(f"{call} {ms:.0f}/{app:.0f} at {at:.1f} s" for ms, call, at, app in worst)
    )
    print(f"  warm-up (first {WARM_UP:g} s, not counted): slowest call {samples.warm_up_ms:.0f} ms")


def compare(before: Samples, after: Samples, *, label: str = "one process") -> None:
    rate = sum(len(v) for v in after.ms.values()) / max(after.seconds, 1e-9)
    rate_before = sum(len(v) for v in before.ms.values()) / max(before.seconds, 1e-9)
    print(f"\nthroughput: production {rate / max(rate_before, 1e-9):.2f}x {label}")
    per_request = [
        x.server_cpu_seconds / max(sum(len(v) for v in x.ms.values()), 1) for x in (before, after)
    ]
    print(
        f"server CPU per request: {label} / production "
        f"{per_request[0] / max(per_request[1], 1e-12):.2f}x"
    )
    print(f"{label} / production (how many times slower before):")
    print(f"  {'call':10} {'p50 ratio':>10} {'p99 ratio':>10}")
    for name in CALLS:
        b, a = before.ms.get(name, []), after.ms.get(name, [])
        if not a or not b:
            continue
        p50 = statistics.median(b) / max(statistics.median(a), 1e-9)
        p99 = quantile(b, 0.99) / max(quantile(a, 0.99), 1e-9)
        print(f"  {name:10} {p50:9.2f}x {p99:9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="ADMIN_URL")
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="production's API processes")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=500.0,
        help="mean pause of each client after an answer (0: never pause)",
    )
    parser.add_argument(
        "--only",
        choices=("production", "one-process", "baseline", "saturation"),
        default=None,
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        default=None,
        metavar="DIR",
        help="also serve this checkout (the code before a change) as production, same run",
    )
    parser.add_argument(
        "--workers-list",
        default=None,
        metavar="N,N",
        help="production with each of these process counts in turn (instead of --workers)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, Path(tmp)) as url:
        work = Path(tmp)
        with embedded_redis(work / "redis") as redis_url:
            settings = Settings(
                database_url=url,
                redis_url=redis_url,
                file_store_dir=work / "files",
                api_key=API_KEY,
            )
            started = time.perf_counter()
            world = build_world(settings, args.organisations, args.clients)
            print(
                f"{args.organisations} organisations, {len(world.clients)} clients, "
                f"{args.seconds:g} s per configuration (built in "
                f"{time.perf_counter() - started:.1f} s)"
            )
            results: dict[str, Samples] = {}
            think = args.think_ms
            # name -> (processes, environment, tree, mean think time)
            configurations: dict[str, tuple[int, dict[str, str], Path, float]] = {
                # How the API was served before: one process, SQLAlchemy's default pool.
                "one-process": (
                    1,
                    {"BENCHDOCS_DATABASE_POOL_SIZE": "5", "BENCHDOCS_DATABASE_MAX_OVERFLOW": "10"},
                    PROJECT_ROOT,
                    think,
                ),
            }
            if args.baseline_tree is not None:
                configurations["baseline"] = (
                    args.workers,
                    {},
                    args.baseline_tree.resolve(),
                    think,
                )
            if args.workers_list:
                for count in (int(n) for n in args.workers_list.split(",")):
                    configurations[f"production-{count}"] = (count, {}, PROJECT_ROOT, think)
            else:
                configurations["production"] = (args.workers, {}, PROJECT_ROOT, think)
            if think > 0:
                # The same clients never pausing: capacity, not what people wait.
                configurations["saturation"] = (args.workers, {}, PROJECT_ROOT, 0.0)
            for name, (workers, env, tree, pause) in configurations.items():
                if args.only is not None and not name.startswith(args.only):
                    continue
                with served(settings, workers=workers, extra_env=env, tree=tree) as (base, pid):
                    cpu_before = tree_cpu_seconds(pid)
                    results[name] = run_clients(base, world, args.seconds, pause)
                    results[name].server_cpu_seconds = tree_cpu_seconds(pid) - cpu_before
                processes = f"{workers} process{'es' if workers > 1 else ''}"
                report(
                    f"{name} ({processes}, clients pause {pause:g} ms on average)",
                    results[name],
                    clients=len(world.clients),
                    judged=pause > 0,
                )
            if "one-process" in results and "production" in results:
                compare(results["one-process"], results["production"])
            if "baseline" in results and "production" in results:
                compare(results["baseline"], results["production"], label="baseline")


if __name__ == "__main__":
    main()
