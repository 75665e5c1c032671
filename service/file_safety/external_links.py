"""Cut an uploaded Office file's links to the outside before LibreOffice opens it.

An uploaded deck can link images, media, OLE objects or hyperlinks to URLs or local files;
LibreOffice would fetch or read them while converting (PITFALLS, LibreOffice). Every
relationship with ``TargetMode="External"`` is pointed at ``about:blank`` instead of being
removed, so the parts that refer to it by id still find it and the package stays valid. The
file has already passed the upload gate (no DTD, no macros, within the limits).
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree  # type: ignore[import-untyped]

EXTERNAL_TARGET = "about:blank"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def without_external_links(package: bytes) -> bytes:
    """The package with every external relationship's target replaced; other parts as they were.

    ValueError when it is not a zip package or a relationships part is not XML.
    """
    try:
        source = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile as exc:
        raise ValueError("not a zip package") from exc
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".rels"):
                data = _cut_relationships(data, info.filename)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _cut_relationships(data: bytes, part: str) -> bytes:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{part} is not well-formed XML") from exc
    changed = False
    for relationship in root:
        if relationship.get("TargetMode", "").casefold() == "external":
            relationship.set("Target", EXTERNAL_TARGET)
            changed = True
    if not changed:
        return data
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))
