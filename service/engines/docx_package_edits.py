"""What one docx render adds to the package besides its rendered parts, and template replacements.

A value such as an image or a sub-document needs more than XML in its part: a media member,
a relationship of the part it stands in, a content type, styles and list definitions. The
members that may change (the templated parts' ``.rels``, ``[Content_Types].xml``,
``word/styles.xml``, ``word/numbering.xml``) are kept out of the template's raw zip prefix and
compressed once at load (``EditableMembers``); a render that adds nothing appends them as they
are, so templates without images pay nothing. ``PackageEdits`` is one render's record of what
was added; ``entries`` writes the changed members.

``replace_in_template`` is docxtpl's ``replace_pic``, ``replace_media``, ``replace_embedded``
and ``replace_zipname`` as one pure function over the template's bytes.
"""

from __future__ import annotations

import hashlib
import posixpath
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from service.engines.opc import (
    PARSER,
    RELATIONSHIP_TYPES,
    Package,
    Relationship,
    ZipEntry,
    ZipPrefix,
    rels_name,
    write_zip,
    xml_bytes,
)
from service.errors import TemplateError

__all__ = [
    "CONTENT_TYPES",
    "EditableMembers",
    "KeptMembers",
    "PackageEdits",
    "PackageWriter",
    "replace_in_template",
]

CONTENT_TYPES = "[Content_Types].xml"
STYLES = "word/styles.xml"
NUMBERING = "word/numbering.xml"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_NUMBERING_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_PIC_NS = "http://schemas.openxmlformats.org/drawingml/2006/picture"
_HEADER_FOOTER = frozenset({RELATIONSHIP_TYPES + "header", RELATIONSHIP_TYPES + "footer"})


@dataclass(frozen=True)
class EditableMembers:
    """The members a render may change, read and compressed once when the template loads."""

    main: str
    parts: tuple[str, ...]
    rels: Mapping[str, tuple[Relationship, ...]]
    data: Mapping[str, bytes]
    entries: Mapping[str, ZipEntry]
    members: frozenset[str]

    @classmethod
    def of(cls, package: Package, parts: Iterable[str]) -> EditableMembers:
        """The editable members of ``package`` whose templated parts are ``parts``."""
        parts = tuple(parts)
        names = [CONTENT_TYPES, STYLES, NUMBERING, *(rels_name(part) for part in parts)]
        data = {name: package.members[name] for name in names if name in package.members}
        entries = {
            name: ZipEntry.of(name, blob, method=package.methods[name])
            for name, blob in data.items()
        }
        return cls(
            main=package.main_part(),
            parts=parts,
            rels={part: tuple(package.rels(part)) for part in parts},
            data=data,
            entries=entries,
            members=frozenset(package.members),
        )

    @property
    def names(self) -> frozenset[str]:
        """The member names kept out of the template's raw prefix."""
        return frozenset(self.data)


class KeptMembers:
    """The members a render copies as raw bytes: every untemplated member, editable ones last.

    A render that adds nothing writes ``full``, exactly as before images existed; one that
    adds writes ``without_editable`` and its own versions of the editable members. The zip
    layout of the others is the start of ``full``'s, so that prefix is a slice, cut once.
    """

    def __init__(self, entries: list[ZipEntry], editable: EditableMembers) -> None:
        start = ZipPrefix.of(entries)
        self.full = ZipPrefix.of([*entries, *editable.entries.values()])
        self._cut = (len(start.body), len(start.directory), start.count)
        self._without: ZipPrefix | None = None

    def without_editable(self) -> ZipPrefix:
        """The prefix without the editable members."""
        if self._without is None:
            body, directory, count = self._cut
            self._without = ZipPrefix(self.full.body[:body], self.full.directory[:directory], count)
        return self._without


@dataclass
class _PartRels:
    """One part's relationships during a render: the template's and those added."""

    existing: tuple[Relationship, ...]
    added: list[Relationship] = field(default_factory=list)
    by_key: dict[tuple[str, str, bool], str] = field(default_factory=dict)

    def add(self, reltype: str, target: str, *, external: bool) -> str:
        key = (reltype, target, external)
        if key in self.by_key:
            return self.by_key[key]
        taken = {rel.rid for rel in self.existing} | {rel.rid for rel in self.added}
        number = len(taken) + 1
        while f"rId{number}" in taken:
            number += 1
        rid = f"rId{number}"
        self.added.append(Relationship(rid, reltype, target, external))
        self.by_key[key] = rid
        return rid


