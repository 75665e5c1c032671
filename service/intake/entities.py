"""Create, read and update the programme's entities one at a time, naming every bad field.

The input models reuse the import format's text rules (``ShortText``, ``LongText``, ``Ref``), so
text typed into the API is held to the same rules as text in an import file. Field names are
those of the stored entity, so what a client sends is what it reads back. References between
entities are integer ids and must stay inside one network.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, Protocol, TypeVar

from pydantic import AfterValidator, Field, StrictInt, model_validator
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import ParticipantRole
from service.errors import ConflictError, InvalidInputError, NotFoundError, Problem
from service.intake.programme_format import AnalysisFields, Record
from service.intake.text_rules import LongText, Ref, ShortText, Text50, Text100
from service.intake.vocabulary import (
    ActivityStatus,
    ChecklistPhase,
    Email,
    PdsaPhase,
    ProgrammeRole,
)

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database

E = TypeVar("E", bound=m.Base)
T = TypeVar("T")


def _refuse_null(value: T) -> T:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


# A PATCH field that may be left out but not set to null (its column is NOT NULL).
NonNull = Annotated[T | None, AfterValidator(_refuse_null)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Amount = Annotated[float, Field(allow_inf_nan=False)]
TextList = Annotated[list[LongText], Field(max_length=100)]


# ---------------------------------------------------------------------------------------------
# Input models. A *Patch lists what may change (a field left out keeps its value); the matching
# *Create extends it with what is required, or only settable, on creation.


class NetworkPatch(Record):
    """Changes to a network."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    organiser: ShortText | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    concept: LongText | None = None
    project_platform: ShortText | None = None
    checklist_id: Id | None = None


class NetworkCreate(NetworkPatch):
    """A new network (programme round); without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


class GroupPatch(Record):
    """Changes to a group."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    note: LongText | None = None
    mentor_organisation_id: Id | None = None


class GroupCreate(GroupPatch):
    """A new group (cluster) of a network; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


class OrganisationFields(Record):
    """What can be set on an organisation both on creation and later."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    type: Text50 | None = None
    county: Text100 | None = None
    programme_role: ProgrammeRole | None = None
    group_id: Id | None = None
    political_decision_exists: bool | None = None
    political_decision_kind: ShortText | None = None
    political_decision_year: int | None = Field(default=None, ge=1900, le=2100)


class OrganisationCreate(OrganisationFields):
    """A new organisation of a network; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText


class OrganisationPatch(OrganisationFields):
    """Changes to an organisation; its contact must be one of its own participants."""

    contact_participant_id: Id | None = None


class ParticipantFields(Record):
    """What can be set on a participant both on creation and later."""

    ref: NonNull[Ref] = None
    name: NonNull[ShortText] = None
    role: NonNull[ParticipantRole] = None
    title: ShortText | None = None
    email: Email | None = None
    phone: Text50 | None = None


class ParticipantCreate(ParticipantFields):
    """A new participant of an organisation; without a ref, one is made from the name."""

    ref: Ref | None = None
    name: ShortText
    role: ParticipantRole


class ParticipantPatch(ParticipantFields):
    """Changes to a participant, who may move to another organisation of the same network."""

    organisation_id: NonNull[Id] = None


class AgendaItemCreate(Record):
    """One slot of a meeting's programme."""

    start_time: dt.time | None = None
    end_time: dt.time | None = None
    item: LongText
    responsible: ShortText | None = None
    format: ShortText | None = None


AgendaItems = Annotated[list[AgendaItemCreate], Field(max_length=200)]


class MeetingPatch(Record):
    """Changes to a meeting; agenda items, when given, replace the whole agenda."""

    ref: NonNull[Ref] = None
    number: NonNull[Annotated[int, Field(ge=0, le=100)]] = None
    step_number: int | None = Field(default=None, ge=0, le=100)
    title: NonNull[ShortText] = None
    theme: ShortText | None = None
    date: NonNull[dt.date] = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    place: ShortText | None = None
    venue: ShortText | None = None
    host_organisation_id: Id | None = None
    upload_deadline_override: dt.date | None = None
    checklist_tab: Text100 | None = None
    presentation_template: ShortText | None = None
    goals: NonNull[TextList] = None
    preparations: NonNull[TextList] = None
    agenda_items: NonNull[AgendaItems] = None


class MeetingCreate(MeetingPatch):
    """A new meeting of a network, with its agenda; without a ref, one is made from the title."""

    ref: Ref | None = None
    number: int = Field(ge=0, le=100)
    title: ShortText
    date: dt.date
    goals: TextList = Field(default_factory=list)
    preparations: TextList = Field(default_factory=list)
    agenda_items: AgendaItems = Field(default_factory=list)


