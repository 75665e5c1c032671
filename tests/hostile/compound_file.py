"""A minimal OLE2 compound file (CFB, version 3) writer: enough for a directory that names streams.

Encrypted OOXML files and 97-2003 Office files are compound files; what tells them apart is
the names of their streams ("EncryptedPackage", "Workbook", "PowerPoint Document"), so that
is what this writes: a header, one FAT sector, directory sectors and each stream in regular
sectors (padded to 4,096 bytes, the mini-stream cutoff, so no mini stream is needed).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

SECTOR = 512
FREE = 0xFFFFFFFF
END_OF_CHAIN = 0xFFFFFFFE
FAT_SECTOR = 0xFFFFFFFD
NO_STREAM = 0xFFFFFFFF
SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MINI_CUTOFF = 4096


def compound_file(streams: Mapping[str, bytes]) -> bytes:
    """A compound file whose root storage holds the given streams."""
    names = list(streams)
    directory_sectors = -(-(len(names) + 1) // (SECTOR // 128))
    contents = [streams[name].ljust(_MINI_CUTOFF, b"\x00") for name in names]
    fat = [FREE] * (SECTOR // 4)
    fat[0] = FAT_SECTOR
    next_free = 1
    next_free = _chain(fat, next_free, directory_sectors)
    directory_start = 1
    starts = []
    for content in contents:
        starts.append(next_free)
        next_free = _chain(fat, next_free, -(-len(content) // SECTOR))
    if next_free > len(fat):
        raise ValueError("too much data for a single FAT sector")

    entries = [
        _entry("Root Entry", kind=5, child=1 if names else NO_STREAM, start=END_OF_CHAIN, size=0)
    ]
    for index, (name, start) in enumerate(zip(names, starts, strict=True), start=1):
        right = index + 1 if index < len(names) else NO_STREAM
        entries.append(_entry(name, kind=2, right=right, start=start, size=len(streams[name])))
    directory = b"".join(entries).ljust(directory_sectors * SECTOR, b"\x00")

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        SIGNATURE,
        b"\x00" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\x00" * 6,
        0,
        1,
        directory_start,
        0,
        _MINI_CUTOFF,
        END_OF_CHAIN,
        0,
        END_OF_CHAIN,
        0,
    )
    header += struct.pack("<109I", 0, *([FREE] * 108))
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    body += b"".join(c.ljust(-(-len(c) // SECTOR) * SECTOR, b"\x00") for c in contents)
    return header + body


def _chain(fat: list[int], first: int, count: int) -> int:
    for sector in range(first, first + count):
        fat[sector] = sector + 1 if sector + 1 < first + count else END_OF_CHAIN
    return first + count


def _entry(
    name: str, *, kind: int, start: int, size: int, child: int = NO_STREAM, right: int = NO_STREAM
) -> bytes:
    raw = (name + "\x00").encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        raw,
        len(raw),
        kind,
        1,
        NO_STREAM,
        right,
        child,
        b"\x00" * 16,
        0,
        0,
        0,
        start,
        size,
    )
