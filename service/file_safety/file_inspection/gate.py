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
        refuse(
            RejectionReason.EMPTY,
            "the file is empty (0 bytes): check that it was saved, then upload it again",
        )
    if len(data) > limits.max_bytes:
        size, limit = describe_size(len(data)), describe_size(limits.max_bytes)
        if size == limit:  # just over: rounding would print "50 MB, more than 50 MB"
            size, limit = f"{len(data):,} bytes", f"{limit} ({limits.max_bytes:,} bytes)"
        refuse(
            RejectionReason.TOO_LARGE,
            f"the file is {size}, more than the upload limit of {limit}: make it smaller "
            "(compress its pictures, say) and upload again",
        )
    wanted = expected(accepted)
    if data.startswith(LOCAL_HEADER_SIGNATURE):
        file_type = inspect_package(
            data, extension=extension, accepted=accepted, wanted=wanted, limits=limits
        )
        return InspectedFile(file_type, data, shown_name or f"upload.{file_type}")
    if data.startswith(OLE_SIGNATURE):
        refuse_compound_file(data, accepted=accepted, wanted=wanted)
    if (binary := binary_kind(data[:64])) is not None:
        refuse(RejectionReason.WRONG_TYPE, f"this is {binary}, not {wanted}")
    if (markup := markup_kind(data[:1024])) is not None:
        label, advice = markup
        refuse(RejectionReason.WRONG_TYPE, f"this is {label}, not {wanted}{advice}")
    refuse_text_named_as_office(data, extension=extension, accepted=accepted, wanted=wanted)
    csv = decode_csv(data, limits=limits.csv)
    return InspectedFile(FileType.CSV, data, shown_name or "upload.csv", csv)
