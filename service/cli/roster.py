"""``benchdocs roster FILE``: organisations and participants from a spreadsheet, previewed first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from service.cli.base import (
    console,
    err_console,
    fail,
    open_runtime,
    read_upload_file,
    resolve_network,
)
from service.database.session import unit_of_work
from service.errors import BenchdocsError
from service.file_safety.file_inspection import limits_from_settings
from service.intake.roster_import import (
    Action,
    FieldChange,
    RosterPlan,
    RosterUpload,
    apply_roster,
    preview_roster,
)

_STYLE = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.UNCHANGED: "dim",
    Action.NOT_IN_FILE: "cyan",
    Action.REMOVE: "bold red",
}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.command("roster")(roster)


def roster(
    file: Annotated[Path, typer.Argument(help="An xlsx or CSV roster (docs/roster-format.md).")],
    network: Annotated[str, typer.Option(help="The network's id or ref.")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Apply the plan (without it: preview only).")
    ] = False,
    remove_missing: Annotated[
        bool,
        typer.Option(
            "--remove-missing",
            help="Remove stored participants of the file's organisations that it does not list.",
        ),
    ] = False,
    expected_digest: Annotated[
        str | None,
        typer.Option(help="With --apply: apply only if the plan still has this preview digest."),
    ] = None,
) -> None:
    """Preview (or --apply) a roster of organisations and participants for a network."""
    runtime = open_runtime()
    try:
        limits = limits_from_settings(runtime.settings)
        data = read_upload_file(file, max_bytes=limits.max_bytes)
        upload = RosterUpload(data=data, file_name=file.name, remove_missing=remove_missing)
        network_id = resolve_network(runtime, network)
        if apply:
            with unit_of_work(runtime.sessions) as session:
                plan = apply_roster(
                    session,
                    network_id,
                    upload,
                    limits=limits,
                    expected_digest=expected_digest.strip().lower() if expected_digest else None,
                )
        else:
            with runtime.sessions() as session:
                plan = preview_roster(session, network_id, upload, limits=limits)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    print_plan(plan)


def _shown(value: str | None) -> str:
    return "(empty)" if value is None else repr(value)


def _changes(action: Action, changes: tuple[FieldChange, ...]) -> Text:
    text = Text()
    for i, change in enumerate(changes):
        if i:
            text.append("\n")
        text.append(f"{change.field}: ", style="bold")
        if action == Action.CREATE:
            text.append(_shown(change.new))
        else:
            text.append(f"{_shown(change.old)} → {_shown(change.new)}")
    return text


def print_plan(plan: RosterPlan) -> None:
    """The plan as two tables, its warnings, counts and digest."""
    organisations = Table(title=f"Organisations of network {plan.network_ref} ({plan.source})")
    for column in ("action", "ref", "name", "rows", "changes"):
        organisations.add_column(column)
    for step in plan.organisations:
        organisations.add_row(
            Text(step.action.value, style=_STYLE[step.action]),
            Text(step.ref),
            Text(step.name),
            Text(", ".join(str(r) for r in step.rows)),
            _changes(step.action, step.changes),
        )
    console.print(organisations)
    participants = Table(title="Participants")
    for column in ("action", "organisation", "ref", "name", "row", "changes"):
        participants.add_column(column)
    for person in plan.participants:
        participants.add_row(
            Text(person.action.value, style=_STYLE[person.action]),
            Text(person.organisation_ref),
            Text(person.ref),
            Text(person.name),
            Text(str(person.row) if person.row is not None else ""),
            _changes(person.action, person.changes),
        )
    console.print(participants)
    for warning in plan.warnings:
        err_console.print(f"warning: {warning.location}: {warning.message}", markup=False)
    for what, counts in plan.counts.items():
        shown = ", ".join(f"{n} {action.replace('_', ' ')}" for action, n in counts.items() if n)
        console.print(f"{what}: {shown or 'none'}", markup=False)
    console.print(f"digest: {plan.digest}", markup=False)
    if plan.applied:
        console.print("[bold green]applied[/]")
    else:
        console.print(
            "preview only, nothing was changed: run again with --apply "
            f"--expected-digest {plan.digest} to apply exactly this plan",
            markup=False,
        )
