"""Participants' tokens on a real database: each organisation sees its own documents only.

Documents are rendered in-process through the worker's own RenderJob (no broker needed), then
fetched through the real app; the files are opened to check whose they are.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pptx import Presentation
from sqlalchemy import select

from service.access.tokens import issue_token
from service.api.app import create_app
from service.batches.control import start_batch
from service.batches.document_maker import DocumentMaker
from service.batches.render_job import RenderJob
from service.cli.local_cluster import WorkerProcess, settings_environment
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import ImportSummary
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import CHILD_TIMEOUT, TEST_API_KEY, Databases, DatabaseState, RecordingQueue
from tests.integration.conftest import batch_complete, wait_until

pytestmark = pytest.mark.integration

ORGANISER = {"X-API-Key": TEST_API_KEY}
KINDS = [DocumentKind.DECK, DocumentKind.ORGANISATION_AGENDA, DocumentKind.AGENDA]


@dataclass
class World:
    """The sample programme with rendered documents for three organisations of one meeting."""

    runtime: Runtime
    client: TestClient
    meeting_id: int
    orgs: dict[str, int]

    def documents(self) -> list[m.GeneratedDocument]:
        with self.runtime.sessions() as session:
            return list(
                session.scalars(select(m.GeneratedDocument).order_by(m.GeneratedDocument.id))
            )

    def issue(self, ref: str, **body: object) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/organisations/{self.orgs[ref]}/tokens", json=body or None, headers=ORGANISER
        )
        assert response.status_code == 201, response.text
        issued: dict[str, Any] = response.json()
        return issued


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def render_batch(
    runtime: Runtime,
    *,
    meeting_id: int,
    kinds: list[DocumentKind],
    organisation_ids: list[int],
) -> list[int]:
    """Record a batch and render every document in this process, as a worker would."""
    batch_id = start_batch(
        runtime.sessions,
        RecordingQueue(),
        meeting_id=meeting_id,
        kinds=kinds,
        organisation_ids=organisation_ids,
    )
    job = RenderJob(
        sessions=runtime.sessions,
        files=runtime.files,
        maker=DocumentMaker(sessions=runtime.sessions, templates=runtime.templates),
    )
    with runtime.sessions() as session:
        ids = list(
            session.scalars(
                select(m.GeneratedDocument.id).where(m.GeneratedDocument.batch_id == batch_id)
            )
        )
    for document_id in ids:
        job.run(document_id)
    with runtime.sessions() as session:
        statuses = {session.get_one(m.GeneratedDocument, i).status for i in ids}
    assert statuses == {DocumentStatus.DONE}
    return ids


@contextmanager
def sample_world(settings: Settings) -> Iterator[World]:
    """The app without default credentials on a database that holds the sample programme."""
    runtime = build_runtime(settings, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        orgs = {o.ref: o.id for o in session.scalars(select(m.Organisation))}
    with TestClient(create_app(runtime)) as client:
        yield World(runtime=runtime, client=client, meeting_id=meeting_id, orgs=orgs)
    runtime.close()


@pytest.fixture
def imported(sample_imported: Settings) -> Iterator[World]:
    with sample_world(sample_imported) as built:
        yield built


def render_three(settings: Settings) -> None:
    """Decks, own agendas and the meeting agenda for Askersund, Hedemora and Fagersta."""
    with sample_world(settings) as world:
        render_batch(
            world.runtime,
            meeting_id=world.meeting_id,
            kinds=KINDS,
            organisation_ids=[world.orgs[r] for r in ("askersund", "hedemora", "fagersta")],
        )


@pytest.fixture
def database_start(
    database_start: DatabaseState | None,
    request: pytest.FixtureRequest,
    databases: Databases,
    database_backend: str,
) -> DatabaseState | None:
    """A world's database starts with its documents rendered, once for the module."""
    return databases.carried_on(
        request,
        database_backend,
        database_start,
        when="world",
        name=f"{__name__}: three rendered",
        build=render_three,
    )


@pytest.fixture
def world(imported: World, database_start: DatabaseState) -> World:
    """Decks, own agendas and the meeting agenda for Askersund, Hedemora and Fagersta."""
    assert database_start.name.endswith("three rendered")
    return imported


def deck_texts(data: bytes) -> str:
    deck = Presentation(io.BytesIO(data))
    return "\n".join(
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    )


