"""A pure pptx template engine: Jinja text tags, table-row loops, slide loops, charts, images.

Template conventions (all evaluated in a sandboxed, strict Jinja environment):

- ``{{ expr }}`` and ``{% if %}``/``{% for %}`` work inside one paragraph of any text: shapes,
  group shapes, table cells and speaker notes. A tag may be split over several runs; the runs of
  a paragraph containing ``{`` are merged and the merged text takes the first run's formatting.
  Paragraphs without ``{`` are never touched.
- A newline in a rendered value becomes a line break (``a:br``) in the same paragraph, so the
  paragraph keeps its bullet, spacing and formatting.
- A paragraph whose text starts with a ``{% ... %}`` tag and renders to nothing (only white
  space) is removed, unless it is the last paragraph of its text frame or cell.
- Table row loop: a row whose first cell reads ``{%tr for x in items %}`` starts a loop and a row
  reading ``{%tr endfor %}`` ends it; the rows between are repeated per item, both marker rows
  are removed. Loops do not nest.
- Slide loop: a text box whose whole text is ``{%slide for x in items %}`` repeats its slide per
  item (the box itself is removed); no items removes the slide.
- A chart named ``chart:EXPR`` (Selection Pane) gets the category data EXPR evaluates to:
  ``{"categories": [str, ...], "series": [{"name": str, "values": [float | None, ...]}]}``.
- A picture (or picture placeholder) named ``image:EXPR`` shows the PNG/JPEG bytes EXPR gives;
  None keeps the template's picture.

Values are rendered once and never parsed as templates. Characters that XML 1.0 forbids are
removed from values; everything else is kept as typed.

``pptx_spots`` lists the same places, found by the same scan but not compiled, for the template
checker (``service.engines.template_check``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO
from typing import Any

import jinja2
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import PartFactory
from pptx.oxml.ns import qn
from pptx.shapes.group import GroupShape
from pptx.shapes.shapetree import SlideShapeFactory
from xlsxwriter import Workbook

from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import NO_FILTERS, Filters, make_environment
from service.engines.opc import FIXED_TIME, fix_zip_timestamps
from service.engines.safe_text import xml_safe
from service.engines.tags import (
    ROW_ENDFOR,
    ROW_FOR,
    ElementPath,
    Expression,
    Loop,
    TagCompiler,
    element_path,
    evaluate,
    follow,
    loop_items,
    render_error,
    render_text,
)
from service.errors import RenderError, TemplateError

__all__ = ["PptxTemplate", "pptx_spots"]

_SLIDE_FOR = re.compile(r"\{%-?\s*slide\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_CHART_PREFIX = "chart:"
_IMAGE_PREFIX = "image:"
_R_NAMESPACE = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

# Parts a slide owns and that must be copied with it; other targets (layout, images, media,
# hyperlinks) are shared by the copies.
_OWNED_RELTYPES = frozenset(
    {
        RT.NOTES_SLIDE,
        RT.CHART,
        RT.PACKAGE,
        RT.OLE_OBJECT,
        RT.CHART_USER_SHAPES,
        RT.THEME_OVERRIDE,
        RT.COMMENTS,
        "http://schemas.microsoft.com/office/2011/relationships/chartStyle",
        "http://schemas.microsoft.com/office/2011/relationships/chartColorStyle",
    }
)


_RENDER_TEXT_TAGS = frozenset({qn("a:r"), qn("a:br"), qn("a:fld")})


@dataclass(frozen=True)
class _TextSpot:
    """One templated paragraph."""

    path: ElementPath
    label: str
    template: jinja2.Template
    drop_if_empty: bool


@dataclass(frozen=True)
class _RowLoop:
    """Rows ``start+1 .. end-1`` of a table, repeated per item; rows start and end are markers."""

    table_path: ElementPath
    start: int
    end: int
    loop: Loop
    body: tuple[_TextSpot, ...]  # paths relative to the a:tbl element, first index = row


@dataclass(frozen=True)
class _ShapeSpot:
    """A chart or picture whose content comes from an expression."""

    path: ElementPath
    expression: Expression


@dataclass(frozen=True)
class _SlidePlan:
    """What to do with one slide of the template; paths are relative to the slide's root."""

    repeat: Loop | None
    directive_path: ElementPath | None
    texts: tuple[_TextSpot, ...]
    row_loops: tuple[_RowLoop, ...]
    charts: tuple[_ShapeSpot, ...]
    images: tuple[_ShapeSpot, ...]
    notes: tuple[_TextSpot, ...]  # paths relative to the notes slide's root


