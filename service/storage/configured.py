"""The file store the settings name: a local directory (the default) or an S3 bucket."""

from __future__ import annotations

from service.settings import Settings
from service.storage.file_store import FileStore, LocalFileStore


def open_file_store(settings: Settings) -> FileStore:
    """``BENCHDOCS_FILE_STORE``: ``local`` (``BENCHDOCS_FILE_STORE_DIR``) or ``s3``."""
    if settings.file_store == "s3":
        # Imported here: boto3 takes a while to load, and the embedded default needs none of it.
        from service.storage.s3_file_store import S3FileStore

        return S3FileStore.from_settings(settings)
    return LocalFileStore(settings.file_store_dir)
