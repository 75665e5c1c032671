"""Benchmark: deck render time against a python-pptx floor, and a batch through real workers.

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
from collections.abc import Callable
from pathlib import Path

from pptx import Presentation
from sqlalchemy import select

from service.database import models as m
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.documents.deck import build_deck_context
from service.generation.batches import batch_progress, start_batch
from service.generation.facts_loader import load_deck_facts
from service.intake.programme_import import import_programme
from service.local_cluster import WorkerProcess, embedded_redis
from service.rendering.pptx_engine import PptxTemplate
from service.runtime import build_runtime
from service.settings import PROJECT_ROOT, Settings

SAMPLE = PROJECT_ROOT / "service" / "data" / "sample-programme.json"
TEMPLATE = PROJECT_ROOT / "doc_templates" / "deck_benchmarking.pptx"


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of one call, in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def programme_with(organisations: int) -> bytes:
    """The sample programme with its organisations cloned up to the wanted number."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
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


def bench_render(repeat: int) -> None:
    data = TEMPLATE.read_bytes()
    engine = make_engine("sqlite://")
    migrate(engine)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        import_programme(session, SAMPLE.read_bytes(), max_bytes=10_000_000)
    with sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        org = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()

    def load_facts() -> object:
        with sessions() as session:
            return load_deck_facts(session, meeting_id=meeting, organisation_id=org)

    facts = load_facts()
    context = build_deck_context(facts)  # type: ignore[arg-type]
    template = PptxTemplate.from_bytes(data, name=TEMPLATE.name)

    def floor() -> bytes:
        out = io.BytesIO()
        Presentation(io.BytesIO(data)).save(out)
        return out.getvalue()

    rows = [
        ("python-pptx load+save, no tags (floor)", median_ms(floor, repeat)),
        (
            "parse template (once per process)",
            median_ms(lambda: PptxTemplate.from_bytes(data, name="t"), max(5, repeat // 4)),
        ),
        ("load facts from the database", median_ms(load_facts, repeat)),
        ("build context (pure)", median_ms(lambda: build_deck_context(facts), repeat)),  # type: ignore[arg-type]
        ("render deck (benchdocs)", median_ms(lambda: template.render(context), repeat)),
    ]
    floor_ms = rows[0][1]
    print(f"\nDeck, one process, median of {repeat} runs")
    print(f"{'step':45} {'median ms':>10} {'x floor':>8}")
    for name, value in rows:
        print(f"{name:45} {value:10.2f} {value / floor_ms:8.2f}")
    engine.dispose()


def bench_pipeline(organisations: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with embedded_redis(work / "redis") as redis_url:
            settings = Settings(
                database_url=f"sqlite:///{work / 'bench.sqlite3'}",
                redis_url=redis_url,
                file_store_dir=work / "files",
            )
            runtime = build_runtime(settings)
            migrate(runtime.engine)
            with unit_of_work(runtime.sessions) as session:
                import_programme(session, programme_with(organisations), max_bytes=100_000_000)
            with runtime.sessions() as session:
                meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
            with WorkerProcess(settings, concurrency=workers, name="bench"):
                started = time.perf_counter()
                batch_id = start_batch(runtime.sessions, runtime.queue, meeting_id=meeting)
                while True:
                    with runtime.sessions() as session:
                        progress = batch_progress(session, batch_id)
                        if progress.is_complete:
                            renders = [d.render_ms or 0 for d in progress.batch.documents]
                            break
                    time.sleep(0.05)
                wall = time.perf_counter() - started
            runtime.close()
    print(
        f"\nBatch through the real queue: {organisations} organisations x deck, "
        f"{workers} worker processes, embedded Redis, SQLite"
    )
    print(
        f"wall {wall:.2f} s, {progress.counts['done']} done, {progress.counts['failed']} failed, "
        f"{organisations / wall:.1f} documents/s, median render in worker "
        f"{statistics.median(renders):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bench_render(args.repeat)
    bench_pipeline(args.organisations, args.workers)


if __name__ == "__main__":
    main()
