"""The transports on their own: STARTTLS with a private CA, and the outbox folder without SMTP."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from service.domain.kinds import MessageState
from service.errors import DeliveryDeferredError, DeliveryRefusedError
from service.mail_content.composing import OutgoingMessage, Sender, compose
from service.mail_delivery.transport import FolderTransport, SmtpTransport
from service.runtime import build_runtime
from service.settings import Settings
from tests.conftest import RecordingQueue
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    MAIL_FROM,
    invite,
    mail_sender,
    mail_settings_for,
    outbox,
    send_all,
)
from tests.integration.mail.smtp_server import (
    SmtpServer,
    running_smtp_server,
    self_signed_certificate,
    server_tls_context,
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


CREDENTIALS = ("benchdocs", "Lösenord med åäö")


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """A submission server: STARTTLS, then AUTH, with a certificate no system trusts."""
    context = server_tls_context(*certificate)
    with running_smtp_server(tls_context=context, credentials=CREDENTIALS) as server:
        yield server


def a_message(number: int = 1) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"<test-{number}@skr.example>",
        recipient_name="Åsa Öberg",
        recipient_email="asa.oberg@askersund.example",
        subject="Inbjudan till Benchmarking 2",
        text="Hej Åsa!\n\nVälkommen.",
        html="<p>Hej Åsa!</p><p>Välkommen.</p>",
    )


def starttls(
    server: SmtpServer, ca_file: Path | None, credentials: tuple[str, str] = CREDENTIALS
) -> SmtpTransport:
    return SmtpTransport(
        host=server.host,
        port=server.port,
        security="starttls",
        username=credentials[0],
        password=credentials[1],
        timeout=10,
        ca_file=ca_file,
    )


def test_starttls_to_a_server_whose_certificate_the_ca_file_vouches_for(
    tls_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    mime = compose(a_message(), Sender(MAIL_FROM), date=INVITATION_DAY)

    starttls(tls_server, ca_file=certificate[0]).deliver(mime)

    (got,) = tls_server.wait_for(1)
    assert got.tls
    assert got.message_id == "<test-1@skr.example>"


def test_a_wrong_password_is_refused_with_the_servers_answer(
    tls_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    mime = compose(a_message(), Sender(MAIL_FROM), date=INVITATION_DAY)
    transport = starttls(tls_server, ca_file=certificate[0], credentials=("benchdocs", "fel"))

    with pytest.raises(DeliveryRefusedError, match="535") as refused:
        transport.deliver(mime)

    assert refused.value.swedish.startswith("servern svarade 535")
    assert tls_server.received == []


def test_starttls_refuses_a_certificate_nobody_vouches_for(tls_server: SmtpServer) -> None:
    mime = compose(a_message(), Sender(MAIL_FROM), date=INVITATION_DAY)

    with pytest.raises(DeliveryDeferredError, match="CERTIFICATE_VERIFY_FAILED"):
        starttls(tls_server, ca_file=None).deliver(mime)

    assert tls_server.received == []


def test_a_ca_file_that_is_not_there_is_refused_at_start_naming_the_setting(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="smtp_ca_file"):
        Settings(smtp_ca_file=tmp_path / "saknas.pem")


def test_without_smtp_the_invitations_are_eml_files_any_mail_program_opens(
    sample_imported: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    runtime = build_runtime(
        mail_settings_for(sample_imported, None, folder), queue=RecordingQueue()
    )
    try:
        report = invite(runtime)
        outcomes = send_all(mail_sender(runtime), report.added)
        rows = outbox(runtime.sessions)
    finally:
        runtime.close()

    assert outcomes == ["sent"] * 28
    files = sorted(folder.iterdir())
    assert len(files) == 28
    assert all(f.suffix == ".eml" for f in files)
    by_id = {row.message_id: row for row in rows}
    for file in files:
        message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        row = by_id[str(message["Message-ID"])]
        assert row.state is MessageState.SENT
        assert str(message["Subject"]).strip() == row.subject
        assert row.recipient_email in str(message["To"])
        plain = message.get_body(preferencelist=("plain",))
        assert plain is not None
        assert "Välkommen till Benchmarking 2" in plain.get_content()
        types = [part.get_content_type() for part in message.walk()]
        assert {"text/html", "text/calendar", "application/ics"} <= set(types)


def test_writing_a_message_again_replaces_its_file(tmp_path: Path) -> None:
    transport = FolderTransport(tmp_path / "outbox")
    mime = compose(a_message(), Sender(MAIL_FROM), date=INVITATION_DAY)

    first = transport.deliver(mime)
    second = transport.deliver(mime)

    assert first == second
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["test-1@skr.example.eml"]
    reread = email.message_from_bytes(Path(first).read_bytes(), policy=email.policy.default)
    assert reread["Subject"] == "Inbjudan till Benchmarking 2"
    body = reread.get_body(preferencelist=("plain",))
    assert (
        body is not None and body.get_content().replace("\r\n", "\n") == "Hej Åsa!\n\nVälkommen.\n"
    )


def test_an_address_with_swedish_letters_reaches_the_server_and_the_folder_intact(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    outgoing = replace(a_message(), recipient_email="åsa.öberg@exempel.se")
    mime = compose(outgoing, Sender(MAIL_FROM), date=INVITATION_DAY)
    smtp = SmtpTransport(
        host=smtp_server.host,
        port=smtp_server.port,
        security="none",
        username=None,
        password=None,
        timeout=10,
    )

    smtp.deliver(mime)
    written = FolderTransport(tmp_path / "outbox").deliver(mime)

    (got,) = smtp_server.wait_for(1)
    assert got.rcpt_tos == ("åsa.öberg@exempel.se",)
    assert got.message["To"].addresses[0].addr_spec == "åsa.öberg@exempel.se"
    raw = Path(written).read_bytes()
    assert "To: Åsa Öberg <åsa.öberg@exempel.se>\r\n".encode() in raw  # no encoded-words
    reread = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
    assert reread["To"].addresses[0].addr_spec == "åsa.öberg@exempel.se"
    assert reread["Subject"] == "Inbjudan till Benchmarking 2"


def test_tls_from_the_first_byte_as_on_port_465(certificate: tuple[Path, Path]) -> None:
    context = server_tls_context(*certificate)
    mime = compose(a_message(), Sender(MAIL_FROM), date=INVITATION_DAY)

    with running_smtp_server(tls_context=context, implicit_tls=True) as server:
        SmtpTransport(
            host=server.host,
            port=server.port,
            security="tls",
            username=None,
            password=None,
            timeout=10,
            ca_file=certificate[0],
        ).deliver(mime)
        (got,) = server.wait_for(1)

    assert got.tls
    assert got.message_id == "<test-1@skr.example>"
