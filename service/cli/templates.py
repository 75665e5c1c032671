"""``benchdocs templates check PATH``: every problem of a template, each with its location.

The template's text is checked against the contexts its document kind gets for the sample
programme's Benchmarking 2 (every organisation, merged), then loaded by its engine and rendered
with each of those contexts, so what the static check cannot see is still reported.
Exit codes: 0 no problems, 1 problems found, 2 the file or the kind cannot be checked at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from service.batches.template_library import parse_document_template
from service.database import models as m
from service.database.facts.loaders import LOADERS, FactsLoader
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.kinds import DocumentKind
from service.engines.inspection import TemplateProblem
from service.engines.registry import ENGINES, template_spots
from service.engines.template_check import check_spots, merge_schemas
from service.errors import BenchdocsError, GenerationError
from service.intake.sample import SAMPLE_MEETING_REF, sample_database

EXIT_PROBLEMS = 1
EXIT_CANNOT_CHECK = 2

templates_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@templates_app.callback()
def templates() -> None:
    """Check Office templates before organisers use them."""


@templates_app.command("check")
def check_command(
    path: Annotated[Path, typer.Argument(help="A template file (.pptx, .docx or .xlsx).")],
    kind: Annotated[
        str | None,
        typer.Option(help="Document kind, such as deck (default: found by the file name)."),
    ] = None,
) -> None:
    """List every problem of a template as 'location: message'."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        _cannot_check(f"{path}: cannot read the file ({exc.strerror or exc})")
    if path.suffix.lower() not in ENGINES:
        known = ", ".join(sorted(ENGINES))
        _cannot_check(f"{path.name}: cannot check '{path.suffix}' files (known: {known})")
    spec = _spec(kind, path.name)
    loader = LOADERS.get(spec.kind)
    if loader is None:
        _cannot_check(f"document kind '{spec.kind.value}' has no facts loader yet")
    try:
        problems = check_template(data, name=path.name, spec=spec, loader=loader)
    except BenchdocsError as exc:
        _cannot_check(str(exc))
    for problem in problems:
        console.print(str(problem), markup=False, highlight=False)
    if problems:
        err_console.print(
            f"[bold red]{len(problems)} problem(s)[/] in {escape(path.name)} "
            f"(kind '{spec.kind.value}')"
        )
        raise typer.Exit(EXIT_PROBLEMS)
    console.print(f"{escape(path.name)}: no problems (kind '{spec.kind.value}')", highlight=False)


def _spec(kind: str | None, file_name: str) -> DocumentSpec:
    """The catalogue entry named by --kind, or the one whose template has this file name."""
    known = ", ".join(k.value for k in CATALOGUE)
    if kind is not None:
        spec = next((s for s in CATALOGUE.values() if s.kind.value == kind), None)
        if spec is None:
            exists = kind in {k.value for k in DocumentKind}
            problem = "has no template in the catalogue yet" if exists else "is unknown"
            _cannot_check(f"document kind '{kind}' {problem} (known: {known})")
        return spec
    spec = next((s for s in CATALOGUE.values() if s.template_file == file_name), None)
    if spec is None:
        _cannot_check(
            f"{file_name}: no document kind uses a template of this name; "
            f"pass --kind (one of: {known})"
        )
    return spec


def _cannot_check(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_CANNOT_CHECK)


def check_template(
    data: bytes, *, name: str, spec: DocumentSpec, loader: FactsLoader
) -> list[TemplateProblem]:
    """Every problem of ``data`` as a template of ``spec``'s kind; TemplateError if unreadable."""
    spots = template_spots(data, name=name)
    contexts = sample_contexts(spec, loader)
    problems = check_spots(spots, merge_schemas(contexts.values()), filters=SWEDISH_FILTERS)
    if problems:
        return problems
    # What the static check cannot see (types, chart data, a chart name on a text box) shows
    # when the engine loads the template and renders it with every sample.
    try:
        template = parse_document_template(data, name=name)
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
