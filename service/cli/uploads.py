"""``benchdocs upload checklist|deck`` and ``benchdocs status``: what participants sent back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from service.cli.base import (
    console,
    fail,
    open_runtime,
    read_upload_file,
    resolve_meeting,
    resolve_organisation,
)
from service.clock import utcnow
from service.database.session import unit_of_work
from service.database.submission_status import (
    OrganisationSubmission,
    SubmissionStatus,
    load_submission_status,
)
from service.documents import swedish
from service.errors import BenchdocsError
from service.file_safety.file_inspection import limits_from_settings
from service.uploads.checklist_upload import upload_checklist
from service.uploads.deck_upload import upload_deck
from service.uploads.stored_uploads import Uploader

upload_app = typer.Typer(help="Send back a filled checklist or a finished deck.")

# Who the upload row says sent a file from the command line.
CLI_UPLOADER = Uploader(label="organiser")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(upload_app, name="upload")
    app.command("status")(status_command)


@upload_app.command("checklist")
def upload_checklist_command(
    file: Annotated[Path, typer.Argument(help="The filled checklist workbook (.xlsx).")],
    organisation: Annotated[str, typer.Option(help="Organisation id, or its ref.")],
    round_choice: Annotated[
        str | None,
        typer.Option("--round", help="Assessment round ref or id (default: the last sheet)."),
    ] = None,
) -> None:
    """Replace an organisation's scores from its filled checklist; a bad file changes nothing."""
    runtime = open_runtime()
    try:
        organisation_id = resolve_organisation(runtime, organisation)
        data = read_upload_file(file, max_bytes=runtime.settings.max_upload_bytes)
        with unit_of_work(runtime.sessions) as session:
            result = upload_checklist(
                session,
                runtime.files,
                organisation_id=organisation_id,
                data=data,
                file_name=file.name,
                round_choice=round_choice,
                uploader=CLI_UPLOADER,
                limits=limits_from_settings(runtime.settings),
                now=utcnow(),
            )
            label = result.assessment_round.label
            summary = result.summary
            movement = result.movement
            previous = result.previous_round.label if result.previous_round else None
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(
        f"upload {result.upload.id}: {result.read} scores read for {label} "
        f"({result.assessed} assessed, {result.not_assessed} not assessed)"
    )
    console.print(
        f"sum {summary.total} of {summary.max_total}; "
        f"{'meets' if summary.is_ready else 'does not yet meet'} the model-organisation rule"
    )
    if movement is not None:
        console.print(
            f"movement since {previous}: {movement.previous.total} → {movement.current.total} "
            f"({movement.total_delta:+d}), {len(movement.improved)} up, "
            f"{len(movement.declined)} down"
        )
    if result.previous_snapshot_id is not None:
        console.print(f"the previous scores are kept as snapshot {result.previous_snapshot_id}")
    console.print(f"{result.documents_marked_stale} document(s) marked stale")
    if result.documents_no_longer_stale:
        console.print(
            f"{result.documents_no_longer_stale} document(s) match their inputs again: "
            "no longer stale"
        )


@upload_app.command("deck")
def upload_deck_command(
    file: Annotated[Path, typer.Argument(help="The finished presentation (.pptx).")],
    organisation: Annotated[str, typer.Option(help="Organisation id, or its ref.")],
    meeting: Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")],
) -> None:
    """Store an organisation's finished deck for a meeting; the latest one counts."""
    runtime = open_runtime()
    try:
        organisation_id = resolve_organisation(runtime, organisation)
        meeting_id = resolve_meeting(runtime, meeting)
        data = read_upload_file(file, max_bytes=runtime.settings.max_upload_bytes)
        with unit_of_work(runtime.sessions) as session:
            result = upload_deck(
                session,
                runtime.files,
                organisation_id=organisation_id,
                meeting_id=meeting_id,
                data=data,
                file_name=file.name,
                uploader=CLI_UPLOADER,
                limits=limits_from_settings(runtime.settings),
                now=utcnow(),
                timezone=runtime.settings.regeneration_timezone,
            )
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    when = "on time" if result.on_time else "late"
    console.print(
        f"upload {result.upload.id}: {result.upload.file_name} ({result.upload.size_bytes} bytes, "
        f"sha256 {result.upload.sha256[:12]}…) for {result.meeting.title}, {when} "
        f"(deadline {result.deadline.isoformat()})"
    )


def status_command(
    meeting: Annotated[str, typer.Argument(help="Meeting id, or its ref such as bm2.")],
) -> None:
    """What each organisation has sent for a meeting: delegation, checklist, deck."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        with runtime.sessions() as session:
            found = load_submission_status(
                session, meeting_id, timezone=runtime.settings.regeneration_timezone
            )
            table = status_table(found, timezone=runtime.settings.regeneration_timezone)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(table)
    console.print(summary_line(found))


def status_table(found: SubmissionStatus, *, timezone: str) -> Table:
    """One row per organisation of the meeting's network."""
    round_label = found.assessment_round.label if found.assessment_round else "no round"
    table = Table(
        title=f"{found.meeting.title} ({found.meeting.date.isoformat()}), "
        f"upload deadline {found.deadline.isoformat()}"
    )
    for column in ("organisation", "delegation", f"checklist {round_label}", "deck"):
        table.add_column(column)
    for row in found.organisations:
        # Text, not markup: names and uploaders' labels are typed by people.
        cells = (row.name, _delegation(row), _checklist(row, timezone), _deck(row))
        table.add_row(*(Text(cell) for cell in cells))
    return table


def summary_line(found: SubmissionStatus) -> str:
    """The counts over all organisations, in one line."""
    s = found.summary
    return (
        f"{s.organisations} organisations: {s.delegations_complete} complete delegations, "
        f"{s.checklists_submitted} checklists, {s.decks_submitted} decks "
        f"({s.decks_on_time} on time, {s.decks_late} late)"
    )


def _delegation(row: OrganisationSubmission) -> str:
    missing = row.delegation.missing_roles
    return "complete" if not missing else "missing " + ", ".join(r.value for r in missing)


def _checklist(row: OrganisationSubmission, timezone: str) -> str:
    checklist = row.checklist
    if checklist.via is None:
        return swedish.NOT_ASSESSED
    if checklist.at is None:
        return f"via {checklist.via}"
    local = checklist.at.astimezone(ZoneInfo(timezone))
    return f"via {checklist.via} {local:%Y-%m-%d %H:%M}"


def _deck(row: OrganisationSubmission) -> str:
    deck = row.deck
    if deck is None:
        return swedish.NOT_ASSESSED
    when = "on time" if deck.on_time else "LATE"
    return f"{deck.local_date.isoformat()} {when}, by {deck.by} ({deck.versions} version(s))"
