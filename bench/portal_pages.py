"""The portal's pages under load: server time per page, alone and with 20 concurrent users.

A network of 40 organisations (the sample's, cloned) with Benchmarking 2's documents made,
served by ``benchdocs serve`` (one uvicorn process) in its own process. Every page is fetched
by one user first (server time per page, median of ``--repeat``), then 20 users (half
organisers, half participants, each with their own session) walk their pages for
``--seconds``: median and p95 of the server's own time (``Server-Timing``) and of what the
user waited, per page. The baselines, measured in the same run, are ``/health`` (the app's
cheapest answer) and a static file: ratios are against ``/health``.

    .venv/bin/python -m bench.portal_pages [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select

from bench.regeneration import database
from bench.render_and_pipeline import programme_with
from service.access.organisers import add_user
from service.access.tokens import issue_token
from service.batches.control import create_batch
from service.batches.render_job import render_inline
from service.cli.local_cluster import embedded_redis
from service.clock import utcnow
from service.database import models as m
from service.database.session import migrate, unit_of_work
from service.domain.kinds import DocumentKind
from service.intake.programme_import import import_programme
from service.mail.building import build_invitations, build_settings
from service.runtime import build_runtime
from service.settings import Settings

PASSWORD = "bänk-lösenord-för-mätning"
_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass(frozen=True)
class World:
    """What the pages are about: the meeting, its batch, a participant's link."""

    meeting_id: int
    batch_id: int
    links: list[str]
    message_id: int


def build_world(settings: Settings, organisations: int) -> World:
    """Import the cloned network, render Benchmarking 2's documents, add accounts and links."""
    runtime = build_runtime(settings)
    migrate(runtime.engine)
    try:
        with unit_of_work(runtime.sessions) as session:
            import_programme(session, programme_with(organisations), max_bytes=50_000_000)
            meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
            batch = create_batch(
                session,
                meeting_id=meeting_id,
                kinds=[DocumentKind.DECK, DocumentKind.CHECKLIST, DocumentKind.FEEDBACK_LETTER],
            )
            document_ids = [d.id for d in batch.documents]
            batch_id = batch.id
            add_user(session, username="bench", password=PASSWORD)
            links = [
                "/lank/"
                + issue_token(
                    session,
                    organisation_id=organisation_id,
                    valid_for=dt.timedelta(days=1),
                    label="bench",
                    now=utcnow(),
                ).token
                for organisation_id in session.scalars(
                    select(m.Organisation.id).order_by(m.Organisation.id)
                )
            ]
        render_inline(
            document_ids,
            sessions=runtime.sessions,
            files=runtime.files,
            templates=runtime.templates,
        )
        # The meeting's invitations, waiting for the organiser: the e-mail pages have rows.
        with unit_of_work(runtime.sessions) as session:
            built = build_invitations(
                session,
                meeting_id,
                build_settings(settings, by="bench", now=utcnow(), hold=True),
            )
    finally:
        runtime.close()
    return World(meeting_id=meeting_id, batch_id=batch_id, links=links, message_id=built.added[0])


def organiser_pages(world: World) -> list[str]:
    meeting = world.meeting_id
    return [
        "/arrangor",
        f"/arrangor/moten/{meeting}",
        f"/arrangor/moten/{meeting}/generera",
        f"/arrangor/batchar/{world.batch_id}",
        f"/arrangor/moten/{meeting}/brev",
        "/arrangor/lankar",
        "/arrangor/regenerering",
        "/arrangor/mallar",
        f"/arrangor/moten/{meeting}/utskick",
        f"/arrangor/utskick/{world.message_id}",
        "/arrangor/meddelandemallar",
        "/arrangor/meddelandemallar/invitation",
    ]


PUBLIC_PAGES = ["/", "/logga-in", "/tillganglighet"]
PARTICIPANT_PAGES = ["/mina-dokument"]
BASELINES = ["/health", "/static/portal.css"]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if found is None:
        raise SystemExit("the login form has no CSRF token")
    return found.group(1)


def organiser_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/logga-in")
    answer = client.post(
        "/logga-in",
        data={"csrf_token": _csrf(form.text), "anvandarnamn": "bench", "losenord": PASSWORD},
    )
    if answer.status_code != 303:
        raise SystemExit(f"the benchmark's organiser could not sign in ({answer.status_code})")
    return client


