"""What a context value becomes in a docx part, by the place of its tag; the seam for objects.

A value tag stands in one of these places (``TagPlace``), decided by where docxtpl's
pre-processing leaves it in the XML:

- ``{{ expr }}`` in a paragraph's text (``TEXT``): plain text; ``\\n`` a line break, ``\\t`` a
  Word tab, ``\\a`` a new paragraph and ``\\f`` a page break, as docxtpl does.
- ``{{r expr }}`` in place of its run (``RUN``): a docxtpl ``RichText`` (styles, colour, links).
- ``{{p expr }}`` in place of its paragraph (``PARAGRAPH``): a ``RichTextParagraph``.
- a tag docxtpl writes in an attribute (``{% cellbg %}``, ``ATTRIBUTE``) and the text of the
  document's properties (``PROPERTY``): plain text only.

RichText and RichTextParagraph hold WordprocessingML as a string; it is parsed and written again
from a short list of elements and attributes, so that data can never add markup of its own.
Anything else that has no meaning in its place (an object whose ``str()`` is markup or a
default ``repr``, a RichText in a plain ``{{ }}``) is refused with a ``ValueRefused`` naming the
object's type and the tag to use; the engine adds the place.

The seam for other objects: ``register_value_converter(cls, convert)``.
``convert(value, place, writer)`` returns the markup for ``place`` (for ``TEXT`` it must close
and reopen the ``w:t``/``w:r`` it stands in) and may add relationships and parts through the
``PartWriter`` of the part being rendered (``writer.add_relationship``, ``writer.add_part``,
``writer.add_media``, ``writer.xml_part`` for the styles and lists a sub-document brings).
``docx_media`` (images) and ``docx_subdoc`` (sub-documents) register through it, and
``docx_tables`` fixes table grids with ``register_part_fix``. Everything a render adds is
written by ``RenderState.members``; a render that adds nothing writes none of it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import fractions
import hashlib
import html
import posixpath
import re
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import jinja2
from lxml import etree  # type: ignore[import-untyped]
from markupsafe import Markup, escape

from service.engines.opc import PARSER, RELATIONSHIP_TYPES, rels_name, xml_bytes
from service.engines.safe_text import xml_safe

__all__ = [
    "HYPERLINK",
    "NUMBERING",
    "STYLES",
    "PackageSources",
    "PartFix",
    "PartWriter",
    "RenderState",
    "TagPlace",
    "ValueRefused",
    "build_url_id",
    "current_writer",
    "register_part_fix",
    "register_value_converter",
]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_W = f"{{{W_NS}}}"
HYPERLINK = RELATIONSHIP_TYPES + "hyperlink"
CONTENT_TYPES = "[Content_Types].xml"
STYLES = "word/styles.xml"
NUMBERING = "word/numbering.xml"
# The members besides the templated parts' relationships that a value may edit (sub-documents:
# their styles and lists); read once at load, parsed only by a render that edits them.
EDITABLE = (STYLES, NUMBERING)
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_NUMBERING_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"


class TagPlace(enum.Enum):
    """Where a value tag stands; decides what its value may be."""

    TEXT = "{{ }}"
    RUN = "{{r }}"
    PARAGRAPH = "{{p }}"
    ATTRIBUTE = "an attribute"
    PROPERTY = "a document property"


class ValueRefused(TypeError):
    """A value that has no meaning where its tag stands; the engine adds the place."""


# -- the part writer: what a value may add to the package during one render ----------------


@dataclass
class PartWriter:
    """One templated part during one render: new relationships of the part, new package parts.

    Created on first use only (``RenderState.writer``), so renders that add nothing pay nothing.
    """

    part: str
    state: RenderState
    existing_ids: frozenset[str]
    added: list[tuple[str, str, str, bool]] = field(default_factory=list)  # id, type, target, ext

    def add_relationship(self, reltype: str, target: str, *, external: bool = False) -> str:
        """A new relationship of this part; returns its id (``rId1001``...).

        ``target`` is a URL when ``external``, else a package member name (``word/media/x.png``).
        """
        for rid, kind, existing, ext in self.added:
            if (kind, existing, ext) == (reltype, target, external):
                return rid
        number = 1000 + len(self.added)
        while f"rId{number}" in self.existing_ids:
            number += 1
        rid = f"rId{number}"
        self.added.append((rid, reltype, target, external))
        return rid

    def add_part(self, name: str, data: bytes, *, content_type: str) -> None:
        """A new member of the package (``word/media/image7.png``) with its content type.

        Take ``name`` from ``new_part_name``; an existing member is replaced with
        ``replace_part`` instead.
        """
        if name in self.state.member_names or name in self.state.new_parts:
            raise ValueError(f"{name} is already in the package")
        self.state.new_parts[name] = (data, content_type)

    def new_part_name(self, folder: str, stem: str, extension: str) -> str:
        """A member name not yet used: ``word/media/benchdocs3.png``."""
        number = 1
        while True:
            name = f"{folder}/{stem}{number}.{extension}"
            if name not in self.state.member_names and name not in self.state.new_parts:
                return name
            number += 1

    def replace_part(self, name: str, data: bytes) -> None:
        """Write ``data`` in place of an existing member (a picture, an embedded file)."""
        if name not in self.state.member_names:
            raise ValueError(f"{name} is not in the package")
        self.state.replaced[name] = data

    def new_drawing_id(self) -> int:
        """A ``wp:docPr`` id unique in this render."""
        self.state.drawing_ids += 1
        return self.state.drawing_ids

    def add_media(self, data: bytes, *, ext: str, content_type: str) -> str:
        """Store ``data`` as a media member (once per render, whichever part uses it) and
        return the id of this part's relationship to it; the extension gets a default type."""
        state = self.state
        digest = hashlib.sha256(data).digest()
        member = state.media.get(digest)
        if member is None:
            folder = posixpath.join(posixpath.dirname(state.sources.main), "media")
            member = self.new_part_name(folder, "benchdocs-image", ext)
            state.media[digest] = member
            state.new_parts[member] = (data, "")
            state.defaults.setdefault(ext.lower(), content_type)
        return self.add_relationship(RELATIONSHIP_TYPES + "image", member)

    def xml_part(self, member: str) -> Any | None:
        """An editable parsed copy of ``word/styles.xml`` or ``word/numbering.xml`` for this
        render (None when the template has none); written back with the render."""
        return self.state.xml_part(member)

    def create_numbering(self) -> Any:
        """An empty ``word/numbering.xml`` for a template without one, related to the main part."""
        state = self.state
        root = etree.Element(f"{{{W_NS}}}numbering", nsmap={"w": W_NS})
        state.xml_parts[NUMBERING] = root
        state.new_parts[NUMBERING] = (b"", _NUMBERING_TYPE)  # data written from the tree
        state.writer(state.sources.main).add_relationship(
            RELATIONSHIP_TYPES + "numbering", NUMBERING
        )
        return root

    def rels_xml(self, original: bytes | None) -> bytes:
        """This part's ``.rels`` with the added relationships appended."""
        ns = "http://schemas.openxmlformats.org/package/2006/relationships"
        if original:
            root = etree.fromstring(original, PARSER)
        else:
            root = etree.Element(f"{{{ns}}}Relationships", nsmap={None: ns})
        for rid, reltype, target, external in self.added:
            attrib = {"Id": rid, "Type": reltype}
            if external:
                attrib.update(Target=target, TargetMode="External")
            else:
                attrib["Target"] = posixpath.relpath(target, posixpath.dirname(self.part) or ".")
            etree.SubElement(root, f"{{{ns}}}Relationship", attrib)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


