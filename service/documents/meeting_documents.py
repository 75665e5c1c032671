"""A meeting's agenda, feedback letter and feedback summary: plain facts in, template context out.

Every builder is pure and returns display-ready values (Swedish dates, times and numbers).
Reflections are not invented: where the data has nothing, the documents show a visible
``[Fyll i …]`` placeholder (``placeholders``), which the pre-flight check before a batch lists
so that none reaches a participant unnoticed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from service.documents import placeholders as ph
from service.documents import swedish
from service.documents.blocks import (
    PROGRAMME_ROLE_LABELS,
    ROLE_LABELS,
    ROLE_ORDER,
    ProperNames,
    area_rows,
    indicator_line,
    plan_rows,
)
from service.documents.facts import (
    ChecklistFacts,
    InitiativeFacts,
    MeetingFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
    RoundFacts,
)
from service.domain.movement import compute_movement

# Roles that get a column of their own in the summary's attendance table.
CORE_ROLES = ("politiker", "chef", "strateg")
PRESENT = "✓"

# -- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkFacts:
    name: str
    organiser: str | None = None
    project_platform: str | None = None


@dataclass(frozen=True)
class AgendaItemFacts:
    item: str
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    responsible: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class MeetingOutlineFacts:
    """A meeting with what its documents say beyond the date: host, goals, preparations."""

    meeting: MeetingFacts
    host: OrganisationFacts | None = None
    goals: tuple[str, ...] = ()
    preparations: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgendaFacts:
    """The meeting agenda; with ``highlight`` set, the agenda of that organisation."""

    network: NetworkFacts
    outline: MeetingOutlineFacts
    items: tuple[AgendaItemFacts, ...]
    organisations: tuple[OrganisationFacts, ...]
    highlight: OrganisationFacts | None = None
    # True when the delegations are those registered for the meeting, not the whole roster.
    from_attendance: bool = False


@dataclass(frozen=True)
class TransferableFacts:
    """An improvement its organisation thinks can be transferred to other activities."""

    organisation_name: str
    title: str
    transfer_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedbackLetterFacts:
    """Everything the feedback letter to one organisation after a meeting shows."""

    network: NetworkFacts
    outline: MeetingOutlineFacts
    organisation: OrganisationFacts
    # The release date; None while the letter is a draft only organisers see.
    letter_date: dt.date | None
    checklist: ChecklistFacts | None
    previous_round: RoundFacts | None
    current_round: RoundFacts | None
    initiatives: tuple[InitiativeFacts, ...] = ()
    ideas: tuple[str, ...] = ()
    own_transferable: tuple[TransferableFacts, ...] = ()
    others_transferable: tuple[TransferableFacts, ...] = ()
    plan: tuple[PlanActivityFacts, ...] = ()
    next_meeting: MeetingOutlineFacts | None = None
    # The mentor of the organisation's group: signs the host's letter (the host never does).
    mentor: OrganisationFacts | None = None
    # "Er presentation – det vi särskilt noterade", written by the organiser before release.
    noted: str | None = None


@dataclass(frozen=True)
class FeedbackSummaryFacts:
    """The organiser's Plus – Minus – Intressant feedback on one meeting, to SKR."""

    network: NetworkFacts
    outline: MeetingOutlineFacts
    organisations: tuple[OrganisationFacts, ...]
    author: OrganisationFacts | None = None
    sent_to: str | None = None
    plus: tuple[str, ...] = ()
    minus: tuple[str, ...] = ()
    interesting: tuple[str, ...] = ()
    ideas_per_organisation: tuple[tuple[str, tuple[str, ...]], ...] = ()
    next_meeting: MeetingOutlineFacts | None = None
    # True when the delegations are those who came (attendance), not the whole roster.
    from_attendance: bool = False


# -- builders ---------------------------------------------------------------------------------


