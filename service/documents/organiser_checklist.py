"""The organiser's meeting checklist (for the host of one meeting): facts in, context out.

Items come from the meeting's own checklist; a meeting without one gets SKR's list
(DOMAIN §1.5). An item's due date is its own, or follows from the meeting's date by the rule
its text matches (invitation two weeks before, presentations by the upload deadline, feedback
to SKR two weeks after, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.documents import swedish
from service.documents.blocks import ROLE_LABELS, meeting_block
from service.documents.facts import MeetingFacts, PersonFacts
from service.domain import deadlines

PHASES = ("before", "during", "after")
REQUIRED_ROLES = ("politiker", "chef", "strateg")
DONE = "☑"
NOT_DONE = "☐"


@dataclass(frozen=True)
class ChecklistItemFacts:
    """One item of the organiser's checklist as stored for the meeting."""

    phase: str  # before | during | after
    text: str
    done: bool | None = None
    due_date: dt.date | None = None
    responsible: str | None = None


@dataclass(frozen=True)
class OrganisationStatusFacts:
    """How far one organisation has come with what the meeting asks of it."""

    name: str
    roles: tuple[str, ...] = ()  # the roles of its delegation, one entry per participant
    self_assessment_submitted: bool = False
    contact: PersonFacts | None = None
    # The latest deck uploaded for the meeting: its local date, and whether by the deadline.
    presentation_uploaded_on: dt.date | None = None
    presentation_on_time: bool | None = None
    # What participants told at registration that they need (diet, hearing loop): (name, need),
    # for everyone registered for the meeting and not absent. The host plans around these.
    special_needs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OrganiserChecklistFacts:
    """Everything the organiser's checklist for one meeting shows."""

    network_name: str
    meeting: MeetingFacts
    organiser: str | None = None
    project_platform: str | None = None
    host_name: str | None = None
    mentor_names: tuple[str, ...] = ()
    round_label: str | None = None  # the self-assessment round held for this meeting
    items: tuple[ChecklistItemFacts, ...] = ()  # empty: use the default list
    organisations: tuple[OrganisationStatusFacts, ...] = ()
    next_meeting: MeetingFacts | None = None
    # False: deck uploads are not known here, and the column shows a dash.
    tracks_presentations: bool = False


# -- due dates ------------------------------------------------------------------------------

DueRule = Callable[[MeetingFacts], dt.date]


def _before(days: int) -> DueRule:
    return lambda meeting: meeting.date - dt.timedelta(days=days)


def _after(days: int) -> DueRule:
    return lambda meeting: meeting.date + dt.timedelta(days=days)


def _invitation(meeting: MeetingFacts) -> dt.date:
    return deadlines.invitation_send_by(meeting.date)


def _upload(meeting: MeetingFacts) -> dt.date:
    return meeting.upload_deadline


def _meeting_day(meeting: MeetingFacts) -> dt.date:
    return meeting.date


BOOKING = _before(28)  # the room must be known well before the invitation goes out
REGISTRATION = _before(7)  # special needs and roles settled once registration has closed
DOCUMENTATION = _after(7)
FEEDBACK = _after(14)

# A stored item without a due date gets the date of the first rule whose keyword its text
# contains (lower case); the keywords are the wordings of SKR's checklist.
_KEYWORD_RULES: tuple[tuple[str, tuple[str, ...], DueRule], ...] = (
    ("before", ("inbjudan",), _invitation),
    ("before", ("presentation",), _upload),
    ("before", ("datum och lokal", "boka"), BOOKING),
    ("before", ("särskilda behov", "roller"), REGISTRATION),
    (
        "before",
        ("lokal", "utrustning", "digitalt", "kollektivtrafik", "grupparbete"),
        _invitation,
    ),
    ("after", ("återkoppl",), FEEDBACK),
    ("after", ("dokumentation",), DOCUMENTATION),
)


def _due_by_text(phase: str, text: str) -> DueRule | None:
    if phase == "during":
        return _meeting_day
    lowered = text.casefold()
    for rule_phase, keywords, rule in _KEYWORD_RULES:
        if rule_phase == phase and any(k in lowered for k in keywords):
            return rule
    return None


# -- the default list (DOMAIN §1.5) ---------------------------------------------------------

HOST = "host"
EVERY_ORGANISATION = "Varje organisation"