# --- the issue's acceptance test -------------------------------------------------------------


def test_a_token_of_organisation_a_gets_404_for_bs_documents(world: World) -> None:
    a, b = world.orgs["askersund"], world.orgs["hedemora"]
    token = world.issue("askersund", label="Anna Öberg, strateg")["token"]
    docs = world.documents()
    b_docs = [d for d in docs if d.organisation_id == b]
    meeting_level = [d for d in docs if d.organisation_id is None]
    assert b_docs and meeting_level

    listing = world.client.get(f"/api/v1/organisations/{a}/documents", headers=bearer(token))

    assert listing.status_code == 200, listing.text
    items = listing.json()
    assert {(i["kind"], i["organisation_id"]) for i in items} == {
        ("deck", a),
        ("organisation_agenda", a),
    }
    deck = next(i for i in items if i["kind"] == "deck")
    download = world.client.get(deck["download_url"], headers=bearer(token))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    )
    assert "Askersunds kommun" in deck_texts(download.content)
    assert "Hedemora kommun" not in deck_texts(download.content)
    assert deck["file_name"] in download.headers["content-disposition"]

    nothing_there = world.client.get("/api/v1/documents/99999/file", headers=bearer(token))
    for doc in b_docs + meeting_level:
        for path in (f"/api/v1/documents/{doc.id}/file", f"/api/v1/documents/{doc.id}/versions"):
            response = world.client.get(path, headers=bearer(token))
            assert response.status_code == 404, path
            assert response.json()["detail"] == (
                f"Dokument {doc.id} finns inte, eller så hör det inte till er organisation"
            )
    assert nothing_there.json()["detail"] == (
        "Dokument 99999 finns inte, eller så hör det inte till er organisation"
    )
    for org in (b, 99999):
        response = world.client.get(f"/api/v1/organisations/{org}/documents", headers=bearer(token))
        assert response.status_code == 404
        assert response.json() == {
            "detail": f"Organisationen {org} finns inte, eller så hör den inte till er "
            "åtkomstnyckel"
        }


def test_a_participant_listing_everything_gets_only_its_own_documents(world: World) -> None:
    a, b = world.orgs["askersund"], world.orgs["hedemora"]
    token = world.issue("askersund")["token"]

    everything = world.client.get("/api/v1/documents", headers=bearer(token)).json()
    by_meeting = world.client.get(
        f"/api/v1/documents?meeting_id={world.meeting_id}&kind=deck", headers=bearer(token)
    ).json()
    other = world.client.get(f"/api/v1/documents?organisation_id={b}", headers=bearer(token))

    assert {d["organisation_id"] for d in everything} == {a}
    assert len(everything) == 2
    assert [(d["kind"], d["organisation_id"]) for d in by_meeting] == [("deck", a)]
    assert other.status_code == 404


def test_the_organiser_sees_every_document_and_every_organisation(world: World) -> None:
    everything = world.client.get("/api/v1/documents", headers=ORGANISER).json()
    hedemora = world.client.get(
        f"/api/v1/organisations/{world.orgs['hedemora']}/documents", headers=ORGANISER
    ).json()

    assert len(everything) == len(world.documents()) == 7
    assert everything[0]["kind"] == "agenda" and everything[0]["organisation_id"] is None
    assert {d["kind"] for d in hedemora} == {"deck", "organisation_agenda"}
    for item in everything:
        response = world.client.get(item["download_url"], headers=ORGANISER)
        assert response.status_code == 200
        assert len(response.content) == item["size_bytes"]
    assert (
        world.client.get("/api/v1/organisations/99999/documents", headers=ORGANISER).status_code
        == 404
    )


def test_a_listed_document_says_its_meeting_version_and_whether_it_is_stale(world: World) -> None:
    token = world.issue("askersund")["token"]

    items = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/documents", headers=bearer(token)
    ).json()

    agenda = next(i for i in items if i["kind"] == "organisation_agenda")
    assert agenda["meeting"]["ref"] == "bm2" and agenda["meeting"]["id"] == world.meeting_id
    assert agenda["file_name"] == "Agenda - Benchmarking 2 - Askersunds kommun.docx"
    assert agenda["version"] == 1 and agenda["stale"] is False and agenda["stale_since"] is None
    assert len(agenda["sha256"]) == 64 and agenda["size_bytes"] > 0
    assert agenda["download_url"] == f"/api/v1/documents/{agenda['id']}/file"