@dataclass(frozen=True)
class PackageSources:
    """What a render may start from when a value adds to the package; made once at load."""

    main: str
    rels_sources: Mapping[str, bytes | None]  # the templated parts' .rels (None: none yet)
    member_names: frozenset[str]
    content_types: bytes
    editable: Mapping[str, bytes]  # word/styles.xml, word/numbering.xml when present


class RenderState:
    """Everything one render adds to the package besides the rendered parts.

    Made for every render, so it is kept to a few slots and its tables are filled lazily.
    """

    __slots__ = (
        "defaults",
        "drawing_ids",
        "media",
        "member_names",
        "new_parts",
        "part",
        "rels_sources",
        "replaced",
        "sources",
        "split",
        "writers",
        "xml_parts",
    )

    def __init__(self, sources: PackageSources) -> None:
        self.sources = sources
        self.rels_sources = sources.rels_sources
        self.member_names = sources.member_names
        self.replaced: dict[str, bytes] = {}
        self.part = ""
        self.split = False  # whether the part being rendered holds paragraph or page splits
        self.writers: dict[str, PartWriter] = {}
        # name -> data, content type ("" for a media member typed by its extension's default)
        self.new_parts: dict[str, tuple[bytes, str]] = {}
        self.drawing_ids = 1_000_000
        self.media: dict[bytes, str] = {}  # digest -> member, so an image is stored once
        self.defaults: dict[str, str] = {}  # extension -> content type
        self.xml_parts: dict[str, Any] = {}  # styles/numbering parsed for editing

    def xml_part(self, member: str) -> Any | None:
        """See ``PartWriter.xml_part``."""
        if member not in self.xml_parts:
            data = self.sources.editable.get(member)
            self.xml_parts[member] = None if data is None else etree.fromstring(data, PARSER)
        return self.xml_parts[member]

    def writer(self, part: str | None = None) -> PartWriter:
        """The writer of ``part`` (default: the part being rendered)."""
        part = part or self.part
        found = self.writers.get(part)
        if found is None:
            found = PartWriter(part, self, _relationship_ids(self.rels_sources.get(part)))
            self.writers[part] = found
        return found

    @property
    def changed(self) -> bool:
        """Whether anything beyond the rendered parts must be written."""
        return (
            bool(self.new_parts or self.replaced)
            or any(w.added for w in self.writers.values())
            or any(root is not None for root in self.xml_parts.values())
        )

    def members(self) -> dict[str, bytes]:
        """The members to write besides the rendered parts (``.rels``, new parts, types,
        merged styles and lists)."""
        out: dict[str, bytes] = dict(self.replaced)
        for part, writer in self.writers.items():
            if writer.added:
                out[rels_name(part)] = writer.rels_xml(self.rels_sources.get(part))
        for member, root in self.xml_parts.items():
            if root is not None:
                out[member] = xml_bytes(root)
        if self.new_parts:
            root = etree.fromstring(self.sources.content_types, PARSER)
            have = {
                (el.get("Extension") or "").lower()
                for el in root.iterchildren(f"{{{_CT_NS}}}Default")
            }
            first_override = next(root.iterchildren(f"{{{_CT_NS}}}Override"), None)
            for ext, content_type in sorted(self.defaults.items()):
                if ext not in have:
                    default = root.makeelement(
                        f"{{{_CT_NS}}}Default", {"Extension": ext, "ContentType": content_type}
                    )
                    if first_override is not None:
                        first_override.addprevious(default)
                    else:
                        root.append(default)
            for name, (data, content_type) in self.new_parts.items():
                out.setdefault(name, data)
                if content_type:
                    etree.SubElement(
                        root, f"{{{_CT_NS}}}Override", PartName="/" + name, ContentType=content_type
                    )
            out[CONTENT_TYPES] = xml_bytes(root)
        return out


