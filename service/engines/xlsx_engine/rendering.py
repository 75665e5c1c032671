"""Rendering a compiled workbook: which sheets there are, their parts, and the package.

Sheet loops decide how many copies of each sheet the output has; each copy gets its own part
names, relationships and content types, and the workbook part lists them in the template's
order. Only the parts that change are written; every other member is copied byte for byte.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from lxml import etree  # type: ignore[import-untyped]

from service.engines.interface import DOCUMENT_CREATED
from service.engines.opc import (
    PARSER,
    Package,
    Relationship,
    ZipEntry,
    rels_name,
    rels_xml,
    write_zip,
    xml_bytes,
)
from service.engines.safe_text import xml_safe
from service.engines.tags import NO_TRAIL, Expression, Trail, follow, loop_items, render_text
from service.engines.xlsx_engine.axes import AxisMap
from service.engines.xlsx_engine.charts import DrawingRenderer
from service.engines.xlsx_engine.compiling import WorkbookPlan
from service.engines.xlsx_engine.formulas import parse_formula
from service.engines.xlsx_engine.instances import Links, SheetInstance
from service.engines.xlsx_engine.sheet import SheetRenderer
from service.engines.xlsx_engine.spreadsheetml import (
    CT_NS,
    MAX_COL,
    MAX_ROW,
    R_ID,
    RT_CALC_CHAIN,
    RT_EXTENDED_PROPERTIES,
    RT_WORKSHEET,
    M,
)
from service.engines.xlsx_engine.workbook import WrappedStyles
from service.errors import RenderError

_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

# The UTC form of W3CDTF that core properties' dates take.
W3CDTF = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class WorkbookRenderer:
    """Renders one workbook; lives for one render() call."""

    def __init__(self, plan: WorkbookPlan, context: Mapping[str, Any]) -> None:
        self._plan = plan
        self._name = plan.name
        self._context = dict(context)
        self._out: dict[str, bytes] = {}
        self._new_parts: list[str] = []
        self._removed: set[str] = set()
        self._content_types: dict[str, str] = {}  # new part -> content type
        self._positions: dict[int, list[int]] = {}  # template sheet index -> output indices
        self._others = 0

    def run(self) -> bytes:
        """The rendered workbook's bytes."""
        instances = self._instances()
        links = Links(instances, self._plan.sheets)
        active_tab = self._active_index(instances)
        self._name_sheets(instances)
        for instance in instances:
            self._layout(instance)
        self._allocate_parts(instances)
        wrapping = WrappedStyles(self._plan.package, self._plan.styles)
        sheets = SheetRenderer(
            template_name=self._name,
            links=links,
            date1904=self._plan.date1904,
            active_tab=active_tab,
            wrapping=wrapping,
        )
        for instance in instances:
            self._out[instance.part] = sheets.render(instance)
        if (styles := wrapping.part()) is not None:
            part, data = styles
            self._out[part] = data
        drawings = DrawingRenderer(
            template_name=self._name, links=links, axis_names=self._axis_names()
        )
        for instance in instances:
            self._render_owned(instance, drawings)
        self._render_workbook(instances, links, active_tab)
        self._render_properties()
        return self._zip()

    def _axis_names(self) -> dict[int, dict[str, str]]:
        """Each sheet's bd_chart_min/bd_chart_max names: its charts' value axis bounds."""
        found: dict[int, dict[str, str]] = {}
        names = self._plan.workbook_root.find(f"{M}definedNames")
        for name in [] if names is None else names:
            bound = {"bd_chart_min": "min", "bd_chart_max": "max"}.get(name.get("name", ""))
            local = name.get("localSheetId", "")
            if bound is not None and local.isdigit() and name.text:
                found.setdefault(int(local), {})[bound] = name.text
        return found

    def _render_properties(self) -> None:
        """Core properties with tags (title, subject, language) filled from context.

        The dates cannot hold a tag (a template whose ``dcterms:created`` is not a date is an
        invalid file: openpyxl refuses it, Excel repairs it), so the context's
        ``DOCUMENT_CREATED`` value, when given, becomes the created and modified date.
        """
        properties = self._plan.properties
        if properties is None:
            return
        root = copy.deepcopy(properties.root)
        for spot in properties.texts:
            follow(root, spot.path).text = xml_safe(
                self._render_text(spot.template, self._context, spot.label, NO_TRAIL)
            )
        created = self._context.get(DOCUMENT_CREATED)
        if created is not None:
            if not isinstance(created, str) or not W3CDTF.fullmatch(created):
                raise RenderError(
                    f"{self._name}: {DOCUMENT_CREATED} must be a UTC time such as "
                    f"2019-09-26T00:00:00Z, not {created!r}"
                )
            for element in root:
                if isinstance(element.tag, str) and etree.QName(element).localname in (
                    "created",
                    "modified",
                ):
                    element.text = created
        self._out[properties.part] = xml_bytes(root)

    def _instances(self) -> list[SheetInstance]:
        instances: list[SheetInstance] = []
        for plan in self._plan.sheets:
            if plan.repeat is None:
                instances.append(SheetInstance(plan, self._context, NO_TRAIL, True))
                continue
            var, expression = plan.repeat
            items = self._items(expression, self._context, NO_TRAIL)
            if not items:
                self._removed.update({plan.entry.part, *plan.owned})
            for number, item in enumerate(items, 1):
                trail = NO_TRAIL.add(number, expression.source)
                instances.append(
                    SheetInstance(plan, {**self._context, var: item}, trail, number == 1)
                )
        # Output positions: every sheet of the template keeps its place, copies follow their
        # template, and sheets the engine leaves alone (chart sheets) count too.
        groups: dict[int, list[SheetInstance]] = {}
        for instance in instances:
            groups.setdefault(instance.plan.entry.index, []).append(instance)
        worksheets = {plan.entry.index for plan in self._plan.sheets}
        ordered: list[SheetInstance] = []
        for template_index in range(len(self._plan.workbook_root.find(f"{M}sheets"))):
            if template_index not in worksheets:
                self._positions[template_index] = [len(ordered) + self._others]
                self._others += 1
                continue
            group = groups.get(template_index, [])
            for instance in group:
                instance.index = len(ordered) + self._others
                ordered.append(instance)
            self._positions[template_index] = [i.index for i in group]
        return ordered

    def _active_index(self, instances: Sequence[SheetInstance]) -> int:
        """Where the template's active tab ends up (its first copy), or the first sheet."""
        view = self._plan.workbook_root.find(f"{M}bookViews/{M}workbookView")
        active = int(view.get("activeTab", "0")) if view is not None else 0
        return next(iter(self._positions.get(active, [])), 0)

    def _name_sheets(self, instances: Sequence[SheetInstance]) -> None:
        taken: set[str] = {i.plan.entry.name.casefold() for i in instances if i.plan.tab is None}
        for instance in instances:
            plan = instance.plan
            if plan.tab is None:
                instance.name = plan.entry.name
                continue
            wanted = self._render_text(plan.tab, instance.scope, plan.entry.name, instance.trail)
            instance.name = _unique_sheet_name(wanted, taken)
            taken.add(instance.name.casefold())

    def _layout(self, instance: SheetInstance) -> None:
        plan = instance.plan
        counts_r: dict[int, int] = {}
        for loop in plan.row_loops:
            instance.row_items[loop.id] = self._items(loop.items, instance.scope, instance.trail)
            counts_r[loop.id] = len(instance.row_items[loop.id])
        counts_c: dict[int, int] = {}
        for loop in plan.col_loops:
            instance.col_items[loop.id] = self._items(loop.items, instance.scope, instance.trail)
            counts_c[loop.id] = len(instance.col_items[loop.id])
        instance.rows = AxisMap(
            removed=plan.removed_rows,
            bodies=[(loop.id, loop.first, loop.last) for loop in plan.row_loops],
            counts=counts_r,
            limit=MAX_ROW,
        )
        instance.cols = AxisMap(
            removed=(),
            bodies=[(loop.id, loop.first, loop.last) for loop in plan.col_loops],
            counts=counts_c,
            limit=MAX_COL,
        )

    def _allocate_parts(self, instances: Sequence[SheetInstance]) -> None:
        taken = set(self._plan.package.members)
        workbook_rels = self._plan.package.rels(self._plan.workbook_part)
        rid_numbers = [int(r.rid[3:]) for r in workbook_rels if r.rid[3:].isdigit()]
        next_rid = max(rid_numbers, default=0) + 1
        sheet_ids = [int(i.plan.entry.sheet_id or 0) for i in instances]
        next_sheet_id = max(sheet_ids, default=0) + 1
        for instance in instances:
            entry = instance.plan.entry
            if instance.first:
                instance.part, instance.sheet_id, instance.rid = (
                    entry.part,
                    entry.sheet_id,
                    entry.rid,
                )
                instance.parts = {p: p for p in instance.plan.owned}
                continue
            instance.part = _next_part_name(entry.part, taken)
            instance.sheet_id, next_sheet_id = str(next_sheet_id), next_sheet_id + 1
            instance.rid, next_rid = f"rId{next_rid}", next_rid + 1
            self._new_part(instance.part, entry.part)
            for owned in instance.plan.owned:
                new = _next_part_name(owned, taken)
                instance.parts[owned] = new
                self._new_part(new, owned)

    def _new_part(self, new: str, like: str) -> None:
        self._new_parts.append(new)
        content_type = _override_types(self._plan.package).get(like)
        if content_type is not None:
            self._content_types[new] = content_type

    def _render_owned(self, instance: SheetInstance, drawings: DrawingRenderer) -> None:
        plan = instance.plan
        if plan.drawing is not None:
            drawing = plan.drawing
            self._out[instance.parts[drawing.part]] = drawings.drawing(drawing, instance)
            for chart in drawing.charts:
                self._out[instance.parts[chart.part]] = drawings.chart(chart, instance)
        if instance.first:
            return
        for old in plan.owned:
            self._out.setdefault(instance.parts[old], self._plan.package.members[old])
        pairs = [(plan.entry.part, instance.part), *((o, instance.parts[o]) for o in plan.owned)]
        for old, new in pairs:
            rels = self._plan.package.rels(old)
            if rels:
                self._out[rels_name(new)] = rels_xml(rels, new, instance.parts)
                self._new_parts.append(rels_name(new))

    def _render_workbook(
        self, instances: Sequence[SheetInstance], links: Links, active_tab: int
    ) -> None:
        package = self._plan.package
        root = copy.deepcopy(self._plan.workbook_root)
        sheets = root.find(f"{M}sheets")
        old_sheets = list(sheets)
        view = root.find(f"{M}bookViews/{M}workbookView")
        for sheet in old_sheets:
            sheets.remove(sheet)
        groups: dict[int, list[SheetInstance]] = {}
        for instance in instances:
            groups.setdefault(instance.plan.entry.index, []).append(instance)
        worksheets = {plan.entry.index for plan in self._plan.sheets}
        for template_index, old in enumerate(old_sheets):
            if template_index not in worksheets:
                sheets.append(old)  # a chart sheet: kept as it is, in its place
                continue
            for instance in groups.get(template_index, []):
                attrib = {"name": instance.name, "sheetId": instance.sheet_id, R_ID: instance.rid}
                if instance.plan.entry.state:
                    attrib["state"] = instance.plan.entry.state
                etree.SubElement(sheets, f"{M}sheet", attrib)
        if view is not None:
            view.set("activeTab", str(active_tab))
            if view.get("firstSheet"):
                view.set("firstSheet", "0")
        self._render_defined_names(root, instances, links)
        calc = root.find(f"{M}calcPr")
        if calc is None:
            calc = etree.Element(f"{M}calcPr")
            anchors = [
                root.find(f"{M}{tag}")
                for tag in ("sheets", "functionGroups", "externalReferences", "definedNames")
            ]
            [a for a in anchors if a is not None][-1].addnext(calc)
        # No cached results are written: Excel and LibreOffice must compute every formula.
        calc.set("fullCalcOnLoad", "1")
        self._out[self._plan.workbook_part] = xml_bytes(root)

        rels = package.rels(self._plan.workbook_part)
        kept = []
        for rel in rels:
            if rel.reltype == RT_CALC_CHAIN:
                self._removed.add(rel.target)
                continue
            if rel.reltype == RT_WORKSHEET and rel.target in self._removed:
                continue
            kept.append(rel)
        for instance in instances:
            if not instance.first:
                kept.append(Relationship(instance.rid, RT_WORKSHEET, instance.part, False))
        rels_part = rels_name(self._plan.workbook_part)
        self._out[rels_part] = rels_xml(kept, self._plan.workbook_part, {})
        for removed in list(self._removed):
            self._removed.add(rels_name(removed))
        self._out["[Content_Types].xml"] = self._content_types_xml()
        app = next(
            (r.target for r in package.rels("") if r.reltype == RT_EXTENDED_PROPERTIES), None
        )
        if app is not None and app in package.members:
            app_root = package.xml(app)
            for element in list(app_root):
                if etree.QName(element).localname in ("HeadingPairs", "TitlesOfParts"):
                    app_root.remove(element)
            self._out[app] = xml_bytes(app_root)

    def _render_defined_names(
        self, root: Any, instances: Sequence[SheetInstance], links: Links
    ) -> None:
        names = root.find(f"{M}definedNames")
        if names is None:
            return
        by_position = {i.index: i for i in instances}
        for name in list(names):
            names.remove(name)
            local = name.get("localSheetId")
            positions = self._positions.get(int(local)) if local and local.isdigit() else None
            if positions is None:  # a workbook-wide name
                copy_ = copy.deepcopy(name)
                copy_.text = links.formula(name.text or "", None)
                names.append(copy_)
                continue
            # A sheet's own name: one per copy of the sheet, none if the sheet is gone.
            for position in positions:
                own = by_position.get(position)
                copy_ = copy.deepcopy(name)
                copy_.set("localSheetId", str(position))
                copy_.text = parse_formula(name.text or "").render(links.resolver(own, {}, {}))
                names.append(copy_)
        if len(names) == 0:
            root.remove(names)

    def _content_types_xml(self) -> bytes:
        root = self._plan.package.xml("[Content_Types].xml")
        for override in list(root.iterchildren(f"{{{CT_NS}}}Override")):
            if override.get("PartName", "").lstrip("/") in self._removed:
                root.remove(override)
        for part, content_type in self._content_types.items():
            etree.SubElement(
                root, f"{{{CT_NS}}}Override", {"PartName": "/" + part, "ContentType": content_type}
            )
        return xml_bytes(root)

    def _zip(self) -> bytes:
        names = [n for n in self._plan.package.order if n not in self._removed]
        names += [n for n in self._new_parts if n not in self._plan.package.members]
        entries: list[ZipEntry] = []
        seen: set[str] = set()
        for member in names:
            if member in seen:
                continue
            seen.add(member)
            data = self._out.get(member)
            entries.append(self._plan.copied(member) if data is None else ZipEntry.of(member, data))
        return write_zip(entries)

    def _items(self, expression: Expression, scope: Mapping[str, Any], trail: Trail) -> list[Any]:
        return loop_items(expression, scope, template_name=self._name, trail=trail)

    def _render_text(
        self, template: jinja2.Template, scope: Mapping[str, Any], label: str, trail: Trail
    ) -> str:
        return render_text(template, scope, label=label, template_name=self._name, trail=trail)


