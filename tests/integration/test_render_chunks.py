"""A chunk of Office documents rendered together (``RenderJob.run_many``) is recorded exactly
as one by one: the same files, the same inputs, the same reuse; a document's own failure, a
row claimed again meanwhile and a store that breaks midway each touch only what they must.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, update

from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker, MadeDocument
from service.batches.render_job import Outcome, RenderJob
from service.change_detection.stamps import consistent_read, document_stamp
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import RenderError, StoreFullError
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.file_store import FileStore, StoredFile
from service.task_queue import RENDER_QUEUE, group_documents
from tests.document_text import docx_text, pptx_text, xlsx_text

pytestmark = pytest.mark.integration

KINDS = [
    DocumentKind.DECK,
    DocumentKind.CHECKLIST,
    DocumentKind.ORGANISATION_AGENDA,
    DocumentKind.FEEDBACK_LETTER,
    DocumentKind.ORGANISER_CHECKLIST,
]
NEW_NAME = "Askersund <b>{{ ny }}</b> 🌿 kommun"


@dataclass
class Network:
    runtime: Runtime
    meeting_id: int
    askersund: int
    jobs: list[RenderJob] = field(default_factory=list)

    def job(self, maker: DocumentMaker | None = None, files: FileStore | None = None) -> RenderJob:
        """A render job as a worker process has one (its lease keeper stopped after the test)."""
        sessions = self.runtime.sessions
        job = RenderJob(
            sessions=sessions,
            files=files or self.runtime.files,
            maker=maker or DocumentMaker(sessions, self.runtime.templates),
        )
        self.jobs.append(job)
        return job

    def batch(self) -> list[int]:
        """A new batch of every kind in ``KINDS`` for the meeting: its document ids."""
        with unit_of_work(self.runtime.sessions) as session:
            batch = create_batch(session, meeting_id=self.meeting_id, kinds=KINDS)
            return [d.id for d in batch.documents]

    def rows(self, ids: list[int]) -> dict[int, m.GeneratedDocument]:
        with self.runtime.sessions() as session:
            doc = m.GeneratedDocument
            return {row.id: row for row in session.scalars(select(doc).where(doc.id.in_(ids)))}


@pytest.fixture
def network(sample_imported: Settings) -> Iterator[Network]:
    runtime = build_runtime(sample_imported)
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        askersund = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
    network = Network(runtime, meeting_id, askersund)
    yield network
    for job in network.jobs:
        job.keeper.stop()
    runtime.close()


def _text(kind: DocumentKind, data: bytes) -> str:
    """Every word a reader sees in the file."""
    readers = {"pptx": pptx_text, "xlsx": xlsx_text, "docx": docx_text}
    return readers[spec_for(kind).office_format](data)


def test_a_chunk_records_what_one_by_one_records_and_reuses_what_did_not_change(
    network: Network,
) -> None:
    runtime = network.runtime
    one_by_one = network.batch()
    job = network.job()
    assert {job.run(d) for d in one_by_one} == {Outcome.RENDERED}
    first = network.rows(one_by_one)

    # Nothing changed: the chunk keeps every file, with the very same inputs.
    unchanged = network.batch()
    outcomes = job.run_many(unchanged)
    assert outcomes == dict.fromkeys(unchanged, Outcome.REUSED)
    kept = network.rows(unchanged)
    for before, after in zip(one_by_one, unchanged, strict=True):
        assert kept[after].reused_from_id == before
        assert kept[after].file_key == first[before].file_key
        assert kept[after].inputs == first[before].inputs
        assert kept[after].template_id == first[before].template_id
        assert kept[after].status == DocumentStatus.DONE

    # One organisation renamed: its documents (and the organiser's list) are made again.
    with unit_of_work(runtime.sessions) as session:
        session.get_one(m.Organisation, network.askersund).name = NEW_NAME
    changed = network.batch()
    outcomes = job.run_many(changed)
    made = network.rows(changed)
    fresh = DocumentMaker(runtime.sessions, runtime.templates)
    rendered = 0
    for document_id in changed:
        row = made[document_id]
        assert row.status == DocumentStatus.DONE and row.error is None
        assert row.file_key is not None
        data = runtime.files.get(row.file_key)
        assert (
            data
            == fresh.make(
                row.kind, meeting_id=row.meeting_id, organisation_id=row.organisation_id
            ).data
        )
        if outcomes[document_id] == Outcome.RENDERED:
            rendered += 1
            assert row.reused_from_id is None and row.render_ms is not None
            assert row.template_id is not None
        if row.organisation_id == network.askersund:
            assert outcomes[document_id] == Outcome.RENDERED
            if row.kind != DocumentKind.CHECKLIST:  # the checklist names no organisation
                assert NEW_NAME in _text(row.kind, data)
        if row.kind == DocumentKind.DECK and row.organisation_id != network.askersund:
            assert outcomes[document_id] == Outcome.REUSED
    assert 4 <= rendered < len(changed)
    # An Office file that becomes a PDF keeps the PDF's stamp, as one by one.
    letters = [made[d] for d in changed if made[d].kind == DocumentKind.FEEDBACK_LETTER]
    assert all("pdf_stamp" in (row.inputs or {}) for row in letters)


class BreaksFor(DocumentMaker):
    """The real maker, whose render of one organisation's letter calls ``meanwhile`` (another
    worker claiming the row, say), then raises ``error`` if given."""

    def __init__(
        self, *args: Any, organisation: str, error: Exception | None, meanwhile: Any = None
    ) -> None:
        super().__init__(*args)
        self.organisation = organisation
        self.error = error
        self.meanwhile = meanwhile

    def render(self, kind: DocumentKind, context: dict[str, Any], **options: Any) -> MadeDocument:
        if (
            kind == DocumentKind.FEEDBACK_LETTER
            and context["organisation"]["name"] == self.organisation
        ):
            if self.meanwhile is not None:
                self.meanwhile()
            if self.error is not None:
                raise self.error
        return super().render(kind, context, **options)


def _letter_of(network: Network, ids: list[int]) -> int:
    rows = network.rows(ids)
    return next(
        d
        for d in ids
        if rows[d].kind == DocumentKind.FEEDBACK_LETTER
        and rows[d].organisation_id == network.askersund
    )


def _maker(network: Network, **options: Any) -> BreaksFor:
    with network.runtime.sessions() as session:
        name = session.get_one(m.Organisation, network.askersund).name
    return BreaksFor(
        network.runtime.sessions, network.runtime.templates, organisation=name, **options
    )


def test_a_document_that_fails_in_a_chunk_fails_alone_and_says_why(network: Network) -> None:
    ids = network.batch()
    broken = _letter_of(network, ids)
    maker = _maker(
        network,
        error=RenderError("mallen kunde inte fyllas: {{ okänd }}"),
    )
    job = network.job(maker)
    outcomes = job.run_many(ids)
    rows = network.rows(ids)
    assert outcomes[broken] == Outcome.FAILED
    assert rows[broken].status == DocumentStatus.FAILED
    error = rows[broken].error
    assert error is not None and "{{ okänd }}" in error
    assert rows[broken].file_key is None
    others = [d for d in ids if d != broken]
    assert {outcomes[d] for d in others} == {Outcome.RENDERED}
    assert all(rows[d].status == DocumentStatus.DONE for d in others)


def test_a_row_claimed_again_meanwhile_is_left_to_its_new_run(network: Network) -> None:
    ids = network.batch()
    taken = _letter_of(network, ids)

    def claimed_by_another_worker() -> None:
        with unit_of_work(network.runtime.sessions) as session:
            doc = m.GeneratedDocument
            session.execute(
                update(doc)
                .where(doc.id == taken)
                .values(attempts=doc.attempts + 1, lease_owner="another-worker")
            )

    maker = _maker(
        network,
        error=None,
        meanwhile=claimed_by_another_worker,
    )
    job = network.job(maker)
    outcomes = job.run_many(ids)
    rows = network.rows(ids)
    assert outcomes[taken] == Outcome.SUPERSEDED
    assert (rows[taken].status, rows[taken].attempts, rows[taken].file_key) == (
        DocumentStatus.RUNNING,
        2,
        None,
    )
    assert rows[taken].lease_owner == "another-worker"
    assert all(rows[d].status == DocumentStatus.DONE for d in ids if d != taken)


class FillsUp:
    """The real store, full after ``takes`` more files."""

    def __init__(self, store: FileStore, takes: int) -> None:
        self.store = store
        self.takes = takes
        self.put_keys: list[str] = []
        self._lock = threading.Lock()  # a chunk's files are put side by side

    def put(self, key: str, data: bytes) -> StoredFile:
        with self._lock:
            if self.takes == 0:
                raise StoreFullError("the file store is full")
            self.takes -= 1
            self.put_keys.append(key)
        return self.store.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_chunk_cut_off_while_recording_records_nothing_and_keeps_no_stray_file(
    network: Network,
) -> None:
    ids = network.batch()
    store = FillsUp(network.runtime.files, takes=2)
    job = network.job(files=store)
    outcomes: dict[int, Outcome] = {}
    with pytest.raises(StoreFullError):
        job.run_many(ids, outcomes=outcomes)
    # Nothing of the chunk ended, so the caller hands every document on.
    assert outcomes == {}
    rows = network.rows(ids)
    assert {row.status for row in rows.values()} == {DocumentStatus.RUNNING}
    assert all(row.file_key is None for row in rows.values())
    assert len(store.put_keys) == 2
    assert not any(network.runtime.files.exists(key) for key in store.put_keys)

    # The space came back: each document, run on its own, is made.
    store.takes = len(ids)
    assert {job.run(d) for d in ids} == {Outcome.RENDERED}


class WaitsForTheOthers:
    """The real store, each put held until ``together`` puts are under way at once."""

    def __init__(self, store: FileStore, together: int) -> None:
        self.store = store
        self.gate = threading.Barrier(together, timeout=10)

    def put(self, key: str, data: bytes) -> StoredFile:
        self.gate.wait()  # one put at a time breaks the barrier
        return self.store.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_chunks_files_are_stored_side_by_side(network: Network) -> None:
    """A put waits for its disk: the chunk's puts run at once, not one after another."""
    ids = network.batch()
    job = network.job(files=WaitsForTheOthers(network.runtime.files, together=len(ids)))

    assert job.run_many(ids) == dict.fromkeys(ids, Outcome.RENDERED)
    rows = network.rows(ids)
    for row in rows.values():
        assert row.status == DocumentStatus.DONE and row.file_key is not None
        assert _text(row.kind, network.runtime.files.get(row.file_key))


