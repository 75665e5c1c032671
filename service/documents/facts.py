"""Plain facts a document is made from, loaded from the database by the generation layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.domain.movement import QuestionRef, Scale, Scores


@dataclass(frozen=True)
class PersonFacts:
    name: str
    role: str
    title: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OrganisationFacts:
    name: str
    type: str | None = None
    county: str | None = None
    programme_role: str | None = None
    group_name: str | None = None
    mentor_name: str | None = None
    political_decision_kind: str | None = None
    political_decision_year: int | None = None
    contact: PersonFacts | None = None
    delegation: tuple[PersonFacts, ...] = ()


@dataclass(frozen=True)
class MeetingFacts:
    title: str
    number: int
    date: dt.date
    upload_deadline: dt.date
    theme: str | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    place: str | None = None
    venue: str | None = None
    checklist_tab: str | None = None
    # Practical facts printed instead of organiser placeholders (see meeting_documents).
    venue_address: str | None = None
    travel_directions: str | None = None
    digital_link: str | None = None
    process_leader_name: str | None = None
    process_leader_email: str | None = None
    skr_contact_name: str | None = None
    skr_contact_email: str | None = None
    film_title: str | None = None
    film_link: str | None = None


@dataclass(frozen=True)
class AreaFacts:
    ref: str
    name: str


@dataclass(frozen=True)
class ChecklistFacts:
    scale: Scale
    areas: tuple[AreaFacts, ...]
    questions: tuple[QuestionRef, ...]
    question_texts: Mapping[str, str]  # read only: render workers share one between documents


@dataclass(frozen=True)
class RoundFacts:
    label: str
    scores: Scores
    comments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasurementFacts:
    date: dt.date
    total: float | None = None
    women: float | None = None
    men: float | None = None


@dataclass(frozen=True)
class InitiativeFacts:
    title: str
    level: str | None = None
    verksamhet: str | None = None
    status: str | None = None
    pdsa_phase: str | None = None
    problem: str | None = None
    action: str | None = None
    results: str | None = None
    owner: PersonFacts | None = None
    indicator_name: str | None = None
    indicator_unit: str | None = None
    # IndicatorPopulation's value: how the two values are labelled (kvinnor/män, flickor/pojkar).
    indicator_population: str = "kvinnor_män"
    baseline: MeasurementFacts | None = None
    latest: MeasurementFacts | None = None
    transferable: bool | None = None
    transfer_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndicatorFacts:
    """One indicator of an initiative with its baseline and latest measurement."""

    initiative_title: str
    name: str
    unit: str | None = None
    # IndicatorPopulation's value: how the two values are labelled (kvinnor/män, flickor/pojkar).
    population: str = "kvinnor_män"
    baseline: MeasurementFacts | None = None
    latest: MeasurementFacts | None = None


@dataclass(frozen=True)
class PlanActivityFacts:
    activity: str
    owner: PersonFacts | None = None
    deadline: dt.date | None = None
    follow_up: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class LeadershipFacts:
    """An organisation's analysis of how its leadership and culture carry the work."""

    strengths: str | None = None
    obstacles: str | None = None
    culture_observations: str | None = None
    film_reflection: str | None = None
    actions: str | None = None


@dataclass(frozen=True)
class FilmFacts:
    """The film a meeting asks the delegations to see and reflect on beforehand."""

    title: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class DeckFacts:
    """Everything the per-organisation presentation deck shows."""

    network_name: str
    organisation: OrganisationFacts
    meeting: MeetingFacts
    checklist: ChecklistFacts | None
    previous_round: RoundFacts | None
    current_round: RoundFacts | None
    initiatives: tuple[InitiativeFacts, ...]
    plan: tuple[PlanActivityFacts, ...]
    next_meeting: MeetingFacts | None
    leadership: LeadershipFacts | None = None
    film: FilmFacts | None = None
    # Every indicator of the organisation's initiatives, in order (a results chart each).
    indicators: tuple[IndicatorFacts, ...] = ()
