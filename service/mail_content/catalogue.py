"""The kinds of message: their Swedish names, who gets them, and an example of their data.

The example context is the schema an edited template is checked against (unknown names are
refused before an organiser saves), and the data of the preview shown beside the editor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.domain.kinds import MessageKind
from service.mail_content.templates import Link

TEMPLATE_FOLDER = "messages"  # under doc_templates/: the built-in text of each kind


@dataclass(frozen=True)
class MessageSpec:
    """One kind of message."""

    kind: MessageKind
    name: str  # Swedish, as organisers read it in lists
    recipients: str  # Swedish: who gets it
    when: str  # Swedish: when it is sent
    with_calendar: bool = False
    with_opt_out: bool = False

    @property
    def template_file(self) -> str:
        """The built-in template's file name under ``doc_templates/messages``."""
        return f"{self.kind.value}.txt"


MESSAGE_SPECS: dict[MessageKind, MessageSpec] = {
    spec.kind: spec
    for spec in (
        MessageSpec(
            MessageKind.INVITATION,
            name="Inbjudan",
            recipients="varje deltagare med e-postadress, och en kopia till SKR:s kontaktperson",
            when="14 dagar före träffen",
            with_calendar=True,
        ),
        MessageSpec(
            MessageKind.UPLOAD_REMINDER,
            name="Påminnelse om uppladdning",
            recipients="kontaktpersonen (annars delegationen) i organisationer som inte laddat upp",
            when="3 dagar före sista dag för uppladdning",
            with_opt_out=True,
        ),
        MessageSpec(
            MessageKind.LATE_UPLOADS,
            name="Sena inlämningar",
            recipients="processledaren",
            when="dagen efter sista dag för uppladdning",
        ),
        MessageSpec(
            MessageKind.LETTER_READY,
            name="Återkopplingen är klar",
            recipients="organisationens deltagare",
            when="när ett återkopplingsbrev släpps",
        ),
        MessageSpec(
            MessageKind.MEETING_CHANGED,
            name="Ändrad tid eller plats",
            recipients="alla som fått inbjudan",
            when="dagen efter att träffens tid eller plats ändrats",
            with_calendar=True,
        ),
    )
}


def example_meeting() -> dict[str, Any]:
    """A meeting as message templates see it."""
    return {
        "title": "Benchmarking 2",
        "number": 2,
        "theme": "Styrning och ledning",
        "date": dt.date(2027, 3, 18),
        "start": "09.30",
        "end": "15.30",
        "place": "Örebro",
        "venue": "Konferens Örebro",
        "venue_address": "Storgatan 1, 702 10 Örebro",
        "digital_link": Link("https://möte.example.se/bm2"),
        "upload_deadline": dt.date(2027, 3, 11),
    }


def example_context(kind: MessageKind) -> dict[str, Any]:
    """Example data for one kind: the names its template may use, with plausible values."""
    context: dict[str, Any] = {
        "recipient": {"name": "Anna Andersson", "email": "anna.andersson@askersund.se"},
        "organisation": {"name": "Askersunds kommun"},
        "meeting": example_meeting(),
        "network": {"name": "Jämställdhetsintegrering 2027", "organiser": "SKR"},
        "sender": {"name": "Eva Ek", "email": "eva.ek@skr.se"},
        "link": Link("https://benchdocs.example.se/lank/bdt_exempel"),
    }
    if kind is MessageKind.INVITATION:
        context["documents"] = ["Agenda", "Presentation", "Självskattning"]
        context["copy"] = {"participants": 24, "organisations": 8}
    if kind is MessageKind.UPLOAD_REMINDER:
        context["missing"] = ["presentationen", "den ifyllda självskattningen"]
        context["opt_out_link"] = Link("https://benchdocs.example.se/e-post/avsluta/exempel")
    if kind is MessageKind.LATE_UPLOADS:
        context["late"] = [
            {"name": "Askersunds kommun", "missing": "presentationen"},
            {"name": "Region Örebro län", "missing": "presentationen och självskattningen"},
        ]
    return context
