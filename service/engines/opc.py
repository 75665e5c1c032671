"""Office files as packages (Open Packaging Conventions): parts, relationships, reproducible zips.

A docx, pptx or xlsx file is a zip of parts (``word/document.xml``), each part's relationships
in ``_rels/<part>.rels`` (the package's own in ``_rels/.rels``) and ``[Content_Types].xml``.
``Package`` reads one once; ``write_zip`` writes one back so that the same parts always give
the same bytes: fixed member times and attributes, members compressed exactly as Python's
``zipfile`` compresses them, and entries that never change laid out once (``ZipPrefix``) and
copied as raw bytes by every render. ``fix_zip_timestamps`` makes a zip written by another
library (python-pptx) repeatable the same way.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.errors import TemplateError

__all__ = [
    "FIXED_TIME",
    "OFFICE_DOCUMENT",
    "PARSER",
    "RELATIONSHIP_TYPES",
    "Package",
    "Relationship",
    "ZipEntry",
    "ZipPrefix",
    "fix_zip_timestamps",
    "rels_name",
    "rels_xml",
    "with_prefixes",
    "write_zip",
    "xml_bytes",
]

# Hardened: no entities, no network, no gigantic trees.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

RELATIONSHIP_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
OFFICE_DOCUMENT = RELATIONSHIP_TYPES + "officeDocument"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_RELATIONSHIP = f"{{{_RELS_NS}}}Relationship"

# What reading a broken zip can raise besides BadZipFile (truncated data, bad compression).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    KeyError,
    NotImplementedError,
    OSError,
    ValueError,
)


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relationship:
    """One relationship of a part: an internal target is a member name, an external one as is."""

    rid: str
    reltype: str
    target: str
    external: bool


def rels_name(part: str) -> str:
    """``xl/workbook.xml`` -> ``xl/_rels/workbook.xml.rels``; the package's own for ``""``."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


class Package:
    """The members of an Office file, read once, in the order the file holds them."""

    def __init__(self, data: bytes, *, name: str, kind: str) -> None:
        """Read every member of ``data``; TemplateError names ``name`` and the ``kind`` (docx)."""
        self.name = name
        self.kind = kind
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                infos = archive.infolist()
                self.order = [info.filename for info in infos]
                self.members = {info.filename: archive.read(info.filename) for info in infos}
        except _ZIP_ERRORS as exc:
            raise TemplateError(f"{name}: not a readable {kind} file ({exc})") from exc
        self.methods = {info.filename: info.compress_type for info in infos}
        self.directories = frozenset(info.filename for info in infos if info.is_dir())
        self._rels: dict[str, list[Relationship]] = {}

    def xml(self, part: str) -> Any:
        """The parsed XML of a member; TemplateError if it is missing or not well-formed."""
        data = self.members.get(part)
        if data is None:
            raise TemplateError(f"{self.name}: part {part!r} is missing")
        try:
            return etree.fromstring(data, PARSER)
        except etree.XMLSyntaxError as exc:
            raise TemplateError(f"{self.name}: {part} is not well-formed XML ({exc})") from exc

    def rels(self, part: str) -> list[Relationship]:
        """The relationships of ``part`` (``""`` for the package's own), in the file's order."""
        if part not in self._rels:
            self._rels[part] = self._read_rels(part)
        return self._rels[part]

    def related(self, part: str, types: Collection[str]) -> list[str]:
        """Member names of the parts ``part`` relates to with one of ``types``, each once."""
        found: list[str] = []
        for rel in self.rels(part):
            if rel.reltype not in types or rel.external:
                continue
            if rel.target in self.members and rel.target not in found:
                found.append(rel.target)
        return found

    def main_part(self) -> str:
        """The package's main part (``word/document.xml``, ``xl/workbook.xml``, ...)."""
        found = self.related("", {OFFICE_DOCUMENT})
        if not found:
            raise TemplateError(
                f"{self.name}: not a readable {self.kind} file (no main document part)"
            )
        return found[0]

    def owned_tree(self, part: str, types: Collection[str]) -> list[str]:
        """Parts ``part`` relates to with one of ``types``, and theirs in turn, in stable order."""
        found: list[str] = []
        queue = [part]
        while queue:
            current = queue.pop(0)
            for target in self.related(current, types):
                if target not in found and target != part:
                    found.append(target)
                    queue.append(target)
        return found

    def _read_rels(self, part: str) -> list[Relationship]:
        name = rels_name(part)
        if name not in self.members:
            return []
        rels = []
        for rel in self.xml(name).iterchildren(_RELATIONSHIP):
            target = rel.get("Target", "")
            external = rel.get("TargetMode") == "External"
            if not external:
                if target.startswith("/"):
                    target = posixpath.normpath(target.lstrip("/"))
                else:
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
            rels.append(Relationship(rel.get("Id", ""), rel.get("Type", ""), target, external))
        return rels