class QuestionCreate(Record):
    """A statement of a checklist area."""

    ref: Ref
    text: LongText
    source: Text50 | None = None


class AreaCreate(Record):
    """An area of a checklist with its questions."""

    ref: Ref
    name: ShortText
    name_en: ShortText | None = None
    questions: list[QuestionCreate] = Field(min_length=1, max_length=200)


class ChecklistPatch(Record):
    """Changes to a checklist's title or version (its questions and scale are fixed)."""

    title: NonNull[ShortText] = None
    version: Text50 | None = None


class ChecklistCreate(ChecklistPatch):
    """A new checklist with its scale, areas and questions."""

    ref: Ref | None = None
    title: ShortText
    scale_min: int = Field(ge=0, le=10)
    scale_max: int = Field(ge=1, le=10)
    scale_labels: dict[str, ShortText] = Field(default_factory=dict, max_length=11)
    tabs: list[ShortText] = Field(default_factory=list, max_length=20)
    areas: list[AreaCreate] = Field(min_length=1, max_length=100)


class AssessmentRoundPatch(Record):
    """Changes to an assessment round."""

    ref: NonNull[Ref] = None
    label: NonNull[Text100] = None
    meeting_id: Id | None = None
    assessed_on: dt.date | None = None


class AssessmentRoundCreate(AssessmentRoundPatch):
    """A new self-assessment round; the checklist defaults to the network's."""

    ref: Ref | None = None
    label: Text100
    checklist_id: Id | None = None


class ScoresReplace(Record):
    """One organisation's scores and comments for a round, by question ref; null = not assessed."""

    scores: dict[Ref, StrictInt | None] = Field(default_factory=dict, max_length=1000)
    comments: dict[Ref, LongText] = Field(default_factory=dict, max_length=1000)


class MeasurementCreate(Record):
    """One measurement of an indicator: a total, or values for women and men."""

    date: dt.date
    is_baseline: bool = False
    value_total: Amount | None = None
    value_women: Amount | None = None
    value_men: Amount | None = None

    @model_validator(mode="after")
    def _has_a_value(self) -> MeasurementCreate:
        if self.value_total is None and self.value_women is None and self.value_men is None:
            raise ValueError("a measurement needs value_total, or value_women and/or value_men")
        return self


class IndicatorCreate(Record):
    """The indicator of an initiative, with its measurements."""

    name: ShortText
    unit: Text50 | None = None
    measurements: list[MeasurementCreate] = Field(default_factory=list, max_length=100)


class InitiativePatch(Record):
    """Changes to an improvement initiative; an indicator, when given, replaces the old one."""

    ref: NonNull[Ref] = None
    title: NonNull[ShortText] = None
    area_id: Id | None = None
    question_refs: NonNull[Annotated[list[Ref], Field(max_length=200)]] = None
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
    transfer_to: NonNull[Annotated[list[ShortText], Field(max_length=50)]] = None
    owner_participant_id: Id | None = None
    indicator: IndicatorCreate | None = None


class InitiativeCreate(InitiativePatch):
    """A new improvement initiative; without a ref, one is made from the title."""

    ref: Ref | None = None
    title: ShortText
    question_refs: list[Ref] = Field(default_factory=list, max_length=200)
    transfer_to: list[ShortText] = Field(default_factory=list, max_length=50)


class AnalysisReplace(AnalysisFields):
    """An organisation's leadership and culture analysis for a meeting, replaced as a whole."""


class PlanActivityCreate(Record):
    """One activity of a continuation plan."""

    activity: LongText
    owner_participant_id: Id | None = None
    deadline: dt.date | None = None
    follow_up: LongText | None = None
    status: ActivityStatus | None = None


class PlanReplace(Record):
    """An organisation's continuation plan for a meeting, replaced as a whole."""

    activities: list[PlanActivityCreate] = Field(default_factory=list, max_length=200)


class FeedbackPatch(Record):
    """Changes to a meeting's feedback."""

    author_organisation_id: Id | None = None
    sent_to: ShortText | None = None
    plus: NonNull[TextList] = None
    minus: NonNull[TextList] = None
    interesting: NonNull[TextList] = None
    ideas_per_organisation: NonNull[Annotated[dict[Ref, TextList], Field(max_length=2000)]] = None
    next_meeting_id: Id | None = None