class PptxTemplate:
    """A parsed pptx template: parse once per process, render many times."""

    def __init__(self, data: bytes, *, name: str, plans: Sequence[_SlidePlan]) -> None:
        self._data = data
        self._name = name
        self._plans = tuple(plans)

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str, filters: Filters = NO_FILTERS) -> PptxTemplate:
        """Parse ``data`` (a .pptx file) and compile every tag in it; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own.
        """
        prs = _open_presentation(data, name=name)
        parser = _Parser(name, filters)
        plans = [parser.slide_plan(number, slide) for number, slide in enumerate(prs.slides, 1)]
        return cls(bytes(data), name=name, plans=plans)

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        return self._name

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Fill a fresh copy of the template with ``context``; return the .pptx bytes."""
        prs = Presentation(BytesIO(self._data))
        renderer = _Renderer(prs, self._name)
        # python-pptx has no API for the slide list itself; p:sldIdLst is its documented XML.
        sld_ids = list(prs.slides._sldIdLst)
        slides = list(prs.slides)
        for plan, sld_id, slide in zip(self._plans, sld_ids, slides, strict=True):
            if plan.repeat is None:
                renderer.fill_slide(slide, plan, context)
                continue
            anchor = sld_id
            for number, item in enumerate(renderer.items(plan.repeat, context), 1):
                copy_, anchor = renderer.duplicate_slide(slide, after=anchor)
                with _in_loop_item(plan.repeat, number):
                    renderer.fill_slide(copy_, plan, {**context, plan.repeat.var: item})
            renderer.delete_slide(sld_id)
        out = BytesIO()
        prs.save(out)
        return fix_zip_timestamps(out.getvalue())


class _ReproducibleWorkbookWriter(CategoryWorkbookWriter):
    """python-pptx's embedded chart workbook, stamped with a fixed time instead of now."""

    @contextmanager
    def _open_worksheet(self, xlsx_file: Any) -> Iterator[tuple[Any, Any]]:
        workbook = Workbook(xlsx_file, {"in_memory": True})
        workbook.set_properties({"created": FIXED_TIME.replace(tzinfo=None)})
        worksheet = workbook.add_worksheet()
        yield workbook, worksheet
        workbook.close()


class _ReproducibleChartData(CategoryChartData):
    """Category chart data whose workbook is the same bytes for the same data."""

    @cached_property
    def _workbook_writer(self) -> _ReproducibleWorkbookWriter:
        return _ReproducibleWorkbookWriter(self)  # type: ignore[no-untyped-call]


