"""Engine and session factory; one engine per process, sessions per unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL advisory lock held by whoever migrates: processes on several hosts start at once
# (the API and every worker migrate on start); one migrates, the others wait, then find the
# schema current instead of failing on tables the first one just made. Any fixed number will
# do, as long as nothing else in the database uses it.
MIGRATION_LOCK_KEY = 0x62656E6368  # "bench"


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` form and use the psycopg 3 driver for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True)
class PoolSize:
    """A process's database connections: kept open, extra under load, wait for one (s)."""

    size: int = 10
    max_overflow: int = 10
    timeout_seconds: float = 30.0


def make_engine(database_url: str, pool: PoolSize | None = None) -> Engine:
    """Create the process's engine; SQLite gets settings that let several processes share it.

    ``pool`` sizes the connection pool (settings ``database_pool_*``): the API's thread pool
    runs up to 40 requests at once per process, and each holds a connection for its
    transaction; SQLAlchemy's default (5 + 10) made requests queue for connections.
    """
    pool = pool or PoolSize()
    sizing: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout_seconds,
    }
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **sizing)
    in_memory = not url.database or url.database == ":memory:"
    if not in_memory:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    # An in-memory database lives in one connection (a singleton pool, no sizes).
    engine = create_engine(url, connect_args={"timeout": 30}, **({} if in_memory else sizing))

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # Worker processes and the API write to one file: WAL lets readers and one writer
        # proceed together, and busy_timeout makes a second writer wait instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


# The key of ``Session.info`` under which documents find the participant address (settings).
PARTICIPANT_URL = "benchdocs.participant_url"


def make_session_factory(
    engine: Engine, *, participant_url: str | None = None
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    ``participant_url`` travels in each session's ``info``: every path that loads a document's
    facts (render, change detection, planning) reads it there, so they agree on the context.
    """
    return sessionmaker(engine, expire_on_commit=False, info={PARTICIPANT_URL: participant_url})


def participant_url(session: Session) -> str | None:
    """The address participants reach benchdocs at, as the session factory was given it."""
    value = session.info.get(PARTICIPANT_URL)
    return value if isinstance(value, str) and value else None


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest migration (idempotent), or up to ``revision``."""
    _run_migrations(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to ``revision`` (``base``: no tables); dropped data is lost."""
    _run_migrations(engine, command.downgrade, revision)


def _run_migrations(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Alembic's batch mode changes a SQLite table by copying it and dropping the old
            # one; with foreign keys on, that drop deletes every row referring to it (ON DELETE
            # CASCADE): upgrading would empty generated_document. The pragma works only
            # outside a transaction, and the pooled connection must get it back on.
            _set_sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Released with the transaction, so a process that dies lets the next go.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                config.attributes["connection"] = connection
                step(config, revision)
                if sqlite:
                    _require_no_dangling_references(connection)
        finally:
            if sqlite:
                _set_sqlite_foreign_keys(connection, on=True)


def _set_sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _require_no_dangling_references(connection: Connection) -> None:
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if dangling:
        raise RuntimeError(
            f"the migration left {len(dangling)} row(s) referring to rows that do not exist, "
            f"e.g. {[tuple(row) for row in dangling[:5]]}"
        )