class FeedbackCreate(FeedbackPatch):
    """The organiser's Plus – Minus – Intressant feedback after a meeting."""

    plus: TextList = Field(default_factory=list)
    minus: TextList = Field(default_factory=list)
    interesting: TextList = Field(default_factory=list)
    ideas_per_organisation: dict[Ref, TextList] = Field(default_factory=dict, max_length=2000)


class OrganiserChecklistItemPatch(Record):
    """Changes to an item of the organiser's checklist."""

    phase: NonNull[ChecklistPhase] = None
    text: NonNull[LongText] = None
    done: bool | None = None
    due_date: dt.date | None = None
    responsible: ShortText | None = None


class OrganiserChecklistItemCreate(OrganiserChecklistItemPatch):
    """A new item at the end of a meeting's organiser checklist."""

    phase: ChecklistPhase
    text: LongText


# ---------------------------------------------------------------------------------------------
# Finding, listing, referencing and saving any entity.


def _label(model: type[m.Base]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def get_entity(session: Session, model: type[E], entity_id: int) -> E:
    """The entity with this id, or NotFoundError naming its kind and id."""
    entity = session.get(model, entity_id) if 1 <= entity_id <= MAX_ID else None
    if entity is None:
        raise NotFoundError(f"{_label(model)} {entity_id} does not exist")
    return entity


class ListRequest(Protocol):
    """What a caller asks of a list: a page, and filters by column (None: no filter)."""

    limit: int
    offset: int

    def filters(self) -> Mapping[str, object]:
        """Column values the entities must have."""
        ...


@dataclass(frozen=True)
class Listing(Generic[E]):
    """One page of entities and how many there are in all."""

    items: list[E]
    total: int
    limit: int
    offset: int


_PARENT_KEYS: dict[type[m.Base], str] = {
    m.Network: "network_id",
    m.Organisation: "organisation_id",
    m.Meeting: "meeting_id",
}


def list_entities(
    session: Session,
    model: type[E],
    request: ListRequest,
    *,
    within: tuple[type[m.Base], int] | None = None,
) -> Listing[E]:
    """A page of entities in id order, optionally within a parent (which must exist)."""
    conditions = {k: v for k, v in request.filters().items() if v is not None}
    if within is not None:
        parent, parent_id = within
        get_entity(session, parent, parent_id)
        conditions[_PARENT_KEYS[parent]] = parent_id
    query = select(model).filter_by(**conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(*inspect(model).primary_key).limit(request.limit).offset(request.offset)
    return Listing(list(session.scalars(page)), total, request.limit, request.offset)


def _network_of(entity: m.Base) -> int | None:
    """The network an entity belongs to; None for shared ones such as checklists."""
    if isinstance(entity, m.Participant):
        return entity.organisation.network_id
    if isinstance(entity, m.Group | m.Organisation | m.Meeting | m.AssessmentRound):
        return entity.network_id
    return None


def _reference_problems(
    session: Session,
    fields: Mapping[str, Any],
    references: Mapping[str, type[m.Base]],
    *,
    network_id: int | None,
    at: str = "$",
) -> list[Problem]:
    """Problems with id fields that point at nothing or into another network."""
    problems = []
    for name, model in references.items():
        target_id = fields.get(name)
        if target_id is None:
            continue
        target = session.get(model, target_id)
        if target is None:
            problems.append(Problem(f"{at}.{name}", f"unknown {_label(model)} {target_id}"))
        elif (home := _network_of(target)) is not None and home != network_id:
            problems.append(
                Problem(
                    f"{at}.{name}",
                    f"{_label(model)} {target_id} belongs to network {home}, not {network_id}",
                )
            )
    return problems


class _RefRule(NamedTuple):
    scope: str | None  # the column a ref is unique within; None: unique everywhere
    source: str  # the attribute a missing ref is made from


_REF_RULES: dict[type[m.Base], _RefRule] = {
    m.Network: _RefRule(None, "name"),
    m.Checklist: _RefRule(None, "title"),
    m.Group: _RefRule("network_id", "name"),
    m.Organisation: _RefRule("network_id", "name"),
    m.Meeting: _RefRule("network_id", "title"),
    m.AssessmentRound: _RefRule("network_id", "label"),
    m.Participant: _RefRule("organisation_id", "name"),
    m.ImprovementInitiative: _RefRule("organisation_id", "title"),
}


def slug(text: str, *, max_length: int = 90) -> str:
    """A ref made from a name: "Region Värmland" -> "region-varmland" (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


def _assign_ref(session: Session, entity: m.Base, wanted: str | None) -> None:
    """Give the entity the wanted or kept ref (409 if taken) or, if it has none, a free slug."""
    rule = _REF_RULES.get(type(entity))
    if rule is None:
        return
    table = type(entity).__table__
    conditions = []
    where = ""
    if rule.scope is not None:
        scope_id = getattr(entity, rule.scope)
        conditions.append(table.c[rule.scope] == scope_id)
        where = f" in {rule.scope.removesuffix('_id')} {scope_id}"
    identity = inspect(entity).identity
    if identity is not None:
        conditions.append(table.c.id != identity[0])

    def taken(ref: str) -> bool:
        return session.scalar(select(table.c.id).where(table.c.ref == ref, *conditions)) is not None

    label = _label(type(entity))
    # A kept ref is checked too: the entity may have moved to another scope.
    wanted = wanted if wanted is not None else getattr(entity, "ref", None)
    if wanted is not None:
        if taken(wanted):
            raise ConflictError(f"{label} ref {wanted!r} is already taken{where}")
        entity.ref = wanted  # type: ignore[attr-defined]
    else:
        base = slug(getattr(entity, rule.source)) or label.replace(" ", "-")
        candidate, number = base, 2
        while taken(candidate):
            candidate, number = f"{base}-{number}", number + 1
        entity.ref = candidate  # type: ignore[attr-defined]


Rules = Callable[[E], list[Problem]]


def _save(
    session: Session,
    entity: E,
    fields: dict[str, Any],
    *,
    network_id: int | None,
    references: Mapping[str, type[m.Base]] | None = None,
    rules: Rules[E] | None = None,
) -> E:
    """Check and apply field values, settle the ref, and write the entity.

    Nothing is kept if a check fails: the caller's transaction is rolled back on the error.
    """
    with session.no_autoflush:
        problems = _reference_problems(session, fields, references or {}, network_id=network_id)
        wanted_ref = fields.pop("ref", None)
        for name, value in fields.items():
            setattr(entity, name, value)
        if rules is not None:
            problems += rules(entity)
        if problems:
            raise InvalidInputError(problems)
        _assign_ref(session, entity, wanted_ref)
    session.add(entity)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request took the same ref
        raise ConflictError(f"the {_label(type(entity))} clashes with stored data") from exc
    return entity


def _order_problem(
    earlier: Any, later: Any, *, at: str, message: str, strict: bool = False
) -> list[Problem]:
    if earlier is None or later is None:
        return []
    wrong = later <= earlier if strict else later < earlier
    return [Problem(at, message)] if wrong else []


# ---------------------------------------------------------------------------------------------
# Networks, groups, organisations and participants.

_NETWORK_REFERENCES = {"checklist_id": m.Checklist}


def _network_rules(network: m.Network) -> list[Problem]:
    return _order_problem(
        network.period_start,
        network.period_end,
        at="$.period_end",
        message="is before period_start",
    )


def create_network(session: Session, data: NetworkCreate) -> m.Network:
    """Start a network (programme round)."""
    return _save(
        session,
        m.Network(),
        data.model_dump(),
        network_id=None,
        references=_NETWORK_REFERENCES,
        rules=_network_rules,
    )


def update_network(session: Session, network_id: int, changes: NetworkPatch) -> m.Network:
    """Change a network's fields."""
    network = get_entity(session, m.Network, network_id)
    return _save(
        session,
        network,
        changes.model_dump(exclude_unset=True),
        network_id=network.id,
        references=_NETWORK_REFERENCES,
        rules=_network_rules,
    )


_GROUP_REFERENCES = {"mentor_organisation_id": m.Organisation}


def create_group(session: Session, network_id: int, data: GroupCreate) -> m.Group:
    """Add a group (cluster) to a network."""
    network = get_entity(session, m.Network, network_id)
    return _save(
        session,
        m.Group(network_id=network.id),
        data.model_dump(),
        network_id=network.id,
        references=_GROUP_REFERENCES,
    )


def update_group(session: Session, group_id: int, changes: GroupPatch) -> m.Group:
    """Change a group's fields."""
    group = get_entity(session, m.Group, group_id)
    return _save(
        session,
        group,
        changes.model_dump(exclude_unset=True),
        network_id=group.network_id,
        references=_GROUP_REFERENCES,
    )


_ORGANISATION_REFERENCES = {"group_id": m.Group, "contact_participant_id": m.Participant}


def _contact_rules(session: Session) -> Rules[m.Organisation]:
    def rules(organisation: m.Organisation) -> list[Problem]:
        contact_id = organisation.contact_participant_id
        contact = session.get(m.Participant, contact_id) if contact_id is not None else None
        if contact is None or contact.organisation_id == organisation.id:
            return []
        return [
            Problem(
                "$.contact_participant_id",
                f"participant {contact.id} belongs to organisation {contact.organisation_id}, "
                f"not {organisation.id}",
            )
        ]

    return rules


def create_organisation(
    session: Session, network_id: int, data: OrganisationCreate
) -> m.Organisation:
    """Add an organisation to a network."""
    network = get_entity(session, m.Network, network_id)
    return _save(
        session,
        m.Organisation(network_id=network.id),
        data.model_dump(),
        network_id=network.id,
        references=_ORGANISATION_REFERENCES,
    )


def update_organisation(
    session: Session, organisation_id: int, changes: OrganisationPatch
) -> m.Organisation:
    """Change an organisation's fields, including its group and contact person."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    return _save(
        session,
        organisation,
        changes.model_dump(exclude_unset=True),
        network_id=organisation.network_id,
        references=_ORGANISATION_REFERENCES,
        rules=_contact_rules(session),
    )


def create_participant(
    session: Session, organisation_id: int, data: ParticipantCreate
) -> m.Participant:
    """Add a person to an organisation's delegation."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    return _save(
        session,
        m.Participant(organisation_id=organisation.id),
        data.model_dump(),
        network_id=organisation.network_id,
    )


def update_participant(
    session: Session, participant_id: int, changes: ParticipantPatch
) -> m.Participant:
    """Change a participant; one who moves stops being the old organisation's contact."""
    participant = get_entity(session, m.Participant, participant_id)
    old = participant.organisation
    _save(
        session,
        participant,
        changes.model_dump(exclude_unset=True),
        network_id=old.network_id,
        references={"organisation_id": m.Organisation},
    )
    if participant.organisation_id != old.id and old.contact_participant_id == participant.id:
        old.contact_participant_id = None
        session.flush()
    return participant


# ---------------------------------------------------------------------------------------------
# Meetings, their feedback and the organiser's checklist.

_MEETING_REFERENCES = {"host_organisation_id": m.Organisation}


def _meeting_rules(meeting: m.Meeting) -> list[Problem]:
    return _order_problem(
        meeting.start_time,
        meeting.end_time,
        at="$.end_time",
        message="is not after start_time",
        strict=True,
    ) + _order_problem(
        meeting.upload_deadline_override,
        meeting.date,
        at="$.upload_deadline_override",
        message="is after the meeting date",
    )


def _agenda(items: list[AgendaItemCreate]) -> list[m.AgendaItem]:
    return [m.AgendaItem(position=i, **item.model_dump()) for i, item in enumerate(items)]


def create_meeting(session: Session, network_id: int, data: MeetingCreate) -> m.Meeting:
    """Add a meeting, with its agenda, to a network."""
    network = get_entity(session, m.Network, network_id)
    return _save(
        session,
        m.Meeting(network_id=network.id, agenda_items=_agenda(data.agenda_items)),
        data.model_dump(exclude={"agenda_items"}),
        network_id=network.id,
        references=_MEETING_REFERENCES,
        rules=_meeting_rules,
    )


def update_meeting(session: Session, meeting_id: int, changes: MeetingPatch) -> m.Meeting:
    """Change a meeting's fields; a given agenda replaces the old one."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    if changes.agenda_items is not None:
        meeting.agenda_items = _agenda(changes.agenda_items)
    return _save(
        session,
        meeting,
        changes.model_dump(exclude_unset=True, exclude={"agenda_items"}),
        network_id=meeting.network_id,
        references=_MEETING_REFERENCES,
        rules=_meeting_rules,
    )


_FEEDBACK_REFERENCES = {"author_organisation_id": m.Organisation, "next_meeting_id": m.Meeting}


def _feedback_rules(session: Session, network_id: int) -> Rules[m.MeetingFeedback]:
    def rules(feedback: m.MeetingFeedback) -> list[Problem]:
        known = set(
            session.scalars(
                select(m.Organisation.ref).where(m.Organisation.network_id == network_id)
            )
        )
        return [
            Problem(f"$.ideas_per_organisation.{ref}", f"unknown organisation ref {ref!r}")
            for ref in feedback.ideas_per_organisation
            if ref not in known
        ]

    return rules


def create_feedback(session: Session, meeting_id: int, data: FeedbackCreate) -> m.MeetingFeedback:
    """Record the organiser's feedback after a meeting."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    return _save(
        session,
        m.MeetingFeedback(meeting_id=meeting.id),
        data.model_dump(),
        network_id=meeting.network_id,
        references=_FEEDBACK_REFERENCES,
        rules=_feedback_rules(session, meeting.network_id),
    )


