"""Nothing stuck, nothing half-done (issue 16): leases, final failures, a full disk, the store.

Real worker processes on real Redis, PostgreSQL and LibreOffice; a full disk is a small tmpfs
(we are root here, as under CI).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.api.app import create_app
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.file_store import LocalFileStore
from tests.conftest import TEST_API_KEY, RecordingQueue
from tests.integration.conftest import (
    batch_complete,
    forget_snapshots,
    kill_with_descendants,
    wait_until,
)
from tests.integration.test_checklist_upload import (
    fill,
    id_of,
    make_document,
    participant,
    post_checklist,
)

pytestmark = pytest.mark.integration
API = "/api/v1"
Rows = dict[int, tuple[DocumentStatus, int, str | None, bool]]


def rows_of(runtime: Runtime, batch_id: int) -> Rows:
    doc = m.GeneratedDocument
    with runtime.sessions() as session:
        found = session.execute(
            select(doc.id, doc.status, doc.attempts, doc.error, doc.failed_transient).where(
                doc.batch_id == batch_id
            )
        ).all()
    return {row.id: (row.status, row.attempts, row.error, row.failed_transient) for row in found}


@pytest.fixture
def pipeline_settings(migrated: Settings, broker_url: str) -> Settings:
    """Office files sent two to a message, so four letters keep both pool processes busy."""
    return migrated.model_copy(update={"redis_url": broker_url, "render_chunk_documents": 2})


def start_batch_of(
    client: TestClient, runtime: Runtime, *, organisations: int, with_pdf: bool = False
) -> int:
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        chosen = list(
            session.scalars(
                select(m.Organisation.id).order_by(m.Organisation.id).limit(organisations)
            )
        )
    answer = client.post(
        f"{API}/meetings/{meeting}/batches",
        json={"kinds": ["feedback_letter"], "organisation_ids": chosen, "pdf": with_pdf},
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


def stored_sha256(files: LocalFileStore, runtime: Runtime, batch_id: int) -> dict[int, bool]:
    """Per document: its file is stored and its bytes match the recorded sha256."""
    doc = m.GeneratedDocument
    with runtime.sessions() as session:
        found = session.execute(
            select(doc.id, doc.file_key, doc.sha256).where(doc.batch_id == batch_id)
        ).all()
    return {
        row.id: row.file_key is not None
        and files.exists(row.file_key)
        and hashlib.sha256(files.get(row.file_key)).hexdigest() == row.sha256
        for row in found
    }


# -- a small disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs, unmounted after the test."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_up(disk: Path) -> Path:
    """Fill the disk to the last byte with one file; delete it to give the space back."""
    filler = disk / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    finally:
        os.close(fd)
    return filler


# -- 1. leases: a whole worker SIGKILLed is recovered without a person -----------------------


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_whole_worker_killed_mid_render_is_recovered_by_its_lapsed_lease_within_90_s(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    # Leases of 3 s, looked for every second: the test's own scale of the 30 s / 15 s default.
    # The broker's visibility timeout stays an hour: nothing but the lease can bring them back.
    leased = pipeline_settings.model_copy(
        update={"lease_seconds": 3.0, "resend_interval_seconds": 1.0}
    )
    assert leased.broker_visibility_timeout_seconds == 3600
    assert leased.resend_after_seconds == 600
    doomed = start_worker(
        leased.model_copy(update={"debug_render_delay_seconds": 30.0}), concurrency=2
    )
    batch_id = start_batch_of(client, runtime, organisations=4)

    def running_and_owners() -> tuple[list[int], set[str | None]]:
        doc = m.GeneratedDocument
        with runtime.sessions() as session:
            rows = session.execute(
                select(doc.id, doc.lease_owner).where(
                    doc.batch_id == batch_id, doc.status == DocumentStatus.RUNNING
                )
            ).all()
        return [row.id for row in rows], {row.lease_owner for row in rows}

    # Each pool process claims its task's documents (a chunk) at once.
    wait_until(lambda: len(running_and_owners()[1]) == 2, what="both processes to start")
    running, owners = running_and_owners()
    assert len(running) >= 2
    assert all(o and ":" in o for o in owners)  # host:pid of each child

    kill_with_descendants(doomed)  # the whole worker, SIGKILL: nothing finishes, nothing acks
    killed_at = time.monotonic()
    start_worker(leased, concurrency=2)
    wait_until(
        batch_complete(runtime, batch_id), timeout=90, what="the lapsed leases to be re-sent"
    )
    recovered_after = time.monotonic() - killed_at
    print(f"whole worker SIGKILL: batch complete {recovered_after:.1f} s after the kill")

    final = rows_of(runtime, batch_id)
    assert {s for s, *_ in final.values()} == {DocumentStatus.DONE}
    assert recovered_after < 90
    for document_id in running:  # claimed once by the dead worker, once by the live one
        assert final[document_id][1] == 2
    files = LocalFileStore(pipeline_settings.file_store_dir)
    assert all(stored_sha256(files, runtime, batch_id).values())
    with runtime.sessions() as session:
        leftover = session.scalar(
            select(func.count()).where(
                m.GeneratedDocument.batch_id == batch_id,
                m.GeneratedDocument.lease_owner.is_not(None),
            )
        )
    assert leftover == 0  # a finished document holds no lease


# -- 2. every document ends: retries exhausted -> failed, named; re-sent when it can be made -


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_pdf_whose_libreoffice_cannot_start_fails_naming_it_then_is_made_once_it_can(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    fake = tmp_path / "broken-libreoffice" / "soffice"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    broken = pipeline_settings.model_copy(
        update={
            "soffice_path": str(fake),
            "task_max_retries": 2,
            "transient_resend_seconds": 3600.0,  # nobody re-sends it while we look
            "resend_interval_seconds": 1.0,
        }
    )
    worker = start_worker(broken, concurrency=1)
    batch_id = start_batch_of(client, runtime, organisations=1, with_pdf=True)
    wait_until(batch_complete(runtime, batch_id), timeout=120, what="the batch to end")

    with runtime.sessions() as session:
        by_format = {d.format: d for d in session.get_one(m.Batch, batch_id).documents}
    pdf = by_format["pdf"]
    assert by_format["docx"].status == DocumentStatus.DONE
    assert pdf.status == DocumentStatus.FAILED  # not running for ever
    assert pdf.failed_transient is True
    assert pdf.attempts == 3  # the first try and two retries
    assert pdf.error is not None
    assert pdf.error.startswith("Tillfälligt fel: LibreOffice kunde inte starta eller svara.")
    assert "Försökt 3 gånger" in pdf.error
    assert "soffice exited with 1" in pdf.error
    assert "skickas om automatiskt" in pdf.error
    assert pdf.lease_owner is None

    # LibreOffice mended: the periodic resend makes it, without a person.
    kill_with_descendants(worker)
    start_worker(
        pipeline_settings.model_copy(
            update={"transient_resend_seconds": 0.5, "resend_interval_seconds": 1.0}
        ),
        concurrency=1,
    )

    def pdf_done() -> bool:
        with runtime.sessions() as session:
            row = session.get_one(m.GeneratedDocument, pdf.id)
            return row.status == DocumentStatus.DONE

    wait_until(pdf_done, timeout=120, what="the failed-transient PDF to be made")
    with runtime.sessions() as session:
        made = session.get_one(m.GeneratedDocument, pdf.id)
        assert (made.error, made.failed_transient, made.auto_resends) == (None, False, 1)
        assert made.file_key is not None
    assert runtime.files.get(made.file_key).startswith(b"%PDF")


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_a_permanent_failure_waits_for_a_person(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    # A template that is not a docx at all: broken, not passing.
    templates = tmp_path / "templates"
    shutil.copytree(pipeline_settings.templates_dir, templates)
    letter = next(templates.glob("*letter*.docx"))
    letter.write_bytes(b"not a zip")
    batch_id = start_batch_of(client, runtime, organisations=1)
    # The batch pinned the good template's snapshot; without it the worker reads its own file.
    forget_snapshots(runtime, batch_id)
    start_worker(
        pipeline_settings.model_copy(
            update={
                "templates_dir": templates,
                "transient_resend_seconds": 0.0,
                "resend_interval_seconds": 1.0,
            }
        ),
        concurrency=1,
    )
    wait_until(batch_complete(runtime, batch_id), what="the batch to end")
    time.sleep(3)  # three resend sweeps

    (row,) = rows_of(runtime, batch_id).values()
    status, attempts, error, transient = row
    assert (status, attempts, transient) == (DocumentStatus.FAILED, 1, False)
    assert error and "docx" in error


# -- 3. a full disk: 507 for uploads, transient for documents, /readyz says so ----------------


def test_an_upload_to_a_full_store_answers_507_stores_nothing_and_readyz_says_full(
    sample_imported: Settings, small_disk: Path
) -> None:
    files_dir = small_disk / "files"
    if sample_imported.file_store_dir.is_dir():
        shutil.copytree(sample_imported.file_store_dir, files_dir)
    settings = sample_imported.model_copy(
        update={"file_store_dir": files_dir, "store_min_free_bytes": 1_000_000}
    )
    runtime = build_runtime(settings, queue=RecordingQueue())
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        askersund = id_of(client, m.Organisation, "askersund")
        delegation = participant(client, "askersund")
        checklist = make_document(
            client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
        )
        first = post_checklist(delegation, askersund, fill(checklist, scores={"Q02": 1}))
        assert first.status_code == 201, first.text
        store = components_of(client.get("/readyz"))
        assert store == "ok"
        before = snapshot(runtime, files_dir)

        filler = fill_up(small_disk)
        refused = post_checklist(
            delegation, askersund, fill(checklist, scores={"Q02": 3}), language="sv"
        )
        full = components_of(client.get("/readyz"))

        assert refused.status_code == 507, refused.text
        assert refused.json()["detail"].startswith(
            "Filen kunde inte sparas: lagringsutrymmet är fullt. Ingenting sparades"
        )
        assert snapshot(runtime, files_dir) == before  # no row, no file, old files intact
        scores = client.get(
            f"{API}/assessment-rounds/{id_of(client, m.AssessmentRound, 'sa_bm2')}"
            f"/scores/{askersund}"
        ).json()["scores"]
        assert scores["Q02"] == 1
        assert full.startswith("file store is full")

        filler.unlink()
        again = post_checklist(delegation, askersund, fill(checklist, scores={"Q02": 3}))
        assert again.status_code == 201, again.text
        assert components_of(client.get("/readyz")) == "ok"
    runtime.close()


def components_of(answer: object) -> str:
    store: str = answer.json()["components"]["store"]  # type: ignore[attr-defined]
    return store


def snapshot(runtime: Runtime, files_dir: Path) -> tuple[int, dict[str, str]]:
    """The number of upload rows and every stored file's sha256."""
    with runtime.sessions() as session:
        uploads = int(session.scalar(select(func.count()).select_from(m.Upload)) or 0)
    digests = {
        path.relative_to(files_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(files_dir.rglob("*"))
        if path.is_file()
    }
    return uploads, digests


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_documents_written_to_a_full_store_are_made_once_space_returns_without_a_person(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
    small_disk: Path,
) -> None:
    files_dir = small_disk / "files"
    files_dir.mkdir()
    full = pipeline_settings.model_copy(
        update={
            "file_store_dir": files_dir,
            "task_max_retries": 1,
            "transient_resend_seconds": 1.0,
            "transient_resend_max_seconds": 2.0,
            "transient_resend_limit": 1000,
            "resend_interval_seconds": 1.0,
        }
    )
    filler = fill_up(small_disk)
    start_worker(full, concurrency=2)
    batch_id = start_batch_of(client, runtime, organisations=3)
    seen: set[int] = set()

    def failed_full() -> bool:
        for document_id, (status, _, error, transient) in rows_of(runtime, batch_id).items():
            if status == DocumentStatus.FAILED:
                assert transient, error
                assert error and "fillagringen är full" in error, error
                seen.add(document_id)
        return len(seen) == 3

    wait_until(failed_full, timeout=120, what="every document to fail for a full disk")
    filler.unlink()
    wait_until(
        lambda: {s for s, *_ in rows_of(runtime, batch_id).values()} == {DocumentStatus.DONE},
        timeout=120,
        what="the documents to be made once space returned",
    )
    assert all(stored_sha256(LocalFileStore(files_dir), runtime, batch_id).values())
    with runtime.sessions() as session:
        resends = session.scalars(
            select(m.GeneratedDocument.auto_resends).where(m.GeneratedDocument.batch_id == batch_id)
        ).all()
    assert all(n >= 1 for n in resends)
    leftovers = [p.name for p in files_dir.rglob(".tmp-*")]
    assert leftovers == []  # no half-written file left behind


# -- 8. the store cleans up after itself -----------------------------------------------------


def test_a_failed_commit_leaves_no_file_behind(sample_imported: Settings) -> None:
    from sqlalchemy import event

    from service.batches.control import start_batch
    from service.batches.render_job import render_inline
    from service.storage.configured import open_file_store

    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    batch_id = start_batch(
        runtime.sessions,
        queue,
        meeting_id=meeting,
        kinds=[DocumentKind.FEEDBACK_LETTER],
        organisation_ids=[organisation],
    )
    with runtime.sessions() as session:
        (document_id,) = [d.id for d in session.get_one(m.Batch, batch_id).documents]
    before = set(open_file_store(sample_imported).list_keys())

    def refuse_done(session: object, *_: object) -> None:
        for row in session.dirty:  # type: ignore[attr-defined]
            if isinstance(row, m.GeneratedDocument) and row.status == DocumentStatus.DONE:
                raise RuntimeError("the database went away at commit")

    event.listen(runtime.sessions, "before_commit", refuse_done)
    try:
        with contextlib.suppress(RuntimeError):
            render_inline(
                [document_id],
                sessions=runtime.sessions,
                files=runtime.files,
                templates=runtime.templates,
            )
    finally:
        event.remove(runtime.sessions, "before_commit", refuse_done)

    assert set(open_file_store(sample_imported).list_keys()) == before
    with runtime.sessions() as session:
        row = session.get_one(m.GeneratedDocument, document_id)
        assert row.status != DocumentStatus.DONE and row.file_key is None
    runtime.close()


def test_an_upload_whose_commit_fails_leaves_no_file(imported_client: TestClient) -> None:
    from sqlalchemy import event

    from tests.integration.test_checklist_upload import runtime_of

    runtime = runtime_of(imported_client)
    askersund = id_of(imported_client, m.Organisation, "askersund")
    checklist = make_document(
        imported_client, DocumentKind.CHECKLIST, meeting="bm2", organisation="askersund"
    )
    before = set(runtime.files.list_keys())

    def note_upload(session: Session, *_: object) -> None:
        if any(isinstance(row, m.Upload) for row in session.new):
            session.info["test.new_upload"] = True

    def refuse_upload(session: Session, *_: object) -> None:
        if session.info.pop("test.new_upload", False):
            raise RuntimeError("the database went away at commit")

    event.listen(runtime.sessions, "before_flush", note_upload)
    event.listen(runtime.sessions, "before_commit", refuse_upload)
    try:
        with pytest.raises(RuntimeError):
            post_checklist(
                participant(imported_client, "askersund"),
                askersund,
                fill(checklist, scores={"Q02": 3}),
            )
    finally:
        event.remove(runtime.sessions, "before_flush", note_upload)
        event.remove(runtime.sessions, "before_commit", refuse_upload)
    assert set(runtime.files.list_keys()) == before


def test_storage_check_lists_orphans_and_missing_files_and_repair_mends_them(
    sample_imported: Settings,
) -> None:
    from service.batches.control import start_batch
    from service.batches.render_job import render_inline
    from tests.integration.test_cli import run_cli

    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisations = list(
            session.scalars(select(m.Organisation.id).order_by(m.Organisation.id).limit(2))
        )
    batch_id = start_batch(
        runtime.sessions,
        queue,
        meeting_id=meeting,
        kinds=[DocumentKind.FEEDBACK_LETTER],
        organisation_ids=organisations,
    )
    with runtime.sessions() as session:
        documents = [d.id for d in session.get_one(m.Batch, batch_id).documents]
    render_inline(
        documents, sessions=runtime.sessions, files=runtime.files, templates=runtime.templates
    )
    clean = run_cli(sample_imported, "storage", "check", "--min-age", "0")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "the store is consistent" in clean.stdout

    orphan = "meetings/999/documents/999/left-behind.docx"
    runtime.files.put(orphan, b"written by a transaction that failed")
    with runtime.sessions() as session:
        lost = session.get_one(m.GeneratedDocument, documents[0])
        lost_key = lost.file_key
    assert lost_key is not None
    runtime.files.delete(lost_key)

    found = run_cli(sample_imported, "storage", "check", "--min-age", "0")
    assert found.returncode == 1
    assert f"files without a row (1):\n  {orphan}" in found.stdout
    assert f"rows without a file (1):\n  generated_document {documents[0]}: {lost_key}" in (
        found.stdout
    )
    assert "benchdocs storage check --repair" in found.stderr
    assert runtime.files.exists(orphan)  # a check changes nothing

    young = run_cli(sample_imported, "storage", "check")  # the orphan was written just now
    assert "1 file(s) without a row yet left alone" in young.stdout

    repaired = run_cli(sample_imported, "storage", "check", "--repair", "--min-age", "0")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "removed 1 file(s) without a row" in repaired.stdout
    assert "re-sent 1 document(s) to be made again" in repaired.stdout
    assert not runtime.files.exists(orphan)
    with runtime.sessions() as session:
        again = session.get_one(m.GeneratedDocument, documents[0])
        assert again.status in (DocumentStatus.PENDING, DocumentStatus.QUEUED)
        assert again.file_key is None
    render_inline(
        [documents[0]], sessions=runtime.sessions, files=runtime.files, templates=runtime.templates
    )
    after = run_cli(sample_imported, "storage", "check", "--min-age", "0")
    assert after.returncode == 0, after.stdout
    with runtime.sessions() as session:
        made = session.get_one(m.GeneratedDocument, documents[0])
        assert made.status == DocumentStatus.DONE and made.file_key == lost_key
    assert runtime.files.exists(lost_key)
    runtime.close()


def test_resend_takes_lapsed_leases_and_due_transient_failures_and_nothing_else(
    sample_imported: Settings,
) -> None:
    import datetime as dt

    from service.batches.control import resend_stale, start_batch
    from service.clock import utcnow
    from service.database.session import unit_of_work

    queue = RecordingQueue()
    runtime = build_runtime(sample_imported, queue=queue)
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisations = list(
            session.scalars(select(m.Organisation.id).order_by(m.Organisation.id).limit(6))
        )
    batch_id = start_batch(
        runtime.sessions,
        queue,
        meeting_id=meeting,
        kinds=[DocumentKind.FEEDBACK_LETTER],
        organisation_ids=organisations,
    )
    now = utcnow()
    minute = dt.timedelta(minutes=1)
    with unit_of_work(runtime.sessions) as session:
        rows = sorted(session.get_one(m.Batch, batch_id).documents, key=lambda d: d.id)
        lapsed, live, due, early, spent, permanent = rows
        for row in (lapsed, live):
            row.status = DocumentStatus.RUNNING
            row.started_at = now - minute
            row.lease_owner = "elsewhere:1"
        lapsed.lease_expires_at = now - dt.timedelta(seconds=1)
        live.lease_expires_at = now + minute
        for row in (due, early, spent, permanent):
            row.status = DocumentStatus.FAILED
            row.error = "Tillfälligt fel: …"
            row.failed_transient = row is not permanent
            row.finished_at = now - dt.timedelta(minutes=10)
        early.auto_resends = 4  # waits 60 s * 2**4 = 16 minutes
        spent.auto_resends = 20  # the limit: a person's turn
        ids = {"lapsed": lapsed.id, "due": due.id}
    queue.sent.clear()

    resent = resend_stale(runtime.sessions, queue, older_than=dt.timedelta(hours=1), now=utcnow())

    assert resent == sorted(ids.values())
    assert sorted(queue.sent) == sorted(ids.values())
    with runtime.sessions() as session:
        again = session.get_one(m.GeneratedDocument, ids["due"])
        assert (again.status, again.error, again.failed_transient, again.auto_resends) == (
            DocumentStatus.QUEUED,
            None,
            False,
            1,
        )
        taken = session.get_one(m.GeneratedDocument, ids["lapsed"])
        assert (taken.status, taken.lease_owner) == (DocumentStatus.QUEUED, None)
    # A second sweep right after finds nothing: each stray is sent once.
    assert (
        resend_stale(runtime.sessions, queue, older_than=dt.timedelta(hours=1), now=utcnow()) == []
    )
    runtime.close()