# -- writing parts ----------------------------------------------------------------------------


def xml_bytes(root: Any) -> bytes:
    """A part's XML as Office writes it: UTF-8 with a standalone declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def with_prefixes(root: Any, prefixes: Mapping[str, str]) -> Any:
    """A copy of ``root`` whose namespaces carry the given prefixes (uri -> prefix), declared once
    on the root.

    Why: openpyxl writes drawings in a default namespace (``<wsDr xmlns=...>``); that is valid
    XML, but strict readers (ExcelJS) look elements up by their conventional qualified names
    (``xdr:wsDr``) and refuse the file. Other namespaces keep the prefixes they had, so
    ``mc:Ignorable`` lists still name declared prefixes.
    """
    nsmap: dict[str | None, str] = {}
    used = {uri: prefix for element in root.iter() for prefix, uri in element.nsmap.items()}
    taken = set(prefixes.values())
    for uri, prefix in sorted(used.items(), key=lambda item: item[0]):
        if uri in prefixes:
            nsmap[prefixes[uri]] = uri
        elif prefix is not None and prefix not in taken:
            nsmap[prefix] = uri
            taken.add(prefix)
    for uri, prefix in prefixes.items():
        if any(str(e.tag).startswith(f"{{{uri}}}") for e in root.iter() if isinstance(e.tag, str)):
            nsmap.setdefault(prefix, uri)

    def copy_into(source: Any, parent: Any) -> Any:
        if not isinstance(source.tag, str):  # a comment or processing instruction
            twin = etree.fromstring(etree.tostring(source))
            twin.tail = source.tail
            parent.append(twin)
            return twin
        attrib = dict(source.attrib)
        if parent is None:
            twin = etree.Element(source.tag, attrib, nsmap=nsmap)
        else:
            twin = etree.SubElement(parent, source.tag, attrib)
        twin.text, twin.tail = source.text, source.tail
        for child in source:
            copy_into(child, twin)
        return twin

    result = copy_into(root, None)
    result.tail = None
    return result


def rels_xml(rels: Sequence[Relationship], source: str, renamed: Mapping[str, str]) -> bytes:
    """The ``.rels`` part of ``source``; targets in ``renamed`` point at their new names."""
    root = etree.Element(f"{{{_RELS_NS}}}Relationships", nsmap={None: _RELS_NS})
    for rel in rels:
        attrib = {"Id": rel.rid, "Type": rel.reltype}
        if rel.external:
            attrib["Target"] = rel.target
            attrib["TargetMode"] = "External"
        else:
            target = renamed.get(rel.target, rel.target)
            attrib["Target"] = posixpath.relpath(target, posixpath.dirname(source) or ".")
        etree.SubElement(root, _RELATIONSHIP, attrib)
    return xml_bytes(root)


# -- writing the zip --------------------------------------------------------------------------

# 1980-01-01 00:00, the earliest time a zip can hold (MS-DOS date and time fields).
DOS_TIME = 0
DOS_DATE = (0 << 9) | (1 << 5) | 1
FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # for document properties

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_END_HEADER = struct.Struct("<4s4H2LH")
_VERSION = 20  # "made by" and "needed": 2.0, MS-DOS, as zipfile writes for these methods
_ATTRIBUTES = 0o600 << 16  # rw------- as zipfile stamps a member given no attributes
_UTF8_NAME = 0x800


@dataclass(frozen=True)
class ZipEntry:
    """One member compressed, ready to be laid out in any zip."""

    name: bytes
    flags: int
    method: int
    crc: int
    size: int
    packed: bytes

    @classmethod
    def of(cls, name: str, data: bytes, *, method: int = zipfile.ZIP_DEFLATED) -> ZipEntry:
        """``data`` deflated (or stored) exactly as ``zipfile`` would write it.

        Methods other than stored are written deflated (Office uses only these two).
        """
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        if method == zipfile.ZIP_STORED:
            packed = data
        else:
            method = zipfile.ZIP_DEFLATED
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            packed = compressor.compress(data) + compressor.flush()
        return cls(encoded, flags, method, zlib.crc32(data), len(data), packed)


@dataclass(frozen=True)
class ZipPrefix:
    """Entries laid out once: their local headers and data, and their directory records."""

    body: bytes
    directory: bytes
    count: int

    @classmethod
    def of(cls, entries: Iterable[ZipEntry]) -> ZipPrefix:
        body: list[bytes] = []
        directory: list[bytes] = []
        count = _lay_out(entries, body, directory, 0)
        return cls(b"".join(body), b"".join(directory), count)


_NOTHING = ZipPrefix(b"", b"", 0)


def write_zip(entries: Iterable[ZipEntry], *, prefix: ZipPrefix = _NOTHING) -> bytes:
    """A zip of ``prefix``'s entries, then ``entries``; the same entries give the same bytes."""
    body = [prefix.body]
    directory = [prefix.directory]
    count = prefix.count + _lay_out(entries, body, directory, len(prefix.body))
    offset = sum(len(chunk) for chunk in body)
    central = b"".join(directory)
    end = _END_HEADER.pack(_END, 0, 0, count, count, len(central), offset, 0)
    return b"".join((*body, central, end))


