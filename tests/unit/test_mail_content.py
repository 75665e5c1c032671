"""The pure parts of e-mail: templates, MIME composition, the schedule's rule, calendar events."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.kinds import MessageKind
from service.mail.daily import DueKind, DueRules, due_on
from service.mail.sending import retry_delay
from service.mail_content.calendar import MeetingEvent, build_invitation, meeting_uid
from service.mail_content.catalogue import MESSAGE_SPECS, example_context
from service.mail_content.composing import (
    AddressError,
    OutgoingMessage,
    Sender,
    compose,
    mailbox,
)
from service.mail_content.templates import (
    MAX_SUBJECT_LENGTH,
    Link,
    MessageTemplateError,
    MessageText,
    check_message_template,
    parse_template_file,
    render_message,
)
from service.settings import PROJECT_ROOT

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CONTEXT = example_context(MessageKind.INVITATION)


def render(body: str, subject: str = "Ämne", **values: object) -> tuple[str, str, str]:
    rendered = render_message(
        MessageText(subject, body), {**CONTEXT, **values}, filters=SWEDISH_FILTERS
    )
    return rendered.subject, rendered.text, rendered.html


def body_of(html: str) -> str:
    return html.split("<body", 1)[1].split(">", 1)[1].removesuffix("\n</body></html>\n").strip()


# -- rendering ----------------------------------------------------------------------------------


def test_one_text_gives_a_plain_part_as_written_and_html_with_paragraphs_and_lists() -> None:
    subject, text, html = render(
        "Hej {{ recipient.name }}!\n\nDu får:\n- ett\n- {{ recipient.email }}\n\nVälkommen!",
        subject="Inbjudan till {{ meeting.title }}",
    )

    assert subject == "Inbjudan till Benchmarking 2"
    assert text == (
        "Hej Anna Andersson!\n\nDu får:\n- ett\n- anna.andersson@askersund.se\n\nVälkommen!"
    )
    assert body_of(html) == (
        "<p>Hej Anna Andersson!</p>\n<p>Du får:</p>\n"
        "<ul><li>ett</li><li>anna.andersson@askersund.se</li></ul>\n<p>Välkommen!</p>"
    )
    assert '<html lang="sv">' in html


def test_a_value_is_escaped_and_never_becomes_structure_or_a_link() -> None:
    hostile = "<b>Ev</b> & {{ 7*7 }}\n- https://evil.example/x"

    _subject, text, html = render("Hej {{ recipient.name }}!", recipient={"name": hostile})

    assert text == f"Hej {hostile}!"
    assert body_of(html) == (
        "<p>Hej &lt;b&gt;Ev&lt;/b&gt; &amp; {{ 7*7 }}<br>\n- https://evil.example/x!</p>"
    )


def test_only_links_of_type_link_with_http_or_https_become_anchors() -> None:
    body = "{{ a }}\n{{ b }}\n{{ c }}\n{{ d }}"

    _subject, _text, html = render(
        body,
        a=Link("https://möte.example/bm2"),
        b=Link("javascript:alert(1)"),
        c="https://plain.example/not-a-link",
        d=Link('https://x.example/"onmouseover="alert(1)'),
    )

    assert '<a href="https://möte.example/bm2">https://möte.example/bm2</a>' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert 'href="https://plain.example' not in html
    assert 'href="https://x.example/&quot;onmouseover=&quot;alert(1)"' in html


def test_addresses_written_in_the_template_itself_become_links_without_trailing_dots() -> None:
    _subject, _text, html = render("Läs mer på https://skr.se/benchmarking.")

    assert body_of(html) == (
        '<p>Läs mer på <a href="https://skr.se/benchmarking">https://skr.se/benchmarking</a>.</p>'
    )


def test_placeholder_marks_in_data_or_template_cannot_pull_in_another_value() -> None:
    _subject, text, html = render(
        "\ue0001\ue001 {{ recipient.name }} {{ recipient.email }}",
        recipient={"name": "\ue0001\ue001", "email": "a@b.se"},
    )

    assert text == "1 1 a@b.se"
    assert "1 1 a@b.se" in html


def test_the_subject_is_one_line_and_cut_with_an_ellipsis() -> None:
    subject, _text, _html = render(
        "x", subject="{{ recipient.name }}", recipient={"name": "Rad ett\r\nBcc: evil@x\n" * 40}
    )

    assert "\n" not in subject and "\r" not in subject
    assert len(subject) == MAX_SUBJECT_LENGTH
    assert subject.endswith("…")
    assert subject.startswith("Rad ett Bcc: evil@x Rad ett")


def test_tags_on_lines_of_their_own_leave_no_gaps() -> None:
    _subject, text, _html = render(
        "Hej!\n{% if copy %}\nKopia.\n{% endif %}\n\n\n\nHälsningar\n{% for d in documents %}\n"
        "- {{ d }}\n{% endfor %}\n",
        copy=None,
        documents=["Agenda", "Presentation"],
    )

    assert text == "Hej!\n\nHälsningar\n- Agenda\n- Presentation"


def test_a_template_error_names_the_part_it_is_in() -> None:
    with pytest.raises(MessageTemplateError, match="texten, rad 2: felaktig tagg"):
        render("Hej\n{% if %}")
    with pytest.raises(MessageTemplateError, match="ämnesraden: kunde inte fyllas i"):
        render("Hej", subject="{{ recipient.name.nothing.deeper }}")


# -- checking an organiser's text ---------------------------------------------------------------


def check(subject: str, body: str) -> list[str]:
    problems = check_message_template(MessageText(subject, body), CONTEXT, filters=SWEDISH_FILTERS)
    return [str(problem) for problem in problems]


def test_the_built_in_texts_pass_the_check_of_their_kind() -> None:
    for kind, spec in MESSAGE_SPECS.items():
        path = PROJECT_ROOT / "doc_templates" / "messages" / spec.template_file
        text = parse_template_file(path.read_text(encoding="utf-8"))
        problems = check_message_template(text, example_context(kind), filters=SWEDISH_FILTERS)
        assert problems == [], (kind, problems)


def test_an_unknown_name_is_named_with_where_it_is() -> None:
    problems = check("Hej {{ recipient.nam }}", "Hej {{ okänd }}")

    assert problems[0].startswith("ämnesraden: unknown variable 'recipient.nam'")
    assert "did you mean 'name'" in problems[0]
    assert problems[1].startswith("texten: unknown variable 'okänd'")


def test_a_broken_tag_and_an_unknown_filter_are_found() -> None:
    assert any(
        p.startswith("texten: Unexpected end of template") for p in check("Hej", "{% if copy %}")
    )
    (unknown,) = check("Hej", "{{ meeting.title|okänt }}")
    assert unknown.startswith("texten: unknown filter 'okänt'")


def test_an_empty_subject_or_body_and_a_subject_of_two_lines_are_refused() -> None:
    assert check("  ", "Hej") == ["ämnesraden: ämnesraden är tom"]
    assert check("Hej", "\n \n") == ["texten: texten är tom"]
    assert check("Rad ett\nRad två", "Hej") == ["ämnesraden: ämnesraden får bara vara en rad"]
    assert check("Hej", "x" * 20_001) == ["texten: texten är längre än 20000 tecken"]


def test_a_template_file_starts_with_its_subject() -> None:
    assert parse_template_file("Ämne: Hej\n\nText\n") == MessageText("Hej", "Text\n")
    with pytest.raises(ValueError, match="Ämne"):
        parse_template_file("Subject: Hej\n\nText")


# -- composing ----------------------------------------------------------------------------------

CALENDAR = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def message(**changes: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "message_id": "<1.benchdocs@skr.example>",
        "recipient_name": "Anna Andersson",
        "recipient_email": "anna@askersund.example",
        "subject": "Inbjudan",
        "text": "Hej!",
        "html": "<p>Hej!</p>",
    }
    values.update(changes)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def composed(outgoing: OutgoingMessage) -> email.message.EmailMessage:
    mime = compose(
        outgoing,
        Sender("Benchmarking <b@skr.example>", reply_to="k@skr.example"),
        date=dt.datetime(2019, 9, 12, 8, tzinfo=STOCKHOLM),
    )
    parsed = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_an_invitation_is_mixed_with_text_html_and_calendar_alternatives_and_an_ics_file() -> None:
    parsed = composed(message(calendar=CALENDAR))

    structure = [(p.get_content_type(), p.get_filename()) for p in parsed.walk()]
    assert structure == [
        ("multipart/mixed", None),
        ("multipart/alternative", None),
        ("text/plain", None),
        ("text/html", None),
        ("text/calendar", None),
        ("application/ics", "inbjudan.ics"),
    ]
    calendar_part = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    assert parsed["Message-ID"] == "<1.benchdocs@skr.example>"
    assert parsed["Content-Language"] == "sv"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"] == "Thu, 12 Sep 2019 06:00:00 +0000"
    assert str(parsed["Reply-To"]) == "k@skr.example"
    assert parsed["List-Unsubscribe"] is None


def test_a_reminder_offers_one_click_opt_out_and_has_no_calendar() -> None:
    parsed = composed(message(opt_out_url="https://b.example/e-post/avsluta/abc"))

    assert str(parsed["List-Unsubscribe"]).strip() == "<https://b.example/e-post/avsluta/abc>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]


def test_names_with_line_breaks_and_copies_stay_in_their_headers() -> None:
    parsed = composed(
        message(recipient_name="Anna\r\nBcc: evil@x.example", cc=("skr@skr.example",))
    )

    assert parsed["Bcc"] is None
    assert str(parsed["To"]) == '"Anna Bcc: evil@x.example" <anna@askersund.example>'
    assert str(parsed["Cc"]) == "skr@skr.example"


@pytest.mark.parametrize(
    "address",
    ["", "anna", "@askersund.example", "anna@", "anna @askersund.example", "a@b\r\nBcc: c@d"],
)
def test_an_address_no_server_could_take_is_an_address_error_naming_it(address: str) -> None:
    with pytest.raises(AddressError) as raised:
        compose(
            message(recipient_email=address), Sender("b@skr.example"), date=dt.datetime.now(dt.UTC)
        )

    assert raised.value.address == address


def test_a_plain_address_is_a_mailbox() -> None:
    assert (
        str(mailbox("Åsa Öberg", " asa@askersund.example ")) == "Åsa Öberg <asa@askersund.example>"
    )


# -- the schedule's rule ------------------------------------------------------------------------

MEETING = dt.date(2019, 9, 26)
DEADLINE = dt.date(2019, 9, 19)
RULES = DueRules(invitation_days_before=14, reminder_days_before_deadline=3)
INV, REM, LATE = DueKind.INVITATIONS, DueKind.REMINDERS, DueKind.LATE_NOTICE


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (dt.date(2019, 9, 11), []),
        (dt.date(2019, 9, 12), [INV]),  # 14 days before
        (dt.date(2019, 9, 15), [INV]),
        (dt.date(2019, 9, 16), [INV, REM]),  # 3 days before the deadline
        (dt.date(2019, 9, 19), [INV, REM]),  # the deadline
        (dt.date(2019, 9, 20), [INV, LATE]),  # the day after
        (dt.date(2019, 9, 25), [INV, LATE]),
        (dt.date(2019, 9, 26), []),  # the meeting's day: nothing more
        (dt.date(2019, 10, 1), []),
    ],
)
def test_what_is_due_on_each_day_around_a_meeting(today: dt.date, due: list[DueKind]) -> None:
    assert due_on(today, meeting_date=MEETING, deadline=DEADLINE, rules=RULES) == due


def test_reminders_on_the_deadline_only_when_zero_days_before() -> None:
    rules = DueRules(invitation_days_before=14, reminder_days_before_deadline=0)

    days = [DEADLINE - dt.timedelta(days=1), DEADLINE, DEADLINE + dt.timedelta(days=1)]
    reminded = [
        REM in due_on(d, meeting_date=MEETING, deadline=DEADLINE, rules=rules) for d in days
    ]

    assert reminded == [False, True, False]


def test_retries_wait_longer_each_time_but_never_as_long_as_the_resend_of_lost_messages() -> None:
    delays = [retry_delay(n, first_seconds=15, resend_after_seconds=300) for n in range(8)]

    assert delays == [15, 30, 60, 120, 150, 150, 150, 150]
    assert retry_delay(10_000, first_seconds=15, resend_after_seconds=300) == 150


# -- calendar events ----------------------------------------------------------------------------


def event(**changes: object) -> MeetingEvent:
    values: dict[str, object] = {
        "uid": meeting_uid(7, "mkmr 2019/exempel"),
        "title": "Benchmarking 2 – Nätverket",
        "date": dt.date(2019, 9, 26),
        "start": dt.time(9, 30),
        "end": dt.time(16, 30),
        "venue": "Stadshuset",
        "address": "Campusgatan 26,\n151 89 Södertälje",
        "digital_link": "https://möte.example/bm2",
        "description": "Benchmarking 2.",
        "organiser_name": "Karin Dahl",
        "organiser_email": "karin.dahl@skr.example",
    }
    values.update(changes)
    return MeetingEvent(**values)  # type: ignore[arg-type]


def vevent(meeting: MeetingEvent, *, sequence: int = 0) -> Calendar:
    ics = build_invitation(
        meeting,
        sequence=sequence,
        attendee_name="Anna",
        attendee_email="anna@askersund.example",
        stamped_at=dt.datetime(2019, 9, 12, 6, tzinfo=dt.UTC),
    )
    (found,) = Calendar.from_ical(ics).walk("VEVENT")
    return found


def test_the_uid_is_fixed_per_meeting_and_made_of_safe_characters() -> None:
    assert meeting_uid(7, "mkmr 2019/exempel") == "benchdocs-meeting-7-mkmr-2019-exempel@benchdocs"
    assert meeting_uid(7, "a") != meeting_uid(8, "a")


def test_a_meeting_with_times_is_in_stockholm_time_with_location_on_one_line() -> None:
    found = vevent(event(), sequence=2)

    assert found["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert found["DTSTART"].dt == dt.datetime(2019, 9, 26, 9, 30, tzinfo=STOCKHOLM)
    assert found["DTEND"].dt == dt.datetime(2019, 9, 26, 16, 30, tzinfo=STOCKHOLM)
    assert str(found["LOCATION"]) == "Stadshuset, Campusgatan 26, 151 89 Södertälje"
    assert found["SEQUENCE"] == 2
    assert found["DTSTAMP"].dt == dt.datetime(2019, 9, 12, 6, tzinfo=dt.UTC)


def test_a_meeting_without_a_start_time_is_an_all_day_event() -> None:
    found = vevent(event(start=None, end=None))

    assert found["DTSTART"].dt == dt.date(2019, 9, 26)
    assert found["DTEND"].dt == dt.date(2019, 9, 27)
    assert found["DTSTART"].params.get("VALUE") == "DATE"


def test_an_end_before_the_start_gives_an_hour() -> None:
    found = vevent(event(start=dt.time(14, 0), end=dt.time(9, 0)))

    assert found["DTEND"].dt - found["DTSTART"].dt == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("day", "offset"),
    [
        (dt.date(2027, 3, 27), 1),  # the day before summer time
        (dt.date(2027, 3, 28), 2),  # summer time begins at 02:00
        (dt.date(2027, 10, 30), 2),
        (dt.date(2027, 10, 31), 1),  # summer time ends at 03:00
        (dt.date(2027, 1, 14), 1),
    ],
)
def test_the_hour_is_right_on_both_sides_of_the_clock_change(day: dt.date, offset: int) -> None:
    meeting = event(date=day)
    ics = build_invitation(
        meeting,
        sequence=0,
        attendee_name=None,
        attendee_email="anna@askersund.example",
        stamped_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    calendar = Calendar.from_ical(ics)
    (found,) = calendar.walk("VEVENT")
    (zone,) = calendar.walk("VTIMEZONE")

    assert found["DTSTART"].dt.utcoffset() == dt.timedelta(hours=offset)
    assert found["DTSTART"].dt.astimezone(dt.UTC).hour == 9 - offset
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}


def test_without_a_venue_the_digital_link_is_the_location_and_a_bad_attendee_is_left_out() -> None:
    meeting = event(venue=None, address=None, organiser_email="karin\r\nBcc: x@y")
    ics = build_invitation(
        meeting,
        sequence=0,
        attendee_name="Anna",
        attendee_email="inte en adress",
        stamped_at=dt.datetime(2019, 9, 12, tzinfo=dt.UTC),
    )
    (found,) = Calendar.from_ical(ics).walk("VEVENT")

    assert str(found["LOCATION"]) == "https://möte.example/bm2"
    assert "ATTENDEE" not in found
    assert "ORGANIZER" not in found


def test_printing_a_missing_name_fails_inside_the_render_naming_the_part() -> None:
    with pytest.raises(MessageTemplateError, match="texten: kunde inte fyllas i"):
        render("Hej {{ organisation.name }}", organisation=None)
    with pytest.raises(MessageTemplateError, match="ämnesraden: kunde inte fyllas i"):
        render("Hej", subject="{{ okänd }}")


def test_a_reminder_text_without_the_opt_out_link_is_refused_naming_the_body() -> None:
    from service.mail.message_templates import check_text

    without = check_text(MessageKind.UPLOAD_REMINDER, MessageText("Påminnelse", "Hej {{ link }}"))
    with_link = check_text(
        MessageKind.UPLOAD_REMINDER, MessageText("Påminnelse", "Sluta: {{ opt_out_link }}")
    )
    # Other kinds have no opt-out: their texts need no such link.
    invitation = check_text(MessageKind.INVITATION, MessageText("Inbjudan", "Hej {{ link }}"))

    assert [(p.location, p.message) for p in without] == [
        (
            "texten",
            "texten måste ha med {{ opt_out_link }}, länken där mottagaren avslutar påminnelser",
        )
    ]
    assert with_link == [] and invitation == []
