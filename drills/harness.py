"""The drills' stage: each drill gets a world of its own and is measured the same way.

A ``Stage`` is one drill's PostgreSQL database (in the suite's private cluster), its own
Redis on a spare port, its own file store and template directory, the sample programme
imported, and the workers and beat it starts as an operator would. ``Tally`` counts what a
batch came to: wanted, done, failed, duplicated (two finished rows for one slot, or a stored
file that is not what its row says) and lost (a row never finished, or a done row whose file
is missing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from service.batches.control import batch_progress, start_batch
from service.cli.local_cluster import WorkerProcess, settings_environment
from service.database import models as m
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from service.storage.file_store import file_checksum
from tests.tools.private_services import PrivatePostgres, PrivateRedis

MARK = "BENCHDOCS_DRILL_MARK"
MEETING = "bm2"  # the sample meeting whose documents the drills make


@dataclass
class Tally:
    """What one drill's batch came to, and how long it took to come back."""

    drill: str
    wanted: int = 0
    done: int = 0
    failed: int = 0
    duplicated: int = 0
    lost: int = 0
    recovery_seconds: float | None = None
    passed: bool = False
    note: str = ""
    failures: Counter[str] = field(default_factory=Counter)


class Stage:
    """One drill's own database, Redis, files, templates, workers and beat."""

    def __init__(
        self,
        root: Path,
        postgres: PrivatePostgres,
        name: str,
        *,
        resend_after_seconds: int = 30,
        file_store_dir: Path | None = None,
        **settings: object,
    ) -> None:
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.mark = uuid.uuid4().hex
        self._postgres = postgres
        self.database = f"drill_{name}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        url = make_url(postgres.url).set(database=self.database).render_as_string(False)
        self.redis = PrivateRedis(self.root / "redis").start()
        self.templates_dir = self.root / "templates"
        shutil.copytree(PROJECT_ROOT / "doc_templates", self.templates_dir)
        self.settings = Settings(
            database_url=url,
            redis_url=self.redis.url,
            file_store_dir=file_store_dir or self.root / "files",
            templates_dir=self.templates_dir,
            resend_after_seconds=resend_after_seconds,
            **settings,  # type: ignore[arg-type]
        )
        engine = make_engine(url)
        migrate(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            import_programme(
                session, SAMPLE_PROGRAMME.read_bytes(), max_bytes=self.settings.max_import_bytes
            )
        engine.dispose()
        self.runtime: Runtime = build_runtime(self.settings)
        self.workers: list[WorkerProcess] = []
        self.commands: list[subprocess.Popen[bytes]] = []

    # -- processes -------------------------------------------------------------------------

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """What a process of this stage runs with: its settings and the stage's mark."""
        return {MARK: self.mark, **(extra or {})}

    def worker(
        self, *, concurrency: int = 2, extra_env: dict[str, str] | None = None, **settings: object
    ) -> WorkerProcess:
        """A real worker (all queues, PDFs on) for this stage, started and consuming."""
        worker = WorkerProcess(
            self.settings.model_copy(update=settings) if settings else self.settings,
            concurrency=concurrency,
            name=f"{self.name}{len(self.workers)}",
            log_file=self.root / f"worker{len(self.workers)}.log",
            extra_env=self.environment(extra_env),
            ready_timeout=120.0,
        )
        self.workers.append(worker)
        return worker.start()

    def command(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """``benchdocs ARGS`` in a session of its own (as a supervisor runs it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHDOCS_")}
        env.update(settings_environment(self.settings))
        env.update(self.environment(extra_env))
        with (self.root / f"{args[0]}{len(self.commands)}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "service.cli", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.commands.append(process)
        return process

    def beat(self) -> subprocess.Popen[bytes]:
        """Beat, re-sending strays as in production (every ``resend_after_seconds / 2``)."""
        return self.command("beat", "--schedule", str(self.root / "beat-schedule"))

    def marked(self) -> list[psutil.Process]:
        """Every live process this stage started, whoever its parent is now."""
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                if process.environ().get(MARK) == self.mark:
                    found.append(process)
        return found

    def office_processes(self) -> list[psutil.Process]:
        """The stage's running LibreOffice processes."""
        return [p for p in self.marked() if _name(p) == "soffice.bin"]

    def close(self) -> None:
        """End everything the stage started and remove its database."""
        for process in self.commands:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        for leftover in self.marked():
            with contextlib.suppress(psutil.Error):
                leftover.send_signal(signal.SIGCONT)
                leftover.kill()
        for worker in self.workers:
            worker.kill()
        for process in self.commands:
            process.wait()
        self.runtime.close()
        self.redis.stop()
        admin = create_engine(self._postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()

    # -- batches ---------------------------------------------------------------------------

    def meeting_id(self) -> int:
        with self.runtime.sessions() as session:
            return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == MEETING)).one()

    def start_batch(
        self, kinds: Sequence[DocumentKind] | None = None, *, with_pdf: bool = True
    ) -> int:
        """The sample meeting's documents (PDFs on), queued."""
        return start_batch(
            self.runtime.sessions,
            self.runtime.queue,
            meeting_id=self.meeting_id(),
            kinds=kinds,
            with_pdf=with_pdf,
            allow_placeholders=True,
        )

    def counts(self, batch_id: int) -> Counter[str]:
        with self.runtime.sessions() as session:
            return Counter(batch_progress(session, batch_id).counts)

    def finished(self, batch_id: int) -> bool:
        counts = self.counts(batch_id)
        return counts["done"] + counts["failed"] == sum(counts.values())

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> float | None:
        """Seconds until ``predicate`` held, or None if it did not within ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if predicate():
                return time.monotonic() - started
            time.sleep(0.25)
        return None

    def wait_done(self, batch_id: int, count: int, timeout: float = 120.0) -> None:
        """Until at least ``count`` of the batch are done (the fault comes mid-batch)."""
        if self.wait_for(lambda: self.counts(batch_id)["done"] >= count, timeout) is None:
            raise DrillError(f"fewer than {count} documents done within {timeout:g} s")

    def tally(self, drill: str, batch_id: int, recovery: float | None) -> Tally:
        """Count the batch: every row's state, every done row's file against its checksum."""
        doc = m.GeneratedDocument
        result = Tally(drill, recovery_seconds=recovery)
        with self.runtime.sessions() as session:
            rows = session.scalars(select(doc).where(doc.batch_id == batch_id)).all()
        slots: Counter[tuple[object, ...]] = Counter()
        for row in rows:
            result.wanted += 1
            if row.status == DocumentStatus.DONE:
                slots[(row.meeting_id, row.organisation_id, row.kind, row.format)] += 1
                if row.file_key is None or not self._file_matches(row):
                    result.lost += 1
                else:
                    result.done += 1
            elif row.status == DocumentStatus.FAILED:
                result.failed += 1
                result.failures[(row.error or "")[:90]] += 1
            else:
                result.lost += 1
        result.duplicated = sum(n - 1 for n in slots.values() if n > 1)
        return result

    def _file_matches(self, row: m.GeneratedDocument) -> bool:
        assert row.file_key is not None
        path = self.settings.file_store_dir / row.file_key
        if not path.is_file():
            return False
        size, sha256 = file_checksum(path)
        return size == row.size_bytes and sha256 == row.sha256


class DrillError(Exception):
    """A drill could not set up the fault it was meant to show."""


def _name(process: psutil.Process) -> str:
    try:
        return str(process.name())
    except psutil.Error:
        return ""


@contextlib.contextmanager
def stage(root: Path, postgres: PrivatePostgres, name: str, **options: object) -> Iterator[Stage]:
    """A stage, closed whatever the drill did."""
    made = Stage(root, postgres, name, **options)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.close()
