"""The ``benchdocs`` command: import, generate, serve, worker, demo and friends."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from service.access.organisers import add_user, find_user, set_password
from service.access.tokens import issue_token
from service.batches.control import batch_progress, resend_stale, start_batch
from service.batches.document_maker import DocumentMaker
from service.batches.preflight import Gap, PlaceholdersError, preflight
from service.batches.template_library import TemplateLibrary
from service.cli import (
    access,
    attendance,
    health,
    letters,
    mail,
    regenerate,
    roster,
    storage,
    uploads,
    users,
)
from service.cli.base import (
    EXIT_ERROR,
    EXIT_FAILED_DOCUMENTS,
    EXIT_INVALID,
    console,
    err_console,
    fail,
    open_runtime,
    resolve_meeting,
)
from service.cli.demo_mail import write_invitations
from service.cli.local_cluster import WorkerProcess, embedded_redis, settings_environment
from service.cli.templates import templates_app
from service.clock import utcnow
from service.database import models as m
from service.database.session import unit_of_work
from service.documents.catalogue import CATALOGUE, PACKS
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import BenchdocsError, InvalidInputError, NotFoundError, Problem
from service.intake.programme_import import import_programme
from service.intake.sample import (
    SAMPLE_MEETING_REF,
    SAMPLE_NETWORK_REF,
    SAMPLE_PROGRAMME,
    find_id,
    sample_database,
)
from service.observability.logs import configure_logging
from service.pdf.libreoffice import configured_converter
from service.pdf.previews import render_previews
from service.runtime import Runtime
from service.settings import PROJECT_ROOT, Settings, get_settings
from service.task_queue import WORKER_QUEUES, consumed_queues

app = typer.Typer(
    help="Documents for SKR's benchmarking meetings, generated from templates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(templates_app, name="templates")
for _module in (
    uploads,
    access,
    roster,
    regenerate,
    letters,
    attendance,
    users,
    mail,
    health,
    storage,
):
    _module.register(app)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A programme JSON file (docs/import-format.md).")],
) -> None:
    """Import a whole programme round, all or nothing."""
    runtime = open_runtime()
    try:
        if not file.is_file():
            raise InvalidInputError([Problem(str(file), "no such file")])
        raw = file.read_bytes()[: runtime.settings.max_import_bytes + 1]
        with unit_of_work(runtime.sessions) as session:
            summary = import_programme(session, raw, max_bytes=runtime.settings.max_import_bytes)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    console.print(
        f"imported network [bold]{summary.network_ref}[/] (id {summary.network_id}): "
        f"{summary.organisations} organisations, {summary.participants} participants, "
        f"{summary.meetings} meetings, {summary.assessment_rounds} assessment rounds"
    )


def wait_for_batch(runtime: Runtime, batch_id: int, *, timeout: float) -> None:
    """Show a progress bar until every document of the batch is done or failed."""
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("generating", total=None, failed=0)
        while True:
            with runtime.sessions() as session:
                progress = batch_progress(session, batch_id)
                bar.update(
                    task,
                    total=progress.total,
                    completed=progress.finished,
                    failed=progress.counts[DocumentStatus.FAILED],
                )
            if progress.is_complete:
                return
            if time.monotonic() > deadline:
                raise BenchdocsError(f"batch {batch_id} not finished after {timeout:.0f} s")
            time.sleep(0.2)


def export_batch(runtime: Runtime, batch_id: int, out_dir: Path) -> list[m.GeneratedDocument]:
    """Copy the batch's finished files to a directory; returns every document."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with runtime.sessions() as session:
        documents = list(batch_progress(session, batch_id).batch.documents)
    for doc in documents:
        if doc.status == DocumentStatus.DONE and doc.file_key and doc.file_name:
            (out_dir / doc.file_name).write_bytes(runtime.files.get(doc.file_key))
    return documents


