"""The sample programme in a private in-memory database: for previews, checks and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.intake.programme_import import import_programme
from service.settings import PROJECT_ROOT

SAMPLE_PROGRAMME = PROJECT_ROOT / "service" / "data" / "sample-programme.json"
SAMPLE_NETWORK_REF = "mkmr_2019_exempel"
SAMPLE_MEETING_REF = "bm2"


@contextmanager
def sample_database(programme: bytes | None = None) -> Iterator[sessionmaker[Session]]:
    """Sessions on a new in-memory SQLite holding the sample (or the given) programme."""
    raw = SAMPLE_PROGRAMME.read_bytes() if programme is None else programme
    engine = make_engine("sqlite://")
    try:
        migrate(engine)
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as session:
            import_programme(session, raw, max_bytes=len(raw))
        yield sessions
    finally:
        engine.dispose()


def find_id(session: Session, model: type[m.Meeting] | type[m.Organisation], ref: str) -> int:
    """The id of the sample's meeting or organisation with this ref."""
    found = session.scalars(select(model.id).where(model.ref == ref)).first()
    if found is None:
        raise LookupError(f"the sample has no {model.__tablename__} {ref!r}")
    return found
