"""What an endpoint accepts and how the gate refuses: file types, their labels, caps."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.csv_text import CsvLimits

if TYPE_CHECKING:
    from service.settings import Settings


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
    max_csv_lines: int = CsvLimits.max_lines
    max_csv_line_chars: int = CsvLimits.max_line_chars
    # An embedded package (a chart's workbook in a deck) is unpacked in memory to be checked.
    max_embedded_bytes: int = 20_000_000

    @property
    def csv(self) -> CsvLimits:
        """The caps on a CSV file's text."""
        return CsvLimits(max_lines=self.max_csv_lines, max_line_chars=self.max_csv_line_chars)


def limits_from_settings(settings: Settings) -> UploadLimits:
    """The upload caps configured in settings."""
    return UploadLimits(
        max_bytes=settings.max_upload_bytes,
        max_unpacked_bytes=settings.max_unpacked_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        max_members=settings.max_zip_members,
    )


ACCEPTED_LABELS = {
    FileType.XLSX: "an Excel workbook (.xlsx)",
    FileType.PPTX: "a PowerPoint presentation (.pptx)",
    FileType.CSV: "a CSV file (.csv)",
}
PLAIN_LABELS = {
    FileType.XLSX: "an ordinary Excel workbook (.xlsx)",
    FileType.PPTX: "an ordinary PowerPoint presentation (.pptx)",
}


def expected(accepted: Collection[FileType]) -> str:
    """What the endpoint wants, in words: "an Excel workbook (.xlsx) or a CSV file (.csv)"."""
    return " or ".join(label for kind, label in ACCEPTED_LABELS.items() if kind in accepted)


def refuse(reason: RejectionReason, message: str) -> NoReturn:
    """Raise FileRejectedError with one problem at location ``file``."""
    raise FileRejectedError(reason, [Problem("file", message)])
