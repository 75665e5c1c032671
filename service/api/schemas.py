"""What the entity endpoints answer with, and the query parameters their lists accept.

Request bodies are the input models of ``service.intake.entities``: the use cases validate
with them, so the API and any other entry point hold input to the same rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import AliasPath, BaseModel, ConfigDict, Field, computed_field

from service.domain.deadlines import invitation_send_by, upload_deadline
from service.domain.kinds import IndicatorPopulation, ParticipantRole
from service.intake.entities import MAX_ID, Listing
from service.intake.text_rules import Ref
from service.intake.vocabulary import ChecklistPhase, PdsaPhase, ProgrammeRole

MAX_PAGE_SIZE = 200

OutT = TypeVar("OutT", bound=BaseModel)


class Out(BaseModel):
    """Base of every answer: read from the stored entity's attributes."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[OutT]):
    """One page of a list, with the total count for paging on."""

    # A parametrised generic (Page[GroupOut]) loses the docstring in its schema.
    model_config = ConfigDict(json_schema_extra={"description": __doc__})
    items: list[OutT]
    total: int = Field(description="How many items the list has in all.")
    limit: int
    offset: int


class ProblemOut(BaseModel):
    """One bad input field, located by JSON path such as ``$.agenda_items[1].item``."""

    path: str
    message: str


class ErrorOut(BaseModel):
    """Why a request was refused; for invalid input, every bad field."""

    detail: str
    errors: list[ProblemOut] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid X-API-Key header or live access token."},
    404: {"model": ErrorOut, "description": "An id in the path does not exist."},
    409: {"model": ErrorOut, "description": "A ref is already taken."},
    422: {"model": ErrorOut, "description": "Invalid input; each problem names its JSON path."},
}


class PageQuery(BaseModel):
    """Paging parameters shared by every list."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="Items to skip.")

    def filters(self) -> dict[str, Any]:
        """The filter parameters that were given (everything but paging)."""
        return self.model_dump(exclude={"limit", "offset"}, exclude_none=True)


def page_of(out: type[OutT], listing: Listing[Any]) -> Page[OutT]:
    """A page of answers made from a listing of stored entities."""
    return Page(
        items=[out.model_validate(item) for item in listing.items],
        total=listing.total,
        limit=listing.limit,
        offset=listing.offset,
    )


class RefQuery(PageQuery):
    """List parameters for entities with a ref."""

    ref: Ref | None = Field(default=None, description="Only the entity with this ref.")


class OrganisationQuery(RefQuery):
    """List parameters for organisations."""

    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    programme_role: ProgrammeRole | None = None


class ParticipantQuery(RefQuery):
    """List parameters for participants."""

    role: ParticipantRole | None = None


class AssessmentRoundQuery(RefQuery):
    """List parameters for assessment rounds."""

    meeting_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class InitiativeQuery(RefQuery):
    """List parameters for improvement initiatives."""

    pdsa_phase: PdsaPhase | None = None


class OrganiserChecklistQuery(PageQuery):
    """List parameters for organiser checklist items."""

    phase: ChecklistPhase | None = None


class NetworkOut(Out):
    """A programme round (omgång)."""

    id: int
    ref: str
    name: str
    organiser: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    concept: str | None
    project_platform: str | None
    checklist_id: int | None


class GroupOut(Out):
    """A group (kluster) of a network, with its mentor organisation."""

    id: int
    network_id: int
    ref: str
    name: str
    note: str | None
    mentor_organisation_id: int | None


class OrganisationOut(Out):
    """A participating municipality, region or other body."""

    id: int
    network_id: int
    ref: str
    name: str
    type: str | None
    county: str | None
    programme_role: str | None
    group_id: int | None
    contact_participant_id: int | None
    political_decision_exists: bool | None
    political_decision_kind: str | None
    political_decision_year: int | None


class ParticipantOut(Out):
    """A person in an organisation's delegation."""

    id: int
    organisation_id: int
    ref: str
    name: str
    role: ParticipantRole
    title: str | None
    email: str | None
    phone: str | None


class AgendaItemOut(Out):
    """One slot of a meeting's programme."""

    id: int
    position: int
    start_time: dt.time | None
    end_time: dt.time | None
    item: str
    responsible: str | None
    format: str | None


