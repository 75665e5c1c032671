"""Several hosts start at once on a new PostgreSQL database: one migrates, the others wait.

The API and every worker migrate on start (``benchdocs serve``, ``benchdocs worker``); on
separate hosts nothing orders their starts. Each process here is released at the same moment.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from service.database.session import make_engine
from service.settings import PROJECT_ROOT
from tests.conftest import CHILD_TIMEOUT, Databases
from tests.integration.test_migrations import alembic_config

pytestmark = pytest.mark.integration

PROCESSES = 4
MIGRATE_WHEN_RELEASED = """
import sys, time
from pathlib import Path
from service.database.session import make_engine, migrate
engine = make_engine(sys.argv[1])
release = Path(sys.argv[2])
while not release.exists():
    time.sleep(0.01)
migrate(engine)
engine.dispose()
"""


@pytest.fixture
def empty_postgres(databases: Databases, tmp_path: Path) -> Iterator[str]:
    url = databases.create("postgresql", tmp_path / "empty")
    try:
        yield url
    finally:
        databases.drop(url)


def test_processes_migrating_a_new_database_at_once_all_start(
    empty_postgres: str, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_WHEN_RELEASED, empty_postgres, str(release)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(3)  # every interpreter has imported benchdocs and waits

    release.touch()
    outcomes = [process.communicate(timeout=CHILD_TIMEOUT) for process in starting]

    failed = [out for (out, _), p in zip(outcomes, starting, strict=True) if p.returncode != 0]
    assert not failed, failed[0][-2000:]
    engine = make_engine(empty_postgres)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert versions == [head]
