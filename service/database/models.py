"""ORM models: what organisers enter, and what benchdocs generated from it.

Entered data and derived values are kept apart: sums, means, movement and deadlines are
computed by ``service.domain`` and never stored. Every entity has an integer id; imported
entities also keep the ``ref`` they had in the import file, unique within their network.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from service.clock import utcnow
from service.domain import limits
from service.domain.kinds import (
    AttendanceStatus,
    BatchOrigin,
    DocumentKind,
    DocumentStatus,
    IndicatorPopulation,
    MessageKind,
    MessageState,
    ParticipantRole,
    PortalRole,
    UploadKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint names that migrations can rely on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
    }


UtcDateTime = DateTime(timezone=True)


def _str_enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=32)


class Checklist(Base):
    """A versioned self-assessment checklist with its scale."""

    __tablename__ = "checklist"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(limits.REF), unique=True)
    title: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    version: Mapped[str | None] = mapped_column(String(limits.CODE))
    scale_min: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    scale_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tabs: Mapped[list[str]] = mapped_column(default=list)
    areas: Mapped[list[ChecklistArea]] = relationship(
        back_populates="checklist", order_by="ChecklistArea.position", cascade="all, delete-orphan"
    )


class ChecklistArea(Base):
    """An area (område) of a checklist, grouping its questions."""

    __tablename__ = "checklist_area"
    __table_args__ = (UniqueConstraint("checklist_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    name_en: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    checklist: Mapped[Checklist] = relationship(back_populates="areas")
    questions: Mapped[list[ChecklistQuestion]] = relationship(
        back_populates="area", order_by="ChecklistQuestion.position", cascade="all, delete-orphan"
    )


class ChecklistQuestion(Base):
    """A statement (påstående) scored on the checklist's scale."""

    __tablename__ = "checklist_question"
    __table_args__ = (UniqueConstraint("area_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("checklist_area.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(limits.CODE))
    area: Mapped[ChecklistArea] = relationship(back_populates="questions")


class Network(Base):
    """A programme round (omgång): the organisations and meetings of one year."""

    __tablename__ = "network"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(limits.REF), unique=True)
    name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    organiser: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    concept: Mapped[str | None] = mapped_column(Text)
    project_platform: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    checklist_id: Mapped[int | None] = mapped_column(ForeignKey("checklist.id"))
    checklist: Mapped[Checklist | None] = relationship()
    groups: Mapped[list[Group]] = relationship(
        back_populates="network", cascade="all, delete-orphan", order_by="Group.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        cascade="all, delete-orphan", order_by="Milestone.date"
    )


class Group(Base):
    """A cluster (kluster): a mentor and two or three benchmarking organisations."""

    __tablename__ = "network_group"
    __table_args__ = (UniqueConstraint("network_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    note: Mapped[str | None] = mapped_column(Text)
    mentor_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", use_alter=True, ondelete="SET NULL")
    )
    network: Mapped[Network] = relationship(back_populates="groups")
    mentor: Mapped[Organisation | None] = relationship(foreign_keys=[mentor_organisation_id])


class Milestone(Base):
    """A joint event outside the meeting series, such as the start-up or results conference."""

    __tablename__ = "milestone"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(limits.CODE))
    date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    host: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    note: Mapped[str | None] = mapped_column(Text)


class Organisation(Base):
    """A participating municipality, region or other body."""

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("network_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    type: Mapped[str | None] = mapped_column(String(limits.CODE))
    county: Mapped[str | None] = mapped_column(String(limits.LABEL))
    programme_role: Mapped[str | None] = mapped_column(String(limits.CODE))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("network_group.id", ondelete="SET NULL")
    )
    contact_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", use_alter=True, ondelete="SET NULL")
    )
    political_decision_exists: Mapped[bool | None] = mapped_column(Boolean)
    political_decision_kind: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    political_decision_year: Mapped[int | None] = mapped_column(Integer)
    group: Mapped[Group | None] = relationship(foreign_keys=[group_id])
    participants: Mapped[list[Participant]] = relationship(
        back_populates="organisation",
        foreign_keys="Participant.organisation_id",
        cascade="all, delete-orphan",
        order_by="Participant.id",
    )
    contact: Mapped[Participant | None] = relationship(
        foreign_keys=[contact_participant_id], post_update=True
    )


