"""``benchdocs storage migrate``: a local store copied into a real bucket, resumable, checked."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.cli.local_cluster import settings_environment
from service.settings import Settings
from service.storage.file_store import StoredFile
from service.storage.migration import Outcome, migrate_directory
from service.storage.s3_file_store import SHA256_META, S3FileStore
from tests.conftest import CHILD_TIMEOUT, TEST_BUCKET
from tests.integration.s3_server import S3Server, free_port

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def a_local_store(root: Path) -> dict[str, bytes]:
    """A store directory as benchdocs leaves it, with names people give files; its contents."""
    files = {
        "meetings/2/documents/1/Presentation - Benchmarking 2 - Åre kommun.pptx": b"PK deck " * 900,
        "meetings/2/documents/2/Återkopplingsbrev – Härnösand 🎉.docx": "brev åäö".encode() * 50,
        "uploads/7/checklista.xlsx": b"PK sheet",
        "templates/agenda/3.docx": b"",
        # Over the 5 MiB parts: copied as a multipart upload.
        "packs/mötespaket.pdf": bytes(range(256)) * (12 * MIB // 256) + b"slut",
    }
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "uploads" / ".tmp-halvskriven.xlsx").write_bytes(b"an unfinished write")
    return files


def migrate_settings(server: S3Server, root: Path, *, prefix: str) -> Settings:
    return server.settings(
        Settings(file_store_dir=root, s3_multipart_bytes=5 * MIB), bucket=TEST_BUCKET, prefix=prefix
    )


def run_migrate(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
    env |= settings_environment(settings)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "storage", "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def report_lines(output: str) -> dict[str, tuple[int, int]]:
    """``outcome: N files, B bytes`` lines as {outcome: (N, B)}."""
    found = re.findall(r"^(copied|already there|failed): (\d+) files?, (\d+) bytes$", output, re.M)
    return {outcome: (int(n), int(b)) for outcome, n, b in found}


def bucket_contents(store: S3FileStore) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.list_keys()}


@pytest.fixture
def prefix() -> str:
    return f"migrate-{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def target(s3_server: S3Server, prefix: str) -> S3FileStore:
    return S3FileStore(
        client=s3_server.client(),
        bucket=TEST_BUCKET,
        prefix=prefix,
        endpoint=s3_server.url,
        multipart_bytes=5 * MIB,
    )


def test_migrate_copies_every_file_checked_and_a_second_run_copies_nothing(
    s3_server: S3Server, tmp_path: Path, prefix: str, target: S3FileStore
) -> None:
    files = a_local_store(tmp_path / "files")
    settings = migrate_settings(s3_server, tmp_path / "files", prefix=prefix)
    total = sum(len(d) for d in files.values())

    first = run_migrate(settings)
    second = run_migrate(settings)

    assert first.returncode == 0, first.stderr
    assert report_lines(first.stdout) == {
        "copied": (5, total),
        "already there": (0, 0),
        "failed": (0, 0),
    }
    assert bucket_contents(target) == files  # the unfinished .tmp- write stays behind
    for key, data in files.items():
        assert target.stored(key) == StoredFile(key, len(data), hashlib.sha256(data).hexdigest())
    assert second.returncode == 0, second.stderr
    assert report_lines(second.stdout) == {
        "copied": (0, 0),
        "already there": (5, total),
        "failed": (0, 0),
    }


def test_an_interrupted_migration_left_no_half_object_and_resumes(
    s3_server: S3Server, tmp_path: Path, prefix: str, target: S3FileStore
) -> None:
    files = a_local_store(tmp_path / "files")
    interrupting = S3FileStore(
        client=InterruptedAtSecondPart(s3_server.client()),  # type: ignore[arg-type]
        bucket=TEST_BUCKET,
        prefix=prefix,
        endpoint=s3_server.url,
        multipart_bytes=5 * MIB,
    )

    # Ctrl+C in the middle of the large file's multipart upload (files go in name order).
    with pytest.raises(KeyboardInterrupt):
        migrate_directory(tmp_path / "files", interrupting)
    copied_before = set(target.list_keys())
    resumed = run_migrate(migrate_settings(s3_server, tmp_path / "files", prefix=prefix))

    assert "packs/mötespaket.pdf" not in copied_before  # no reader ever saw part of it
    assert copied_before == {k for k in files if k < "packs/mötespaket.pdf"}
    assert resumed.returncode == 0, resumed.stderr
    report = report_lines(resumed.stdout)
    assert report["already there"] == (
        len(copied_before),
        sum(len(files[k]) for k in copied_before),
    )
    assert report["copied"][0] == len(files) - len(copied_before)
    assert bucket_contents(target) == files


class InterruptedAtSecondPart:
    """The real client, until the second part of a multipart upload: then Ctrl+C."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._parts = 0

    def upload_part(self, **arguments: Any) -> Any:
        self._parts += 1
        if self._parts == 2:
            raise KeyboardInterrupt
        return self._client.upload_part(**arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class CorruptedInTransit:
    """The real store, but what lands in the bucket has one byte changed (its sha256 recorded
    as the file's): what bad hardware or a broken proxy does."""

    def __init__(self, store: S3FileStore, client: Any, victim: str) -> None:
        self._store = store
        self._client = client
        self._victim = victim

    def put_file(self, key: str, path: Path) -> StoredFile:
        stored = self._store.put_file(key, path)
        if key == self._victim:
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            self._client.put_object(
                Bucket=self._store.bucket,
                Key=self._store.object_key(key),
                Body=bytes(data),
                Metadata={SHA256_META: stored.sha256},
            )
        return stored

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_copy_that_differs_from_the_file_is_reported_as_failed(
    s3_server: S3Server, tmp_path: Path, target: S3FileStore
) -> None:
    files = a_local_store(tmp_path / "files")
    victim = "uploads/7/checklista.xlsx"
    corrupting = CorruptedInTransit(target, s3_server.client(), victim)

    report = migrate_directory(tmp_path / "files", corrupting)  # type: ignore[arg-type]

    assert not report.complete
    (failed,) = report.of(Outcome.FAILED)
    assert failed.key == victim
    assert failed.problem.startswith("checksum mismatch after copy: the file's sha256 is ")
    assert hashlib.sha256(files[victim]).hexdigest() in failed.problem
    assert {f.key for f in report.of(Outcome.COPIED)} == set(files) - {victim}


def test_verify_existing_finds_an_object_damaged_in_the_bucket_and_copies_it_again(
    s3_server: S3Server, tmp_path: Path, prefix: str, target: S3FileStore
) -> None:
    files = a_local_store(tmp_path / "files")
    settings = migrate_settings(s3_server, tmp_path / "files", prefix=prefix)
    assert run_migrate(settings).returncode == 0
    key = "meetings/2/documents/2/Återkopplingsbrev – Härnösand 🎉.docx"
    damaged = bytearray(files[key])
    damaged[3] ^= 0x01
    s3_server.client().put_object(  # same size, same recorded sha256: only reading tells
        Bucket=TEST_BUCKET,
        Key=target.object_key(key),
        Body=bytes(damaged),
        Metadata={SHA256_META: hashlib.sha256(files[key]).hexdigest()},
    )

    trusting = run_migrate(settings)
    verifying = run_migrate(settings, "--verify-existing")

    assert report_lines(trusting.stdout)["copied"] == (0, 0)
    assert report_lines(verifying.stdout)["copied"] == (1, len(files[key]))
    assert report_lines(verifying.stdout)["already there"][0] == 4
    assert target.get(key) == files[key]


def test_a_file_that_cannot_be_copied_fails_the_run_naming_it(
    s3_server: S3Server, tmp_path: Path, prefix: str, target: S3FileStore
) -> None:
    files = a_local_store(tmp_path / "files")
    (tmp_path / "files" / "uploads" / "länk.xlsx").symlink_to("/etc/passwd")

    result = run_migrate(migrate_settings(s3_server, tmp_path / "files", prefix=prefix))

    assert result.returncode == 1
    assert "failed: uploads/länk.xlsx: a symbolic link, not a stored file" in result.stderr
    assert "error: 1 file(s) not copied: uploads/länk.xlsx" in result.stderr
    assert report_lines(result.stdout)["failed"] == (1, 0)
    assert bucket_contents(target) == files  # the rest is copied all the same


def test_an_unreachable_store_is_named_and_nothing_is_attempted(tmp_path: Path) -> None:
    a_local_store(tmp_path / "files")
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        file_store_dir=tmp_path / "files",
        s3_endpoint_url=nobody,
        s3_bucket="benchdocs",
        s3_access_key="nyckel",
        s3_secret_key="hemlig",  # type: ignore[arg-type]
        s3_connect_timeout_seconds=1,
        s3_max_attempts=1,
    )

    result = run_migrate(settings)

    assert result.returncode == 1
    assert f"{nobody}: the endpoint cannot be reached" in result.stderr
    assert "copied:" not in result.stdout


def test_missing_s3_settings_are_named(tmp_path: Path) -> None:
    result = run_migrate(Settings(file_store_dir=tmp_path))

    assert result.returncode == 1
    assert "BENCHDOCS_S3_BUCKET, BENCHDOCS_S3_ACCESS_KEY, BENCHDOCS_S3_SECRET_KEY not set" in (
        result.stderr
    )


def test_a_source_that_is_not_a_directory_is_named(
    s3_server: S3Server, tmp_path: Path, prefix: str
) -> None:
    settings = migrate_settings(s3_server, tmp_path / "files", prefix=prefix)

    result = run_migrate(settings, "--from", str(tmp_path / "finns-inte"))

    assert result.returncode == 2
    assert "--from" in result.stderr and "finns-inte is not a directory" in result.stderr
