"""OLE2 compound files: an encrypted OOXML package or a 97-2003 Office file, never read."""

from __future__ import annotations

import struct
from collections.abc import Collection
from typing import NoReturn

from service.errors import RejectionReason
from service.file_safety.file_inspection.accepted import ACCEPTED_LABELS, FileType, refuse
from service.messages import Message, message

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE_OR_END = 0xFFFFFFFA  # sector numbers from here up mark ends and free sectors
_LEGACY_STREAMS = (
    ("workbook", message("filetype.xls"), FileType.XLSX),
    ("book", message("filetype.xls95"), FileType.XLSX),
    ("powerpoint document", message("filetype.ppt"), FileType.PPTX),
    ("worddocument", message("filetype.doc"), None),
)


def refuse_compound_file(
    data: bytes, *, accepted: Collection[FileType], wanted: Message
) -> NoReturn:
    """An OLE2 file is an encrypted OOXML package or an old binary Office file: never read."""
    names = _compound_file_names(data)
    if names is None:
        encrypted = "EncryptedPackage".encode("utf-16-le") in data
    else:
        encrypted = "encryptedpackage" in names
    if encrypted:
        refuse(RejectionReason.ENCRYPTED, message("gate.encrypted_file"))
    for stream, label, family_type in _LEGACY_STREAMS:
        if names is not None and stream in names:
            if family_type is not None and family_type in accepted:
                save_as = ACCEPTED_LABELS[family_type]
                refuse(
                    RejectionReason.WRONG_TYPE,
                    message("gate.old_format", found=label, save_as=save_as),
                )
            refuse(
                RejectionReason.WRONG_TYPE, message("gate.not_expected", found=label, wanted=wanted)
            )
    refuse(RejectionReason.WRONG_TYPE, message("gate.compound_file", wanted=wanted))


def _compound_file_names(data: bytes) -> set[str] | None:
    """The lower-cased names in a compound file's directory; None when it cannot be walked."""
    try:
        shift = struct.unpack_from("<H", data, 0x1E)[0]
        if shift not in (9, 12) or len(data) < 1 << shift:
            return None
        size = 1 << shift
        per_sector = size // 4
        fat_count, first_directory = struct.unpack_from("<II", data, 0x2C)
        first_difat, difat_count = struct.unpack_from("<II", data, 0x44)
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        sector_limit = len(data) // size + 1
        sector = first_difat
        for _ in range(min(difat_count, sector_limit)):
            if sector >= _FREE_OR_END:
                break
            entries = struct.unpack_from(f"<{per_sector}I", data, (sector + 1) * size)
            difat.extend(entries[:-1])
            sector = entries[-1]
        fat_sectors = [s for s in difat if s < _FREE_OR_END][:fat_count]

        def next_sector(current: int) -> int:
            fat_sector = fat_sectors[current // per_sector]
            offset = (fat_sector + 1) * size + (current % per_sector) * 4
            value: int = struct.unpack_from("<I", data, offset)[0]
            return value

        names: set[str] = set()
        sector = first_directory
        for _ in range(sector_limit):
            if sector >= _FREE_OR_END:
                break
            start = (sector + 1) * size
            for entry in range(start, min(start + size, len(data) - 127), 128):
                name_length = struct.unpack_from("<H", data, entry + 64)[0]
                if data[entry + 66] in (1, 2, 5) and 2 <= name_length <= 64:
                    raw = data[entry : entry + name_length - 2]
                    names.add(raw.decode("utf-16-le", "replace").casefold())
            sector = next_sector(sector)
    except (struct.error, IndexError):
        return None
    return names
