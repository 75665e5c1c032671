"""The demo's e-mail: the sample meeting's invitations, written as .eml files to open."""

from __future__ import annotations

from pathlib import Path

from service.clock import utcnow
from service.database.session import unit_of_work
from service.mail.building import build_invitations, build_settings
from service.mail.sending import MailSender, SendOutcome, send_inline
from service.mail_delivery.transport import FolderTransport
from service.runtime import Runtime


def write_invitations(runtime: Runtime, meeting_id: int, folder: Path) -> int:
    """Build the meeting's invitations now (whatever its date) and write them to ``folder``.

    Always to a folder, never through an SMTP server the environment may name: a demo must not
    send e-mail to the sample's (made-up) addresses.
    """
    settings = runtime.settings
    now = utcnow()
    with unit_of_work(runtime.sessions) as session:
        report = build_invitations(
            session, meeting_id, build_settings(settings, by="benchdocs demo", now=now, hold=False)
        )
    sender = MailSender.from_settings(
        settings,
        sessions=runtime.sessions,
        files=runtime.files,
        transport=FolderTransport(folder),
    )
    outcomes = send_inline(sender, report.added, now=now)
    return outcomes[SendOutcome.SENT]
