"""docxtpl's ``replace_pic``, ``replace_media``, ``replace_embedded`` and ``replace_zipname``
as one pure function over a template's bytes (``replace_in_template``).

docxtpl applies them to each rendered document; here they make a new template, loaded once.
What a render itself adds to the package (media, relationships, styles) is written by
``docx_values.RenderState``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from service.engines.docx_media import load_image
from service.engines.opc import RELATIONSHIP_TYPES, Package, ZipEntry, write_zip
from service.errors import TemplateError

__all__ = ["replace_in_template"]

_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_PIC_NS = "http://schemas.openxmlformats.org/drawingml/2006/picture"
_HEADER_FOOTER = frozenset({RELATIONSHIP_TYPES + "header", RELATIONSHIP_TYPES + "footer"})


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
