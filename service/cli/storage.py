"""``benchdocs storage migrate``: copy the local file store into the configured S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.base import EXIT_ERROR, console, err_console, fail, open_runtime
from service.errors import BenchdocsError
from service.settings import get_settings
from service.storage.migration import MigratedFile, MigrationReport, Outcome, migrate_directory

storage_app = typer.Typer(
    help="The file store: local directory or S3 bucket.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main ``benchdocs`` app."""
    app.add_typer(storage_app, name="storage")


@storage_app.command("migrate")
def migrate(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="The local store's directory (default: BENCHDOCS_FILE_STORE_DIR)."
        ),
    ] = None,
    verify_existing: Annotated[
        bool,
        typer.Option(
            "--verify-existing",
            help="Read back objects already in the bucket instead of trusting their sha256.",
        ),
    ] = False,
) -> None:
    """Copy every stored file into the bucket of BENCHDOCS_S3_*; run again to resume.

    Objects already there with the same sha256 are skipped; each copy is read back and
    checked. Exits 1 naming each file that could not be copied.
    """
    # Imported here: boto3 takes a while to load, and no other command needs it.
    from service.storage.s3_file_store import S3FileStore

    try:
        settings = get_settings()
        target = S3FileStore.from_settings(settings)
        target.check()
        directory = source or settings.file_store_dir
        console.print(
            f"copying {directory} into bucket {target.bucket!r}"
            + (f" under {target.prefix!r}" if target.prefix else "")
        )
        report = migrate_directory(
            directory, target, verify_existing=verify_existing, on_file=_print_failure
        )
    except BenchdocsError as exc:
        raise fail(exc) from exc
    _print_report(report)
    if not report.complete:
        failed = report.of(Outcome.FAILED)
        names = ", ".join(f.key for f in failed[:10]) + (" …" if len(failed) > 10 else "")
        stopped = f"; stopped: {report.stopped}" if report.stopped else ""
        err_console.print(
            f"error: {len(failed)} file(s) not copied: {names}{stopped}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_ERROR)


def _print_failure(done: MigratedFile) -> None:
    if done.outcome == Outcome.FAILED:
        err_console.print(f"failed: {done.key}: {done.problem}", markup=False, highlight=False)


def _print_report(report: MigrationReport) -> None:
    for outcome in Outcome:
        files = len(report.of(outcome))
        console.print(
            f"{outcome.value}: {files} file{'' if files == 1 else 's'}, "
            f"{report.bytes_of(outcome)} bytes",
            highlight=False,
        )


# -- leases (issue 16): storage check ------------------------------------------------------


@storage_app.command("check")
def check(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Remove files without a row and re-send documents whose file is gone.",
        ),
    ] = False,
    min_age: Annotated[
        float,
        typer.Option(
            "--min-age",
            help="Seconds a file without a row must be old to count (younger: still written).",
        ),
    ] = 600.0,
) -> None:
    """List files without a row and rows without a file; exit 1 if any (0 once repaired).

    With --repair, orphan files are removed and documents whose file is gone are made again;
    an upload or template version whose file is gone is listed for a person (exit 1).
    """
    import datetime as dt

    from service.batches.store_check import check_store, repair_store

    runtime = open_runtime()
    try:
        report = check_store(runtime.sessions, runtime.files, min_age=dt.timedelta(seconds=min_age))
        console.print(
            f"checked {report.files_seen} file(s) and {report.rows_seen} row(s) naming a file",
            highlight=False,
        )
        if report.young:
            console.print(
                f"{report.young} file(s) without a row yet left alone (being written)",
                highlight=False,
            )
        _print_list("files without a row", report.orphans)
        _print_list("rows without a file", [f.describe() for f in report.missing])
        if report.clean:
            console.print("the store is consistent", highlight=False)
            return
        if not repair:
            err_console.print(
                "error: the store is not consistent; run `benchdocs storage check --repair`",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(EXIT_ERROR)
        done = repair_store(runtime.sessions, runtime.files, runtime.queue, report)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(f"removed {len(done.removed)} file(s) without a row", highlight=False)
    console.print(f"re-sent {len(done.resent)} document(s) to be made again", highlight=False)
    if done.left:
        _print_list("left for a person (cannot be made again)", [f.describe() for f in done.left])
        raise typer.Exit(EXIT_ERROR)


def _print_list(title: str, lines: list[str]) -> None:
    if not lines:
        console.print(f"{title}: none", highlight=False)
        return
    console.print(f"{title} ({len(lines)}):", highlight=False)
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False)