def test_a_download_keeps_its_safe_headers(world: World) -> None:
    token = world.issue("askersund")["token"]
    agenda = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.ORGANISATION_AGENDA
        and d.organisation_id == world.orgs["askersund"]
    )

    response = world.client.get(f"/api/v1/documents/{agenda.id}/file", headers=bearer(token))

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Agenda - Benchmarking 2 - Askersunds')
    assert f"filename*=UTF-8''{quote(agenda.file_name or '')}" in disposition


def test_documents_made_by_a_real_worker_reach_their_own_organisation_only(
    client: TestClient,
    runtime: Runtime,
    sample: ImportSummary,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    with runtime.sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        orgs = {o.ref: o.id for o in session.scalars(select(m.Organisation))}
    a, b = orgs["kalmar"], orgs["region_gotland"]
    start_worker()
    batch = client.post(
        f"/api/v1/meetings/{meeting}/batches", json={"kinds": ["deck"], "organisation_ids": [a, b]}
    ).json()
    wait_until(batch_complete(runtime, batch["id"]), what="the batch to finish")
    token = client.post(f"/api/v1/organisations/{a}/tokens").json()["token"]

    with TestClient(create_app(runtime), headers=bearer(token)) as participant:
        listing = participant.get(f"/api/v1/organisations/{a}/documents").json()
        (deck,) = listing
        download = participant.get(deck["download_url"])
        b_deck = next(d for d in batch["documents"] if d["organisation_id"] == b)
        refused = participant.get(f"/api/v1/documents/{b_deck['id']}/file")

    assert deck["kind"] == "deck" and deck["organisation_id"] == a
    assert download.status_code == 200 and "Kalmar kommun" in deck_texts(download.content)
    assert refused.status_code == 404


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_listed_without_its_clear_text(world: World) -> None:
    a = world.orgs["askersund"]
    before = dt.datetime.now(dt.UTC)

    issued = world.issue("askersund", label="Åsa Öberg 😀")
    listed = world.client.get(f"/api/v1/organisations/{a}/tokens", headers=ORGANISER)

    token = str(issued["token"])
    assert token.startswith("bdt_") and len(token) == 47
    assert issued["organisation_id"] == a and issued["label"] == "Åsa Öberg 😀"
    expires = dt.datetime.fromisoformat(str(issued["expires_at"]))
    assert expires - before == pytest.approx(dt.timedelta(days=120), abs=dt.timedelta(minutes=1))
    assert issued["link"] == f"/api/v1/documents/{{document_id}}/file?token={token}"
    assert listed.status_code == 200
    assert token not in listed.text
    (row,) = listed.json()
    assert row["id"] == issued["id"] and row["status"] == "live"
    assert row["last_used_at"] is None and row["revoked_at"] is None
    with world.runtime.sessions() as session:
        stored = session.get_one(m.AccessToken, int(str(issued["id"])))
        assert stored.token_sha256 != token and token not in stored.token_sha256


def test_using_a_token_records_when_it_was_last_used(world: World) -> None:
    issued = world.issue("askersund")

    assert world.client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200

    listed = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/tokens", headers=ORGANISER
    ).json()
    assert listed[0]["last_used_at"] is not None


