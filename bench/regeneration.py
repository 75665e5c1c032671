"""Benchmark: the nightly regeneration over 10,000 documents, unchanged and with 1% changed.

Run with ``make bench`` (or ``python -m bench.regeneration``). Builds once a synthetic set of
networks shaped like the sample programme (25 organisations each, two active meetings, every
document kind: about 10,000 documents), marks every document as made with the fingerprint a
worker would have stored (without rendering 10,000 files), then measures, median of
``--repeat`` runs:

- a regeneration over all of them with nothing changed (target: under 5 s);
- the same after the scores of 25 organisations changed (about 1% of the documents): check
  and render the changed ones in this process (target: under 5 s plus those renders);
- baselines from the same run: rendering those documents alone, and the naive check that
  builds every document's context, on a sample, extrapolated to all.

The machine is shared and noisy, so compare ratios rather than absolute numbers across runs.
``--postgres URL`` runs on a fresh PostgreSQL database (created and dropped) instead of SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.render_and_pipeline import programme_with
from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker
from service.change_detection.fingerprints import (
    DocumentInputs,
    document_inputs,
    renderer_identity,
    template_sha256,
)
from service.change_detection.stamps import NetworkDigests, consistent_read, load_digests
from service.clock import utcnow
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.session import migrate, normalise_database_url, unit_of_work
from service.documents.catalogue import spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.intake.programme_import import import_programme
from service.regeneration.runs import run_regeneration
from service.runtime import Runtime, build_runtime
from service.settings import Settings

# The sample's Benchmarking 2 and 3 (2019-09-26, 2019-11-21) are both current on this day.
TODAY = dt.date(2019, 10, 20)
MEETINGS = ("bm2", "bm3")
TARGET_SECONDS = 5.0
_DOC = m.GeneratedDocument


class NoBroker:
    """Every render here is in this process; a message to a broker would be a bug."""

    def send_render(self, document_id: int) -> None:
        raise AssertionError(f"document {document_id} was sent to a broker")

    def send_pdf(self, document_id: int) -> None:
        raise AssertionError(f"PDF {document_id} was sent to a broker")

    def send_message(self, message_id: int) -> None:
        raise AssertionError(f"message {message_id} was sent to a broker")


@dataclass(frozen=True)
class World:
    """The synthetic programme: its documents, and the organisations whose scores change."""

    documents: int
    meeting_ids: list[int]
    changing_organisations: list[int]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# -- the world ------------------------------------------------------------------------------


def import_networks(runtime: Runtime, networks: int, organisations: int) -> None:
    """``networks`` copies of the sample, each with its own refs and ``organisations``."""
    template = json.loads(programme_with(organisations))
    for n in range(networks):
        programme = {**template, "network": {**template["network"], "id": f"bench_{n}"}}
        programme["network"]["name"] = f"{template['network']['name']} ({n})"
        raw = json.dumps(programme, ensure_ascii=False).encode()
        with unit_of_work(runtime.sessions) as session:
            import_programme(session, raw, max_bytes=100_000_000)


def request_documents(runtime: Runtime) -> list[int]:
    """One batch per active meeting asking for every kind (Office formats)."""
    with runtime.sessions() as session:
        meeting_ids = list(
            session.scalars(
                select(m.Meeting.id).where(m.Meeting.ref.in_(MEETINGS)).order_by(m.Meeting.id)
            )
        )
    with unit_of_work(runtime.sessions) as session:
        for meeting_id in meeting_ids:
            create_batch(session, meeting_id=meeting_id)
    return meeting_ids


def _slots(session: Session) -> list[Row[Any]]:
    return list(
        session.execute(
            select(_DOC.id, _DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format)
            .add_columns(m.Meeting.network_id)
            .join(m.Meeting, m.Meeting.id == _DOC.meeting_id)
            .order_by(_DOC.id)
        )
    )


class Fingerprinter:
    """What a worker computes before rendering: the stamp, the context, the fingerprint."""

    def __init__(self, runtime: Runtime) -> None:
        self._templates_dir = runtime.settings.templates_dir
        self._templates: dict[str, str] = {}
        self._renderers: dict[str, str] = {}

    def inputs(
        self, session: Session, slot: Row[Any], digests: NetworkDigests | None
    ) -> DocumentInputs:
        spec = spec_for(slot.kind)
        template = self._templates.setdefault(
            spec.template_file, template_sha256(self._templates_dir / spec.template_file)
        )
        renderer = self._renderers.setdefault(slot.format, renderer_identity(slot.format))
        stamp = None
        if digests is not None:
            stamp = digests.stamp(
                spec,
                network_id=slot.network_id,
                organisation_id=slot.organisation_id,
                template_sha256=template,
                renderer=renderer,
            )
        facts = LOADERS[slot.kind](
            session, meeting_id=slot.meeting_id, organisation_id=slot.organisation_id
        )
        return document_inputs(
            template_sha256=template,
            context=spec.build_context(facts),
            file_format=slot.format,
            stamp=stamp,
            renderer=renderer,
        )


def mark_as_made(runtime: Runtime) -> int:
    """Mark every document done with the fingerprint a worker would have stored, unrendered."""
    fingerprinter = Fingerprinter(runtime)
    made: list[dict[str, Any]] = []
    with consistent_read(runtime.sessions) as session:
        slots = _slots(session)
        digests = load_digests(session, {slot.network_id for slot in slots})
        for index, slot in enumerate(slots):
            if index % 200 == 0:
                session.expunge_all()  # keep memory flat, as the planner does
            inputs = fingerprinter.inputs(session, slot, digests)
            made.append(
                {
                    "id": slot.id,
                    "status": DocumentStatus.DONE,
                    "fingerprint": inputs.fingerprint,
                    "inputs": inputs.to_json(),
                    "finished_at": utcnow(),
                }
            )
    with unit_of_work(runtime.sessions) as session:
        session.execute(update(_DOC), made)
    return len(made)


def organisations_to_change(runtime: Runtime, count: int) -> list[int]:
    """One organisation in each of ``count`` networks spread over all of them."""
    with runtime.sessions() as session:
        firsts = list(
            session.execute(
                select(m.Organisation.network_id, m.Organisation.id).order_by(m.Organisation.id)
            )
        )
    by_network: dict[int, list[int]] = {}
    for network_id, organisation_id in firsts:
        by_network.setdefault(network_id, []).append(organisation_id)
    networks = sorted(by_network)
    step = max(1, len(networks) // count)
    return [by_network[network][1] for network in networks[::step][:count]]


def change_scores(runtime: Runtime, organisation_ids: Sequence[int]) -> None:
    """Move one score of each organisation one step on the scale (1 to 3)."""
    with unit_of_work(runtime.sessions) as session:
        for organisation_id in organisation_ids:
            score = session.scalars(
                select(m.Score)
                .where(m.Score.organisation_id == organisation_id)
                .order_by(m.Score.id.desc())
                .limit(1)
            ).one()
            score.value = (score.value or 0) % 3 + 1


def build_world(runtime: Runtime, *, networks: int, organisations: int, changing: int) -> World:
    print(
        f"Setup: {networks} networks x {organisations} organisations, meetings "
        f"{' and '.join(MEETINGS)}, every kind, Office formats"
    )
    seconds, _ = timed(lambda: import_networks(runtime, networks, organisations))
    print(f"  import through the programme import: {seconds:.1f} s")
    seconds, meeting_ids = timed(lambda: request_documents(runtime))
    print(f"  document rows: {seconds:.1f} s")
    seconds, documents = timed(lambda: mark_as_made(runtime))
    print(
        f"  {documents} documents marked as made with their fingerprints (every context built "
        f"once, i.e. the naive check over all of them): {seconds:.1f} s"
    )
    return World(
        documents=documents,
        meeting_ids=meeting_ids,
        changing_organisations=organisations_to_change(runtime, changing),
    )


# -- the measurements -------------------------------------------------------------------------


def regenerate(runtime: Runtime, *, dry_run: bool = False) -> m.RegenerationRun:
    """The nightly regeneration of the active meetings, rendering here."""
    return run_regeneration(
        sessions=runtime.sessions,
        queue=runtime.queue,
        files=runtime.files,
        templates=runtime.templates,
        days_after_meeting=runtime.settings.regeneration_days_after_meeting,
        trigger="bench",
        run_key=None,
        dry_run=dry_run,
        meeting_ids=None,
        today=TODAY,
        inline=True,
    )


def measure_unchanged(runtime: Runtime, world: World, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        seconds, run = timed(lambda: regenerate(runtime))
        assert (run.checked, run.unchanged) == (world.documents, world.documents), (
            f"expected every document unchanged, got checked {run.checked}, "
            f"unchanged {run.unchanged}, changes {len(run.changes)}, failed {run.failed}"
        )
        times.append(seconds)
    return statistics.median(times)


@dataclass(frozen=True)
class ChangedRuns:
    seconds: float
    changed: list[int]  # documents re-rendered, per run
    slots: list[tuple[DocumentKind, int, int | None, str]]  # what the last run re-rendered


def measure_changed(runtime: Runtime, world: World, repeat: int) -> ChangedRuns:
    """Move the scores, then time the regeneration that finds and re-renders what changed."""
    times, changed = [], []
    slots: list[tuple[DocumentKind, int, int | None, str]] = []
    for _ in range(repeat):
        change_scores(runtime, world.changing_organisations)
        seconds, run = timed(lambda: regenerate(runtime))
        assert run.failed == 0, run.failures[:3]
        assert run.rerendered == len(run.changes), "every change re-rendered and recorded"
        times.append(seconds)
        changed.append(run.rerendered)
        slots = [
            (DocumentKind(c["kind"]), c["meeting_id"], c["organisation_id"], c["format"])
            for c in run.changes
        ]
    return ChangedRuns(statistics.median(times), changed, slots)


def measure_changed_check(runtime: Runtime, world: World, repeat: int) -> float:
    """The check alone (a dry run) after the scores moved; a real run then settles them."""
    times = []
    for _ in range(repeat):
        change_scores(runtime, world.changing_organisations)
        seconds, run = timed(lambda: regenerate(runtime, dry_run=True))
        assert run.changes, "the moved scores changed documents"
        times.append(seconds)
        regenerate(runtime)
    return statistics.median(times)


def measure_renders(
    runtime: Runtime, slots: list[tuple[DocumentKind, int, int | None, str]], repeat: int
) -> float:
    """Making the changed documents alone: facts, context, template, bytes."""
    maker = DocumentMaker(sessions=runtime.sessions, templates=runtime.templates)

    def render_all() -> None:
        for kind, meeting_id, organisation_id, file_format in slots:
            maker.make(
                kind,
                meeting_id=meeting_id,
                organisation_id=organisation_id,
                file_format=file_format,
            )

    render_all()  # warm-up: templates parsed once per process, as in a worker
    return statistics.median(timed(render_all)[0] for _ in range(repeat))


def measure_naive(runtime: Runtime, world: World, sample: int, repeat: int) -> float:
    """Seconds per document to build its context and fingerprint and compare (no stamps)."""
    fingerprinter = Fingerprinter(runtime)
    with runtime.sessions() as session:
        slots = _slots(session)
    chosen = random.Random(2019).sample(slots, min(sample, len(slots)))
    stored = _stored_fingerprints(runtime, [slot.id for slot in chosen])

    def check_all() -> int:
        changed = 0
        with consistent_read(runtime.sessions) as session:
            for index, slot in enumerate(chosen):
                if index % 200 == 0:
                    session.expunge_all()
                if fingerprinter.inputs(session, slot, None).fingerprint != stored[slot.id]:
                    changed += 1
        return changed

    return statistics.median(timed(check_all)[0] for _ in range(repeat)) / len(chosen)


def _stored_fingerprints(runtime: Runtime, ids: list[int]) -> dict[int, str | None]:
    with runtime.sessions() as session:
        return dict(
            (row.id, row.fingerprint)
            for row in session.execute(select(_DOC.id, _DOC.fingerprint).where(_DOC.id.in_(ids)))
        )


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def database(postgres_admin_url: str | None, work: Path) -> Iterator[str]:
    """A SQLite file in the work directory, or a fresh PostgreSQL database dropped afterwards."""
    if postgres_admin_url is None:
        yield f"sqlite:///{work / 'bench.sqlite3'}"
        return
    admin = create_engine(normalise_database_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    name = f"benchdocs_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalise_database_url(postgres_admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--networks", type=int, default=49, help="49 x 206 = 10,094 documents")
    parser.add_argument("--organisations", type=int, default=25, help="per network")
    parser.add_argument("--changed", type=int, default=25, help="organisations whose scores move")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql://postgres@/x")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, database(args.postgres, Path(tmp)) as url:
        settings = Settings(database_url=url, file_store_dir=Path(tmp) / "files")
        runtime = build_runtime(settings, queue=NoBroker())
        migrate(runtime.engine)
        backend = runtime.engine.url.get_backend_name()
        print(f"\nRegeneration benchmark on {backend}, median of {args.repeat} runs")
        setup, world = timed(
            lambda: build_world(
                runtime,
                networks=args.networks,
                organisations=args.organisations,
                changing=args.changed,
            )
        )
        print(f"  setup in all: {setup:.1f} s (not part of any figure below)")

        unchanged = measure_unchanged(runtime, world, args.repeat)
        changed = measure_changed(runtime, world, args.repeat)
        check = measure_changed_check(runtime, world, args.repeat)
        renders = measure_renders(runtime, changed.slots, args.repeat)
        naive_per_document = measure_naive(runtime, world, args.naive_sample, args.repeat)
        runtime.close()

    documents = world.documents
    count = changed.changed[-1]
    naive = naive_per_document * documents
    changed_target = TARGET_SECONDS + renders
    print(f"\n  {documents} documents in {len(world.meeting_ids)} active meetings")
    print(
        f"  unchanged: regeneration of all {documents}: {unchanged:.2f} s "
        f"= {unchanged / TARGET_SECONDS:.2f}x the {TARGET_SECONDS:.0f} s target; "
        f"{documents / unchanged:,.0f} documents/s"
    )
    print(
        f"  1% changed: scores of {len(world.changing_organisations)} organisations -> "
        f"{count} documents changed ({count / documents:.1%}; per run: "
        f"{', '.join(map(str, changed.changed))})"
    )
    print(
        f"    check + render of those {count}: {changed.seconds:.2f} s = "
        f"{changed.seconds / changed_target:.2f}x the target of {TARGET_SECONDS:.0f} s + "
        f"{renders:.2f} s of renders ({changed_target:.2f} s); beyond the renders: "
        f"{changed.seconds - renders:.2f} s"
    )
    print(f"    of which the check alone (a dry run): {check:.2f} s")
    print(f"  baseline: rendering those {count} documents alone: {renders:.2f} s")
    print(
        f"  baseline: naive check (every context built and fingerprinted): "
        f"{naive_per_document * 1000:.2f} ms per document on {args.naive_sample} -> "
        f"{naive:.1f} s for {documents}; the unchanged regeneration is "
        f"{naive / unchanged:.0f}x faster"
    )


if __name__ == "__main__":
    main()
