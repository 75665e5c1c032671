"""Benchmark: the meeting pack and the archives for a meeting of many organisations.

    .venv/bin/python -m bench.meeting_pack --organisations 300

The sample programme is cloned up to ``--organisations``; every deck is made (pptx and PDF)
through real workers first (not timed). Then, through the same workers, one batch of the
meeting pack, every organisation's archive and the meeting's archive is timed (built), and a
second one (every pack reused: nothing changed); then the nightly check of the meeting
(dry: its plan), then the merge alone, in this process, over
the stored deck PDFs (median of ``--repeat``). With ``--convert``, the decks' PDFs are left out
first, so the pack converts every pptx itself (as for uploaded decks). The machine is shared:
compare ratios within one run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import pikepdf

from bench.render_and_pipeline import median_ms, network_of
from service.batches.control import batch_progress, start_batch
from service.batches.packs import agenda_organisations
from service.cli.local_cluster import WorkerProcess
from service.database import models as m
from service.documents.catalogue import PACKS
from service.documents.meeting_pack import PackDeck, assemble_meeting_pack
from service.domain.kinds import DocumentKind, DocumentStatus
from service.regeneration.planning import plan_regeneration
from service.runtime import Runtime


def run_batch(
    runtime: Runtime, meeting: int, kinds: list[DocumentKind], *, with_pdf: bool
) -> tuple[float, list[m.GeneratedDocument]]:
    """Start a batch, wait for it; wall seconds and its documents."""
    started = time.perf_counter()
    batch_id = start_batch(
        runtime.sessions, runtime.queue, meeting_id=meeting, kinds=kinds, with_pdf=with_pdf
    )
    while True:
        with runtime.sessions() as session:
            progress = batch_progress(session, batch_id)
            if progress.is_complete:
                documents = list(progress.batch.documents)
                break
        time.sleep(0.1)
    return time.perf_counter() - started, documents


def describe(label: str, wall: float, documents: list[m.GeneratedDocument]) -> None:
    failed = [d for d in documents if d.status != DocumentStatus.DONE]
    reused = sum(d.reused_from_id is not None for d in documents)
    print(
        f"  {label}: {len(documents)} packs in {wall:.1f} s wall; reused {reused}; "
        f"failed {len(failed)}" + (f" ({failed[0].error})" if failed else "")
    )
    for kind in PACKS:
        times = [d.render_ms for d in documents if d.kind == kind and d.render_ms is not None]
        sizes = [d.size_bytes or 0 for d in documents if d.kind == kind]
        if times:
            print(
                f"    {kind.value:21} median build {statistics.median(times):8.0f} ms, "
                f"median size {statistics.median(sizes) / 1e6:6.1f} MB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--convert", action="store_true", help="decks without PDFs")
    args = parser.parse_args()
    with network_of(args.organisations) as (settings, runtime, meeting):
        print(
            f"Meeting pack and archives: {args.organisations} organisations, "
            f"{args.workers} worker processes, embedded Redis, SQLite"
        )
        with WorkerProcess(settings, concurrency=args.workers, name="bench"):
            wall, decks = run_batch(
                runtime, meeting, [DocumentKind.DECK], with_pdf=not args.convert
            )
            print(f"  decks made first (not the pack's time): {len(decks)} in {wall:.1f} s")
            wall, built = run_batch(runtime, meeting, list(PACKS), with_pdf=False)
            describe("built", wall, built)
            wall, again = run_batch(runtime, meeting, list(PACKS), with_pdf=False)
            describe("again, nothing changed", wall, again)
        started = time.perf_counter()
        plan = plan_regeneration(
            runtime.sessions, runtime.templates.directory, meeting_ids=[meeting]
        )
        print(
            f"  nightly check of the meeting (decks and packs): {plan.checked} slots, "
            f"{plan.unchanged} unchanged, {len(plan.changes)} changed in "
            f"{time.perf_counter() - started:.1f} s"
        )
        merge_alone(runtime, meeting, decks, args.repeat)


def merge_alone(
    runtime: Runtime, meeting: int, decks: list[m.GeneratedDocument], repeat: int
) -> None:
    """The pure merge over the stored deck PDFs, without loading or storing."""
    pdfs = {d.organisation_id: d for d in decks if d.format == "pdf" and d.file_key}
    if not pdfs:
        return
    with runtime.sessions() as session:
        order = agenda_organisations(session, session.get_one(m.Meeting, meeting))
    parts = [
        PackDeck(name, runtime.files.get(pdfs[org].file_key or ""))
        for org, name in order
        if org in pdfs
    ]
    pages = 0
    for part in parts:
        with pikepdf.open(io.BytesIO(part.pdf)) as pdf:
            pages += len(pdf.pages)
    ms = median_ms(
        lambda: assemble_meeting_pack(meeting_title="Benchmarking 2", decks=parts), repeat
    )
    print(
        f"  merge alone (in process): {len(parts)} decks in {ms / 1000:.1f} s "
        f"(median of {repeat}; {pages} pages)"
    )


if __name__ == "__main__":
    main()