def test_a_token_may_be_issued_for_fewer_days_but_not_more_than_configured(world: World) -> None:
    a = world.orgs["askersund"]

    short = world.issue("askersund", valid_days=7)
    too_long = world.client.post(
        f"/api/v1/organisations/{a}/tokens", json={"valid_days": 121}, headers=ORGANISER
    )

    lifetime = dt.datetime.fromisoformat(str(short["expires_at"])) - dt.datetime.fromisoformat(
        str(short["created_at"])
    )
    assert lifetime == dt.timedelta(days=7)
    assert too_long.status_code == 422
    assert too_long.json()["errors"] == [
        {"path": "$.valid_days", "message": "must be between 1 and 120 days (got 121)"}
    ]


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"label": "Anna\x07"}, "$.label", "control character U+0007"),
        ({"label": "x" * 201}, "$.label", "at most 200 characters"),
        ({"label": ""}, "$.label", "at least 1 character"),
        ({"valid_days": 0}, "$.valid_days", "greater than or equal to 1"),
        ({"valid_days": "forever"}, "$.valid_days", "valid integer"),
        ({"owner": "me"}, "$.owner", "Extra inputs"),
    ],
)
def test_a_bad_token_request_is_refused_naming_the_field_and_nothing_is_stored(
    world: World, body: dict[str, object], path: str, message: str
) -> None:
    response = world.client.post(
        f"/api/v1/organisations/{world.orgs['askersund']}/tokens", json=body, headers=ORGANISER
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    with world.runtime.sessions() as session:
        assert session.scalars(select(m.AccessToken)).all() == []


def test_a_token_for_an_unknown_organisation_is_404(world: World) -> None:
    for org in (99999, 2**40):
        response = world.client.post(f"/api/v1/organisations/{org}/tokens", headers=ORGANISER)
        assert response.status_code == 404
        assert (
            world.client.get(f"/api/v1/organisations/{org}/tokens", headers=ORGANISER).status_code
            == 404
        )
    assert world.client.post("/api/v1/tokens/99999/revoke", headers=ORGANISER).status_code == 404
    assert world.client.delete(f"/api/v1/tokens/{2**40}", headers=ORGANISER).status_code == 404


def test_token_management_is_for_the_organiser_only(world: World) -> None:
    a = world.orgs["askersund"]
    issued = world.issue("askersund")
    as_participant = bearer(issued["token"])
    calls = [
        ("POST", f"/api/v1/organisations/{a}/tokens"),
        ("GET", f"/api/v1/organisations/{a}/tokens"),
        ("POST", f"/api/v1/tokens/{issued['id']}/revoke"),
        ("DELETE", f"/api/v1/tokens/{issued['id']}"),
    ]

    for method, path in calls:
        assert world.client.request(method, path, headers=as_participant).status_code == 403
        assert world.client.request(method, path).status_code == 401
    assert (
        world.client.post(
            f"/api/v1/meetings/{world.meeting_id}/batches", headers=as_participant
        ).status_code
        == 401
    )
    assert world.client.get("/api/v1/batches/1", headers=as_participant).status_code == 401
    assert world.client.get("/api/v1/me", headers=as_participant).json()["role"] == "participant"
    with world.runtime.sessions() as session:
        assert len(session.scalars(select(m.AccessToken)).all()) == 1


def test_an_expired_token_is_refused(world: World) -> None:
    with unit_of_work(world.runtime.sessions) as session:
        expired = issue_token(
            session,
            organisation_id=world.orgs["askersund"],
            valid_for=dt.timedelta(days=1),
            label="last year",
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1, seconds=1),
        )
    headers = bearer(expired.token)

    assert world.client.get("/api/v1/me", headers=headers).status_code == 401
    response = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/documents", headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    listed = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/tokens", headers=ORGANISER
    ).json()
    assert [t["status"] for t in listed] == ["expired"]


def test_a_revoked_token_is_refused_at_once_and_other_tokens_keep_working(world: World) -> None:
    a_first = world.issue("askersund", label="first")
    a_second = world.issue("askersund", label="second")
    b_token = world.issue("hedemora")
    a_deck = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.DECK and d.organisation_id == world.orgs["askersund"]
    )
    file_url = f"/api/v1/documents/{a_deck.id}/file"
    assert world.client.get(file_url, headers=bearer(a_first["token"])).status_code == 200

    revoked = world.client.post(f"/api/v1/tokens/{a_first['id']}/revoke", headers=ORGANISER)
    again = world.client.post(f"/api/v1/tokens/{a_first['id']}/revoke", headers=ORGANISER)

    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert world.client.get(file_url, headers=bearer(a_first["token"])).status_code == 401
    assert world.client.get(f"{file_url}?token={a_first['token']}").status_code == 401
    assert world.client.get(file_url, headers=bearer(a_second["token"])).status_code == 200
    assert world.client.get(file_url, headers=bearer(b_token["token"])).status_code == 404
    b_listing = world.client.get(
        f"/api/v1/organisations/{world.orgs['hedemora']}/documents",
        headers=bearer(b_token["token"]),
    )
    assert {d["organisation_id"] for d in b_listing.json()} == {world.orgs["hedemora"]}

    assert (
        world.client.delete(f"/api/v1/tokens/{a_second['id']}", headers=ORGANISER).status_code
        == 204
    )
    assert (
        world.client.delete(f"/api/v1/tokens/{a_second['id']}", headers=ORGANISER).status_code
        == 204
    )
    assert world.client.get(file_url, headers=bearer(a_second["token"])).status_code == 401
    statuses = world.client.get(
        f"/api/v1/organisations/{world.orgs['askersund']}/tokens", headers=ORGANISER
    ).json()
    assert [t["status"] for t in statuses] == ["revoked", "revoked"]


