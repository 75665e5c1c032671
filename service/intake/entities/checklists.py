"""Checklists with their scale, areas and questions; assessment rounds and their scores."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import cast

from pydantic import Field, StrictInt
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from service.database import models as m
from service.errors import InvalidInputError, NotFoundError, Problem
from service.intake.entities.fields import Id, NonNull
from service.intake.entities.store import Rules, get_entity, order_problem, save
from service.intake.programme_format import Record
from service.intake.text_rules import LongText, Ref, ShortText, Text50, Text100


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


def _checklist_rules(data: ChecklistCreate) -> Rules[m.Checklist]:
    def rules(checklist: m.Checklist) -> list[Problem]:
        problems = order_problem(
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
    return save(
        session,
        checklist,
        data.model_dump(exclude={"areas"}),
        network_id=None,
        rules=_checklist_rules(data),
    )


def update_checklist(session: Session, checklist_id: int, changes: ChecklistPatch) -> m.Checklist:
    """Change a checklist's title or version."""
    checklist = get_entity(session, m.Checklist, checklist_id)
    return save(session, checklist, changes.model_dump(exclude_unset=True), network_id=None)


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
    return save(
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
    return save(
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


def questions_in_order(session: Session, checklist_id: int) -> dict[str, m.ChecklistQuestion]:
    """A checklist's questions by ref, area by area in checklist order."""
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
    questions = questions_in_order(session, assessment_round.checklist_id)
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
    questions = questions_in_order(session, checklist.id)
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
    # One bulk INSERT of plain rows: no Score objects (and no statement per row on SQLite).
    rows = [
        {
            "round_id": assessment_round.id,
            "organisation_id": organisation.id,
            "question_id": question.id,
            "value": data.scores.get(ref),
            "comment": data.comments.get(ref),
        }
        for ref, question in questions.items()
        if ref in data.scores or ref in data.comments
    ]
    if rows:
        session.execute(insert(cast(Table, m.Score.__table__)), rows)
    return read_scores(session, assessment_round.id, organisation.id)
