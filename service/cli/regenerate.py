"""``benchdocs regenerate [--dry-run]``: redo the documents whose inputs changed."""

from __future__ import annotations

import time
from typing import Annotated, Any

import redis
import typer
from rich.table import Table

from service.cli.base import (
    EXIT_FAILED_DOCUMENTS,
    console,
    err_console,
    fail,
    open_runtime,
    resolve_meeting,
)
from service.database import models as m
from service.database.session import unit_of_work
from service.errors import BenchdocsError, InvalidInputError, Problem
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import converter_for
from service.regeneration.runs import MAX_RECORDED_CHANGES, RENDERING, refresh_run
from service.regeneration.schedule import run_manual
from service.runtime import Runtime
from service.settings import Settings


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.command("regenerate")(regenerate)


def regenerate(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change and why.")
    ] = False,
    meeting: Annotated[
        list[str] | None,
        typer.Option(help="Meeting id or ref, repeatable (default: every active meeting)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the workers; print what they redid.")
    ] = False,
    inline: Annotated[
        bool, typer.Option("--inline", help="Render in this process: no broker or worker.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits for the workers.")] = 600.0,
) -> None:
    """Check documents against their inputs and re-render those that changed.

    Prints each document that changes with the reason (which input changed), then the counts.
    Exits 3 when documents could not be checked or made.
    """
    runtime = open_runtime()
    pdf: PdfConverter | None = None
    try:
        meeting_ids = _meeting_ids(runtime, meeting or [])
        client = None if dry_run else _lock_client(runtime.settings, inline=inline)
        if inline and not dry_run:
            pdf = converter_for(runtime.settings)
        try:
            run = run_manual(
                sessions=runtime.sessions,
                queue=runtime.queue,
                files=runtime.files,
                templates=runtime.templates,
                settings=runtime.settings,
                redis_client=client,
                dry_run=dry_run,
                meeting_ids=meeting_ids,
                now=runtime.clock.now(),
                inline=inline,
                pdf=pdf,
            )
        finally:
            if client is not None:
                client.close()
        _print_plan(run)
        if run.status == RENDERING and wait:
            run = _wait_for(runtime, run.id, timeout=timeout)
        _print_outcome(run)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        close = getattr(pdf, "close", None)
        if close is not None:
            close()
        runtime.close()
    if run.failed:
        raise typer.Exit(EXIT_FAILED_DOCUMENTS)


def _meeting_ids(runtime: Runtime, refs: list[str]) -> list[int] | None:
    """Resolve every --meeting; every one that names no single meeting is a problem."""
    if not refs:
        return None
    ids: list[int] = []
    problems: list[Problem] = []
    for ref in refs:
        try:
            ids.append(resolve_meeting(runtime, ref))
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidInputError(problems)
    return ids


def _lock_client(settings: Settings, *, inline: bool) -> redis.Redis | None:
    """A Redis client for the lock; running inline, an unreachable Redis only means no lock."""
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if not inline:
            raise BenchdocsError(
                f"Redis at {settings.redis_url} is not reachable ({exc}); "
                "start it, or render here with --inline"
            ) from exc
        err_console.print(
            "[yellow]warning:[/] Redis is not reachable: running without the lock that keeps "
            "regenerations from overlapping"
        )
        return None
    return client


def _print_plan(run: m.RegenerationRun) -> None:
    """One row per changed document with its reasons, then the counts."""
    title = "What would change" if run.dry_run else "What changed"
    table = Table(title=f"{title} (run {run.id})")
    table.add_column("document")
    table.add_column("why")
    for change in run.changes:
        table.add_row(str(change["description"]), "; ".join(change["reasons"]))
    if run.changes:
        console.print(table)
    # A run records at most MAX_RECORDED_CHANGES; its batch knows the full count.
    listed = " or more (the first ones listed)" if len(run.changes) >= MAX_RECORDED_CHANGES else ""
    console.print(
        f"meeting ids {', '.join(str(i) for i in run.meeting_ids) or '(none active)'}: "
        f"checked {run.checked}, unchanged {run.unchanged}, "
        f"{'would change' if run.dry_run else 'changed'} {len(run.changes)}{listed}"
    )


def _print_outcome(run: m.RegenerationRun) -> None:
    """What was re-rendered, and every failure with its reason."""
    if run.status == RENDERING:
        console.print(
            f"run {run.id}: batch {run.batch_id} queued for the workers; follow it with "
            f"GET /api/v1/regenerations/{run.id} (or run with --wait)"
        )
    elif not run.dry_run:
        console.print(f"re-rendered {run.rerendered}, failed {run.failed}")
    for failure in run.failures:
        _print_failure(failure)
    if run.failed:
        err_console.print(f"[bold red]{run.failed} document(s) failed[/]")


def _print_failure(failure: dict[str, Any]) -> None:
    if "more" in failure:
        line = f"failed: {failure['more']} more"
    else:
        line = f"failed: {failure.get('description')}: {failure.get('error')}"
    err_console.print(line, markup=False, highlight=False)


def _wait_for(runtime: Runtime, run_id: int, *, timeout: float) -> m.RegenerationRun:
    """Fold the batch's outcome into the run until no document is on its way."""
    deadline = time.monotonic() + timeout
    with console.status("waiting for the workers"):
        while True:
            with unit_of_work(runtime.sessions) as session:
                run = refresh_run(session, run_id)
            if run.status != RENDERING:
                return run
            if time.monotonic() > deadline:
                raise BenchdocsError(
                    f"regeneration run {run_id} not finished after {timeout:.0f} s"
                )
            time.sleep(0.2)
