"""Invitations built from the sample programme, sent through a real SMTP server and read back."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.api.app import create_app
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageKind, MessageState
from service.mail.building import BuildReport, build_letter_ready
from service.mail.message_templates import save_text
from service.mail.outbox import SENT_TOKEN_MARK
from service.mail_content.templates import MessageText
from service.runtime import Runtime
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    MAIL_FROM,
    PORTAL_URL,
    REPLY_TO,
    building,
    invite,
    mail_sender,
    meeting_id,
    outbox,
    send_all,
)
from tests.integration.mail.smtp_server import Received, SmtpServer

LINK = re.compile(re.escape(PORTAL_URL) + r"/lank/(bdt_[A-Za-z0-9_-]{43})")


def participants_with_email(runtime: Runtime) -> dict[str, str]:
    """Every sample participant's address and organisation name."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(m.Participant.email, m.Organisation.name).join(
                m.Organisation, m.Participant.organisation_id == m.Organisation.id
            )
        ).all()
    return {email: name for email, name in rows if email}


def test_invitations_reach_every_participant_and_the_skr_contact_in_swedish(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    participants = participants_with_email(mail_runtime)

    report = invite(mail_runtime)
    outcomes = send_all(mail_sender(mail_runtime), report.added)

    assert outcomes == ["sent"] * len(report.added)
    assert len(report.added) == len(participants) + 1 == 28
    received = smtp_server.wait_for(len(report.added))
    assert sorted(r for got in received for r in got.rcpt_tos) == sorted(
        [*participants, "anna.wester@skr.example"]
    )
    assert {got.mail_from for got in received} == {"benchmarking@skr.example"}
    rows = {row.recipient_email: row for row in outbox(mail_runtime.sessions)}
    for got in received:
        (address,) = got.rcpt_tos
        row = rows[address]
        message = got.message
        assert message["Message-ID"] == row.message_id
        assert message["Subject"] == "Inbjudan till Benchmarking 2 den 26 september 2019"
        assert str(message["From"]) == MAIL_FROM
        assert str(message["Reply-To"]) == REPLY_TO
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Content-Language"] == "sv"
        assert address in str(message["To"])
        assert message.get_content_type() == "multipart/mixed"
        alternative = [p.get_content_type() for p in message.walk()]
        assert alternative[:5] == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar",
        ]
        assert "application/ics" in alternative
        text = got.text()
        assert "Välkommen till Benchmarking 2 – Systematiskt förbättringsarbete" in text
        assert "senast 19 september 2019" in text
        assert "torsdag 26 september 2019" in text
        assert "Campusgatan 26, 151 89 Södertälje" in text
        if address == "anna.wester@skr.example":
            assert "Det här är en kopia av inbjudan som gick till 27 deltagare i 8" in text
            assert "/lank/" not in text
        else:
            assert f"Agendan och {participants[address]}s förifyllda dokument" in text
            assert len(LINK.findall(text)) == 1
            assert LINK.search(got.text("text/html"))
        stored = outbox(mail_runtime.sessions, message_id=row.message_id)[0]
        assert stored.state is MessageState.SENT
        assert stored.attempts == 1
        assert stored.sent_at is not None
        assert "bdt_" not in stored.body_text.replace(SENT_TOKEN_MARK, "")
        assert "bdt_" not in stored.body_html.replace(SENT_TOKEN_MARK, "")