def build_agenda_context(facts: AgendaFacts) -> dict[str, Any]:
    """The agenda's context; rows naming the highlighted organisation are marked."""
    outline = facts.outline
    mentions = _mention_pattern(facts.highlight.name) if facts.highlight else None
    programme = []
    for item in facts.items:
        highlighted = mentions is not None and bool(
            mentions.search(f"{item.item}\n{item.responsible or ''}")
        )
        programme.append(
            {
                "time": _time_span(item.start_time, item.end_time),
                "item": item.item,
                "responsible": item.responsible or "",
                "format": item.format or "",
                "highlighted": highlighted,
            }
        )
    breaks = [
        f"{item.item} {_time_span(item.start_time, item.end_time)}".strip()
        for item in facts.items
        if (item.format or "").strip().lower() == "paus"
    ]
    meeting = outline.meeting
    return {
        "network": _network(facts.network),
        "meeting": meeting_block(meeting),
        "host": _host(outline.host),
        "highlight": facts.highlight.name if facts.highlight else None,
        "goals": _or_placeholder(outline.goals, ph.MEETING_GOALS),
        "preparations": _or_placeholder(outline.preparations, ph.PREPARATIONS),
        "film": _film(meeting),
        "programme": programme,
        "practical": {
            "breaks": ", ".join(breaks) if breaks else ph.BREAKS,
            "address": meeting.venue_address or ph.ADDRESS,
            "directions": meeting.travel_directions or ph.DIRECTIONS,
            "digital": meeting.digital_link or ph.DIGITAL_LINK,
        },
        "contacts": {
            "process_leader": _contact(
                meeting.process_leader_name, meeting.process_leader_email, ph.PROCESS_LEADER
            ),
            "skr": _contact(meeting.skr_contact_name, meeting.skr_contact_email, ph.SKR_CONTACT),
        },
        "participants_note": (
            "Anmälda deltagare." if facts.from_attendance else "Organisationernas delegationer."
        ),
        "organisations": [
            _attendance(org, from_attendance=facts.from_attendance) for org in facts.organisations
        ],
    }


def build_feedback_letter_context(facts: FeedbackLetterFacts) -> dict[str, Any]:
    """The feedback letter's context for one organisation.

    The sender is the host; the host's own letter comes from its group's mentor, or else from
    SKR's process leader, and thanks it for hosting rather than for taking part. A draft
    (no release date) says so where the date would be.
    """
    org = facts.organisation
    meeting = facts.outline.meeting
    sender_name, sender_person = letter_sender(facts)
    is_host = facts.outline.host is not None and facts.outline.host.name == org.name
    full_title = meeting_block(meeting)["full_title"]
    place = f" i {meeting.place}" if meeting.place else ""
    thanks = (
        f"Tack för att ni tog emot oss som värd för {full_title} den "
        f"{swedish.long_date(meeting.date)}{place}."
        if is_host
        else f"Tack för att ni deltog i {full_title} den {swedish.long_date(meeting.date)}{place}."
    )
    proper_names = [o.organisation_name for o in facts.others_transferable] + [org.name]
    aliases = _aliases(frozenset(proper_names))
    return {
        "network": _network(facts.network),
        "meeting": meeting_block(meeting),
        "organisation": {"name": org.name, "group_name": org.group_name or ""},
        "letter": {
            "to": ", ".join(filter(None, [org.name, person_label(org.contact)])),
            "from": ", ".join(filter(None, [sender_name, person_label(sender_person)])),
            "draft": facts.letter_date is None,
            "date": (
                swedish.long_date(facts.letter_date)
                if facts.letter_date
                else "Utkast – inte skickat ännu"
            ),
            "thanks": thanks,
            "signature": sender_person.name if sender_person else ph.SIGNATURE,
            "signature_organisation": sender_name,
        },
        "initiatives": [
            {
                "title": i.title,
                "status": ", ".join(
                    filter(None, [i.status, f"PDSA: {i.pdsa_phase}" if i.pdsa_phase else ""])
                ),
                "results": "\n".join(filter(None, [i.results, indicator_line(i)])),
            }
            for i in facts.initiatives
        ],
        "noted": facts.noted.strip() if facts.noted and facts.noted.strip() else ph.NOTED,
        "movement": _movement(facts.checklist, facts.previous_round, facts.current_round),
        "ideas": _or_placeholder(facts.ideas, ph.IDEAS),
        "own_transferable": [_transferable(t, aliases) for t in facts.own_transferable],
        "others_transferable": [_transferable(t, aliases) for t in facts.others_transferable],
        "plan": plan_rows(facts.plan),
        "next_meeting": _next_meeting(facts.next_meeting),
    }


