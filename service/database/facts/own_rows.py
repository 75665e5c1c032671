"""Each organisation's own facts, read for one organisation or for its whole network at once.

A deck or a letter of one organisation read 15-20 statements of its own (its delegation,
scores of two rounds, initiatives, plan, analysis, letter), and a batch of 300 organisations
read them 1,200 times. With ``shared`` (the render worker's facts kept by data revision,
``SharedFacts``) the network's first document reads every organisation's rows in one query
per table, and the others find theirs among what was kept. Without it (a preview, the CLI, a
check) a document reads its own rows only. Both ways run the same query and build the same
facts, only the rows it covers differ (``Scope``), so a document's facts never depend on the
way they were read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from service.database import models as m
from service.database.facts.shared import SharedFacts
from service.documents.facts import (
    IndicatorFacts,
    InitiativeFacts,
    LeadershipFacts,
    MeasurementFacts,
    OrganisationFacts,
    PersonFacts,
    PlanActivityFacts,
)
from service.errors import NotFoundError

Own = TypeVar("Own")


@dataclass(frozen=True)
class Scope:
    """Whose rows a read covers: one organisation of a network, or all of them (``None``)."""

    network_id: int
    organisation_id: int | None = None

    def covers(self, organisation_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """The condition on a table's organisation column."""
        if self.organisation_id is not None:
            return organisation_id == self.organisation_id
        return organisation_id.in_(
            select(m.Organisation.id).where(m.Organisation.network_id == self.network_id)
        )


def own_facts(
    session: Session,
    shared: SharedFacts | None,
    key: Hashable,
    read: Callable[[Session, Scope], Mapping[int, Own]],
    *,
    network_id: int,
    organisation_id: int,
) -> Own | None:
    """An organisation's entry of ``read`` (None when it has no rows): from the whole
    network's, kept by ``shared``, or read for this organisation alone.

    ``key`` names what ``read`` reads (with its other arguments, a meeting say); the network
    is added to it. Without a revision to vouch for kept facts (``shared.vouches``) a whole
    network's rows would be read for every document: then only this organisation's are.
    """
    if shared is None or not shared.vouches(session):
        return read(session, Scope(network_id, organisation_id)).get(organisation_id)
    every = shared.get(
        session,
        ("own", key, network_id),
        lambda: MappingProxyType(dict(read(session, Scope(network_id)))),
    )
    return every.get(organisation_id)


# -- the organisations -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRow:
    """An organisation as documents show it, with what its own documents look up by."""

    id: int
    ref: str
    facts: OrganisationFacts
    mentor_id: int | None


def person_facts(p: m.Participant | None) -> PersonFacts | None:
    """A participant as documents show them."""
    if p is None:
        return None
    return PersonFacts(name=p.name, role=p.role.value, title=p.title, email=p.email)


def organisation_facts(org: m.Organisation) -> OrganisationFacts:
    """An organisation with its group, mentor, contact and delegation."""
    group = org.group
    # The delegation first: its contact is one of them, then found without a query of its own.
    delegation = tuple(p for p in map(person_facts, org.participants) if p is not None)
    return OrganisationFacts(
        name=org.name,
        type=org.type,
        county=org.county,
        programme_role=org.programme_role,
        group_name=group.name if group else None,
        mentor_name=group.mentor.name if group and group.mentor else None,
        political_decision_kind=org.political_decision_kind,
        political_decision_year=org.political_decision_year,
        contact=person_facts(org.contact),
        delegation=delegation,
    )


def read_organisations(session: Session, scope: Scope) -> dict[int, OrganisationRow]:
    """The organisations with their delegations, groups and mentors, in a fixed number of
    queries (a contact is one of the delegation, a mentor usually one of the network)."""
    organisations = session.scalars(
        select(m.Organisation)
        .where(m.Organisation.network_id == scope.network_id, scope.covers(m.Organisation.id))
        .order_by(m.Organisation.id)
        .options(selectinload(m.Organisation.participants), selectinload(m.Organisation.group))
    ).all()
    return {
        o.id: OrganisationRow(
            id=o.id,
            ref=o.ref,
            facts=organisation_facts(o),
            mentor_id=o.group.mentor_organisation_id if o.group else None,
        )
        for o in organisations
    }