def update_feedback(
    session: Session, feedback_id: int, changes: FeedbackPatch
) -> m.MeetingFeedback:
    """Change a meeting's feedback."""
    feedback = get_entity(session, m.MeetingFeedback, feedback_id)
    network_id = get_entity(session, m.Meeting, feedback.meeting_id).network_id
    return _save(
        session,
        feedback,
        changes.model_dump(exclude_unset=True),
        network_id=network_id,
        references=_FEEDBACK_REFERENCES,
        rules=_feedback_rules(session, network_id),
    )


def add_organiser_checklist_item(
    session: Session, meeting_id: int, data: OrganiserChecklistItemCreate
) -> m.OrganiserChecklistItem:
    """Add an item at the end of a meeting's organiser checklist."""
    meeting = get_entity(session, m.Meeting, meeting_id)
    last = max((item.position for item in meeting.organiser_checklist_items), default=-1)
    return _save(
        session,
        m.OrganiserChecklistItem(meeting_id=meeting.id, position=last + 1),
        data.model_dump(),
        network_id=meeting.network_id,
    )


def update_organiser_checklist_item(
    session: Session, item_id: int, changes: OrganiserChecklistItemPatch
) -> m.OrganiserChecklistItem:
    """Change an item of an organiser checklist, such as ticking it off."""
    item = get_entity(session, m.OrganiserChecklistItem, item_id)
    return _save(session, item, changes.model_dump(exclude_unset=True), network_id=None)


