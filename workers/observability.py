"""What a worker and beat show an operator: logging, log ids per task, probes and metrics.

Connected to Celery's signals by ``workers.celery_app``:

- ``setup_logging`` (worker and beat): benchdocs' own logging instead of Celery's;
- ``worker_init`` (main process, before the pool forks): the metrics directory, emptied;
- ``worker_ready`` / ``worker_shutdown``: the probe server on ``worker_probe_port``, if set;
  from ``worker_shutting_down`` on, its ``/readyz`` answers 503 (``worker``: shutting down);
- ``task_prerun`` / ``task_postrun`` (pool processes): the task's, document's or message's id
  on every log line the task writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from celery import signals
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from service.database.session import normalise_database_url
from service.observability.log_context import clear_ids, set_ids
from service.observability.logs import configure_logging
from service.observability.metrics import exposition, use_multiprocess_dir
from service.observability.probe_server import ProbeServer
from service.observability.readiness import (
    ComponentCheck,
    ReadinessChecker,
    broker_client,
    secret_words,
    standard_checker,
)
from service.settings import Settings
from service.storage.file_store import LocalFileStore
from service.task_queue import RENDER_TASK, SEND_MESSAGE_TASK

log = logging.getLogger(__name__)

# Which argument of a task names what it works on, for the log.
_TASK_SUBJECTS = {RENDER_TASK: "document_id", SEND_MESSAGE_TASK: "message_id"}


class ShuttingDownError(Exception):
    """The worker was told to stop: it finishes what it runs and takes nothing new."""


def worker_checker(
    settings: Settings, *, consuming: Callable[[], None]
) -> tuple[ReadinessChecker, redis.Redis]:
    """Readiness checks for a worker's main process, which forks the pool.

    The database check opens a fresh connection each time (no pool), so no connection of the
    parent's is ever inherited by a pool process. ``consuming`` raises once the worker stops.
    """
    broker = broker_client(settings.redis_url, timeout_seconds=settings.readiness_timeout_seconds)
    checker = standard_checker(
        engine=create_engine(normalise_database_url(settings.database_url), poolclass=NullPool),
        files=LocalFileStore(settings.file_store_dir),
        broker=broker,
        timeout_seconds=settings.readiness_timeout_seconds,
        secrets=secret_words(settings.database_url, settings.redis_url),
        store_min_free_bytes=settings.store_min_free_bytes,
        extra=[ComponentCheck("worker", consuming)],
    )
    return checker, broker


class WorkerObservability:
    """The signal handlers of one Celery app, holding the probe server while it runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.probes: ProbeServer | None = None
        self.shutting_down: str | None = None

    def connect(self) -> None:
        """Connect every handler (strongly: they live as long as the app)."""
        signals.setup_logging.connect(self.setup_logging, weak=False)
        signals.worker_init.connect(self.worker_init, weak=False)
        signals.worker_ready.connect(self.worker_ready, weak=False)
        signals.worker_shutting_down.connect(self.worker_shutting_down, weak=False)
        signals.worker_shutdown.connect(self.worker_shutdown, weak=False)
        signals.task_prerun.connect(self.task_prerun, weak=False)
        signals.task_postrun.connect(self.task_postrun, weak=False)

    def setup_logging(self, **_: Any) -> None:
        """Logging as configured (a receiver here stops Celery configuring its own)."""
        configure_logging(log_format=self.settings.log_format, level=self.settings.log_level)

    def worker_init(self, **_: Any) -> None:
        """Before the pool forks: pool processes write their samples to a fresh directory."""
        if self.settings.metrics_dir is not None:
            use_multiprocess_dir(self.settings.metrics_dir)
        elif self.settings.worker_probe_port is not None:
            log.warning(
                "BENCHDOCS_METRICS_DIR is not set: /metrics shows only the worker's main "
                "process, not the pool processes that do the work"
            )

    def worker_ready(self, **_: Any) -> None:
        """Serve /healthz, /readyz and /metrics once the worker consumes."""
        port = self.settings.worker_probe_port
        if port is None:
            return
        checker, _broker = worker_checker(self.settings, consuming=self.consuming)
        metrics_dir = self.settings.metrics_dir
        try:
            server = ProbeServer(
                host=self.settings.worker_probe_host,
                port=port,
                checker=checker,
                metrics=lambda: exposition(multiprocess_dir=metrics_dir),
            )
        except OSError as exc:
            # The worker still works; its probes fail, which is how an operator notices.
            log.error(
                "probes not served on %s:%d (BENCHDOCS_WORKER_PROBE_PORT): %s",
                self.settings.worker_probe_host,
                port,
                exc,
            )
            return
        self.probes = server.start()

    def consuming(self) -> None:
        """Raise once the worker was told to stop (its probe then answers 503)."""
        if self.shutting_down is not None:
            raise ShuttingDownError(self.shutting_down)

    def worker_shutting_down(self, how: str = "Warm", sig: str = "TERM", **_: Any) -> None:
        """Told to stop (in a signal handler: only a flag is set)."""
        self.shutting_down = f"{how.lower()} shutdown ({sig}): finishing running tasks"

    def worker_shutdown(self, **_: Any) -> None:
        """Stop serving probes (after the running tasks finished: a warm shutdown)."""
        if self.probes is not None:
            self.probes.stop()
            self.probes = None

    def task_prerun(
        self, task_id: str | None = None, task: Any = None, args: Any = None, **_: Any
    ) -> None:
        """The task's ids on every line it logs."""
        clear_ids()
        subject = _TASK_SUBJECTS.get(getattr(task, "name", ""))
        ids: dict[str, str | int | None] = {"task_id": task_id}
        if subject is not None and args and isinstance(args[0], int):
            ids[subject] = args[0]
        set_ids(**ids)

    def task_postrun(self, **_: Any) -> None:
        """Forget the finished task's ids."""
        clear_ids()