class _Parser:
    """Builds the slide plans of a template from its scan, compiling each tag once."""

    def __init__(self, name: str, filters: Filters) -> None:
        self._tags = TagCompiler(name, make_environment(filters=filters))

    def slide_plan(self, number: int, slide: Any) -> _SlidePlan:
        root = slide.part._element
        scan = _scan_slide(number, slide)
        repeat: Loop | None = None
        directive_path: ElementPath | None = None
        texts: list[_TextSpot] = []
        row_loops: list[_RowLoop] = []
        charts: list[_ShapeSpot] = []
        images: list[_ShapeSpot] = []
        for found in scan.found:
            if isinstance(found, _FoundShape):
                if not found.fits:
                    kind = "chart" if found.prefix == _CHART_PREFIX else "picture"
                    self._tags.fail(f"{found.label}: shape named '{found.prefix}…' is not a {kind}")
                spot = _ShapeSpot(
                    element_path(root, found.element),
                    self._tags.expression(found.source, found.label),
                )
                (charts if found.prefix == _CHART_PREFIX else images).append(spot)
            elif isinstance(found, _FoundDirective):
                if repeat is not None:
                    self._tags.fail(f"{found.label}: a slide can have only one '{{%slide for %}}'")
                repeat = Loop(found.var, self._tags.expression(found.items, found.label))
                directive_path = element_path(root, found.element)
            elif isinstance(found, _FoundText):
                texts.append(self._text_spot(root, found))
            else:
                table_texts, loops = self._table(root, found)
                texts.extend(table_texts)
                row_loops.extend(loops)
        notes: list[_TextSpot] = []
        if scan.notes:
            notes_root = slide.notes_slide.part._element
            notes = [self._text_spot(notes_root, found) for found in scan.notes]
        return _SlidePlan(
            repeat=repeat,
            directive_path=directive_path,
            texts=tuple(texts),
            row_loops=tuple(row_loops),
            charts=tuple(charts),
            images=tuple(images),
            notes=tuple(notes),
        )

    def _text_spot(self, root: Any, found: _FoundText) -> _TextSpot:
        template = self._tags.template(found.source, found.label)
        drop = found.source.lstrip().startswith("{%")
        return _TextSpot(element_path(root, found.element), found.label, template, drop)

    def _table(self, root: Any, table: _FoundTable) -> tuple[list[_TextSpot], list[_RowLoop]]:
        pairing = _pair_row_markers(table)
        if pairing.flaws:
            label, message = pairing.flaws[0]
            self._tags.fail(f"{label}: {message}")
        loops: dict[int, Loop] = {}  # by the row of its '{%tr for %}'
        for start, _end in pairing.loops:
            var, items = start.loop or ("", "")
            loops[start.row] = Loop(var, self._tags.expression(items, start.label))
        texts: list[_TextSpot] = []
        bodies: dict[int, list[_TextSpot]] = {start.row: [] for start, _ in pairing.loops}
        for row, found in table.cells:
            loop_start = pairing.owner.get(row)
            if loop_start is None:
                texts.append(self._text_spot(root, found))
            else:
                # Body spots are addressed from the a:tbl element: their rows are copied.
                bodies[loop_start.row].append(self._text_spot(table.tbl, found))
        tbl_path = element_path(root, table.tbl)
        row_loops = [
            _RowLoop(tbl_path, start.row, end.row, loops[start.row], tuple(bodies[start.row]))
            for start, end in pairing.loops
        ]
        return texts, row_loops


