"""Benchmark: seconds for the upload gate to pass real files and to refuse the zip bombs.

Run with ``python -m bench.upload_gate``. Prints the median of several inspections per file
beside the time the gate is meant to stay under; the tests assert what the gate decides and
how little memory it takes, this prints how long it takes. The machine is shared and noisy:
compare against the budget, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.errors import FileRejectedError
from service.file_safety.file_inspection import FileType, inspect_upload, limits_from_settings
from service.settings import Settings
from tests.hostile.corpus import (
    checklist_template,
    deck_template,
    generated,
    lying_bomb,
    many_members,
    zeros_bomb,
)

OFFICE = frozenset({FileType.XLSX, FileType.PPTX})
CHECKLIST = frozenset({FileType.XLSX})
REAL_FILE_BUDGET = 0.5  # seconds: a participant's real file passes the gate this fast
BOMB_BUDGET = 1.0  # seconds: a zip bomb is refused this fast


def inspect(data: bytes, name: str, accepted: frozenset[FileType]) -> str:
    """What the gate decides: ``passed`` or the reason it refused the file."""
    limits = limits_from_settings(Settings())
    try:
        inspect_upload(data, file_name=name, accepted=accepted, limits=limits)
    except FileRejectedError as exc:
        return exc.reason.value
    return "passed"


def median_seconds(data: bytes, name: str, accepted: frozenset[FileType], repeat: int) -> float:
    """Median wall time of one inspection, whether it passes or is refused."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        inspect(data, name, accepted)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="inspections per file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        bombs = Path(work)
        xlsx, pptx = "checklista.xlsx", "presentation.pptx"
        files: list[tuple[str, Callable[[], bytes], str, frozenset[FileType], float]] = [
            ("checklist template", checklist_template, xlsx, OFFICE, REAL_FILE_BUDGET),
            ("deck template", deck_template, pptx, OFFICE, REAL_FILE_BUDGET),
            ("generated checklist", lambda: generated("checklist"), xlsx, OFFICE, REAL_FILE_BUDGET),
            ("generated deck", lambda: generated("deck"), pptx, OFFICE, REAL_FILE_BUDGET),
            (
                "2 GiB of zeros",
                lambda: zeros_bomb(bombs).read_bytes(),
                xlsx,
                CHECKLIST,
                BOMB_BUDGET,
            ),
            ("lying headers", lambda: lying_bomb(bombs).read_bytes(), xlsx, CHECKLIST, BOMB_BUDGET),
            ("100,000 members", lambda: many_members(100_000), xlsx, CHECKLIST, BOMB_BUDGET),
        ]
        # The first inspection pays for imports and caches; that is not the file's doing.
        median_seconds(checklist_template(), "warm.xlsx", OFFICE, 1)
        print(f"\nUpload gate, median of {args.repeat} inspections per file")
        header = f"{'file':22} {'MB':>7} {'outcome':>9} {'seconds':>9} {'budget':>7}"
        print(header)
        print("-" * len(header))
        for label, build, name, accepted, budget in files:
            data = build()
            seconds = median_seconds(data, name, accepted, args.repeat)
            verdict = "" if seconds < budget else "  OVER BUDGET"
            outcome = inspect(data, name, accepted)
            print(
                f"{label:22} {len(data) / 1e6:7.2f} {outcome:>9} {seconds:9.4f} {budget:7.1f}"
                + verdict
            )


if __name__ == "__main__":
    main()
