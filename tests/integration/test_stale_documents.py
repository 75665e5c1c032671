"""Re-sending strays: exactly the documents whose clock for their state is older than the cutoff.

A pending document's clock is when it was created, a queued one's when it was queued, a running
one's when it started. Done and failed documents are never re-sent, however old.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from service.access.tokens import aware
from service.batches.control import create_batch, find_stale, resend_stale
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)
LONG_AGO = NOW - dt.timedelta(days=30)


@dataclass
class Strays:
    """Documents in every state, each with its clock just before or just after a cutoff."""

    runtime: Runtime
    queue: RecordingQueue
    meeting_id: int
    organisation_id: int

    def document(
        self,
        status: DocumentStatus,
        *,
        created_at: dt.datetime,
        enqueued_at: dt.datetime | None = None,
        started_at: dt.datetime | None = None,
    ) -> int:
        with unit_of_work(self.runtime.sessions) as session:
            batch = create_batch(
                session,
                meeting_id=self.meeting_id,
                kinds=[DocumentKind.DECK],
                organisation_ids=[self.organisation_id],
            )
            (row,) = batch.documents
            row.status = status
            row.created_at = created_at
            row.enqueued_at = enqueued_at
            row.started_at = started_at
            session.flush()
            return row.id

    def row(self, document_id: int) -> m.GeneratedDocument:
        with self.runtime.sessions() as session:
            return session.get_one(m.GeneratedDocument, document_id)

    def stale(self, *, older_than: dt.timedelta, now: dt.datetime = NOW) -> list[int]:
        with self.runtime.sessions() as session:
            return find_stale(session, older_than=older_than, now=now)


@pytest.fixture
def strays(migrated: Settings) -> Iterator[Strays]:
    queue = RecordingQueue()
    runtime = build_runtime(migrated, queue=queue)
    with unit_of_work(runtime.sessions) as session:
        import_programme(session, SAMPLE_PROGRAMME.read_bytes(), max_bytes=10_000_000)
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    yield Strays(runtime, queue, meeting_id, organisation_id)
    runtime.close()


def each_state_around(strays: Strays, cutoff: dt.datetime) -> dict[str, int]:
    """One document per state just before the cutoff and one just after it."""
    before, after = cutoff - SECOND, cutoff + SECOND
    return {
        "pending, before": strays.document(DocumentStatus.PENDING, created_at=before),
        "pending, after": strays.document(DocumentStatus.PENDING, created_at=after),
        "queued, before": strays.document(
            DocumentStatus.QUEUED, created_at=LONG_AGO, enqueued_at=before
        ),
        "queued, after": strays.document(
            DocumentStatus.QUEUED, created_at=LONG_AGO, enqueued_at=after
        ),
        "running, before": strays.document(
            DocumentStatus.RUNNING, created_at=LONG_AGO, enqueued_at=LONG_AGO, started_at=before
        ),
        "running, after": strays.document(
            DocumentStatus.RUNNING, created_at=LONG_AGO, enqueued_at=LONG_AGO, started_at=after
        ),
        "done, long ago": strays.document(
            DocumentStatus.DONE, created_at=LONG_AGO, enqueued_at=LONG_AGO, started_at=LONG_AGO
        ),
        "failed, long ago": strays.document(
            DocumentStatus.FAILED, created_at=LONG_AGO, enqueued_at=LONG_AGO, started_at=LONG_AGO
        ),
    }


def named(documents: dict[str, int], ids: list[int]) -> list[str]:
    names = {document_id: name for name, document_id in documents.items()}
    return [names[i] for i in ids]


def test_find_stale_picks_exactly_the_documents_whose_clock_is_before_the_cutoff(
    strays: Strays,
) -> None:
    documents = each_state_around(strays, NOW - HOUR)

    stale = strays.stale(older_than=HOUR)

    assert named(documents, stale) == ["pending, before", "queued, before", "running, before"]


def test_the_cutoff_moves_with_older_than(strays: Strays) -> None:
    documents = each_state_around(strays, NOW - 3 * HOUR)

    assert named(documents, strays.stale(older_than=3 * HOUR)) == [
        "pending, before",
        "queued, before",
        "running, before",
    ]
    assert named(documents, strays.stale(older_than=3 * HOUR - 2 * SECOND)) == [
        "pending, before",
        "pending, after",
        "queued, before",
        "queued, after",
        "running, before",
        "running, after",
    ]
    assert strays.stale(older_than=3 * HOUR + 2 * SECOND) == []


def test_the_cutoff_moves_with_now(strays: Strays) -> None:
    documents = each_state_around(strays, NOW - HOUR)

    assert strays.stale(older_than=HOUR, now=NOW - 2 * SECOND) == []
    assert len(strays.stale(older_than=HOUR, now=NOW + 2 * SECOND)) == 6
    assert named(documents, strays.stale(older_than=HOUR)) == [
        "pending, before",
        "queued, before",
        "running, before",
    ]


def test_a_document_is_judged_by_the_clock_of_its_state_not_by_its_age(strays: Strays) -> None:
    recent = NOW - dt.timedelta(minutes=1)
    queued_again = strays.document(DocumentStatus.QUEUED, created_at=LONG_AGO, enqueued_at=recent)
    started_again = strays.document(
        DocumentStatus.RUNNING, created_at=LONG_AGO, enqueued_at=LONG_AGO, started_at=recent
    )

    stale = strays.stale(older_than=HOUR)

    assert stale == []
    assert strays.stale(older_than=dt.timedelta(0)) == [queued_again, started_again]


def test_resend_stale_sends_exactly_the_strays_and_leaves_the_others_alone(
    strays: Strays,
) -> None:
    # resend_stale reads the clock itself: a minute either side of its cutoff is unambiguous.
    cutoff = dt.datetime.now(dt.UTC) - HOUR
    documents = {
        "pending, before": strays.document(
            DocumentStatus.PENDING, created_at=cutoff - dt.timedelta(minutes=1)
        ),
        "pending, after": strays.document(
            DocumentStatus.PENDING, created_at=cutoff + dt.timedelta(minutes=1)
        ),
        "queued, before": strays.document(
            DocumentStatus.QUEUED, created_at=LONG_AGO, enqueued_at=cutoff - dt.timedelta(minutes=1)
        ),
        "queued, after": strays.document(
            DocumentStatus.QUEUED, created_at=LONG_AGO, enqueued_at=cutoff + dt.timedelta(minutes=1)
        ),
        "running, before": strays.document(
            DocumentStatus.RUNNING,
            created_at=LONG_AGO,
            enqueued_at=LONG_AGO,
            started_at=cutoff - dt.timedelta(minutes=1),
        ),
        "running, after": strays.document(
            DocumentStatus.RUNNING,
            created_at=LONG_AGO,
            enqueued_at=LONG_AGO,
            started_at=cutoff + dt.timedelta(minutes=1),
        ),
        "done": strays.document(DocumentStatus.DONE, created_at=LONG_AGO, enqueued_at=LONG_AGO),
    }
    untouched = {
        name: strays.row(i) for name, i in documents.items() if not name.endswith("before")
    }
    sent_at = dt.datetime.now(dt.UTC)

    resent = resend_stale(strays.runtime.sessions, strays.queue, older_than=HOUR, now=utcnow())

    assert named(documents, resent) == ["pending, before", "queued, before", "running, before"]
    assert strays.queue.sent == resent
    for document_id in resent:
        row = strays.row(document_id)
        assert row.status == DocumentStatus.QUEUED
        assert row.enqueued_at is not None and aware(row.enqueued_at) >= sent_at - SECOND
    for name, before in untouched.items():
        after = strays.row(documents[name])
        assert (after.status, after.enqueued_at, after.started_at) == (
            before.status,
            before.enqueued_at,
            before.started_at,
        ), name