# ---------------------------------------------------------------------------------------------
# Checklists, assessment rounds and scores.


def _checklist_rules(data: ChecklistCreate) -> Rules[m.Checklist]:
    def rules(checklist: m.Checklist) -> list[Problem]:
        problems = _order_problem(
            checklist.scale_min,
            checklist.scale_max,
            at="$.scale_max",
            message="must be greater than scale_min",
            strict=True,
        )
        problems += [
            Problem(f"$.scale_labels.{key}", "is not a value on the scale")
            for key in checklist.scale_labels
            if not re.fullmatch(r"-?\d{1,2}", key)
            or not checklist.scale_min <= int(key) <= checklist.scale_max
        ]
        areas: set[str] = set()
        questions: set[str] = set()
        for ai, area in enumerate(data.areas):
            if area.ref in areas:
                problems.append(Problem(f"$.areas[{ai}].ref", f"duplicate ref {area.ref!r}"))
            areas.add(area.ref)
            for qi, question in enumerate(area.questions):
                if question.ref in questions:
                    problems.append(
                        Problem(
                            f"$.areas[{ai}].questions[{qi}].ref", f"duplicate ref {question.ref!r}"
                        )
                    )
                questions.add(question.ref)
        return problems

    return rules


def create_checklist(session: Session, data: ChecklistCreate) -> m.Checklist:
    """Store a checklist with its scale, areas and questions."""
    checklist = m.Checklist(
        areas=[
            m.ChecklistArea(
                position=ai,
                **area.model_dump(exclude={"questions"}),
                questions=[
                    m.ChecklistQuestion(position=qi, **q.model_dump())
                    for qi, q in enumerate(area.questions)
                ],
            )
            for ai, area in enumerate(data.areas)
        ]
    )
    return _save(
        session,
        checklist,
        data.model_dump(exclude={"areas"}),
        network_id=None,
        rules=_checklist_rules(data),
    )