def report(documents: list[m.GeneratedDocument], out_dir: Path | None) -> int:
    """Print a table of the documents, then each failure on its own line; the failure count."""
    table = Table(title="Documents")
    for column in ("id", "kind", "file", "status", "kB", "render ms"):
        table.add_column(column)
    failures = [d for d in documents if d.status == DocumentStatus.FAILED]
    for doc in documents:
        name = doc.file_name or ""
        table.add_row(
            str(doc.id),
            doc.kind.value,
            str(out_dir / name) if out_dir and name else name,
            doc.status.value,
            f"{(doc.size_bytes or 0) / 1024:.0f}",
            f"{doc.render_ms or 0:.0f}",
        )
    console.print(table)
    for doc in failures:
        err_console.print(
            f"failed: document {doc.id} ({doc.file_name}): {doc.error}",
            markup=False,
            highlight=False,
        )
    return len(failures)


@app.command()
def generate(
    meeting: Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")],
    kind: Annotated[list[DocumentKind] | None, typer.Option(help="Kinds (default: all).")] = None,
    out: Annotated[Path | None, typer.Option(help="Copy finished files here.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the batch.")] = 600.0,
    pdf: Annotated[bool, typer.Option(help="Also make PDFs of the kinds that offer one.")] = False,
    allow_placeholders: Annotated[
        bool,
        typer.Option(
            help="Send participants' documents even though they print organiser "
            "placeholders ([Fyll i …]); without it, such a batch is refused with the list."
        ),
    ] = False,
) -> None:
    """Generate a meeting's documents through the queue, with a progress bar.

    First the pre-flight check: while participants' documents would print organiser
    placeholders, the list is printed and nothing is generated unless --allow-placeholders.
    """
    runtime = open_runtime()
    try:
        try:
            batch_id = start_batch(
                runtime.sessions,
                runtime.queue,
                meeting_id=resolve_meeting(runtime, meeting),
                kinds=kind,
                with_pdf=pdf,
                allow_placeholders=allow_placeholders,
            )
        except PlaceholdersError as exc:
            _print_gaps(exc.gaps)
            err_console.print(
                "[bold red]refused:[/] enter these facts, or pass --allow-placeholders to "
                "generate the documents with the placeholders"
            )
            raise typer.Exit(EXIT_INVALID) from exc
        console.print(f"batch {batch_id} queued")
        wait_for_batch(runtime, batch_id, timeout=timeout)
        documents = export_batch(runtime, batch_id, out) if out else _documents(runtime, batch_id)
        failed = report(documents, out)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    if failed:
        err_console.print(f"[bold red]{failed} document(s) failed[/]")
        raise typer.Exit(EXIT_FAILED_DOCUMENTS)


def _print_gaps(gaps: list[Gap]) -> None:
    for gap in gaps:
        err_console.print(
            f"  {gap.document}: would print {gap.placeholder}; enter {gap.fact}",
            markup=False,
            highlight=False,
        )


@app.command("preflight")
def preflight_command(
    meeting: Annotated[str, typer.Option(help="Meeting id, or its ref such as bm2.")],
) -> None:
    """List the organiser placeholders participants' documents of a meeting would print."""
    runtime = open_runtime()
    try:
        meeting_id = resolve_meeting(runtime, meeting)
        with runtime.sessions() as session:
            gaps = preflight(session, meeting_id=meeting_id)
    except BenchdocsError as exc:
        raise fail(exc) from exc
    finally:
        runtime.close()
    if not gaps:
        console.print("ready: no participant's document prints an organiser placeholder")
        return
    err_console.print(f"{len(gaps)} organiser placeholder(s) would reach participants:")
    _print_gaps(gaps)
    raise typer.Exit(EXIT_INVALID)


def _documents(runtime: Runtime, batch_id: int) -> list[m.GeneratedDocument]:
    with runtime.sessions() as session:
        return list(batch_progress(session, batch_id).batch.documents)


