"""The whole path with real parts: API -> Redis -> Celery worker -> template -> file store."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from statistics import fmean

import pytest
from fastapi.testclient import TestClient
from pptx import Presentation
from sqlalchemy import select

from service.batches.control import resend_stale
from service.cli.local_cluster import WorkerProcess
from service.clock import utcnow
from service.database import models as m
from service.domain.kinds import DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT, SAMPLE_PROGRAMME, both_stores, require_tools
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration
SAMPLE = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))


def expected_area_means(org_ref: str, round_index: int) -> list[float]:
    """Area means computed straight from the sample file, independently of benchdocs."""
    assessment = SAMPLE["self_assessments"][round_index]
    scores = dict(zip(assessment["question_order"], assessment["scores"][org_ref], strict=True))
    return [
        round(fmean(scores[q["id"]] for q in area["questions"]), 2)
        for area in SAMPLE["checklist"]["areas"]
    ]


def all_text(deck: Presentation) -> list[str]:
    texts = []
    for slide in deck.slides:
        parts = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts.extend(c.text for row in shape.table.rows for c in row.cells)
        texts.append("\n".join(parts))
    return texts


def chart_series(deck: Presentation) -> dict[str, list[float]]:
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_chart:
                return {s.name: list(s.values) for s in shape.chart.plots[0].series}
    raise AssertionError("the deck has no chart")


def start_batch_via_api(client: TestClient, meeting_id: int, **body: object) -> int:
    response = client.post(f"/api/v1/meetings/{meeting_id}/batches", json=body or None)
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def meeting_id(runtime: Runtime, ref: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def org_id(runtime: Runtime, ref: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(m.Organisation.id).where(m.Organisation.ref == ref)).one()


def document(runtime: Runtime, batch_id: int) -> m.GeneratedDocument:
    with runtime.sessions() as session:
        return session.scalars(
            select(m.GeneratedDocument).where(m.GeneratedDocument.batch_id == batch_id)
        ).one()


@both_stores
def test_a_batch_renders_every_organisations_deck(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    start_worker()

    batch_id = start_batch_via_api(client, meeting_id(runtime, "bm2"), kinds=["deck"])
    wait_until(batch_complete(runtime, batch_id), what="the batch to finish")

    batch = client.get(f"/api/v1/batches/{batch_id}").json()
    assert batch["counts"]["done"] == 8 and batch["complete"]
    names = {o["id"]: o["name"] for o in SAMPLE["organisations"]}
    initiatives = SAMPLE["improvement_initiatives"]
    with runtime.sessions() as session:
        refs = {o.id: o.ref for o in session.scalars(select(m.Organisation))}
    for doc in batch["documents"]:
        ref = refs[doc["organisation_id"]]
        response = client.get(doc["download_url"])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        )
        assert "attachment;" in response.headers["content-disposition"]
        deck = Presentation(io.BytesIO(response.content))
        texts = all_text(deck)
        assert names[ref] in texts[0]
        assert chart_series(deck) == {
            "BM 1": pytest.approx(expected_area_means(ref, 0)),
            "BM 2": pytest.approx(expected_area_means(ref, 1)),
        }
        for initiative in (i for i in initiatives if i["organisation_id"] == ref):
            assert any(initiative["title"] in t for t in texts), initiative["title"]
        assert doc["size_bytes"] == len(response.content)


def test_a_pool_child_killed_mid_task_loses_no_document(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    slow = pipeline_settings.model_copy(update={"debug_render_delay_seconds": 3.0})
    worker = start_worker(slow, concurrency=1)
    batch_id = start_batch_via_api(
        client,
        meeting_id(runtime, "bm2"),
        organisation_ids=[org_id(runtime, "askersund")],
        kinds=["deck"],
    )
    wait_until(
        lambda: document(runtime, batch_id).status == DocumentStatus.RUNNING,
        what="the task to start",
    )

    for pid in worker.pool_pids():
        os.kill(pid, signal.SIGKILL)
    wait_until(batch_complete(runtime, batch_id), what="the re-delivered task to finish")

    doc = document(runtime, batch_id)
    assert doc.status == DocumentStatus.DONE
    assert doc.attempts == 2
    deck = Presentation(io.BytesIO(runtime.files.get(doc.file_key or "")))
    assert "Askersunds kommun" in all_text(deck)[0]


def test_a_whole_worker_killed_mid_task_is_recovered_by_resend(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    pipeline_settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    slow = pipeline_settings.model_copy(update={"debug_render_delay_seconds": 3.0})
    doomed = start_worker(slow, concurrency=1)
    batch_id = start_batch_via_api(
        client,
        meeting_id(runtime, "bm2"),
        organisation_ids=[org_id(runtime, "fagersta")],
        kinds=["deck"],
    )
    wait_until(
        lambda: document(runtime, batch_id).status == DocumentStatus.RUNNING,
        what="the task to start",
    )

    doomed.kill()
    start_worker()
    resent = resend_stale(runtime.sessions, runtime.queue, older_than=dt.timedelta(0), now=utcnow())
    wait_until(batch_complete(runtime, batch_id), what="the re-sent task to finish")

    assert resent == [document(runtime, batch_id).id]
    assert document(runtime, batch_id).status == DocumentStatus.DONE


HOSTILE = 'Åbo & Söner <AB> "citat" {{ 7*7 }} {% for x in y %}{% endfor %} 👩‍💼🚀 åäöÅÄÖ'


@both_stores
def test_hostile_text_in_data_comes_out_of_the_worker_exactly_as_typed(
    client: TestClient,
    runtime: Runtime,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    programme = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    programme["organisations"][1]["name"] = HOSTILE
    programme["improvement_initiatives"][0]["title"] = HOSTILE + " titel"
    programme["continuation_plans"][0]["activities"][0]["activity"] = '=HYPERLINK("x") ' + HOSTILE
    imported = client.post("/api/v1/programmes/import", json=programme)
    assert imported.status_code == 201, imported.text
    start_worker()

    batch_id = start_batch_via_api(
        client,
        meeting_id(runtime, "bm2"),
        organisation_ids=[org_id(runtime, "askersund")],
        kinds=["deck"],
    )
    wait_until(batch_complete(runtime, batch_id), what="the batch to finish")

    doc = document(runtime, batch_id)
    assert doc.status == DocumentStatus.DONE, doc.error
    data = runtime.files.get(doc.file_key or "")
    texts = all_text(Presentation(io.BytesIO(data)))
    assert HOSTILE in texts[0]
    assert any(HOSTILE + " titel" in t for t in texts)
    assert any('=HYPERLINK("x") ' + HOSTILE in t for t in texts)
    assert "49" not in texts[0]
    pdf_text = convert_to_pdf_text(data, tmp_path)
    assert "Åbo & Söner <AB>" in pdf_text


def convert_to_pdf_text(pptx: bytes, work: Path) -> str:
    """LibreOffice opens the deck and prints it; the PDF's text comes back."""
    require_tools("soffice", "pdftotext")
    source = work / "deck.pptx"
    source.write_bytes(pptx)
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{work / 'lo-profile'}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(source),
        ],
        check=True,
        timeout=CHILD_TIMEOUT,
        capture_output=True,
    )
    result = subprocess.run(
        ["pdftotext", str(work / "deck.pdf"), "-"], check=True, capture_output=True, timeout=60
    )
    return result.stdout.decode()
