"""The bucket of ``BENCHDOCS_S3_*`` for back-up and restore, run with benchdocs' own Python.

    python ops/bucket.py download DEST   # every object into a new folder, one file each
    python ops/bucket.py require-empty   # exit 1 if the bucket (under its prefix) holds any

``download`` streams each object to a temporary name, compares its sha256 with the one recorded
when it was stored, then renames it into place under its key. ``ops/backup.sh`` and
``ops/restore.sh`` call these for ``BENCHDOCS_FILE_STORE=s3``; ``benchdocs storage migrate
--from DEST`` copies such a folder into a bucket again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path, PurePosixPath

from service.settings import get_settings
from service.storage.s3_file_store import S3FileStore


def copy_bucket(store: S3FileStore, dest: Path) -> tuple[int, int]:
    """Every object into ``dest``; (files, bytes). Raises on a checksum that does not match."""
    files = size = 0
    for key in store.list_keys():
        parts = PurePosixPath(key).parts
        if not parts or ".." in parts or PurePosixPath(key).is_absolute():
            raise ValueError(f"refusing object key {key!r}")
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".partial-{target.name}")
        digest = hashlib.sha256()
        with open(partial, "wb") as out:
            for piece in store.stream(key):
                digest.update(piece)
                out.write(piece)
                size += len(piece)
        stored = store.stored(key)
        recorded = stored.sha256 if stored is not None else ""
        if recorded and recorded != digest.hexdigest():
            partial.unlink()
            raise ValueError(f"{key}: read sha256 {digest.hexdigest()}, recorded {recorded}")
        os.replace(partial, target)
        files += 1
    return files, size


def main() -> None:
    usage = "usage: python ops/bucket.py download DEST | require-empty"
    store = S3FileStore.from_settings(get_settings())
    match sys.argv[1:]:
        case ["download", dest]:
            Path(dest).mkdir(parents=True)
            files, size = copy_bucket(store, Path(dest))
            print(f"copied {files} objects, {size} bytes, into {dest}")
        case ["require-empty"]:
            if next(iter(store.list_keys()), None) is not None:
                sys.exit(f"bucket {store.bucket!r} is not empty; restore into a new bucket")
        case _:
            sys.exit(usage)


if __name__ == "__main__":
    main()
