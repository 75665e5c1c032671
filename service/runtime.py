"""The long-lived parts of a process (database, files, queue, templates, clock), built once.

Only entry points (API, CLI, workers) hold a Runtime; they hand its parts to the use cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.batches.template_library import TemplateLibrary
from service.batches.template_snapshots import bind_library
from service.clock import Clock, SystemClock
from service.database.session import PoolSize, make_engine, make_session_factory
from service.settings import Settings
from service.storage.configured import open_file_store
from service.storage.file_store import FileStore
from service.task_queue import CeleryDocumentQueue, WorkQueue


@dataclass
class Runtime:
    """What an entry point (API, worker, CLI) passes to the use cases."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    files: FileStore
    queue: WorkQueue
    templates: TemplateLibrary
    clock: Clock = field(default_factory=SystemClock)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def build_runtime(settings: Settings, *, queue: WorkQueue | None = None) -> Runtime:
    """Wire the real adapters from settings; a caller may pass its own queue."""
    pool = PoolSize(
        size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout_seconds=settings.database_pool_timeout_seconds,
    )
    engine = make_engine(settings.database_url, pool)
    files = open_file_store(settings)
    sessions = make_session_factory(engine, participant_url=settings.participant_url)
    templates = TemplateLibrary(settings.templates_dir, files=files)
    bind_library(sessions, templates)  # batches created here snapshot their templates
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        files=files,
        queue=queue if queue is not None else CeleryDocumentQueue(settings),
        templates=templates,
    )
