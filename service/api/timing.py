"""``Server-Timing`` on every answer: how long the app took, for browser tools and benchmarks.

The time runs from the request's arrival to the start of the response (a streamed download's
body is not counted). ``bench/portal_pages.py`` reads it to tell server time from the network
and the load generator's own waiting.
"""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<milliseconds>`` (plain ASGI: streams pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request until its response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(event: Message) -> None:
            if event["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=event).append("Server-Timing", f"app;dur={elapsed_ms:.1f}")
            await send(event)

        await self.app(scope, receive, send_with_timing)
