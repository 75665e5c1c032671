"""The calendar event in each invitation, parsed back with icalendar; a moved meeting's update."""

from __future__ import annotations

import datetime as dt

import redis
from icalendar import Calendar
from sqlalchemy import select

from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import MessageKind, MessageState
from service.mail.daily import DailyOutcome, DueRules, run_daily
from service.mail.message_templates import save_text
from service.mail.outbox import release
from service.mail_content.calendar import meeting_uid
from service.mail_content.templates import MessageText
from service.runtime import Runtime, build_runtime
from tests.conftest import RecordingQueue
from tests.integration.mail.conftest import (
    INVITATION_DAY,
    STOCKHOLM,
    building,
    invite,
    mail_sender,
    meeting_id,
    outbox,
    send_all,
)
from tests.integration.mail.smtp_server import Received, SmtpServer

RULES = DueRules(invitation_days_before=14, reminder_days_before_deadline=3)


def event_of(received: Received) -> tuple[Calendar, Calendar]:
    """The calendar in the text/calendar part and the VEVENT in it (checked equal to the .ics)."""
    calendar = Calendar.from_ical(received.text("text/calendar"))
    attached = received.part("application/ics").get_content()
    assert Calendar.from_ical(attached).to_ical() == calendar.to_ical()
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def daily(runtime: Runtime, broker_url: str, now: dt.datetime) -> DailyOutcome:
    client = redis.Redis.from_url(broker_url)
    try:
        return run_daily(
            sessions=runtime.sessions,
            queue=runtime.queue,
            redis_client=client,
            rules=RULES,
            settings=building(runtime.settings, now),
        )
    finally:
        client.close()