@app.command()
def resend(
    older_than: Annotated[float, typer.Option(help="Seconds without progress.")] = 600.0,
) -> None:
    """Re-send documents the database wants but that have not moved (lost tasks)."""
    runtime = open_runtime()
    try:
        stale = resend_stale(
            runtime.sessions,
            runtime.queue,
            older_than=dt.timedelta(seconds=older_than),
            now=runtime.clock.now(),
        )
    finally:
        runtime.close()
    console.print(f"re-sent {len(stale)} document(s)")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="API processes (default: the setting BENCHDOCS_API_WORKERS)."
        ),
    ] = None,
) -> None:
    """Run the HTTP API: several processes, connections capped, slow clients cut off.

    SIGTERM or Ctrl+C stops it gracefully (requests in flight finish); no process is left.
    """
    import uvicorn

    from service.api.serving import HEADER_TIMEOUT_PROTOCOL

    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    open_runtime(settings).close()  # migrate once, before any worker process starts
    # log_config=None: uvicorn's loggers go through the handler configured above (each worker
    # process configures its own in the app factory).
    uvicorn.run(
        "service.api.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.api_workers,
        http=HEADER_TIMEOUT_PROTOCOL,
        limit_concurrency=settings.api_limit_concurrency,
        timeout_keep_alive=settings.api_keep_alive_seconds,
        timeout_graceful_shutdown=settings.api_graceful_shutdown_seconds,
        # A worker process imports the whole service before it can answer the supervisor's
        # ping: on a busy 2-core machine that took over uvicorn's default 5 s.
        timeout_worker_healthcheck=30,
        log_config=None,
    )


def _exec_celery(*args: str) -> None:
    """Become Celery (``os.execv``): signals reach it directly, and stopping ``benchdocs
    worker`` or ``beat`` can never leave an orphaned Celery process behind."""
    command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter and module


