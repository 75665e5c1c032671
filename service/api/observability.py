"""The API's probes and metrics (``/healthz``, ``/readyz``, ``/metrics``) and its request ids.

The probes need no API key and say nothing secret: a component's reason is its error's first
line with credentials cut out. ``/metrics`` is meant for the operator's network (like the
probes it is unauthenticated; restrict it at the proxy).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import __version__
from service.observability.collectors import queue_names, state_registry
from service.observability.log_context import reset_ids, set_ids
from service.observability.metrics import CONTENT_TYPE, exposition
from service.observability.readiness import broker_client, secret_words, standard_checker
from service.runtime import Runtime

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is short and plain; anything else is replaced, never echoed.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

router = APIRouter(tags=["meta"])


class RequestIdMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` if sane), logs it, returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the id for the request's log lines and add it to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
        text = given.decode("latin-1")
        request_id = text if _ACCEPTABLE_REQUEST_ID.fullmatch(text) else uuid.uuid4().hex

        async def send_with_id(event: Message) -> None:
            if event["type"] == "http.response.start":
                MutableHeaders(scope=event)[REQUEST_ID_HEADER] = request_id
            await send(event)

        tokens = set_ids(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_ids(tokens)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers; nothing else is touched."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", responses={503: {"description": "A component named in the body failed"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: database, broker and file store each checked, with a short timeout."""
    readiness = request.app.state.readiness.check()
    return JSONResponse(readiness.to_json(), status_code=200 if readiness.ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text: this process's samples and the database's and broker's figures."""
    runtime: Runtime = request.app.state.runtime
    body = exposition(
        multiprocess_dir=runtime.settings.metrics_dir, extra=request.app.state.state_metrics
    )
    return Response(body, media_type=CONTENT_TYPE)


def install_observability(app: FastAPI, runtime: Runtime) -> Callable[[], None]:
    """Add the probes, the metrics and the request-id middleware; returns what releases them."""
    settings = runtime.settings
    broker = broker_client(settings.redis_url, timeout_seconds=settings.readiness_timeout_seconds)
    app.state.readiness = standard_checker(
        engine=runtime.engine,
        files=runtime.files,
        broker=broker,
        timeout_seconds=settings.readiness_timeout_seconds,
        secrets=secret_words(settings.database_url, settings.redis_url),
        store_min_free_bytes=settings.store_min_free_bytes,
    )
    app.state.state_metrics = state_registry(
        sessions=runtime.sessions, broker=broker, queues=queue_names(settings)
    )
    app.include_router(router)
    app.add_middleware(RequestIdMiddleware)
    return broker.close
