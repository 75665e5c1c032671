"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.database.models import Base
from service.database.session import make_engine, migrate
from service.settings import Settings


def test_migrations_match_the_models_and_run_twice(settings: Settings) -> None:
    engine = make_engine(settings.database_url)

    migrate(engine)
    migrate(engine)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
