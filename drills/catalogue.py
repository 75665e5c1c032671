"""The drills: each makes the sample meeting's documents (PDFs on) and breaks something.

Every drill starts from a fresh ``Stage`` and passes when the batch ends with nothing lost,
nothing duplicated and (unless the drill expects failures) nothing failed, within its bound.
Recovery is timed from the moment the fault ends (or, for a crash, happens) to the moment the
last document of the batch is finished.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import select

from drills.harness import DrillError, Stage, Tally
from drills.participants import participants_20
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from tests.tools.private_services import PrivatePostgres

# The bound on a whole-worker crash: documents it held are finished without a person.
WORKER_RECOVERY_SECONDS = 90.0
SETTLE_SECONDS = 300.0


@dataclass(frozen=True)
class Drill:
    """A drill: its function and the options of its stage."""

    name: str
    run: Callable[[Stage, PrivatePostgres], Tally]
    about: str
    stage_options: dict[str, object]


def _verdict(tally: Tally, *, failures_allowed: bool = False, bound: float | None = None) -> Tally:
    ok = tally.lost == 0 and tally.duplicated == 0 and tally.recovery_seconds is not None
    if not failures_allowed:
        ok = ok and tally.failed == 0
    if bound is not None and tally.recovery_seconds is not None:
        ok = ok and tally.recovery_seconds < bound
    tally.passed = ok
    if tally.failures and not tally.note:
        tally.note = "; ".join(f"{n}x {reason}" for reason, n in tally.failures.most_common(2))
    return tally


def _settle(stage: Stage, drill: str, batch: int, *, timeout: float = SETTLE_SECONDS) -> Tally:
    recovery = stage.wait_for(lambda: stage.finished(batch), timeout)
    return stage.tally(drill, batch, recovery)


def pool_child_sigkill(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """A pool process is SIGKILLed mid-batch (the OOM killer): its task comes back."""
    worker = stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    assert worker.process is not None
    children = psutil.Process(worker.process.pid).children()
    if not children:
        raise DrillError("the worker has no pool process")
    children[0].kill()
    return _verdict(_settle(stage, "pool child SIGKILL", batch))


def worker_sigkill(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """The whole worker (and its LibreOffice) is SIGKILLed; a new one starts at once. What
    the dead one held must finish within 90 s, without a person (leases, not timeouts)."""
    first = stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    assert first.process is not None
    descendants = psutil.Process(first.process.pid).children(recursive=True)
    first.kill()
    for process in descendants:
        with contextlib.suppress(psutil.Error):
            process.kill()
    stage.worker()
    tally = _settle(stage, "whole worker SIGKILL", batch, timeout=WORKER_RECOVERY_SECONDS + 30)
    return _verdict(tally, bound=WORKER_RECOVERY_SECONDS)


def redis_restarted_empty(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """Redis is killed and comes back empty (no persistence): the queue is gone; the
    database still knows what is wanted and it is sent again."""
    stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    stage.redis.stop()
    time.sleep(2.0)
    stage.redis.start()
    return _verdict(_settle(stage, "Redis restarted empty", batch))


def postgres_restarted(stage: Stage, pg: PrivatePostgres) -> Tally:
    """PostgreSQL restarts mid-batch (a fast shutdown, 3 s down)."""
    stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    pg.stop()
    time.sleep(3.0)
    pg.start()
    return _verdict(_settle(stage, "PostgreSQL restarted", batch))


def libreoffice_frozen(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """Every LibreOffice of the worker is frozen (SIGSTOP): conversions time out, the
    frozen process is killed, a new one converts."""
    stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    offices = stage.office_processes()
    if not offices:
        raise DrillError("no LibreOffice running to freeze")
    for office in offices:
        with contextlib.suppress(psutil.Error):
            office.suspend()
    tally = _settle(stage, "LibreOffice frozen (SIGSTOP)", batch)
    for office in offices:
        with contextlib.suppress(psutil.Error):
            office.resume()
    return _verdict(tally)


def libreoffice_cannot_start(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """LibreOffice exits 1 at every start: Office files are made, every PDF ends ``failed``
    with the reason named once its retries are spent; nothing stays running."""
    fake = stage.root / "broken-office"
    fake.mkdir()
    for name in ("soffice", "libreoffice"):
        script = fake / name
        script.write_text("#!/bin/sh\necho 'drill: LibreOffice cannot start' >&2\nexit 1\n")
        script.chmod(0o755)
    stage.worker(extra_env={"PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"})
    stage.beat()
    batch = stage.start_batch()
    tally = _settle(stage, "LibreOffice cannot start", batch)
    with stage.runtime.sessions() as session:
        pdfs = session.scalars(
            select(m.GeneratedDocument.status).where(
                m.GeneratedDocument.batch_id == batch, m.GeneratedDocument.format == "pdf"
            )
        ).all()
    tally = _verdict(tally, failures_allowed=True)
    named = all("LibreOffice" in reason or "soffice" in reason for reason in tally.failures)
    tally.passed = tally.passed and named and tally.failed == len(pdfs)
    return tally


def disk_full(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """The file store's disk fills up mid-batch, then space returns: writes that met
    ENOSPC are retried and the batch finishes with nothing failed."""
    filler = stage.settings.file_store_dir / "filler"
    stage.worker()
    stage.beat()
    batch = stage.start_batch()
    stage.wait_done(batch, 10)  # LibreOffice warm: documents are stored every second or so
    with contextlib.suppress(OSError), filler.open("wb") as handle:
        while True:
            handle.write(b"\0" * 65536)
    # Full until a worker has met it (its log names ENOSPC), and some seconds more.
    log = stage.root / "worker0.log"
    met = stage.wait_for(lambda: "No space left" in log.read_text(errors="replace"), 90.0)
    time.sleep(5.0)
    filler.unlink()
    if met is None:
        raise DrillError("no document met the full disk within 90 s")
    return _verdict(_settle(stage, "disk full", batch))


MARKED = {
    "deck_benchmarking.pptx": ("ppt/slides/slide2.xml", "Vilka är vi?"),
    "feedback_letter.docx": ("word/document.xml", "Er presentation – det vi särskilt noterade"),
}


def _variant(source: Path, label: str) -> bytes:
    member, words = MARKED[source.name]
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == member:
                data = data.decode().replace(words, f"{words} VERSION-{label}").encode()
            new.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def template_swapped(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """An editor saves over the deck and letter templates in place, again and again, while
    the batch runs: nothing fails and every document has the batch start's version."""
    originals = {name: (stage.templates_dir / name) for name in MARKED}
    versions = {label: {n: _variant(p, label) for n, p in originals.items()} for label in "ABC"}
    for name, data in versions["A"].items():
        (stage.templates_dir / name).write_bytes(data)
    stage.worker()
    stage.beat()
    batch = stage.start_batch([DocumentKind.DECK, DocumentKind.FEEDBACK_LETTER])
    stop = threading.Event()

    def editor() -> None:
        while not stop.is_set():
            for label in "BC":
                for name, data in versions[label].items():
                    with (stage.templates_dir / name).open("r+b") as handle:
                        handle.truncate(0)
                        for start in range(0, len(data), 8192):
                            handle.write(data[start : start + 8192])
                            handle.flush()
                            time.sleep(0.01)

    thread = threading.Thread(target=editor, daemon=True)
    thread.start()
    try:
        tally = _settle(stage, "template swapped mid-batch", batch)
    finally:
        stop.set()
        thread.join(timeout=10)
    wrong = 0
    with stage.runtime.sessions() as session:
        keys = session.scalars(
            select(m.GeneratedDocument.file_key).where(
                m.GeneratedDocument.batch_id == batch,
                m.GeneratedDocument.status == DocumentStatus.DONE,
                m.GeneratedDocument.format != "pdf",
            )
        ).all()
    for key in keys:
        assert key is not None
        with zipfile.ZipFile(io.BytesIO(stage.runtime.files.get(key))) as package:
            text = "".join(
                package.read(n).decode("utf-8", "replace")
                for n in package.namelist()
                if n.endswith(".xml")
            )
        wrong += "VERSION-A" not in text or "VERSION-B" in text or "VERSION-C" in text
    tally = _verdict(tally)
    if wrong:
        tally.passed = False
        tally.note = f"{wrong} made from a template saved after the batch started"
    return tally