class MeetingOut(Out):
    """A benchmarking meeting (träff) with its agenda and computed deadlines."""

    id: int
    network_id: int
    ref: str
    number: int
    step_number: int | None
    title: str
    theme: str | None
    date: dt.date
    start_time: dt.time | None
    end_time: dt.time | None
    place: str | None
    venue: str | None
    host_organisation_id: int | None
    upload_deadline_override: dt.date | None
    checklist_tab: str | None
    presentation_template: str | None
    goals: list[str]
    preparations: list[str]
    agenda_items: list[AgendaItemOut]
    venue_address: str | None
    travel_directions: str | None
    digital_link: str | None
    process_leader_name: str | None
    process_leader_email: str | None
    skr_contact_name: str | None
    skr_contact_email: str | None
    film_title: str | None
    film_link: str | None
    overview_anonymised: bool = Field(
        description="The network overview shows 'Organisation A, B, …' instead of names."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def upload_deadline(self) -> dt.date:
        """Presentations are due: the override, or a week before the meeting."""
        return upload_deadline(self.date, self.upload_deadline_override)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def invitation_send_by(self) -> dt.date:
        """The invitation must go out two weeks before the meeting."""
        return invitation_send_by(self.date)


class QuestionOut(Out):
    """A statement scored on the checklist's scale."""

    id: int
    ref: str
    position: int
    text: str
    source: str | None


class AreaOut(Out):
    """An area (område) of a checklist."""

    id: int
    ref: str
    position: int
    name: str
    name_en: str | None
    questions: list[QuestionOut]


class ChecklistOut(Out):
    """A self-assessment checklist with its scale, areas and questions."""

    id: int
    ref: str
    title: str
    version: str | None
    scale_min: int
    scale_max: int
    scale_labels: dict[str, str]
    tabs: list[str]
    areas: list[AreaOut]


class AssessmentRoundOut(Out):
    """A self-assessment round (such as "BM 2") of a network."""

    id: int
    network_id: int
    ref: str
    label: str
    meeting_id: int | None
    checklist_id: int
    assessed_on: dt.date | None


class ScoreSheetOut(Out):
    """An organisation's scores (null = not assessed) and comments in a round, by question ref."""

    round_id: int
    organisation_id: int
    scores: dict[str, int | None]
    comments: dict[str, str]


class MeasurementOut(Out):
    """One measurement of an indicator."""

    id: int
    date: dt.date
    is_baseline: bool
    value_total: float | None = Field(
        description="The value for everyone, when it is not split by sex."
    )
    value_women: float | None = Field(description="The value for women.")
    value_men: float | None = Field(description="The value for men.")


class IndicatorOut(Out):
    """How an initiative's effect is measured, split by women and men where possible."""

    id: int
    name: str
    unit: str | None
    population: IndicatorPopulation = Field(
        description="Whom the split values are about: kvinnor_män, flickor_pojkar or neutral."
    )
    measurements: list[MeasurementOut]


class InitiativeOut(Out):
    """An improvement initiative (förbättringsarbete) with its indicator."""

    id: int
    organisation_id: int
    ref: str
    title: str
    area_id: int | None
    question_refs: list[str]
    level: str | None
    verksamhet: str | None
    started: dt.date | None
    status: str | None
    pdsa_phase: str | None
    problem: str | None
    root_cause: str | None
    action: str | None
    results: str | None
    transferable: bool | None
    transfer_to: list[str]
    owner_participant_id: int | None
    # Stored as a list so that more can follow; the programme uses one per initiative.
    indicator: IndicatorOut | None = Field(
        default=None, validation_alias=AliasPath("indicators", 0)
    )


class AnalysisOut(Out):
    """An organisation's analysis of how leadership and culture support the work."""

    id: int
    organisation_id: int
    meeting_id: int
    strengths: str | None
    obstacles: str | None
    culture_observations: str | None
    film_reflection: str | None
    actions: str | None


class PlanActivityOut(Out):
    """One activity of a continuation plan."""

    id: int
    position: int
    activity: str
    owner_participant_id: int | None
    deadline: dt.date | None
    follow_up: str | None
    status: str | None


class PlanOut(Out):
    """An organisation's plan for continuing its work after a meeting."""

    id: int
    organisation_id: int
    meeting_id: int
    activities: list[PlanActivityOut]


class FeedbackOut(Out):
    """The organiser's Plus – Minus – Intressant feedback after a meeting."""

    id: int
    meeting_id: int
    author_organisation_id: int | None
    sent_to: str | None
    plus: list[str]
    minus: list[str]
    interesting: list[str]
    ideas_per_organisation: dict[str, list[str]]
    next_meeting_id: int | None


class OrganiserChecklistItemOut(Out):
    """A before/during/after item of the organiser's checklist for a meeting."""

    id: int
    meeting_id: int
    phase: str
    position: int
    text: str
    done: bool | None
    due_date: dt.date | None
    responsible: str | None
