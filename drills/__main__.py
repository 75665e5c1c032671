"""``python -m drills [--only NAME ...]``: run the drills and print what each came to.

Needs Redis's server (the embedded one), PostgreSQL's ``initdb``/``pg_ctl`` (a private
cluster on a spare port), LibreOffice, and root for the disk-full drill's tmpfs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from drills.catalogue import DRILLS, Drill
from drills.harness import Tally, stage
from tests.tools.private_services import PrivatePostgres

TMPFS_SIZE = "96m"
COLUMNS = ("drill", "wanted", "done", "failed", "duplicated", "lost", "recover s", "result")


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = TMPFS_SIZE) -> Iterator[Path]:
    """A small RAM disk of its own (root only): the disk that fills up."""
    if os.geteuid() != 0:
        raise PermissionError("the disk-full drill mounts a tmpfs: run it as root")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed command
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],  # noqa: S607
        check=True,
    )
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)  # noqa: S603, S607


def run_drill(drill: Drill, root: Path, postgres: PrivatePostgres) -> Tally:
    """One drill on a stage of its own; whatever goes wrong is its row's note."""
    options = dict(drill.stage_options)
    try:
        with contextlib.ExitStack() as stack:
            if options.pop("tmpfs", False):
                disk = stack.enter_context(tmpfs(root / f"{drill.name}-disk"))
                options["file_store_dir"] = disk / "files"
            made = stack.enter_context(stage(root, postgres, drill.name, **options))
            return drill.run(made, postgres)
    except Exception as exc:  # a drill that breaks is reported; the rest run
        return Tally(drill.name, note=f"{type(exc).__name__}: {exc}"[:200])


def row(tally: Tally) -> list[str]:
    recovery = "-" if tally.recovery_seconds is None else f"{tally.recovery_seconds:.1f}"
    return [
        tally.drill,
        str(tally.wanted),
        str(tally.done),
        str(tally.failed),
        str(tally.duplicated),
        str(tally.lost),
        recovery,
        "pass" if tally.passed else "FAIL",
    ]


def table(tallies: Sequence[Tally]) -> str:
    rows = [list(COLUMNS), *(row(t) for t in tallies)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{t.drill}: {t.note}" for t in tallies if t.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drills", description=__doc__)
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this drill")
    parser.add_argument("--list", action="store_true", help="list the drills and stop")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    if args.list:
        for drill in DRILLS:
            print(f"{drill.name:26} {drill.about}")
        return 0
    known = {drill.name: drill for drill in DRILLS}
    unknown = [name for name in args.only or [] if name not in known]
    if unknown:
        parser.error(f"unknown drill(s): {', '.join(unknown)}; see --list")
    chosen = [known[name] for name in args.only] if args.only else DRILLS
    logging.basicConfig(level=logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="benchdocs-drills-"))
    tallies = []
    try:
        with PrivatePostgres() as postgres:
            for drill in chosen:
                started = time.monotonic()
                tally = run_drill(drill, root, postgres)
                tallies.append(tally)
                print(
                    f"{drill.name}: {'pass' if tally.passed else 'FAIL'} "
                    f"({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
    finally:
        if args.keep:
            print(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(table(tallies))
    return 0 if tallies and all(t.passed for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
