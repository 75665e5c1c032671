"""The parsed xlsx template: parse once per process, render many times."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import NO_FILTERS, Filters
from service.engines.xlsx_engine.compiling import WorkbookPlan, compile_workbook
from service.engines.xlsx_engine.rendering import WorkbookRenderer
from service.engines.xlsx_engine.scanning import xlsx_spots


class XlsxTemplate:
    """A parsed xlsx template: parse once per process, render many times."""

    def __init__(self, plan: WorkbookPlan) -> None:
        self._plan = plan

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str, filters: Filters = NO_FILTERS) -> XlsxTemplate:
        """Parse ``data`` (an .xlsx file) and compile every tag in it; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own.
        """
        return cls(compile_workbook(data, name=name, filters=filters))

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        return self._plan.name

    @property
    def variables(self) -> frozenset[str]:
        """Names the template reads from the context (not those its sheet, row and column
        loops bind)."""
        return self._plan.reads.names

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Fill a fresh copy of the template with ``context``; return the .xlsx bytes."""
        return WorkbookRenderer(self._plan, context).run()

    @staticmethod
    def spots(data: bytes, *, name: str) -> list[TemplateSpot]:
        """Every piece of template text in an xlsx file, uncompiled, for the template checker."""
        return xlsx_spots(data, name=name)