def _kept_organisation(
    session: Session, shared: SharedFacts | None, *, network_id: int, organisation_id: int
) -> OrganisationRow | None:
    """The organisation among the network's (kept by ``shared``), None when not one of them."""
    return own_facts(
        session,
        shared,
        "organisations",
        read_organisations,
        network_id=network_id,
        organisation_id=organisation_id,
    )


def network_organisation(
    session: Session, shared: SharedFacts | None, *, network_id: int, organisation_id: int
) -> OrganisationRow:
    """An organisation of the network; NotFoundError names it when it is not one."""
    found = _kept_organisation(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    if found is None:
        raise NotFoundError(f"organisation {organisation_id} not found in the meeting's network")
    return found


def any_organisation(
    session: Session, shared: SharedFacts | None, organisation_id: int, *, network_id: int
) -> OrganisationFacts | None:
    """An organisation that need not be of the network (a group's mentor, a meeting's host):
    found among the network's when it is one of them, else read wherever it belongs."""
    found = _kept_organisation(
        session, shared, network_id=network_id, organisation_id=organisation_id
    )
    if found is not None:
        return found.facts
    org = session.get(m.Organisation, organisation_id)
    return organisation_facts(org) if org is not None else None


# -- scores ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnScores:
    """An organisation's scores and comments (those not empty) in a round, by question ref."""

    scores: Mapping[str, int | None]
    comments: Mapping[str, str]


def read_round_scores(round_id: int) -> Callable[[Session, Scope], dict[int, OwnScores]]:
    """The reader of the organisations' scores in one round."""

    def read(session: Session, scope: Scope) -> dict[int, OwnScores]:
        rows = session.execute(
            select(m.Score.organisation_id, m.ChecklistQuestion.ref, m.Score.value, m.Score.comment)
            .join(m.ChecklistQuestion, m.Score.question_id == m.ChecklistQuestion.id)
            .where(m.Score.round_id == round_id, scope.covers(m.Score.organisation_id))
            .order_by(m.Score.organisation_id, m.Score.id)
        ).all()
        scores: dict[int, dict[str, int | None]] = {}
        comments: dict[int, dict[str, str]] = {}
        for organisation_id, ref, value, comment in rows:
            scores.setdefault(organisation_id, {})[ref] = value
            if comment:
                comments.setdefault(organisation_id, {})[ref] = comment
        found = {
            organisation_id: OwnScores(
                scores=MappingProxyType(own),
                comments=MappingProxyType(comments.get(organisation_id, {})),
            )
            for organisation_id, own in scores.items()
        }
        return found

    return read


# -- improvement initiatives -------------------------------------------------------------------


@dataclass(frozen=True)
class OwnInitiatives:
    """An organisation's improvement initiatives in order, and all their indicators."""

    initiatives: tuple[InitiativeFacts, ...] = ()
    indicators: tuple[IndicatorFacts, ...] = ()


def _baseline_and_latest(
    indicator: m.Indicator,
) -> tuple[MeasurementFacts | None, MeasurementFacts | None]:
    """An indicator's baseline and its latest other measurement (measurements are by date)."""
    baseline = latest = None
    for x in indicator.measurements:
        facts = MeasurementFacts(x.date, x.value_total, x.value_women, x.value_men)
        if x.is_baseline:
            baseline = facts
        else:
            latest = facts
    return baseline, latest


def _indicator_facts(i: m.ImprovementInitiative) -> tuple[IndicatorFacts, ...]:
    """Every indicator of an initiative with its baseline and latest measurement."""
    return tuple(
        IndicatorFacts(
            initiative_title=i.title,
            name=indicator.name,
            unit=indicator.unit,
            population=indicator.population.value,
            baseline=baseline,
            latest=latest,
        )
        for indicator in i.indicators
        for baseline, latest in [_baseline_and_latest(indicator)]
    )


def _initiative_facts(i: m.ImprovementInitiative) -> InitiativeFacts:
    """An improvement initiative with its first indicator's baseline and latest value."""
    indicator = i.indicators[0] if i.indicators else None
    baseline, latest = _baseline_and_latest(indicator) if indicator else (None, None)
    return InitiativeFacts(
        title=i.title,
        level=i.level,
        verksamhet=i.verksamhet,
        status=i.status,
        pdsa_phase=i.pdsa_phase,
        problem=i.problem,
        action=i.action,
        results=i.results,
        owner=person_facts(i.owner),
        indicator_name=indicator.name if indicator else None,
        indicator_unit=indicator.unit if indicator else None,
        indicator_population=indicator.population.value if indicator else "kvinnor_män",
        baseline=baseline,
        latest=latest,
        transferable=i.transferable,
        transfer_to=tuple(i.transfer_to or ()),
    )


def read_initiatives(session: Session, scope: Scope) -> dict[int, OwnInitiatives]:
    """The organisations' initiatives with their owners, indicators and measurements: four
    queries however many there are."""
    found: dict[int, list[m.ImprovementInitiative]] = {}
    for initiative in session.scalars(
        select(m.ImprovementInitiative)
        .where(scope.covers(m.ImprovementInitiative.organisation_id))
        .order_by(m.ImprovementInitiative.organisation_id, m.ImprovementInitiative.id)
        .options(
            selectinload(m.ImprovementInitiative.owner),
            selectinload(m.ImprovementInitiative.indicators).selectinload(m.Indicator.measurements),
        )
    ):
        found.setdefault(initiative.organisation_id, []).append(initiative)
    return {
        organisation_id: OwnInitiatives(
            initiatives=tuple(_initiative_facts(i) for i in initiatives),
            indicators=tuple(x for i in initiatives for x in _indicator_facts(i)),
        )
        for organisation_id, initiatives in found.items()
    }


# -- a meeting's plans, analyses and letters ------------------------------------------------------


Plan = tuple[PlanActivityFacts, ...]
Built = TypeVar("Built")


def _of_meeting(
    model: Any, meeting_id: int, build: Callable[[Any], Built], *options: Any
) -> Callable[[Session, Scope], dict[int, Built]]:
    """The reader of a table with one row per organisation and meeting (``model``), each
    row as ``build`` makes it, by organisation."""

    def read(session: Session, scope: Scope) -> dict[int, Built]:
        rows = session.scalars(
            select(model)
            .where(model.meeting_id == meeting_id, scope.covers(model.organisation_id))
            .options(*options)
        ).all()
        return {row.organisation_id: build(row) for row in rows}

    return read


def _plan(plan: m.ContinuationPlan) -> Plan:
    return tuple(
        PlanActivityFacts(
            activity=a.activity,
            owner=person_facts(a.owner),
            deadline=a.deadline,
            follow_up=a.follow_up,
            status=a.status,
        )
        for a in plan.activities
    )


def read_plans(meeting_id: int) -> Callable[[Session, Scope], dict[int, Plan]]:
    """The reader of the activities of the organisations' continuation plans from a meeting."""
    return _of_meeting(
        m.ContinuationPlan,
        meeting_id,
        _plan,
        selectinload(m.ContinuationPlan.activities).selectinload(m.PlanActivity.owner),
    )


def _leadership(a: m.LeadershipCultureAnalysis) -> LeadershipFacts:
    return LeadershipFacts(
        strengths=a.strengths,
        obstacles=a.obstacles,
        culture_observations=a.culture_observations,
        film_reflection=a.film_reflection,
        actions=a.actions,
    )


def read_analyses(meeting_id: int) -> Callable[[Session, Scope], dict[int, LeadershipFacts]]:
    """The reader of the organisations' leadership and culture analyses at a meeting."""
    return _of_meeting(m.LeadershipCultureAnalysis, meeting_id, _leadership)


@dataclass(frozen=True)
class OwnLetter:
    """The organiser's review of an organisation's feedback letter."""

    noted: str | None = None
    ideas: tuple[str, ...] = field(default=())
    released_at: dt.datetime | None = None


def _letter(letter: m.FeedbackLetter) -> OwnLetter:
    return OwnLetter(
        noted=letter.noted, ideas=tuple(letter.ideas or ()), released_at=letter.released_at
    )


def read_letters(meeting_id: int) -> Callable[[Session, Scope], dict[int, OwnLetter]]:
    """The reader of the organiser's reviews of the organisations' letters for a meeting."""
    return _of_meeting(m.FeedbackLetter, meeting_id, _letter)
