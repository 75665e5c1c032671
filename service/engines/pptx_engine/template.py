"""The parsed pptx template: parse once per process, render many times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import NO_FILTERS, Filters
from service.engines.pptx_engine.compiling import SlideCompiler, SlidePlan
from service.engines.pptx_engine.fitting import DEFAULT_LAYOUT, TableLayout
from service.engines.pptx_engine.package import ParsedPresentation
from service.engines.pptx_engine.rendering import render_presentation
from service.engines.pptx_engine.scanning import open_presentation, pptx_spots
from service.engines.tags import NamesRead


class PptxTemplate:
    """A parsed pptx template: parse once per process, render many times."""

    def __init__(
        self,
        data: bytes,
        *,
        name: str,
        plans: Sequence[SlidePlan],
        parsed: ParsedPresentation | None = None,
        reads: NamesRead,
        layout: TableLayout = DEFAULT_LAYOUT,
    ) -> None:
        self._data = data
        self._parsed = parsed if parsed is not None else ParsedPresentation(data, name=name)
        self._name = name
        self._plans = tuple(plans)
        self._reads = reads
        self._layout = layout

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        name: str,
        filters: Filters = NO_FILTERS,
        layout: TableLayout = DEFAULT_LAYOUT,
    ) -> PptxTemplate:
        """Parse ``data`` (a .pptx file) and compile every tag in it; raise TemplateError.

        ``filters`` are offered to the template besides Jinja's own; ``layout`` gives the
        fonts tables are measured with when they may need to continue on another slide.
        """
        prs = open_presentation(data, name=name)
        compiler = SlideCompiler(name, filters)
        plans = [compiler.slide_plan(number, slide) for number, slide in enumerate(prs.slides, 1)]
        # The compiler's copy only gave the plans; renders copy a presentation opened for them.
        return cls(bytes(data), name=name, plans=plans, reads=compiler.reads, layout=layout)

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        return self._name

    @property
    def variables(self) -> frozenset[str]:
        """Names the template reads from the context (not those its slide and row loops bind)."""
        return self._reads.names

    def render(self, context: Mapping[str, Any]) -> bytes:
        """Fill a fresh copy of the template with ``context``; return the .pptx bytes."""
        return render_presentation(
            self._parsed, name=self._name, plans=self._plans, context=context, layout=self._layout
        )

    @staticmethod
    def spots(data: bytes, *, name: str) -> list[TemplateSpot]:
        """Every piece of template text in a pptx file, uncompiled, for the template checker."""
        return pptx_spots(data, name=name)