def parse_queues(text: str) -> list[str]:
    """``render,pdf`` as queue names; an unknown or empty name is refused, naming the option."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in WORKER_QUEUES]
    if unknown or not names:
        raise InvalidInputError(
            [
                Problem(
                    "--queues",
                    f"unknown queue {name!r}; choose from {', '.join(WORKER_QUEUES)}",
                )
                for name in unknown
            ]
        )
    return list(dict.fromkeys(names))


@app.command()
def worker(
    queues: Annotated[
        str,
        typer.Option(
            help="Queues to consume, comma-separated: render (Office files), pdf (PDF "
            "conversion, a LibreOffice per process), mail. Default: all of them."
        ),
    ] = ",".join(WORKER_QUEUES),
    concurrency: Annotated[
        int, typer.Option(min=1, help="Processes that run tasks (for pdf: one per core).")
    ] = 2,
) -> None:
    """Run a Celery worker that renders documents, converts PDFs and sends e-mail."""
    try:
        chosen = parse_queues(queues)
    except InvalidInputError as exc:
        raise fail(exc) from exc
    open_runtime().close()  # migrate first, so workers never meet an old schema
    _exec_celery(
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--queues",
        ",".join(consumed_queues(chosen)),
    )


@app.command()
def beat(
    schedule: Annotated[
        Path | None, typer.Option(help="Where beat keeps its last-run times.")
    ] = None,
) -> None:
    """Run Celery beat: re-sends stray documents, runs the nightly regeneration.

    Last runs are kept in var/celerybeat-schedule unless --schedule says otherwise.
    """
    where = ("--schedule", str(schedule)) if schedule is not None else ()
    _exec_celery("beat", "--loglevel", "INFO", *where)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where to write the documents.")] = Path("out"),
    meeting: Annotated[str, typer.Option(help="Meeting ref of the sample.")] = "bm2",
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    pdf: Annotated[
        bool | None, typer.Option(help="Make PDFs too (default: when LibreOffice is installed).")
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            help="Then keep serving the portal (with an organiser login and a participant "
            "link printed) until stopped with Ctrl+C."
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="Where the portal listens (with --serve).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="The portal's port (with --serve).")] = 8000,
    var: Annotated[
        Path, typer.Option(help="The demo's working folder (database, files, logs); emptied first.")
    ] = PROJECT_ROOT / "var" / "demo",
) -> None:
    """Import the sample programme and generate its documents with real workers."""
    started = time.perf_counter()
    with_pdf = shutil.which("soffice") is not None if pdf is None else pdf
    var = var.resolve()
    defaults = Settings()
    overrides: dict[str, object] = {"file_store_dir": var / "files"}
    if serve:
        overrides["participant_url"] = f"http://{_url_host(host)}:{port}"
    if "DATABASE_URL" not in os.environ and "BENCHDOCS_DATABASE_URL" not in os.environ:
        shutil.rmtree(var, ignore_errors=True)
        overrides["database_url"] = f"sqlite:///{var / 'benchdocs.sqlite3'}"
    embedded = "REDIS_URL" not in os.environ and "BENCHDOCS_REDIS_URL" not in os.environ
    try:
        with _broker(var, embedded=embedded, default=defaults.redis_url) as redis_url:
            settings = defaults.model_copy(update={**overrides, "redis_url": redis_url})
            os.environ.update(settings_environment(settings))
            runtime = open_runtime(settings)
            _import_sample_once(runtime)
            console.print(
                f"broker: {'embedded Redis' if embedded else 'Redis'} at {redis_url}; "
                f"database: {runtime.engine.url.render_as_string()}; PDFs: "
                + ("yes" if with_pdf else "no (install LibreOffice, or pass --pdf)")
            )
            with WorkerProcess(
                settings, concurrency=workers, name="demo", log_file=var / "worker.log"
            ):
                batch_id = start_batch(
                    runtime.sessions,
                    runtime.queue,
                    meeting_id=resolve_meeting(runtime, meeting),
                    with_pdf=with_pdf,
                )
                wait_for_batch(runtime, batch_id, timeout=600)
                documents = export_batch(runtime, batch_id, out)
                failed = report(documents, out)
                failed += _make_packs(
                    runtime, resolve_meeting(runtime, meeting), out, with_pdf=with_pdf
                )
                _print_summary(documents, out, started)
                written = write_invitations(
                    runtime, resolve_meeting(runtime, meeting), out / "outbox"
                )
                console.print(
                    f"[bold green]{written} invitations[/] (e-mail with calendar events) in "
                    f"{out}/outbox/ : open the .eml files in any mail program"
                )
                if serve:
                    # The worker stays up: the portal's organiser can generate again.
                    _serve_portal(runtime, host=host, port=port)
            runtime.close()
    except BenchdocsError as exc:
        raise fail(exc) from exc
    if failed:
        raise typer.Exit(EXIT_FAILED_DOCUMENTS)


def _make_packs(runtime: Runtime, meeting_id: int, out: Path, *, with_pdf: bool) -> int:
    """Build the meeting pack (with PDFs) and the archives, say where they are; failures."""
    kinds = [k for k in PACKS if with_pdf or k != DocumentKind.MEETING_PACK]
    batch_id = start_batch(runtime.sessions, runtime.queue, meeting_id=meeting_id, kinds=kinds)
    wait_for_batch(runtime, batch_id, timeout=600)
    documents = export_batch(runtime, batch_id, out)
    done = {d.kind: d for d in documents if d.status == DocumentStatus.DONE}
    failed = [d for d in documents if d.status == DocumentStatus.FAILED]
    for doc in failed:
        err_console.print(f"failed: {doc.file_name}: {doc.error}", markup=False, highlight=False)
    meeting_pack = done.get(DocumentKind.MEETING_PACK)
    if meeting_pack is not None:
        console.print(
            f"Mötespaket (PDF), every deck in agenda order: {out / (meeting_pack.file_name or '')}"
        )
    elif not with_pdf:
        console.print(
            "Mötespaket (PDF): not made without PDFs (install LibreOffice, or pass --pdf)"
        )
    meeting_archive = done.get(DocumentKind.MEETING_ARCHIVE)
    if meeting_archive is not None:
        console.print(
            f"Alla dokument (zip), the whole meeting: {out / (meeting_archive.file_name or '')}"
        )
    archives = sum(
        d.kind == DocumentKind.ORGANISATION_ARCHIVE
        for d in documents
        if d.status == DocumentStatus.DONE
    )
    console.print(
        f"Alla dokument (zip), one per organisation: {archives} in {out}/ (… - Alla dokument.zip)"
    )
    return len(failed)


def _print_summary(documents: list[m.GeneratedDocument], out: Path, started: float) -> None:
    done = sum(d.status == DocumentStatus.DONE for d in documents)
    renders = sorted(d.render_ms for d in documents if d.render_ms is not None)
    median = renders[len(renders) // 2] if renders else 0.0
    console.print(
        f"[bold green]{done} documents[/] in {out}/ ; wall time "
        f"{time.perf_counter() - started:.1f} s; median render {median:.0f} ms"
    )


def _url_host(host: str) -> str:
    """The host as a browser can reach it: a wildcard address means this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


