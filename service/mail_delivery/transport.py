"""Mail transports: a real SMTP server, or a folder of ``.eml`` files when none is configured.

Errors are sorted by what the sender should do: ``DeliveryDeferredError`` (no connection, a
timeout, a 4xx answer: try again later) or ``DeliveryRefusedError`` (a 5xx answer, an
address the server will never take: stop and say why). Both carry the server's own answer.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from service.errors import DeliveryDeferredError, DeliveryRefusedError
from service.settings import Settings


class MailTransport(Protocol):
    """Delivers one message; returns where it went (for the log and the outbox)."""

    def deliver(self, message: EmailMessage) -> str: ...

    @property
    def description(self) -> str: ...


class SmtpTransport:
    """One SMTP conversation per message (STARTTLS, TLS or plain), with a timeout."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str | None,
        password: str | None,
        timeout: float,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout

    @property
    def description(self) -> str:
        """The server, for messages and logs (never the password)."""
        return f"smtp://{self._host}:{self._port} ({self._security})"

    def deliver(self, message: EmailMessage) -> str:
        """Send over SMTP; sorts every failure into deferred or refused."""
        try:
            with self._connect() as smtp:
                if self._username:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(_first_answer(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError...
            raise _refusal((exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryRefusedError(f"the server cannot take this message: {exc}") from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            # Connection refused, reset or timed out; the server went away mid-conversation.
            raise DeliveryDeferredError(f"{self.description}: {_words(exc)}") from exc
        if refused:
            # Accepted for some recipients and refused for others (a Cc): sending again would
            # give the others a second copy, so it counts as sent, with the refusal noted.
            code, _answer = _first_answer(refused)
            return f"{self.description}; not accepted for {', '.join(refused)} ({code})"
        return self.description

    def _connect(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                timeout=self._timeout,
                context=ssl.create_default_context(),
            )
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp


class FolderTransport:
    """Writes each message as ``<Message-ID>.eml`` into a folder; any mail program opens them.

    The file appears whole or not at all (written beside it, then renamed); writing the same
    message again replaces it, so a resend never makes a second file.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @property
    def description(self) -> str:
        """The folder, for messages and logs."""
        return f"folder {self._folder}"

    def path_for(self, message_id: str) -> Path:
        """Where a message with this Message-ID is (or will be) written."""
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in message_id.strip("<>"))
        return self._folder / f"{safe}.eml"

    def deliver(self, message: EmailMessage) -> str:
        """Write the message; a full or unwritable disk is deferred, not refused."""
        target = self.path_for(str(message["Message-ID"]))
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._folder, suffix=".part")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(message.as_bytes())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryDeferredError(f"could not write {target}: {_words(exc)}") from exc
        return str(target)


def transport_for(settings: Settings) -> MailTransport:
    """SMTP when a host is configured, else the outbox folder."""
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            timeout=settings.smtp_timeout_seconds,
        )
    return FolderTransport(settings.mail_outbox_dir)


def _first_answer(answers: dict[str, tuple[int, bytes]]) -> tuple[int, bytes]:
    return next(iter(answers.values()), (0, b""))


def _refusal(answer: tuple[int, bytes | str]) -> DeliveryDeferredError | DeliveryRefusedError:
    code, text = answer
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    words = f"the server answered {code} {' '.join(said.split())}".strip()
    if 400 <= code < 500 or code == -1:
        return DeliveryDeferredError(words)
    return DeliveryRefusedError(words)


def _words(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    return " ".join(str(exc).split()) or type(exc).__name__
