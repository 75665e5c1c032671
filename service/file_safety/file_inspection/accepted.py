"""What an endpoint accepts and how the gate refuses: file types, their labels, caps."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.csv_text import CsvLimits
from service.messages import Message, message

if TYPE_CHECKING:
    from service.settings import Settings


class FileType(StrEnum):
    """File types benchdocs accepts as uploads."""

    XLSX = "xlsx"
    PPTX = "pptx"
    DOCX = "docx"  # only organisers' template versions
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
    FileType.XLSX: message("filetype.xlsx"),
    FileType.PPTX: message("filetype.pptx"),
    FileType.DOCX: message("filetype.docx"),
    FileType.CSV: message("filetype.csv"),
}
PLAIN_LABELS = {
    FileType.XLSX: message("filetype.plain_xlsx"),
    FileType.PPTX: message("filetype.plain_pptx"),
    FileType.DOCX: message("filetype.plain_docx"),
}


def expected(accepted: Collection[FileType]) -> Message:
    """What the endpoint wants, in words: "an Excel workbook (.xlsx) or a CSV file (.csv)"."""
    labels = [label for kind, label in ACCEPTED_LABELS.items() if kind in accepted]
    wanted = labels[0]
    for label in labels[1:]:
        wanted = message("filetype.either", first=wanted, second=label)
    return wanted


def refuse(reason: RejectionReason, text: Message) -> NoReturn:
    """Raise FileRejectedError with one problem at location ``file``, worded by the catalogue."""
    raise FileRejectedError(reason, [Problem.of("file", text)])
