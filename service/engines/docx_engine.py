"""A pure docx template engine: docxtpl's tag syntax, a sandboxed Jinja, parts rendered alone.

Template conventions (all evaluated in a sandboxed, strict, autoescaping Jinja environment):

- ``{{ expr }}``, ``{% if %}`` and ``{% for %}`` work in the text of the main document, its
  headers and its footers. A tag may be split over several runs (as Word saves it); docxtpl's
  pre-processing merges it and also replaces smart quotes inside tags by plain ones.
- ``{%p ... %}``, ``{%tr ... %}``, ``{%tc ... %}`` and ``{%r ... %}`` stand for their whole
  paragraph, table row, table cell or run: ``{%tr for x in items %}`` in a row of its own
  and ``{%tr endfor %}`` in another repeat the rows between them, and both marker rows vanish.
  ``{%tr else %}`` (Jinja's for-else) gives a row for an empty list; ``{%p if x %}`` keeps the
  paragraphs up to ``{%p endif %}`` only when ``x`` holds.
- ``{% cellbg expr %}`` sets a cell's shading (a hex colour such as ``FFF2CC``).
- A block whose body spans paragraphs, rows or cells must use ``{%p``, ``{%tr`` or ``{%tc``
  (a plain ``{% if %}`` from one cell's text to the next could leave XML Word cannot open),
  and a value tag must stand in text; templates breaking either rule are refused at load.
- Values appear exactly as typed: ``& < > "`` are escaped, ``{{ }}`` and ``{% %}`` in data are
  never read as tags, characters XML 1.0 forbids are removed, and a newline becomes a line break
  (``w:br``) in the same paragraph. None prints as nothing. ``|safe`` is not available.
- Filters: Jinja's own (``|safe`` removed) and those the caller passes to ``from_bytes``.
- Not supported: docxtpl's RichText (``{{r }}``, ``{{p }}``), listings, subdocuments, inline
  images, ``{% autoescape %}``, the ``{_{`` escape for literal braces, and ``{%tc for %}``
  loops that change a table's column count (the grid is not adjusted).

Each templated part is pre-processed and compiled once, in ``from_bytes``. ``render`` only runs
the compiled templates and appends the rendered parts to a zip whose other members were
compressed once at load and are copied as raw bytes; member times are fixed, so the same
context always gives the same bytes.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, NoReturn

import docxtpl
import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree  # type: ignore[import-untyped]
from markupsafe import Markup, escape

# docxparts: images, sub-documents, table grids and the members a render may add.
from service.engines.docx_media import DocxXml, rendering_part
from service.engines.docx_package_edits import (
    EditableMembers,
    KeptMembers,
    PackageWriter,
)
from service.engines.docx_subdoc import (
    BLOCK_FILTER,
    VALUE_OBJECTS,
    block_filter,
    mark_paragraph_tags,
    value_markup,
)
from service.engines.docx_tables import adjust_table_grids, has_grid_tags
from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import EVALUATION_ERRORS, NO_FILTERS, Filters, make_environment
from service.engines.opc import RELATIONSHIP_TYPES, Package, ZipEntry, write_zip
from service.engines.safe_text import xml_safe
from service.errors import (
    InvalidImageError,
    InvalidSubdocumentError,
    RenderError,
    TemplateError,
)

__all__ = ["DocxTemplate", "docx_spots"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_P, _W_TR, _W_TC, _W_TBL, _W_T = (f"{_W}{tag}" for tag in ("p", "tr", "tc", "tbl", "t"))
_W_BR, _W_TAB = f"{_W}br", f"{_W}tab"
_HEADER_FOOTER = frozenset({RELATIONSHIP_TYPES + "header", RELATIONSHIP_TYPES + "footer"})

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# A value's newline closes the text element, breaks the line and opens a new text element of
# the same run; every value tag sits inside a w:t after docxtpl's pre-processing.
_LINE_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'
_NEWLINES = re.compile(r"\r\n|\r|\n")
# Newlines and everything XML 1.0 forbids (see safe_text).
_NEEDS_CLEANING = re.compile("[^\t\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

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


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` value before Jinja escapes it: XML-safe, newlines as line breaks.

    The common case (a string without newlines or forbidden characters) passes unchanged, and
    Jinja's autoescape escapes it; this runs for every value, so it is kept cheap.
    """
    if type(value) is str:
        return value if _NEEDS_CLEANING.search(value) is None else _cleaned(value)
    if value is None:
        return ""
    if isinstance(value, Markup):  # constant expressions arrive already escaped
        if type(value) is DocxXml:  # docxparts: XML a value object wrote, kept as it is
            return value
        return _cleaned(value) if _NEEDS_CLEANING.search(value) else value
    if isinstance(value, VALUE_OBJECTS):  # docxparts: images write their own XML
        return value_markup(value)
    return _cleaned(str(value))


def _cleaned(text: str) -> Markup:
    # Escaped first; the only markup added is the fixed line break, so the result is safe.
    escaped = str(text if isinstance(text, Markup) else escape(text))
    return Markup(_NEWLINES.sub(_LINE_BREAK, xml_safe(escaped)))  # noqa: S704


