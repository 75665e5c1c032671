"""Rendering a presentation: slides filled, copied for slide loops, charts and pictures replaced.

python-pptx cannot duplicate a slide or add a table row through its API (python-pptx #132,
#86): both are done here by copying XML, with the parts a slide owns (notes, charts and their
workbooks) copied along and their relationship ids remapped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO
from typing import Any

from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import PartFactory
from pptx.oxml import parse_xml
from pptx.oxml.ns import qn
from pptx.shapes.shapetree import SlideShapeFactory
from xlsxwriter import Workbook

from service.engines.opc import FIXED_TIME
from service.engines.pptx_engine.compiling import RowLoop, SlidePlan, TextSpot
from service.engines.pptx_engine.fitting import (
    DEFAULT_LAYOUT,
    TableLayout,
    ThemeFonts,
    column_widths,
    element_extent,
    paginate,
    placeholder_type,
    row_height,
    theme_fonts,
)
from service.engines.pptx_engine.package import ParsedPresentation
from service.engines.safe_text import xml_safe
from service.engines.tags import (
    ElementPath,
    Expression,
    Loop,
    element_path,
    evaluate,
    follow,
    loop_items,
    render_error,
    render_text,
)
from service.errors import RenderError

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


# A shape whose name starts with this stays on the first slide of a continued table only
# (such as a prompt card beside the table), wherever it stands.
FIRST_SLIDE_ONLY_PREFIX = "first:"

_RENDER_TEXT_TAGS = frozenset({qn("a:r"), qn("a:br"), qn("a:fld")})


def render_presentation(
    parsed: ParsedPresentation,
    *,
    name: str,
    plans: Sequence[SlidePlan],
    context: Mapping[str, Any],
    layout: TableLayout = DEFAULT_LAYOUT,
) -> bytes:
    """Fill a fresh copy of the parsed presentation by its slide plans; the .pptx bytes."""
    prs = parsed.fresh()
    fill_presentation(prs, name=name, plans=plans, context=context, layout=layout)
    return parsed.save(prs)


def fill_presentation(
    prs: Any,
    *,
    name: str,
    plans: Sequence[SlidePlan],
    context: Mapping[str, Any],
    layout: TableLayout = DEFAULT_LAYOUT,
) -> None:
    """Fill an untouched python-pptx presentation by its slide plans, in place.

    A table whose row loops made it taller than its slide continues on copies of the slide
    (``layout`` says how text is measured and what the copies' titles get).
    """
    renderer = _Renderer(prs, name, layout)
    # python-pptx has no API for the slide list itself; p:sldIdLst is its documented XML.
    sld_ids = list(prs.slides._sldIdLst)
    slides = list(prs.slides)
    for plan, sld_id, slide in zip(plans, sld_ids, slides, strict=True):
        if plan.repeat is None:
            filled = renderer.fill_slide(slide, plan, context)
            renderer.fit_tables(slide, filled, after=sld_id)
            continue
        anchor = sld_id
        for number, item in enumerate(renderer.items(plan.repeat, context), 1):
            copy_, anchor = renderer.duplicate_slide(slide, after=anchor)
            with _in_loop_item(plan.repeat, number):
                filled = renderer.fill_slide(copy_, plan, {**context, plan.repeat.var: item})
            anchor = renderer.fit_tables(copy_, filled, after=anchor)
        renderer.delete_slide(sld_id)


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


class _Renderer:
    """Fills one fresh copy of a presentation; lives for one render() call."""

    def __init__(self, prs: Any, name: str, layout: TableLayout) -> None:
        self._prs = prs
        self._name = name
        self._layout = layout
        self._package = prs.part.package
        self._themes: dict[Any, ThemeFonts] = {}

    # -- slides -------------------------------------------------------------------------------

    def fill_slide(
        self, slide: Any, plan: SlidePlan, scope: Mapping[str, Any]
    ) -> list[_FilledTable]:
        """Fill an untouched slide; every element is looked up before anything changes.

        Returns the tables whose row loops ran, with the rows each loop item made.
        """
        root = slide.part._element
        texts = [(spot, follow(root, spot.path)) for spot in plan.texts]
        loops = [(loop, follow(root, loop.table_path)) for loop in plan.row_loops]
        charts = [(spot, follow(root, spot.path)) for spot in plan.charts]
        images = [(spot, follow(root, spot.path)) for spot in plan.images]
        directive = None if plan.directive_path is None else follow(root, plan.directive_path)
        notes: list[tuple[TextSpot, Any]] = []
        if plan.notes:
            notes_root = slide.notes_slide.part._element
            notes = [(spot, follow(notes_root, spot.path)) for spot in plan.notes]

        filled: dict[int, _FilledTable] = {}
        for loop, tbl in loops:
            groups = self._expand_rows(tbl, loop, scope)
            filled.setdefault(id(tbl), _FilledTable(tbl, [])).groups.extend(groups)
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
        return list(filled.values())

    # -- tables that fit ----------------------------------------------------------------------

    def fit_tables(self, slide: Any, tables: Sequence[_FilledTable], *, after: Any) -> Any:
        """Continue the first table that is too tall for ``slide`` on copies of the slide.

        Rows are measured with the layout's fonts. The rows above the first loop's rows (the
        heading) repeat on every copy, whole loop items are never split, and the copies'
        titles get the layout's suffix. On a copy, shapes standing above the table (such as
        an introduction) are left out and the table moves up to where they began; shapes
        named ``first:…`` are left out wherever they stand. Returns the
        p:sldId of the slide's last copy (``after`` if none was needed).
        """
        for table in tables:
            pages = self._pages(slide, table)
            if pages is not None:
                return self._continue_table(slide, table, pages, after=after)
        return after

    def _pages(self, slide: Any, table: _FilledTable) -> _Pages | None:
        """How ``table`` splits over slides; None when it fits (its frame is then resized)."""
        tbl = table.tbl
        frame = tbl.getparent().getparent().getparent()
        extent = element_extent(frame)
        rows = list(tbl.iterchildren(qn("a:tr")))
        in_groups = {id(tr) for group in table.groups for tr in group}
        if extent is None or not in_groups:
            return None
        widths = column_widths(tbl)
        theme = self._theme_fonts(slide)
        heights = {
            id(tr): row_height(tr, widths, fonts=self._layout.fonts, theme=theme) for tr in rows
        }
        for tr in rows:  # as tall as its text needs, as PowerPoint would draw it
            tr.set("h", str(heights[id(tr)]))
        _fit_frame_to_rows(tbl)
        left, top, width, _height = extent
        header = next(i for i, tr in enumerate(rows) if id(tr) in in_groups)
        starts = {id(group[0]): group for group in table.groups if group}
        units: list[list[int]] = []
        index = header
        while index < len(rows):
            group = starts.get(id(rows[index]), [rows[index]])
            units.append(list(range(index, index + len(group))))
            index += len(group)
        root = slide.part._element
        bottom = self._prs.slide_height - self._layout.bottom_margin
        above: list[Any] = []
        first_only: list[Any] = []
        for shape in root.find(qn("p:cSld")).find(qn("p:spTree")):
            once = shape is not frame and _shape_name(shape).startswith(FIRST_SLIDE_ONLY_PREFIX)
            if once:
                first_only.append(shape)
            box = None if shape is frame else element_extent(shape)
            if box is None or box[0] >= left + width or box[0] + box[2] <= left:
                continue  # not above or below the table
            if box[1] > top:
                bottom = min(bottom, box[1])
            elif box[1] + box[3] <= top and placeholder_type(shape) is None and not once:
                above.append(shape)
        later_top = min((_top(shape) for shape in above), default=top)
        header_height = sum(heights[id(tr)] for tr in rows[:header])
        unit_heights = [sum(heights[id(rows[i])] for i in unit) for unit in units]
        pages = paginate(header_height, unit_heights, first=bottom - top, later=bottom - later_top)
        if len(pages) == 1:
            return None
        rows_of_pages = [
            list(range(header)) + [i for u in page for i in units[u]] for page in pages
        ]
        return _Pages(
            frame_path=element_path(root, frame),
            above_paths=[element_path(root, shape) for shape in above],
            first_only_paths=[element_path(root, shape) for shape in first_only],
            later_top=later_top,
            rows=rows_of_pages,
            heights=[heights[id(tr)] for tr in rows],
        )

    def _continue_table(self, slide: Any, table: _FilledTable, pages: _Pages, *, after: Any) -> Any:
        anchor = after
        for keep in pages.rows[1:]:
            copy_, anchor = self.duplicate_slide(slide, after=anchor)
            root = copy_.part._element
            frame = follow(root, pages.frame_path)
            left_out = [follow(root, path) for path in pages.above_paths + pages.first_only_paths]
            for shape in left_out:
                shape.getparent().remove(shape)
            frame.find(f"{qn('p:xfrm')}/{qn('a:off')}").set("y", str(pages.later_top))
            _keep_rows(frame, keep, pages.heights)
            _continue_title(root, self._layout.continued_suffix)
        _keep_rows(follow(slide.part._element, pages.frame_path), pages.rows[0], pages.heights)
        return anchor

    def _theme_fonts(self, slide: Any) -> ThemeFonts:
        master = slide.slide_layout.slide_master
        fonts = self._themes.get(master.part)
        if fonts is None:
            theme = master.part.part_related_by(RT.THEME)
            fonts = theme_fonts(parse_xml(theme.blob))  # python-pptx's parser: no entities
            self._themes[master.part] = fonts
        return fonts

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

    def _render_paragraph(self, p: Any, spot: TextSpot, scope: Mapping[str, Any]) -> None:
        text = render_text(spot.template, scope, label=spot.label, template_name=self._name)
        _set_paragraph_text(p, text)
        if spot.drop_if_empty and not text.strip():
            parent = p.getparent()
            if len(parent.findall(qn("a:p"))) > 1:
                parent.remove(p)

    def _expand_rows(self, tbl: Any, loop: RowLoop, scope: Mapping[str, Any]) -> list[list[Any]]:
        """Repeat a loop's body rows per item; the rows each item made, in order."""
        rows = list(tbl.iterchildren(qn("a:tr")))
        start, end = rows[loop.start], rows[loop.end]
        body = rows[loop.start + 1 : loop.end]
        spots_by_row: dict[int, list[TextSpot]] = {}
        for spot in loop.body:
            spots_by_row.setdefault(spot.path[0], []).append(spot)
        # Body spots are addressed from the a:tbl element: path[0] is the row's child index.
        body_spots = [(tr, spots_by_row.get(tbl.index(tr), [])) for tr in body]
        groups: list[list[Any]] = []
        for number, item in enumerate(self.items(loop.loop, scope), 1):
            item_scope = {**scope, loop.loop.var: item}
            group = []
            for tr, spots in body_spots:
                row = copy.deepcopy(tr)
                with _in_loop_item(loop.loop, number):
                    for spot in spots:
                        self._render_paragraph(follow(row, spot.path[1:]), spot, item_scope)
                end.addprevious(row)
                group.append(row)
            groups.append(group)
        for tr in (start, *body, end):
            tbl.remove(tr)
        _fit_frame_to_rows(tbl)
        return groups

    # -- charts and pictures ------------------------------------------------------------------

    def _replace_chart(
        self, slide: Any, frame: Any, expression: Expression, scope: Mapping[str, Any]
    ) -> None:
        data = self._evaluate(expression, scope)
        chart_data = self._chart_data(data, expression)
        chart_part = slide.part.related_part(frame.chart_rId)
        chart = chart_part.chart
        chart.replace_data(chart_data)
        self._chart_options(chart, frame, data, expression)
        _unsigned_axis_ids(chart_part._element)

    def _chart_options(
        self, chart: Any, frame: Any, data: Mapping[str, Any], expression: Expression
    ) -> None:
        """The optional keys of chart data: value axis bounds, label format, alt text."""

        def bad(problem: str) -> RenderError:
            return self._error(expression.label, f"chart data '{expression.source}' {problem}")

        axis = data.get("value_axis")
        if axis is not None:
            if not isinstance(axis, Mapping):
                raise bad(f"'value_axis' must be a mapping, not {_kind(axis)}")
            value_axis = chart.value_axis
            for key, attribute in (
                ("minimum", "minimum_scale"),
                ("maximum", "maximum_scale"),
                ("major_unit", "major_unit"),
            ):
                value = axis.get(key)
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise bad(f"'value_axis' {key} is not a number: {value!r}")
                setattr(value_axis, attribute, value)
        number_format = data.get("number_format")
        if number_format is not None:
            if not isinstance(number_format, str):
                raise bad(f"'number_format' must be text, not {_kind(number_format)}")
            for plot in chart.plots:
                if plot.has_data_labels:
                    labels = plot.data_labels
                    labels.number_format = number_format
                    labels.number_format_is_linked = False
        description = data.get("description")
        if description is not None:
            c_nv_pr = frame.find(f"{qn('p:nvGraphicFramePr')}/{qn('p:cNvPr')}")
            c_nv_pr.set("descr", xml_safe(str(description)))

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
        number_format = data.get("number_format")
        chart_data = _ReproducibleChartData(  # type: ignore[no-untyped-call]
            number_format=number_format if isinstance(number_format, str) else "General"
        )
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