def participant_client(base: str, link: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    if client.get(link).status_code != 303:
        raise SystemExit("a participant link did not open a session")
    return client


@dataclass
class Samples:
    server_ms: dict[str, list[float]]
    waited_ms: dict[str, list[float]]
    statuses: dict[str, set[int]]

    @classmethod
    def empty(cls) -> Samples:
        return cls(defaultdict(list), defaultdict(list), defaultdict(set))


def fetch(client: httpx.Client, path: str, samples: Samples, lock: threading.Lock) -> None:
    started = time.perf_counter()
    answer = client.get(path)
    waited = (time.perf_counter() - started) * 1000
    timing = _TIMING.search(answer.headers.get("server-timing", ""))
    with lock:
        samples.statuses[path].add(answer.status_code)
        samples.waited_ms[path].append(waited)
        if timing:
            samples.server_ms[path].append(float(timing.group(1)))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _label(path: str, world: World) -> str:
    return (
        path.replace(f"/batchar/{world.batch_id}", "/batchar/{batch}")
        .replace(f"/utskick/{world.message_id}", "/utskick/{message}")
        .replace(f"/{world.meeting_id}", "/{meeting}")
        .replace(world.links[0], "/lank/{token}")
    )


def report(title: str, samples: Samples, world: World, floor: float) -> None:
    print(f"\n{title}")
    print(
        f"  {'page':34} {'n':>5} {'server p50':>11} {'p95':>8} {'waited p50':>11} {'p95':>8}"
        f" {'x /health':>10}  status"
    )
    for path in samples.waited_ms:
        server = samples.server_ms[path] or [float("nan")]
        waited = samples.waited_ms[path]
        median_server = statistics.median(server)
        print(
            f"  {_label(path, world):34} {len(waited):5d}"
            f" {median_server:9.1f}ms {p95(server):6.1f}ms"
            f" {statistics.median(waited):9.1f}ms {p95(waited):6.1f}ms"
            f" {median_server / floor:9.1f}x  {sorted(samples.statuses[path])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organisations", type=int, default=40)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql://postgres@/x")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.postgres, Path(tmp)) as url,
        embedded_redis(Path(tmp) / "redis") as redis_url,
    ):
        settings = Settings(database_url=url, redis_url=redis_url, file_store_dir=Path(tmp) / "f")
        print(f"building a network of {args.organisations} organisations on {url.split(':')[0]}")
        world = build_world(settings, args.organisations)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        environment = {
            **os.environ,
            "BENCHDOCS_DATABASE_URL": url,
            "BENCHDOCS_REDIS_URL": redis_url,
            "BENCHDOCS_FILE_STORE_DIR": str(Path(tmp) / "f"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(base + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            measure(base, world, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure(base: str, world: World, args: argparse.Namespace) -> None:
    lock = threading.Lock()
    organiser = organiser_client(base)
    participant = participant_client(base, world.links[0])
    anonymous = httpx.Client(base_url=base, timeout=60)
    alone = Samples.empty()
    plan = (
        [(anonymous, p) for p in BASELINES + PUBLIC_PAGES]
        + [(participant, p) for p in PARTICIPANT_PAGES]
        + [(organiser, p) for p in organiser_pages(world)]
    )
    for client, path in plan:  # warm up: templates compiled, caches filled
        client.get(path)
    for _ in range(args.repeat):
        for client, path in plan:
            fetch(client, path, alone, lock)
    floor = statistics.median(alone.server_ms["/health"])
    report(
        f"one user, median of {args.repeat} (server time from Server-Timing)", alone, world, floor
    )

    loaded = Samples.empty()
    deadline = time.monotonic() + args.seconds

    def user(number: int) -> None:
        if number % 2 == 0:
            client = organiser_client(base)
            pages = organiser_pages(world) + BASELINES[:1]
        else:
            client = participant_client(base, world.links[number % len(world.links)])
            pages = PARTICIPANT_PAGES + PUBLIC_PAGES[:1] + BASELINES[:1]
        try:
            while time.monotonic() < deadline:
                for path in pages:
                    fetch(client, path, loaded, lock)
        finally:
            client.close()

    threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in loaded.waited_ms.values())
    floor_loaded = statistics.median(loaded.server_ms["/health"])
    report(
        f"{args.users} concurrent users for {elapsed:.0f} s: {total} requests, "
        f"{total / elapsed:.0f}/s",
        loaded,
        world,
        floor_loaded,
    )
    for client in (organiser, participant, anonymous):
        client.close()


if __name__ == "__main__":
    main()
