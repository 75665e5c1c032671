"""The one interface of the template engines: an engine per format and the templates it parses.

An engine (``DocxTemplate``, ``PptxTemplate``, ``XlsxTemplate``: the class itself) parses a
template's bytes once, with a name for its error messages and the filters its text may use,
into an ``OfficeTemplate``; that template lists the context names it reads (``variables``) and
renders a context to the document's bytes, as often as asked. ``spots`` lists the engine's tag
locations without compiling anything, for the template checker
(``service.engines.template_check``). ``service.engines.registry`` finds the engine by suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from service.engines.inspection import TemplateSpot
from service.engines.jinja_env import Filters

# A context key the xlsx engine reads itself: the rendered file's created and modified date
# (``2019-09-26T00:00:00Z``), since a template's date properties cannot hold a tag.
DOCUMENT_CREATED = "document_created"


class OfficeTemplate(Protocol):
    """A template parsed once per process and rendered many times."""

    @property
    def name(self) -> str:
        """The name given to the template, used in error messages."""
        ...

    @property
    def variables(self) -> frozenset[str]:
        """Names the template reads from the context (not those its own loops bind)."""
        ...

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The document filled with ``context``; RenderError names the place that failed."""
        ...


class TemplateEngine(Protocol):
    """One Office format: parses its templates and finds their tags for the checker."""

    def from_bytes(self, data: bytes, *, name: str, filters: Filters = ...) -> OfficeTemplate:
        """``data`` parsed and every tag compiled; TemplateError names what is wrong where."""
        ...

    def spots(self, data: bytes, *, name: str) -> list[TemplateSpot]:
        """Every piece of template text and where it stands, uncompiled."""
        ...
