"""What every ``benchdocs`` command shares: consoles, exit codes, the runtime, error reporting.

Command groups live in their own modules (``cli_uploads``, ``cli_access``, ...), each with a
``register(app)`` that adds its commands to the main app in ``service.cli``.
"""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy import select

from service.database import models as m
from service.database.session import migrate
from service.errors import BenchdocsError, InvalidInputError, Problem
from service.runtime import Runtime, build_runtime
from service.settings import Settings, get_settings

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_INVALID = 2
EXIT_FAILED_DOCUMENTS = 3
EXIT_ERROR = 1


def open_runtime(settings: Settings | None = None) -> Runtime:
    """The runtime from settings, with the database migrated to the newest schema."""
    runtime = build_runtime(settings or get_settings())
    migrate(runtime.engine)
    return runtime


def fail(exc: BenchdocsError) -> typer.Exit:
    """Print a domain error (every problem of an invalid input) and the exit to raise."""
    if isinstance(exc, InvalidInputError):
        err_console.print("[bold red]rejected:[/] nothing was stored")
        for problem in exc.problems:
            err_console.print(f"  {problem.location}: {problem.message}", markup=False)
        return typer.Exit(EXIT_INVALID)
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(EXIT_ERROR)


def resolve_meeting(runtime: Runtime, meeting: str) -> int:
    """A meeting id, or a meeting ref such as ``bm2`` that names exactly one meeting."""
    with runtime.sessions() as session:
        if meeting.isdigit() and session.get(m.Meeting, int(meeting)) is not None:
            return int(meeting)
        ids = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == meeting)).all()
    if len(ids) != 1:
        found = "no meeting" if not ids else f"{len(ids)} meetings"
        raise InvalidInputError([Problem("--meeting", f"{found} with id or ref {meeting!r}")])
    return ids[0]
