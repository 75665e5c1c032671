"""Dispatch hands a whole batch to the queue in one go, and keeps what the broker did not take."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.batches.control import create_batch, dispatch
from service.database import models as m
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.domain.kinds import DocumentKind, DocumentStatus
from service.settings import Settings
from service.task_queue import RENDER_QUEUE


class BrokerThatFails:
    """A bulk queue whose broker goes away after taking ``takes`` messages."""

    def __init__(self, takes: int) -> None:
        self.takes = takes
        self.calls: list[list[tuple[str, int]]] = []
        self.chunkable: list[set[int]] = []

    def send_documents(
        self, messages: Sequence[tuple[str, int]], *, chunkable: AbstractSet[int] = frozenset()
    ) -> int:
        self.calls.append(list(messages))
        self.chunkable.append(set(chunkable))
        return min(self.takes, len(messages))

    def send_render(self, document_id: int) -> None:
        raise AssertionError("a bulk queue is sent to in bulk")

    def send_pdf(self, document_id: int) -> None:
        raise AssertionError("a bulk queue is sent to in bulk")


@pytest.fixture
def sessions(sample_imported: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database that holds the sample programme."""
    engine = make_engine(sample_imported.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _meeting(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()


def test_a_batch_goes_in_one_call_and_what_the_broker_did_not_take_stays_pending(
    sessions: sessionmaker[Session],
) -> None:
    meeting = _meeting(sessions)
    with unit_of_work(sessions) as session:
        batch = create_batch(session, meeting_id=meeting, kinds=[DocumentKind.DECK])
        ids = [d.id for d in batch.documents]
    queue = BrokerThatFails(takes=3)

    sent = dispatch(sessions, queue, ids + ids[:2])  # a duplicate id is sent once

    assert sent == 3
    assert queue.calls == [[(RENDER_QUEUE, document_id) for document_id in ids]]
    assert queue.chunkable == [set(ids)]  # decks are Office files to render: they may share
    with sessions() as session:
        statuses = dict(
            session.execute(
                select(m.GeneratedDocument.id, m.GeneratedDocument.status).where(
                    m.GeneratedDocument.id.in_(ids)
                )
            ).all()
        )
    assert [statuses[d] for d in ids] == [DocumentStatus.QUEUED] * 3 + [DocumentStatus.PENDING] * (
        len(ids) - 3
    )


def test_meeting_wide_documents_go_first_and_alone_and_an_organisations_may_share(
    sessions: sessionmaker[Session],
) -> None:
    meeting = _meeting(sessions)
    with unit_of_work(sessions) as session:
        batch = create_batch(
            session,
            meeting_id=meeting,
            kinds=[
                DocumentKind.DECK,
                DocumentKind.NETWORK_OVERVIEW,
                DocumentKind.FEEDBACK_LETTER,
                DocumentKind.ORGANISER_CHECKLIST,
            ],
        )
        rows = {d.id: (d.kind, d.organisation_id) for d in batch.documents}
    queue = BrokerThatFails(takes=len(rows))

    assert dispatch(sessions, queue, list(rows)) == len(rows)

    (sent,) = queue.calls
    meeting_wide = [d for d, (_, organisation) in rows.items() if organisation is None]
    assert {rows[d][0] for d in meeting_wide} == {
        DocumentKind.NETWORK_OVERVIEW,
        DocumentKind.ORGANISER_CHECKLIST,
    }
    # The longest to make (they read the whole network) first, in their batch's order.
    assert [d for _, d in sent[: len(meeting_wide)]] == meeting_wide
    assert [d for _, d in sent[len(meeting_wide) :]] == [d for d in rows if d not in meeting_wide]
    assert queue.chunkable == [set(rows) - set(meeting_wide)]
