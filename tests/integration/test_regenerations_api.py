"""GET/POST /api/v1/regenerations: runs by hand, their plan, their progress, their record."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pptx import Presentation
from sqlalchemy import func, select

from service.api.app import create_app
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.intake.programme_import import ImportSummary
from service.regeneration.schedule import RunLock
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY
from tests.integration.conftest import meeting_id, wait_until

pytestmark = pytest.mark.integration

ASKERSUNDS_DECK = "deck (pptx) for Askersunds kommun, Benchmarking 3"


@pytest.fixture
def bm3(runtime: Runtime, bm3_made: list[int]) -> int:
    """Benchmarking 3's agenda and decks are made; then Askersund's scores change."""
    return meeting_id(runtime, "bm3")


def document_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.GeneratedDocument)) or 0


def test_a_dry_run_answers_at_once_with_what_would_change_and_why(
    client: TestClient, runtime: Runtime, bm3: int
) -> None:
    documents_before = document_count(runtime)

    response = client.post("/api/v1/regenerations", json={"dry_run": True, "meeting_ids": [bm3]})

    assert response.status_code == 202, response.text
    run = response.json()
    assert (run["trigger"], run["dry_run"], run["status"]) == ("manual", True, "finished")
    assert (run["checked"], run["unchanged"], run["rerendered"], run["failed"]) == (9, 8, 0, 0)
    assert run["meeting_ids"] == [bm3]
    [change] = run["changes"]
    assert change["description"] == ASKERSUNDS_DECK
    assert change["reasons"] == ["data changed: area_chart, movement"]
    assert (change["kind"], change["format"]) == ("deck", "pptx")
    assert run["batch_id"] is None and run["batch"] is None
    assert run["finished_at"] is not None
    assert document_count(runtime) == documents_before, "a dry run renders nothing"


def test_a_run_queues_the_changes_and_finishes_once_the_workers_are_done(
    client: TestClient,
    runtime: Runtime,
    bm3: int,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    response = client.post("/api/v1/regenerations", json={"meeting_ids": [bm3]})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "rendering"
    assert started["batch"]["total"] == 1
    assert started["batch"]["complete"] is False

    start_worker()
    url = f"/api/v1/regenerations/{started['id']}"
    wait_until(lambda: client.get(url).json()["status"] != "rendering", what="the re-render")
    run = client.get(url).json()

    assert (run["status"], run["rerendered"], run["failed"]) == ("finished", 1, 0)
    assert run["finished_at"] is not None
    assert run["batch"]["counts"]["done"] == 1 and run["batch"]["complete"] is True
    assert [c["description"] for c in run["changes"]] == [ASKERSUNDS_DECK]
    new_version = client.get(f"/api/v1/batches/{run['batch_id']}").json()["documents"][0]
    old_version = run["changes"][0]["document_id"]
    assert new_version["sha256"] != client_document_sha(runtime, old_version)
    deck = Presentation(io.BytesIO(client.get(new_version["download_url"]).content))
    texts = " ".join(
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    )
    assert "Askersund" in texts


def client_document_sha(runtime: Runtime, document_id: int) -> str | None:
    with runtime.sessions() as session:
        return session.get_one(m.GeneratedDocument, document_id).sha256


def test_runs_are_listed_newest_first_a_page_at_a_time(client: TestClient, bm3: int) -> None:
    ids = [
        client.post("/api/v1/regenerations", json={"dry_run": True, "meeting_ids": [bm3]}).json()[
            "id"
        ]
        for _ in range(3)
    ]

    first = client.get("/api/v1/regenerations", params={"limit": 2}).json()
    rest = client.get("/api/v1/regenerations", params={"limit": 2, "offset": 2}).json()

    assert [r["id"] for r in first["items"]] == [ids[2], ids[1]]
    assert [r["id"] for r in rest["items"]] == [ids[0]]
    assert first["total"] == rest["total"] == 3
    assert first["items"][0]["checked"] == 9
    assert "changes" not in first["items"][0], "the list carries counts, not every change"


def test_with_no_meetings_given_only_active_meetings_are_checked(
    client: TestClient, bm3: int
) -> None:
    # The sample's meetings are from 2019: none of them is active today.
    response = client.post("/api/v1/regenerations", json={"dry_run": True})

    assert response.status_code == 202
    assert response.json()["meeting_ids"] == []
    assert response.json()["checked"] == 0


def test_a_run_while_another_is_at_work_is_refused_but_a_dry_run_is_not(
    client: TestClient, broker_url: str, bm3: int
) -> None:
    holder = redis.Redis.from_url(broker_url)
    lock = RunLock(holder, expire_seconds=60)
    token = lock.acquire()
    assert token is not None

    refused = client.post("/api/v1/regenerations", json={"meeting_ids": [bm3]})
    dry = client.post("/api/v1/regenerations", json={"dry_run": True, "meeting_ids": [bm3]})
    lock.release(token)
    holder.close()

    assert refused.status_code == 409
    assert "another regeneration" in refused.json()["detail"]
    assert dry.status_code == 202
    assert client.get("/api/v1/regenerations").json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"meeting_ids": [1, 99999]}, "$.meeting_ids[1]", "meeting 99999 not found"),
        ({"meeting_ids": []}, "$.meeting_ids", "at least 1 item"),
        ({"meeting_ids": [0]}, "$.meeting_ids[0]", "greater than or equal to 1"),
        ({"dry_run": "perhaps"}, "$.dry_run", "valid boolean"),
        ({"kinds": ["deck"]}, "$.kinds", "Extra inputs are not permitted"),
    ],
)
def test_bad_requests_name_the_field_and_record_no_run(
    client: TestClient, sample: ImportSummary, body: dict[str, object], path: str, message: str
) -> None:
    response = client.post("/api/v1/regenerations", json=body)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == path
    assert message in error["message"]
    assert client.get("/api/v1/regenerations").json()["total"] == 0


def test_an_unknown_run_is_not_found(client: TestClient) -> None:
    assert client.get("/api/v1/regenerations/12345").status_code == 404


def test_runs_are_for_the_organiser_only(client: TestClient) -> None:
    anonymous = client.get("/api/v1/regenerations", headers={"X-API-Key": "wrong"})

    assert anonymous.status_code == 401


@pytest.fixture
def client_without_deck_template(
    pipeline_settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    """The API of a deployment whose deck template has gone missing."""
    templates = tmp_path / "templates"
    shutil.copytree(pipeline_settings.templates_dir, templates)
    (templates / "deck_benchmarking.pptx").unlink()
    runtime = build_runtime(pipeline_settings.model_copy(update={"templates_dir": templates}))
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client


def test_documents_that_cannot_be_checked_are_failures_with_their_reason(
    client_without_deck_template: TestClient, bm3: int
) -> None:
    client = client_without_deck_template

    started = client.post("/api/v1/regenerations", json={"dry_run": True, "meeting_ids": [bm3]})
    run = client.get(f"/api/v1/regenerations/{started.json()['id']}").json()

    assert (run["status"], run["checked"], run["unchanged"], run["failed"]) == (
        "finished",
        9,
        1,
        8,
    )
    assert run["changes"] == []
    deck_failure = next(f for f in run["failures"] if "Askersund" in (f["description"] or ""))
    assert deck_failure["stage"] == "plan"
    assert "deck_benchmarking.pptx" in deck_failure["error"]
    assert "cannot be read" in deck_failure["error"]
