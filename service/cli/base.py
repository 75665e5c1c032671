"""What every ``benchdocs`` command shares: consoles, exit codes, the runtime, error reporting,
naming a network, organisation or meeting by id or ref, and reading an uploaded file.

Command groups live in their own modules (``cli_uploads``, ``cli_access``, ...), each with a
``register(app)`` that adds its commands to the main app in ``service.cli.main``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select

from service.database import models as m
from service.database.session import migrate
from service.errors import BenchdocsError, InvalidInputError, Problem
from service.runtime import Runtime, build_runtime
from service.settings import Settings, get_settings
from service.uploads.stored_uploads import too_large

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


def resolve_network(runtime: Runtime, network: str) -> int:
    """A network id, or the ref of a network (refs are unique)."""
    with runtime.sessions() as session:
        if network.isdigit() and session.get(m.Network, int(network)) is not None:
            return int(network)
        found = session.scalar(select(m.Network.id).where(m.Network.ref == network))
    if found is None:
        raise InvalidInputError([Problem("--network", f"no network with id or ref {network!r}")])
    return found


def resolve_organisation(runtime: Runtime, organisation: str) -> int:
    """An organisation id, or a ref that names exactly one organisation (refs are per network)."""
    with runtime.sessions() as session:
        if organisation.isdigit() and session.get(m.Organisation, int(organisation)) is not None:
            return int(organisation)
        found = session.execute(
            select(m.Organisation.id, m.Network.ref)
            .join(m.Network, m.Network.id == m.Organisation.network_id)
            .where(m.Organisation.ref == organisation)
        ).all()
    if len(found) != 1:
        what = (
            "no organisation"
            if not found
            else f"{len(found)} organisations (networks {', '.join(r for _, r in found)}; "
            "give the id)"
        )
        raise InvalidInputError(
            [Problem("--organisation", f"{what} with id or ref {organisation!r}")]
        )
    return int(found[0][0])


def read_upload_file(file: Path, *, max_bytes: int) -> bytes:
    """An uploaded file's bytes for the upload gate; refused unread when over the size limit."""
    if not file.is_file():
        raise InvalidInputError([Problem(str(file), "no such file")])
    if file.stat().st_size > max_bytes:
        raise too_large(max_bytes)
    with file.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we looked
        raise too_large(max_bytes)
    return data