def update_checklist(session: Session, checklist_id: int, changes: ChecklistPatch) -> m.Checklist:
    """Change a checklist's title or version."""
    checklist = get_entity(session, m.Checklist, checklist_id)
    return _save(session, checklist, changes.model_dump(exclude_unset=True), network_id=None)


_ROUND_REFERENCES = {"meeting_id": m.Meeting, "checklist_id": m.Checklist}


def create_assessment_round(
    session: Session, network_id: int, data: AssessmentRoundCreate
) -> m.AssessmentRound:
    """Open a self-assessment round of a network, on the network's checklist by default."""
    network = get_entity(session, m.Network, network_id)
    fields = data.model_dump()
    fields["checklist_id"] = fields["checklist_id"] or network.checklist_id
    if fields["checklist_id"] is None:
        raise InvalidInputError(
            [Problem("$.checklist_id", f"is required: network {network.id} has no checklist")]
        )
    return _save(
        session,
        m.AssessmentRound(network_id=network.id),
        fields,
        network_id=network.id,
        references=_ROUND_REFERENCES,
    )


def update_assessment_round(
    session: Session, round_id: int, changes: AssessmentRoundPatch
) -> m.AssessmentRound:
    """Change an assessment round's label, ref, meeting or date."""
    assessment_round = get_entity(session, m.AssessmentRound, round_id)
    return _save(
        session,
        assessment_round,
        changes.model_dump(exclude_unset=True),
        network_id=assessment_round.network_id,
        references=_ROUND_REFERENCES,
    )


