"""Read a zip's directory and inflate its members under hard caps, before any parser does.

Python's zipfile trusts the sizes a zip declares and stops reading a member at its declared
size, so a member whose header lies is cut short without notice. Here the central directory is
walked by hand with the member count capped before a single entry is read, declared sizes and
ratios are judged before anything is inflated, and every member is then inflated in bounded
chunks that stop one chunk past what it declared. Everything zipfile would refuse is refused
too, so a file that passes here reads the same in openpyxl and python-pptx.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from service.errors import FileRejectedError, Problem, RejectionReason
from service.messages import Message, Param, Quoted, message
from service.messages import describe_size as _describe_size

LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
STORED = 0
DEFLATED = 8
# A compression ratio says little about small members (1 kB of spaces packs 100:1), so it is
# judged only for members, and totals, that unpack to more than this.
RATIO_GRACE_BYTES = 1_000_000
# Inflate in slices of this much output, so no member is ever held whole unless asked for.
OUTPUT_CHUNK_BYTES = 64 * 1024
INPUT_CHUNK_BYTES = 64 * 1024

_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_END = struct.Struct("<4sHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_END = struct.Struct("<4sQHHIIQQQQ")
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 99: "AES"}
_ENCRYPTED_FLAGS = 0x0001 | 0x0040 | 0x2000
_UTF8_NAME_FLAG = 0x0800


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One member as the central directory declares it, with where its data starts."""

    name: str
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int


def damaged(code: str, **params: Param) -> FileRejectedError:
    """The refusal of a zip that is broken, most often an upload cut short.

    ``code`` names the detail in the catalogue (``gate.damaged.<code>``).
    """
    detail = message(f"gate.damaged.{code}", **params)
    text = message("gate.damaged", detail=detail)
    return FileRejectedError(RejectionReason.CORRUPT, [Problem.of("file", text)])


def bomb(text: Message) -> FileRejectedError:
    """The refusal of a zip that would unpack to far more than any real Office file."""
    return FileRejectedError(RejectionReason.ZIP_BOMB, [Problem.of("file", text)])


def describe_size(size: int) -> str:
    """A byte count in English: ``50 MB``, ``2,147.5 MB``, ``812 kB``."""
    return _describe_size(size)


def read_members(data: bytes, *, max_members: int) -> list[ZipMember]:
    """The members of a zip from its central directory; nothing is inflated.

    Refuses more than ``max_members`` entries before reading any of them, members whose data
    overlap (the trick that lets a small zip declare terabytes), encrypted members, methods
    Office never uses, duplicate names, and any disagreement zipfile would stumble on.
    """
    count, directory_offset, directory_end = _end_of_directory(data)
    if count > max_members:
        raise bomb(message("gate.too_many_parts", count=count, max=max_members))
    entries = _central_entries(data, count, directory_offset, directory_end)
    _refuse_overlaps(entries)
    members = []
    names: set[str] = set()
    for entry in entries:
        key = entry.name.casefold()
        if key in names:
            raise damaged("same_name", name=Quoted(entry.name))
        names.add(key)
        members.append(_with_local_header(data, entry, directory_offset))
    return members


def inflate(data: bytes, member: ZipMember) -> Iterator[bytes]:
    """The member's content in slices of at most OUTPUT_CHUNK_BYTES, checked as it comes.

    Stops as soon as the output passes the declared size (a header that lies is a bomb), and
    at the end checks the size and CRC, so a consumer sees at most one slice too many.
    """
    view = memoryview(data)[member.data_offset : member.data_offset + member.compressed_size]
    produced = 0
    crc = 0
    for piece in _raw_slices(view) if member.method == STORED else _deflated_slices(view, member):
        produced += len(piece)
        if produced > member.size:
            raise bomb(message("gate.lying_header", part=member.name, size=member.size))
        crc = zlib.crc32(piece, crc)
        yield piece
    if produced != member.size:
        raise damaged("part_size", part=member.name, found=produced, size=member.size)
    if crc != member.crc:
        raise damaged("crc", part=member.name)


def read_member(data: bytes, member: ZipMember) -> bytes:
    """A whole member, checked like ``inflate``; only for members known to be small."""
    return b"".join(inflate(data, member))


def _raw_slices(view: memoryview) -> Iterator[bytes]:
    for start in range(0, len(view), OUTPUT_CHUNK_BYTES):
        yield bytes(view[start : start + OUTPUT_CHUNK_BYTES])


