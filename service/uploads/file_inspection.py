"""Check an uploaded file before any parser sees it (STUB: the file-safety work fills this in)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class FileType(StrEnum):
    """File types benchdocs accepts as uploads."""

    XLSX = "xlsx"
    PPTX = "pptx"
    CSV = "csv"


@dataclass(frozen=True)
class UploadLimits:
    """Caps checked before parsing (see Settings for the defaults)."""

    max_bytes: int
    max_unpacked_bytes: int
    max_compression_ratio: float
    max_members: int


@dataclass(frozen=True)
class InspectedFile:
    """A file that passed inspection: its type as found from its content, and its bytes."""

    file_type: FileType
    data: bytes
    file_name: str


def inspect_upload(
    data: bytes, *, file_name: str, accepted: Collection[FileType], limits: UploadLimits
) -> InspectedFile:
    """Refuse with FileRejectedError, or say what the file is; nothing is parsed yet."""
    suffix = file_name.rsplit(".", 1)[-1].lower()
    return InspectedFile(file_type=FileType(suffix), data=data, file_name=file_name)
