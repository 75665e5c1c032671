"""Workers cache the network-wide stamp digests by the database's data revision.

The cache is sound only if no change to a stamped row leaves the revision where it was: the
triggers of migration 0008 bump it in the writing transaction itself. Every change the
coverage test makes (every column of every stamped table, rows deleted and copied) must move
it, and a stamp built from the cache must equal one read afresh, also right after a change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, Table, delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.change_detection.stamps import (
    DigestCache,
    consistent_read,
    data_revision,
    document_stamps,
    stamped_tables,
)
from service.database import models as m
from service.database.session import make_engine, make_session_factory, unit_of_work
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.domain.kinds import DocumentKind
from service.intake.sample import sample_database
from service.settings import Settings
from tests.integration.test_stamp_coverage import TABLES, _add_rows_the_sample_lacks, changes_of

pytestmark = pytest.mark.integration

Doc = tuple[int, int | None, DocumentSpec]  # meeting, organisation, spec


def _documents(session: Session) -> list[Doc]:
    meetings = session.execute(select(m.Meeting.id, m.Meeting.network_id)).all()
    organisations = session.execute(select(m.Organisation.id, m.Organisation.network_id)).all()
    return [
        (meeting, org, spec)
        for meeting, network in meetings
        for spec in CATALOGUE.values()
        for org in (
            [o for o, n in organisations if n == network] if spec.per_organisation else [None]
        )
    ]


def _stamps(session: Session, documents: list[Doc], cache: DigestCache | None) -> list[str]:
    return [
        document_stamps(
            session,
            spec,
            meeting_id=meeting,
            organisation_id=org,
            template_sha256="template",
            renderers=["renderer", "pdf"],
            cache=cache,
        )[1]
        for meeting, org, spec in documents
    ]


@pytest.fixture(scope="module")
def sample() -> Iterator[sessionmaker[Session]]:
    """The coverage test's sample: a row in every table a document could read."""
    with sample_database() as sessions:
        with unit_of_work(sessions) as session:
            _add_rows_the_sample_lacks(session)
        yield sessions


def test_a_migrated_database_has_a_revision_trigger_on_every_stamped_table(
    sample: sessionmaker[Session],
) -> None:
    with sample() as session:
        names = set(
            session.scalars(text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"))
        )
        assert names == stamped_tables()
        assert data_revision(session) is not None


@pytest.mark.parametrize("table_name", sorted(stamped_tables()))
def test_every_change_to_a_stamped_row_moves_the_revision_and_the_cache_follows(
    sample: sessionmaker[Session], table_name: str
) -> None:
    table: Table = TABLES[table_name]
    cache = DigestCache()
    with consistent_read(sample) as session:
        documents = _documents(session)
        before = data_revision(session)
        warm = _stamps(session, documents, cache)
        assert warm == _stamps(session, documents, None)
        changes = changes_of(session, table)
    assert before is not None and cache.misses and cache.hits
    tried = 0
    for number, change in enumerate(changes):
        with sample() as session:
            try:
                for statement in change.statements:
                    session.execute(statement)
            except IntegrityError:
                session.rollback()
                continue
            tried += 1
            assert data_revision(session) != before, f"{change.what}: the revision stayed put"
            if number < 2:  # the stamps of every document, from the warm cache and afresh
                # (a cache warm at the last committed revision, as a worker's: a revision
                # number a rolled-back write used comes again with the next write)
                warm_cache = copy.deepcopy(cache)
                assert _stamps(session, documents, warm_cache) == _stamps(session, documents, None)
            session.rollback()
    assert tried


def test_a_revision_of_a_table_without_its_triggers_vouches_for_nothing() -> None:
    """A SQLite migration that copies a table drops its triggers: the cache then stays off."""
    with sample_database() as sessions:
        with sessions() as session:
            assert data_revision(session) is not None
        with sessions() as session:
            session.execute(text("DROP TRIGGER data_revision_participant_update"))
            session.commit()
        with sessions() as session:
            assert data_revision(session) is None


def test_a_change_made_and_undone_between_two_documents_is_seen_on_both_databases(
    sample_imported: Settings,
) -> None:
    """Committed writes (any client, raw SQL too) move the revision; undoing moves it again."""
    engine = make_engine(sample_imported.database_url)
    sessions = make_session_factory(engine)
    try:
        cache = DigestCache()
        with consistent_read(sessions) as session:
            documents = [
                d for d in _documents(session) if d[2].kind == DocumentKind.ORGANISATION_AGENDA
            ]
            assert documents
            first = data_revision(session)
            baseline = _stamps(session, documents, cache)
        with sessions() as session:
            participant = session.scalars(select(m.Participant).limit(1)).one()
            old_name, pid = participant.name, participant.id
        with engine.begin() as connection:
            connection.execute(
                update(m.Participant).where(m.Participant.id == pid).values(name="Ändrad")
            )
        with consistent_read(sessions) as session:
            changed = _stamps(session, documents, cache)
            assert changed == _stamps(session, documents, None)
            middle = data_revision(session)
        assert changed != baseline
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE participant SET name = :n WHERE id = :i"), {"n": old_name, "i": pid}
            )
            connection.execute(delete(m.ScoreSnapshot))  # an unstamped table: no effect
        with consistent_read(sessions) as session:
            assert _stamps(session, documents, cache) == baseline
            last = data_revision(session)
        assert first is not None and middle is not None and last is not None
        assert first[0] == middle[0] == last[0] and first[1] < middle[1] < last[1]
    finally:
        engine.dispose()


def _revision_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT revision FROM data_revision")).scalar_one())


@pytest.mark.parametrize("database_backend", ["postgresql"], indirect=True)
def test_postgresql_writers_do_not_queue_for_the_revision_and_bump_it_once_at_commit(
    sample_imported: Settings,
) -> None:
    """Two transactions writing stamped rows run side by side; each commit moves the revision
    by one, however many rows it wrote; a rollback moves nothing; TRUNCATE bumps too."""
    engine = make_engine(sample_imported.database_url)
    try:
        with make_session_factory(engine)() as session:  # every stamped table has both triggers
            assert data_revision(session) is not None
        with engine.connect() as connection:
            first_id, second_id = connection.scalars(
                select(m.Participant.id).order_by(m.Participant.id).limit(2)
            ).all()
        before = _revision_of(engine)
        with engine.connect() as first, engine.connect() as second:
            first.begin()
            first.execute(
                update(m.Participant).where(m.Participant.id == first_id).values(name="A")
            )
            first.execute(update(m.Score).values(comment="ändrad"))  # many rows, one bump
            second.begin()
            # Waiting for the first writer (the revision row's lock) would fail here.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            second.execute(
                update(m.Participant).where(m.Participant.id == second_id).values(name="B")
            )
            second.commit()
            assert _revision_of(engine) == before + 1
            first.commit()
            assert _revision_of(engine) == before + 2

            first.begin()
            first.execute(update(m.Participant).values(name="C"))
            first.rollback()
            assert _revision_of(engine) == before + 2

            first.begin()  # TRUNCATE has no row triggers: its statement trigger bumps at once
            first.execute(text("TRUNCATE score"))
            assert first.execute(text("SELECT revision FROM data_revision")).scalar_one() == (
                before + 3
            )
            first.rollback()
    finally:
        engine.dispose()