class Participant(Base):
    """A person in an organisation's delegation."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("organisation_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    role: Mapped[ParticipantRole] = mapped_column(_str_enum(ParticipantRole))
    title: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    email: Mapped[str | None] = mapped_column(String(limits.EMAIL))
    phone: Mapped[str | None] = mapped_column(String(limits.CODE))
    organisation: Mapped[Organisation] = relationship(
        back_populates="participants", foreign_keys=[organisation_id]
    )


class Meeting(Base):
    """A benchmarking meeting (träff); number, theme and step are separate facts."""

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("network_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    number: Mapped[int] = mapped_column(Integer)
    step_number: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    theme: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    place: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    venue: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    host_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL")
    )
    # Only an explicit override is stored; the default (date - 7 days) is computed.
    upload_deadline_override: Mapped[dt.date | None] = mapped_column(Date)
    checklist_tab: Mapped[str | None] = mapped_column(String(limits.LABEL))
    presentation_template: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    goals: Mapped[list[str]] = mapped_column(default=list)
    preparations: Mapped[list[str]] = mapped_column(default=list)
    # Practical facts the agenda and letters print instead of organiser placeholders.
    venue_address: Mapped[str | None] = mapped_column(Text)
    travel_directions: Mapped[str | None] = mapped_column(Text)
    digital_link: Mapped[str | None] = mapped_column(String(limits.URL))
    process_leader_name: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    process_leader_email: Mapped[str | None] = mapped_column(String(limits.EMAIL))
    skr_contact_name: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    skr_contact_email: Mapped[str | None] = mapped_column(String(limits.EMAIL))
    film_title: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    film_link: Mapped[str | None] = mapped_column(String(limits.URL))
    # The network overview names organisations unless the meeting asks for anonymity.
    overview_anonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    network: Mapped[Network] = relationship()
    host: Mapped[Organisation | None] = relationship()
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        cascade="all, delete-orphan", order_by="AgendaItem.position"
    )
    organiser_checklist_items: Mapped[list[OrganiserChecklistItem]] = relationship(
        cascade="all, delete-orphan", order_by="OrganiserChecklistItem.position"
    )


class AgendaItem(Base):
    """One slot of a meeting's programme."""

    __tablename__ = "agenda_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    item: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    format: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))


class OrganiserChecklistItem(Base):
    """A before/during/after item of the organiser's meeting checklist."""

    __tablename__ = "organiser_checklist_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    done: Mapped[bool | None] = mapped_column(Boolean)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    responsible: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))


class AssessmentRound(Base):
    """One self-assessment round (a checklist tab such as "BM 2") tied to a meeting."""

    __tablename__ = "assessment_round"
    __table_args__ = (UniqueConstraint("network_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    label: Mapped[str] = mapped_column(String(limits.LABEL))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"))
    assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    meeting: Mapped[Meeting | None] = relationship()


