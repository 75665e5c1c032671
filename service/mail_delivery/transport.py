"""Mail transports: a real SMTP server, or a folder of ``.eml`` files when none is configured.

Errors are sorted by what the sender should do: ``DeliveryDeferredError`` (no connection, a
timeout, a 4xx answer: try again later) or ``DeliveryRefusedError`` (a 5xx answer, an
address the server will never take: stop and say why). Both carry the server's own answer.
"""

from __future__ import annotations

import base64
import email.policy
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
        ca_file: Path | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._ca_file = ca_file

    @property
    def description(self) -> str:
        """The server, for messages and logs (never the password)."""
        return f"smtp://{self._host}:{self._port} ({self._security})"

    def deliver(self, message: EmailMessage) -> str:
        """Send over SMTP; sorts every failure into deferred or refused."""
        try:
            with self._connect() as smtp:
                if self._username:
                    self._login(smtp, self._username, self._password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(_first_answer(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError...
            raise _refusal((exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryRefusedError(
                f"the server cannot take this message: {exc}",
                swedish=f"servern kan inte ta emot meddelandet ({_words(exc)})",
            ) from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            # Connection refused, reset or timed out; the server went away mid-conversation.
            raise DeliveryDeferredError(
                f"{self.description}: {_words(exc)}", swedish=self._swedish(exc)
            ) from exc
        if refused:
            # Accepted for some recipients and refused for others (a Cc): sending again would
            # give the others a second copy, so it counts as sent, with the refusal noted.
            code, _answer = _first_answer(refused)
            return f"{self.description}; not accepted for {', '.join(refused)} ({code})"
        return self.description

    def _swedish(self, exc: BaseException) -> str:
        """Why the conversation failed, for the outbox."""
        if _timed_out(exc):
            unit = "sekund" if self._timeout == 1 else "sekunder"
            return f"{self.description} svarade inte inom {self._timeout:g} {unit}"
        if isinstance(exc, ConnectionRefusedError | socket.gaierror):
            return f"fick ingen kontakt med {self.description} ({_words(exc)})"
        return f"kunde inte lämna över meddelandet till {self.description} ({_words(exc)})"

    @staticmethod
    def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
        """Log in; credentials with å, ä or ö by AUTH PLAIN in UTF-8 (RFC 4616).

        smtplib encodes every mechanism's answer as ASCII, so its login() fails on them.
        """
        if (username + password).isascii():
            smtp.login(username, password)
            return
        answer = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
        code, said = smtp.docmd("AUTH", f"PLAIN {answer}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, said)

    def _tls_context(self) -> ssl.SSLContext:
        """The system's trusted certificates and the configured CA file's; host names checked."""
        context = ssl.create_default_context()
        if self._ca_file is not None:
            context.load_verify_locations(cafile=self._ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                timeout=self._timeout,
                context=self._tls_context(),
            )
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._security == "starttls":
                smtp.starttls(context=self._tls_context())
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
                    file.write(_as_bytes(message))
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryDeferredError(
                f"could not write {target}: {_words(exc)}",
                swedish=f"kunde inte skriva {target} ({_words(exc)})",
            ) from exc
        return str(target)


def _as_bytes(message: EmailMessage) -> bytes:
    """The message as a file; with UTF-8 headers (RFC 6532) when an address needs them.

    An address with å, ä or ö cannot be written in ASCII: encoded-words are not allowed in
    an address, so it is written as it is, as smtplib does for a server that takes SMTPUTF8.
    """
    addresses = [
        address.addr_spec
        for name in ("From", "To", "Cc", "Reply-To")
        for address in getattr(message[name], "addresses", ())
    ]
    if all(address.isascii() for address in addresses):
        return message.as_bytes()
    return message.as_bytes(policy=email.policy.SMTPUTF8)


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
            ca_file=settings.smtp_ca_file,
        )
    return FolderTransport(settings.mail_outbox_dir)


def _first_answer(answers: dict[str, tuple[int, bytes]]) -> tuple[int, bytes]:
    return next(iter(answers.values()), (0, b""))


def _refusal(answer: tuple[int, bytes | str]) -> DeliveryDeferredError | DeliveryRefusedError:
    code, text = answer
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    spoken = f"{code} {' '.join(said.split())}".strip()
    words, swedish = f"the server answered {spoken}", f"servern svarade {spoken}"
    if 400 <= code < 500 or code == -1:
        return DeliveryDeferredError(words, swedish=swedish)
    return DeliveryRefusedError(words, swedish=swedish)


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also when smtplib reports it as a closed connection (its context)."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _words(exc: BaseException) -> str:
    if _timed_out(exc):
        return "no answer in time"
    return " ".join(str(exc).split()) or type(exc).__name__
