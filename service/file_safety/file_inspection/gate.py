"""The one gate every upload passes: what the file really is, and that it is safe."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from service.errors import RejectionReason
from service.file_safety.csv_text import CsvText, decode_csv
from service.file_safety.file_inspection.accepted import FileType, UploadLimits, expected, refuse
from service.file_safety.file_inspection.compound import OLE_SIGNATURE, refuse_compound_file
from service.file_safety.file_inspection.names import display_file_name, name_extension
from service.file_safety.file_inspection.ooxml import inspect_package
from service.file_safety.file_inspection.sniffing import (
    binary_kind,
    markup_kind,
    refuse_text_named_as_office,
)
from service.file_safety.zip_guard import LOCAL_HEADER_SIGNATURE, describe_size
from service.messages import Size, message


@dataclass(frozen=True)
class InspectedFile:
    """A file that passed inspection: its type as found from its content, and its bytes."""

    file_type: FileType
    data: bytes
    file_name: str
    # CSV only: the decoded text and its encoding.
    csv: CsvText | None = field(default=None, repr=False)

    @property
    def encoding(self) -> str | None:
        """CSV only: the text encoding found ("UTF-8", "UTF-16" or "Windows-1252")."""
        return self.csv.encoding if self.csv is not None else None


def inspect_upload(
    data: bytes, *, file_name: str, accepted: Collection[FileType], limits: UploadLimits
) -> InspectedFile:
    """Refuse with FileRejectedError, or say what the file is; nothing is parsed yet."""
    shown_name = display_file_name(file_name)
    extension = name_extension(shown_name)
    if not data:
        refuse(RejectionReason.EMPTY, message("gate.empty"))
    if len(data) > limits.max_bytes:
        size, limit = Size(len(data)), Size(limits.max_bytes)
        if describe_size(size.bytes) == describe_size(limit.bytes):
            # Just over: rounding would print "50 MB, more than 50 MB".
            text = message(
                "gate.too_large_exactly", size=len(data), limit=limit, limit_bytes=limit.bytes
            )
        else:
            text = message("gate.too_large", size=size, limit=limit)
        refuse(RejectionReason.TOO_LARGE, text)
    wanted = expected(accepted)
    if data.startswith(LOCAL_HEADER_SIGNATURE):
        file_type = inspect_package(
            data, extension=extension, accepted=accepted, wanted=wanted, limits=limits
        )
        return InspectedFile(file_type, data, shown_name or f"upload.{file_type}")
    if data.startswith(OLE_SIGNATURE):
        refuse_compound_file(data, accepted=accepted, wanted=wanted)
    if (binary := binary_kind(data[:64])) is not None:
        refuse(
            RejectionReason.WRONG_TYPE, message("gate.not_expected", found=binary, wanted=wanted)
        )
    if (markup := markup_kind(data[:1024])) is not None:
        label, code = markup
        refuse(RejectionReason.WRONG_TYPE, message(code, found=label, wanted=wanted))
    refuse_text_named_as_office(data, extension=extension, accepted=accepted, wanted=wanted)
    csv = decode_csv(data, limits=limits.csv)
    return InspectedFile(FileType.CSV, data, shown_name or "upload.csv", csv)
