"""What organisers' pages read back from a message: its calendar event and a template's names."""

from __future__ import annotations

import datetime as dt

from service.api.portal.pages.messages import event_when, template_names
from service.domain.kinds import MessageKind
from service.mail_content.calendar import MeetingEvent, build_invitation, describe_invitation
from service.mail_content.catalogue import example_context


def meeting(*, start: dt.time | None, end: dt.time | None) -> MeetingEvent:
    return MeetingEvent(
        uid="benchdocs-meeting-2-jg-2019@benchdocs",
        title="Benchmarking 2 – Jämställdhetsintegrering 2019",
        date=dt.date(2019, 9, 26),
        start=start,
        end=end,
        venue="Konferens Örebro",
        address="Storgatan 1, 702 10 Örebro",
        digital_link="https://möte.example.se/bm2",
        description="Benchmarking 2.",
        organiser_name="Karin Dahl",
        organiser_email="karin.dahl@skr.example",
    )


def test_an_invitation_is_read_back_as_it_was_built() -> None:
    ics = build_invitation(
        meeting(start=dt.time(9, 30), end=dt.time(16, 0)),
        sequence=2,
        attendee_name="Anna Andersson",
        attendee_email="anna@askersund.example",
        stamped_at=dt.datetime(2019, 9, 12, 6, tzinfo=dt.UTC),
    ).decode()

    event = describe_invitation(ics)

    assert event is not None
    assert event.title == "Benchmarking 2 – Jämställdhetsintegrering 2019"
    assert event.location == "Konferens Örebro, Storgatan 1, 702 10 Örebro"
    assert event.sequence == 2
    assert event_when(event) == "26 september 2019 kl. 09.30–16.00"


def test_a_meeting_without_a_start_time_is_a_whole_day() -> None:
    ics = build_invitation(
        meeting(start=None, end=None),
        sequence=0,
        attendee_name=None,
        attendee_email="anna@askersund.example",
        stamped_at=dt.datetime(2019, 9, 12, 6, tzinfo=dt.UTC),
    ).decode()

    event = describe_invitation(ics)

    assert event is not None and event.sequence == 0
    assert event_when(event) == "26 september 2019, hela dagen"


def test_text_that_is_no_calendar_has_no_event() -> None:
    assert describe_invitation("BEGIN:VCALENDAR\nEND:VCALENDAR\n") is None
    assert describe_invitation("inte en kalender") is None
    assert event_when(None) == ""


def test_the_names_a_template_may_use_are_dotted_with_their_examples() -> None:
    names = dict(template_names(example_context(MessageKind.LATE_UPLOADS)))

    assert names["recipient.name"] == "Anna Andersson"
    assert names["meeting.date"] == "2027-03-18"
    assert names["late"] == "en lista; varje rad har name, missing"
    assert names["link"] == "https://benchdocs.example.se/lank/bdt_exempel"
