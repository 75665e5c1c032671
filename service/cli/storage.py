"""``benchdocs storage migrate``: copy the local file store into the configured S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.base import EXIT_ERROR, console, err_console, fail
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
