"""Which engine reads which file: one registry by file suffix, for every caller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType

from service.engines.docx_engine import DocxTemplate
from service.engines.inspection import TemplateSpot
from service.engines.interface import OfficeTemplate, TemplateEngine
from service.engines.jinja_env import NO_FILTERS, Filters
from service.engines.pptx_engine import PptxTemplate
from service.engines.pptx_engine.fitting import DEFAULT_LAYOUT, TableLayout
from service.engines.xlsx_engine import XlsxTemplate
from service.errors import TemplateError

ENGINES: Mapping[str, TemplateEngine] = MappingProxyType(
    {".docx": DocxTemplate, ".pptx": PptxTemplate, ".xlsx": XlsxTemplate}
)


def engine_for(name: str, *, suffix: str | None = None) -> TemplateEngine:
    """The engine for the file ``name`` (or for ``suffix``, such as ``.docx``, if given).

    TemplateError if no engine reads such files.
    """
    wanted = (PurePosixPath(name).suffix if suffix is None else suffix).lower()
    engine = ENGINES.get(wanted)
    if engine is None:
        known = ", ".join(sorted(ENGINES))
        raise TemplateError(f"{name}: no engine for '{wanted}' files (known: {known})")
    return engine


def parse_template(
    data: bytes,
    *,
    name: str,
    suffix: str | None = None,
    filters: Filters = NO_FILTERS,
    slide_tables: TableLayout = DEFAULT_LAYOUT,
) -> OfficeTemplate:
    """``data`` parsed by the engine for its suffix (from ``name`` unless given).

    ``slide_tables`` reaches only the pptx engine: a slide has no page flow, so that engine
    continues a too tall table on another slide itself (Word and Excel paginate their own).
    """
    engine = engine_for(name, suffix=suffix)
    if engine is PptxTemplate:
        return PptxTemplate.from_bytes(data, name=name, filters=filters, layout=slide_tables)
    return engine.from_bytes(data, name=name, filters=filters)


def template_spots(data: bytes, *, name: str, suffix: str | None = None) -> list[TemplateSpot]:
    """The template text of ``data`` and where it stands, found by the engine for its suffix."""
    return engine_for(name, suffix=suffix).spots(data, name=name)
