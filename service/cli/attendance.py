"""``benchdocs attendance list|set|import``: who is registered for and who came to a meeting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from service.cli.base import console, fail, open_runtime, read_upload_file, resolve_meeting
from service.database.session import unit_of_work
from service.domain.kinds import AttendanceStatus
from service.errors import BenchdocsError
from service.file_safety.file_inspection import limits_from_settings
from service.intake.attendance_import import import_attendance
from service.intake.entities import AttendanceEntry, list_attendance, put_attendance

attendance_app = typer.Typer(
    help="Attendance: registered (anmäld), came (deltog) or not (förhinder), per participant.",
    no_args_is_help=True,
)

MeetingOption = Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(attendance_app, name="attendance")


@attendance_app.command("list")
def list_command(meeting: MeetingOption) -> None:
    """The meeting's recorded attendance."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        table = Table(title="Attendance")
        for column in ("participant", "id", "status", "special needs"):
            table.add_column(column)
        with runtime.sessions() as session:
            for row in list_attendance(session, meeting_id):
                table.add_row(
                    row.participant.name,
                    str(row.participant_id),
                    row.status.value,
                    row.special_needs or "",
                )
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(table)


@attendance_app.command("set")
def set_command(
    meeting: MeetingOption,
    participant: Annotated[int, typer.Option(help="The participant's id.")],
    status: Annotated[AttendanceStatus, typer.Option(help="anmäld, deltog or förhinder.")],
    special_needs: Annotated[str | None, typer.Option(help="Specialkost, hörslinga, …")] = None,
) -> None:
    """Record one participant's attendance."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        with unit_of_work(runtime.sessions) as session:
            row = put_attendance(
                session,
                meeting_id,
                participant,
                AttendanceEntry(status=status, special_needs=special_needs),
            )
            name, recorded = row.participant.name, row.status.value
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"{name}: {recorded}", markup=False, highlight=False)


@attendance_app.command("import")
def import_command(
    meeting: MeetingOption,
    file: Annotated[Path, typer.Argument(help="An attendance list: xlsx or CSV.")],
) -> None:
    """Record a whole attendance list, all or nothing; every bad row is named."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        limits = limits_from_settings(runtime.settings)
        data = read_upload_file(file, max_bytes=limits.max_bytes)
        with unit_of_work(runtime.sessions) as session:
            result = import_attendance(
                session, meeting_id, data, file_name=file.name, limits=limits
            )
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    counts = ", ".join(f"{n} {status}" for status, n in result.counts.items())
    console.print(f"recorded attendance from {result.source}: {result.rows} rows ({counts})")
