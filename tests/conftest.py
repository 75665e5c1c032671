"""Shared fixtures: settings, databases (SQLite and PostgreSQL), the sample programme."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.api.app import create_app
from service.database.session import make_engine, migrate
from service.intake.sample import SAMPLE_PROGRAMME
from service.runtime import build_runtime
from service.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCHDOCS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_API_KEY = "test-organiser-key"


@pytest.fixture(scope="session")
def sample_programme_bytes() -> bytes:
    return SAMPLE_PROGRAMME.read_bytes()


def _fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"benchdocs_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every database test runs on the embedded default and on the production database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'benchdocs.sqlite3'}"
    else:
        yield from _fresh_postgres_database()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        file_store_dir=tmp_path / "files",
        api_key=TEST_API_KEY,
    )


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    return settings


class RecordingQueue:
    """A plain stand-in for the broker in API tests that do not run workers."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send_render(self, document_id: int) -> None:
        self.sent.append(document_id)


@pytest.fixture
def recording_queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def api_client(migrated: Settings, recording_queue: RecordingQueue) -> Iterator[TestClient]:
    """The real app on a real database, authenticated as the organiser."""
    runtime = build_runtime(migrated, queue=recording_queue)
    with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
        yield client


@pytest.fixture
def imported_client(api_client: TestClient, sample_programme_bytes: bytes) -> TestClient:
    """An API client whose database holds the sample programme."""
    response = api_client.post(
        "/api/v1/programmes/import",
        content=sample_programme_bytes,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    return api_client
