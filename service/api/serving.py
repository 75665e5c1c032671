"""The API served the production way: several processes, bounded connections, slow clients cut.

``benchdocs serve`` hands uvicorn an import string (``app_from_environment``), so each worker
process builds its own app, runtime and database pool from the environment's settings.
uvicorn's supervisor forwards SIGTERM/SIGINT to the processes and waits for them (a graceful
stop: requests in flight finish, within ``api_graceful_shutdown_seconds``); each worker also
asks the kernel for SIGTERM should its parent die without that, so no process outlives it.

uvicorn has no limit on how long a client may take to send a request's headers: a client
sending one byte now and then keeps its connection, and enough of them fill the connection cap.
``HeaderTimeoutH11Protocol`` closes a connection whose headers are not complete in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import socket
import sys
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.api.app import create_app
from service.observability.logs import configure_logging
from service.runtime import build_runtime
from service.settings import get_settings

# Linux's prctl option that sends a signal to this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent process dies (elsewhere: nothing to do)."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died before the call: then nobody would send the signal.
    if os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)


def freeze_startup_objects() -> None:
    """Move every object alive now (modules, mappers, schemas, templates) out of the GC's reach.

    They live as long as the process, yet each full collection walked them all again: under
    20 concurrent clients a worker paused 150-180 ms every few seconds (every call it held
    waited), and those pauses were the API's slowest answers. Frozen, a full collection
    walks only what requests made since, and took 11-25 ms.
    """
    gc.collect()
    gc.freeze()


def app_from_environment() -> FastAPI:
    """One worker process's app: settings from the environment, logging, runtime, app."""
    if multiprocessing.parent_process() is not None:  # one of uvicorn's worker processes
        die_with_parent()
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    app = create_app(build_runtime(settings))
    freeze_startup_objects()
    return app


def set_no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on a TCP connection.

    asyncio does it only for sockets whose ``proto`` is IPPROTO_TCP; with several workers
    uvicorn binds the listening socket as ``socket.socket(AF_INET)`` (proto 0), so accepted
    connections kept Nagle on. An answer is written as headers then body: the body waited for
    the client's delayed ACK, 40 ms on every small answer (measured: ``GET /me`` 48 ms → 4 ms).
    """
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # the connection is already gone
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers come too slowly.

    The clock starts when a connection opens or, on a kept-alive one, when the next request's
    first bytes arrive; it stops once the headers are parsed (the body's pace is the reverse
    proxy's business, and the app's upload size limit's).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read here, not passed: uvicorn names the class by an import string in each process.
        self.header_timeout_seconds = get_settings().api_header_timeout_seconds
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Answer without Nagle's delay; start the clock for the first request's headers."""
        set_no_delay(transport)
        super().connection_made(transport)
        self._start_header_clock()

    def data_received(self, data: bytes) -> None:
        """Between requests, the first bytes of the next one start the clock again."""
        if self._header_timer is None and self._between_requests():
            self._start_header_clock()
        super().data_received(data)
        if not self._between_requests():
            self._stop_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        """No clock outlives its connection."""
        self._stop_header_clock()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _start_header_clock(self) -> None:
        self._stop_header_clock()
        self._header_timer = self.loop.call_later(
            self.header_timeout_seconds, self._headers_too_slow
        )

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took too long")
            self.transport.close()


# How uvicorn finds the protocol in every worker process.
HEADER_TIMEOUT_PROTOCOL = f"{__name__}:HeaderTimeoutH11Protocol"
