"""The migrations build exactly the schema the models describe, go down and up again, and
carry a database holding the sample programme from every earlier revision to the newest one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select, text

from service.database import models as m
from service.database.models import Base, DocumentKind
from service.database.session import (
    MIGRATIONS_DIR,
    downgrade,
    make_engine,
    migrate,
    unit_of_work,
)
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.runtime import build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue
from tests.integration.test_access import render_batch

pytestmark = pytest.mark.integration

Rows = dict[str, list[dict[str, Any]]]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]
HEAD, EARLIER = REVISIONS[-1], REVISIONS[:-1]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def all_rows(engine: Engine) -> Rows:
    """Every row of every table as the database has it now, in primary-key order."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as connection:
        return {
            name: [
                dict(row._mapping)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }


def columns_of(engine: Engine) -> dict[str, set[str]]:
    """The tables the schema has now and their columns."""
    found = inspect(engine)
    return {
        table: {column["name"] for column in found.get_columns(table)}
        for table in found.get_table_names()
        if table != "alembic_version"
    }


def restricted(rows: Rows, columns: dict[str, set[str]]) -> Rows:
    """``rows`` with only these tables and columns."""
    return {
        table: [{k: v for k, v in row.items() if k in names} for row in rows[table]]
        for table, names in columns.items()
    }


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings.database_url)
    yield built
    built.dispose()


def import_sample(settings: Settings) -> None:
    runtime = build_runtime(settings, queue=RecordingQueue())
    with unit_of_work(runtime.sessions) as session:
        import_programme(session, SAMPLE_PROGRAMME.read_bytes(), max_bytes=10_000_000)
    runtime.close()


def sample_with_decks(settings: Settings) -> list[int]:
    """The sample imported and a deck rendered for every organisation of its second meeting."""
    import_sample(settings)
    runtime = build_runtime(settings, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        organisation_ids = list(session.scalars(select(m.Organisation.id)))
    documents = render_batch(
        runtime, meeting_id=meeting_id, kinds=[DocumentKind.DECK], organisation_ids=organisation_ids
    )
    runtime.close()
    return documents


def test_migrations_match_the_models_and_run_twice(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)

    assert schema_differences(engine) == []
    assert current_revision(engine) == HEAD
    if engine.dialect.name == "sqlite":  # migrations turn them off for a while: back on?
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_revisions_form_one_line_from_the_first_to_the_head() -> None:
    assert REVISIONS == [
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
        "0006",
        "0007_leases",
        "0008_stamps",
        "0009_revision_at_commit",
    ]


def test_down_to_nothing_and_up_again_with_the_sample_in_it(
    engine: Engine, settings: Settings
) -> None:
    migrate(engine)
    sample_with_decks(settings)

    downgrade(engine, "base")

    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert current_revision(engine) is None
    migrate(engine)
    assert schema_differences(engine) == []
    assert all_rows(engine) == {table: [] for table in Base.metadata.tables}
    import_sample(settings)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM organisation")) == 8


def test_each_revision_goes_down_one_step_and_up_again(engine: Engine) -> None:
    migrate(engine)

    for revision in reversed(REVISIONS):
        downgrade(engine, "-1")
        assert current_revision(engine) == (
            REVISIONS[REVISIONS.index(revision) - 1] if revision != REVISIONS[0] else None
        )
        migrate(engine, revision)
        assert current_revision(engine) == revision
        downgrade(engine, "-1")

    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(engine)
    assert schema_differences(engine) == []


@pytest.mark.parametrize("revision", EARLIER)
def test_a_database_holding_the_sample_upgrades_from_an_earlier_revision_intact(
    engine: Engine, settings: Settings, revision: str
) -> None:
    migrate(engine)
    documents = sample_with_decks(settings)
    at_head = all_rows(engine)
    downgrade(engine, revision)
    at_revision, schema_at_revision = all_rows(engine), columns_of(engine)
    assert at_revision == restricted(at_head, schema_at_revision)
    assert len(at_revision["generated_document"]) == len(documents) == 8

    migrate(engine)

    assert current_revision(engine) == HEAD
    assert schema_differences(engine) == []
    upgraded = all_rows(engine)
    assert restricted(upgraded, schema_at_revision) == at_revision
    assert {row["format"] for row in upgraded["generated_document"]} == {"pptx"}
    assert {row["origin"] for row in upgraded["batch"]} == {"organiser"}
    # Still usable: the next batch renders every deck again from the upgraded data.
    runtime = build_runtime(settings, queue=RecordingQueue())
    with runtime.sessions() as session:
        meeting_id = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
    again = render_batch(
        runtime,
        meeting_id=meeting_id,
        kinds=[DocumentKind.DECK],
        organisation_ids=[r["id"] for r in upgraded["organisation"]],
    )
    runtime.close()
    assert len(again) == 8
