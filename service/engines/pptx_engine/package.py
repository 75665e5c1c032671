"""A presentation parsed once and copied per render; saved as python-pptx saves it, faster.

Opening a .pptx with python-pptx unzips every member and parses every XML part: the slide
masters, layouts and themes too, which no render changes. ``ParsedPresentation`` opens the
template once. Each render gets a copy (``fresh``): every part a render may change (the
presentation, slides, notes, charts and their workbooks, properties) is a new part object
with a deep copy of its XML, while layouts, masters, themes and pictures, which rendering
only reads, are the parsed template's own objects, shared read-only.

``save`` writes the same bytes as python-pptx's ``save`` followed by ``fix_zip_timestamps``:
the members in python-pptx's order, each compressed as ``zipfile`` compresses it, with the
same headers. Members that are the same as in the template (the shared parts always, and
most of the others) are not compressed again: their compressed bytes are kept from the first
time.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from pptx import Presentation
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.oxml import serialize_part_xml
from pptx.opc.package import Part, XmlPart, _Relationship
from pptx.opc.packuri import CONTENT_TYPES_URI, PACKAGE_URI
from pptx.opc.serialized import _ContentTypesItem
from pptx.package import Package
from pptx.util import lazyproperty

from service.engines.opc import DOS_DATE, DOS_TIME, ZipEntry
from service.errors import TemplateError

__all__ = ["ParsedPresentation"]

# Parts rendering only reads (python-pptx reads layouts and masters for placeholders and
# theme fonts); pictures and media are never changed in place, a new picture is a new part.
_READ_ONLY_TYPES = frozenset(
    {
        CT.PML_SLIDE_LAYOUT,
        CT.PML_SLIDE_MASTER,
        CT.PML_NOTES_MASTER,
        CT.PML_HANDOUT_MASTER,
        CT.OFC_THEME,
    }
)
_READ_ONLY_PREFIXES = ("image/", "audio/", "video/", "application/vnd.ms-fontobject")

# What zipfile writes for a member added with ``writestr(name, data)`` on a POSIX system:
# version 2.0, "made by" Unix, rw------- attributes (as ``ZipFile.writestr`` stamps them).
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20
_UNIX = 3
_ATTRIBUTES = 0o600 << 16


class ParsedPresentation:
    """A .pptx file opened once by python-pptx; ``fresh`` copies, ``save`` writes them."""

    def __init__(self, data: bytes, *, name: str) -> None:
        try:
            prs = Presentation(BytesIO(data))
        except Exception as exc:  # any failure means the file is unreadable
            raise TemplateError(f"{name}: not a readable pptx file ({exc})") from exc
        self._package: Package = prs.part.package
        self._shared = _read_only_parts(self._package)
        # Member name -> (uncompressed bytes, compressed entry), filled as members are written.
        self._entries: dict[str, tuple[bytes, ZipEntry]] = {}

    def fresh(self) -> Any:
        """A python-pptx Presentation to fill: a copy of the template that shares nothing a
        render may change with the template or with any other copy."""
        package: Package = Package.__new__(Package)
        package._pkg_file = None  # type: ignore[assignment]  # opened from no file
        copies: dict[Part, Part] = {}

        def copy_part(part: Part) -> Part:
            if part in self._shared:
                return part
            twin = copies.get(part)
            if twin is not None:
                return twin
            twin = _copy_of(part, package)
            copies[part] = twin
            _copy_rels(part, twin, copy_part)
            return twin

        _copy_rels(self._package, package, copy_part)
        return package.main_document_part.presentation

    def save(self, prs: Any) -> bytes:
        """The .pptx bytes of a copy, the same as python-pptx's ``save`` and
        ``fix_zip_timestamps`` would give."""
        package = prs.part.package
        parts = tuple(package.iter_parts())
        members: list[tuple[str, bytes | None]] = [
            (CONTENT_TYPES_URI.membername, serialize_part_xml(_ContentTypesItem.xml_for(parts))),
            (PACKAGE_URI.rels_uri.membername, package._rels.xml),
        ]
        for part in parts:
            shared = part in self._shared
            name = part.partname.membername
            members.append((name, None if shared and name in self._entries else part.blob))
            if part._rels:
                rels_name = part.partname.rels_uri.membername
                members.append(
                    (rels_name, None if shared and rels_name in self._entries else part.rels.xml)
                )
        return _zip(self._entry(name, data) for name, data in members)

    def _entry(self, name: str, data: bytes | None) -> ZipEntry:
        """The member compressed; from the cache when its bytes are the template's."""
        known = self._entries.get(name)
        if known is not None and (data is None or data == known[0]):
            return known[1]
        assert data is not None
        entry = ZipEntry.of(name, data)
        if known is None:
            self._entries[name] = (data, entry)
        return entry


def _read_only_parts(package: Package) -> frozenset[Part]:
    """The parts a copy may share: read-only kinds whose relationships reach only such parts
    (a copy walks a shared part's relationships; they must not lead back to the template's
    slides)."""
    candidates = {
        part
        for part in package.iter_parts()
        if part.content_type in _READ_ONLY_TYPES
        or part.content_type.startswith(_READ_ONLY_PREFIXES)
    }
    changed = True
    while changed:
        changed = False
        for part in list(candidates):
            targets = (rel.target_part for rel in part.rels.values() if not rel.is_external)
            if any(target not in candidates for target in targets):
                candidates.discard(part)
                changed = True
    return frozenset(candidates)


def _copy_of(part: Part, package: Package) -> Part:
    """A new part like ``part`` in ``package``: its own copy of the XML, no cached values
    (python-pptx caches objects bound to the part's XML in lazy properties)."""
    twin = object.__new__(type(part))
    cls = type(part)
    twin.__dict__.update(
        (key, value)
        for key, value in part.__dict__.items()
        if not isinstance(getattr(cls, key, None), lazyproperty)
    )
    twin._package = package
    if isinstance(part, XmlPart):
        twin._element = copy.deepcopy(part._element)  # type: ignore[attr-defined]
    return twin


def _copy_rels(source: Any, target: Any, copy_part: Any) -> None:
    """Give ``target`` the relationships of ``source`` in the same order, to copied parts."""
    rels = target._rels._rels
    for rId, rel in source._rels.items():
        linked = rel._target if rel.is_external else copy_part(rel.target_part)
        rels[rId] = _Relationship(rel._base_uri, rId, rel.reltype, rel._target_mode, linked)


def _zip(entries: Iterable[ZipEntry]) -> bytes:
    """The zip ``zipfile`` writes for these members added by ``writestr`` one after the
    other, with every member's time set to 1980-01-01 00:00."""
    body: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
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
        body += (_LOCAL.pack(b"PK\x03\x04", _VERSION, 0, *common, 0), entry.name, entry.packed)
        directory += (
            _CENTRAL.pack(
                b"PK\x01\x02",
                _VERSION,
                _UNIX,
                _VERSION,
                0,
                *common,
                0,
                0,
                0,
                0,
                _ATTRIBUTES,
                offset,
            ),
            entry.name,
        )
        offset += _LOCAL.size + len(entry.name) + len(entry.packed)
        count += 1
    central = b"".join(directory)
    end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), offset, 0)
    return b"".join((*body, central, end))