@dataclass(frozen=True)
class _Part:
    """One templated part: its compiled template and the location of each template line."""

    name: str
    template: jinja2.Template
    line_labels: tuple[str, ...]
    grid_tags: bool = False  # docxparts: tables whose grid must follow their rows

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
        kept: KeptMembers,
        variables: frozenset[str],
        editable: EditableMembers,
    ) -> None:
        self._editable = editable  # docxparts
        self._name = name
        self._parts = tuple(parts)
        self._kept = kept
        self._variables = variables

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str, filters: Filters = NO_FILTERS) -> DocxTemplate:
        """Parse ``data`` (a .docx file) and compile every templated part; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own.
        """
        package = Package(data, name=name, kind="docx")
        environment = make_environment(filters=filters, finalize=_finalize, autoescape=True)
        environment.filters[BLOCK_FILTER] = block_filter  # docxparts: {{p subdoc}}
        parts: list[_Part] = []
        variables: set[str] = set()
        for part_name in _templated_parts(package):
            root = package.xml(part_name)
            located = _locate(root)
            # docxparts: {{p}} paragraphs, and whether tables need their grid adjusted.
            texts = [
                (s.element, _paragraph_text(s.element)) for s in located if s.element.tag == _W_P
            ]
            mark_paragraph_tags((p, text) for p, text in texts if "{{p" in text)
            grid_tags = any(has_grid_tags(text) for _, text in texts if "{%" in text)
            jinja_source, labels = _jinja_source(root, located)
            part = _compile(environment, name, part_name, jinja_source, labels, variables)
            parts.append(_Part(part.name, part.template, part.line_labels, grid_tags))
        # The other members are compressed once, here; a render appends the rendered parts
        # and the members it may change (docxparts: relationships, content types, styles).
        templated = {part.name for part in parts}
        editable = EditableMembers.of(package, templated)
        kept = KeptMembers(
            [
                ZipEntry.of(member, package.members[member], method=package.methods[member])
                for member in package.order
                if member not in templated
                and member not in package.directories
                and member not in editable.names
            ],
            editable,
        )
        return cls(
            name=name,
            parts=parts,
            kept=kept,
            variables=frozenset(variables),
            editable=editable,
        )

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
        # docxparts: what values (images, sub-documents) add to the package
        writer = PackageWriter(self._editable)
        with rendering_part(writer):
            rendered = [
                ZipEntry.of(part.name, self._render_part(part, context, writer))
                for part in self._parts
            ]
        if writer.changed:
            entries = writer.edits.entries()
            return write_zip([*rendered, *entries], prefix=self._kept.without_editable())
        return write_zip(rendered, prefix=self._kept.full)

    def _render_part(self, part: _Part, context: Mapping[str, Any], writer: PackageWriter) -> bytes:
        writer.part = part.name  # docxparts
        try:
            xml = part.template.render(context).encode("utf-8")
            return adjust_table_grids(xml) if part.grid_tags else xml
        except (InvalidImageError, InvalidSubdocumentError) as exc:  # docxparts
            where = self._error(part, exc, str(exc)).args[0]
            raise type(exc)(where) from exc
        except jinja2.UndefinedError as exc:
            raise self._error(part, exc, f"undefined variable: {exc.message}") from exc
        except EVALUATION_ERRORS as exc:
            raise self._error(part, exc, str(exc)) from exc

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
    for part_name in _templated_parts(package):
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


def _templated_parts(package: Package) -> list[str]:
    """The main document part, then its headers and footers: the parts holding template text."""
    main = package.main_part()
    return [main, *sorted(package.related(main, _HEADER_FOOTER))]


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


def _compile(
    environment: SandboxedEnvironment,
    name: str,
    part_name: str,
    source: str,
    labels: list[str],
    variables: set[str],
) -> _Part:
    line_labels: list[str] = []
    current = ""  # before the first paragraph: the part as a whole
    for line in source.split("\n"):
        match = _MARKER_AT_LINE_START.match(line)
        if match is not None:
            current = labels[int(match.group(1))]
        line_labels.append(current)
    try:
        tree = environment.parse(source)
        template = environment.from_string(tree)
    except jinja2.TemplateSyntaxError as exc:
        lineno = exc.lineno
        if exc.message and exc.message.startswith("Unexpected end of template"):
            lineno = _innermost_unclosed_block(source) or lineno
        _fail(name, f"{_label(part_name, line_labels, lineno)}: {exc.message}", exc)
    _check_structure(name, part_name, source, line_labels)
    variables.update(meta.find_undeclared_variables(tree))
    return _Part(part_name, template, tuple(line_labels))


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


def _check_structure(name: str, part_name: str, source: str, line_labels: Sequence[str]) -> None:
    """Refuse at load what could render XML that Word cannot open.

    Every block (``if``, ``for``, ...) must open and close, and take each ``elif``/``else``,
    at the same place in the element structure, so that dropping or repeating its body keeps
    the XML well-formed; a plain ``{% if %}`` from a cell's text to the next paragraph's does
    not. Values must stand in text (``w:t``), where a newline can become a line break.
    """
    stack: list[str] = []
    blocks: list[tuple[str, tuple[str, ...], int]] = []  # keyword, element stack, position

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
            if tag.group("closing"):
                if not stack or stack[-1] != element:
                    fail(start, f"the XML is broken here ('</{element}>')")
                stack.pop()
            elif not tag.group("empty"):
                stack.append(element)
            continue
        position = source.index(_JINJA_CLOSERS[kind], start + 2) + 2
        if kind == "{#":
            continue
        if kind == "{{":
            if BLOCK_FILTER in source[start:position]:  # docxparts: {{p}} stands for a block
                continue
            if not stack or stack[-1] != "w:t":
                fail(
                    start,
                    "a value tag must stand in the text of a paragraph; '{{p', '{{r', '{{tr' and"
                    " '{{tc' are not supported",
                )
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
