"""Templates are snapshots: an editor saving over a template mid-batch changes nothing for it.

The deck and letter templates are rewritten in place (truncated, then written slowly, as an
editor saving over the file does) while real workers make a batch: no document fails, and
every one was made from the version the templates had when the batch started.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.batches.control import start_batch
from service.batches.template_library import (
    TemplateBeingWrittenError,
    TemplateLibrary,
    read_stable,
)
from service.batches.template_snapshots import snapshot_key, take_snapshots
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime, build_runtime
from service.settings import PROJECT_ROOT, Settings
from service.storage.configured import open_file_store
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration

DECK = "deck_benchmarking.pptx"
LETTER = "feedback_letter.docx"
# A static text of each template, and the member it is in.
MARKED = {
    DECK: ("ppt/slides/slide2.xml", "Vilka är vi?"),
    LETTER: ("word/document.xml", "Er presentation – det vi särskilt noterade"),
}


def variant(file_name: str, label: str) -> bytes:
    """The built-in template with its static text marked ``label``."""
    member, text = MARKED[file_name]
    source = (PROJECT_ROOT / "doc_templates" / file_name).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == member:
                marked = data.decode().replace(text, f"{text} {label}")
                assert marked != data.decode(), f"{text!r} not in {member}"
                data = marked.encode()
            new.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def save_in_place(path: Path, data: bytes, *, chunk: int = 8192, pause: float = 0.01) -> None:
    """Save over a file as an editor does: truncate it, then write it a piece at a time."""
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.flush()
        for start in range(0, len(data), chunk):
            handle.write(data[start : start + chunk])
            handle.flush()
            time.sleep(pause)


def document_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return "".join(
            package.read(name).decode("utf-8", "replace")
            for name in package.namelist()
            if name.endswith(".xml")
        )


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "doc_templates", directory)
    return directory


@pytest.mark.parametrize("database_backend", ["postgresql"])
def test_templates_saved_over_mid_batch_change_nothing_for_it(
    pipeline_settings: Settings,
    sample: ImportSummary,
    templates_dir: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    settings = pipeline_settings.model_copy(
        update={"templates_dir": templates_dir, "debug_render_delay_seconds": 0.2}
    )
    started = {name: variant(name, "VERSION-A") for name in MARKED}
    later = [{name: variant(name, f"VERSION-{label}") for name in MARKED} for label in "BC"]
    for name, data in started.items():
        (templates_dir / name).write_bytes(data)
    start_worker(settings, concurrency=2)
    runtime: Runtime = build_runtime(settings)
    stop = threading.Event()
    saves = 0

    def editor() -> None:
        nonlocal saves
        while not stop.is_set():
            for version in later:
                for name, data in version.items():
                    save_in_place(templates_dir / name, data)
                    saves += 1

    try:
        with runtime.sessions() as session:
            meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        batch_id = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting,
            kinds=[DocumentKind.DECK, DocumentKind.FEEDBACK_LETTER],
            allow_placeholders=True,
        )
        thread = threading.Thread(target=editor, daemon=True)
        thread.start()
        try:
            wait_until(batch_complete(runtime, batch_id), timeout=90, what="the batch")
        finally:
            stop.set()
            thread.join(timeout=10)
        assert saves >= 4, "the templates were not saved over while the batch ran"
        with runtime.sessions() as session:
            rows = session.execute(
                select(m.GeneratedDocument, m.DocumentTemplate)
                .join(m.DocumentTemplate, m.DocumentTemplate.id == m.GeneratedDocument.template_id)
                .where(m.GeneratedDocument.batch_id == batch_id)
            ).all()
            total = session.scalar(
                select(func.count()).where(m.GeneratedDocument.batch_id == batch_id)
            )
        assert len(rows) == total and total >= 10
        wanted_sha = {
            DocumentKind.DECK: hashlib.sha256(started[DECK]).hexdigest(),
            DocumentKind.FEEDBACK_LETTER: hashlib.sha256(started[LETTER]).hexdigest(),
        }
        for doc, template in rows:
            assert doc.status == DocumentStatus.DONE, (doc.id, doc.status, doc.error)
            # The document records the snapshot it was made with: the batch start's.
            assert template.sha256 == wanted_sha[doc.kind]
            text = document_text(runtime.files.get(doc.file_key))
            assert "VERSION-A" in text, doc.file_name
            assert "VERSION-B" not in text and "VERSION-C" not in text, doc.file_name
    finally:
        runtime.close()


def test_a_half_written_template_is_waited_for_then_the_previous_snapshot_kept(
    migrated: Settings, templates_dir: Path
) -> None:
    """A file that stays half-written is never parsed: the last good snapshot is used."""
    path = templates_dir / DECK
    whole = variant(DECK, "VERSION-A")
    path.write_bytes(whole)
    files = open_file_store(migrated)
    library = TemplateLibrary(templates_dir, files=files)
    runtime = build_runtime(migrated)
    try:
        with runtime.sessions() as session:
            good = take_snapshots(session, library, files, [DocumentKind.DECK])
            session.commit()
        parsed = library.get(DECK)
        assert files.get(snapshot_key(hashlib.sha256(whole).hexdigest(), "pptx")) == whole

        path.write_bytes(whole[: len(whole) // 2])  # an editor stopped half-way
        started = time.monotonic()
        with pytest.raises(TemplateBeingWrittenError):
            read_stable(path, name=DECK, wait_seconds=0.5)
        assert time.monotonic() - started >= 0.5
        with runtime.sessions() as session:
            kept = take_snapshots(session, library, files, [DocumentKind.DECK])
        assert kept == good
        # A parse from before the file was cut is kept by the library too.
        assert library.get(DECK) is parsed
    finally:
        runtime.close()