def test_neighbouring_office_files_share_a_message_up_to_the_chunk_size() -> None:
    messages = [(RENDER_QUEUE, n) for n in range(1, 8)] + [("pdf", 8), (RENDER_QUEUE, 9)]
    chunkable = {1, 2, 3, 5, 6, 7, 9}  # 4 is a pack
    assert group_documents(messages, chunkable, 2) == [
        (RENDER_QUEUE, (1, 2)),
        (RENDER_QUEUE, (3,)),
        (RENDER_QUEUE, (4,)),
        (RENDER_QUEUE, (5, 6)),
        (RENDER_QUEUE, (7,)),
        ("pdf", (8,)),
        (RENDER_QUEUE, (9,)),
    ]
    assert group_documents(messages, chunkable, 1) == [(q, (d,)) for q, d in messages]


def test_an_organisations_own_data_changed_between_chunks_is_in_its_next_documents(
    network: Network,
) -> None:
    """The chunk reads its organisations' own stamp buckets ahead, kept by data revision: a
    score changed after one chunk makes the next one render that organisation again."""
    runtime = network.runtime
    job = network.job()
    comment = "Ny kommentar: =SUM(A1) <b>{{ x }}</b> 🌿"
    assert set(job.run_many(network.batch()).values()) == {Outcome.RENDERED}
    with unit_of_work(runtime.sessions) as session:
        score = session.scalars(
            select(m.Score)
            .where(m.Score.organisation_id == network.askersund)
            .order_by(m.Score.id.desc())
        ).first()
        assert score is not None
        score.comment = comment
    ids = network.batch()
    outcomes = job.run_many(ids)
    rows = network.rows(ids)
    checklists = {rows[d].organisation_id: d for d in ids if rows[d].kind == DocumentKind.CHECKLIST}
    askersund = checklists.pop(network.askersund)
    assert outcomes[askersund] == Outcome.RENDERED
    key = rows[askersund].file_key
    assert key is not None
    assert comment in _text(DocumentKind.CHECKLIST, runtime.files.get(key))
    assert {outcomes[d] for d in checklists.values()} == {Outcome.REUSED}
    # Every stamp is the one read afresh, without anything kept: the changed one too.
    with consistent_read(runtime.sessions) as session:
        for document_id in ids:
            row = rows[document_id]
            assert row.inputs is not None
            assert row.inputs["stamp"] == document_stamp(
                session,
                spec_for(row.kind),
                meeting_id=row.meeting_id,
                organisation_id=row.organisation_id,
                template_sha256=row.inputs["template"],
                renderer=row.inputs["renderer"],
            ), row.kind
