"""Back-up and restore as docs/operations.md tells it: ops/backup.sh, then ops/restore.sh.

Documents are made, the database and the file store (a directory, or a bucket of a real S3
server) backed up, and the backup restored into a new, empty database and a new directory or
bucket; then every document downloads through the API with the checksum it was made with.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from service.api.app import create_app
from service.cli.local_cluster import settings_environment
from service.database import models as m
from service.database.session import make_engine
from service.domain.kinds import DocumentKind, DocumentStatus
from service.runtime import build_runtime
from service.settings import PROJECT_ROOT, Settings
from tests.conftest import (
    CHILD_TIMEOUT,
    TEST_API_KEY,
    Databases,
    RecordingQueue,
    both_stores,
    stored_keys,
)
from tests.integration.conftest import render_meeting_documents

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("pg_dump", "pg_restore", "tar")]

OPS = PROJECT_ROOT / "ops"


@pytest.fixture
def database_backend() -> str:
    """The back-up steps are PostgreSQL's (pg_dump)."""
    return "postgresql"


@pytest.fixture
def fresh_database(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A new, empty database, as an operator makes one to restore into."""
    url = databases.create("postgresql", tmp_path / "fresh")
    try:
        yield url
    finally:
        databases.drop(url)


@pytest.fixture
def fresh_store(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Where the files are restored to: a new directory, or a new bucket of the same server."""
    if settings.file_store != "s3":
        return settings.model_copy(update={"file_store_dir": tmp_path / "restored-files"})
    server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket(f"restored-{uuid.uuid4().hex[:12]}")
    fresh: Settings = server.settings(settings, bucket=bucket)
    return fresh


def run_ops(script: str, argument: Path, *, settings: Settings) -> subprocess.CompletedProcess[str]:
    """Run an ops script with the settings' database and file store, as an operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHDOCS_")}
    env.pop("REDIS_URL", None)
    env.update(settings_environment(settings))
    env["DATABASE_URL"] = settings.database_url
    env["PYTHON"] = sys.executable
    return subprocess.run(
        ["sh", str(OPS / script), str(argument)],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def made_documents(settings: Settings) -> dict[int, str]:
    """Benchmarking 2's agenda, decks and letters, rendered; their ids and sha256."""
    runtime = build_runtime(settings, queue=RecordingQueue())
    try:
        kinds = [DocumentKind.AGENDA, DocumentKind.DECK, DocumentKind.FEEDBACK_LETTER]
        ids = render_meeting_documents(runtime, "bm2", kinds)
        with runtime.sessions() as session:
            rows = session.scalars(
                select(m.GeneratedDocument).where(m.GeneratedDocument.id.in_(ids))
            ).all()
            assert {row.status for row in rows} == {DocumentStatus.DONE}
            return {row.id: row.sha256 or "" for row in rows}
    finally:
        runtime.close()


@both_stores
def test_a_backup_restored_into_a_new_database_and_store_serves_every_document(
    sample_imported: Settings, fresh_database: str, fresh_store: Settings, tmp_path: Path
) -> None:
    made = made_documents(sample_imported)
    backup = tmp_path / "backup"

    backed_up = run_ops("backup.sh", backup, settings=sample_imported)
    restored = fresh_store.model_copy(update={"database_url": fresh_database})
    restoring = run_ops("restore.sh", backup, settings=restored)

    assert backed_up.returncode == 0, backed_up.stderr
    assert restoring.returncode == 0, restoring.stdout + restoring.stderr
    assert stored_keys(restored) == stored_keys(sample_imported)
    runtime = build_runtime(restored, queue=RecordingQueue())
    try:
        with TestClient(create_app(runtime), headers={"X-API-Key": TEST_API_KEY}) as client:
            for document_id, sha256 in made.items():
                response = client.get(f"/api/v1/documents/{document_id}/file")
                assert response.status_code == 200, response.text
                assert hashlib.sha256(response.content).hexdigest() == sha256
        with runtime.sessions() as session:
            done = session.scalars(
                select(m.GeneratedDocument.id).where(
                    m.GeneratedDocument.status == DocumentStatus.DONE
                )
            ).all()
        assert set(done) == set(made)
    finally:
        runtime.close()


@both_stores
def test_restore_refuses_a_file_store_that_holds_files(
    sample_imported: Settings, fresh_database: str, fresh_store: Settings, tmp_path: Path
) -> None:
    made_documents(sample_imported)
    backup = tmp_path / "backup"
    assert run_ops("backup.sh", backup, settings=sample_imported).returncode == 0
    occupied = fresh_store.model_copy(update={"database_url": fresh_database})
    build_runtime(occupied, queue=RecordingQueue()).files.put("somebody-elses.pdf", b"%PDF-1.7")

    refused = run_ops("restore.sh", backup, settings=occupied)

    assert refused.returncode == 2
    assert "is not empty" in refused.stderr
    assert stored_keys(occupied) == ["somebody-elses.pdf"]
    engine = make_engine(fresh_database)
    try:
        assert inspect(engine).get_table_names() == [], "the database was restored all the same"
    finally:
        engine.dispose()


def test_a_damaged_backup_is_refused_before_anything_is_restored(
    sample_imported: Settings, fresh_database: str, tmp_path: Path
) -> None:
    made_documents(sample_imported)
    backup = tmp_path / "backup"
    assert run_ops("backup.sh", backup, settings=sample_imported).returncode == 0
    with open(backup / "files.tar", "r+b") as archive:
        archive.seek(600)
        archive.write(b"\x00damaged\x00")
    target = tmp_path / "restored-files"

    refused = run_ops(
        "restore.sh",
        backup,
        settings=sample_imported.model_copy(
            update={"database_url": fresh_database, "file_store_dir": target}
        ),
    )

    assert refused.returncode != 0
    assert "files.tar: FAILED" in refused.stdout + refused.stderr
    assert not target.exists()