def letter_sender(facts: FeedbackLetterFacts) -> tuple[str, PersonFacts | None]:
    """Who sends an organisation's letter: the host, else its mentor, else SKR's process leader.

    An organisation never writes to itself: the host's letter (and a mentor's when it hosts)
    falls through to the next role that is someone else.
    """
    org = facts.organisation
    host = facts.outline.host
    if host is not None and host.name != org.name:
        return host.name, host.contact
    mentor = facts.mentor
    if mentor is not None and mentor.name != org.name:
        return mentor.name, mentor.contact
    meeting = facts.outline.meeting
    if meeting.process_leader_name:
        leader = PersonFacts(
            name=meeting.process_leader_name,
            role="övrig",
            title="processledare",
            email=meeting.process_leader_email,
        )
        return facts.network.organiser or "SKR", leader
    return ph.SENDER, None


def build_feedback_summary_context(facts: FeedbackSummaryFacts) -> dict[str, Any]:
    """The context of the organiser's Plus – Minus – Intressant feedback to SKR."""
    outline = facts.outline
    mentors = [o.name for o in facts.organisations if o.programme_role == "mentor"]
    author = facts.author
    return {
        "network": _network(facts.network),
        "meeting": meeting_block(outline.meeting),
        "host": _host(outline.host),
        "mentors": ", ".join(mentors) or "–",
        "author": {
            "organisation": author.name if author else "[Fyll i]",
            "contact": person_label(author.contact) if author and author.contact else "[Fyll i]",
            "email": author.contact.email or "" if author and author.contact else "",
        },
        "sent_to": facts.sent_to or _sent_to(outline.meeting),
        "attendance_note": (
            "Enligt närvaron på träffen."
            if facts.from_attendance
            else "Enligt organisationernas delegationer (ingen närvaro registrerad)."
        ),
        "attendance": [_roles_present(org) for org in facts.organisations],
        "goals": _or_placeholder(outline.goals, ph.MEETING_GOALS),
        "plus": _or_placeholder(facts.plus, "[Fyll i vad som fungerade bra]"),
        "minus": _or_placeholder(facts.minus, "[Fyll i vad som kan bli bättre]"),
        "interesting": _or_placeholder(facts.interesting, "[Fyll i det som var intressant]"),
        "ideas": [
            {"organisation": name, "ideas": "\n".join(f"• {idea}" for idea in ideas)}
            for name, ideas in facts.ideas_per_organisation
        ],
        "next_meeting": _next_meeting(facts.next_meeting),
    }


# -- highlighting -----------------------------------------------------------------------------

_GENERIC_WORDS = frozenset({"kommun", "region", "landsting", "stad"})


@functools.lru_cache(maxsize=4096)
def organisation_aliases(name: str) -> tuple[str, ...]:
    """How an agenda names an organisation: ``Askersunds kommun`` → also ``Askersund``.

    The generic word (kommun, region, landsting, stad) is dropped, and with it the genitive
    s it leaves behind (``Askersunds kommun``); ``Region Värmland`` is also ``Värmland``.
    """
    words = name.split()
    core = [w for w in words if w.casefold() not in _GENERIC_WORDS]
    aliases = [name]
    if core and len(core) < len(words):
        short = " ".join(core)
        aliases.append(short)
        if words[-1].casefold() in _GENERIC_WORDS and short.endswith("s"):
            aliases.append(short[:-1])
    return tuple(dict.fromkeys(a for a in aliases if len(a) > 1))