def test_who_am_i(world: World) -> None:
    issued = world.issue("askersund", label="Anna", valid_days=30)

    participant = world.client.get("/api/v1/me", headers=bearer(issued["token"])).json()
    organiser = world.client.get("/api/v1/me", headers=ORGANISER).json()

    assert participant == {
        "role": "participant",
        "label": "Anna",
        "organisation": {
            "id": world.orgs["askersund"],
            "ref": "askersund",
            "name": "Askersunds kommun",
        },
        "token": {"id": issued["id"], "label": "Anna", "expires_at": issued["expires_at"]},
    }
    assert organiser == {
        "role": "organiser",
        "label": "organiser",
        "organisation": None,
        "token": None,
    }
    assert world.client.get("/api/v1/me").status_code == 401


# --- links and hostile tokens ------------------------------------------------------------------


def test_a_link_with_the_token_in_the_query_downloads_a_file_and_nothing_else(world: World) -> None:
    issued = world.issue("askersund")
    deck = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.DECK and d.organisation_id == world.orgs["askersund"]
    )
    link = str(issued["link"]).format(document_id=deck.id)
    query = {"token": str(issued["token"])}

    download = world.client.get(link)

    assert download.status_code == 200
    assert "Askersunds kommun" in deck_texts(download.content)
    assert download.headers["referrer-policy"] == "no-referrer"
    assert download.headers["cache-control"] == "private, no-store"
    a = world.orgs["askersund"]
    for method, path in [
        ("GET", f"/api/v1/organisations/{a}/documents"),
        ("GET", "/api/v1/documents"),
        ("GET", f"/api/v1/documents/{deck.id}/versions"),
        ("GET", "/api/v1/me"),
        ("POST", f"/api/v1/organisations/{a}/tokens"),
        ("POST", f"/api/v1/tokens/{issued['id']}/revoke"),
        ("DELETE", f"/api/v1/tokens/{issued['id']}"),
    ]:
        assert world.client.request(method, path, params=query).status_code == 401, path
    assert world.client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200
    b_deck = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.DECK and d.organisation_id == world.orgs["hedemora"]
    )
    assert world.client.get(f"/api/v1/documents/{b_deck.id}/file", params=query).status_code == 404


def test_a_header_wins_over_a_token_in_the_query(world: World) -> None:
    a_token = world.issue("askersund")["token"]
    b_token = world.issue("hedemora")["token"]
    a_deck = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.DECK and d.organisation_id == world.orgs["askersund"]
    )
    url = f"/api/v1/documents/{a_deck.id}/file"

    assert (
        world.client.get(url, params={"token": a_token}, headers=bearer(b_token)).status_code == 404
    )
    assert (
        world.client.get(url, params={"token": b_token}, headers=bearer(a_token)).status_code == 200
    )
    assert world.client.get(url, params={"token": b_token}, headers=ORGANISER).status_code == 200


HOSTILE_TOKENS = [
    "",
    " ",
    "bdt_",
    "bdt_" + "A" * 43,
    "' OR '1'='1",
    "bdt_' OR 1=1; DROP TABLE access_token; --",
    "bdt_" + "A" * 60_000,  # about the longest URL a client sends (httpx: 64 KiB)
    "bdt_\x00\x01\x1b",
    "bdt_åäö😀" + "A" * 39,
    "bdt_\u202e\ufeff",
    "%00%ff",
]