class _Renderer:
    """Fills one freshly loaded presentation; lives for one render() call."""

    def __init__(self, prs: Any, name: str) -> None:
        self._prs = prs
        self._name = name
        self._package = prs.part.package

    # -- slides -------------------------------------------------------------------------------

    def fill_slide(self, slide: Any, plan: _SlidePlan, scope: Mapping[str, Any]) -> None:
        """Fill an untouched slide; every element is looked up before anything changes."""
        root = slide.part._element
        texts = [(spot, follow(root, spot.path)) for spot in plan.texts]
        loops = [(loop, follow(root, loop.table_path)) for loop in plan.row_loops]
        charts = [(spot, follow(root, spot.path)) for spot in plan.charts]
        images = [(spot, follow(root, spot.path)) for spot in plan.images]
        directive = None if plan.directive_path is None else follow(root, plan.directive_path)
        notes: list[tuple[_TextSpot, Any]] = []
        if plan.notes:
            notes_root = slide.notes_slide.part._element
            notes = [(spot, follow(notes_root, spot.path)) for spot in plan.notes]

        for loop, tbl in loops:
            self._expand_rows(tbl, loop, scope)
        for spot, p in texts:
            self._render_paragraph(p, spot, scope)
        for shape_spot, frame in charts:
            self._replace_chart(slide, frame, shape_spot.expression, scope)
        for shape_spot, element in images:
            self._replace_image(slide, element, shape_spot.expression, scope)
        if directive is not None:
            directive.getparent().remove(directive)
        for spot, p in notes:
            self._render_paragraph(p, spot, scope)

    def duplicate_slide(self, slide: Any, *, after: Any) -> tuple[Any, Any]:
        """Copy ``slide`` (XML, notes, charts) and place the copy after the p:sldId ``after``."""
        source = slide.part
        # Relate each new part as soon as it exists: next_partname only sees reachable parts.
        copy_part = self._new_part_like(source)
        rId = self._prs.part.relate_to(copy_part, RT.SLIDE)
        self._copy_rels(source, copy_part, {source: copy_part})
        sld_id = self._prs.slides._sldIdLst.add_sldId(rId)
        after.addnext(sld_id)
        return copy_part.slide, sld_id

    def delete_slide(self, sld_id: Any) -> None:
        """Remove a slide from the deck; its parts are no longer reachable and not saved."""
        rId = sld_id.rId
        sld_id.getparent().remove(sld_id)
        self._prs.part.drop_rel(rId)

    def _new_part_like(self, part: Any) -> Any:
        partname = self._package.next_partname(_partname_template(str(part.partname)))
        return PartFactory(partname, part.content_type, self._package, part.blob)

    def _copy_rels(self, source: Any, target: Any, copies: dict[Any, Any]) -> None:
        """Give ``target`` the relationships of ``source``, copying the parts it owns."""
        rid_map: dict[str, str] = {}
        for rId, rel in sorted(source.rels.items(), key=lambda item: _rid_number(item[0])):
            if rel.is_external:
                rid_map[rId] = target.relate_to(rel.target_ref, rel.reltype, is_external=True)
                continue
            part = rel.target_part
            if part in copies:
                rid_map[rId] = target.relate_to(copies[part], rel.reltype)
            elif rel.reltype in _OWNED_RELTYPES:
                owned = self._new_part_like(part)
                rid_map[rId] = target.relate_to(owned, rel.reltype)
                copies[part] = owned
                self._copy_rels(part, owned, copies)
            else:
                rid_map[rId] = target.relate_to(part, rel.reltype)
        element = getattr(target, "_element", None)
        if element is not None and any(old != new for old, new in rid_map.items()):
            _remap_rids(element, rid_map)

    # -- evaluation ---------------------------------------------------------------------------

    def items(self, loop: Loop, scope: Mapping[str, Any]) -> list[Any]:
        """The items a loop runs over; None counts as no items."""
        return loop_items(loop.items, scope, template_name=self._name)

    def _evaluate(self, expression: Expression, scope: Mapping[str, Any]) -> Any:
        return evaluate(expression, scope, template_name=self._name)

    def _error(self, label: str, message: str) -> RenderError:
        return render_error(self._name, label, message)

    # -- text ---------------------------------------------------------------------------------

    def _render_paragraph(self, p: Any, spot: _TextSpot, scope: Mapping[str, Any]) -> None:
        text = render_text(spot.template, scope, label=spot.label, template_name=self._name)
        _set_paragraph_text(p, text)
        if spot.drop_if_empty and not text.strip():
            parent = p.getparent()
            if len(parent.findall(qn("a:p"))) > 1:
                parent.remove(p)

    def _expand_rows(self, tbl: Any, loop: _RowLoop, scope: Mapping[str, Any]) -> None:
        rows = list(tbl.iterchildren(qn("a:tr")))
        start, end = rows[loop.start], rows[loop.end]
        body = rows[loop.start + 1 : loop.end]
        spots_by_row: dict[int, list[_TextSpot]] = {}
        for spot in loop.body:
            spots_by_row.setdefault(spot.path[0], []).append(spot)
        # Body spots are addressed from the a:tbl element: path[0] is the row's child index.
        body_spots = [(tr, spots_by_row.get(tbl.index(tr), [])) for tr in body]
        for number, item in enumerate(self.items(loop.loop, scope), 1):
            item_scope = {**scope, loop.loop.var: item}
            for tr, spots in body_spots:
                row = copy.deepcopy(tr)
                with _in_loop_item(loop.loop, number):
                    for spot in spots:
                        self._render_paragraph(follow(row, spot.path[1:]), spot, item_scope)
                end.addprevious(row)
        for tr in (start, *body, end):
            tbl.remove(tr)
        _fit_frame_to_rows(tbl)

    # -- charts and pictures ------------------------------------------------------------------

    def _replace_chart(
        self, slide: Any, frame: Any, expression: Expression, scope: Mapping[str, Any]
    ) -> None:
        data = self._evaluate(expression, scope)
        chart_data = self._chart_data(data, expression)
        chart_part = slide.part.related_part(frame.chart_rId)
        chart_part.chart.replace_data(chart_data)

    def _chart_data(self, data: Any, expression: Expression) -> CategoryChartData:
        def bad(problem: str) -> RenderError:
            return self._error(expression.label, f"chart data '{expression.source}' {problem}")

        if not isinstance(data, Mapping):
            raise bad(f"must be a mapping, not {_kind(data)}")
        categories = data.get("categories")
        series = data.get("series")
        if not isinstance(categories, list | tuple):
            raise bad("needs a list 'categories'")
        if not isinstance(series, list | tuple):
            raise bad("needs a list 'series'")
        chart_data = _ReproducibleChartData()  # type: ignore[no-untyped-call]
        chart_data.categories = [xml_safe(str(c)) for c in categories]
        for number, one in enumerate(series, 1):
            if not isinstance(one, Mapping) or not isinstance(one.get("values"), list | tuple):
                raise bad(f"series {number} needs 'name' and a list 'values'")
            values = list(one["values"])
            if len(values) != len(categories):
                raise bad(
                    f"series {number} has {len(values)} values for {len(categories)} categories"
                )
            for value in values:
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    raise bad(f"series {number} has a value that is not a number: {value!r}")
            chart_data.add_series(  # type: ignore[no-untyped-call]
                xml_safe(str(one.get("name") or "")), values
            )
        return chart_data

    def _replace_image(
        self, slide: Any, element: Any, expression: Expression, scope: Mapping[str, Any]
    ) -> None:
        data = self._evaluate(expression, scope)
        if data is None:
            return
        if not isinstance(data, bytes | bytearray):
            raise self._error(expression.label, f"image must be bytes, not {_kind(data)}")
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
            raise self._error(expression.label, "image is neither PNG nor JPEG")
        shape: Any = SlideShapeFactory(element, slide.shapes)
        if element.tag == qn("p:pic"):
            image_part, rId = slide.part.get_or_add_image_part(BytesIO(bytes(data)))
            element.blipFill.blip.rEmbed = rId
            element.crop_to_fit(image_part.image.size, (shape.width, shape.height))
        else:
            shape.insert_picture(BytesIO(bytes(data)))