def _unique_sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unused tab name: no ``[]:*?/\\``, no edge apostrophes, at most 31 characters."""
    name = _SHEET_NAME_FORBIDDEN.sub("", xml_safe(wanted)).strip().strip("'").strip()
    name = name[:31].strip() or "Blad"
    candidate, number = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({number})"
        candidate = name[: 31 - len(suffix)].rstrip() + suffix
        number += 1
    return candidate


def _next_part_name(like: str, taken: set[str]) -> str:
    """``xl/worksheets/sheet3.xml`` -> the first free ``xl/worksheets/sheetN.xml``."""
    stem, dot, ext = like.rpartition(".")
    stem = stem.rstrip("0123456789")
    number = 1
    while f"{stem}{number}{dot}{ext}" in taken:
        number += 1
    name = f"{stem}{number}{dot}{ext}"
    taken.add(name)
    return name


@functools.lru_cache(maxsize=64)
def _override_types_cached(content_types: bytes) -> dict[str, str]:
    root = etree.fromstring(content_types, PARSER)
    return {
        o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
        for o in root.iterchildren(f"{{{CT_NS}}}Override")
    }


def _override_types(package: Package) -> dict[str, str]:
    return _override_types_cached(package.members.get("[Content_Types].xml", b"<Types/>"))
