"""Calendar invitations (iCalendar, RFC 5545/5546) for a meeting, built with ``icalendar``.

An invitation is ``METHOD:REQUEST`` with one event per meeting. The event's UID is fixed per
meeting, so Outlook, Google Calendar and Thunderbird update the event they already hold when
the meeting moves: a changed time or place is sent again with the same UID and a higher
SEQUENCE. The time zone is Europe/Stockholm with its VTIMEZONE included, so a calendar that
does not know the zone still shows the right hour. A meeting without a start time is an
all-day event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from service.domain.deadlines import SWEDISH_TIME

PRODUCT_ID = "-//benchdocs//SKR benchmarking//SV"


@dataclass(frozen=True)
class MeetingEvent:
    """What a calendar needs to know about one meeting."""

    uid: str
    title: str
    date: dt.date
    start: dt.time | None
    end: dt.time | None
    venue: str | None
    address: str | None
    digital_link: str | None
    description: str
    organiser_name: str | None
    organiser_email: str | None

    @property
    def location(self) -> str:
        """Venue and address on one line, as calendars show a location."""
        parts = [p.strip() for p in (self.venue, self.address) if p and p.strip()]
        if not parts and self.digital_link:
            parts = [self.digital_link]
        return ", ".join(" ".join(p.split()) for p in parts)

    def digest(self) -> str:
        """A digest of what a calendar shows: a new one means the event must be updated."""
        shown = {
            "title": self.title,
            "date": self.date.isoformat(),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "location": self.location,
            "link": self.digital_link,
        }
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def meeting_uid(meeting_id: int, network_ref: str) -> str:
    """One UID per meeting for ever (its id and network; never the date, which may move)."""
    safe_ref = "".join(c if c.isalnum() or c in "-_." else "-" for c in network_ref)
    return f"benchdocs-meeting-{meeting_id}-{safe_ref}@benchdocs"


def build_invitation(
    event: MeetingEvent,
    *,
    sequence: int,
    attendee_name: str | None,
    attendee_email: str,
    stamped_at: dt.datetime,
) -> bytes:
    """The iCalendar text of one attendee's invitation (or update, when ``sequence`` > 0)."""
    zone = ZoneInfo(SWEDISH_TIME)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add("calscale", "GREGORIAN")
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", sequence)
    vevent.add("dtstamp", stamped_at.astimezone(dt.UTC))
    if event.start is not None:
        start = dt.datetime.combine(event.date, event.start, tzinfo=zone)
        end_time = event.end if event.end is not None and event.end > event.start else None
        end = (
            dt.datetime.combine(event.date, end_time, tzinfo=zone)
            if end_time is not None
            else start + dt.timedelta(hours=1)
        )
        vevent.add("dtstart", start)
        vevent.add("dtend", end)
    else:
        vevent.add("dtstart", event.date)
        vevent.add("dtend", event.date + dt.timedelta(days=1))
    vevent.add("summary", _one_line(event.title))
    if event.location:
        vevent.add("location", event.location)
    if event.digital_link:
        vevent.add("url", event.digital_link)
    vevent.add("description", event.description)
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    if event.organiser_email:
        organiser = vCalAddress(f"mailto:{event.organiser_email}")
        if event.organiser_name:
            organiser.params["cn"] = vText(_one_line(event.organiser_name))
        vevent.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    if attendee_name:
        attendee.params["cn"] = vText(_one_line(attendee_name))
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    vevent.add("attendee", attendee)
    calendar.add_component(vevent)
    # The zone's rules for a span around the meeting: short, and right for that date.
    calendar.add_missing_timezones(
        first_date=dt.date(event.date.year - 1, 1, 1), last_date=dt.date(event.date.year + 2, 1, 1)
    )
    return bytes(calendar.to_ical())


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class EventDetails:
    """What an invitation's event says, read back for an organiser's page."""

    title: str
    start: dt.datetime | dt.date | None
    end: dt.datetime | dt.date | None
    location: str | None
    url: str | None
    sequence: int


def describe_invitation(ics: str) -> EventDetails | None:
    """The first event of an iCalendar text; None when there is none or it cannot be read."""
    try:
        calendar = Calendar.from_ical(ics)
    except ValueError:
        return None
    for component in calendar.walk("VEVENT"):
        start = component.get("dtstart")
        end = component.get("dtend")
        return EventDetails(
            title=str(component.get("summary", "")),
            start=start.dt if start is not None else None,
            end=end.dt if end is not None else None,
            location=str(component["location"]) if "location" in component else None,
            url=str(component["url"]) if "url" in component else None,
            sequence=int(component.get("sequence", 0)),
        )
    return None