class PackageEdits:
    """What one render adds to the package: members, relationships, content types, XML parts."""

    def __init__(self, base: EditableMembers) -> None:
        self._base = base
        self._rels: dict[str, _PartRels] = {}
        self._new_members: dict[str, bytes] = {}
        self._media_by_digest: dict[str, str] = {}
        self._defaults: dict[str, str] = {}
        self._overrides: dict[str, str] = {}
        self._xml: dict[str, Any] = {}
        self._shape_id = 0x40000000  # far above the ids Word and LibreOffice hand out

    @property
    def changed(self) -> bool:
        """Whether this render added anything to the package."""
        return bool(self._rels or self._xml or self._new_members)

    @property
    def main(self) -> str:
        """The main document part's member name."""
        return self._base.main

    def add_relationship(self, part: str, reltype: str, target: str, *, external: bool) -> str:
        """The id of a relationship of ``part`` to ``target`` (a member name or a URL)."""
        if part not in self._rels:
            self._rels[part] = _PartRels(self._base.rels.get(part, ()))
        return self._rels[part].add(reltype, target, external=external)

    def add_media(self, part: str, data: bytes, *, ext: str, content_type: str) -> str:
        """Store ``data`` as a media member (once per render) and relate ``part`` to it."""
        digest = hashlib.sha256(data).hexdigest()
        member = self._media_by_digest.get(digest)
        if member is None:
            folder = posixpath.dirname(self.main)
            number = len(self._media_by_digest) + 1
            member = posixpath.join(folder, "media", f"benchdocs-image{number}.{ext}")
            while member in self._base.members:
                number += 1
                member = posixpath.join(folder, "media", f"benchdocs-image{number}.{ext}")
            self._media_by_digest[digest] = member
            self._new_members[member] = data
            self._defaults.setdefault(ext.lower(), content_type)
        return self.add_relationship(part, RELATIONSHIP_TYPES + "image", member, external=False)

    def next_shape_id(self) -> int:
        """A drawing id (``wp:docPr/@id``) no other drawing of the document uses."""
        self._shape_id += 1
        return self._shape_id

    def xml(self, member: str) -> Any | None:
        """A parsed, editable copy of ``word/styles.xml`` or ``word/numbering.xml`` (None if
        the template has none); the copy is written back by ``entries``."""
        if member not in self._xml:
            data = self._base.data.get(member)
            self._xml[member] = None if data is None else etree.fromstring(data, PARSER)
        return self._xml[member]

    def create_numbering(self) -> Any:
        """An empty ``word/numbering.xml`` for a template without one, related to the main part."""
        root = etree.Element(f"{{{_W_NS}}}numbering", nsmap={"w": _W_NS})
        self._xml[NUMBERING] = root
        self._overrides["/" + NUMBERING] = _NUMBERING_TYPE
        self.add_relationship(
            self.main, RELATIONSHIP_TYPES + "numbering", NUMBERING, external=False
        )
        return root

    def entries(self) -> list[ZipEntry]:
        """The editable members (changed or not) and the members this render added."""
        out: list[ZipEntry] = []
        changed: dict[str, bytes] = {}
        for part, rels in self._rels.items():
            if rels.added:
                changed[rels_name(part)] = _rels_bytes([*rels.existing, *rels.added], part)
        for member, root in self._xml.items():
            if root is not None:
                changed[member] = xml_bytes(root)
        if self._defaults or self._overrides:
            changed[CONTENT_TYPES] = self._content_types()
        for name, entry in self._base.entries.items():
            out.append(ZipEntry.of(name, changed.pop(name)) if name in changed else entry)
        out.extend(ZipEntry.of(name, data) for name, data in sorted(changed.items()))
        out.extend(
            ZipEntry.of(name, data, method=zipfile.ZIP_STORED)
            for name, data in self._new_members.items()
        )
        return out

    def _content_types(self) -> bytes:
        root = etree.fromstring(self._base.data[CONTENT_TYPES], PARSER)
        defaults = {
            (el.get("Extension") or "").lower() for el in root.iterchildren(f"{{{_CT_NS}}}Default")
        }
        overrides = {el.get("PartName") for el in root.iterchildren(f"{{{_CT_NS}}}Override")}
        first_override = next(root.iterchildren(f"{{{_CT_NS}}}Override"), None)
        for ext, content_type in sorted(self._defaults.items()):
            if ext not in defaults:
                default = etree.Element(
                    f"{{{_CT_NS}}}Default", {"Extension": ext, "ContentType": content_type}
                )
                if first_override is not None:
                    first_override.addprevious(default)
                else:
                    root.append(default)
        for name, content_type in sorted(self._overrides.items()):
            if name not in overrides:
                etree.SubElement(
                    root, f"{{{_CT_NS}}}Override", {"PartName": name, "ContentType": content_type}
                )
        return xml_bytes(root)