def worker_stop_no_orphan(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """`benchdocs worker` gets SIGTERM mid-batch: it stops (running tasks finish), nothing
    it started lives on; a new worker finishes the batch."""
    worker = stage.command("worker", "--concurrency", "2")
    batch = stage.start_batch()
    stage.wait_done(batch, 5)
    if not stage.office_processes():
        raise DrillError("no LibreOffice running under the worker")
    worker.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    try:
        worker.wait(timeout=120)
    except subprocess.TimeoutExpired:
        return Tally("worker stop, no orphan", note="the worker did not stop within 120 s")
    stop_seconds = time.monotonic() - stopped
    left = stage.wait_for(lambda: not stage.marked(), 20.0)
    orphans = [f"{p.pid} {p.name()}" for p in stage.marked()]
    stage.worker()
    tally = _settle(stage, "worker stop, no orphan", batch)
    tally.recovery_seconds = stop_seconds
    tally = _verdict(tally)
    if left is None:
        tally.passed = False
        tally.note = f"left behind: {', '.join(orphans[:5])}"
    return tally


DRILLS = [
    Drill("pool-child-sigkill", pool_child_sigkill, "a pool process SIGKILLed", {}),
    Drill(
        "worker-sigkill",
        worker_sigkill,
        "the whole worker SIGKILLed (no resend by age: leases)",
        {"resend_after_seconds": 600},
    ),
    Drill("redis-restart", redis_restarted_empty, "Redis killed, restarted empty", {}),
    Drill("postgres-restart", postgres_restarted, "PostgreSQL restarted mid-batch", {}),
    Drill(
        "libreoffice-frozen",
        libreoffice_frozen,
        "LibreOffice frozen with SIGSTOP",
        {"pdf_timeout_seconds": 15.0},
    ),
    Drill("libreoffice-cannot-start", libreoffice_cannot_start, "soffice exits 1", {}),
    Drill("disk-full", disk_full, "the file store's disk full, then space back", {"tmpfs": True}),
    Drill("template-swap", template_swapped, "templates saved over in place mid-batch", {}),
    Drill("worker-stop", worker_stop_no_orphan, "SIGTERM to benchdocs worker: no orphan", {}),
    Drill("participants", participants_20, "20 participants at once for a minute", {}),
]
