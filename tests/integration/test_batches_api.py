"""Starting and watching batches through the API; the broker is a recording stand-in here."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.runtime import Runtime
from tests.conftest import RecordingQueue


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def meeting_id(client: TestClient, ref: str = "bm2") -> int:
    with runtime_of(client).sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == ref)).one()


def test_a_batch_records_and_queues_one_deck_per_organisation(
    imported_client: TestClient, recording_queue: RecordingQueue
) -> None:
    response = imported_client.post(
        f"/api/v1/meetings/{meeting_id(imported_client)}/batches", json={"kinds": ["deck"]}
    )

    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["total"] == 8
    assert batch["counts"]["queued"] == 8
    assert len(batch["documents"]) == 8
    assert recording_queue.sent == [d["id"] for d in batch["documents"]]
    assert all(d["kind"] == "deck" and d["format"] == "pptx" for d in batch["documents"])
    assert all(d["file_name"].endswith(".pptx") for d in batch["documents"])
    assert imported_client.get(f"/api/v1/batches/{batch['id']}").json()["counts"]["queued"] == 8


def test_by_default_a_batch_wants_every_kind_for_every_organisation(
    imported_client: TestClient,
) -> None:
    response = imported_client.post(
        f"/api/v1/meetings/{meeting_id(imported_client)}/batches", json={"pdf": True}
    )

    documents = response.json()["documents"]
    wanted = Counter((d["kind"], d["format"]) for d in documents)
    for spec in CATALOGUE.values():
        per_kind = 8 if spec.per_organisation else 1
        assert wanted[(spec.kind.value, spec.office_format)] == per_kind
        assert wanted[(spec.kind.value, "pdf")] == (per_kind if spec.offers_pdf else 0)
    agendas = [d["file_name"] for d in documents if d["kind"] == "organisation_agenda"]
    assert "Agenda - Benchmarking 2 - Askersunds kommun.pdf" in agendas


def test_packs_are_asked_for_by_name_and_queued_after_what_they_gather(
    imported_client: TestClient, recording_queue: RecordingQueue
) -> None:
    response = imported_client.post(
        f"/api/v1/meetings/{meeting_id(imported_client)}/batches",
        json={"kinds": ["meeting_archive", "meeting_pack", "organisation_archive", "deck"]},
    )

    assert response.status_code == 202, response.text
    documents = {d["id"]: d for d in response.json()["documents"]}
    sent = [(documents[i]["kind"], documents[i]["format"]) for i in recording_queue.sent]
    assert sent == (
        [("deck", "pptx")] * 8
        + [("meeting_pack", "pdf")]
        + [("organisation_archive", "zip")] * 8
        + [("meeting_archive", "zip")]
    )
    names = {d["file_name"] for d in documents.values() if d["kind"] != "deck"}
    assert "Benchmarking 2 - Mötespaket.pdf" in names
    assert "Benchmarking 2 - Askersunds kommun - Alla dokument.zip" in names
    assert "Benchmarking 2 - Alla dokument.zip" in names


def test_a_batch_can_be_limited_to_some_organisations(
    imported_client: TestClient, recording_queue: RecordingQueue
) -> None:
    with runtime_of(imported_client).sessions() as session:
        ids = session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)).all()[:2]

    response = imported_client.post(
        f"/api/v1/meetings/{meeting_id(imported_client)}/batches",
        json={"organisation_ids": list(ids), "kinds": ["deck"]},
    )

    assert response.status_code == 202
    assert sorted(d["organisation_id"] for d in response.json()["documents"]) == sorted(ids)


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"kinds": ["bogus"]}, "$.kinds[0]", "Input should be"),
        ({"organisation_ids": [999999]}, "$.organisation_ids[0]", "does not take part"),
        ({"organisation_ids": "all"}, "$.organisation_ids", "valid list"),
        ({"unexpected": 1}, "$.unexpected", "Extra inputs"),
    ],
)
def test_a_bad_batch_request_is_refused_naming_the_field_and_nothing_is_queued(
    imported_client: TestClient,
    recording_queue: RecordingQueue,
    body: dict[str, object],
    path: str,
    message: str,
) -> None:
    response = imported_client.post(
        f"/api/v1/meetings/{meeting_id(imported_client)}/batches", json=body
    )

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    assert recording_queue.sent == []
    with runtime_of(imported_client).sessions() as session:
        assert session.scalars(select(m.Batch)).all() == []


def test_unknown_meeting_batch_and_document_are_404(imported_client: TestClient) -> None:
    assert imported_client.post("/api/v1/meetings/999999/batches").status_code == 404
    assert imported_client.get("/api/v1/batches/999999").status_code == 404
    assert imported_client.get("/api/v1/documents/999999/file").status_code == 404


def test_a_document_not_yet_rendered_has_no_file(imported_client: TestClient) -> None:
    batch = imported_client.post(f"/api/v1/meetings/{meeting_id(imported_client)}/batches").json()

    response = imported_client.get(f"/api/v1/documents/{batch['documents'][0]['id']}/file")

    assert response.status_code == 404
    assert "has no file" in response.json()["detail"]


def test_generation_needs_the_organiser_key(imported_client: TestClient) -> None:
    meeting = meeting_id(imported_client)

    for headers in ({"X-API-Key": ""}, {"X-API-Key": "wrong"}):
        response = imported_client.post(f"/api/v1/meetings/{meeting}/batches", headers=headers)
        assert response.status_code == 401
    response = imported_client.get("/api/v1/batches/1", headers={"X-API-Key": "wrong"})
    assert response.status_code == 401
