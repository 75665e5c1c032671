"""Context blocks that more than one document shows: the meeting, a person, an indicator,
role labels, the areas' movement and the continuation plan as table rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def measurement_value(measurement: MeasurementFacts) -> str:
    """A measurement: split by gender when it is, else the total with its unit."""
    if measurement.women is not None or measurement.men is not None:
        return f"kvinnor {swedish.number(measurement.women)}, män {swedish.number(measurement.men)}"
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
            f"{measurement_value(initiative.baseline)}"
        )
    if initiative.latest:
        latest = initiative.latest
        parts.append(f"senast {swedish.long_date(latest.date)}: {measurement_value(latest)}")
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
            "follow_up": a.follow_up or "",
            "status": a.status or "",
        }
        for a in plan
    ]
