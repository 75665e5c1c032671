"""Where generated files live: an interface, and the local-directory implementation.

An object store (S3, Azure Blob) can implement the same three methods later.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from service.errors import NotFoundError


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


def _checked_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in key or "\x00" in key:
        raise ValueError(f"unsafe file key {key!r}")
    return path


class LocalFileStore:
    """Files in a directory; writes go to a temporary name and are renamed into place."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*_checked_key(key).parts)

    def put(self, key: str, data: bytes) -> StoredFile:
        """Write atomically: a reader sees the old file or the new one, never half of one."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
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
