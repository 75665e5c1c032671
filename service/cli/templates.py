"""``benchdocs templates check PATH``: every problem of a template, each with its location.

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
from service.database.facts.loaders import LOADERS
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.domain.kinds import DocumentKind
from service.engines.registry import ENGINES
from service.errors import BenchdocsError

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
