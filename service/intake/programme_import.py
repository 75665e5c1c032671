"""Import a whole programme round, all or nothing, with the JSON path of every problem."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.deadlines import UPLOAD_OFFSET
from service.errors import ConflictError, ImportRejectedError, Problem
from service.intake.programme_format import ChecklistIn, MeasurementIn, MeetingDetails, ProgrammeIn


def json_path(location: Sequence[int | str]) -> str:
    """Render a pydantic/our location tuple as a JSON path such as ``$.meetings[1].date``."""
    path = "$"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    """One problem per pydantic error, located by JSON path."""
    return [Problem(json_path(err["loc"]), err["msg"]) for err in exc.errors()]


def parse_programme(raw: bytes, *, max_bytes: int) -> ProgrammeIn:
    """Parse and validate an import file's bytes; every problem is reported at once."""
    if len(raw) > max_bytes:
        raise ImportRejectedError(
            [Problem("$", f"file is {len(raw)} bytes; the limit is {max_bytes}")]
        )
    if raw.startswith(b"PK\x03\x04"):
        raise ImportRejectedError(
            [Problem("$", "a zip archive (such as an Office file), not JSON text")]
        )
    try:
        # Strict UTF-8 (a BOM is tolerated): json.loads would guess UTF-16/32 from bytes.
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportRejectedError(
            [Problem("$", f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at {exc.start}")]
        ) from exc
    except RecursionError as exc:
        raise ImportRejectedError([Problem("$", "nested too deeply")]) from exc
    except json.JSONDecodeError as exc:
        raise ImportRejectedError(
            [Problem("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from exc
    return validate_programme(document)


def validate_programme(document: Any) -> ProgrammeIn:
    """Validate a decoded document: field rules first, then references between records."""
    try:
        programme = ProgrammeIn.model_validate(document)
    except ValidationError as exc:
        raise ImportRejectedError(problems_from_validation(exc)) from exc
    problems = _reference_problems(programme)
    if problems:
        raise ImportRejectedError(problems)
    return programme


def _duplicates(ids: Sequence[str], where: str, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for index, ref in enumerate(ids):
        if ref in seen:
            problems.append(Problem(f"$.{where}[{index}].id", f"duplicate id {ref!r}"))
        seen.add(ref)


def _reference_problems(p: ProgrammeIn) -> list[Problem]:
    problems: list[Problem] = []

    def need(ref: str | None, known: set[str], path: str, what: str) -> None:
        if ref is not None and ref not in known:
            problems.append(Problem(path, f"unknown {what} {ref!r}"))

    groups = {g.id for g in p.network.groups}
    orgs = {o.id for o in p.organisations}
    people = {x.id: x.organisation_id for x in p.participants}
    meetings = {x.id for x in p.meetings}
    areas = {a.id for a in p.checklist.areas}
    questions = {q.id for a in p.checklist.areas for q in a.questions}
    scale = p.checklist.scale

    _duplicates([g.id for g in p.network.groups], "network.groups", problems)
    _duplicates([o.id for o in p.organisations], "organisations", problems)
    _duplicates([x.id for x in p.participants], "participants", problems)
    _duplicates([x.id for x in p.meetings], "meetings", problems)
    _duplicates([a.id for a in p.checklist.areas], "checklist.areas", problems)
    _duplicates([x.id for x in p.self_assessments], "self_assessments", problems)
    _duplicates([x.id for x in p.improvement_initiatives], "improvement_initiatives", problems)
    seen_questions: set[str] = set()
    for ai, area in enumerate(p.checklist.areas):
        for qi, question in enumerate(area.questions):
            if question.id in seen_questions:
                problems.append(
                    Problem(
                        f"$.checklist.areas[{ai}].questions[{qi}].id",
                        f"duplicate id {question.id!r}",
                    )
                )
            seen_questions.add(question.id)

    for i, g in enumerate(p.network.groups):
        need(g.mentor_org_id, orgs, f"$.network.groups[{i}].mentor_org_id", "organisation")
    for i, o in enumerate(p.organisations):
        need(o.group_id, groups, f"$.organisations[{i}].group_id", "group")
        if o.contact_person_id is not None:
            owner = people.get(o.contact_person_id)
            if owner is None:
                need(
                    o.contact_person_id,
                    set(),
                    f"$.organisations[{i}].contact_person_id",
                    "participant",
                )
            elif owner != o.id:
                problems.append(
                    Problem(
                        f"$.organisations[{i}].contact_person_id",
                        f"participant {o.contact_person_id!r} belongs to {owner!r}, not {o.id!r}",
                    )
                )
    for i, x in enumerate(p.participants):
        need(x.organisation_id, orgs, f"$.participants[{i}].organisation_id", "organisation")
    for i, mt in enumerate(p.meetings):
        need(mt.host_org_id, orgs, f"$.meetings[{i}].host_org_id", "organisation")
        if mt.start and mt.end and mt.end <= mt.start:
            problems.append(Problem(f"$.meetings[{i}].end", "ends before it starts"))
        if mt.presentation_upload_deadline and mt.presentation_upload_deadline > mt.date:
            problems.append(
                Problem(
                    f"$.meetings[{i}].presentation_upload_deadline", "is after the meeting date"
                )
            )
    for i, sa in enumerate(p.self_assessments):
        base = f"$.self_assessments[{i}]"
        need(sa.meeting_id, meetings, f"{base}.meeting_id", "meeting")
        if sa.checklist_id != p.checklist.id:
            problems.append(
                Problem(f"{base}.checklist_id", f"unknown checklist {sa.checklist_id!r}")
            )
        for qi, ref in enumerate(sa.question_order):
            need(ref, questions, f"{base}.question_order[{qi}]", "question")
        if len(set(sa.question_order)) != len(sa.question_order):
            problems.append(Problem(f"{base}.question_order", "lists a question twice"))
        for org, values in sa.scores.items():
            need(org, orgs, f"{base}.scores.{org}", "organisation")
            if len(values) != len(sa.question_order):
                problems.append(
                    Problem(
                        f"{base}.scores.{org}",
                        f"has {len(values)} scores for {len(sa.question_order)} questions",
                    )
                )
            for vi, value in enumerate(values):
                if value is not None and not scale.min <= value <= scale.max:
                    problems.append(
                        Problem(
                            f"{base}.scores.{org}[{vi}]",
                            f"score {value} is outside the scale {scale.min}–{scale.max}",
                        )
                    )
        for org, by_question in sa.comments.items():
            need(org, orgs, f"{base}.comments.{org}", "organisation")
            for ref in by_question:
                need(ref, questions, f"{base}.comments.{org}.{ref}", "question")
    for i, ini in enumerate(p.improvement_initiatives):
        base = f"$.improvement_initiatives[{i}]"
        need(ini.organisation_id, orgs, f"{base}.organisation_id", "organisation")
        need(ini.area_id, areas, f"{base}.area_id", "checklist area")
        for qi, ref in enumerate(ini.checklist_questions):
            need(ref, questions, f"{base}.checklist_questions[{qi}]", "question")
        need(ini.owner_participant_id, set(people), f"{base}.owner_participant_id", "participant")
    for i, lca in enumerate(p.leadership_culture_analyses):
        base = f"$.leadership_culture_analyses[{i}]"
        need(lca.organisation_id, orgs, f"{base}.organisation_id", "organisation")
        need(lca.meeting_id, meetings, f"{base}.meeting_id", "meeting")
    for i, plan in enumerate(p.continuation_plans):
        base = f"$.continuation_plans[{i}]"
        need(plan.organisation_id, orgs, f"{base}.organisation_id", "organisation")
        need(plan.meeting_id, meetings, f"{base}.meeting_id", "meeting")
        for ai, act in enumerate(plan.activities):
            need(
                act.owner_participant_id,
                set(people),
                f"{base}.activities[{ai}].owner_participant_id",
                "participant",
            )
    for i, fb in enumerate(p.meeting_feedback):
        base = f"$.meeting_feedback[{i}]"
        need(fb.meeting_id, meetings, f"{base}.meeting_id", "meeting")
        need(fb.author_org_id, orgs, f"{base}.author_org_id", "organisation")
        for org in fb.ideas_per_org:
            need(org, orgs, f"{base}.ideas_per_org.{org}", "organisation")
        if fb.next_meeting:
            need(fb.next_meeting.meeting_id, meetings, f"{base}.next_meeting.meeting_id", "meeting")
    for i, oc in enumerate(p.organiser_checklists):
        base = f"$.organiser_checklists[{i}]"
        need(oc.meeting_id, meetings, f"{base}.meeting_id", "meeting")
        need(oc.host_org_id, orgs, f"{base}.host_org_id", "organisation")
    return problems


def _measurement(x: MeasurementIn, *, baseline: bool) -> m.IndicatorMeasurement:
    return m.IndicatorMeasurement(
        date=x.date,
        is_baseline=baseline,
        value_total=x.value_total,
        value_women=x.value_women,
        value_men=x.value_men,
    )


def _checklist_shape(c: m.Checklist) -> tuple[object, ...]:
    return (
        c.scale_min,
        c.scale_max,
        tuple((a.ref, tuple((q.ref, q.text) for q in a.questions)) for a in c.areas),
    )


def _checklist_in_shape(c: ChecklistIn) -> tuple[object, ...]:
    return (
        c.scale.min,
        c.scale.max,
        tuple((a.id, tuple((q.id, q.text) for q in a.questions)) for a in c.areas),
    )


def store_programme(session: Session, p: ProgrammeIn) -> m.Network:
    """Insert a validated programme in the caller's transaction; refs become ids."""
    if session.scalar(select(m.Network.id).where(m.Network.ref == p.network.id)) is not None:
        raise ConflictError(f"a network with id {p.network.id!r} already exists")
    c = p.checklist
    checklist = session.scalars(select(m.Checklist).where(m.Checklist.ref == c.id)).first()
    if checklist is not None:
        # Networks share a checklist by id only if it is the same checklist.
        if _checklist_shape(checklist) != _checklist_in_shape(c):
            raise ConflictError(
                f"checklist {c.id!r} is already stored with other questions or another scale; "
                "give the changed checklist a new id"
            )
    else:
        checklist = m.Checklist(
            ref=c.id,
            title=c.title,
            version=c.version,
            scale_min=c.scale.min,
            scale_max=c.scale.max,
            scale_labels=dict(c.scale.labels),
            tabs=list(c.tabs),
            areas=[
                m.ChecklistArea(
                    ref=a.id,
                    position=ai,
                    name=a.name,
                    name_en=a.name_en,
                    questions=[
                        m.ChecklistQuestion(ref=q.id, position=qi, text=q.text, source=q.source)
                        for qi, q in enumerate(a.questions)
                    ],
                )
                for ai, a in enumerate(c.areas)
            ],
        )
        session.add(checklist)
    n = p.network
    network = m.Network(
        ref=n.id,
        name=n.name,
        organiser=n.organiser,
        concept=n.concept,
        period_start=n.period.start if n.period else None,
        period_end=n.period.end if n.period else None,
        project_platform=n.project_platform,
        checklist=checklist,
        groups=[m.Group(ref=g.id, name=g.name, note=g.note) for g in n.groups],
        milestones=[
            m.Milestone(type=x.type, date=x.date, place=x.place, host=x.host, note=x.note)
            for x in n.milestones
        ],
    )
    session.add(network)
    session.flush()
    groups = {g.ref: g for g in network.groups}
    questions = {q.ref: q for a in checklist.areas for q in a.questions}
    areas = {a.ref: a for a in checklist.areas}

    orgs: dict[str, m.Organisation] = {}
    for o in p.organisations:
        decision = o.political_decision
        orgs[o.id] = m.Organisation(
            network_id=network.id,
            ref=o.id,
            name=o.name,
            type=o.type,
            county=o.county,
            programme_role=o.programme_role,
            group=groups[o.group_id] if o.group_id else None,
            political_decision_exists=decision.exists if decision else None,
            political_decision_kind=decision.kind if decision else None,
            political_decision_year=decision.year if decision else None,
        )
    session.add_all(orgs.values())
    session.flush()
    for g in n.groups:
        groups[g.id].mentor_organisation_id = orgs[g.mentor_org_id].id if g.mentor_org_id else None

    people: dict[str, m.Participant] = {}
    for x in p.participants:
        people[x.id] = m.Participant(
            organisation_id=orgs[x.organisation_id].id,
            ref=x.id,
            name=x.name,
            role=x.role,
            title=x.title,
            email=x.email,
            phone=x.phone,
        )
    session.add_all(people.values())
    session.flush()
    for o in p.organisations:
        if o.contact_person_id:
            orgs[o.id].contact_participant_id = people[o.contact_person_id].id

    meetings: dict[str, m.Meeting] = {}
    for mt in p.meetings:
        deadline = mt.presentation_upload_deadline
        meetings[mt.id] = m.Meeting(
            network_id=network.id,
            ref=mt.id,
            number=mt.number,
            step_number=mt.step_number,
            title=mt.title,
            theme=mt.theme,
            date=mt.date,
            start_time=mt.start,
            end_time=mt.end,
            place=mt.place,
            venue=mt.venue,
            host_organisation_id=orgs[mt.host_org_id].id if mt.host_org_id else None,
            # A deadline equal to the default is not an override: it must follow the date.
            upload_deadline_override=(
                deadline if deadline is not None and deadline != mt.date - UPLOAD_OFFSET else None
            ),
            checklist_tab=mt.checklist_tab,
            presentation_template=mt.presentation_template,
            goals=list(mt.goals),
            preparations=list(mt.preparations),
            overview_anonymised=mt.overview_anonymised,
            **mt.model_dump(include=set(MeetingDetails.model_fields)),
            agenda_items=[
                m.AgendaItem(
                    position=ai,
                    start_time=a.start,
                    end_time=a.end,
                    item=a.item,
                    responsible=a.responsible,
                    format=a.format,
                )
                for ai, a in enumerate(mt.agenda)
            ],
        )
    session.add_all(meetings.values())
    session.flush()

    for sa in p.self_assessments:
        rnd = m.AssessmentRound(
            network_id=network.id,
            ref=sa.id,
            label=sa.round_label,
            meeting_id=meetings[sa.meeting_id].id if sa.meeting_id else None,
            checklist_id=checklist.id,
            assessed_on=sa.assessed_on,
        )
        session.add(rnd)
        session.flush()
        for org_ref, values in sa.scores.items():
            comments = sa.comments.get(org_ref, {})
            session.add_all(
                m.Score(
                    round_id=rnd.id,
                    organisation_id=orgs[org_ref].id,
                    question_id=questions[q_ref].id,
                    value=value,
                    comment=comments.get(q_ref),
                )
                for q_ref, value in zip(sa.question_order, values, strict=True)
            )
        for org_ref, by_question in sa.comments.items():
            if org_ref not in sa.scores:
                session.add_all(
                    m.Score(
                        round_id=rnd.id,
                        organisation_id=orgs[org_ref].id,
                        question_id=questions[q_ref].id,
                        value=None,
                        comment=text,
                    )
                    for q_ref, text in by_question.items()
                )

    for ini in p.improvement_initiatives:
        indicators = []
        if ini.indicator:
            measurements = []
            if ini.indicator.baseline:
                measurements.append(_measurement(ini.indicator.baseline, baseline=True))
            if ini.indicator.latest:
                measurements.append(_measurement(ini.indicator.latest, baseline=False))
            indicators.append(
                m.Indicator(
                    name=ini.indicator.name,
                    unit=ini.indicator.unit,
                    population=ini.indicator.population,
                    measurements=measurements,
                )
            )
        session.add(
            m.ImprovementInitiative(
                organisation_id=orgs[ini.organisation_id].id,
                ref=ini.id,
                title=ini.title,
                area_id=areas[ini.area_id].id if ini.area_id else None,
                question_refs=list(ini.checklist_questions),
                level=ini.level,
                verksamhet=ini.verksamhet,
                started=ini.started,
                status=ini.status,
                pdsa_phase=ini.pdsa_phase,
                problem=ini.problem,
                root_cause=ini.root_cause,
                action=ini.action,
                results=ini.results,
                transferable=ini.transferable,
                transfer_to=list(ini.transfer_to),
                owner_participant_id=(
                    people[ini.owner_participant_id].id if ini.owner_participant_id else None
                ),
                indicators=indicators,
            )
        )
    for lca in p.leadership_culture_analyses:
        session.add(
            m.LeadershipCultureAnalysis(
                organisation_id=orgs[lca.organisation_id].id,
                meeting_id=meetings[lca.meeting_id].id,
                strengths=lca.strengths,
                obstacles=lca.obstacles,
                culture_observations=lca.culture_observations,
                film_reflection=lca.film_reflection,
                actions=lca.actions,
            )
        )
    for plan in p.continuation_plans:
        session.add(
            m.ContinuationPlan(
                organisation_id=orgs[plan.organisation_id].id,
                meeting_id=meetings[plan.meeting_id].id,
                activities=[
                    m.PlanActivity(
                        position=ai,
                        activity=a.activity,
                        deadline=a.deadline,
                        follow_up=a.follow_up,
                        status=a.status,
                        owner_participant_id=(
                            people[a.owner_participant_id].id if a.owner_participant_id else None
                        ),
                    )
                    for ai, a in enumerate(plan.activities)
                ],
            )
        )
    for fb in p.meeting_feedback:
        session.add(
            m.MeetingFeedback(
                meeting_id=meetings[fb.meeting_id].id,
                author_organisation_id=orgs[fb.author_org_id].id if fb.author_org_id else None,
                sent_to=fb.sent_to,
                plus=list(fb.plus),
                minus=list(fb.minus),
                interesting=list(fb.interesting),
                ideas_per_organisation={k: list(v) for k, v in fb.ideas_per_org.items()},
                next_meeting_id=meetings[fb.next_meeting.meeting_id].id
                if fb.next_meeting
                else None,
            )
        )
    for oc in p.organiser_checklists:
        meeting = meetings[oc.meeting_id]
        position = 0
        for phase, items in (("before", oc.before), ("during", oc.during), ("after", oc.after)):
            for it in items:
                meeting.organiser_checklist_items.append(
                    m.OrganiserChecklistItem(
                        phase=phase,
                        position=position,
                        text=it.item,
                        done=it.done,
                        due_date=it.due_date,
                        responsible=it.responsible,
                    )
                )
                position += 1
    session.flush()
    return network


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored."""

    network_id: int
    network_ref: str
    organisations: int
    participants: int
    meetings: int
    assessment_rounds: int


def import_programme(session: Session, raw: bytes, *, max_bytes: int) -> ImportSummary:
    """Validate and store an import file in the caller's transaction."""
    programme = parse_programme(raw, max_bytes=max_bytes)
    network = store_programme(session, programme)
    return ImportSummary(
        network_id=network.id,
        network_ref=network.ref,
        organisations=len(programme.organisations),
        participants=len(programme.participants),
        meetings=len(programme.meetings),
        assessment_rounds=len(programme.self_assessments),
    )
