"""Hostile names, titles and addresses in the data: sent as text, never as markup or headers."""

from __future__ import annotations

import re
from collections.abc import Callable

from icalendar import Calendar
from sqlalchemy import select

from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageState
from service.runtime import Runtime
from service.settings import Settings
from tests.integration.conftest import wait_until
from tests.integration.mail.conftest import PORTAL_URL, invite, outbox
from tests.integration.mail.smtp_server import SmtpServer

MARKUP = "<script>alert(1)</script> {{ 7*7 }} {% raw %}x{% endraw %}"
INJECTED = "Maria\r\nBcc: evil@x.example"
FRIENDLY = "Sofia 😀 Ängström-Öberg"
NOT_AN_ADDRESS = "inte en adress\r\nBcc: evil@x.example"
ORGANISATION = "Askersund <b>kommun</b> https://evil.example/x"
TITLE = "Benchmarking 2\r\nBcc: evil@x.example"


def make_askersund_hostile(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        askersund = session.scalars(
            select(m.Organisation).where(m.Organisation.ref == "askersund")
        ).one()
        askersund.name = ORGANISATION
        people = {p.email: p for p in askersund.participants}
        people["jonas.berg@askersund.example"].name = MARKUP
        people["maria.sandberg@askersund.example"].name = INJECTED
        people["sofia.lindqvist@askersund.example"].name = FRIENDLY
        people["ahmed.karimi@askersund.example"].email = NOT_AN_ADDRESS
        meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
        meeting.title = TITLE


def test_hostile_data_is_sent_as_text_and_a_bad_address_fails_alone(
    worker_runtime: Runtime,
    worker_settings: Settings,
    smtp_server: SmtpServer,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    make_askersund_hostile(worker_runtime)
    worker = start_worker(worker_settings, concurrency=1)

    report = invite(worker_runtime)
    for message_id in report.added:
        worker_runtime.queue.send_message(message_id)

    def all_done() -> bool:
        states = {row.state for row in outbox(worker_runtime.sessions)}
        return states <= {MessageState.SENT, MessageState.FAILED}

    wait_until(all_done, what="every message sent or failed")
    assert worker.process is not None and worker.process.poll() is None, "the worker died"
    rows = outbox(worker_runtime.sessions)
    (failed,) = [row for row in rows if row.state is MessageState.FAILED]
    assert failed.recipient_email == NOT_AN_ADDRESS
    assert failed.last_error == (
        "”inte en adress Bcc: evil@x.example” är inte en e-postadress som går att skicka till"
    )
    assert failed.attempts == 1
    received = smtp_server.wait_for(27)
    assert len(received) == 27
    assert not any("evil@x.example" in got.rcpt_tos for got in received)
    for got in received:
        assert got.message["Bcc"] is None
        assert got.header("Subject") == (
            "Inbjudan till Benchmarking 2 Bcc: evil@x.example den 26 september 2019"
        )
        html = got.text("text/html")
        links = set(re.findall(r'href="([^"]*)"', html))
        allowed = {"https://möte.example/bm2-sodertalje"}
        assert all(link in allowed or link.startswith(f"{PORTAL_URL}/lank/") for link in links)
        assert "<script" not in html and "<b>" not in html
        Calendar.from_ical(got.text("text/calendar"))  # still a calendar

    (markup,) = smtp_server.to("jonas.berg@askersund.example")
    text, html = markup.text(), markup.text("text/html")
    # The tags in the name are printed, never evaluated ({{ 7*7 }} is not 49).
    greeting = next(line for line in text.splitlines() if line.startswith("Hej "))
    assert greeting == f"Hej {MARKUP}!"
    assert "Hej &lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}x{% endraw %}!" in html
    assert "Askersund &lt;b&gt;kommun&lt;/b&gt; https://evil.example/x" in html
    assert 'href="https://evil.example' not in html
    (injected,) = smtp_server.to("maria.sandberg@askersund.example")
    assert injected.header("To") == '"Maria Bcc: evil@x.example" <maria.sandberg@askersund.example>'
    assert "Hej Maria\nBcc: evil@x.example!" in injected.text()
    (friendly,) = smtp_server.to("sofia.lindqvist@askersund.example")
    assert friendly.header("To") == f"{FRIENDLY} <sofia.lindqvist@askersund.example>"
    assert f"Hej {FRIENDLY}!" in friendly.text()
    (event,) = Calendar.from_ical(friendly.text("text/calendar")).walk("VEVENT")
    assert event["ATTENDEE"].params["CN"] == FRIENDLY