@dataclass(frozen=True)
class _DefaultItem:
    phase: str
    text: str
    responsible: str  # HOST means the host organisation
    due: DueRule


def _default_items(facts: OrganiserChecklistFacts) -> list[_DefaultItem]:
    meeting = facts.meeting
    next_meeting = facts.next_meeting
    book_next = "Planera in nästa benchmarkingträff"
    if next_meeting is not None:
        book_next += f" ({next_meeting.title}, {swedish.long_date(next_meeting.date)})"
    return [
        _DefaultItem("before", "Datum och lokal bokade (värdorganisationen bokar)", HOST, BOOKING),
        _DefaultItem(
            "before",
            "Lokalen tillgänglig: rullstolsanpassning, hörselslinga, mikrofon",
            HOST,
            _invitation,
        ),
        _DefaultItem(
            "before",
            "Utrustning: projektor, whiteboard, blädderblock, pennor, wifi",
            HOST,
            _invitation,
        ),
        _DefaultItem("before", "Möjlighet att delta digitalt", HOST, _invitation),
        _DefaultItem("before", "Lättillgänglig med kollektivtrafik", HOST, _invitation),
        _DefaultItem(
            "before", "Lokalen tillräckligt stor för grupparbete i ”öar”", HOST, _invitation
        ),
        _DefaultItem(
            "before",
            "Särskilda behov från anmälan (specialkost, hörselslinga) omhändertagna",
            HOST,
            REGISTRATION,
        ),
        _DefaultItem(
            "before",
            "Roller fördelade: vem håller i vilka delar, vem antecknar",
            HOST,
            REGISTRATION,
        ),
        _DefaultItem(
            "before",
            "Inbjudan med agenda och material skickad, med kopia till SKR:s processledare",
            HOST,
            _invitation,
        ),
        _DefaultItem(
            "before",
            "Presentationerna uppladdade på projektplatsen (status på sista bilden)",
            EVERY_ORGANISATION,
            _upload,
        ),
        _DefaultItem("during", "Värd och mentor håller i mötet", HOST, _meeting_day),
        _DefaultItem(
            "during",
            "Utbyt erfarenheter; diskutera och lär över organisationsgränserna hur "
            "förbättringar kan genomföras på hemmaplan",
            "Alla",
            _meeting_day,
        ),
        _DefaultItem(
            "during",
            "Identifiera idéer om förbättringar för jämställdhetsintegrering",
            "Alla",
            _meeting_day,
        ),
        _DefaultItem("during", "SKR deltar när det är möjligt", "SKR", _meeting_day),
        _DefaultItem("during", book_next, HOST, _meeting_day),
        _DefaultItem(
            "after",
            f"Lägg ut dokumentationen på projektplatsen (mappen ”{meeting.title}”)",
            HOST,
            DOCUMENTATION,
        ),
        _DefaultItem("after", "Återkoppla till SKR: Plus – Minus – Intressant", HOST, FEEDBACK),
        _DefaultItem("after", "Skicka återkopplingsbrev till varje organisation", HOST, FEEDBACK),
    ]


def _rows(facts: OrganiserChecklistFacts) -> dict[str, list[dict[str, str]]]:
    """The items of each phase as table rows."""
    host = facts.host_name or "Värdorganisationen"
    rows: dict[str, list[dict[str, str]]] = {phase: [] for phase in PHASES}
    if facts.items:
        for item in facts.items:
            rule = _due_by_text(item.phase, item.text)
            due = item.due_date or (rule(facts.meeting) if rule else None)
            rows.setdefault(item.phase, []).append(
                {
                    "done": DONE if item.done else NOT_DONE,
                    "text": item.text,
                    "responsible": item.responsible or "",
                    "due": swedish.long_date(due),
                }
            )
        return rows
    for default in _default_items(facts):
        rows[default.phase].append(
            {
                "done": NOT_DONE,
                "text": default.text,
                "responsible": host if default.responsible == HOST else default.responsible,
                "due": swedish.long_date(default.due(facts.meeting)),
            }
        )
    return rows


# -- status per organisation ----------------------------------------------------------------


