"""The programme import format (see docs/import-format.md), as pydantic models.

It is the format of the sample programme: references between records are the ``id``
strings of the file (``"askersund"``, ``"p07"``, ``"Q14"``), resolved on import.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.domain.kinds import IndicatorPopulation, ParticipantRole
from service.intake.text_rules import LongText, Ref, ShortText, Text50, Text100
from service.intake.vocabulary import ActivityStatus, Email, PdsaPhase, ProgrammeRole, WebLink


class Record(BaseModel):
    """Base of every record: unknown fields are an error, so typos do not vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Period(Record):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class GroupIn(Record):
    id: Ref
    name: ShortText
    mentor_org_id: Ref | None = None
    note: LongText | None = None


class MilestoneIn(Record):
    type: Text50
    date: dt.date
    place: ShortText | None = None
    host: ShortText | None = None
    note: LongText | None = None


class NetworkIn(Record):
    id: Ref
    name: ShortText
    organiser: ShortText | None = None
    period: Period | None = None
    concept: LongText | None = None
    project_platform: ShortText | None = None
    groups: list[GroupIn] = Field(default_factory=list, max_length=500)
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=100)


class PoliticalDecisionIn(Record):
    exists: bool
    kind: ShortText | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)


class OrganisationIn(Record):
    id: Ref
    name: ShortText
    type: Text50 | None = None
    county: Text100 | None = None
    programme_role: ProgrammeRole | None = None
    group_id: Ref | None = None
    contact_person_id: Ref | None = None
    political_decision: PoliticalDecisionIn | None = None


class ParticipantIn(Record):
    id: Ref
    organisation_id: Ref
    name: ShortText
    role: ParticipantRole
    title: ShortText | None = None
    email: Email | None = None
    phone: Text50 | None = None


class AgendaItemIn(Record):
    start: dt.time | None = None
    end: dt.time | None = None
    item: LongText
    responsible: ShortText | None = None
    format: ShortText | None = None


class MeetingDetails(Record):
    """What the agenda and letters print about a meeting instead of organiser placeholders.

    Shared with the API, so a meeting created there says the same as one imported.
    """

    venue_address: LongText | None = Field(
        default=None, description="Street address of the venue (Praktisk information)."
    )
    travel_directions: LongText | None = Field(
        default=None, description="How to get there: public transport, parking."
    )
    digital_link: WebLink | None = Field(
        default=None, description="Link for taking part digitally (https://…)."
    )
    process_leader_name: ShortText | None = Field(
        default=None, description="SKR:s processledare: leads the meeting's process."
    )
    process_leader_email: Email | None = None
    skr_contact_name: ShortText | None = Field(default=None, description="SKR:s kontaktperson.")
    skr_contact_email: Email | None = None
    film_title: ShortText | None = Field(default=None, description="The film to prepare with.")
    film_link: WebLink | None = None


class MeetingIn(MeetingDetails):
    id: Ref
    number: int = Field(ge=0, le=100)
    step_number: int | None = Field(default=None, ge=0, le=100)
    title: ShortText
    theme: ShortText | None = None
    date: dt.date
    start: dt.time | None = None
    end: dt.time | None = None
    place: ShortText | None = None
    venue: ShortText | None = None
    host_org_id: Ref | None = None
    presentation_upload_deadline: dt.date | None = None
    checklist_tab: Text100 | None = None
    presentation_template: ShortText | None = None
    goals: list[LongText] = Field(default_factory=list, max_length=50)
    preparations: list[LongText] = Field(default_factory=list, max_length=50)
    agenda: list[AgendaItemIn] = Field(default_factory=list, max_length=200)
    overview_anonymised: bool = False


class ScaleIn(Record):
    id: Ref | None = None
    min: int = Field(ge=0, le=10)
    max: int = Field(ge=1, le=10)
    labels: dict[str, ShortText] = Field(default_factory=dict)
    source: LongText | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ScaleIn:
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        for key in self.labels:
            if not key.lstrip("-").isdigit() or not self.min <= int(key) <= self.max:
                raise ValueError(f"label key {key!r} is not a value on the scale")
        return self


class QuestionIn(Record):
    id: Ref
    text: LongText
    source: Text50 | None = None


class AreaIn(Record):
    id: Ref
    name: ShortText
    name_en: ShortText | None = None
    questions: list[QuestionIn] = Field(min_length=1, max_length=200)


class ChecklistIn(Record):
    id: Ref
    title: ShortText
    version: Text50 | None = None
    scale: ScaleIn
    tabs: list[ShortText] = Field(default_factory=list, max_length=20)
    areas: list[AreaIn] = Field(min_length=1, max_length=100)


class SelfAssessmentIn(Record):
    id: Ref
    round_label: Text100
    meeting_id: Ref | None = None
    assessed_on: dt.date | None = None
    checklist_id: Ref
    question_order: list[Ref] = Field(min_length=1, max_length=1000)
    scores: dict[Ref, list[int | None]] = Field(default_factory=dict)
    comments: dict[Ref, dict[Ref, LongText]] = Field(default_factory=dict)


# A measured figure: finite (Python's JSON parser reads NaN and Infinity; they are refused).
Amount = Annotated[float, Field(allow_inf_nan=False)]