@dataclass
class _FilledTable:
    """A table whose row loops ran: the rows each loop item made, in order."""

    tbl: Any
    groups: list[list[Any]]


@dataclass(frozen=True)
class _Pages:
    """How a table continues: which rows each slide keeps, where the copies' table stands."""

    frame_path: ElementPath
    above_paths: list[ElementPath]
    first_only_paths: list[ElementPath]  # shapes named ``first:…``, wherever they stand
    later_top: int
    rows: list[list[int]]  # row indices kept on each slide, the heading included
    heights: list[int]  # measured height of each row


def _shape_name(shape: Any) -> str:
    """A shape's Selection Pane name (its own p:cNvPr comes first in document order)."""
    c_nv_pr = next(shape.iter(qn("p:cNvPr")), None)
    return "" if c_nv_pr is None else str(c_nv_pr.get("name", ""))


def _top(shape: Any) -> int:
    extent = element_extent(shape)
    return 0 if extent is None else extent[1]


def _keep_rows(frame: Any, keep: Sequence[int], heights: Sequence[int]) -> None:
    """Remove the rows of a table frame not in ``keep`` and fit the frame to the rest."""
    tbl = frame.find(f"{qn('a:graphic')}/{qn('a:graphicData')}/{qn('a:tbl')}")
    wanted = set(keep)
    for index, tr in enumerate(list(tbl.iterchildren(qn("a:tr")))):
        if index not in wanted:
            tbl.remove(tr)
    frame.find(f"{qn('p:xfrm')}/{qn('a:ext')}").set("cy", str(sum(heights[i] for i in keep)))


