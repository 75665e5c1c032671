"""Prometheus metrics that the work itself counts: render and PDF times, restarts, refusals, runs.

The code that does the work calls one of the ``observe_``/``count_`` functions below; nothing
else here does IO. What the database and the broker hold (documents by state, queue depths) is
read at scrape time by ``service.observability.collectors`` instead of being counted.

In a prefork worker each pool process writes its samples to files in the directory that
``use_multiprocess_dir`` names, and a scrape adds them up (the client's multiprocess mode).
Every metric here has labels, so no sample exists before the first observation: the mode can
still be chosen when the worker starts, after this module was imported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from service.errors import FileRejectedError

# Office documents take milliseconds to a few seconds; a pack of 300 decks takes minutes.
_RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# A warm LibreOffice converts in about 0.2 s; a cold start costs about a second more.
_CONVERSION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)

RENDER_SECONDS = Histogram(
    "benchdocs_render_duration_seconds",
    "Time to make one document (context, template, PDF if any), by kind and format.",
    ["kind", "format"],
    buckets=_RENDER_BUCKETS,
)
PDF_CONVERSION_SECONDS = Histogram(
    "benchdocs_pdf_conversion_duration_seconds",
    "Time LibreOffice took to convert one Office file to PDF, by the file's format.",
    ["source_format"],
    buckets=_CONVERSION_BUCKETS,
)
LIBREOFFICE_RESTARTS = Counter(
    "benchdocs_libreoffice_restarts",
    "Warm LibreOffice instances started again: recycled after N conversions, died between "
    "conversions, or killed after a failed conversion.",
    ["reason"],
)
UPLOADS_REFUSED = Counter(
    "benchdocs_uploads_refused",
    "Uploaded files refused before anything was stored, by reason.",
    ["reason"],
)
REGENERATION_RUNS = Counter(
    "benchdocs_regeneration_runs",
    "Regeneration runs by trigger (nightly, manual) and result.",
    ["trigger", "result"],
)


def observe_render(kind: str, file_format: str, milliseconds: float) -> None:
    """Record one document made (not reused) and how long it took."""
    RENDER_SECONDS.labels(kind=kind, format=file_format).observe(milliseconds / 1000)


def observe_pdf_conversion(source_format: str, seconds: float) -> None:
    """Record one PDF made from an Office file and how long LibreOffice took."""
    PDF_CONVERSION_SECONDS.labels(source_format=source_format).observe(seconds)


def count_libreoffice_restart(reason: str) -> None:
    """Record that a warm LibreOffice is started again (``recycled``, ``died``, ``failed``)."""
    LIBREOFFICE_RESTARTS.labels(reason=reason).inc()


def count_refused_upload(error: Exception) -> None:
    """Record one refused upload by its ``RejectionReason``; other errors are not refusals."""
    if isinstance(error, FileRejectedError):
        UPLOADS_REFUSED.labels(reason=error.reason.value).inc()


def count_regeneration_run(trigger: str, result: str) -> None:
    """Record one regeneration run (or a nightly call that skipped) and how it ended."""
    REGENERATION_RUNS.labels(trigger=trigger, result=result).inc()


def use_multiprocess_dir(directory: Path) -> None:
    """Empty ``directory`` and have this process and its forks write samples there.

    Called once in a worker's main process before its pool starts. The client chooses its
    mode from ``PROMETHEUS_MULTIPROC_DIR`` when first imported; the variable is set here for
    the children, and the value class switched for samples made from now on.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def exposition(*, multiprocess_dir: Path | None, extra: CollectorRegistry | None = None) -> bytes:
    """The text a scrape gets: this process's samples, or every process's in the directory.

    ``extra`` adds collectors read at scrape time (the database's and broker's figures).
    """
    if multiprocess_dir is None:
        text = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    if extra is not None:
        text += generate_latest(extra)
    return text


CONTENT_TYPE = CONTENT_TYPE_LATEST