@dataclass(frozen=True)
class ScoreSheet:
    """One organisation's scores and comments in one round, by question ref in checklist order."""

    round_id: int
    organisation_id: int
    scores: dict[str, int | None]
    comments: dict[str, str]


def _questions_in_order(session: Session, checklist_id: int) -> dict[str, m.ChecklistQuestion]:
    query = (
        select(m.ChecklistQuestion)
        .join(m.ChecklistArea)
        .where(m.ChecklistArea.checklist_id == checklist_id)
        .order_by(m.ChecklistArea.position, m.ChecklistQuestion.position)
    )
    return {q.ref: q for q in session.scalars(query)}


def _round_and_organisation(
    session: Session, round_id: int, organisation_id: int
) -> tuple[m.AssessmentRound, m.Organisation]:
    assessment_round = get_entity(session, m.AssessmentRound, round_id)
    organisation = get_entity(session, m.Organisation, organisation_id)
    if organisation.network_id != assessment_round.network_id:
        raise NotFoundError(
            f"organisation {organisation.id} is not in the network of assessment round "
            f"{assessment_round.id}"
        )
    return assessment_round, organisation


def read_scores(session: Session, round_id: int, organisation_id: int) -> ScoreSheet:
    """An organisation's stored scores and comments for a round."""
    assessment_round, organisation = _round_and_organisation(session, round_id, organisation_id)
    questions = _questions_in_order(session, assessment_round.checklist_id)
    stored = {
        s.question_id: s
        for s in session.scalars(
            select(m.Score).filter_by(round_id=assessment_round.id, organisation_id=organisation.id)
        )
    }
    rows = [(ref, stored[q.id]) for ref, q in questions.items() if q.id in stored]
    return ScoreSheet(
        round_id=assessment_round.id,
        organisation_id=organisation.id,
        scores={ref: s.value for ref, s in rows},
        comments={ref: s.comment for ref, s in rows if s.comment is not None},
    )


def replace_scores(
    session: Session, round_id: int, organisation_id: int, data: ScoresReplace
) -> ScoreSheet:
    """Replace an organisation's scores for a round as a whole, or change nothing."""
    assessment_round, organisation = _round_and_organisation(session, round_id, organisation_id)
    checklist = get_entity(session, m.Checklist, assessment_round.checklist_id)
    questions = _questions_in_order(session, checklist.id)
    low, high = checklist.scale_min, checklist.scale_max
    problems = [
        Problem(f"$.{where}.{ref}", f"unknown question {ref!r}")
        for where, given in (("scores", data.scores), ("comments", data.comments))
        for ref in given
        if ref not in questions
    ]
    problems += [
        Problem(f"$.scores.{ref}", f"score {value} is outside the scale {low}–{high}")
        for ref, value in data.scores.items()
        if value is not None and not low <= value <= high
    ]
    if problems:
        raise InvalidInputError(problems)
    session.execute(
        delete(m.Score).where(
            m.Score.round_id == assessment_round.id, m.Score.organisation_id == organisation.id
        )
    )
    session.add_all(
        m.Score(
            round_id=assessment_round.id,
            organisation_id=organisation.id,
            question_id=question.id,
            value=data.scores.get(ref),
            comment=data.comments.get(ref),
        )
        for ref, question in questions.items()
        if ref in data.scores or ref in data.comments
    )
    session.flush()
    return read_scores(session, assessment_round.id, organisation.id)


# ---------------------------------------------------------------------------------------------
# Improvement work: initiatives, leadership and culture analyses, continuation plans.

_INITIATIVE_REFERENCES = {"owner_participant_id": m.Participant}


def _initiative_rules(session: Session, network: m.Network) -> Rules[m.ImprovementInitiative]:
    def rules(initiative: m.ImprovementInitiative) -> list[Problem]:
        checklist_id = network.checklist_id
        area = session.get(m.ChecklistArea, initiative.area_id) if initiative.area_id else None
        problems = []
        if initiative.area_id is not None and (area is None or area.checklist_id != checklist_id):
            problems.append(
                Problem(
                    "$.area_id",
                    f"checklist area {initiative.area_id} is not in network {network.id}'s "
                    "checklist",
                )
            )
        questions = _questions_in_order(session, checklist_id) if checklist_id else {}
        problems += [
            Problem(f"$.question_refs[{i}]", f"unknown question {ref!r}")
            for i, ref in enumerate(initiative.question_refs)
            if ref not in questions
        ]
        return problems

    return rules


