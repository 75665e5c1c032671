"""Sub-documents in docx templates: docxtpl's ``Subdoc`` and benchdocs' own ``DocxSubdoc``.

``{{p subdoc}}`` replaces its paragraph with the body of another document: its paragraphs and
tables, the styles they use (a style the template already has keeps the template's look, as
docxcompose does), its lists (each list definition copied under a new number, so the two
documents' lists never mix), its images and its links. Anything else a sub-document relates to
(charts, embedded objects, footnotes) is refused with an ``InvalidSubdocumentError``.

``DocxSubdoc`` takes the bytes of a .docx. A docxtpl ``Subdoc`` (``tpl.new_subdoc(path)``) has
already been composed into its ``DocxTemplate``'s document by docxcompose: its body refers to
that document's relationships, styles and lists, which are read from there.

Both are value converters of ``docx_values`` (registered on import); the styles, lists, media
and relationships go through the ``PartWriter`` of the part the tag stands in, so they are
written with the render's other additions. In ``{{ }}`` or ``{{r }}`` a sub-document is
refused with the tag to use.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import docxtpl
from lxml import etree  # type: ignore[import-untyped]

from service.engines.docx_media import load_image
from service.engines.docx_values import (
    NUMBERING,
    STYLES,
    PartWriter,
    TagPlace,
    register_value_converter,
)
from service.engines.opc import PARSER, RELATIONSHIP_TYPES, Package
from service.errors import InvalidSubdocumentError, TemplateError

__all__ = ["DocxSubdoc", "SubdocSource", "merge_subdoc", "subdoc_markup"]

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_W = f"{{{_W_NS}}}"
_IMAGE = RELATIONSHIP_TYPES + "image"
_HYPERLINK = RELATIONSHIP_TYPES + "hyperlink"
_STYLES_TYPE = RELATIONSHIP_TYPES + "styles"
_NUMBERING_TYPE = RELATIONSHIP_TYPES + "numbering"
# docxtpl defines Subdoc only when docxcompose (its "subdoc" extra) is installed.
_DOCXTPL_SUBDOC: type | None = getattr(docxtpl, "Subdoc", None)


@dataclass(frozen=True)
class SubdocSource:
    """A body to merge and where its references lead."""

    body: Any
    rel: Callable[[str], tuple[str, str | bytes, bool] | None]  # rid -> type, target/blob, external
    styles: Any | None
    numbering: Any | None


@dataclass
class DocxSubdoc:
    """Another .docx, given as bytes, to place with ``{{p name}}``."""

    data: bytes
    name: str = "sub-document"
    _source: SubdocSource | None = field(default=None, init=False, repr=False, compare=False)

    def source(self) -> SubdocSource:
        """The parsed document, read once."""
        if self._source is None:
            self._source = _package_source(self.data, self.name)
        return self._source


def _package_source(data: bytes, name: str) -> SubdocSource:
    if not isinstance(data, bytes | bytearray):
        raise InvalidSubdocumentError(f"{name}: a sub-document must be the bytes of a .docx file")
    try:
        package = Package(bytes(data), name=name, kind="docx")
        main = package.main_part()
        body = package.xml(main).find(f"{_W}body")
    except TemplateError as exc:
        raise InvalidSubdocumentError(str(exc)) from None
    if body is None:
        raise InvalidSubdocumentError(f"{name}: the document has no body")
    rels = {rel.rid: rel for rel in package.rels(main)}

    def rel(rid: str) -> tuple[str, str | bytes, bool] | None:
        found = rels.get(rid)
        if found is None:
            return None
        if found.external:
            return found.reltype, found.target, True
        blob = package.members.get(found.target)
        return (found.reltype, blob, False) if blob is not None else None

    def part(reltype: str) -> Any | None:
        related = package.related(main, {reltype})
        return package.xml(related[0]) if related else None

    return SubdocSource(body, rel, part(_STYLES_TYPE), part(_NUMBERING_TYPE))


def _docxtpl_source(subdoc: Any) -> SubdocSource:
    """A docxtpl Subdoc: its body, resolved against the document it was composed into."""
    body = etree.fromstring(etree.tostring(subdoc.subdocx.element.body), PARSER)
    owners = [subdoc.docx.part, subdoc.subdocx.part]

    def rel(rid: str) -> tuple[str, str | bytes, bool] | None:
        for owner in owners:
            found = owner.rels.get(rid)
            if found is None:
                continue
            if found.is_external:
                return found.reltype, found.target_ref, True
            return found.reltype, found.target_part.blob, False
        return None

    styles = etree.fromstring(etree.tostring(subdoc.docx.styles.element), PARSER)
    try:
        numbering_part = subdoc.docx.part.numbering_part
        numbering = etree.fromstring(etree.tostring(numbering_part.element), PARSER)
    except (KeyError, NotImplementedError):
        numbering = None
    return SubdocSource(body, rel, styles, numbering)


# -- placing: {{p expr}} ----------------------------------------------------------------------


def subdoc_markup(value: Any, place: TagPlace, writer: PartWriter) -> str:
    """The block XML (paragraphs, tables) of a sub-document standing for its paragraph."""
    if place is not TagPlace.PARAGRAPH:
        raise InvalidSubdocumentError(
            f"a {type(value).__name__} needs a paragraph of its own: write '{{{{p name }}}}'"
            f" instead of '{place.value}'"
        )
    source = value.source() if isinstance(value, DocxSubdoc) else _docxtpl_source(value)
    return merge_subdoc(source, writer)


# -- merging ----------------------------------------------------------------------------------


def merge_subdoc(source: SubdocSource, writer: PartWriter) -> str:
    """The body of ``source`` as XML for the writer's part; its styles, lists, media and
    relationships go through ``writer``."""
    body = copy.deepcopy(source.body)
    for section in body.findall(f"{_W}sectPr"):
        body.remove(section)
    # Section breaks inside keep their layout but not the sub-document's headers (docxcompose).
    for reference in [*body.iter(f"{_W}headerReference", f"{_W}footerReference")]:
        reference.getparent().remove(reference)
    for tag in ("footnoteReference", "endnoteReference", "commentReference"):
        if next(body.iter(f"{_W}{tag}"), None) is not None:
            raise InvalidSubdocumentError(
                f"the sub-document has {tag.removesuffix('Reference')}s, which cannot be merged"
            )
    copied_styles = _merge_styles(body, source.styles, writer)
    _merge_numbering([body, *copied_styles], source.numbering, writer)
    _relate(body, source, writer)
    for drawing in body.iter(f"{{{_WP_NS}}}docPr"):
        drawing.set("id", str(writer.new_drawing_id()))
    blocks = [etree.tostring(child, encoding="unicode") for child in body]
    if not blocks:
        blocks = [f'<w:p xmlns:w="{_W_NS}"/>']  # a cell must keep a paragraph
    return "".join(blocks)


def _style_ids(elements: Iterable[Any]) -> set[str]:
    ids: set[str] = set()
    for element in elements:
        for tag in ("pStyle", "rStyle", "tblStyle", "numStyle", "basedOn", "link", "next"):
            for found in element.iter(f"{_W}{tag}"):
                ids.add(found.get(f"{_W}val", ""))
    ids.discard("")
    return ids


def _merge_styles(body: Any, styles: Any | None, writer: PartWriter) -> list[Any]:
    """Copy the styles the body uses that the template lacks; return the copies."""
    if styles is None:
        return []
    target = writer.xml_part(STYLES)
    if target is None:
        return []
    have = {style.get(f"{_W}styleId") for style in target.iterfind(f"{_W}style")}
    by_id = {style.get(f"{_W}styleId"): style for style in styles.iterfind(f"{_W}style")}
    wanted = _style_ids([body])
    copied: list[Any] = []
    while wanted:
        style_id = wanted.pop()
        if style_id in have or style_id not in by_id:
            continue
        style = copy.deepcopy(by_id[style_id])
        target.append(style)
        copied.append(style)
        have.add(style_id)
        wanted |= _style_ids([style]) - have
    return copied


def _merge_numbering(elements: list[Any], numbering: Any | None, writer: PartWriter) -> None:
    """Copy each list the elements use under new numbers and point the elements at them."""
    used: dict[str, list[Any]] = {}
    for element in elements:
        for num_id in element.iter(f"{_W}numId"):
            value = num_id.get(f"{_W}val", "0")
            if value != "0":
                used.setdefault(value, []).append(num_id)
    if not used:
        return
    if numbering is None:
        for refs in used.values():  # a reference to no list: no list, as Word shows it
            for ref in refs:
                ref.set(f"{_W}val", "0")
        return
    target = writer.xml_part(NUMBERING)
    if target is None:
        target = writer.create_numbering()
    nums = {num.get(f"{_W}numId"): num for num in numbering.iterfind(f"{_W}num")}
    abstracts = {a.get(f"{_W}abstractNumId"): a for a in numbering.iterfind(f"{_W}abstractNum")}
    next_num = 1 + max((_int(n.get(f"{_W}numId")) for n in target.iterfind(f"{_W}num")), default=0)
    next_abstract = 1 + max(
        (_int(a.get(f"{_W}abstractNumId")) for a in target.iterfind(f"{_W}abstractNum")), default=-1
    )
    copied_abstracts: dict[str, str] = {}
    for old_id, refs in sorted(used.items()):
        num = nums.get(old_id)
        abstract_ref = None if num is None else num.find(f"{_W}abstractNumId")
        abstract_id = None if abstract_ref is None else abstract_ref.get(f"{_W}val")
        if num is None or abstract_id is None or abstract_id not in abstracts:
            for ref in refs:
                ref.set(f"{_W}val", "0")
            continue
        if abstract_id not in copied_abstracts:
            abstract = copy.deepcopy(abstracts[abstract_id])
            abstract.set(f"{_W}abstractNumId", str(next_abstract))
            for nsid in abstract.findall(f"{_W}nsid"):  # one list id per list definition
                abstract.remove(nsid)
            first_num = target.find(f"{_W}num")
            if first_num is not None:
                first_num.addprevious(abstract)
            else:
                target.append(abstract)
            copied_abstracts[abstract_id] = str(next_abstract)
            next_abstract += 1
        new_num = copy.deepcopy(num)
        new_num.set(f"{_W}numId", str(next_num))
        new_num.find(f"{_W}abstractNumId").set(f"{_W}val", copied_abstracts[abstract_id])
        target.append(new_num)
        for ref in refs:
            ref.set(f"{_W}val", str(next_num))
        next_num += 1


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _relate(body: Any, source: SubdocSource, writer: PartWriter) -> None:
    """Give every relationship the body refers to a counterpart in the writer's part."""
    mapped: dict[str, str] = {}
    for element in body.iter():
        for attribute, rid in list(element.attrib.items()):
            if not attribute.startswith(f"{{{_R_NS}}}"):
                continue
            if rid not in mapped:
                mapped[rid] = _relate_one(rid, source, writer)
            element.set(attribute, mapped[rid])


def _relate_one(rid: str, source: SubdocSource, writer: PartWriter) -> str:
    found = source.rel(rid)
    if found is None:
        raise InvalidSubdocumentError(f"the sub-document refers to a missing relationship {rid!r}")
    reltype, target, external = found
    if external:
        if reltype != _HYPERLINK:
            raise InvalidSubdocumentError(
                "the sub-document links to an external file; only web links are allowed"
            )
        return writer.add_relationship(reltype, str(target), external=True)
    if reltype == _IMAGE and isinstance(target, bytes):
        image = load_image(target)
        return writer.add_media(image.data, ext=image.ext, content_type=image.content_type)
    kind = reltype.rsplit("/", 1)[-1]
    raise InvalidSubdocumentError(
        f"the sub-document holds a part of type '{kind}', which cannot be merged;"
        " keep to text, tables, lists, images and links"
    )


register_value_converter(DocxSubdoc, subdoc_markup)
if _DOCXTPL_SUBDOC is not None:
    register_value_converter(_DOCXTPL_SUBDOC, subdoc_markup)
