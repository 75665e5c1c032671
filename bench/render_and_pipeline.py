"""Benchmark: every document kind in one process, against floors; batches through real workers.

Run with ``make bench``. Prints medians and ratios measured in the same run; the machine is
shared and noisy, so compare ratios rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docxtpl
import openpyxl
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pptx import Presentation
from sqlalchemy import select

from service.batches.control import batch_progress, start_batch
from service.batches.template_library import TemplateLibrary
from service.cli.local_cluster import WorkerProcess, embedded_redis
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.session import migrate, unit_of_work
from service.documents.catalogue import CATALOGUE, DocumentSpec
from service.documents.swedish_filters import SWEDISH_FILTERS
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME, find_id, sample_database
from service.runtime import Runtime, build_runtime
from service.settings import Settings

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


def programme_with(organisations: int) -> bytes:
    """The sample programme with its organisations cloned up to the wanted number."""
    sample = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    result = copy.deepcopy(sample)
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
def network_of(organisations: int) -> Iterator[tuple[Settings, Runtime, int]]:
    """A throw-away SQLite database and embedded Redis holding a network of this size; its
    settings, a runtime on it and the id of its Benchmarking 2."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with embedded_redis(work / "redis") as redis_url:
            settings = Settings(
                database_url=f"sqlite:///{work / 'bench.sqlite3'}",
                redis_url=redis_url,
                file_store_dir=work / "files",
            )
            runtime = build_runtime(settings)
            try:
                migrate(runtime.engine)
                with unit_of_work(runtime.sessions) as session:
                    import_programme(session, programme_with(organisations), max_bytes=100_000_000)
                with runtime.sessions() as session:
                    meeting = session.scalars(
                        select(m.Meeting.id).where(m.Meeting.ref == "bm2")
                    ).one()
                yield settings, runtime, meeting
            finally:
                runtime.close()


def bench_batch(organisations: int, workers: int, *, with_pdf: bool) -> None:
    with (
        network_of(organisations) as (settings, runtime, meeting),
        WorkerProcess(settings, concurrency=workers, name="bench"),
    ):
        started = time.perf_counter()
        # Cloned organisations have no delegation: their agendas print placeholders, which a
        # throughput measurement does not mind (an organiser would be asked first).
        batch_id = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting,
            with_pdf=with_pdf,
            allow_placeholders=True,
        )
        while True:
            with runtime.sessions() as session:
                progress = batch_progress(session, batch_id)
                if progress.is_complete:
                    documents = list(progress.batch.documents)
                    break
            time.sleep(0.1)
        wall = time.perf_counter() - started
    pdfs = [d.render_ms or 0 for d in documents if d.format == "pdf"]
    office = [d.render_ms or 0 for d in documents if d.format != "pdf"]
    label = "Office files and PDFs" if with_pdf else "Office files only"
    print(
        f"\nBatch through the real queue: {organisations} organisations x every kind, "
        f"{label}; {workers} worker processes, embedded Redis, SQLite"
    )
    print(
        f"  {progress.total} documents ({len(pdfs)} PDFs) in {wall:.1f} s wall = "
        f"{progress.total / wall:.0f} documents/s; done {progress.counts['done']}, "
        f"failed {progress.counts['failed']}"
    )
    print(
        f"  median per document in the worker: Office {statistics.median(office):.1f} ms"
        + (f", PDF (render + warm conversion) {statistics.median(pdfs):.0f} ms" if pdfs else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--pdf-organisations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bench_kinds(args.repeat)
    bench_batch(args.organisations, args.workers, with_pdf=False)
    bench_batch(args.pdf_organisations, args.workers, with_pdf=True)


if __name__ == "__main__":
    main()
