"""A TCP forwarder: ``python -m tests.integration.multihost.forwarder LISTEN TARGET``.

The machine's PostgreSQL listens on 127.0.0.1 only, which a network namespace cannot reach;
this forwards the segment's address to it, byte for byte, in both directions, one upstream
connection per client connection. It prints ``listening`` once it accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

CHUNK_BYTES = 64 * 1024


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK_BYTES):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        # One side ended: end the other, so neither end waits on a dead peer forever.
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*target)
        except OSError:
            client.close()
            return
        await asyncio.gather(_pump(client_reader, upstream), _pump(upstream_reader, client))

    server = await asyncio.start_server(handle, *listen)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    listen, target = (_address(arg) for arg in sys.argv[1:3])
    asyncio.run(_serve(listen, target))


if __name__ == "__main__":
    main()
