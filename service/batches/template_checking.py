"""A template checked against the contexts its kind gets: every problem, with its location.

The template's text is checked against the contexts its document kind gets for the sample
programme's Benchmarking 2 (every organisation, merged), then loaded by its engine and rendered
with each of those contexts, so what the static check cannot see is still reported. Shared by
``benchdocs templates check`` and the organisers' template versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from service.batches.template_library import parse_document_template
from service.database import models as m
from service.database.facts.loaders import FactsLoader
from service.documents.catalogue import DocumentSpec
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.engines.inspection import TemplateProblem
from service.engines.registry import template_spots
from service.engines.template_check import check_spots, merge_schemas
from service.errors import BenchdocsError, GenerationError
from service.intake.sample import SAMPLE_MEETING_REF, sample_database


def check_template(
    data: bytes,
    *,
    name: str,
    spec: DocumentSpec,
    loader: FactsLoader,
    suffix: str | None = None,
) -> list[TemplateProblem]:
    """Every problem of ``data`` as a template of ``spec``'s kind; TemplateError if unreadable.

    The format comes from ``name``'s suffix unless ``suffix`` (such as ``.docx``) is given.
    """
    spots = template_spots(data, name=name, suffix=suffix)
    contexts = sample_contexts(spec, loader)
    problems = check_spots(spots, merge_schemas(contexts.values()), filters=SWEDISH_FILTERS)
    if problems:
        return problems
    # What the static check cannot see (types, chart data, a chart name on a text box) shows
    # when the engine loads the template and renders it with every sample.
    try:
        template = parse_document_template(data, name=name, suffix=suffix)
    except GenerationError as exc:
        return [_problem(exc, name)]
    found: dict[str, TemplateProblem] = {}
    for label, context in contexts.items():
        try:
            template.render(context)
        except GenerationError as exc:
            problem = _problem(exc, name)
            if str(problem) not in found:
                found[str(problem)] = TemplateProblem(
                    problem.location, f"{problem.message} (sample data of {label})"
                )
    return list(found.values())


def sample_contexts(spec: DocumentSpec, loader: FactsLoader) -> dict[str, Mapping[str, Any]]:
    """``spec``'s contexts for the sample programme's Benchmarking 2, by organisation name.

    A per-meeting kind gets one context, labelled with the meeting's title.
    """
    with sample_database() as sessions, sessions() as session:
        meeting = session.scalars(
            select(m.Meeting).where(m.Meeting.ref == SAMPLE_MEETING_REF)
        ).one()
        targets: list[tuple[str, int | None]] = [(meeting.title, None)]
        if spec.per_organisation:
            organisations = session.scalars(
                select(m.Organisation)
                .where(m.Organisation.network_id == meeting.network_id)
                .order_by(m.Organisation.id)
            ).all()
            targets = [(org.name, org.id) for org in organisations]
        return {
            label: spec.build_context(
                loader(session, meeting_id=meeting.id, organisation_id=organisation_id)
            )
            for label, organisation_id in targets
        }


def _problem(exc: BenchdocsError, name: str) -> TemplateProblem:
    """An engine's error (``name: location: message``) as a problem."""
    text = str(exc).removeprefix(f"{name}: ")
    location, _, message = text.partition(": ")
    if not message:
        location, message = name, text
    return TemplateProblem(location, message)