def test_the_invitations_event_has_the_meetings_time_place_link_and_organiser(
    mail_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    report = invite(mail_runtime)
    send_all(mail_sender(mail_runtime), report.added)

    received = smtp_server.wait_for(28)
    uid = meeting_uid(meeting_id(mail_runtime.sessions), "mkmr_2019_exempel")
    for got in received:
        calendar, event = event_of(got)
        assert calendar["METHOD"] == "REQUEST"
        assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Stockholm"]
        assert str(event["UID"]) == uid
        assert event["SEQUENCE"] == 0
        start = event["DTSTART"]
        assert start.params["TZID"] == "Europe/Stockholm"
        assert start.dt == dt.datetime(2019, 9, 26, 9, 30, tzinfo=STOCKHOLM)
        assert start.dt.utcoffset() == dt.timedelta(hours=2)  # summer time
        assert event["DTEND"].dt == dt.datetime(2019, 9, 26, 16, 30, tzinfo=STOCKHOLM)
        assert str(event["LOCATION"]) == (
            "Stadshuset, konferensrum Täljehallen (exempel), Campusgatan 26, 151 89 Södertälje"
        )
        assert str(event["URL"]) == "https://möte.example/bm2-sodertalje"
        assert str(event["ORGANIZER"]) == "mailto:karin.dahl@skr.example"
        assert event["ORGANIZER"].params["CN"] == "Karin Dahl"
        assert str(event["SUMMARY"]).startswith("Benchmarking 2 – Modellkommuner")
        (recipient,) = got.rcpt_tos
        assert str(event["ATTENDEE"]) == f"mailto:{recipient}"


def test_a_moved_meeting_sends_an_update_with_the_same_uid_and_the_next_sequence_once(
    mail_runtime: Runtime, smtp_server: SmtpServer, broker_url: str
) -> None:
    sender = mail_sender(mail_runtime)
    first = daily(mail_runtime, broker_url, INVITATION_DAY)
    send_all(sender, first.report.added)
    invited = smtp_server.wait_for(28)
    uid = str(event_of(invited[0])[1]["UID"])
    with unit_of_work(mail_runtime.sessions) as session:
        meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
        meeting.start_time = dt.time(10, 0)
    next_day = INVITATION_DAY + dt.timedelta(days=1)

    changed = daily(mail_runtime, broker_url, next_day)
    send_all(sender, changed.report.added, next_day)
    again = daily(mail_runtime, broker_url, next_day + dt.timedelta(days=1))

    assert first.ran and changed.ran and again.ran
    assert len(changed.report.added) == 28
    assert again.report.added == []
    updates = smtp_server.received[28:]
    assert len(updates) == 28
    assert sorted(r.rcpt_tos for r in updates) == sorted(r.rcpt_tos for r in invited)
    for got in updates:
        assert got.message["Subject"] == "Ändrat: Benchmarking 2 den 26 september 2019"
        assert "- Tid: 10.00–16.30" in got.text()
        _calendar, event = event_of(got)
        assert str(event["UID"]) == uid
        assert event["SEQUENCE"] == 1
        assert event["DTSTART"].dt == dt.datetime(2019, 9, 26, 10, 0, tzinfo=STOCKHOLM)
    with mail_runtime.sessions() as session:
        kinds = session.scalars(select(m.OutboxMessage.kind)).all()
    assert kinds.count(MessageKind.MEETING_CHANGED) == 28


def test_each_update_names_its_own_recipients_organisation_and_the_skr_copy_none(
    mail_runtime: Runtime, smtp_server: SmtpServer, broker_url: str
) -> None:
    edited = MessageText(
        subject="Ändrat: {{ meeting.title }}",
        body="Hej!\n\nGäller {% if organisation %}{{ organisation.name }}"
        "{% else %}ingen organisation{% endif %}.",
    )
    with unit_of_work(mail_runtime.sessions) as session:
        save_text(session, MessageKind.MEETING_CHANGED, edited, by="test", now=INVITATION_DAY)
    sender = mail_sender(mail_runtime)
    send_all(sender, daily(mail_runtime, broker_url, INVITATION_DAY).report.added)
    with unit_of_work(mail_runtime.sessions) as session:
        meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
        meeting.venue_address = "Nygatan 1, 151 89 Södertälje"
    next_day = INVITATION_DAY + dt.timedelta(days=1)

    send_all(sender, daily(mail_runtime, broker_url, next_day).report.added, next_day)

    updates = smtp_server.received[28:]
    (skr,) = [got for got in updates if got.rcpt_tos == ("anna.wester@skr.example",)]
    (askersund,) = [got for got in updates if got.rcpt_tos == ("jonas.berg@askersund.example",)]
    assert "Gäller ingen organisation." in skr.text()
    assert "Gäller Askersunds kommun." in askersund.text()
    (event,) = Calendar.from_ical(skr.text("text/calendar")).walk("VEVENT")
    assert "Nygatan 1" in str(event["LOCATION"])


def test_invitations_held_when_the_meeting_moves_get_their_update_too(
    mail_runtime: Runtime, smtp_server: SmtpServer, broker_url: str
) -> None:
    held = mail_runtime.settings.model_copy(update={"mail_hold_new": True})
    runtime = build_runtime(held, queue=RecordingQueue())
    try:
        daily(runtime, broker_url, INVITATION_DAY)
        with unit_of_work(runtime.sessions) as session:
            meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
            meeting.start_time = dt.time(13, 0)
        daily(runtime, broker_url, INVITATION_DAY + dt.timedelta(days=1))
        waiting = outbox(runtime.sessions, state=MessageState.HELD)
        with unit_of_work(runtime.sessions) as session:
            for row in waiting:
                release(session, row.id, now=INVITATION_DAY)
        send_all(mail_sender(runtime), [row.id for row in waiting])
    finally:
        runtime.close()

    assert len(waiting) == 56
    for address in ("jonas.berg@askersund.example", "anna.wester@skr.example"):
        sequences = {
            int(event_of(got)[1]["SEQUENCE"]): event_of(got)[1]["DTSTART"].dt.hour
            for got in smtp_server.to(address)
        }
        assert sequences == {0: 9, 1: 13}  # the higher sequence has the new time