def test_the_personal_link_in_an_invitation_signs_the_participant_in_to_their_organisation(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    report = invite(mail_runtime)
    send_all(mail_sender(mail_runtime), report.added)
    (askersund,) = smtp_server.to("sofia.lindqvist@askersund.example")
    (fagersta,) = smtp_server.to("eva.nordin@fagersta.example")

    # The participant opens the link the day the invitation arrived.
    with time_machine.travel(INVITATION_DAY + dt.timedelta(hours=2), tick=True):
        with TestClient(create_app(mail_runtime)) as browser:
            opened = browser.get(_link(askersund), follow_redirects=True)
        with TestClient(create_app(mail_runtime)) as other_browser:
            other = other_browser.get(_link(fagersta), follow_redirects=True)

    assert opened.status_code == 200
    assert str(opened.url).endswith("/mina-dokument")
    assert "Askersunds kommun" in opened.text
    assert "Fagersta kommun" not in opened.text
    assert other.status_code == 200
    assert "Fagersta kommun" in other.text
    assert "Askersunds kommun" not in other.text


def _link(received: Received) -> str:
    found = LINK.search(received.text())
    assert found, received.text()
    return found.group(0).removeprefix(PORTAL_URL)


def test_an_invitation_is_sent_once_even_when_sent_again(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    report = invite(mail_runtime)
    sender = mail_sender(mail_runtime)
    send_all(sender, report.added[:1])

    again = send_all(sender, report.added[:1])
    rebuilt = invite(mail_runtime)

    assert again == ["skipped"]
    assert rebuilt.added == []
    assert rebuilt.already_there == 28
    assert len(smtp_server.received) == 1
    rows = outbox(mail_runtime.sessions, kind=MessageKind.INVITATION)
    assert len(rows) == 28


def test_an_organisers_text_is_used_and_one_it_cannot_fill_skips_only_that_message(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    edited = MessageText(
        subject="Välkommen till {{ meeting.title }}, {{ recipient.name }}",
        # Passes the check (the example has an organisation), but the SKR copy has none.
        body="Hej {{ recipient.name }} på {{ organisation.name }}!\n\nEr länk: {{ link }}",
    )
    with unit_of_work(mail_runtime.sessions) as session:
        save_text(session, MessageKind.INVITATION, edited, by="Anna Arrangör", now=INVITATION_DAY)

    report = invite(mail_runtime)
    send_all(mail_sender(mail_runtime), report.added)

    assert len(report.added) == 27
    assert report.skipped == [
        "Inbjudan till Anna Wester kunde inte skapas: "
        "texten: kunde inte fyllas i: 'None' has no attribute 'name'"
    ]
    (got,) = smtp_server.to("eva.nordin@fagersta.example")
    assert got.header("Subject") == "Välkommen till Benchmarking 2, Eva Nordin"
    assert got.text().startswith("Hej Eva Nordin på Fagersta kommun!\n\nEr länk: http://")
    with mail_runtime.sessions() as session:
        links = session.scalars(
            select(m.AccessToken.label).where(m.AccessToken.label.like("E-post:%"))
        ).all()
    assert len(links) == 27


def test_letter_ready_goes_to_each_participant_of_the_organisation_with_their_link(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    with unit_of_work(mail_runtime.sessions) as session:
        askersund = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()
        report = build_letter_ready(
            session, meeting_id(mail_runtime.sessions), askersund, building(mail_runtime.settings)
        )
    again = invite_letter_ready(mail_runtime, askersund)
    send_all(mail_sender(mail_runtime), report.added)

    assert len(report.added) == 4
    assert again.added == [] and again.already_there == 4
    received = smtp_server.wait_for(4)
    assert {r for got in received for r in got.rcpt_tos} == {
        "jonas.berg@askersund.example",
        "maria.sandberg@askersund.example",
        "sofia.lindqvist@askersund.example",
        "ahmed.karimi@askersund.example",
    }
    for got in received:
        assert got.header("Subject") == "Er återkoppling efter Benchmarking 2 är klar"
        assert "Återkopplingen till Askersunds kommun efter Benchmarking 2" in got.text()
        assert LINK.search(got.text())


def invite_letter_ready(runtime: Runtime, organisation_id: int) -> BuildReport:
    with unit_of_work(runtime.sessions) as session:
        return build_letter_ready(
            session, meeting_id(runtime.sessions), organisation_id, building(runtime.settings)
        )
