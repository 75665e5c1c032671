"""``benchdocs regenerate`` as a person runs it: real process, real exit codes, real files."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from pptx import Presentation
from sqlalchemy import func, select

from service.cli.local_cluster import WorkerProcess, settings_environment
from service.database import models as m
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.regeneration.schedule import RunLock
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT

pytestmark = pytest.mark.integration

ASKERSUNDS_DECK = "deck (pptx) for Askersunds kommun, Benchmarking 3"


def regenerate(
    settings: Settings, *args: str, timeout: float = CHILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "COLUMNS": "200",  # rich wraps table cells at the terminal's width
        **settings_environment(settings),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "regenerate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def made_documents(runtime: Runtime, bm3_made: list[int]) -> list[int]:
    """Benchmarking 3's agenda and decks are made; then Askersund's scores change."""
    return bm3_made


def runs(runtime: Runtime) -> list[m.RegenerationRun]:
    with runtime.sessions() as session:
        return list(session.scalars(select(m.RegenerationRun).order_by(m.RegenerationRun.id)))


def document_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.GeneratedDocument)) or 0


def latest_deck_of_askersund(runtime: Runtime) -> m.GeneratedDocument:
    with runtime.sessions() as session:
        askersund = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
        return session.scalars(
            select(m.GeneratedDocument)
            .where(
                m.GeneratedDocument.organisation_id == askersund,
                m.GeneratedDocument.kind == DocumentKind.DECK,
                m.GeneratedDocument.status == DocumentStatus.DONE,
            )
            .order_by(m.GeneratedDocument.id.desc())
        ).first() or pytest.fail("no deck of Askersund")


def slide_texts(data: bytes) -> str:
    deck = Presentation(io.BytesIO(data))
    return " ".join(
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    )


def test_a_dry_run_prints_each_change_with_its_reason_and_renders_nothing(
    pipeline_settings: Settings, runtime: Runtime, made_documents: list[int]
) -> None:
    documents_before = document_count(runtime)

    result = regenerate(pipeline_settings, "--dry-run", "--meeting", "bm3")

    assert result.returncode == 0, result.stderr
    assert ASKERSUNDS_DECK in result.stdout
    assert "data changed: area_chart, movement" in result.stdout
    assert "checked 9, unchanged 8, would change 1" in result.stdout
    assert document_count(runtime) == documents_before
    [run] = runs(runtime)
    assert (run.trigger, run.dry_run, run.status) == ("manual", True, "finished")


def test_inline_renders_the_changes_here_and_then_nothing_is_left_to_do(
    pipeline_settings: Settings, runtime: Runtime, made_documents: list[int]
) -> None:
    before = latest_deck_of_askersund(runtime)

    result = regenerate(pipeline_settings, "--meeting", "bm3", "--inline")
    again = regenerate(pipeline_settings, "--dry-run", "--meeting", "bm3")

    assert result.returncode == 0, result.stderr
    assert ASKERSUNDS_DECK in result.stdout
    assert "re-rendered 1, failed 0" in result.stdout
    after = latest_deck_of_askersund(runtime)
    assert after.id != before.id
    assert after.sha256 != before.sha256
    assert after.file_key is not None
    assert "Askersund" in slide_texts(runtime.files.get(after.file_key))
    assert again.returncode == 0, again.stderr
    assert "checked 9, unchanged 9, would change 0" in again.stdout


def test_without_inline_the_workers_render_and_wait_reports_what_they_redid(
    pipeline_settings: Settings,
    runtime: Runtime,
    made_documents: list[int],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    start_worker()

    result = regenerate(pipeline_settings, "--meeting", "bm3", "--wait")

    assert result.returncode == 0, result.stderr
    assert "re-rendered 1, failed 0" in result.stdout
    [run] = runs(runtime)
    assert (run.status, run.rerendered) == ("finished", 1)
    assert latest_deck_of_askersund(runtime).id not in made_documents


def test_without_wait_the_run_is_left_to_the_workers(
    pipeline_settings: Settings, runtime: Runtime, made_documents: list[int]
) -> None:
    result = regenerate(pipeline_settings, "--meeting", "bm3")

    assert result.returncode == 0, result.stderr
    [run] = runs(runtime)
    assert run.status == "rendering"
    assert f"batch {run.batch_id} queued for the workers" in result.stdout


def test_documents_that_fail_exit_3_and_are_named_with_their_reason(
    pipeline_settings: Settings, runtime: Runtime, made_documents: list[int], tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(pipeline_settings.templates_dir, templates)
    (templates / "deck_benchmarking.pptx").write_bytes(b"not a presentation")
    broken = pipeline_settings.model_copy(update={"templates_dir": templates})

    result = regenerate(broken, "--meeting", "bm3", "--inline")

    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.count("template changed") == 8
    assert f"failed: {ASKERSUNDS_DECK}: " in result.stderr
    assert "8 document(s) failed" in result.stderr
    [run] = runs(runtime)
    assert (run.status, run.rerendered, run.failed) == ("failed", 0, 8)


def test_unknown_meetings_exit_2_listing_each_and_record_nothing(
    pipeline_settings: Settings, runtime: Runtime, sample: ImportSummary
) -> None:
    result = regenerate(
        pipeline_settings, "--meeting", "nope", "--meeting", "bm3", "--meeting", "999"
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "--meeting: no meeting with id or ref 'nope'" in result.stderr
    assert "--meeting: no meeting with id or ref '999'" in result.stderr
    assert runs(runtime) == []


def test_a_run_while_another_is_at_work_exits_1_and_records_nothing(
    pipeline_settings: Settings, runtime: Runtime, made_documents: list[int], broker_url: str
) -> None:
    client = redis.Redis.from_url(broker_url)
    lock = RunLock(client, expire_seconds=60)
    token = lock.acquire()
    assert token is not None

    result = regenerate(pipeline_settings, "--meeting", "bm3")
    lock.release(token)
    client.close()

    assert result.returncode == 1
    assert "another regeneration is at work" in result.stderr
    assert runs(runtime) == []
