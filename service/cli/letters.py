"""``benchdocs letters list|edit|release``: review feedback letters, then release them.

A letter is a draft only organisers see until it is released; see ``service.access.letters``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from service.access.letters import (
    LetterReview,
    LetterState,
    letter_state,
    letter_states,
    put_letter,
    release_letter,
)
from service.cli.base import (
    console,
    err_console,
    fail,
    open_runtime,
    resolve_meeting,
    resolve_organisation,
)
from service.clock import utcnow
from service.database.session import unit_of_work
from service.errors import BenchdocsError, InvalidInputError, Problem, TransientError
from service.intake.programme_import import problems_from_validation
from service.mail.manual import announce_released_letters
from service.mail.sending import queue_messages

letters_app = typer.Typer(
    help="Feedback letters: write what was noted and the ideas, then release each one.",
    no_args_is_help=True,
)

MeetingOption = Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")]
OrganisationOption = Annotated[
    str, typer.Option("--organisation", help="Organisation id, or its ref such as askersund.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(letters_app, name="letters")


@letters_app.command("list")
def list_command(meeting: MeetingOption) -> None:
    """Every organisation's letter: released or draft, and what it still lacks."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        with runtime.sessions() as session:
            states = letter_states(session, meeting_id)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    table = Table(title="Feedback letters")
    for column in ("organisation", "id", "state", "noted", "ideas", "missing"):
        table.add_column(column)
    for state in states:
        table.add_row(
            state.organisation_name,
            str(state.organisation_id),
            _state_label(state),
            "yes" if state.noted else "no",
            str(len(state.ideas)),
            "; ".join(state.missing),
        )
    console.print(table)


@letters_app.command("edit")
def edit(
    meeting: MeetingOption,
    organisation: OrganisationOption,
    noted: Annotated[
        str | None, typer.Option(help="Er presentation – det vi särskilt noterade.")
    ] = None,
    noted_file: Annotated[
        Path | None, typer.Option(help="Read the noted text from this UTF-8 file.")
    ] = None,
    idea: Annotated[
        list[str] | None, typer.Option(help="An idea to take home; repeat for more.")
    ] = None,
) -> None:
    """Write a letter's noted text and ideas (what is not given is emptied)."""
    runtime = open_runtime()
    try:
        if noted is not None and noted_file is not None:
            raise InvalidInputError([Problem("--noted-file", "give --noted or --noted-file")])
        if noted_file is not None:
            if not noted_file.is_file():
                raise InvalidInputError([Problem("--noted-file", f"no such file {noted_file}")])
            try:
                noted = noted_file.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(
                    [Problem("--noted-file", f"not UTF-8 text (byte {exc.start})")]
                ) from exc
        try:
            review = LetterReview(noted=noted, ideas=idea or [])
        except ValidationError as exc:
            raise InvalidInputError(
                [
                    Problem(p.location.replace("$.", "--"), p.message)
                    for p in problems_from_validation(exc)
                ]
            ) from exc
        meeting_id = resolve_meeting(runtime, meeting)
        organisation_id = resolve_organisation(runtime, organisation)
        with unit_of_work(runtime.sessions) as session:
            state = put_letter(session, meeting_id, organisation_id, review, now=utcnow())
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    _print(state)


@letters_app.command("release")
def release(meeting: MeetingOption, organisation: OrganisationOption) -> None:
    """Release a letter to its organisation; it is dated today and its files are made anew.

    Its participants get "your feedback letter is ready" (once), handed to the workers.
    """
    runtime = open_runtime()
    by = "benchdocs letters release"
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        organisation_id = resolve_organisation(runtime, organisation)
        now = utcnow()
        with unit_of_work(runtime.sessions) as session:
            state = release_letter(session, meeting_id, organisation_id, by=by, now=now)
            report = announce_released_letters(
                session, meeting_id, [organisation_id], settings=runtime.settings, by=by, now=now
            )
        _print(state)
        console.print(f"  messages: {len(report.added)} new", markup=False, highlight=False)
        for sentence in report.skipped:
            console.print(f"  skipped: {sentence}", markup=False, highlight=False)
        try:
            queue_messages(runtime.sessions, runtime.queue, report.added)
        except TransientError as exc:
            err_console.print(
                f"the messages stay queued; the workers' resend picks them up: {exc}",
                markup=False,
                highlight=False,
            )
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()


@letters_app.command("show")
def show(meeting: MeetingOption, organisation: OrganisationOption) -> None:
    """One letter's texts and state."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        organisation_id = resolve_organisation(runtime, organisation)
        with runtime.sessions() as session:
            state = letter_state(session, meeting_id, organisation_id)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    _print(state)


def _state_label(state: LetterState) -> str:
    if state.released_at is None:
        return "draft"
    return f"released {state.released_at:%Y-%m-%d %H:%M} UTC"


def _print(state: LetterState) -> None:
    console.print(
        f"letter to [bold]{state.organisation_name}[/] (meeting {state.meeting_id}): "
        f"{_state_label(state)}"
    )
    console.print(f"  noted: {state.noted or '–'}", markup=False, highlight=False)
    for idea in state.ideas:
        console.print(f"  idea: {idea}", markup=False, highlight=False)
    for placeholder in state.missing:
        console.print(f"  missing: {placeholder}", markup=False, highlight=False)