DEMO_ORGANISER = "arrangor"
DEMO_PARTICIPANT_ORGANISATION = "askersund"


def _serve_portal(runtime: Runtime, *, host: str, port: int) -> None:
    """Serve the portal until Ctrl+C, with a fresh organiser password and a participant link."""
    import uvicorn

    from service.api.app import create_app

    password = secrets.token_urlsafe(12)
    with unit_of_work(runtime.sessions) as session:
        try:
            set_password(session, find_user(session, DEMO_ORGANISER), password)
        except NotFoundError:
            add_user(
                session,
                username=DEMO_ORGANISER,
                password=password,
                display_name="Arrangör (demo)",
            )
        organisation_id = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == DEMO_PARTICIPANT_ORGANISATION)
        ).one()
        token = issue_token(
            session,
            organisation_id=organisation_id,
            valid_for=dt.timedelta(days=runtime.settings.token_valid_days),
            label="Askersunds delegation (demo)",
            now=utcnow(),
        ).token
    base = f"http://{_url_host(host)}:{port}"
    console.print(
        f"\n[bold]The portal:[/] {base}/\n"
        f"  organiser login:  {base}/logga-in  user [bold]{DEMO_ORGANISER}[/], "
        f"password [bold]{password}[/]\n"
        f"  participant link: {base}/lank/{token}  (Askersund kommun)\n"
        "Serving until Ctrl+C.",
        soft_wrap=True,
    )
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning")


def _broker(var: Path, *, embedded: bool, default: str) -> AbstractContextManager[str]:
    return embedded_redis(var / "redis") if embedded else nullcontext(default)


def _import_sample_once(runtime: Runtime) -> None:
    sample = SAMPLE_PROGRAMME
    with unit_of_work(runtime.sessions) as session:
        if session.scalar(select(m.Network.id).where(m.Network.ref == SAMPLE_NETWORK_REF)):
            return
        import_programme(session, sample.read_bytes(), max_bytes=runtime.settings.max_import_bytes)


@app.command()
def previews(
    organisation: Annotated[str, typer.Option(help="Sample organisation ref.")] = "askersund",
    meeting: Annotated[str, typer.Option(help="Sample meeting ref.")] = SAMPLE_MEETING_REF,
    out: Annotated[Path, typer.Option(help="Where to write files and PNG pages.")] = Path(
        "out/previews"
    ),
    resolution: Annotated[int, typer.Option(help="Pixels per inch of the PNGs.")] = 60,
) -> None:
    """Render every document kind for one sample organisation, as files and PNG pages."""
    settings = get_settings()
    converter = configured_converter(settings)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sample_database() as sessions:
            maker = DocumentMaker(
                sessions=sessions, templates=TemplateLibrary(settings.templates_dir)
            )
            with sessions() as session:
                meeting_id = find_id(session, m.Meeting, meeting)
                organisation_id = find_id(session, m.Organisation, organisation)
                meeting_title = session.get_one(m.Meeting, meeting_id).title
                organisation_name = session.get_one(m.Organisation, organisation_id).name
            files = []
            for spec in CATALOGUE.values():
                made = maker.make(
                    spec.kind,
                    meeting_id=meeting_id,
                    organisation_id=organisation_id if spec.per_organisation else None,
                )
                path = out / spec.file_name(
                    meeting_title=meeting_title,
                    organisation_name=organisation_name if spec.per_organisation else None,
                    file_format=spec.office_format,
                )
                path.write_bytes(made.data)
                files.append(path)
        pages = render_previews(files, out, converter=converter, resolution=resolution)
    except (BenchdocsError, LookupError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_ERROR) from exc
    finally:
        close = getattr(converter, "close", None)
        if close is not None:
            close()
    console.print(f"{len(files)} documents and {len(pages)} PNG pages in {out}/")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BenchdocsError as exc:  # configuration errors raised before a command runs
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
