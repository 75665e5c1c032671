"""A second SIGTERM makes the worker's warm shutdown a cold one.

Celery 5 treats SIGTERM as a warm shutdown (running tasks finish; with late acknowledgement,
reserved ones go back to the queue) and ignores a second SIGTERM. A supervisor that sends
SIGTERM twice means "now": the second one starts Celery's cold shutdown (running tasks are
cancelled and, unacknowledged, go back to the queue), as a second Ctrl+C does.
"""

from __future__ import annotations

from typing import Any

from celery import signals


class SecondTermIsCold:
    """Holds the worker (from ``worker_init``) to re-arm SIGTERM once a warm shutdown began."""

    def __init__(self) -> None:
        self.worker: Any = None

    def connect(self) -> None:
        """Connect the handlers (strongly: they live as long as the app)."""
        signals.worker_init.connect(self.worker_init, weak=False)
        signals.worker_shutting_down.connect(self.worker_shutting_down, weak=False)

    def worker_init(self, sender: Any = None, **_: Any) -> None:
        """Remember the worker controller the shutdown handlers act on."""
        self.worker = sender

    def worker_shutting_down(self, how: str = "Warm", sig: str = "SIGTERM", **_: Any) -> None:
        """In the signal handler of a warm shutdown by SIGTERM: the next SIGTERM is cold."""
        if how != "Warm" or sig not in ("SIGTERM", "TERM") or self.worker is None:
            return
        from celery.apps.worker import install_worker_term_hard_handler

        install_worker_term_hard_handler(self.worker, sig="SIGTERM")
