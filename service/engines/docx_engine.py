"""A pure docx template engine: docxtpl's template language in a sandboxed Jinja, parts alone.

Template conventions (all evaluated in a sandboxed, strict, autoescaping Jinja environment):

- ``{{ expr }}``, ``{% if %}`` and ``{% for %}`` work in the text of the main document, its
  headers, footers, footnotes, endnotes and comments, and in the document's properties
  (``docProps/core.xml``, ``app.xml``, ``custom.xml``). A tag may be split over several runs
  (as Word saves it); docxtpl's pre-processing merges it and also replaces smart quotes inside
  tags by plain ones.
- ``{{r expr }}`` alone in its run takes a docxtpl ``RichText``; ``{{p expr }}`` alone in its
  paragraph a ``RichTextParagraph`` (see ``docx_values`` for what each place accepts). Links:
  ``DocxTemplate.build_url_id(url)``, docxtpl's ``tpl.build_url_id``.
- Images (docxtpl's ``InlineImage``, ``docx_media.DocxImage``) in ``{{ }}``, ``{{r }}`` or
  ``{{p }}``, in the body, tables, headers and footers; sub-documents (docxtpl's ``Subdoc``,
  ``docx_subdoc.DocxSubdoc``) in ``{{p }}``, with their styles, lists, images and links.
  Unusable data is an ``InvalidImageError`` / ``InvalidSubdocumentError`` naming the place.
- ``{%p ... %}``, ``{%tr ... %}``, ``{%tc ... %}`` and ``{%r ... %}`` stand for their whole
  paragraph, table row, table cell or run: ``{%tr for x in items %}`` in a row of its own
  and ``{%tr endfor %}`` in another repeat the rows between them, and both marker rows vanish.
  ``{%tr else %}`` (Jinja's for-else) gives a row for an empty list; ``{%p if x %}`` keeps the
  paragraphs up to ``{%p endif %}`` only when ``x`` holds.
- ``{% cellbg expr %}`` sets a cell's shading (a hex colour such as ``FFF2CC``); ``{% vm %}``,
  ``{% hm %}`` and ``{% colspan expr %}`` merge cells. After ``{%tc for %}``, ``hm`` or
  ``colspan`` a table's column grid follows its widest row (``docx_tables``), as docxtpl's
  ``fix_tables`` does, so LibreOffice draws the added columns.
- ``{_{``, ``}_}``, ``{_%`` and ``%_}`` in the template's text print ``{{``, ``}}``, ``{%``, ``%}``.
- A block whose body spans paragraphs, rows or cells must use ``{%p``, ``{%tr`` or ``{%tc``
  (a plain ``{% if %}`` from one cell's text to the next could leave XML Word cannot open),
  and a value tag must stand in text, alone in a run or alone in a paragraph; templates
  breaking either rule are refused at load, saying what to write instead.
- Values appear exactly as typed: ``& < > "`` are escaped, ``{{ }}`` and ``{% %}`` in data are
  never read as tags, characters XML 1.0 forbids are removed; as in docxtpl, a newline becomes
  a line break, a tab a Word tab, ``\\a`` a new paragraph and ``\\f`` a page break. docxtpl's
  ``Listing`` is escaped once. None prints as nothing. ``|safe`` is not available. A value with
  no meaning where it stands (a RichText in a plain ``{{ }}``, an object whose text is markup)
  is a RenderError naming the place, the type and the tag to use.
- Filters: Jinja's own (``|safe`` removed) and those the caller passes to ``from_bytes``; a
  template using another is refused at load. ``undefined="empty"`` prints nothing for an
  undefined variable, as docxtpl does; by default it is an error.
- docxtpl's ``replace_pic``, ``replace_media``, ``replace_embedded`` and ``replace_zipname``:
  ``docx_package_edits.replace_in_template`` makes a new template from the old one's bytes.

Each templated part is pre-processed and compiled once, in ``from_bytes``. ``render`` only runs
the compiled templates and appends the rendered parts to a zip whose other members were
compressed once at load and are copied as raw bytes; member times are fixed, so the same
context always gives the same bytes. Values that add to the package (links, images,
sub-documents) do so through one ``docx_values.PartWriter`` per part; only such a render
writes the members they change (``.rels``, ``[Content_Types].xml``, styles, lists) anew.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Literal, NoReturn

import docxtpl
import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree  # type: ignore[import-untyped]
from markupsafe import Markup

# docx_media, docx_subdoc and docx_tables register images, sub-documents and the table-grid
# fix with docx_values on import.
from service.engines import docx_media, docx_subdoc, docx_tables  # noqa: F401
from service.engines.docx_values import (
    CURRENT,
    EDITABLE,
    PackageSources,
    PartFix,
    RenderState,
    attribute_value,
    build_url_id,
    paragraph_value,
    part_fixes,
    property_value,
    run_value,
    split_paragraphs,
    text_value,
)
from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import EVALUATION_ERRORS, NO_FILTERS, Filters, make_environment
from service.engines.opc import (
    RELATIONSHIP_TYPES,
    Package,
    ZipEntry,
    ZipPrefix,
    rels_name,
    write_zip,
)
from service.errors import (
    InvalidImageError,
    InvalidSubdocumentError,
    RenderError,
    TemplateError,
)

__all__ = ["DocxTemplate", "Undefined", "build_url_id", "docx_spots"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_P, _W_TR, _W_TC, _W_TBL, _W_T = (f"{_W}{tag}" for tag in ("p", "tr", "tc", "tbl", "t"))
_W_BR, _W_TAB = f"{_W}br", f"{_W}tab"
_HEADER_FOOTER = frozenset({RELATIONSHIP_TYPES + "header", RELATIONSHIP_TYPES + "footer"})
# Parts templated only when they hold a brace: most documents' notes and comments hold none.
_NOTES = frozenset(RELATIONSHIP_TYPES + kind for kind in ("footnotes", "endnotes", "comments"))
_PROPERTIES = frozenset(
    {
        "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
        RELATIONSHIP_TYPES + "extended-properties",
        RELATIONSHIP_TYPES + "custom-properties",
    }
)
# What an undefined variable does: an error (benchdocs' kinds), or nothing (as docxtpl).
Undefined = Literal["error", "empty"]
# The filters the engine wraps a value tag in, by its place; reserved in templates.
_RUN_FILTER, _PARAGRAPH_FILTER, _ATTRIBUTE_FILTER = "__bd_run", "__bd_paragraph", "__bd_attribute"
_RESERVED = "__bd_"
# A cell left without a paragraph (its only one was a '{{p}}' that printed nothing): Word
# refuses such a file, so the render gives it an empty paragraph.
_EMPTY_CELL = re.compile(
    r"(<w:tc(?:\s[^>]*)?>(?:<w:tcPr(?:\s[^>]*)?/>|<w:tcPr(?:\s[^>]*)?>(?:(?!</w:tcPr>).)*"
    r"</w:tcPr>)?)</w:tc>",
    re.S,
)
# docxtpl's escapes for literal tag delimiters in a template's text.
_ESCAPES = {"{_{": "{{ '{{' }}", "}_}": "{{ '}}' }}", "{_%": "{{ '{%' }}", "%_}": "{{ '%}' }}"}
_ESCAPE = re.compile(r"\{_\{|\}_\}|\{_%|%_\}")

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Where each paragraph, row and cell begins, as a Jinja comment holding a newline: Jinja
# removes it from the output, but it starts a new template line, so a line number names a
# location. The blanks keep docxtpl's run-merging patterns from joining it with a brace of
# the neighbouring text; the dashes strip them again at compile time.
_MARKER = " {{#-\n@{}-#}} "
_MARKER_AT_LINE_START = re.compile(r"@(\d+)-#\}")

_LOOP_TAG = re.compile(
    r"\{%-?\s*(?:(?:tr|tc|p|r)\s+)?(?:for\s+(?P<names>\w+(?:\s*,\s*\w+)*)\s+in\s+"
    r"(?P<items>.+?)|(?P<end>endfor))\s*-?%\}",
    re.S,
)
_NEXT_TOKEN = re.compile(r"<\?|<!--|<|\{\{|\{%|\{#")
# An XML tag; Jinja tags inside it (docxtpl puts some in attributes) may hold '>'.
_XML_TAG = re.compile(
    r"<(?P<closing>/?)(?P<name>[^\s/>{]+)(?:[^>{/]|/(?!>)|\{(?![{%#])|\{\{.*?\}\}|\{%.*?%\}"
    r"|\{#.*?#\})*(?P<empty>/?)>",
    re.S,
)
_JINJA_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_XML_SKIPPED = {"<?": "?>", "<!--": "-->"}
_STATEMENT = re.compile(r"\{%[-+]?\s*(\w*)(.*?)[-+]?%\}", re.S)
_BLOCKS = frozenset(
    {"if", "for", "macro", "call", "filter", "with", "set", "block", "raw", "autoescape"}
)
# Blocks whose body is captured and printed elsewhere: XML in them could land anywhere.
_CAPTURING_BLOCKS = frozenset({"macro", "call", "filter", "set"})


# docxtpl's XML patching does not use its instance; one instance serves every template.
_PATCHER = docxtpl.DocxTemplate(BytesIO())


@dataclass(frozen=True)
class _Part:
    """One templated part: its compiled template and the location of each template line."""

    name: str
    template: jinja2.Template
    line_labels: tuple[str, ...]
    fixes: tuple[PartFix, ...] = ()
    paragraph_tags: bool = False  # {{p}} tags: a cell may lose its only paragraph

    def label(self, lineno: int | None) -> str:
        """``word/document.xml, table 2 row 3`` for a line of the part's template."""
        return _label(self.name, self.line_labels, lineno)