@contextmanager
def _in_loop_item(loop: Loop, number: int) -> Iterator[None]:
    """Add which loop item was being rendered to a RenderError."""
    try:
        yield
    except RenderError as exc:
        where = f" (item {number} of '{loop.items.source}')"
        raise RenderError(f"{exc}{where}") from exc


# -- finding template text: shared by the parser and the template checker ----------------


@dataclass(frozen=True)
class _FoundText:
    """A paragraph that holds template text (a ``{``), found but not compiled."""

    element: Any  # the a:p element
    label: str
    source: str


@dataclass(frozen=True)
class _FoundMarker:
    """A table row whose first cell is a ``{%tr for %}`` or ``{%tr endfor %}`` marker."""

    row: int  # index among the table's rows
    label: str
    source: str  # the first cell's text
    loop: tuple[str, str] | None  # (variable, items expression); None for an endfor


@dataclass(frozen=True)
class _FoundTable:
    """A table: its row markers and the template paragraphs of its other rows."""

    tbl: Any  # the a:tbl element
    label: str
    markers: tuple[_FoundMarker, ...]
    cells: tuple[tuple[int, _FoundText], ...]  # (row index, paragraph), in reading order


@dataclass(frozen=True)
class _FoundShape:
    """A shape named ``chart:EXPR`` or ``image:EXPR``."""

    element: Any
    label: str
    prefix: str
    source: str  # EXPR
    fits: bool  # whether the shape is a chart (or picture) at all