def mentions_organisation(text: str, name: str) -> bool:
    """Whether ``text`` names the organisation, also by its short name or in the genitive."""
    return bool(_mention_pattern(name).search(text))


def mention_position(text: str, name: str) -> int | None:
    """Where ``text`` first names the organisation (as ``mentions_organisation``), or None."""
    found = _mention_pattern(name).search(text)
    return found.start() if found else None


def _mention_pattern(name: str) -> re.Pattern[str]:
    alternatives = "|".join(
        re.escape(a) for a in sorted(organisation_aliases(name), key=len, reverse=True)
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})s?(?!\w)", re.IGNORECASE)


# -- pieces -----------------------------------------------------------------------------------


def _network(network: NetworkFacts) -> dict[str, str]:
    return {
        "name": network.name,
        "organiser": network.organiser or "",
        "project_platform": network.project_platform or "projektplatsen",
    }


def meeting_block(meeting: MeetingFacts) -> dict[str, Any]:
    full_title = f"{meeting.title}: {meeting.theme}" if meeting.theme else meeting.title
    place = ", ".join(filter(None, [meeting.venue, meeting.place]))
    return {
        "title": meeting.title,
        "number": meeting.number,
        "theme": meeting.theme or "",
        "full_title": full_title,
        "date": swedish.long_date(meeting.date),
        "weekday": swedish.weekday(meeting.date),
        "time": _time_span(meeting.start_time, meeting.end_time),
        "place": meeting.place or "",
        "venue": meeting.venue or "",
        "location": place or ph.LOCATION,
        "upload_deadline": swedish.long_date(meeting.upload_deadline),
        "upload_deadline_weekday": swedish.weekday(meeting.upload_deadline),
        "checklist_tab": meeting.checklist_tab or "",
    }


def _next_meeting(outline: MeetingOutlineFacts | None) -> dict[str, Any] | None:
    if outline is None:
        return None
    return {
        **meeting_block(outline.meeting),
        "host": outline.host.name if outline.host else "",
        "preparations": list(outline.preparations),
    }


def _host(host: OrganisationFacts | None) -> dict[str, str]:
    if host is None:
        return {"name": ph.HOST, "contact": ph.HOST_CONTACT, "email": ""}
    contact = host.contact
    return {
        "name": host.name,
        "contact": person_label(contact) if contact else ph.HOST_CONTACT,
        "email": contact.email or "" if contact else "",
    }


def _contact(name: str | None, email: str | None, placeholder: str) -> str:
    """``Karin Dahl, karin.dahl@skr.example``; the placeholder when nobody is named."""
    if not name:
        return placeholder
    return ", ".join(filter(None, [name, email]))


def _film(meeting: MeetingFacts) -> dict[str, str] | None:
    """The film to prepare with, and its link; None when the meeting names no film."""
    if not meeting.film_title and not meeting.film_link:
        return None
    return {
        "title": meeting.film_title or "Filmen",
        "link": meeting.film_link or ph.FILM_LINK,
    }


def _sent_to(meeting: MeetingFacts) -> str:
    leader = meeting.process_leader_name
    return f"SKR:s processledare {leader}" if leader else "SKR:s processledare"


def _attendance(org: OrganisationFacts, *, from_attendance: bool) -> dict[str, str]:
    role = PROGRAMME_ROLE_LABELS.get(org.programme_role or "", "")
    nobody = "Ingen anmäld" if from_attendance else ph.DELEGATION
    return {
        "name": org.name,
        "role": " · ".join(filter(None, [role, org.group_name])),
        "delegation": "\n".join(
            f"{ROLE_LABELS.get(p.role, p.role)}: {person_label(p)}"
            for p in _by_role(org.delegation)
        )
        or nobody,
    }


