"""``benchdocs serve``'s protocol answers without Nagle's delay on every accepted connection."""

from __future__ import annotations

import asyncio
import gc
import socket

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from service.api import serving
from service.api.serving import HeaderTimeoutH11Protocol


async def _app(scope: object, receive: object, send: object) -> None:
    """Never called: the test only opens a connection."""


def test_connections_of_a_listening_socket_bound_as_uvicorn_workers_bind_it_have_nodelay() -> None:
    """With several workers uvicorn binds ``socket.socket(AF_INET)`` (proto 0), on whose
    connections asyncio leaves Nagle on: small answers then waited 40 ms for a delayed ACK."""

    async def scenario() -> int:
        config = Config(_app, lifespan="off")
        config.load()
        loop = asyncio.get_running_loop()
        listener = socket.socket(socket.AF_INET)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        protocols: list[HeaderTimeoutH11Protocol] = []

        def make() -> HeaderTimeoutH11Protocol:
            protocols.append(HeaderTimeoutH11Protocol(config, ServerState(), {}, loop))
            return protocols[-1]

        server = await loop.create_server(make, sock=listener)
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        while not protocols:
            await asyncio.sleep(0.01)
        accepted = protocols[0].transport.get_extra_info("socket")
        no_delay = int(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        server.close()
        await server.wait_closed()
        return no_delay

    assert asyncio.run(scenario()) == 1


def test_each_api_process_freezes_what_it_built_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full collections then skip the process's lifelong objects (they paused it 150 ms)."""
    built = object()
    monkeypatch.setattr(serving, "build_runtime", lambda settings: "runtime")
    monkeypatch.setattr(serving, "create_app", lambda runtime: built)
    monkeypatch.setattr(serving, "configure_logging", lambda **kwargs: None)
    gc.unfreeze()
    try:
        assert serving.app_from_environment() is built
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
