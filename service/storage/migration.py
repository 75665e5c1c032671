"""Copy a local file store's directory into an object store: resumable, checked, reported.

Each file's key is its path below the directory, as the local store wrote it. A file whose
object is already there with the same size and sha256 (recorded in the object's metadata, or
read back when it has none) is skipped, so a migration that was interrupted simply runs again.
Every copied object is read back and its sha256 compared with the file's: a mismatch fails that
file. The store being unreachable stops the run (the next run carries on).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from service.errors import InvalidInputError, NotFoundError, Problem, StoreUnavailableError
from service.storage.file_store import CHUNK_BYTES, StoredFile, file_checksum

# What the local store leaves while it writes or checks itself: never a stored file.
_TEMPORARY_PREFIXES = (".tmp-", ".ready-")


class MigrationTarget(Protocol):
    """What a migration needs of the object store (``S3FileStore`` has it)."""

    def stored(self, key: str) -> StoredFile | None: ...

    def put_file(self, key: str, path: Path) -> StoredFile: ...

    def stream(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]: ...


class Outcome(StrEnum):
    """What became of one file."""

    COPIED = "copied"
    ALREADY_THERE = "already there"
    FAILED = "failed"


@dataclass(frozen=True)
class MigratedFile:
    """One file of the directory and what became of it."""

    key: str
    size_bytes: int
    outcome: Outcome
    problem: str = ""


@dataclass
class MigrationReport:
    """Every file seen, by outcome; ``stopped`` says why the run ended early (store down)."""

    files: list[MigratedFile] = field(default_factory=list)
    stopped: str = ""

    def of(self, outcome: Outcome) -> list[MigratedFile]:
        """The files with this outcome."""
        return [f for f in self.files if f.outcome == outcome]

    def bytes_of(self, outcome: Outcome) -> int:
        """The bytes of the files with this outcome."""
        return sum(f.size_bytes for f in self.of(outcome))

    @property
    def complete(self) -> bool:
        """Every file is in the bucket, checked."""
        return not self.stopped and not self.of(Outcome.FAILED)


def migrate_directory(
    source: Path,
    target: MigrationTarget,
    *,
    verify_existing: bool = False,
    on_file: Callable[[MigratedFile], None] | None = None,
) -> MigrationReport:
    """Copy every file under ``source`` into ``target`` that is not already there, checked.

    ``verify_existing`` reads back objects that are already there instead of trusting their
    recorded sha256 (finds an object damaged in the bucket since).
    """
    if not source.is_dir():
        raise InvalidInputError([Problem("--from", f"{source} is not a directory")])
    report = MigrationReport()
    for path in _stored_files(source):
        key = path.relative_to(source).as_posix()
        try:
            done = _migrate_one(path, key, target, verify_existing=verify_existing)
        except StoreUnavailableError as exc:
            done = MigratedFile(key, _size(path), Outcome.FAILED, str(exc))
            report.stopped = str(exc)
        except (OSError, ValueError) as exc:  # unreadable file, a name no store takes
            done = MigratedFile(key, _size(path), Outcome.FAILED, str(exc))
        report.files.append(done)
        if on_file is not None:
            on_file(done)
        if report.stopped:
            break
    return report


def _stored_files(source: Path) -> Iterator[Path]:
    """Every file and symbolic link below ``source`` (a link is refused when it comes up)."""
    for path in sorted(source.rglob("*")):
        if path.name.startswith(_TEMPORARY_PREFIXES):
            continue
        if path.is_symlink() or path.is_file():
            yield path


def _migrate_one(
    path: Path, key: str, target: MigrationTarget, *, verify_existing: bool
) -> MigratedFile:
    if path.is_symlink():
        # The local store never writes one; following it could copy anything on the machine.
        return MigratedFile(key, 0, Outcome.FAILED, "a symbolic link, not a stored file")
    size, sha256 = file_checksum(path)
    there = target.stored(key)
    if there is not None and there.size_bytes == size:
        recorded = there.sha256
        if not recorded or verify_existing:
            recorded = _object_checksum(target, key)
        if recorded == sha256:
            return MigratedFile(key, size, Outcome.ALREADY_THERE)
    stored = target.put_file(key, path)
    if stored.sha256 != sha256:
        return MigratedFile(key, size, Outcome.FAILED, "the file changed while it was copied")
    copied = _object_checksum(target, key)
    if copied != sha256:
        return MigratedFile(
            key,
            size,
            Outcome.FAILED,
            f"checksum mismatch after copy: the file's sha256 is {sha256}, "
            f"the bucket's copy has {copied or 'none (gone)'}",
        )
    return MigratedFile(key, size, Outcome.COPIED)


def _object_checksum(target: MigrationTarget, key: str) -> str:
    """The sha256 of what the bucket holds, read back ("" when nothing is there)."""
    digest = hashlib.sha256()
    try:
        for piece in target.stream(key):
            digest.update(piece)
    except NotFoundError:
        return ""
    return digest.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
