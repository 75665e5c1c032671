"""A zip writer that writes exactly what it is told, lies included, and package surgery helpers.

zipfile computes sizes and checksums itself, so it cannot write a header that lies; the
hostile cases need that. Honest members written here read back with zipfile (a test checks).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

STORED = 0
DEFLATED = 8
_DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1


@dataclass(frozen=True)
class RawMember:
    """One member as it will be written: payload as stored, and what the headers declare."""

    name: str
    payload: bytes
    method: int
    crc: int
    size: int
    flags: int = 0


def deflate(content: bytes) -> bytes:
    """Raw deflate, as zip members hold it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(content) + packer.flush()


def packed(name: str, content: bytes, *, method: int = DEFLATED) -> RawMember:
    """An honest member: its headers tell the truth about its content."""
    payload = deflate(content) if method == DEFLATED else content
    return RawMember(name, payload, method, zlib.crc32(content), len(content))


def build_zip(
    members: Sequence[RawMember], *, ghost_entries: Iterable[tuple[RawMember, int]] = ()
) -> bytes:
    """Local headers, data, central directory and end record (zip64 end past 65,535 members).

    ``ghost_entries`` are directory entries without data of their own, pointing at the local
    header at the given index of ``members`` (overlapping members).
    """
    out = io.BytesIO()
    offsets = []
    for member in members:
        offsets.append(out.tell())
        name = member.name.encode("utf-8")
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                _flags(member),
                member.method,
                0,
                _DOS_DATE_1980_01_01,
                member.crc,
                len(member.payload),
                member.size,
                len(name),
                0,
            )
        )
        out.write(name)
        out.write(member.payload)
    directory_offset = out.tell()
    entries = [*zip(members, offsets, strict=True)]
    entries += [(member, offsets[index]) for member, index in ghost_entries]
    for member, offset in entries:
        name = member.name.encode("utf-8")
        out.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                _flags(member),
                member.method,
                0,
                _DOS_DATE_1980_01_01,
                member.crc,
                len(member.payload),
                member.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        out.write(name)
    directory_size = out.tell() - directory_offset
    count = len(entries)
    if count > 0xFFFF:
        zip64_end = out.tell()
        out.write(
            struct.pack(
                "<4sQHHIIQQQQ",
                b"PK\x06\x06",
                44,
                45,
                45,
                0,
                0,
                count,
                count,
                directory_size,
                directory_offset,
            )
        )
        out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, zip64_end, 1))
        count = 0xFFFF
    out.write(
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, directory_size, directory_offset, 0
        )
    )
    return out.getvalue()


def _flags(member: RawMember) -> int:
    return member.flags | (0x800 if not member.name.isascii() else 0)


def members_of(package: bytes) -> list[RawMember]:
    """A real package's members, rewritten honestly (deflated), in their original order."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return [packed(info.filename, archive.read(info)) for info in archive.infolist()]


def rebuilt(
    package: bytes,
    *,
    replace: Mapping[str, bytes] | None = None,
    add: Mapping[str, bytes] | None = None,
    drop: Iterable[str] = (),
) -> bytes:
    """The package with some members replaced, added or dropped; everything else as it was."""
    replace = replace or {}
    dropped = set(drop)
    members = [
        packed(m.name, replace[m.name]) if m.name in replace else m
        for m in members_of(package)
        if m.name not in dropped
    ]
    members += [packed(name, content) for name, content in (add or {}).items()]
    return build_zip(members)


def read_part(package: bytes, name: str) -> bytes:
    """One member's content, read with zipfile."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return archive.read(name)
