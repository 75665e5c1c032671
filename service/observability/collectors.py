"""Figures read at scrape time: documents by kind, format and state, and each queue's depth.

The database and the broker hold the truth, so a scrape asks them (one GROUP BY, one LLEN per
queue) rather than keeping counters that a restart would lose or two API processes would
count twice. A component that does not answer leaves its figures out of that scrape (and
the log says why); the rest of the scrape still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import redis
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.database import models as m
from service.settings import Settings
from service.task_queue import celery_config

log = logging.getLogger(__name__)


class DocumentsCollector(Collector):
    """``benchdocs_documents{kind,format,state}``: generated-document rows, counted now."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One GROUP BY over the documents."""
        family = GaugeMetricFamily(
            "benchdocs_documents",
            "Generated documents (every version) by kind, format and state.",
            labels=["kind", "format", "state"],
        )
        doc = m.GeneratedDocument
        try:
            with self._sessions() as session:
                rows = session.execute(
                    select(doc.kind, doc.format, doc.status, func.count()).group_by(
                        doc.kind, doc.format, doc.status
                    )
                ).all()
        except SQLAlchemyError as exc:
            log.warning("metrics: documents not counted, the database did not answer: %s", exc)
            return
        for kind, file_format, state, count in rows:
            family.add_metric([str(kind), str(file_format), str(state)], count)
        yield family


class QueueDepthCollector(Collector):
    """``benchdocs_queue_depth{queue}``: tasks waiting in each Celery queue (Redis LLEN)."""

    def __init__(self, client: redis.Redis, queues: Sequence[str]) -> None:
        self._client = client
        self._queues = list(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One LLEN per queue, in one round trip."""
        family = GaugeMetricFamily(
            "benchdocs_queue_depth",
            "Tasks waiting in each Celery queue (not counting those a worker holds).",
            labels=["queue"],
        )
        try:
            pipeline = self._client.pipeline(transaction=False)
            for queue in self._queues:
                pipeline.llen(queue)
            depths = pipeline.execute()
        except redis.RedisError as exc:
            log.warning("metrics: queue depths not read, the broker did not answer: %s", exc)
            return
        for queue, depth in zip(self._queues, depths, strict=True):
            family.add_metric([queue], depth)
        yield family


def queue_names(settings: Settings) -> list[str]:
    """Every queue the workers consume, as configured (a queue added there appears here too)."""
    return [queue.name for queue in celery_config(settings)["task_queues"]]


def state_registry(
    *, sessions: sessionmaker[Session], broker: redis.Redis, queues: Sequence[str]
) -> CollectorRegistry:
    """A registry of the scrape-time collectors (kept apart from the process's own samples)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DocumentsCollector(sessions))
    registry.register(QueueDepthCollector(broker, queues))
    return registry
