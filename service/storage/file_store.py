"""Where generated files live: an interface, and the local-directory implementation.

An S3-compatible bucket implements the same methods (``service.storage.s3_file_store``);
``service.storage.configured.open_file_store`` picks one from the settings.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, runtime_checkable

from service.errors import NotFoundError, StoreFullError, StoreUnavailableError

CHUNK_BYTES = 1024 * 1024
# A write refused for want of space: disk full, or the user's quota spent.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it wrote."""

    key: str
    size_bytes: int
    sha256: str


class FileStore(Protocol):
    """Store bytes under a key; keys are relative POSIX paths chosen by the caller."""

    def put(self, key: str, data: bytes) -> StoredFile: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def stream(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The file in pieces, so no caller holds a whole file; NotFoundError before the first."""
        ...

    def delete(self, key: str) -> None:
        """Remove a file; removing one that is not there is not an error."""
        ...

    def check(self) -> None:
        """Raise StoreUnavailableError naming the cause when the store cannot be used."""
        ...

    def list_keys(self) -> Iterator[str]:
        """Every stored file's key (``benchdocs storage check``)."""
        ...


@runtime_checkable
class PresignedDownloads(Protocol):
    """A store that can hand out a short-lived address of one file for a browser to fetch."""

    def presigned_url(
        self, key: str, *, file_name: str, content_type: str, fallback_name: str, seconds: int
    ) -> str: ...


def checked_key(key: str) -> PurePosixPath:
    """The key as a relative path; ValueError for one that could leave the store's root."""
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in key or "\x00" in key:
        raise ValueError(f"unsafe file key {key!r}")
    return path


class LocalFileStore:
    """Files in a directory; writes go to a temporary name and are renamed into place."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*checked_key(key).parts)

    def put(self, key: str, data: bytes) -> StoredFile:
        """Write atomically: a reader sees the old file or the new one, never half of one."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise StoreFullError(f"file store {self._root} is full: {exc}") from exc
            raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except OSError as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if exc.errno in FULL_ERRNOS:
                raise StoreFullError(f"file store {self._root} is full: {exc}") from exc
            raise
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredFile(key=key, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes:
        """Read a stored file."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"no stored file {key!r}") from exc

    def exists(self, key: str) -> bool:
        """Whether a file is stored under the key."""
        return self._path(key).is_file()

    def stream(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """Read a stored file piece by piece (opened before the first piece is asked for)."""
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"no stored file {key!r}") from exc
        return _pieces(handle, chunk_bytes)

    def delete(self, key: str) -> None:
        """Remove a stored file, if there is one."""
        self._path(key).unlink(missing_ok=True)

    def list_keys(self) -> Iterator[str]:
        """Every stored file's key; temporary files of writes in progress are left out."""
        if not self._root.is_dir():
            return
        for directory, _subdirs, names in os.walk(self._root):
            for name in sorted(names):
                if name.startswith((".tmp-", ".ready-")):
                    continue
                path = Path(directory) / name
                yield path.relative_to(self._root).as_posix()

    def modified_at(self, key: str) -> dt.datetime | None:
        """When a stored file was last written (None: not there)."""
        try:
            stamp = self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None
        return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)

    def free_bytes(self) -> int:
        """Free space on the store's file system, as an unprivileged writer sees it."""
        stats = os.statvfs(self._root if self._root.exists() else self._root.parent)
        return stats.f_bavail * stats.f_frsize

    def check(self) -> None:
        """The directory exists (or can be made) and takes a write."""
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self._root, prefix=".ready-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise StoreFullError(f"file store {self._root} is full: {exc}") from exc
            raise StoreUnavailableError(
                f"file store {self._root} cannot be written: {exc}"
            ) from exc


def file_checksum(path: Path) -> tuple[int, str]:
    """A local file's size and sha256, read in pieces (never whole in memory)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while piece := handle.read(CHUNK_BYTES):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def _pieces(handle: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    with handle:
        while piece := handle.read(chunk_bytes):
            yield piece