@dataclass(frozen=True)
class _FoundDirective:
    """A text box whose whole text is ``{%slide for x in items %}``."""

    element: Any
    label: str
    source: str
    var: str
    items: str


_Found = _FoundText | _FoundTable | _FoundShape | _FoundDirective


@dataclass(frozen=True)
class _SlideScan:
    """Everything on one slide that the engine renders, in reading order."""

    found: tuple[_Found, ...]
    notes: tuple[_FoundText, ...]


@dataclass(frozen=True)
class _RowPairing:
    """How a table's row markers pair up, and what is wrong with them."""

    loops: tuple[tuple[_FoundMarker, _FoundMarker], ...]  # (for, endfor)
    owner: Mapping[int, _FoundMarker]  # body row -> the '{%tr for %}' that repeats it
    flaws: tuple[tuple[str, str], ...]  # (label, message)


def _open_presentation(data: bytes, *, name: str) -> Any:
    try:
        return Presentation(BytesIO(data))
    except Exception as exc:  # any failure means the file is unreadable
        raise TemplateError(f"{name}: not a readable pptx file ({exc})") from exc


def _scan_slide(number: int, slide: Any) -> _SlideScan:
    """Find the template text of a slide and its notes, without compiling or judging it."""
    where = f"slide {number}"
    found: list[_Found] = []
    for shape, label in _walk_shapes(slide.shapes, f"{where}, shape "):
        name = shape.name
        if name.startswith(_CHART_PREFIX):
            source = name[len(_CHART_PREFIX) :]
            found.append(_FoundShape(shape._element, label, _CHART_PREFIX, source, shape.has_chart))
            continue
        if name.startswith(_IMAGE_PREFIX):
            source = name[len(_IMAGE_PREFIX) :]
            fits = _is_picture(shape)
            found.append(_FoundShape(shape._element, label, _IMAGE_PREFIX, source, fits))
            continue
        if shape.has_text_frame:
            tx_body = shape._element.find(qn("p:txBody"))
            text = _element_text(tx_body).strip()
            match = _SLIDE_FOR.fullmatch(text)
            if match is not None:
                directive = _FoundDirective(
                    shape._element, label, text, match.group(1), match.group(2)
                )
                found.append(directive)
                continue
            found.extend(_found_paragraphs(tx_body, label))
        elif shape.has_table:
            found.append(_scan_table(shape._element, label))
    notes: list[_FoundText] = []
    if slide.has_notes_slide:
        for shape, label in _walk_shapes(slide.notes_slide.shapes, f"{where}, notes shape "):
            if shape.has_text_frame:
                notes.extend(_found_paragraphs(shape._element.find(qn("p:txBody")), label))
    return _SlideScan(tuple(found), tuple(notes))


def _found_paragraphs(tx_body: Any, label: str) -> Iterator[_FoundText]:
    if tx_body is None:  # a placeholder that has never held text
        return
    for index, p in enumerate(tx_body.iterchildren(qn("a:p")), 1):
        source = _paragraph_source(p)
        if "{" in source:
            yield _FoundText(p, f"{label}, paragraph {index}", source)