def _indicators(indicator: IndicatorCreate | None) -> list[m.Indicator]:
    if indicator is None:
        return []
    return [
        m.Indicator(
            name=indicator.name,
            unit=indicator.unit,
            measurements=[m.IndicatorMeasurement(**x.model_dump()) for x in indicator.measurements],
        )
    ]


def create_initiative(
    session: Session, organisation_id: int, data: InitiativeCreate
) -> m.ImprovementInitiative:
    """Add an improvement initiative, with its indicator, to an organisation."""
    organisation = get_entity(session, m.Organisation, organisation_id)
    network = get_entity(session, m.Network, organisation.network_id)
    return _save(
        session,
        m.ImprovementInitiative(
            organisation_id=organisation.id, indicators=_indicators(data.indicator)
        ),
        data.model_dump(exclude={"indicator"}),
        network_id=network.id,
        references=_INITIATIVE_REFERENCES,
        rules=_initiative_rules(session, network),
    )


def update_initiative(
    session: Session, initiative_id: int, changes: InitiativePatch
) -> m.ImprovementInitiative:
    """Change an initiative; a given indicator (or null) replaces the old one."""
    initiative = get_entity(session, m.ImprovementInitiative, initiative_id)
    organisation = get_entity(session, m.Organisation, initiative.organisation_id)
    network = get_entity(session, m.Network, organisation.network_id)
    if "indicator" in changes.model_fields_set:
        initiative.indicators = _indicators(changes.indicator)
    return _save(
        session,
        initiative,
        changes.model_dump(exclude_unset=True, exclude={"indicator"}),
        network_id=network.id,
        references=_INITIATIVE_REFERENCES,
        rules=_initiative_rules(session, network),
    )


PerMeeting = TypeVar("PerMeeting", m.LeadershipCultureAnalysis, m.ContinuationPlan)


def get_for_meeting(
    session: Session, model: type[PerMeeting], organisation_id: int, meeting_id: int
) -> PerMeeting:
    """An organisation's analysis or plan for a meeting, or NotFoundError."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    found = _find_for_meeting(session, model, organisation, meeting)
    if found is None:
        raise NotFoundError(
            f"organisation {organisation.id} has no {_label(model)} for meeting {meeting.id}"
        )
    return found


def _organisation_and_meeting(
    session: Session, organisation_id: int, meeting_id: int
) -> tuple[m.Organisation, m.Meeting]:
    organisation = get_entity(session, m.Organisation, organisation_id)
    meeting = get_entity(session, m.Meeting, meeting_id)
    if organisation.network_id != meeting.network_id:
        raise NotFoundError(
            f"meeting {meeting.id} is not in the network of organisation {organisation.id}"
        )
    return organisation, meeting


def _find_for_meeting(
    session: Session, model: type[PerMeeting], organisation: m.Organisation, meeting: m.Meeting
) -> PerMeeting | None:
    query = select(model).filter_by(organisation_id=organisation.id, meeting_id=meeting.id)
    return session.scalars(query).one_or_none()


def put_analysis(
    session: Session, organisation_id: int, meeting_id: int, data: AnalysisReplace
) -> m.LeadershipCultureAnalysis:
    """Store an organisation's leadership and culture analysis for a meeting, replacing any."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    analysis = _find_for_meeting(
        session, m.LeadershipCultureAnalysis, organisation, meeting
    ) or m.LeadershipCultureAnalysis(organisation_id=organisation.id, meeting_id=meeting.id)
    return _save(session, analysis, data.model_dump(), network_id=meeting.network_id)


def put_plan(
    session: Session, organisation_id: int, meeting_id: int, data: PlanReplace
) -> m.ContinuationPlan:
    """Store an organisation's continuation plan for a meeting, replacing any."""
    organisation, meeting = _organisation_and_meeting(session, organisation_id, meeting_id)
    problems = [
        problem
        for i, activity in enumerate(data.activities)
        for problem in _reference_problems(
            session,
            activity.model_dump(),
            {"owner_participant_id": m.Participant},
            network_id=meeting.network_id,
            at=f"$.activities[{i}]",
        )
    ]
    if problems:
        raise InvalidInputError(problems)
    plan = _find_for_meeting(
        session, m.ContinuationPlan, organisation, meeting
    ) or m.ContinuationPlan(organisation_id=organisation.id, meeting_id=meeting.id)
    plan.activities = [
        m.PlanActivity(position=i, **activity.model_dump())
        for i, activity in enumerate(data.activities)
    ]
    return _save(session, plan, {}, network_id=meeting.network_id)