class MeasurementValues(Record):
    """What a measurement says, named as stored: one vocabulary for the import file and the API."""

    value_total: Amount | None = Field(
        default=None, description="The value for everyone, when it is not split by sex."
    )
    value_women: Amount | None = Field(default=None, description="The value for women.")
    value_men: Amount | None = Field(default=None, description="The value for men.")

    @model_validator(mode="after")
    def _has_a_value(self) -> Self:
        if self.value_total is None and self.value_women is None and self.value_men is None:
            raise ValueError("a measurement needs value_total, or value_women and/or value_men")
        return self


# The import file's first names for the values: files written with them still import.
OLD_MEASUREMENT_NAMES = {"value": "value_total", "women": "value_women", "men": "value_men"}


class MeasurementIn(MeasurementValues):
    date: dt.date

    @model_validator(mode="before")
    @classmethod
    def _read_old_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for old, new in OLD_MEASUREMENT_NAMES.items():
            if old in data and new in data:
                raise ValueError(
                    f"{old} is the old name of {new}: give {new} only (both are given)"
                )
        return {OLD_MEASUREMENT_NAMES.get(key, key): value for key, value in data.items()}


class IndicatorIn(Record):
    name: ShortText
    unit: Text50 | None = None
    # Whom the split values are about: labels kvinnor/män, flickor/pojkar or the neutral pair.
    population: IndicatorPopulation = IndicatorPopulation.WOMEN_MEN
    baseline: MeasurementIn | None = None
    latest: MeasurementIn | None = None


class InitiativeFields(Record):
    """What an improvement initiative says about its work; shared with the API."""

    level: Text100 | None = None
    verksamhet: ShortText | None = None
    started: dt.date | None = None
    status: Text100 | None = None
    pdsa_phase: PdsaPhase | None = None
    problem: LongText | None = None
    root_cause: LongText | None = None
    action: LongText | None = None
    results: LongText | None = None
    transferable: bool | None = None


class InitiativeIn(InitiativeFields):
    id: Ref
    organisation_id: Ref
    title: ShortText
    area_id: Ref | None = None
    checklist_questions: list[Ref] = Field(default_factory=list, max_length=200)
    indicator: IndicatorIn | None = None
    transfer_to: list[ShortText] = Field(default_factory=list, max_length=50)
    owner_participant_id: Ref | None = None


class AnalysisFields(Record):
    """What a leadership and culture analysis says; shared with the API."""

    strengths: LongText | None = None
    obstacles: LongText | None = None
    culture_observations: LongText | None = None
    film_reflection: LongText | None = None
    actions: LongText | None = None


class LeadershipCultureAnalysisIn(AnalysisFields):
    organisation_id: Ref
    meeting_id: Ref


class PlanActivityIn(Record):
    activity: LongText
    owner_participant_id: Ref | None = None
    deadline: dt.date | None = None
    follow_up: LongText | None = None
    status: ActivityStatus | None = None


class ContinuationPlanIn(Record):
    organisation_id: Ref
    meeting_id: Ref
    activities: list[PlanActivityIn] = Field(default_factory=list, max_length=200)


class NextMeetingIn(Record):
    meeting_id: Ref
    date: dt.date | None = None
    place: ShortText | None = None


class MeetingFeedbackIn(Record):
    meeting_id: Ref
    sent_to: ShortText | None = None
    author_org_id: Ref | None = None
    plus: list[LongText] = Field(default_factory=list, max_length=100)
    minus: list[LongText] = Field(default_factory=list, max_length=100)
    interesting: list[LongText] = Field(default_factory=list, max_length=100)
    ideas_per_org: dict[Ref, list[LongText]] = Field(default_factory=dict)
    next_meeting: NextMeetingIn | None = None


class ChecklistItemIn(Record):
    item: LongText
    done: bool | None = None
    due_date: dt.date | None = None
    responsible: ShortText | None = None


class OrganiserChecklistIn(Record):
    meeting_id: Ref
    host_org_id: Ref | None = None
    before: list[ChecklistItemIn] = Field(default_factory=list, max_length=200)
    during: list[ChecklistItemIn] = Field(default_factory=list, max_length=200)
    after: list[ChecklistItemIn] = Field(default_factory=list, max_length=200)


class ProgrammeIn(Record):
    """A whole programme round: the unit of import, stored all or nothing."""

    note: LongText | None = Field(default=None, alias="_note")
    network: NetworkIn
    organisations: list[OrganisationIn] = Field(max_length=2000)
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=20000)
    meetings: list[MeetingIn] = Field(default_factory=list, max_length=100)
    checklist: ChecklistIn
    self_assessments: list[SelfAssessmentIn] = Field(default_factory=list, max_length=100)
    # Derived figures in a file are for people to check against; benchdocs computes its own.
    derived_example: dict[str, Any] | None = None
    improvement_initiatives: list[InitiativeIn] = Field(default_factory=list, max_length=20000)
    leadership_culture_analyses: list[LeadershipCultureAnalysisIn] = Field(
        default_factory=list, max_length=20000
    )
    continuation_plans: list[ContinuationPlanIn] = Field(default_factory=list, max_length=20000)
    meeting_feedback: list[MeetingFeedbackIn] = Field(default_factory=list, max_length=1000)
    organiser_checklists: list[OrganiserChecklistIn] = Field(default_factory=list, max_length=1000)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