def _deflated_slices(view: memoryview, member: ZipMember) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for start in range(0, len(view), INPUT_CHUNK_BYTES):
            pending = bytes(view[start : start + INPUT_CHUNK_BYTES])
            while pending and not inflater.eof:
                out = inflater.decompress(pending, OUTPUT_CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
            if inflater.eof:
                break
        # Output that did not fit the last slice is still inside the inflater.
        while not inflater.eof:
            out = inflater.decompress(b"", OUTPUT_CHUNK_BYTES)
            if not out:
                break
            yield out
    except zlib.error as exc:
        raise damaged("unpack", part=member.name, error=str(exc)) from exc
    if not inflater.eof:
        raise damaged("ends_early", part=member.name)


def _end_of_directory(data: bytes) -> tuple[int, int, int]:
    """Member count, central directory offset and end, from the (zip64) end record."""
    # The end record is 22 bytes plus a comment of at most 65,535.
    search_from = max(0, len(data) - _END.size - 0xFFFF)
    position = data.rfind(b"PK\x05\x06", search_from)
    if position < 0 or position + _END.size > len(data):
        raise damaged("no_directory")
    (
        _,
        disk,
        directory_disk,
        disk_entries,
        entries,
        directory_size,
        directory_offset,
        comment_length,
    ) = _END.unpack_from(data, position)
    if position + _END.size + comment_length != len(data):
        raise damaged("directory_length")
    directory_end = position
    if 0xFFFF in (disk_entries, entries) or 0xFFFFFFFF in (directory_size, directory_offset):
        locator = position - _ZIP64_LOCATOR.size
        if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
            raise damaged("zip64_locator")
        _, _, record, _ = _ZIP64_LOCATOR.unpack_from(data, locator)
        if record + _ZIP64_END.size > locator or data[record : record + 4] != b"PK\x06\x06":
            raise damaged("zip64_end")
        (
            _,
            _,
            _,
            _,
            disk,
            directory_disk,
            disk_entries,
            entries,
            directory_size,
            directory_offset,
        ) = _ZIP64_END.unpack_from(data, record)
        directory_end = record
    if disk or directory_disk or disk_entries != entries:
        raise damaged("split")
    if directory_offset + directory_size != directory_end:
        raise damaged("directory_place")
    return entries, directory_offset, directory_end


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    raw_name: bytes
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int


def _central_entries(data: bytes, count: int, start: int, end: int) -> list[_Entry]:
    entries = []
    position = start
    for _ in range(count):
        if position + _CENTRAL.size > end:
            raise damaged("directory_cut")
        (
            signature,
            _,
            _,
            flags,
            method,
            _,
            _,
            crc,
            compressed_size,
            size,
            name_length,
            extra_length,
            comment_length,
            disk,
            _,
            _,
            header_offset,
        ) = _CENTRAL.unpack_from(data, position)
        if signature != b"PK\x01\x02":
            raise damaged("broken_entry")
        name_start = position + _CENTRAL.size
        raw_name = data[name_start : name_start + name_length]
        extra = data[name_start + name_length : name_start + name_length + extra_length]
        position = name_start + name_length + extra_length + comment_length
        if position > end:
            raise damaged("directory_cut")
        name = _decode_name(raw_name, flags)
        if flags & _ENCRYPTED_FLAGS:
            text = message("gate.encrypted_part", part=name)
            raise FileRejectedError(RejectionReason.ENCRYPTED, [Problem.of("file", text)])
        if method not in (STORED, DEFLATED):
            shown = _METHOD_NAMES.get(method) or message(
                "gate.damaged.method_number", number=method
            )
            raise damaged("method", part=name, method=shown)
        if 0xFFFFFFFF in (size, compressed_size, header_offset) or disk == 0xFFFF:
            size, compressed_size, header_offset = _zip64_sizes(
                extra, name, size=size, compressed_size=compressed_size, offset=header_offset
            )
        if method == STORED and size != compressed_size:
            raise damaged("stored_sizes", part=name)
        entries.append(_Entry(name, raw_name, method, crc, compressed_size, size, header_offset))
    if position != end:
        raise damaged("directory_extra")
    return entries


def _decode_name(raw: bytes, flags: int) -> str:
    try:
        name = raw.decode("utf-8") if flags & _UTF8_NAME_FLAG else raw.decode("cp437")
    except UnicodeDecodeError as exc:
        raise damaged("name_not_utf8") from exc
    # zipfile cuts a name at NUL; a name that reads differently to two readers is refused.
    if "\x00" in name:
        raise damaged("name_nul")
    return name


def _zip64_sizes(
    extra: bytes, name: str, *, size: int, compressed_size: int, offset: int
) -> tuple[int, int, int]:
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + length]
        position += 4 + length
        if tag != 0x0001:
            continue
        values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
        try:
            if size == 0xFFFFFFFF:
                size = values.pop(0)
            if compressed_size == 0xFFFFFFFF:
                compressed_size = values.pop(0)
            if offset == 0xFFFFFFFF:
                offset = values.pop(0)
        except IndexError:
            break
        return size, compressed_size, offset
    raise damaged("zip64_sizes", part=name)


def _refuse_overlaps(entries: list[_Entry]) -> None:
    """Members whose data overlap make a small file declare any size it likes (Fifield 2019)."""
    ordered = sorted(entries, key=lambda e: e.header_offset)
    for before, after in itertools.pairwise(ordered):
        # A lower bound of where ``before`` ends: its extra field is not known yet.
        end = before.header_offset + _LOCAL.size + len(before.raw_name) + before.compressed_size
        if end > after.header_offset:
            raise bomb(message("gate.overlapping_parts", first=before.name, second=after.name))


def _with_local_header(data: bytes, entry: _Entry, directory_offset: int) -> ZipMember:
    position = entry.header_offset
    if position + _LOCAL.size > directory_offset:
        raise damaged("outside", part=entry.name)
    signature, _, _, _, _, _, _, _, _, name_length, extra_length = _LOCAL.unpack_from(
        data, position
    )
    if signature != LOCAL_HEADER_SIGNATURE:
        raise damaged("local_header", part=entry.name)
    name_start = position + _LOCAL.size
    if data[name_start : name_start + name_length] != entry.raw_name:
        raise damaged("local_name", part=entry.name)
    data_offset = name_start + name_length + extra_length
    if data_offset + entry.compressed_size > directory_offset:
        raise damaged("runs_past", part=entry.name)
    return ZipMember(
        name=entry.name,
        method=entry.method,
        crc=entry.crc,
        compressed_size=entry.compressed_size,
        size=entry.size,
        header_offset=entry.header_offset,
        data_offset=data_offset,
    )
