"""What goes wrong on the way: broken templates, a restarted broker. Nothing is lost."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pptx import Presentation
from pptx.util import Inches
from sqlalchemy import select

from service.api.app import create_app
from service.batches.control import resend_stale, start_batch
from service.cli.local_cluster import WorkerProcess, embedded_redis, free_port
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary, import_programme
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY
from tests.integration.conftest import batch_complete, forget_snapshots, wait_until

pytestmark = pytest.mark.integration
REAL_TEMPLATES = Path(__file__).resolve().parents[2] / "doc_templates"


def write_template_with_text(path: Path, text: str) -> None:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame.text = text
    deck.save(str(path))


def ids(runtime: Runtime, model: type[m.Meeting] | type[m.Organisation], ref: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(model.id).where(model.ref == ref)).one()


def documents(runtime: Runtime, batch_id: int) -> list[m.GeneratedDocument]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument).where(m.GeneratedDocument.batch_id == batch_id)
            )
        )


@pytest.mark.parametrize(
    ("template_text", "reason"),
    [
        ("{{ organisation.nme }}", "nme"),
        ("{{ organisation.name ", "slide 1"),
    ],
)
def test_a_broken_template_fails_its_documents_once_and_the_worker_keeps_serving(
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
    template_text: str,
    reason: str,
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    write_template_with_text(templates / "deck_benchmarking.pptx", template_text)
    meeting = ids(runtime, m.Meeting, "bm2")
    askersund = ids(runtime, m.Organisation, "askersund")

    broken = start_batch(
        runtime.sessions,
        runtime.queue,
        meeting_id=meeting,
        organisation_ids=[askersund],
        kinds=[DocumentKind.DECK],
    )
    # The batch pinned the API's (good) template; without its snapshot the worker reads its own.
    forget_snapshots(runtime, broken)
    start_worker(pipeline_settings.model_copy(update={"templates_dir": templates}))
    wait_until(batch_complete(runtime, broken), what="the broken batch to finish")
    shutil.copy(REAL_TEMPLATES / "deck_benchmarking.pptx", templates / "deck_benchmarking.pptx")
    mended = start_batch(
        runtime.sessions,
        runtime.queue,
        meeting_id=meeting,
        organisation_ids=[askersund],
        kinds=[DocumentKind.DECK],
    )
    wait_until(batch_complete(runtime, mended), what="the batch after the fix to finish")

    [failed] = documents(runtime, broken)
    assert failed.status == DocumentStatus.FAILED
    assert failed.attempts == 1
    assert reason in (failed.error or "")
    assert failed.file_key is None
    [done] = documents(runtime, mended)
    assert done.status == DocumentStatus.DONE


def test_documents_queued_before_a_broker_restart_are_re_sent_from_the_database(
    migrated: Settings,
    sample_programme_bytes: bytes,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    port = free_port()
    with embedded_redis(tmp_path / "redis-a", port=port) as url:
        settings = migrated.model_copy(update={"redis_url": url})
        runtime = build_runtime(settings)
        with unit_of_work(runtime.sessions) as session:
            import_programme(session, sample_programme_bytes, max_bytes=10_000_000)
        batch_id = start_batch(
            runtime.sessions, runtime.queue, meeting_id=ids(runtime, m.Meeting, "bm2")
        )
    # The broker ran without persistence: its queue is gone with it.
    with embedded_redis(tmp_path / "redis-b", port=port):
        start_worker(settings)

        resent = resend_stale(
            runtime.sessions, runtime.queue, older_than=dt.timedelta(0), now=utcnow()
        )
        wait_until(batch_complete(runtime, batch_id), what="the re-sent batch to finish")

    assert sorted(resent) == sorted(d.id for d in documents(runtime, batch_id))
    assert {d.status for d in documents(runtime, batch_id)} == {DocumentStatus.DONE}
    runtime.close()


def test_a_batch_started_while_the_broker_is_down_is_kept_and_sent_later(
    migrated: Settings,
    sample_programme_bytes: bytes,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    port = free_port()
    settings = migrated.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    runtime = build_runtime(settings)
    with unit_of_work(runtime.sessions) as session:
        import_programme(session, sample_programme_bytes, max_bytes=10_000_000)
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        response = client.post(
            f"/api/v1/meetings/{ids(runtime, m.Meeting, 'bm2')}/batches", json={"kinds": ["deck"]}
        )

        assert response.status_code == 202, response.text
        assert response.json()["counts"]["pending"] == 8
        with embedded_redis(tmp_path / "redis", port=port):
            start_worker(settings)
            resent = resend_stale(
                runtime.sessions, runtime.queue, older_than=dt.timedelta(0), now=utcnow()
            )
            wait_until(batch_complete(runtime, response.json()["id"]), what="the batch")

    assert len(resent) == 8
    runtime.close()