def _roles_present(org: OrganisationFacts) -> dict[str, str]:
    roles = {p.role for p in org.delegation}
    others = [
        f"{ROLE_LABELS.get(p.role, p.role)} ({p.name})"
        for p in _by_role(org.delegation)
        if p.role not in CORE_ROLES
    ]
    return {
        "organisation": org.name,
        **{role: PRESENT if role in roles else "" for role in CORE_ROLES},
        "others": "\n".join(others),
    }


def _by_role(people: Iterable[PersonFacts]) -> list[PersonFacts]:
    return sorted(
        people,
        key=lambda p: ROLE_ORDER.index(p.role) if p.role in ROLE_ORDER else len(ROLE_ORDER),
    )


# Every letter of a network names the same organisations: one index (with the transfer
# targets it has lowered) serves them all.
@functools.lru_cache(maxsize=16)
def _aliases(proper_names: frozenset[str]) -> ProperNames:
    """Every way the letter may name an organisation (kept capitalised mid-sentence)."""
    return ProperNames(alias for name in proper_names for alias in organisation_aliases(name))


def _transferable(t: TransferableFacts, names: ProperNames) -> dict[str, str]:
    # Printed mid-sentence ("– kan överföras till alla nämnder"): no capital unless a name.
    return {
        "organisation": t.organisation_name,
        "title": t.title,
        "transfer_to": ", ".join(names.lower_initial(target) for target in t.transfer_to),
    }


def _movement(
    checklist: ChecklistFacts | None, previous: RoundFacts | None, current: RoundFacts | None
) -> dict[str, Any]:
    """Sums, area means and changed questions; dashes where a round is missing."""
    empty = {
        "previous_label": previous.label if previous else "Förra",
        "current_label": current.label if current else "Nu",
        "previous_sum": swedish.NOT_ASSESSED,
        "current_sum": swedish.NOT_ASSESSED,
        "max_sum": swedish.NOT_ASSESSED,
        "delta": swedish.NOT_ASSESSED,
        "areas": [],
        "changed": [],
    }
    if checklist is None or current is None:
        return empty
    result = compute_movement(
        checklist.questions,
        previous=previous.scores if previous else {},
        current=current.scores,
        scale=checklist.scale,
    )
    names = {a.ref: a.name for a in checklist.areas}
    numbers = {q.ref: str(n) for n, q in enumerate(checklist.questions, start=1)}
    comments = current.comments
    return {
        **empty,
        "previous_sum": str(result.previous.total) if previous else swedish.NOT_ASSESSED,
        "current_sum": str(result.current.total),
        "max_sum": str(result.current.max_total),
        "delta": swedish.signed(result.total_delta) if previous else swedish.NOT_ASSESSED,
        "areas": area_rows(result, names),
        "changed": [
            {
                # Numbered as in the checklist (1, 2, …), never by the internal id (Q14).
                "number": numbers.get(q.ref, ""),
                "text": checklist.question_texts.get(q.ref, ""),
                "change": (
                    f"{_score(q.previous)} → {_score(q.current)} ({swedish.signed(q.delta)})"
                ),
                "comment": comments.get(q.ref, ""),
            }
            for q in (result.changed if previous else [])
        ],
    }


def _score(value: int | None) -> str:
    return swedish.NOT_ASSESSED if value is None else str(value)


def _time_span(start: dt.time | None, end: dt.time | None) -> str:
    if start and end:
        return f"{swedish.clock(start)}–{swedish.clock(end)}"
    return swedish.clock(start or end)


def person_label(person: PersonFacts | None) -> str:
    """``Sofia Lindqvist, utvecklingsstrateg`` (name and title)."""
    if person is None:
        return ""
    return f"{person.name}, {person.title}" if person.title else person.name


def _or_placeholder(values: Sequence[str], placeholder: str) -> list[str]:
    return list(values) if values else [placeholder]