def _continue_title(root: Any, suffix: str) -> None:
    """Add ``suffix`` to the last run of a slide's title, if it has a title with text."""
    tree = root.find(qn("p:cSld")).find(qn("p:spTree"))
    for shape in tree.iterchildren(qn("p:sp")):
        if placeholder_type(shape) not in ("title", "ctrTitle"):
            continue
        runs = list(shape.iter(qn("a:r")))
        if runs:
            t = runs[-1].find(qn("a:t"))
            t.text = (t.text or "") + suffix
        return


@contextmanager
def _in_loop_item(loop: Loop, number: int) -> Iterator[None]:
    """Add which loop item was being rendered to a RenderError."""
    try:
        yield
    except RenderError as exc:
        where = f" (item {number} of '{loop.items.source}')"
        raise RenderError(f"{exc}{where}") from exc


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


def _unsigned_axis_ids(chart_space: Any) -> None:
    """Axis ids as the schema types them (xsd:unsignedInt), the same bits read unsigned.

    python-pptx writes its charts with negative ids (``-2068027336``); PowerPoint and
    LibreOffice accept them, but they are invalid against ECMA-376 and a strict validator
    refuses the chart. ``c:axId`` and ``c:crossAx`` map alike, so the axes still pair up.
    """
    for element in chart_space.iter(qn("c:axId"), qn("c:crossAx")):
        value = element.get("val", "")
        if value.startswith("-") and value[1:].isdigit():
            element.set("val", str(int(value) & 0xFFFFFFFF))