class Score(Base):
    """One organisation's score for one question in one round; NULL value = not assessed."""

    __tablename__ = "score"
    __table_args__ = (UniqueConstraint("round_id", "organisation_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_round.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("checklist_question.id"))
    value: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class ImprovementInitiative(Base):
    """An improvement (förbättringsarbete) an organisation is running, PDSA style."""

    __tablename__ = "improvement_initiative"
    __table_args__ = (UniqueConstraint("organisation_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(limits.REF))
    title: Mapped[str] = mapped_column(String(limits.MEDIUM_TEXT))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_area.id"))
    question_refs: Mapped[list[str]] = mapped_column(default=list)
    level: Mapped[str | None] = mapped_column(String(limits.LABEL))
    verksamhet: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    started: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(limits.LABEL))
    pdsa_phase: Mapped[str | None] = mapped_column(String(limits.CODE))
    problem: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    results: Mapped[str | None] = mapped_column(Text)
    transferable: Mapped[bool | None] = mapped_column(Boolean)
    transfer_to: Mapped[list[str]] = mapped_column(default=list)
    owner_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL")
    )
    owner: Mapped[Participant | None] = relationship()
    indicators: Mapped[list[Indicator]] = relationship(
        cascade="all, delete-orphan", order_by="Indicator.id"
    )


class Indicator(Base):
    """A measure of an initiative's effect, split by women and men where possible."""

    __tablename__ = "indicator"
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_initiative.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(limits.MEDIUM_TEXT))
    unit: Mapped[str | None] = mapped_column(String(limits.CODE))
    population: Mapped[IndicatorPopulation] = mapped_column(
        _str_enum(IndicatorPopulation), default=IndicatorPopulation.WOMEN_MEN
    )
    measurements: Mapped[list[IndicatorMeasurement]] = relationship(
        cascade="all, delete-orphan", order_by="IndicatorMeasurement.date"
    )


class IndicatorMeasurement(Base):
    """One measurement of an indicator: a total, or values for women and men."""

    __tablename__ = "indicator_measurement"
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    value_total: Mapped[float | None]
    value_women: Mapped[float | None]
    value_men: Mapped[float | None]


class LeadershipCultureAnalysis(Base):
    """An organisation's analysis of how leadership and culture support the work."""

    __tablename__ = "leadership_culture_analysis"
    __table_args__ = (UniqueConstraint("organisation_id", "meeting_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    strengths: Mapped[str | None] = mapped_column(Text)
    obstacles: Mapped[str | None] = mapped_column(Text)
    culture_observations: Mapped[str | None] = mapped_column(Text)
    film_reflection: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)


class ContinuationPlan(Base):
    """An organisation's plan for continuing and following up its work after a meeting."""

    __tablename__ = "continuation_plan"
    __table_args__ = (UniqueConstraint("organisation_id", "meeting_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    activities: Mapped[list[PlanActivity]] = relationship(
        cascade="all, delete-orphan", order_by="PlanActivity.position"
    )


class PlanActivity(Base):
    """One activity of a continuation plan."""

    __tablename__ = "plan_activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("continuation_plan.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    activity: Mapped[str] = mapped_column(Text)
    owner_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL")
    )
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    follow_up: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(limits.CODE))
    owner: Mapped[Participant | None] = relationship()


class MeetingFeedback(Base):
    """The organiser's Plus – Minus – Intressant feedback after a meeting."""

    __tablename__ = "meeting_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    author_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL")
    )
    sent_to: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    plus: Mapped[list[str]] = mapped_column(default=list)
    minus: Mapped[list[str]] = mapped_column(default=list)
    interesting: Mapped[list[str]] = mapped_column(default=list)
    # {organisation ref: [idea, ...]}: ideas each organisation takes home.
    ideas_per_organisation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="SET NULL")
    )