def _lay_out(
    entries: Iterable[ZipEntry], body: list[bytes], directory: list[bytes], offset: int
) -> int:
    """Append each entry's local header and data and its directory record; count them."""
    count = 0
    for entry in entries:
        common = (
            entry.flags,
            entry.method,
            DOS_TIME,
            DOS_DATE,
            entry.crc,
            len(entry.packed),
            entry.size,
            len(entry.name),
        )
        body += (_LOCAL_HEADER.pack(_LOCAL, _VERSION, *common, 0), entry.name, entry.packed)
        directory += (
            _CENTRAL_HEADER.pack(
                _CENTRAL, _VERSION, _VERSION, *common, 0, 0, 0, 0, _ATTRIBUTES, offset
            ),
            entry.name,
        )
        offset += _LOCAL_HEADER.size + len(entry.name) + len(entry.packed)
        count += 1
    return count


def fix_zip_timestamps(data: bytes) -> bytes:
    """The same zip with every member's modification time set to 1980-01-01 00:00.

    Zip writers stamp each member with the current time, so packages written by python-pptx
    differ from run to run although nothing inside changed. Patching the two timestamp fields
    of every member in place keeps the file otherwise untouched (no recompression).
    """
    end = data.rfind(_END)
    if end < 0:
        raise ValueError("not a zip file: no end of central directory")
    count, _size, start = struct.unpack_from("<HIL", data, end + 10)
    out = bytearray(data)
    position = start
    for _ in range(count):
        if out[position : position + 4] != _CENTRAL:
            raise ValueError(f"not a zip file: bad central directory entry at {position}")
        struct.pack_into("<HH", out, position + 12, DOS_TIME, DOS_DATE)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, position + 28)
        (local,) = struct.unpack_from("<L", out, position + 42)
        if out[local : local + 4] != _LOCAL:
            raise ValueError(f"not a zip file: bad local header at {local}")
        struct.pack_into("<HH", out, local + 10, DOS_TIME, DOS_DATE)
        position += 46 + name_len + extra_len + comment_len
    return bytes(out)
