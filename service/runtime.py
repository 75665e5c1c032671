"""The long-lived parts of a process (engine, sessions, file store, queue), built once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.database.session import make_engine, make_session_factory
from service.settings import Settings
from service.storage.file_store import FileStore, LocalFileStore
from service.task_queue import CeleryDocumentQueue, DocumentQueue


@dataclass
class Runtime:
    """What an entry point (API, worker, CLI) passes to the use cases."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    files: FileStore
    queue: DocumentQueue

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def build_runtime(settings: Settings, *, queue: DocumentQueue | None = None) -> Runtime:
    """Wire the real adapters from settings; a caller may pass its own queue."""
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        files=LocalFileStore(settings.file_store_dir),
        queue=queue if queue is not None else CeleryDocumentQueue(settings),
    )