def _label(part_name: str, line_labels: Sequence[str], lineno: int | None) -> str:
    if lineno is None or not line_labels:
        return part_name
    label = line_labels[min(max(lineno, 1), len(line_labels)) - 1]
    return f"{part_name}, {label}" if label else part_name


@dataclass(frozen=True)
class _Located:
    """A paragraph, row or cell of a part, with its location label."""

    element: Any
    label: str


class DocxTemplate:
    """A parsed docx template: parse once per process, render many times."""

    def __init__(
        self,
        *,
        name: str,
        parts: Sequence[_Part],
        kept: Sequence[ZipEntry],
        variables: frozenset[str],
        sources: PackageSources,
    ) -> None:
        self._name = name
        self._parts = tuple(parts)
        self._kept_entries = tuple(kept)
        self._kept = ZipPrefix.of(kept)
        self._variables = variables
        self._sources = sources

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        name: str,
        filters: Filters = NO_FILTERS,
        undefined: Undefined = "error",
    ) -> DocxTemplate:
        """Parse ``data`` (a .docx file) and compile every templated part; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own (the template-scoped filters
        a docxtpl user passes in a ``jinja_env``); they run in the sandbox and what they return
        is escaped like any value. A template using a filter that is neither is refused here.
        ``undefined="empty"`` prints nothing for an undefined variable, as docxtpl does; the
        default makes it a RenderError naming the place.
        """
        package = Package(data, name=name, kind="docx")
        strict = undefined == "error"
        own = {name: _escaped_filter(f) for name, f in filters.items()}
        environment = make_environment(
            filters=own, finalize=text_value, autoescape=True, strict=strict
        )
        environment.filters.update(
            {
                _RUN_FILTER: run_value,
                _PARAGRAPH_FILTER: paragraph_value,
                _ATTRIBUTE_FILTER: attribute_value,
            }
        )
        properties = make_environment(
            filters=own, finalize=property_value, autoescape=True, strict=strict
        )
        parts: list[_Part] = []
        variables: set[str] = set()
        for part_name, is_properties in _templated_parts(package):
            root = package.xml(part_name)
            if is_properties:
                jinja_source, labels = _property_source(root)
                env = properties
            else:
                jinja_source, labels = _jinja_source(root, _locate(root))
                env = environment
            parts.append(
                _compile(env, name, part_name, jinja_source, labels, variables, is_properties)
            )
        # The other members are compressed once, here; a render appends the rendered parts.
        templated = {part.name for part in parts}
        kept = [
            ZipEntry.of(member, package.members[member], method=package.methods[member])
            for member in package.order
            if member not in templated and member not in package.directories
        ]
        sources = PackageSources(
            main=package.main_part(),
            rels_sources={p: package.members.get(rels_name(p)) for p in templated},
            member_names=frozenset(e.name.decode("utf-8") for e in kept) | templated,
            content_types=package.members.get("[Content_Types].xml", b""),
            editable={m: package.members[m] for m in EDITABLE if m in package.members},
        )
        return cls(
            name=name, parts=parts, kept=kept, variables=frozenset(variables), sources=sources
        )

    @staticmethod
    def build_url_id(url: str) -> str:
        """docxtpl's ``tpl.build_url_id(url)``: a link for ``RichText(..., url_id=...)``."""
        return build_url_id(url)

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        return self._name

    @property
    def variables(self) -> frozenset[str]:
        """Names the template reads from the context (Jinja's undeclared variables)."""
        return self._variables

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Fill the template with ``context``; return the .docx bytes."""
        state = RenderState(self._sources)
        token = CURRENT.set(state)
        try:
            rendered = [
                ZipEntry.of(part.name, self._render_part(part, context, state).encode("utf-8"))
                for part in self._parts
            ]
        finally:
            CURRENT.reset(token)
        if not state.changed:
            return write_zip(rendered, prefix=self._kept)
        # Rare: values added relationships or parts; the members they change are written anew.
        added = state.members()
        kept = [e for e in self._kept_entries if e.name.decode("utf-8") not in added]
        rendered = [e for e in rendered if e.name.decode("utf-8") not in added]
        new = [ZipEntry.of(member, data) for member, data in added.items()]
        return write_zip([*kept, *rendered, *new])

    def _render_part(self, part: _Part, context: Mapping[str, Any], state: RenderState) -> str:
        state.part, state.split = part.name, False
        try:
            xml = part.template.render(context)
        except (InvalidImageError, InvalidSubdocumentError) as exc:  # their type, with the place
            raise type(exc)(self._error(part, exc, str(exc)).args[0]) from exc
        except jinja2.UndefinedError as exc:
            raise self._error(part, exc, f"undefined variable: {exc.message}") from exc
        except EVALUATION_ERRORS as exc:
            raise self._error(part, exc, str(exc)) from exc
        if state.split:
            xml = split_paragraphs(xml)
        if part.paragraph_tags and "></w:tc>" in xml:
            xml = _EMPTY_CELL.sub(r"\1<w:p/></w:tc>", xml)
        for fix in part.fixes:
            xml = fix.apply(xml, state.writer())
        return xml

    def _error(self, part: _Part, exc: BaseException, message: str) -> RenderError:
        lines = [
            f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"
        ]
        where = part.label(lines[-1] if lines else None)
        return RenderError(f"{self._name}: {where}: {message}")

    @staticmethod
    def spots(data: bytes, *, name: str) -> list[TemplateSpot]:
        """Every paragraph holding template text, uncompiled, for the template checker."""
        return docx_spots(data, name=name)


def docx_spots(data: bytes, *, name: str) -> list[TemplateSpot]:
    """The template text of every paragraph holding a tag, with the loops enclosing it.

    Locations read like ``word/document.xml, paragraph 12`` or ``word/header1.xml, table 1
    row 2, cell 1``; tag syntax is not checked. Raises TemplateError only for a file that is
    not a readable docx.
    """
    package = Package(data, name=name, kind="docx")
    spots: list[TemplateSpot] = []
    for part_name, is_properties in _templated_parts(package):
        if is_properties:
            for child in package.xml(part_name):
                text = child.text or "" if isinstance(child.tag, str) else ""
                if "{" in text:
                    where = f"{part_name}, {etree.QName(child).localname}"
                    spots.append(TemplateSpot(where, text, {}))
            continue
        loops: list[dict[str, str]] = []  # one entry per open loop, innermost last
        for spot in _locate(package.xml(part_name)):
            if spot.element.tag != _W_P:
                continue
            text = _paragraph_text(spot.element)
            if "{" not in text:
                continue
            in_scope = {var: items for loop in loops for var, items in loop.items()}
            spots.append(TemplateSpot(f"{part_name}, {spot.label}", text, in_scope))
            for match in _LOOP_TAG.finditer(text):
                if match.group("end"):
                    if loops:
                        loops.pop()
                    continue
                items = " ".join(match.group("items").split())
                loops.append({var.strip(): items for var in match.group("names").split(",")})
    return spots


# -- reading the package --------------------------------------------------------------------


def _templated_parts(package: Package) -> list[tuple[str, bool]]:
    """The parts holding template text, each with whether it is a document-properties part.

    The main document part, its headers and footers; its footnotes, endnotes and comments and
    the document's properties (title, subject, company, custom ones) when they hold a brace.
    """
    main = package.main_part()
    parts = [(main, False), *((p, False) for p in sorted(package.related(main, _HEADER_FOOTER)))]
    parts += [(p, False) for p in package.related(main, _NOTES) if b"{" in package.members[p]]
    parts += [(p, True) for p in package.related("", _PROPERTIES) if b"{" in package.members[p]]
    return parts


def _escaped_filter(function: Any) -> Any:
    """A caller's filter whose Markup result is escaped like text: data never writes markup."""

    @functools.wraps(function)
    def filtered(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        return str(result) if isinstance(result, Markup) else result

    return filtered


# -- pre-processing -------------------------------------------------------------------------


def _locate(root: Any) -> list[_Located]:
    """Every paragraph, table row and table cell of a part in document order, with its label.

    Paragraphs outside tables are numbered through the part (``paragraph 12``); rows and cells
    are named by their table, numbered in document order (``table 2 row 3, cell 1``), and a
    paragraph in a cell takes the cell's name.
    """
    located: list[_Located] = []
    labels: dict[Any, str] = {}
    rows_seen: dict[Any, int] = {}
    cells_seen: dict[Any, int] = {}
    tables = paragraphs = 0
    for element in root.iter(_W_P, _W_TR, _W_TC, _W_TBL):
        if element.tag == _W_TBL:
            tables += 1
            labels[element] = f"table {tables}"
            continue
        parent = element.getparent()
        if element.tag == _W_TR:
            rows_seen[parent] = rows_seen.get(parent, 0) + 1
            label = f"{labels.get(parent, 'table')} row {rows_seen[parent]}"
        elif element.tag == _W_TC:
            row = _ancestor(element, _W_TR)
            cells_seen[row] = cells_seen.get(row, 0) + 1
            label = f"{labels.get(row, 'row')}, cell {cells_seen[row]}"
        else:
            cell = _ancestor(element, _W_TC)
            if cell is None:
                paragraphs += 1
                label = f"paragraph {paragraphs}"
            else:
                label = labels.get(cell, "cell")
        labels[element] = label
        located.append(_Located(element, label))
    return located


def _ancestor(element: Any, tag: str) -> Any:
    for ancestor in element.iterancestors(tag):
        return ancestor
    return None


def _paragraph_text(p: Any) -> str:
    """The text of a paragraph across its runs (not of paragraphs nested in text boxes)."""
    parts: list[str] = []

    def walk(element: Any) -> None:
        for child in element:
            tag = child.tag
            if tag == _W_P:
                continue
            if tag == _W_T:
                parts.append(child.text or "")
            elif tag == _W_BR:
                parts.append("\n")
            elif tag == _W_TAB:
                parts.append("\t")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


def _jinja_source(root: Any, located: list[_Located]) -> tuple[str, list[str]]:
    """The part as Jinja source: location markers added, then docxtpl's patching applied."""
    labels: list[str] = []
    for number, spot in enumerate(located):
        labels.append(spot.label)
        _insert_before(spot.element, _MARKER.format(number))
    xml = etree.tostring(root, encoding="unicode")
    patched = _PATCHER.patch_xml(xml)
    return _XML_DECLARATION + _unescape_ampersands_in_tags(patched), labels


def _insert_before(element: Any, text: str) -> None:
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = element.getparent()
        parent.text = (parent.text or "") + text


_TAG_BODY = re.compile(r"(?<=\{[{%])(.*?)(?=[}%]\})", re.S)


def _unescape_ampersands_in_tags(xml: str) -> str:
    # docxtpl turns &lt; and &gt; inside tags back into < and >; do the same for &amp;.
    return _TAG_BODY.sub(lambda m: m.group(0).replace("&amp;", "&"), xml)


def _property_source(root: Any) -> tuple[str, list[str]]:
    """A properties part (``docProps/core.xml``) as Jinja source, one label per property."""
    labels: list[str] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        labels.append(etree.QName(child).localname)
        _insert_before(child, _MARKER.format(len(labels) - 1))
    xml = etree.tostring(root, encoding="unicode")
    return _XML_DECLARATION + _TAG_BODY.sub(_clean_tag, xml), labels


def _clean_tag(match: re.Match[str]) -> str:
    # docxtpl's clean-up inside tags: entities and smart quotes back to what was typed.
    return (
        match.group(0)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u2018", "'")
        .replace("\u2019", "'")
    )


def _compile(
    environment: SandboxedEnvironment,
    name: str,
    part_name: str,
    source: str,
    labels: list[str],
    variables: set[str],
    properties: bool = False,
) -> _Part:
    line_labels: list[str] = []
    current = ""  # before the first paragraph: the part as a whole
    for line in source.split("\n"):
        match = _MARKER_AT_LINE_START.match(line)
        if match is not None:
            current = labels[int(match.group(1))]
        line_labels.append(current)
    source = _check_structure(name, part_name, source, line_labels, properties=properties)
    source = _ESCAPE.sub(lambda m: _ESCAPES[m.group()], source)
    try:
        tree = environment.parse(source)
        template = environment.from_string(tree)
    except jinja2.TemplateSyntaxError as exc:
        lineno = exc.lineno
        if exc.message and exc.message.startswith("Unexpected end of template"):
            lineno = _innermost_unclosed_block(source) or lineno
        _fail(name, f"{_label(part_name, line_labels, lineno)}: {exc.message}", exc)
    _check_names(environment, name, part_name, tree, line_labels)
    variables.update(meta.find_undeclared_variables(tree))
    return _Part(
        part_name,
        template,
        tuple(line_labels),
        () if properties else part_fixes(source),
        _PARAGRAPH_FILTER in source,
    )


def _check_names(
    environment: SandboxedEnvironment,
    name: str,
    part_name: str,
    tree: nodes.Template,
    line_labels: Sequence[str],
) -> None:
    """Refuse filters and tests the environment lacks (Jinja defers some to render time)."""
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = environment.filters if isinstance(node, nodes.Filter) else environment.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            _fail(
                name,
                f"{_label(part_name, line_labels, node.lineno)}: unknown {kind} '{node.name}';"
                " a template's own filters are passed to the engine with filters={...}"
                " (docxtpl's jinja_env.filters)",
            )


def _innermost_unclosed_block(source: str) -> int | None:
    """The line of the last block tag left open, for 'unexpected end of template' errors."""
    open_at: list[int] = []
    for match in _STATEMENT.finditer(source):
        keyword, rest = match.group(1), match.group(2)
        if keyword in _BLOCKS and not (keyword == "set" and "=" in rest):
            open_at.append(source.count("\n", 0, match.start()) + 1)
        elif keyword.startswith("end") and open_at:
            open_at.pop()
    return open_at[-1] if open_at else None


def _fail(name: str, message: str, cause: BaseException | None = None) -> NoReturn:
    raise TemplateError(f"{name}: {message}") from cause


def _check_structure(
    name: str,
    part_name: str,
    source: str,
    line_labels: Sequence[str],
    *,
    properties: bool = False,
) -> str:
    """Refuse at load what could render XML that Word cannot open; place every value tag.

    Every block (``if``, ``for``, ...) must open and close, and take each ``elif``/``else``,
    at the same place in the element structure, so that dropping or repeating its body keeps
    the XML well-formed; a plain ``{% if %}`` from a cell's text to the next paragraph's does
    not. A value tag in a paragraph's text stays as it is (``finalize`` makes it text); one
    standing in place of a run (``{{r}}``), of a paragraph (``{{p}}``) or in an attribute is
    wrapped in the filter that makes its value fit there. Returns the source so rewritten.
    """
    stack: list[str] = []
    blocks: list[tuple[str, tuple[str, ...], int]] = []  # keyword, element stack, position
    edits: list[tuple[int, int, str]] = []

    def fail(at: int, message: str) -> NoReturn:
        where = _label(part_name, line_labels, source.count("\n", 0, at) + 1)
        _fail(name, f"{where}: {message}")

    position = 0
    while (found := _NEXT_TOKEN.search(source, position)) is not None:
        start = found.start()
        kind = found.group()
        if kind in _XML_SKIPPED:
            position = source.index(_XML_SKIPPED[kind], start) + len(_XML_SKIPPED[kind])
            continue
        if kind == "<":
            tag = _XML_TAG.match(source, start)
            if tag is None:
                fail(start, "the XML is broken here")
            position = tag.end()
            element = tag.group("name")
            if any(keyword in _CAPTURING_BLOCKS for keyword, _, _ in blocks):
                fail(start, "a '{% set %}', '{% macro %}' or '{% filter %}' block holds XML")
            if not properties and "{{" in tag.group():
                for in_tag in _VALUE_TAG.finditer(source, start, position):
                    edits.append(_wrapped(in_tag, _ATTRIBUTE_FILTER))
            if tag.group("closing"):
                if not stack or stack[-1] != element:
                    fail(start, f"the XML is broken here ('</{element}>')")
                stack.pop()
            elif not tag.group("empty"):
                stack.append(element)
            continue
        closer = source.find(_JINJA_CLOSERS[kind], start + 2)
        if closer < 0:
            return source  # an unclosed tag: Jinja's parser names it
        position = closer + 2
        if kind == "{#":
            continue
        if _RESERVED in source[start:position]:
            fail(start, f"names starting with '{_RESERVED}' are reserved for the engine")
        if kind == "{{":
            if not properties:
                value = _VALUE_TAG.match(source, start, position)
                place = _value_place(stack)
                if place is None or value is None:
                    fail(start, _misplaced_value(stack))
                if place:
                    edits.append(_wrapped(value, place))
            continue
        statement = _STATEMENT.match(source, start, position)
        keyword, rest = (statement.group(1), statement.group(2)) if statement else ("", "")
        if keyword == "autoescape":
            fail(start, "'{% autoescape %}' is not allowed: values are always escaped")
        if keyword in _BLOCKS and not (keyword == "set" and "=" in rest):
            blocks.append((keyword, tuple(stack), start))
        elif blocks and (keyword in ("elif", "else") or keyword.startswith("end")):
            opener, at_start, opened = blocks[-1]
            if tuple(stack) != at_start:
                fail(
                    opened,
                    f"'{{% {opener} %}}' and its '{{% {keyword} %}}' stand in different paragraphs,"
                    " rows or cells; put each in a paragraph or row of its own as '{%p ... %}' or"
                    " '{%tr ... %}' (or '{%tc ... %}' for cells)",
                )
            if keyword.startswith("end"):
                blocks.pop()
    if stack:
        fail(len(source), f"the XML is broken: '<{stack[-1]}>' is never closed")
    if not edits:
        return source
    pieces: list[str] = []
    position = 0
    for begin, end, text in edits:
        pieces += (source[position:begin], text)
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


# A value tag: optional whitespace control, the expression, optional whitespace control.
_VALUE_TAG = re.compile(r"\{\{(?P<lead>[-+]?)(?P<expr>.*?)(?P<trail>-?)\}\}", re.S)
# Elements a paragraph stands in: a value tag there stood for its paragraph ({{p}}).
_BLOCK_CONTAINERS = frozenset(
    {
        "w:body",
        "w:tc",
        "w:hdr",
        "w:ftr",
        "w:footnote",
        "w:endnote",
        "w:comment",
        "w:txbxContent",
        "w:docPartBody",
    }
)


def _value_place(stack: Sequence[str]) -> str | None:
    """The filter a value tag at ``stack`` is wrapped in; "" for text; None where none fits."""
    top = stack[-1] if stack else ""
    if top == "w:sdtContent" and len(stack) > 1:
        top = "w:p" if stack[-2] in ("w:p", "w:hyperlink") else "w:body"
    if top == "w:t":
        return ""
    if top in ("w:p", "w:hyperlink"):
        return _RUN_FILTER
    if top in _BLOCK_CONTAINERS:
        return _PARAGRAPH_FILTER
    return None


def _misplaced_value(stack: Sequence[str]) -> str:
    top = stack[-1] if stack else "the part"
    if top == "w:tbl":
        return (
            "a '{{tr ...}}' value tag is not supported: repeat rows with '{%tr for ... %}' and"
            " '{%tr endfor %}', and put '{{ }}' tags in the cells' text"
        )
    if top == "w:tr":
        return (
            "a '{{tc ...}}' value tag is not supported: repeat cells with '{%tc for ... %}' and"
            " put '{{ }}' (text), '{{r }}' (a RichText) or '{{p }}' (a RichTextParagraph) in a"
            " cell's paragraph"
        )
    return (
        f"a value tag stands in <{top}>; write '{{{{ }}}}' in a paragraph's text, '{{{{r }}}}'"
        " alone in a run (RichText) or '{{p }}' alone in a paragraph (RichTextParagraph)"
    )


def _wrapped(value: re.Match[str], filter_name: str) -> tuple[int, int, str]:
    """An edit turning ``{{ expr }}`` into ``{{ (expr)|filter }}``; newlines kept in place."""
    lead, expr, trail = value.group("lead"), value.group("expr"), value.group("trail")
    text = f"{{{{{lead} ({expr.strip()})|{filter_name} {trail}}}}}"
    missing = expr.count("\n") - text.count("\n")
    return value.start(), value.end(), text + "{#" + "\n" * missing + "#}" if missing else text
