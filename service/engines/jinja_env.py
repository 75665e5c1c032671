"""The sandboxed Jinja environment used to render text inside Office documents."""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from service.engines.filters import FILTERS
from service.engines.safe_text import xml_safe

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


def _finalize(value: Any) -> str:
    """Render None as an empty string and make every produced value XML-safe."""
    if value is None:
        return ""
    return xml_safe(str(value))


def make_text_environment() -> SandboxedEnvironment:
    """Return a sandboxed, strict environment for plain-text templates (one paragraph each)."""
    # autoescape is off on purpose: the output is not markup but the text of an a:t element,
    # and lxml escapes & < > when that text is assigned. Escaping here as well would show
    # "&amp;" in the document. The sandbox stops templates from reaching Python internals.
    environment = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    environment.filters.update(FILTERS)
    return environment
