"""Downloads from the S3 store through the real app: streamed, redirected only for organisers,
and a store that is down answers 503 in Swedish and loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.access.tokens import issue_token
from service.api.app import create_app
from service.batches.control import create_batch
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import TEST_API_KEY, RecordingQueue
from tests.integration.s3_server import S3Server
from tests.integration.test_checklist_upload import API, id_of, participant
from tests.integration.test_deck_upload import a_deck, post_deck
from tests.integration.use_cases import render_here

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
on_s3 = pytest.mark.parametrize("file_store_kind", ["s3"], indirect=True)
DECK_NAME = "Åre kommun – vår presentation 🎉.pptx"


@pytest.fixture
def organiser_client(sample_imported: Settings) -> Iterator[TestClient]:
    yield from _client(sample_imported)


def _client(settings: Settings) -> Iterator[TestClient]:
    runtime = build_runtime(settings, queue=RecordingQueue())
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client
    runtime.close()


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def upload_a_deck(client: TestClient, deck: bytes | None = None) -> tuple[dict[str, Any], bytes]:
    """Askersund's delegation sends a deck; the upload's record and the bytes sent."""
    deck = deck if deck is not None else a_deck(client)
    delegation = participant(client, "askersund")
    answer = post_deck(
        delegation,
        id_of(client, m.Organisation, "askersund"),
        id_of(client, m.Meeting, "bm2"),
        deck,
        DECK_NAME,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["upload"], deck


@dataclass
class Fetched:
    status_code: int
    headers: dict[str, str]
    content: bytes


def fetch(url: str) -> Fetched:
    """A plain GET of a presigned address, as a browser would (straight to the store)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # our own test server
            return Fetched(
                answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
            )
    except urllib.error.HTTPError as exc:
        return Fetched(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


@dataclass
class Received:
    status: int
    headers: dict[str, str]
    size: int
    sha256: str
    peak: int


def download_measured(app: FastAPI, path: str, headers: dict[str, str]) -> Received:
    """GET through the ASGI app itself, counting the body as it comes (TestClient would keep
    all of it); the peak of Python's allocations meanwhile."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    got = Received(0, {}, 0, "", 0)
    digest = hashlib.sha256()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got.status = message["status"]
            got.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            got.size += len(body)
            digest.update(body)

    tracemalloc.start()
    try:
        anyio.run(app, scope, receive, send)
        got.peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    got.sha256 = digest.hexdigest()
    return got


# -- streaming ----------------------------------------------------------------------------------


@on_s3
def test_a_large_upload_downloads_streamed_with_bounded_memory_and_the_same_headers(
    organiser_client: TestClient,
) -> None:
    upload, _deck = upload_a_deck(organiser_client)
    large = bytes(range(256)) * (40 * MIB // 256)
    expected = hashlib.sha256(large).hexdigest()
    with runtime_of(organiser_client).sessions() as session:
        key = session.get_one(m.Upload, upload["id"]).file_key
    runtime_of(organiser_client).files.put(key, large)  # the store does not look inside
    del large

    got = download_measured(
        organiser_client.app,  # type: ignore[arg-type]
        f"{API}/uploads/{upload['id']}/file",
        {"X-API-Key": TEST_API_KEY},
    )

    assert got.status == 200
    assert (got.size, got.sha256) == (40 * MIB, expected)
    assert got.peak < 8 * MIB, f"peak {got.peak / MIB:.1f} MiB for a 40 MiB download"
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == upload["file_name"]
    assert upload["file_name"].startswith("Åre kommun")
    assert got.headers["cache-control"] == "private, no-store"
    assert got.headers["referrer-policy"] == "no-referrer"


# -- presigned addresses: organisers only ---------------------------------------------------------


@on_s3
def test_an_organiser_is_redirected_to_a_short_lived_address_that_names_the_file(
    sample_imported: Settings,
) -> None:
    for client in _client(sample_imported.model_copy(update={"s3_presigned_downloads": 60})):
        upload, deck = upload_a_deck(client)
        path = f"{API}/uploads/{upload['id']}/file"

        answer = client.get(path, follow_redirects=False)

        assert answer.status_code == 307
        assert answer.headers["cache-control"] == "private, no-store"
        location = answer.headers["location"]
        assert location.startswith(sample_imported_s3_url(client))
        assert "X-Amz-Expires=60" in location and "X-Amz-Signature=" in location
        fetched = fetch(location)
        assert fetched.status_code == 200
        assert fetched.content == deck
        disposition = fetched.headers["content-disposition"]
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == upload["file_name"]
        assert upload["file_name"].startswith("Åre kommun")
        # The address is the file's alone: another key under it is refused.
        parts = urlsplit(location)
        tampered = location.replace(parts.path, parts.path + "x", 1)
        assert fetch(tampered).status_code == 403


def sample_imported_s3_url(client: TestClient) -> str:
    url = runtime_of(client).settings.s3_endpoint_url
    assert url is not None
    return url


@on_s3
def test_a_participant_is_never_redirected_but_served_through_the_access_check(
    sample_imported: Settings,
) -> None:
    for client in _client(sample_imported.model_copy(update={"s3_presigned_downloads": 60})):
        upload, deck = upload_a_deck(client)
        path = f"{API}/uploads/{upload['id']}/file"

        own = participant(client, "askersund").get(path, follow_redirects=False)
        other = participant(client, "fagersta").get(path, follow_redirects=False)

        assert own.status_code == 200 and own.content == deck
        assert other.status_code == 404
        assert "location" not in own.headers and "location" not in other.headers


def test_an_organisers_document_download_redirects_too(
    sample_imported: Settings, s3_server: S3Server, file_store_kind: str
) -> None:
    del file_store_kind  # local by default: this test builds its own S3 settings
    settings = s3_server.settings(
        sample_imported.model_copy(update={"s3_presigned_downloads": 120}),
        bucket="benchdocs-test",
        prefix="presign-documents/",
    )
    for client in _client(settings):
        runtime = runtime_of(client)
        with unit_of_work(runtime.sessions) as session:
            batch = create_batch(
                session,
                meeting_id=id_of(client, m.Meeting, "bm2"),
                kinds=[DocumentKind.AGENDA],
            )
            (document_id,) = [d.id for d in batch.documents]
        render_here(runtime, [document_id])

        answer = client.get(f"{API}/documents/{document_id}/file", follow_redirects=False)

        assert answer.status_code == 307
        fetched = fetch(answer.headers["location"])
        assert fetched.status_code == 200 and fetched.content.startswith(b"PK")
        assert "filename*=UTF-8''" in fetched.headers["content-disposition"]


def test_a_local_store_serves_organisers_itself_whatever_the_setting(
    sample_imported: Settings,
) -> None:
    for client in _client(sample_imported.model_copy(update={"s3_presigned_downloads": 60})):
        upload, deck = upload_a_deck(client)

        answer = client.get(f"{API}/uploads/{upload['id']}/file", follow_redirects=False)

        assert answer.status_code == 200 and answer.content == deck


# -- the store is down ----------------------------------------------------------------------------


def test_a_stopped_store_answers_503_in_swedish_and_loses_nothing(
    sample_imported: Settings, own_s3_server: S3Server
) -> None:
    settings = own_s3_server.settings(sample_imported, bucket="egen").model_copy(
        update={"s3_connect_timeout_seconds": 1.0, "s3_max_attempts": 1}
    )
    for client in _client(settings):
        upload, deck = upload_a_deck(client)
        second_deck = a_deck(client, organisation="askersund")
        delegation = participant(client, "askersund")
        path = f"{API}/uploads/{upload['id']}/file"
        browser = portal_participant(client, "askersund")
        page_path = f"/mina-dokument/inskickat/{upload['id']}/fil"
        assert browser.get(page_path).content == deck
        with runtime_of(client).sessions() as session:
            uploads_before = session.scalar(select(func.count()).select_from(m.Upload))

        own_s3_server.stop()
        download = delegation.get(path)
        sent = post_deck(
            delegation,
            id_of(client, m.Organisation, "askersund"),
            id_of(client, m.Meeting, "bm2"),
            second_deck,
            "andra.pptx",
        )
        organiser_download = client.get(path)
        page_download = browser.get(page_path)

        assert download.status_code == 503
        assert download.json()["detail"].startswith("Filerna kan inte hämtas eller sparas just nu")
        assert download.headers["retry-after"] == "30"
        assert sent.status_code == 503
        assert "Ingenting har gått förlorat" in sent.json()["detail"]
        assert organiser_download.status_code == 503
        assert "cannot be reached" in organiser_download.json()["detail"]
        assert page_download.status_code == 503
        assert "Filerna kan inte nås just nu" in page_download.text
        assert "Ingenting har gått förlorat" in page_download.text
        with runtime_of(client).sessions() as session:
            assert session.scalar(select(func.count()).select_from(m.Upload)) == uploads_before

        own_s3_server.restart()
        again = delegation.get(path)
        assert again.status_code == 200 and again.content == deck
        assert browser.get(page_path).content == deck


def portal_participant(client: TestClient, organisation_ref: str) -> TestClient:
    """A browser-like client signed in to the portal by the organisation's personal link."""
    runtime = runtime_of(client)
    with unit_of_work(runtime.sessions) as session:
        issued = issue_token(
            session,
            organisation_id=id_of(client, m.Organisation, organisation_ref),
            valid_for=dt.timedelta(days=30),
            label="länken",
            now=dt.datetime.now(dt.UTC),
        )
    browser = TestClient(client.app)
    opened = browser.get(f"/lank/{issued.token}")
    assert opened.status_code == 200 and opened.url.path == "/mina-dokument", opened.url
    return browser