class Attendance(Base):
    """Whether one participant came to one meeting, and what they need to take part."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AttendanceStatus] = mapped_column(_str_enum(AttendanceStatus))
    special_needs: Mapped[str | None] = mapped_column(Text)
    participant: Mapped[Participant] = relationship()


class FeedbackLetter(Base):
    """The organiser's review of one organisation's feedback letter for one meeting.

    A letter is a draft, seen only by organisers, until ``released_at`` is set; its date is
    the release date, so renders after the release stay byte-identical.
    """

    __tablename__ = "feedback_letter"
    __table_args__ = (UniqueConstraint("meeting_id", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    # "Er presentation – det vi särskilt noterade": written by the organiser before release.
    noted: Mapped[str | None] = mapped_column(Text)
    # Ideas the organisation takes home; when empty the meeting feedback's ideas are used.
    ideas: Mapped[list[str]] = mapped_column(default=list)
    released_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    released_by: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))


class DocumentTemplate(Base):
    """A template file as it was when a document was made from it (by content hash)."""

    __tablename__ = "document_template"
    __table_args__ = (UniqueConstraint("file_name", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(_str_enum(DocumentKind))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Batch(Base):
    """An organiser's request to generate documents for one meeting."""

    __tablename__ = "batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    requested_kinds: Mapped[list[str]] = mapped_column(default=list)
    origin: Mapped[BatchOrigin] = mapped_column(
        _str_enum(BatchOrigin), default=BatchOrigin.ORGANISER
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    documents: Mapped[list[GeneratedDocument]] = relationship(
        back_populates="batch", order_by="GeneratedDocument.id"
    )


class GeneratedDocument(Base):
    """One wanted document of a batch, with where it is stored once it exists.

    The rows of one slot (meeting, organisation, kind, format) are its versions. A row whose
    inputs had not changed since the slot's latest version reuses that version's file
    (``reused_from_id``) instead of rendering it again.
    """

    __tablename__ = "generated_document"
    __table_args__ = (Index("ix_generated_document_slot", "meeting_id", "kind", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    kind: Mapped[DocumentKind] = mapped_column(_str_enum(DocumentKind))
    # The file format: the template's own (pptx, docx, xlsx) or pdf, converted from it.
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[DocumentStatus] = mapped_column(
        _str_enum(DocumentStatus), default=DocumentStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("document_template.id"))
    file_key: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    render_ms: Mapped[float | None]
    # sha256 over the template's bytes, the canonical JSON context and the renderer's version.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The digests the fingerprint was made of, so a change can be explained (see fingerprints).
    inputs: Mapped[dict[str, Any] | None] = mapped_column()
    reused_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("generated_document.id", ondelete="SET NULL")
    )
    # Set when data this document was made from changed after it was made (an upload, say).
    stale_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # -- leases (issue 16): who runs the document and until when, renewed while it runs; a
    # lapsed lease means its worker is gone and the periodic resend sends it again.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # A failure whose cause passes (broker, database, LibreOffice start, disk full): the
    # periodic resend tries it again, with back-off; ``auto_resends`` counts those tries.
    failed_transient: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_resends: Mapped[int] = mapped_column(Integer, default=0)
    batch: Mapped[Batch] = relationship(back_populates="documents")
    organisation: Mapped[Organisation | None] = relationship()
    meeting: Mapped[Meeting] = relationship()


class RegenerationRun(Base):
    """One regeneration pass (nightly or by hand): what it checked, redid and why."""

    __tablename__ = "regeneration_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    # "nightly:2026-11-30" for the schedule, so two beats on the same night run once.
    run_key: Mapped[str] = mapped_column(String(100), unique=True)
    trigger: Mapped[str] = mapped_column(String(20))  # nightly, manual, upload
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/finished/failed
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    meeting_ids: Mapped[list[Any]] = mapped_column(default=list)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rerendered: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # [{"document": slot, "reasons": [...]}, ...] for what changed; failures with their error.
    changes: Mapped[list[Any]] = mapped_column(default=list)
    failures: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id", ondelete="SET NULL"))


class AccessToken(Base):
    """A participant's key to one organisation's documents; only its hash is stored."""

    __tablename__ = "access_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Upload(Base):
    """A file sent back for an organisation: a filled checklist or a finished deck."""

    __tablename__ = "upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[UploadKind] = mapped_column(_str_enum(UploadKind))
    # A deck is for a meeting; a checklist is for an assessment round.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_round.id", ondelete="CASCADE")
    )
    file_key: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # "organiser" or the access token's label: who sent it, in words.
    uploaded_by: Mapped[str] = mapped_column(String(300))
    access_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_token.id", ondelete="SET NULL")
    )


class ScoreSnapshot(Base):
    """One round's scores for one organisation as they were before a replacement."""

    __tablename__ = "score_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_round.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    replaced_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    replaced_by_upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("upload.id", ondelete="SET NULL")
    )
    # [{"question_ref": ..., "value": ..., "comment": ...}, ...] in question order.
    scores: Mapped[list[Any]] = mapped_column(default=list)


class OrganiserUser(Base):
    """An organiser's portal account: a name and an argon2id hash, never the password."""

    __tablename__ = "organiser_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case: "Anna" and "anna" are one account.
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(limits.SHORT_TEXT))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class PortalSession(Base):
    """A browser's signed-in session, found by the hash of its cookie.

    An organiser's session belongs to an account; a participant's to the access token whose
    link opened it, so revoking the token (or its expiry) ends the session too.
    """

    __tablename__ = "portal_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    cookie_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[PortalRole] = mapped_column(_str_enum(PortalRole))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("organiser_user.id", ondelete="CASCADE"), index=True
    )
    access_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_token.id", ondelete="CASCADE"), index=True
    )
    # Forms carry this; it never leaves the server in a cookie.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    user: Mapped[OrganiserUser | None] = relationship()
    access_token: Mapped[AccessToken | None] = relationship()