def _scan_table(frame: Any, label: str) -> _FoundTable:
    tbl = frame.find(f"{qn('a:graphic')}/{qn('a:graphicData')}/{qn('a:tbl')}")
    markers: list[_FoundMarker] = []
    cells: list[tuple[int, _FoundText]] = []
    for r, tr in enumerate(tbl.iterchildren(qn("a:tr"))):
        row_label = f"{label}, row {r + 1}"
        tcs = list(tr.iterchildren(qn("a:tc")))
        first = _element_text(tcs[0].find(qn("a:txBody"))).strip() if tcs else ""
        start = ROW_FOR.fullmatch(first)
        if start is not None:
            markers.append(_FoundMarker(r, row_label, first, (start.group(1), start.group(2))))
            continue
        if ROW_ENDFOR.fullmatch(first):
            markers.append(_FoundMarker(r, row_label, first, None))
            continue
        for c, tc in enumerate(tcs, 1):
            for found in _found_paragraphs(tc.find(qn("a:txBody")), f"{row_label}, cell {c}"):
                cells.append((r, found))
    return _FoundTable(tbl, label, tuple(markers), tuple(cells))


def _pair_row_markers(table: _FoundTable) -> _RowPairing:
    """Pair ``{%tr for %}`` with ``{%tr endfor %}``; an unclosed loop runs to the table's end."""
    loops: list[tuple[_FoundMarker, _FoundMarker]] = []
    flaws: list[tuple[str, str]] = []
    open_loop: _FoundMarker | None = None
    for marker in table.markers:
        if marker.loop is not None:
            if open_loop is not None:
                flaws.append((marker.label, "row loops cannot be nested"))
            open_loop = marker
        elif open_loop is None:
            flaws.append((marker.label, "'{%tr endfor %}' without '{%tr for %}'"))
        else:
            loops.append((open_loop, marker))
            open_loop = None
    if open_loop is not None:
        flaws.append((open_loop.label, "'{%tr for %}' without endfor"))
    # A row belongs to the nearest '{%tr for %}' above it with no '{%tr endfor %}' between.
    owner: dict[int, _FoundMarker] = {}
    marker_at = {marker.row: marker for marker in table.markers}
    current: _FoundMarker | None = None
    for row in range(1 + max([*marker_at, *(r for r, _ in table.cells)], default=-1)):
        at = marker_at.get(row)
        if at is not None:
            current = at if at.loop is not None else None
        elif current is not None:
            owner[row] = current
    return _RowPairing(tuple(loops), owner, tuple(flaws))


def pptx_spots(data: bytes, *, name: str) -> list[TemplateSpot]:
    """Every piece of template text in a pptx file where the engine renders it, uncompiled.

    Text paragraphs come as they are; a chart or picture named ``chart:EXPR`` as ``{{ EXPR }}``;
    the structural markers (``{%slide for %}`` boxes, ``{%tr for %}``/``{%tr endfor %}`` rows)
    as their own text, at the location the engine's errors name. ``loop_variables`` holds the
    slide loop and row loop around each spot. Raises TemplateError only for an unreadable file.
    """
    prs = _open_presentation(data, name=name)
    spots: list[TemplateSpot] = []
    for number, slide in enumerate(prs.slides, 1):
        scan = _scan_slide(number, slide)
        directive = next((f for f in scan.found if isinstance(f, _FoundDirective)), None)
        outer = {} if directive is None else {directive.var: directive.items.strip()}
        for found in scan.found:
            if isinstance(found, _FoundDirective):
                spots.append(TemplateSpot(found.label, found.source))
            elif isinstance(found, _FoundShape):
                source = f"{{{{ {found.source.strip()} }}}}"
                spots.append(TemplateSpot(found.label, source, outer))
            elif isinstance(found, _FoundText):
                spots.append(TemplateSpot(found.label, found.source, outer))
            else:
                spots.extend(_table_spots(found, outer))
        spots.extend(TemplateSpot(found.label, found.source, outer) for found in scan.notes)
    return spots


