"""The tests' databases: a state is built once, and every copy of it is a database of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, update

from service.database import models as m
from service.database.session import make_engine
from service.settings import Settings
from tests.conftest import Databases

pytestmark = pytest.mark.integration


def organisation_names(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        names = list(connection.scalars(select(m.Organisation.name).order_by(m.Organisation.id)))
    engine.dispose()
    return names


def rename_every_organisation(url: str, name: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(update(m.Organisation).values(name=name))
    engine.dispose()


def test_a_write_to_one_copy_is_seen_by_no_other_copy_nor_by_the_state(
    databases: Databases, database_backend: str, tmp_path: Path
) -> None:
    state = databases.sample(database_backend)
    first = databases.create(database_backend, tmp_path / "first", start=state)
    second = databases.create(database_backend, tmp_path / "second", start=state)
    original = organisation_names(first)

    rename_every_organisation(first, "Skrivet av ett annat test")
    third = databases.create(database_backend, tmp_path / "third", start=state)

    assert len(original) == 8
    assert set(organisation_names(first)) == {"Skrivet av ett annat test"}
    assert organisation_names(second) == original
    assert organisation_names(third) == original
    for url in (first, second, third):
        databases.drop(url)


def test_a_state_is_built_once_and_each_copy_starts_from_it(
    databases: Databases, database_backend: str, tmp_path: Path
) -> None:
    builds: list[str] = []

    def build(settings: Settings) -> str:
        builds.append(settings.database_url)
        rename_every_organisation(settings.database_url, "Byggd en gång")
        (settings.file_store_dir / "built.txt").write_text("en gång")
        return "built"

    start = databases.sample(database_backend)
    states = [
        databases.state(database_backend, f"{__name__}: renamed", build, start=start)
        for _ in range(2)
    ]
    copy = databases.create(database_backend, tmp_path / "copy", start=states[0])

    assert states[0] is states[1]
    assert len(builds) == 1
    assert states[0].value == "built"
    assert states[0].lineage == ("migrated", "sample", f"{__name__}: renamed")
    assert set(organisation_names(copy)) == {"Byggd en gång"}
    assert (states[0].files / "built.txt").read_text() == "en gång"
    unrenamed = databases.create(database_backend, tmp_path / "unrenamed", start=start)
    assert "Byggd en gång" not in organisation_names(unrenamed)
    for url in (copy, unrenamed):
        databases.drop(url)


def test_an_empty_database_is_empty(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    engine.dispose()

    assert tables == []


def test_a_migrated_database_has_the_schema_and_no_rows(migrated: Settings) -> None:
    engine = make_engine(migrated.database_url)
    with engine.connect() as connection:
        organisations = connection.scalar(select(func.count()).select_from(m.Organisation))
    engine.dispose()

    assert organisations == 0
