"""``benchdocs templates check PATH``: every problem of a template, each with its location.

``upload``, ``activate`` (also to roll back, to an earlier version or ``built-in``) and ``list``
manage the versions organisers use (see ``service.batches.template_versions``).

The template's text is checked against the contexts its document kind gets for the sample
programme's Benchmarking 2 (every organisation, merged), then loaded by its engine and rendered
with each of those contexts, so what the static check cannot see is still reported.
Exit codes: 0 no problems, 1 problems found, 2 the file or the kind cannot be checked at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from service.batches.template_checking import check_template, sample_contexts
from service.batches.template_versions import activate, has_errors, overview, upload_version
from service.cli.base import fail, open_runtime, read_upload_file
from service.clock import utcnow
from service.database.facts.loaders import LOADERS
from service.database.session import unit_of_work
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.domain.kinds import DocumentKind
from service.engines.registry import ENGINES
from service.errors import BenchdocsError
from service.file_safety.file_inspection import limits_from_settings

EXIT_PROBLEMS = 1
EXIT_CANNOT_CHECK = 2

__all__ = ["check_template", "sample_contexts", "templates_app"]

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


CLI_USER = "benchdocs (command line)"


@templates_app.command("upload")
def upload_command(
    path: Annotated[Path, typer.Argument(help="The new template file.")],
    kind: Annotated[str, typer.Option(help="Document kind, such as feedback_letter.")],
    by: Annotated[str, typer.Option(help="Who uploads it (shown to organisers).")] = CLI_USER,
) -> None:
    """Check and keep a new version of a kind's template (not active until activated)."""
    runtime = open_runtime()
    try:
        data = read_upload_file(path, max_bytes=runtime.settings.max_upload_bytes)
        with unit_of_work(runtime.sessions) as session:
            version = upload_version(
                session,
                files=runtime.files,
                templates_dir=runtime.settings.templates_dir,
                kind=kind,
                data=data,
                file_name=path.name,
                uploaded_by=by,
                limits=limits_from_settings(runtime.settings),
                now=utcnow(),
            )
            number, report = version.number, list(version.report)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    for item in report:
        console.print(
            f"{item['severity']}: {item['location']}: {item['message']}",
            markup=False,
            highlight=False,
        )
    usable = not has_errors(report)
    console.print(
        f"{kind} version {number} stored; "
        + ("it can be activated" if usable else "it has errors and cannot be activated"),
        highlight=False,
    )
    if not usable:
        raise typer.Exit(EXIT_PROBLEMS)


@templates_app.command("activate")
def activate_command(
    kind: Annotated[str, typer.Argument(help="Document kind, such as feedback_letter.")],
    version: Annotated[str, typer.Argument(help="A version number, or 'built-in'.")],
    by: Annotated[str, typer.Option(help="Who activates it (shown to organisers).")] = CLI_USER,
) -> None:
    """Make a version (or the built-in template) the one new documents of a kind use.

    Rolling back is activating an earlier version or 'built-in'.
    """
    if version != "built-in" and not version.isdigit():
        _cannot_check(f"version must be a number or 'built-in', not {version!r}")
    number = None if version == "built-in" else int(version)
    runtime = open_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            activate(session, kind=kind, number=number, activated_by=by, now=utcnow())
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    shown = "the built-in template" if number is None else f"version {number}"
    console.print(f"{kind} now renders with {shown}", highlight=False)


@templates_app.command("list")
def list_command() -> None:
    """Each kind's active template and its uploaded versions."""
    runtime = open_runtime()
    try:
        with runtime.sessions() as session:
            for entry in overview(session):
                active = entry.active
                shown = "built-in" if active is None else f"version {active.number}"
                numbers = ", ".join(
                    f"{v.number}{' (errors)' if has_errors(v.report) else ''}"
                    for v in entry.versions
                )
                console.print(
                    f"{entry.spec.kind.value}: {shown}; versions: {numbers or 'none'}",
                    highlight=False,
                )
    finally:
        runtime.close()