def _relationship_ids(data: bytes | None) -> frozenset[str]:
    if not data:
        return frozenset()
    return frozenset(str(el.get("Id")) for el in etree.fromstring(data, PARSER))


CURRENT: ContextVar[RenderState | None] = ContextVar("benchdocs_docx_render", default=None)


def current_writer() -> PartWriter:
    """The writer of the part being rendered (only valid while a docx template renders)."""
    state = CURRENT.get()
    if state is None:
        raise RuntimeError("no docx render in progress")
    return state.writer()


# -- hyperlinks -----------------------------------------------------------------------------

_URL_PREFIX = "benchdocs-url-"
_URL_SCHEMES = ("http://", "https://", "mailto:")


def build_url_id(url: str) -> str:
    """An ``url_id`` for ``RichText(..., url_id=...)``: docxtpl's ``tpl.build_url_id(url)``.

    It only encodes the URL; the engine adds the hyperlink relationship to the part the text
    lands in when it renders. Only http, https and mailto links are taken.
    """
    if not url.lower().startswith(_URL_SCHEMES):
        raise ValueError(f"a link must start with http://, https:// or mailto: ({url!r})")
    return _URL_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii")


def _url_of(url_id: str) -> str:
    if not url_id.startswith(_URL_PREFIX):
        raise ValueRefused(
            f"a RichText link has url_id {url_id!r}, which only docxtpl's own template knows;"
            " build it with benchdocs' build_url_id(url) (DocxTemplate.build_url_id)"
        )
    try:
        url = base64.urlsafe_b64decode(url_id[len(_URL_PREFIX) :]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueRefused(f"a RichText link has a broken url_id {url_id!r}") from exc
    if not url.lower().startswith(_URL_SCHEMES):
        raise ValueRefused(f"a link must start with http://, https:// or mailto: ({url!r})")
    return url


# -- the seam for other objects ---------------------------------------------------------------

Converter = Callable[[Any, TagPlace, PartWriter], str]
_CONVERTERS: dict[type, Converter] = {}


def register_value_converter(cls: type, convert: Converter) -> None:
    """Let objects of ``cls`` (and subclasses) stand in value tags: ``convert`` gives markup.

    The markup is written as is, so ``convert`` must escape any text it takes from the value;
    it raises ``ValueRefused`` for places the object has no meaning in.
    """
    _CONVERTERS[cls] = convert


@dataclass(frozen=True)
class PartFix:
    """A change to a rendered part (a table's column grid after ``{%tc for %}``, say).

    ``needed`` is asked once per part at load, with the part's Jinja source; ``apply`` then
    runs on every render of the parts that need it, with the rendered XML (declaration
    included) and the part's writer, and returns the XML to write.
    """

    name: str
    needed: Callable[[str], bool]
    apply: Callable[[str, PartWriter], str]


_PART_FIXES: list[PartFix] = []


def register_part_fix(fix: PartFix) -> None:
    """Add ``fix`` for the templates loaded from now on (register at import time)."""
    _PART_FIXES[:] = [f for f in _PART_FIXES if f.name != fix.name] + [fix]


def part_fixes(source: str) -> tuple[PartFix, ...]:
    """The registered fixes a part with this Jinja source needs."""
    return tuple(fix for fix in _PART_FIXES if fix.needed(source))


def _converter(value: Any) -> Converter | None:
    for cls in type(value).__mro__:
        found = _CONVERTERS.get(cls)
        if found is not None:
            return found
    return None


# -- text -------------------------------------------------------------------------------------

_BREAKS = {
    "\n": '</w:t><w:br/><w:t xml:space="preserve">',
    "\r\n": '</w:t><w:br/><w:t xml:space="preserve">',
    "\r": '</w:t><w:br/><w:t xml:space="preserve">',
    "\x0b": '</w:t><w:br/><w:t xml:space="preserve">',
    "\t": '</w:t><w:tab/><w:t xml:space="preserve">',
    # New paragraph and page break: the paragraph is split after rendering (split_paragraphs).
    "\x07": '</w:t><?benchdocs-split paragraph?><w:t xml:space="preserve">',
    "\x0c": '</w:t><?benchdocs-split page?><w:t xml:space="preserve">',
}
_SPECIAL = re.compile(
    "\r\n|[\n\r\t\x07\x0b\x0c]|[^\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# Everything that needs more than autoescape: controls, tabs, newlines and non-XML characters.
NEEDS_CLEANING = re.compile("[^\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SPLIT_MARK = "<?benchdocs-split "


def text_markup(text: str) -> Markup:
    """``text`` escaped, with docxtpl's ``\\n \\t \\a \\f`` as Word markup, inside a ``w:t``."""
    escaped = str(text if isinstance(text, Markup) else escape(text))
    return Markup(_SPECIAL.sub(_special, escaped))  # noqa: S704


def _special(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SPLITS:  # the part is split after rendering: tell the render
        state = CURRENT.get()
        if state is not None:
            state.split = True
    return _BREAKS.get(char, "")


_SPLITS = frozenset({"\x07", "\x0c"})


_PLAIN_TYPES = (
    str,
    int,
    float,
    bool,
    decimal.Decimal,
    fractions.Fraction,
    dt.date,
    dt.datetime,
    dt.time,
    dt.timedelta,
    uuid.UUID,
)
_DIGITS_AND_DATES = frozenset(
    {int, float, bool, decimal.Decimal, dt.date, dt.datetime, dt.time, uuid.UUID}
)
# What str() of an unknown object must not look like: a tag (`<w:r>`, `<Foo object at ...>`).
_LOOKS_LIKE_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z_][\w.-]*(?::[\w.-]+)?(?:[\s/>]|$)")

_INSTEAD = {
    "RichText": "write '{{r expr }}' alone in its run (a tag of its own in the paragraph)",
    "RichTextParagraph": "write '{{p expr }}' alone in a paragraph of its own",
}


def _type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _refuse(value: Any, place: TagPlace, instead: str | None = None) -> ValueRefused:
    name = type(value).__name__
    hint = instead or _INSTEAD.get(name) or "pass text, a number or a date"
    return ValueRefused(f"a {_type_name(value)} has no meaning in {place.value}; {hint}")


def plain_text_of(value: Any, place: TagPlace) -> str:
    """The text of a value that is neither a docxtpl object nor a registered one.

    Refuses objects whose ``str()`` would print markup or a default ``repr``.
    """
    if isinstance(value, _PLAIN_TYPES):
        return str(value)
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises; the lenient one prints nothing
    cls = type(value)
    if hasattr(value, "__html__") or cls.__module__.split(".")[0] in ("docxtpl", "docx"):
        raise _refuse(value, place)
    if _converter(value) is not None:  # an image or a sub-document where only text fits
        raise _refuse(value, place, "pass text")
    default: Any = object.__str__, object.__repr__
    if (cls.__str__, cls.__repr__) == default:
        raise _refuse(value, place, "pass text (its str() is only the object's type)")
    text = str(value)
    if _LOOKS_LIKE_MARKUP.search(text):
        raise _refuse(value, place, "pass text: its str() looks like markup")
    return text


def _listing_text(value: Any) -> str:
    # docxtpl's Listing holds its text escaped once; take the text back and escape it once.
    return html.unescape(str(value.xml))


def _docxtpl_kind(value: Any) -> str | None:
    cls = type(value)
    if cls.__module__.startswith("docxtpl"):
        return cls.__name__
    return None


def text_value(value: Any) -> Any:
    """A value in a paragraph's text (``{{ }}``): Jinja's ``finalize`` for docx parts."""
    if type(value) is str:
        return value if NEEDS_CLEANING.search(value) is None else text_markup(value)
    if value is None:
        return ""
    cls = type(value)
    if cls in _DIGITS_AND_DATES:  # their text needs no cleaning
        return str(value)
    if cls is Placed:
        return value
    if isinstance(value, Markup):  # constant expressions arrive already escaped
        return text_markup(value) if NEEDS_CLEANING.search(value) else value
    kind = _docxtpl_kind(value)
    if kind == "Listing":
        return text_markup(_listing_text(value))
    converter = _converter(value)
    if converter is not None:
        return Placed(converter(value, TagPlace.TEXT, current_writer()))
    text = plain_text_of(value, TagPlace.TEXT)
    return text if NEEDS_CLEANING.search(text) is None else text_markup(text)


class Placed(Markup):
    """Markup the engine made for a value's place; written as is."""

    __slots__ = ()


def run_value(value: Any) -> Placed:
    """A value standing in place of its run (``{{r }}``)."""
    if value is None:
        return Placed("")
    kind = _docxtpl_kind(value)
    if kind == "RichText":
        return Placed(_rich_runs(str(value.xml)))
    if kind == "Listing":
        return Placed(_plain_run(_listing_text(value)))
    converter = _converter(value)
    if converter is not None:
        return Placed(converter(value, TagPlace.RUN, current_writer()))
    return Placed(_plain_run(plain_text_of(value, TagPlace.RUN)))


def paragraph_value(value: Any) -> Placed:
    """A value standing in place of its paragraph (``{{p }}``)."""
    if value is None:
        return Placed("")
    kind = _docxtpl_kind(value)
    if kind == "RichTextParagraph":
        return Placed(_rich_paragraphs(str(value.xml)))
    if kind == "RichText":
        raise _refuse(
            value,
            TagPlace.PARAGRAPH,
            "write '{{r expr }}' in a paragraph's text, or pass RichTextParagraph(rich_text)",
        )
    if kind == "Listing":
        return Placed(f"<w:p>{_plain_run(_listing_text(value))}</w:p>")
    converter = _converter(value)
    if converter is not None:
        return Placed(converter(value, TagPlace.PARAGRAPH, current_writer()))
    return Placed(f"<w:p>{_plain_run(plain_text_of(value, TagPlace.PARAGRAPH))}</w:p>")


def attribute_value(value: Any) -> Placed:
    """A value docxtpl writes into an attribute (cell shading, column span): text only."""
    if value is None:
        return Placed("")
    text = plain_text_of(value, TagPlace.ATTRIBUTE) if _docxtpl_kind(value) is None else None
    if text is None:
        raise _refuse(value, TagPlace.ATTRIBUTE, "pass text such as 'FFF2CC'")
    return Placed(escape(xml_safe(text).replace("\n", " ")))


def property_value(value: Any) -> Any:
    """A value in the document's properties (title, subject): text, escaped by autoescape."""
    if type(value) is str:
        return xml_safe(value)
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    kind = _docxtpl_kind(value)
    if kind == "Listing":
        return xml_safe(_listing_text(value))
    if kind is not None:
        raise _refuse(value, TagPlace.PROPERTY, "properties hold plain text: pass a string")
    return xml_safe(plain_text_of(value, TagPlace.PROPERTY))


def _plain_run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text_markup(xml_safe(text))}</w:t></w:r>'


# -- RichText markup, read and written again -------------------------------------------------

_FRAGMENT = f'<benchdocs xmlns:w="{W_NS}" xmlns:r="{R_NS}">{{}}</benchdocs>'
# RichText's run properties, as docxtpl writes them, and the attributes each may hold.
_RUN_PROPERTIES = frozenset(
    {
        "rStyle",
        "color",
        "shd",
        "sz",
        "szCs",
        "vertAlign",
        "b",
        "bCs",
        "i",
        "iCs",
        "u",
        "strike",
        "dstrike",
        "rFonts",
        "rtl",
        "lang",
        "highlight",
        "caps",
        "smallCaps",
    }
)
_ATTRIBUTES = frozenset(
    {"val", "fill", "color", "ascii", "hAnsi", "cs", "eastAsia", "bidi", "hint"}
)


# Characters docxtpl gives a meaning (\a, \f, \v) that XML cannot hold: kept through parsing
# as a private-use mark and a letter; a mark already in the text is kept the same way.
_MARK = "\ue000"
_PROTECTED = {"\x07": "a", "\x0c": "f", "\x0b": "v", _MARK: "m"}
_RESTORED = {letter: char for char, letter in _PROTECTED.items()}
_TO_PROTECT = re.compile("[\x07\x0b\x0c\ue000]")
_UNPROTECT = re.compile(f"{_MARK}(.)")


def _protect(xml: str) -> str:
    if _TO_PROTECT.search(xml) is None:
        return xml
    return _TO_PROTECT.sub(lambda m: _MARK + _PROTECTED[m.group()], xml)


def _unprotect(text: str) -> str:
    if _MARK not in text:
        return text
    return _UNPROTECT.sub(lambda m: _RESTORED.get(m.group(1), ""), text)


def _fragment(xml: str, what: str) -> Any:
    try:
        return etree.fromstring(_FRAGMENT.format(xml_safe(_protect(xml))), PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueRefused(f"a {what} holds broken markup ({exc})") from exc


def _rich_runs(xml: str) -> str:
    return "".join(_rich_child(child) for child in _fragment(xml, "RichText"))


def _rich_child(element: Any) -> str:
    tag = element.tag
    if tag == f"{_W}r":
        return _rich_run(element)
    if tag == f"{_W}hyperlink":
        url_id = element.get(f"{{{R_NS}}}id") or ""
        rid = current_writer().add_relationship(HYPERLINK, _url_of(url_id), external=True)
        runs = "".join(_rich_run(run) for run in element if run.tag == f"{_W}r")
        return (
            f'<w:hyperlink xmlns:r="{R_NS}" r:id="{rid}" w:tgtFrame="_blank">{runs}</w:hyperlink>'
        )
    raise ValueRefused(f"a RichText holds <{etree.QName(tag).localname}>, which is not text")


def _rich_run(run: Any) -> str:
    parts = ["<w:r>"]
    for child in run:
        local = etree.QName(child).localname
        if child.tag == f"{_W}rPr":
            parts.append("<w:rPr>")
            for prop in child:
                name = etree.QName(prop).localname
                if prop.tag != f"{_W}{name}" or name not in _RUN_PROPERTIES:
                    raise ValueRefused(f"a RichText's run properties hold <{name}>")
                attrs = "".join(
                    f' w:{etree.QName(k).localname}="{escape(v)}"'
                    for k, v in prop.attrib.items()
                    if k.startswith(_W) and etree.QName(k).localname in _ATTRIBUTES
                )
                parts.append(f"<w:{name}{attrs}/>")
            parts.append("</w:rPr>")
        elif child.tag == f"{_W}t":
            parts.append(
                f'<w:t xml:space="preserve">{text_markup(_unprotect(child.text or ""))}</w:t>'
            )
        elif child.tag in (f"{_W}br", f"{_W}tab"):
            parts.append(f"<w:{local}/>")
        else:
            raise ValueRefused(f"a RichText's run holds <{local}>, which is not text")
    parts.append("</w:r>")
    return "".join(parts)


def _rich_paragraphs(xml: str) -> str:
    out: list[str] = []
    for paragraph in _fragment(xml, "RichTextParagraph"):
        if paragraph.tag != f"{_W}p":
            local = etree.QName(paragraph).localname
            raise ValueRefused(f"a RichTextParagraph holds <{local}> outside a paragraph")
        out.append("<w:p>")
        for child in paragraph:
            if child.tag == f"{_W}pPr":
                style = child.find(f"{_W}pStyle")
                if style is not None and style.get(f"{_W}val"):
                    out.append(
                        f'<w:pPr><w:pStyle w:val="{escape(style.get(f"{_W}val"))}"/></w:pPr>'
                    )
            else:
                out.append(_rich_child(child))
        out.append("</w:p>")
    return "".join(out)


# -- splitting paragraphs at \a and \f ---------------------------------------------------------

_W_P, _W_PPR, _W_RPR = f"{_W}p", f"{_W}pPr", f"{_W}rPr"


def split_paragraphs(xml: str) -> str:
    """Split the paragraphs of a rendered part where a value held ``\\a`` or ``\\f``.

    The new paragraph keeps the paragraph's and the run's properties, as docxtpl does; a page
    break goes in a paragraph of its own between the two.
    """
    declaration, _, body = xml.partition("?>")
    root = etree.fromstring(body.encode("utf-8"), PARSER)
    for pi in list(root.iter(etree.PI)):
        if pi.target == "benchdocs-split":
            _split_at(pi, page=(pi.text or "").strip() == "page")
    return declaration + "?>" + str(etree.tostring(root, encoding="unicode"))


def _split_at(pi: Any, *, page: bool) -> None:
    node, moved = pi, None
    while True:
        parent = node.getparent()
        if parent is None:  # not in a paragraph: nothing to split
            return
        clone = parent.makeelement(parent.tag, dict(parent.attrib))
        for child in parent:
            if child.tag in (_W_PPR, _W_RPR):
                clone.append(deepcopy(child))
                break
        if moved is not None:
            clone.append(moved)
        for sibling in list(node.itersiblings()):
            clone.append(sibling)
        if node is pi:
            parent.remove(pi)
        if parent.tag == _W_P:
            after = parent
            if page:
                breaker = etree.SubElement(
                    etree.SubElement(parent.makeelement(_W_P, {}), f"{_W}r"), f"{_W}br"
                )
                breaker.set(f"{_W}type", "page")
                paragraph = breaker.getparent().getparent()
                after.addnext(paragraph)
                after = paragraph
            after.addnext(clone)
            return
        moved, node = clone, parent
