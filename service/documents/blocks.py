"""Context blocks that more than one document shows: the meeting, a person, an indicator,
role labels, the areas' movement and the continuation plan as table rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.documents import swedish
from service.documents.facts import (
    InitiativeFacts,
    MeasurementFacts,
    MeetingFacts,
    PersonFacts,
    PlanActivityFacts,
)
from service.domain.movement import Movement

ROLE_LABELS = {
    "politiker": "Politiker",
    "chef": "Chef",
    "strateg": "Strateg",
    "controller": "Controller",
    "statistiker": "Statistiker",
    "kommunikatör": "Kommunikatör",
    "övrig": "Övrig",
}
ROLE_ORDER = list(ROLE_LABELS)
PROGRAMME_ROLE_LABELS = {"mentor": "Mentor", "benchmarkingorganisation": "Benchmarkingorganisation"}


def person_label(person: PersonFacts | None) -> str:
    """A person as "Name (title)"; empty for nobody."""
    if person is None:
        return ""
    return f"{person.name} ({person.title})" if person.title else person.name


def meeting_block(meeting: MeetingFacts) -> dict[str, Any]:
    """The meeting as display-ready text: title, date, weekday, time, place, deadline."""
    time = ""
    if meeting.start_time and meeting.end_time:
        time = f"{swedish.clock(meeting.start_time)}–{swedish.clock(meeting.end_time)}"
    return {
        "title": meeting.title,
        "number": meeting.number,
        "theme": meeting.theme or "",
        "date": swedish.long_date(meeting.date),
        "weekday": swedish.weekday(meeting.date),
        "time": time,
        "place": meeting.place or "",
        "venue": meeting.venue or "",
        "upload_deadline": swedish.long_date(meeting.upload_deadline),
        "checklist_tab": meeting.checklist_tab or "",
    }


# How the two values of an indicator are named, by its population (IndicatorPopulation).
POPULATION_LABELS = {
    "kvinnor_män": ("kvinnor", "män"),
    "flickor_pojkar": ("flickor", "pojkar"),
    "neutral": ("kvinnor och flickor", "män och pojkar"),
}


def measurement_value(measurement: MeasurementFacts, population: str = "kvinnor_män") -> str:
    """A measurement: split by sex when it is (labelled for its population), else the total."""
    if measurement.women is not None or measurement.men is not None:
        first, second = POPULATION_LABELS.get(population, POPULATION_LABELS["kvinnor_män"])
        return (
            f"{first} {swedish.number(measurement.women)}, "
            f"{second} {swedish.number(measurement.men)}"
        )
    return swedish.measure(measurement.total)


def indicator_line(initiative: InitiativeFacts) -> str:
    """An initiative's indicator with its baseline and latest measurement, on one line."""
    if not initiative.indicator_name:
        return ""
    unit = f" ({initiative.indicator_unit})" if initiative.indicator_unit else ""
    parts = [f"{initiative.indicator_name}{unit}"]
    if initiative.baseline:
        parts.append(
            f"utgångsläge {swedish.long_date(initiative.baseline.date)}: "
            f"{measurement_value(initiative.baseline, initiative.indicator_population)}"
        )
    if initiative.latest:
        latest = initiative.latest
        value = measurement_value(latest, initiative.indicator_population)
        parts.append(f"senast {swedish.long_date(latest.date)}: {value}")
    return "; ".join(parts)


def area_rows(result: Movement, names: Mapping[str, str]) -> list[dict[str, str]]:
    """Mean per area before and now, and the change, as Swedish table cells."""
    return [
        {
            "name": names.get(a.area_ref, a.area_ref),
            "previous": swedish.number(a.previous_mean, decimals=2),
            "current": swedish.number(a.current_mean, decimals=2),
            "delta": swedish.signed(a.delta, decimals=2),
        }
        for a in result.areas
    ]


def plan_rows(plan: Sequence[PlanActivityFacts]) -> list[dict[str, str]]:
    """A continuation plan as table rows: activity, owner, deadline, follow-up, status."""
    return [
        {
            "activity": a.activity,
            "owner": person_label(a.owner),
            "deadline": swedish.long_date(a.deadline),
            "follow_up": long_dates_in(a.follow_up or ""),
            "status": a.status or "",
        }
        for a in plan
    ]


_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")


def long_dates_in(text: str) -> str:
    """Free text with its ISO dates (``2019-11-25``) written the documents' way (25 november 2019).

    One date style per document: a plan's follow-up typed as "Ledningsgrupp 2019-11-25" sits in
    a table whose deadlines read "15 november 2019".
    """

    def spelled(match: re.Match[str]) -> str:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]  # not a real date: leave it as typed
        return swedish.long_date(day)

    return _ISO_DATE.sub(spelled, text)


class ProperNames:
    """Names kept capitalised by ``lower_initial``, indexed once for many texts.

    A letter lowers every transfer target of every organisation's initiatives against every
    organisation's names: scanning the names for each target grew with the square of the
    network, a set lookup per space in the text does not.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.first_words = frozenset(name.split()[0] for name in self.names if name.split())
        self._lowered: dict[str, str] = {}

    def lower_initial(self, text: str) -> str:
        """``lower_initial(text, self)``, remembered: a network's letters lower the same
        transfer targets against the same names."""
        lowered = self._lowered.get(text)
        if lowered is None:
            lowered = self._lowered[text] = lower_initial(text, self)
        return lowered

    def starts(self, text: str) -> bool:
        """Whether the text is one of the names or starts with one and a space."""
        if text in self.names:
            return True
        return any(char == " " and text[:index] in self.names for index, char in enumerate(text))


def lower_initial(text: str, proper_names: Iterable[str] | ProperNames = ()) -> str:
    """``Alla nämnder`` → ``alla nämnder`` for use mid-sentence; names and acronyms stay.

    Kept as typed: a text starting with one of ``proper_names`` (organisations and their short
    names), with "Region", a genitive place name ("Västmanlands kommuner") or an acronym (LSS).
    """
    words = text.split(maxsplit=1)
    if not words or len(words[0]) < 2 or not words[0][0].isupper() or not words[0][1].islower():
        return text
    first = words[0].rstrip(",.:;")
    if first in ("Region", "Sverige", "Sveriges") or first.endswith("lands"):
        return text
    names = proper_names if isinstance(proper_names, ProperNames) else ProperNames(proper_names)
    if names.starts(text) or first in names.first_words:
        return text
    return text[0].lower() + text[1:]
