"""The Celery application (``celery -A workers.celery_app worker``)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from service.generation.queue import RESEND_TASK, celery_config
from service.settings import Settings, get_settings


def create_celery_app(settings: Settings) -> Celery:
    """A configured app with the periodic re-send of stray documents."""
    app = Celery("benchdocs", include=["workers.tasks"])
    app.conf.update(celery_config(settings))
    app.conf.beat_schedule = {
        "resend-stale-documents": {
            "task": RESEND_TASK,
            "schedule": max(30.0, settings.resend_after_seconds / 2),
        },
    }
    return app


app = create_celery_app(get_settings())


@worker_process_init.connect
def _fresh_process_state(**_: Any) -> None:
    # Database connections must not cross a fork: each pool child builds its own.
    from workers import tasks

    tasks.reset_process_state()


@worker_process_shutdown.connect
def _release_process_state(**_: Any) -> None:
    from workers import tasks

    tasks.close_process_state()