class LoginAttempt(Base):
    """One try at the organisers' login, kept a while to slow down password guessing."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_at", "attempted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class TemplateVersion(Base):
    """An uploaded version of a document kind's template, kept for activation and roll-back.

    The file lies in the file store under ``file_key``; ``report`` is the checker's list of
    problems when it was uploaded. The built-in template of a kind has no row: a kind without
    an active version uses the file shipped in ``doc_templates/``.
    """

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("kind", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(_str_enum(DocumentKind))
    number: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(300))
    file_key: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(300))
    # [{"location": ..., "message": ...}, ...]; empty when the checker found nothing.
    report: Mapped[list[Any]] = mapped_column(default=list)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ActiveTemplate(Base):
    """Which uploaded version a kind renders with; no row (or no version) means built-in."""

    __tablename__ = "active_template"
    kind: Mapped[DocumentKind] = mapped_column(_str_enum(DocumentKind), primary_key=True)
    template_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_version.id", ondelete="SET NULL")
    )
    activated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    activated_by: Mapped[str] = mapped_column(String(300))
    version: Mapped[TemplateVersion | None] = relationship()


class AccessibilityReport(Base):
    """A problem someone met using the portal, sent from the accessibility statement's form."""

    __tablename__ = "accessibility_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    page: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(320))
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """One e-mail to one recipient, built from a message template, kept until and after sending.

    ``purpose`` names why it exists (``invitation:m3:p17:s0``) and is unique, so a schedule run
    twice, or a day caught up, finds the message already there and sends nothing new. The
    ``message_id`` header is fixed when the message is built: a resend after a worker died
    mid-send carries the same one. ``token_id`` is the access token behind the personal link in
    the body; the link is blanked out of the stored body once the message is sent.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_meeting", "meeting_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(_str_enum(MessageKind))
    purpose: Mapped[str] = mapped_column(String(200), unique=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL")
    )
    recipient_name: Mapped[str | None] = mapped_column(String(limits.SHORT_TEXT))
    recipient_email: Mapped[str] = mapped_column(String(limits.EMAIL))
    cc: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(limits.MEDIUM_TEXT))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # An iCalendar (METHOD:REQUEST) for invitations and meeting changes; its SEQUENCE apart.
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_sequence: Mapped[int | None] = mapped_column(Integer)
    # What the event said (digest of time and place), to notice a changed meeting.
    calendar_digest: Mapped[str | None] = mapped_column(String(64))
    # Documents attached because an organiser chose to: [{"document_id": 1}, ...].
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[MessageState] = mapped_column(
        _str_enum(MessageState), default=MessageState.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("access_token.id", ondelete="SET NULL"))
    # The message's "no more reminders" link (RFC 8058 List-Unsubscribe) and its key's sha256.
    opt_out_url: Mapped[str | None] = mapped_column(String(limits.URL))
    opt_out_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300), default="schema")
    queued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sending_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    meeting: Mapped[Meeting] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    participant: Mapped[Participant | None] = relationship()


class MessageTemplate(Base):
    """An organiser's edited text for one kind of message; no row means the built-in text."""

    __tablename__ = "message_template"
    kind: Mapped[MessageKind] = mapped_column(_str_enum(MessageKind), primary_key=True)
    subject: Mapped[str] = mapped_column(String(limits.MEDIUM_TEXT))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(300))


class ReminderOptOut(Base):
    """A participant who asked (by the link in a reminder) to get no more reminders.

    Apart from the participant's row so that opting out changes no document's inputs.
    """

    __tablename__ = "reminder_opt_out"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), unique=True
    )
    opted_out_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class DataRevision(Base):
    """A counter that every committed write to a stamped table bumps, by trigger (0008, 0009).

    One row (id 1), made by the first write; ``epoch`` is random per row so a counter of
    another database, or of a re-created row, never passes for this one. Workers key their
    cache of network-wide stamp digests by it (``change_detection.stamps.DigestCache``).
    """

    __tablename__ = "data_revision"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epoch: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(BigInteger)
