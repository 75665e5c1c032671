"""A real SMTP server on 127.0.0.1 (aiosmtpd), recording what it accepted, scriptable per test.

Each test can make it answer 421 for the next N deliveries, refuse with a 550, or hold the next
delivery at DATA until released. A held delivery whose client has gone by then (the worker was
killed) is dropped, as a real server drops a message it never acknowledged.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from service.cli.local_cluster import free_port


@dataclass(frozen=True)
class Received:
    """One message the server accepted: its envelope and the message parsed back."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    tls: bool  # the conversation had switched to TLS (STARTTLS) before DATA

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def header(self, name: str) -> str | None:
        """A header's value; one folded onto its own line (valid RFC 5322) keeps no space."""
        value = self.message[name]
        return None if value is None else str(value).strip()

    def part(self, content_type: str) -> EmailMessage:
        """The first part of this type (``text/plain``, ``text/calendar``, ...)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part  # type: ignore[return-value]  # walk() yields EmailMessage here
        raise AssertionError(f"no {content_type} part in {self.message_id}")

    def text(self, content_type: str = "text/plain") -> str:
        """A text part's content, with the lines ended as Python ends them."""
        content: str = self.part(content_type).get_content()
        return content.replace("\r\n", "\n")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self._server._data(server, session, envelope)


class SmtpServer:
    """The server and what it saw; the script methods change how it answers from now on."""

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[Received] = []
        self.dropped: list[bytes] = []  # held at DATA, client gone before the answer
        self.data_commands = 0  # every DATA that reached the end, answered any way
        self._lock = threading.Lock()
        self._defer_left = 0
        self._defer_answer = ""
        self._refusal: str | None = None
        self._stall_next = False
        self.stalled = threading.Event()  # set when a delivery is being held
        self._released = threading.Event()
        self._tls_context = tls_context
        self._credentials = credentials
        self._implicit_tls = implicit_tls  # TLS from the first byte (port 465), not STARTTLS
        self._controller: Controller | None = None

    # -- the script ------------------------------------------------------------------------

    def defer(
        self, count: int, answer: str = "421 4.3.2 Tjänsten är tillfälligt otillgänglig"
    ) -> None:
        """Answer the next ``count`` deliveries with a 4xx, then accept again."""
        with self._lock:
            self._defer_left = count
            self._defer_answer = answer

    def refuse(self, answer: str | None) -> None:
        """Answer every delivery with this 5xx from now on (None: accept again)."""
        with self._lock:
            self._refusal = answer

    def stall_next(self) -> None:
        """Hold the next delivery at DATA until ``release``."""
        with self._lock:
            self._stall_next = True
            self.stalled.clear()
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    # -- what the test reads --------------------------------------------------------------

    def with_message_id(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message_id == message_id]

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        """Wait until at least ``count`` messages were accepted; all of them."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the SMTP server accepted {len(self.received)} of {count} messages "
                    f"in {timeout:g} s"
                )
            time.sleep(0.02)
        return list(self.received)

    # -- the server's side -----------------------------------------------------------------

    async def _data(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.data_commands += 1
            if self._defer_left > 0:
                self._defer_left -= 1
                return self._defer_answer
            if self._refusal is not None:
                return self._refusal
            stall, self._stall_next = self._stall_next, False
        content = bytes(envelope.original_content or envelope.content)
        if stall:
            self.stalled.set()
            try:
                while not self._released.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                # aiosmtpd cancels the conversation when the client's connection ends.
                self.dropped.append(content)
                raise
            if server.transport is None or server.transport.is_closing():
                self.dropped.append(content)
                return "421 4.4.2 Anslutningen bröts"
        if envelope.smtp_utf8:
            # RFC 6532: headers in UTF-8, which the bytes parser would leave as surrogates.
            parsed = email.message_from_string(content.decode("utf-8"), policy=email.policy.default)
        else:
            parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=content,
            message=parsed,
            tls=session.ssl is not None or self._implicit_tls,
        )
        with self._lock:
            self.received.append(received)
        return "250 2.0.0 OK"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode())
        # handled=False: aiosmtpd answers (235 or 535) itself.
        return AuthResult(success=given == self._credentials, handled=False)

    def start(self) -> SmtpServer:
        """Listen (a server never started is a port where nothing listens)."""
        extra: dict[str, Any] = {}
        if self._tls_context is not None and self._implicit_tls:
            extra = {"ssl_context": self._tls_context}
        elif self._tls_context is not None:
            extra = {"tls_context": self._tls_context, "require_starttls": True}
        if self._credentials is not None:
            # Only after STARTTLS, as a real submission server (port 587) allows it.
            extra |= {"authenticator": self._authenticate, "auth_required": True}
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=10, **extra
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller.loop.close()


@contextmanager
def running_smtp_server(
    *,
    tls_context: ssl.SSLContext | None = None,
    credentials: tuple[str, str] | None = None,
    implicit_tls: bool = False,
) -> Iterator[SmtpServer]:
    """A started server, stopped afterwards."""
    server = SmtpServer(
        tls_context=tls_context, credentials=credentials, implicit_tls=implicit_tls
    ).start()
    try:
        yield server
    finally:
        server.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl; (certificate, key)."""
    certificate, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    command = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1",
    ]  # fmt: skip
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=30,
    )
    return certificate, key


def server_tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    return context
