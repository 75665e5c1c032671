"""The one factory of the sandboxed Jinja environments the engines render with.

Every engine renders with a sandboxed, strict environment; they differ only in what happens to
each value (``finalize``), whether output is escaped as markup (docx writes XML source, pptx
and xlsx assign text to elements) and which filters the caller offers. The engines know no
language: the caller passes its filters (benchdocs passes the Swedish ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from service.engines.safe_text import xml_safe

# Jinja filters take a value and any arguments a template gives them.
Filters = Mapping[str, Callable[..., Any]]
NO_FILTERS: Filters = MappingProxyType({})

# Errors that data can provoke while a template is evaluated (missing keys, wrong types, the
# sandbox refusing an attribute). Engines turn them into a RenderError naming the location.
EVALUATION_ERRORS = (
    jinja2.TemplateError,
    ArithmeticError,
    AttributeError,
    LookupError,
    TypeError,
    ValueError,
)


def plain_text(value: Any) -> str:
    """Render None as an empty string and make every produced value XML-safe."""
    if value is None:
        return ""
    return xml_safe(str(value))


def make_environment(
    *,
    filters: Filters,
    finalize: Callable[[Any], Any] = plain_text,
    autoescape: bool = False,
    strict: bool = True,
) -> SandboxedEnvironment:
    """A sandboxed, strict environment with ``filters`` added to Jinja's own.

    The default suits text assigned to an element (pptx ``a:t``, xlsx cells): lxml escapes
    ``& < >`` on assignment, so escaping here as well would show ``&amp;`` in the document.
    With ``autoescape`` (markup written as source, docx) ``|safe`` is removed: it would let
    data write raw markup into the document. The sandbox stops templates from reaching
    Python internals. Without ``strict`` an undefined variable prints nothing (docxtpl's way)
    instead of being an error.
    """
    environment = SandboxedEnvironment(
        undefined=StrictUndefined if strict else jinja2.Undefined,
        autoescape=autoescape,
        finalize=finalize,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    environment.filters.update(filters)
    if autoescape:
        del environment.filters["safe"]
    return environment