def _and_list(words: list[str]) -> str:
    """``a``, ``a och b``, ``a, b och c``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} och {words[-1]}"


def delegation_status(roles: tuple[str, ...]) -> str:
    """``komplett`` when politiker, chef and strateg take part, else what is missing."""
    missing = [ROLE_LABELS[r].lower() for r in REQUIRED_ROLES if r not in roles]
    return "komplett" if not missing else f"saknar {_and_list(missing)}"


def _contact(person: PersonFacts | None) -> str:
    if person is None:
        return ""
    return f"{person.name}\n{person.email}" if person.email else person.name


def presentation_status(org: OrganisationStatusFacts, *, tracked: bool) -> str:
    """``i tid (18 september 2019)``, ``sent (…)``, ``saknas``; a dash if not tracked."""
    if not tracked:
        return swedish.NOT_ASSESSED
    if org.presentation_uploaded_on is None:
        return "saknas"
    when = "i tid" if org.presentation_on_time else "sent"
    return f"{when} ({swedish.long_date(org.presentation_uploaded_on)})"


def special_needs_status(needs: tuple[tuple[str, str], ...]) -> str:
    """One line per person (``Anna Berg: vegetarisk kost``), or ``inga angivna``."""
    if not needs:
        return "inga angivna"
    return "\n".join(f"{name}: {need}" for name, need in needs)


def _organisation(
    org: OrganisationStatusFacts, *, has_round: bool, tracks_presentations: bool
) -> dict[str, str]:
    if not has_round:
        assessment = swedish.NOT_ASSESSED
    else:
        assessment = "inlämnad" if org.self_assessment_submitted else "saknas"
    return {
        "name": org.name,
        "delegation": delegation_status(org.roles),
        "self_assessment": assessment,
        "presentation": presentation_status(org, tracked=tracks_presentations),
        "contact": _contact(org.contact),
        "special_needs": special_needs_status(org.special_needs),
    }


# -- the context ----------------------------------------------------------------------------


def _practical(facts: OrganiserChecklistFacts, meeting: dict[str, Any]) -> list[dict[str, str]]:
    """The practical frame of the meeting as label/text rows; rows without text are left out."""
    title = f"{meeting['title']} – {meeting['theme']}" if meeting["theme"] else meeting["title"]
    when = ", ".join(x for x in (f"{meeting['weekday']} {meeting['date']}", meeting["time"]) if x)
    where = ", ".join(x for x in (meeting["venue"], meeting["place"]) if x)
    host = facts.host_name or "Värdorganisationen"
    rows = [
        ("Träff", title),
        ("Tid", when),
        ("Plats", where or "Meddelas i inbjudan"),
        ("Värd", f"{host} bokar lokalen och står för träffens kostnader"),
        ("Mentorer", _and_list(list(facts.mentor_names))),
        ("Resor", "Varje organisation betalar sina deltagares resor"),
        ("Lokal i Stockholm", "SKR kan låna ut en lokal om värden saknar en lämplig"),
        (
            "Viktiga datum",
            f"Inbjudan senast {meeting['invitation_send_by']} · presentationer senast "
            f"{meeting['upload_deadline']} · återkoppling till SKR senast "
            f"{meeting['feedback_due']}",
        ),
        ("Arrangör", facts.organiser or ""),
        ("Projektplats", facts.project_platform or ""),
    ]
    return [{"label": label, "text": text} for label, text in rows if text]


def build_organiser_checklist_context(facts: OrganiserChecklistFacts) -> dict[str, Any]:
    """The context the organiser's checklist template is rendered with; display-ready."""
    meeting = {
        **meeting_block(facts.meeting),
        "invitation_send_by": swedish.long_date(_invitation(facts.meeting)),
        "feedback_due": swedish.long_date(FEEDBACK(facts.meeting)),
    }
    rows = _rows(facts)
    has_round = facts.round_label is not None
    return {
        "network": {
            "name": facts.network_name,
            "organiser": facts.organiser or "",
            "project_platform": facts.project_platform or "",
        },
        "meeting": meeting,
        "host": {"name": facts.host_name or ""},
        "mentors": _and_list(list(facts.mentor_names)),
        "practical": _practical(facts, meeting),
        "before": rows["before"],
        "during": rows["during"],
        "after": rows["after"],
        "uses_default_items": not facts.items,
        "round_label": facts.round_label or "",
        "organisations": [
            _organisation(o, has_round=has_round, tracks_presentations=facts.tracks_presentations)
            for o in facts.organisations
        ],
        "next_meeting": meeting_block(facts.next_meeting) if facts.next_meeting else None,
    }
