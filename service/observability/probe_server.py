"""A small HTTP server for a process that has no web app (a Celery worker's main process).

``/healthz`` answers while the process runs, ``/readyz`` runs the readiness checks (200 or 503
with the failing components named) and ``/metrics`` the Prometheus text. It runs in a daemon
thread and serves one request per thread, so a slow check never blocks a liveness probe.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from service.observability.metrics import CONTENT_TYPE
from service.observability.readiness import ReadinessChecker

log = logging.getLogger(__name__)


class ProbeServer:
    """Serves the three probes on ``host:port`` until ``stop``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        checker: ReadinessChecker,
        metrics: Callable[[], bytes],
    ) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "benchdocs-probe"
            sys_version = ""

            def do_GET(self) -> None:
                server.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("probe %s", format % args)

        self._checker = checker
        self._metrics = metrics
        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="probe-server", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (useful when started on port 0)."""
        return int(self._http.server_address[1])

    def start(self) -> ProbeServer:
        """Start serving in the background."""
        self._thread.start()
        log.info("probes served on port %d: /healthz /readyz /metrics", self.port)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._http.shutdown()
        self._http.server_close()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one GET by its path (query strings are ignored)."""
        path = urlsplit(request.path).path
        if path == "/healthz":
            self._send(request, HTTPStatus.OK, _json({"status": "ok"}), "application/json")
        elif path == "/readyz":
            readiness = self._checker.check()
            status = HTTPStatus.OK if readiness.ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(request, status, _json(readiness.to_json()), "application/json")
        elif path == "/metrics":
            self._send(request, HTTPStatus.OK, self._metrics(), CONTENT_TYPE)
        else:
            self._send(
                request, HTTPStatus.NOT_FOUND, _json({"detail": "not found"}), "application/json"
            )

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: HTTPStatus, body: bytes, content_type: str
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(body)


def _json(body: object) -> bytes:
    return json.dumps(body).encode()