@pytest.mark.parametrize("hostile", HOSTILE_TOKENS)
def test_a_hostile_token_in_the_query_is_refused_with_401(world: World, hostile: str) -> None:
    deck_id = world.documents()[0].id

    response = world.client.get(f"/api/v1/documents/{deck_id}/file", params={"token": hostile})

    in_english = world.client.get(
        f"/api/v1/documents/{deck_id}/file",
        params={"token": hostile},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == in_english.status_code == 401
    assert response.json()["detail"] == (
        "Åtkomstnyckeln är okänd: kontrollera att hela länken kom med när den kopierades, "
        "eller be arrangören om en ny"
    )
    assert in_english.json()["detail"].startswith("the token is not known")


def test_hostile_authorization_headers_are_refused_with_401(world: World) -> None:
    a = world.orgs["askersund"]
    issued = world.issue("askersund")
    url = f"/api/v1/organisations/{a}/documents"
    # Raw bytes: latin-1 and control characters that a client library would not send.
    raw_values = [
        b"Bearer " + b"A" * 100_000,
        b"Bearer bdt_\xe5\xe4\xf6",
        b"Bearer bdt_\x01\x7f" + b"A" * 41,
        b"Bearer \xed\xa0\x80",
        b"Basic " + str(issued["token"]).encode(),
        str(issued["token"]).encode(),
        b"Bearer",
        b"Bearer " + str(issued["token"]).encode() + b" extra",
    ]

    for raw in raw_values:
        response = world.client.get(url, headers={b"Authorization": raw})
        assert response.status_code == 401, raw[:40]
    for spelled in (f"bearer {issued['token']}", f"Bearer   {issued['token']}  "):
        assert world.client.get(url, headers={"Authorization": spelled}).status_code == 200
    assert (
        world.client.get(url, headers={"X-API-Key": "wrong", **bearer(issued["token"])}).status_code
        == 401
    )


def test_out_of_range_ids_are_simply_not_found(world: World) -> None:
    token = world.issue("askersund")["token"]

    for path in (
        f"/api/v1/documents/{2**63}/file",
        f"/api/v1/documents/{2**40}/versions",
        f"/api/v1/organisations/{2**40}/documents",
    ):
        assert world.client.get(path, headers=ORGANISER).status_code == 404, path
        assert world.client.get(path, headers=bearer(token)).status_code == 404, path


# --- the command line ---------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        **settings_environment(settings),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def test_the_token_commands_issue_list_and_revoke(migrated: Settings, imported: World) -> None:
    issued = run_cli(
        migrated, "issue", "--organisation", "askersund", "--label", "Åsa 😀", "--days", "3"
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert "Askersunds kommun" in issued.stdout and "Store it now" in issued.stdout
    me = imported.client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["organisation"]["ref"] == "askersund" and me["label"] == "Åsa 😀"

    listed = run_cli(migrated, "list", "--organisation", str(imported.orgs["askersund"]))
    assert listed.returncode == 0, listed.stderr
    assert "Åsa 😀" in listed.stdout and "live" in listed.stdout
    assert token not in listed.stdout

    token_id = str(me["token"]["id"])
    revoked = run_cli(migrated, "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert f"token {token_id}" in revoked.stdout and "revoked" in revoked.stdout
    assert imported.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "already revoked" in run_cli(migrated, "revoke", token_id).stdout


def test_a_bad_token_command_exits_2_listing_every_problem(
    migrated: Settings, imported: World
) -> None:
    result = run_cli(
        migrated, "issue", "--organisation", "atlantis", "--label", "Anna\x1b[31m", "--days", "999"
    )

    assert result.returncode == 2
    assert "nothing was stored" in result.stderr
    assert "--label: contains control character U+001B" in result.stderr
    assert "--organisation: no organisation with id or ref 'atlantis'" in result.stderr
    assert "--days: must be between 1 and 120 days (got 999)" in result.stderr
    missing = run_cli(migrated, "revoke", "99999")
    assert missing.returncode == 1 and "access token 99999 not found" in missing.stderr
    with imported.runtime.sessions() as session:
        assert session.scalars(select(m.AccessToken)).all() == []


def test_a_file_missing_from_the_store_is_404_without_naming_where_it_was(world: World) -> None:
    token = world.issue("askersund")["token"]
    deck = next(
        d
        for d in world.documents()
        if d.kind == DocumentKind.DECK and d.organisation_id == world.orgs["askersund"]
    )
    (world.runtime.settings.file_store_dir / str(deck.file_key)).unlink()

    response = world.client.get(f"/api/v1/documents/{deck.id}/file", headers=bearer(token))

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"Dokument {deck.id} har ingen fil ännu: det håller på att tas fram"
    }
