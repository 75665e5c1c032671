"""Organiser placeholders: what a document prints where a fact is missing, and finding them.

A placeholder (``[Fyll i …]``) asks the organiser for a fact the data lacks: the venue's
address, the digital link, the process leader. It must never reach a participant's file
unnoticed, so the pre-flight check before a batch (``service.batches.preflight``) builds each
document's context and lists the placeholders it would print, with the fact to enter instead.
Reflections the delegations write themselves (the deck's prompts) are not placeholders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MARK = "[Fyll i"

# Every organiser placeholder the meeting documents print, and the fact that replaces it.
MEETING_GOALS = "[Fyll i träffens mål]"
PREPARATIONS = "[Fyll i förberedelser]"
BREAKS = "[Fyll i tider för lunch och fika]"
LOCATION = "[Fyll i plats]"
ADDRESS = "[Fyll i besöksadress]"
DIRECTIONS = "[Fyll i vägbeskrivning och kollektivtrafik]"
DIGITAL_LINK = "[Fyll i länk om digitalt deltagande erbjuds]"
PROCESS_LEADER = "[Fyll i namn och e-post till processledaren]"
SKR_CONTACT = "[Fyll i namn och e-post till SKR:s kontaktperson]"
FILM_LINK = "[Fyll i länk till filmen]"
HOST = "[Fyll i värd]"
HOST_CONTACT = "[Fyll i kontaktperson]"
DELEGATION = "[Fyll i deltagare]"
NOTED = "[Fyll i det ni särskilt noterade i presentationen]"
IDEAS = "[Fyll i idéer som ni tar med hem]"
SENDER = "[Fyll i avsändare]"
SIGNATURE = "[Fyll i namn]"

FACTS = {
    MEETING_GOALS: "meeting goals",
    PREPARATIONS: "meeting preparations",
    BREAKS: "agenda items with format 'paus' (lunch, fika)",
    LOCATION: "meeting place or venue",
    ADDRESS: "meeting venue_address",
    DIRECTIONS: "meeting travel_directions",
    DIGITAL_LINK: "meeting digital_link",
    PROCESS_LEADER: "meeting process_leader_name and process_leader_email",
    SKR_CONTACT: "meeting skr_contact_name and skr_contact_email",
    FILM_LINK: "meeting film_link",
    HOST: "meeting host organisation",
    HOST_CONTACT: "the host organisation's contact person",
    DELEGATION: "an organisation's participants",
    NOTED: "the letter's noted text (what was noted in the presentation)",
    IDEAS: "the letter's ideas, or the meeting feedback's ideas for the organisation",
    SENDER: "meeting host, the group's mentor or the process leader",
    SIGNATURE: "a contact person of the sender",
}


def placeholders_in(context: Any) -> list[str]:
    """Every distinct organiser placeholder a context would print, in the order met."""
    return list(dict.fromkeys(_walk(context)))


def missing_fact(placeholder: str) -> str:
    """The fact to enter so the document prints it instead of the placeholder."""
    return FACTS.get(placeholder, "a fact the document needs")


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        start = value.find(MARK)
        while start != -1:
            end = value.find("]", start)
            if end == -1:
                break
            yield value[start : end + 1]
            start = value.find(MARK, end)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item)
