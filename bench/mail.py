"""Benchmark: build and send the invitations of a meeting of 300 organisations x 3 participants.

Run with ``make bench`` or alone::

    .venv/bin/python -m bench.mail [--organisations 300] [--participants 3] [--repeat 3]
                                   [--workers 2]

Each run starts from a copy of the same imported programme (SQLite, the embedded default) and
times, for Benchmarking 2 on the day its invitations are due:

- building: ``build_due`` (one personal link, one rendered text and one calendar per message);
- sending in one process through ``SmtpTransport`` to a local aiosmtpd server (one SMTP
  conversation per message, as the worker does), and through ``FolderTransport`` (.eml files);
- sending through the real queue: ``--workers`` worker processes, embedded Redis, the same
  SMTP server (0 skips this).

Prints the median of the runs and messages per second. The machine is shared and noisy:
compare ratios within a run rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bench.render_and_pipeline import programme_with
from service.cli.local_cluster import WorkerProcess, embedded_redis, free_port
from service.database import models as m
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.domain.kinds import MessageState
from service.intake.programme_import import import_programme
from service.mail.building import build_settings
from service.mail.daily import DueRules, build_due
from service.mail.sending import MailSender
from service.mail_content.composing import Sender
from service.mail_delivery.transport import FolderTransport, MailTransport, SmtpTransport
from service.runtime import Runtime, build_runtime
from service.settings import Settings

INVITATION_DAY = dt.datetime(2019, 9, 12, 8, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
RULES = DueRules(invitation_days_before=14, reminder_days_before_deadline=3)


class CountingHandler:
    """Accepts every message and counts them (the server's own cost stays small)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, CountingHandler]]:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()
        controller.loop.close()


def programme(organisations: int, participants: int) -> bytes:
    """The sample cloned to ``organisations``, each clone with its own participants."""
    data = json.loads(programme_with(organisations))
    known = {p["organisation_id"] for p in data["participants"]}
    for organisation in data["organisations"]:
        if organisation["id"] in known:
            continue
        for n in range(participants):
            data["participants"].append(
                {
                    "id": f"{organisation['id']}_p{n}",
                    "organisation_id": organisation["id"],
                    "name": f"Deltagare {n + 1} i {organisation['name']}",
                    "role": "strateg",
                    "title": "utvecklingsstrateg",
                    "email": f"deltagare{n + 1}.{organisation['id']}@exempel.example",
                }
            )
    return json.dumps(data, ensure_ascii=False).encode()


def imported_database(work: Path, organisations: int, participants: int) -> Path:
    path = work / "imported.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        import_programme(session, programme(organisations, participants), max_bytes=200_000_000)
    engine.dispose()
    return path


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def build(runtime: Runtime) -> list[int]:
    with unit_of_work(runtime.sessions) as session:
        report = build_due(
            session,
            today=INVITATION_DAY.date(),
            rules=RULES,
            settings=build_settings(runtime.settings, by="bench", now=INVITATION_DAY),
        )
    return report.added


def send_here(runtime: Runtime, transport: MailTransport, ids: list[int]) -> None:
    sender = MailSender(
        sessions=runtime.sessions,
        transport=transport,
        sender=Sender(runtime.settings.mail_from),
        files=runtime.files,
        max_attempts=3,
    )
    now = dt.datetime.now(dt.UTC)
    for message_id in ids:
        sender.send(message_id, now=now)


def sent_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(m.OutboxMessage)
                .where(m.OutboxMessage.state == MessageState.SENT)
            )
            or 0
        )


def send_through_workers(runtime: Runtime, ids: list[int], workers: int) -> float:
    """Seconds from queueing the first message to the last one sent (workers already up)."""
    with WorkerProcess(runtime.settings, concurrency=workers, name="bench-mail"):
        started = time.perf_counter()
        for message_id in ids:
            runtime.queue.send_message(message_id)
        while sent_count(runtime) < len(ids):
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {sent_count(runtime)} of {len(ids)} sent in 600 s")
            time.sleep(0.02)
        return time.perf_counter() - started


def one_run(
    template: Path, work: Path, *, port: int, redis_url: str | None, workers: int
) -> dict[str, tuple[float, int]]:
    """Build, then send each way from a fresh copy; seconds and message counts."""
    results: dict[str, tuple[float, int]] = {}
    for way in ("smtp", "folder", *(["workers"] if redis_url and workers else [])):
        database = work / f"{way}.sqlite3"
        shutil.copyfile(template, database)
        settings = Settings(
            database_url=f"sqlite:///{database}",
            file_store_dir=work / "files",
            redis_url=redis_url or "redis://127.0.0.1:6379/0",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            mail_from="Benchmarking <benchmarking@skr.example>",
            mail_outbox_dir=work / f"outbox-{way}",
            participant_url="https://benchdocs.example.se",
        )
        runtime = build_runtime(settings)
        try:
            seconds, ids = timed(functools.partial(build, runtime))
            results.setdefault("build", (seconds, len(ids)))
            if way == "workers":
                seconds = send_through_workers(runtime, ids, workers)
            else:
                transport: MailTransport = FolderTransport(settings.mail_outbox_dir)
                if way == "smtp":
                    transport = SmtpTransport(
                        host="127.0.0.1",
                        port=port,
                        security="none",
                        username=None,
                        password=None,
                        timeout=30,
                    )
                seconds, _ = timed(functools.partial(send_here, runtime, transport, ids))
            assert sent_count(runtime) == len(ids), f"{way}: not everything was sent"
            results[way] = (seconds, len(ids))
        finally:
            runtime.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, smtp_server() as (port, handler):
        work = Path(tmp)
        template = imported_database(work, args.organisations, args.participants)
        runs = []
        with embedded_redis(work / "redis") as redis_url:
            for number in range(args.repeat):
                run_dir = work / f"run{number}"
                run_dir.mkdir()
                runs.append(
                    one_run(template, run_dir, port=port, redis_url=redis_url, workers=args.workers)
                )
    labels = {
        "build": "build (links, texts, calendars)",
        "smtp": "send, one process, SMTP to aiosmtpd",
        "folder": "send, one process, .eml files",
        "workers": f"send, {args.workers} worker processes, SMTP",
    }
    print(
        f"\nE-mail for one meeting: {args.organisations} organisations x {args.participants} "
        f"participants (+ the sample's own), SQLite, median of {args.repeat} runs"
    )
    for key, label in labels.items():
        if key not in runs[0]:
            continue
        seconds = statistics.median(run[key][0] for run in runs)
        count = runs[0][key][1]
        print(f"  {label:40} {count:5d} messages {seconds:7.2f} s  {count / seconds:7.0f} msg/s")
    print(f"  (the server accepted {handler.count} messages in all)")


if __name__ == "__main__":
    main()
