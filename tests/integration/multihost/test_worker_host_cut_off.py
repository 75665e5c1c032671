"""A worker host drops off the network mid-batch: every document is still made, exactly once.

The API, beat and two workers run on three hosts (network namespaces) that share only
PostgreSQL, Redis and an S3 bucket (SeaweedFS) over the network. A batch of decks with PDFs starts
through the API; while the first worker host is in the middle of a document, its cable is
pulled. Its process lives on but reaches nothing; beat finds the document it held still
running in the database and sends it again, and the second host makes it and the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from pptx import Presentation
from sqlalchemy import select

from service.clock import utcnow
from service.database import models as m
from service.domain.kinds import DocumentStatus
from service.storage.s3_file_store import S3FileStore
from tests.conftest import TEST_API_KEY
from tests.integration.multihost.conftest import Cluster
from tests.integration.multihost.services import POSTGRES_PORT, REDIS_PORT, S3_PORT

pytestmark = [pytest.mark.integration, pytest.mark.needs_tools("soffice")]

SAMPLE_ORGANISATIONS = 8
CUT_HOST = "worker-1"


def documents(cluster: Cluster, batch_id: int) -> list[m.GeneratedDocument]:
    with cluster.runtime.sessions() as session:
        return list(
            session.scalars(
                select(m.GeneratedDocument)
                .where(m.GeneratedDocument.batch_id == batch_id)
                .order_by(m.GeneratedDocument.id)
            )
        )


def active_document(cluster: Cluster, host: str) -> int | None:
    """The document the host's worker is rendering now, by its own account (remote control)."""
    probe = cluster.celery()
    try:
        replies = probe.control.inspect(destination=[f"celery@{host}"], timeout=1.0, limit=1)
        active = (replies.active() or {}).get(f"celery@{host}", [])
    finally:
        probe.close()
    ids: list[int] = []
    for task in active:
        if task["name"] == "benchdocs.render_document":
            ids.append(task["args"][0])
        elif task["name"] == "benchdocs.render_documents":  # a chunk: all of it is held
            ids.extend(task["args"][0])
    return ids[0] if ids else None


def reaches(cluster: Cluster, host: str, port: int) -> bool:
    """Whether a process on the host can open a connection to the shared services."""
    probe = (
        "import socket,sys\n"
        "try: socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)\n"
        "except OSError: sys.exit(1)\n"
    )
    result = subprocess.run(
        [
            "ip", "netns", "exec", cluster.hosts[host].namespace, sys.executable, "-c", probe,
            cluster.segment.services_address, str(port),
        ],
        timeout=10,
        check=False,
    )  # fmt: skip
    return result.returncode == 0


def cut_while_busy(cluster: Cluster, batch_id: int, *, timeout: float = 60.0) -> int:
    """Pull the host's cable while it renders a document just started; that document's id.

    Each task waits ``debug_render_delay_seconds`` per document after it marks its documents
    running (a chunk marks all of its at once), so a document started less than half of that
    ago is certainly still in the host's hands.
    """
    delay = cluster.host_settings.debug_render_delay_seconds
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = {d.id: d for d in documents(cluster, batch_id)}
        states = Counter(d.status for d in rows.values())
        waiting = states[DocumentStatus.PENDING] + states[DocumentStatus.QUEUED]
        if states[DocumentStatus.DONE] >= 2 and waiting >= 4:
            held = active_document(cluster, CUT_HOST)
            row = rows.get(held) if held is not None else None
            if row is not None and row.status == DocumentStatus.RUNNING:
                with cluster.runtime.sessions() as session:
                    started = session.get_one(m.GeneratedDocument, row.id).started_at
                if started is not None and utcnow() - started < dt.timedelta(seconds=delay / 2):
                    cluster.segment.cut(CUT_HOST)
                    return row.id
        time.sleep(0.05)
    pytest.fail(f"{CUT_HOST} was never caught mid-document before the batch ended")


@pytest.fixture
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    """The organiser's HTTP client of the API host."""
    headers = {"X-API-Key": TEST_API_KEY}
    with httpx.Client(base_url=cluster.api_url, headers=headers, timeout=30) as client:
        yield client


@pytest.mark.timeout(180)
def test_a_worker_host_cut_off_mid_batch_loses_no_document_and_makes_none_twice(
    cluster: Cluster, api: httpx.Client
) -> None:
    with cluster.runtime.sessions() as session:
        bm2 = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        names = {i: n for i, n in session.execute(select(m.Organisation.id, m.Organisation.name))}
    started = api.post(f"/api/v1/meetings/{bm2}/batches", json={"kinds": ["deck"], "pdf": True})
    assert started.status_code == 202, started.text
    batch_id = started.json()["id"]

    held = cut_while_busy(cluster, batch_id)
    cut_at = utcnow()
    for port in (REDIS_PORT, POSTGRES_PORT, S3_PORT):
        assert not reaches(cluster, CUT_HOST, port), f"{CUT_HOST} still reaches port {port}"
        assert reaches(cluster, "worker-2", port)

    deadline = time.monotonic() + 120
    while not (progress := api.get(f"/api/v1/batches/{batch_id}").json())["complete"]:
        assert time.monotonic() < deadline, f"the batch did not finish: {progress['counts']}"
        time.sleep(0.5)

    # The cut host's worker is alive, cut off: it was not its death that set the work free.
    assert cluster.hosts[CUT_HOST].processes[0].poll() is None
    rows = documents(cluster, batch_id)
    assert len(rows) == SAMPLE_ORGANISATIONS * 2
    assert Counter((d.kind, d.format, d.organisation_id) for d in rows).most_common(1)[0][1] == 1
    assert {d.status for d in rows} == {DocumentStatus.DONE}, [(d.id, d.error) for d in rows]
    recovered = next(d for d in rows if d.id == held)
    assert recovered.attempts >= 2, "the held document was never started again"
    # Sent again from the database (beat's resend), not only brought back by the broker.
    assert recovered.enqueued_at is not None and recovered.enqueued_at > cut_at
    assert progress["counts"]["done"] == len(rows)

    bucket = cluster.runtime.files
    assert isinstance(bucket, S3FileStore)
    keys = set(bucket.list_keys())
    for row in rows:
        download = api.get(f"/api/v1/documents/{row.id}/file")
        assert download.status_code == 200, download.text
        assert hashlib.sha256(download.content).hexdigest() == row.sha256
        assert len(download.content) == row.size_bytes
        assert row.file_key is not None and row.organisation_id is not None
        folder = row.file_key.rpartition("/")[0] + "/"
        assert {k for k in keys if k.startswith(folder)} == {row.file_key}
        name = names[row.organisation_id]
        if row.format == "pdf":
            assert download.content.startswith(b"%PDF-")
        else:
            deck = Presentation(io.BytesIO(download.content))
            first = " ".join(s.text_frame.text for s in deck.slides[0].shapes if s.has_text_frame)
            assert name in first
    # Nothing went through a host's own disk: the bucket is the only file store.
    for host in cluster.hosts:
        assert not (cluster.host_dirs / host / "local-files").exists(), host