def _table_spots(table: _FoundTable, outer: Mapping[str, str]) -> list[TemplateSpot]:
    owner = _pair_row_markers(table).owner
    rows: list[tuple[int, TemplateSpot]] = [
        (marker.row, TemplateSpot(marker.label, marker.source, outer)) for marker in table.markers
    ]
    for row, found in table.cells:
        start = owner.get(row)
        scope = dict(outer)
        if start is not None and start.loop is not None:
            scope[start.loop[0]] = start.loop[1].strip()
        rows.append((row, TemplateSpot(found.label, found.source, scope)))
    return [spot for _row, spot in sorted(rows, key=lambda item: item[0])]


# -- XML helpers ----------------------------------------------------------------------------


def _walk_shapes(shapes: Any, prefix: str) -> Iterator[tuple[Any, str]]:
    """Every shape, group members included, with a label such as ``shape 'Grupp 1' > 'Text'``."""
    for shape in shapes:
        label = f"{prefix}'{shape.name}'"
        yield shape, label
        if isinstance(shape, GroupShape):
            yield from _walk_shapes(shape.shapes, f"{label} > ")


def _is_picture(shape: Any) -> bool:
    if shape._element.tag == qn("p:pic"):
        return True
    return callable(getattr(shape, "insert_picture", None))


def _paragraph_source(p: Any) -> str:
    """The text of a paragraph across all its runs; line breaks as newlines."""
    parts: list[str] = []
    for child in p.iterchildren():
        if child.tag == qn("a:br"):
            parts.append("\n")
        elif child.tag in (qn("a:r"), qn("a:fld")):
            t = child.find(qn("a:t"))
            if t is not None and t.text:
                parts.append(t.text)
    return "".join(parts)


def _element_text(tx_body: Any) -> str:
    if tx_body is None:
        return ""
    return "\n".join(_paragraph_source(p) for p in tx_body.iterchildren(qn("a:p")))


def _set_paragraph_text(p: Any, text: str) -> None:
    """Replace the runs of ``p`` with ``text``, formatted like the paragraph's first run."""
    first_rpr = None
    for child in list(p.iterchildren()):
        if child.tag not in _RENDER_TEXT_TAGS:
            continue
        if first_rpr is None and child.tag != qn("a:br"):
            first_rpr = child.find(qn("a:rPr"))
        p.remove(child)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines):
        if number:
            br = p.add_br()
            if first_rpr is not None:
                br.insert(0, copy.deepcopy(first_rpr))
        if line:
            run = p.add_r()
            run.text = line
            if first_rpr is not None:
                run.insert(0, copy.deepcopy(first_rpr))


def _fit_frame_to_rows(tbl: Any) -> None:
    """Make a table's frame as tall as its rows, as PowerPoint would after editing."""
    frame = tbl.getparent().getparent().getparent()
    heights = [int(tr.get("h", "0")) for tr in tbl.iterchildren(qn("a:tr"))]
    xfrm = frame.find(qn("p:xfrm"))
    ext = None if xfrm is None else xfrm.find(qn("a:ext"))
    if ext is not None:
        ext.set("cy", str(sum(heights)))


def _remap_rids(root: Any, rid_map: Mapping[str, str]) -> None:
    """Point every r:* attribute in ``root`` at the new relationship ids."""
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        for key, value in element.attrib.items():
            if key.startswith(_R_NAMESPACE) and value in rid_map:
                element.set(key, rid_map[value])


def _partname_template(partname: str) -> str:
    """``/ppt/charts/chart3.xml`` -> ``/ppt/charts/chart%d.xml``."""
    stem, dot, ext = partname.rpartition(".")
    return f"{stem.rstrip('0123456789')}%d{dot}{ext}"


def _rid_number(rId: str) -> int:
    digits = rId[3:] if rId.startswith("rId") else ""
    return int(digits) if digits.isdigit() else 0


def _kind(value: Any) -> str:
    return type(value).__name__
