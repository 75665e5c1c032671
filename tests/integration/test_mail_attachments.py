"""Files go by link; an invitation carries a document only when an organiser chose it."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind, MessageKind
from service.mail.building import build_invitations, build_settings
from service.mail.sending import MailSender, SendOutcome, send_inline
from service.mail_content.composing import Sender
from service.mail_delivery.transport import FolderTransport
from service.runtime import Runtime
from tests.integration.conftest import meeting_id, render_meeting_documents

pytestmark = pytest.mark.integration


def _send_invitations(
    runtime: Runtime, folder: Path, attach: tuple[tuple[DocumentKind, str], ...]
) -> dict[str, email.message.EmailMessage]:
    bm2 = meeting_id(runtime, "bm2")
    with unit_of_work(runtime.sessions) as session:
        report = build_invitations(
            session,
            bm2,
            build_settings(runtime.settings, by="test", now=utcnow(), hold=False, attach=attach),
        )
    sender = MailSender(
        sessions=runtime.sessions,
        transport=FolderTransport(folder),
        sender=Sender(from_address="Karin Dahl <karin.dahl@skr.example>"),
        files=runtime.files,
        max_attempts=3,
    )
    outcomes = send_inline(sender, report.added, now=utcnow())
    assert outcomes[SendOutcome.SENT] == len(report.added) > 0
    received = {}
    for path in folder.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        received[str(message["To"].addresses[0].addr_spec)] = message
    return received


def test_an_invitation_has_no_file_attached_unless_an_organiser_chose_one(
    runtime: Runtime, sample: object, tmp_path: Path
) -> None:
    render_meeting_documents(runtime, "bm2", [DocumentKind.ORGANISATION_AGENDA])

    received = _send_invitations(runtime, tmp_path, attach=())

    for message in received.values():
        names = [part.get_filename() for part in message.iter_attachments()]
        assert names == ["inbjudan.ics"]


def test_a_chosen_document_is_attached_as_the_organisations_own_file(
    runtime: Runtime, sample: object, tmp_path: Path
) -> None:
    render_meeting_documents(
        runtime, "bm2", [DocumentKind.ORGANISATION_AGENDA, DocumentKind.FEEDBACK_LETTER]
    )

    received = _send_invitations(
        runtime,
        tmp_path,
        attach=((DocumentKind.ORGANISATION_AGENDA, "docx"), (DocumentKind.FEEDBACK_LETTER, "docx")),
    )

    with runtime.sessions() as session:
        askersund = session.scalars(
            select(m.Organisation).where(m.Organisation.ref == "askersund")
        ).one()
        agenda = session.scalars(
            select(m.GeneratedDocument).where(
                m.GeneratedDocument.kind == DocumentKind.ORGANISATION_AGENDA,
                m.GeneratedDocument.organisation_id == askersund.id,
            )
        ).one()
        address = next(p.email for p in askersund.participants if p.email)
        rows = session.scalars(
            select(m.OutboxMessage).where(m.OutboxMessage.kind == MessageKind.INVITATION)
        ).all()
    message = received[address]
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    # The letter is never sent with an invitation, even when chosen: it goes out when released.
    assert set(attached) == {"inbjudan.ics", agenda.file_name}
    assert attached[agenda.file_name].get_content() == runtime.files.get(str(agenda.file_key))
    # The SKR copy has no organisation, so no organisation's file.
    copy = next(r for r in rows if r.purpose.endswith("skr-copy"))
    assert copy.attachments == []
