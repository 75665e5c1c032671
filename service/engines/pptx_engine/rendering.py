"""Rendering a presentation: slides filled, copied for slide loops, charts and pictures replaced.

python-pptx cannot duplicate a slide or add a table row through its API (python-pptx #132,
#86): both are done here by copying XML, with the parts a slide owns (notes, charts and their
workbooks) copied along and their relationship ids remapped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from io import BytesIO
from typing import Any

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import PartFactory
from pptx.oxml.ns import qn
from pptx.shapes.shapetree import SlideShapeFactory
from xlsxwriter import Workbook

from service.engines.opc import FIXED_TIME, fix_zip_timestamps
from service.engines.pptx_engine.compiling import RowLoop, SlidePlan, TextSpot
from service.engines.safe_text import xml_safe
from service.engines.tags import (
    Expression,
    Loop,
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


_RENDER_TEXT_TAGS = frozenset({qn("a:r"), qn("a:br"), qn("a:fld")})


def render_presentation(
    data: bytes, *, name: str, plans: Sequence[SlidePlan], context: Mapping[str, Any]
) -> bytes:
    """Fill a fresh copy of the presentation ``data`` by its slide plans; the .pptx bytes."""
    prs = Presentation(BytesIO(data))
    renderer = _Renderer(prs, name)
    # python-pptx has no API for the slide list itself; p:sldIdLst is its documented XML.
    sld_ids = list(prs.slides._sldIdLst)
    slides = list(prs.slides)
    for plan, sld_id, slide in zip(plans, sld_ids, slides, strict=True):
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


class _Renderer:
    """Fills one freshly loaded presentation; lives for one render() call."""

    def __init__(self, prs: Any, name: str) -> None:
        self._prs = prs
        self._name = name
        self._package = prs.part.package

    # -- slides -------------------------------------------------------------------------------

    def fill_slide(self, slide: Any, plan: SlidePlan, scope: Mapping[str, Any]) -> None:
        """Fill an untouched slide; every element is looked up before anything changes."""
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

    def _render_paragraph(self, p: Any, spot: TextSpot, scope: Mapping[str, Any]) -> None:
        text = render_text(spot.template, scope, label=spot.label, template_name=self._name)
        _set_paragraph_text(p, text)
        if spot.drop_if_empty and not text.strip():
            parent = p.getparent()
            if len(parent.findall(qn("a:p"))) > 1:
                parent.remove(p)

    def _expand_rows(self, tbl: Any, loop: RowLoop, scope: Mapping[str, Any]) -> None:
        rows = list(tbl.iterchildren(qn("a:tr")))
        start, end = rows[loop.start], rows[loop.end]
        body = rows[loop.start + 1 : loop.end]
        spots_by_row: dict[int, list[TextSpot]] = {}
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