class PackageWriter:
    """A ``docx_media.PartWriter`` for one render; ``part`` is the part being rendered (set by
    the engine before each part). Its ``PackageEdits`` are made when first needed, so a render
    without images pays for none."""

    __slots__ = ("_edits", "base", "part")

    def __init__(self, base: EditableMembers) -> None:
        self.base = base
        self.part = base.main
        self._edits: PackageEdits | None = None

    @property
    def edits(self) -> PackageEdits:
        """This render's additions to the package."""
        if self._edits is None:
            self._edits = PackageEdits(self.base)
        return self._edits

    @property
    def changed(self) -> bool:
        """Whether this render added anything to the package."""
        return self._edits is not None and self._edits.changed

    def add_media(self, data: bytes, *, ext: str, content_type: str) -> str:
        """Store ``data`` and return the id of the part's relationship to it."""
        return self.edits.add_media(self.part, data, ext=ext, content_type=content_type)

    def add_external(self, reltype: str, target: str) -> str:
        """The id of the part's relationship to an external ``target``."""
        return self.edits.add_relationship(self.part, reltype, target, external=True)

    def next_shape_id(self) -> int:
        """A drawing id unique in the document."""
        return self.edits.next_shape_id()


def _rels_bytes(rels: Iterable[Relationship], part: str) -> bytes:
    ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    root = etree.Element(f"{{{ns}}}Relationships", nsmap={None: ns})
    for rel in rels:
        attrib = {"Id": rel.rid, "Type": rel.reltype}
        if rel.external:
            attrib["Target"] = rel.target
            attrib["TargetMode"] = "External"
        else:
            attrib["Target"] = posixpath.relpath(rel.target, posixpath.dirname(part) or ".")
        etree.SubElement(root, f"{{{ns}}}Relationship", attrib)
    return xml_bytes(root)


# -- docxtpl's replace_pic, replace_media, replace_embedded, replace_zipname ---------------------


def replace_in_template(
    data: bytes,
    *,
    name: str,
    pics: Mapping[str, bytes] | None = None,
    media: Mapping[bytes, bytes] | None = None,
    embedded: Mapping[bytes, bytes] | None = None,
    zipnames: Mapping[str, bytes] | None = None,
) -> bytes:
    """The template ``data`` with members replaced as docxtpl's ``replace_*`` methods do.

    - ``pics``: a picture's name, title or description (``pic:cNvPr``) in the main document,
      its headers or footers -> the new image bytes (``replace_pic``); every name must be
      found. The picture keeps its size, so the aspect ratio is the replaced one's.
    - ``media``: the bytes of a file under ``word/media/`` -> its replacement
      (``replace_media``; docxtpl finds the member by the CRC of the file given).
    - ``embedded``: the same under ``word/embeddings/`` (``replace_embedded``).
    - ``zipnames``: a member name -> its new bytes (``replace_zipname``); it must exist.

    Replacement images are checked like any image (``InvalidImageError``). Load the result
    with ``DocxTemplate.from_bytes``; docxtpl applies the same replacements to its output.
    """
    from service.engines.docx_media import load_image  # media imports this module

    package = Package(data, name=name, kind="docx")
    replaced: dict[str, bytes] = {}
    for member, new in (zipnames or {}).items():
        if member not in package.members:
            raise TemplateError(f"{name}: replace_zipname: no member {member!r} in the template")
        replaced[member] = new
    for folder, table in (("word/media/", media or {}), ("word/embeddings/", embedded or {})):
        by_crc = {zlib.crc32(old) & 0xFFFFFFFF: new for old, new in table.items()}
        for member in package.order:
            if member.startswith(folder):
                crc = zlib.crc32(package.members[member]) & 0xFFFFFFFF
                if crc in by_crc:
                    replaced[member] = by_crc[crc]
    if pics:
        for new in pics.values():
            load_image(new)
        found = _replace_pics(package, pics, replaced)
        missing = sorted(set(pics) - found)
        if missing:
            raise TemplateError(f"{name}: picture {missing[0]!r} not found in the template")
    if not replaced:
        return data
    return write_zip(
        ZipEntry.of(
            member, replaced.get(member, package.members[member]), method=package.methods[member]
        )
        for member in package.order
        if member not in package.directories
    )


def _replace_pics(
    package: Package, pics: Mapping[str, bytes], replaced: dict[str, bytes]
) -> set[str]:
    found: set[str] = set()
    main = package.main_part()
    ns = {"a": _A_NS, "pic": _PIC_NS, "r": _R_NS}
    for part in [main, *package.related(main, _HEADER_FOOTER)]:
        rels = {rel.rid: rel for rel in package.rels(part)}
        for pic in package.xml(part).iterfind(".//pic:pic", ns):
            properties = pic.find("pic:nvPicPr/pic:cNvPr", ns)
            blip = pic.find("pic:blipFill/a:blip", ns)
            if properties is None or blip is None:
                continue
            rel = rels.get(blip.get(f"{{{_R_NS}}}embed", ""))
            if rel is None or rel.external:
                continue
            for key in (properties.get("name"), properties.get("title"), properties.get("descr")):
                if key and key in pics:
                    replaced[rel.target] = pics[key]
                    found.add(key)
                    break
    return found
