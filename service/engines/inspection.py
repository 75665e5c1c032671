"""What a template checker needs from every engine: the Jinja text found at each location."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TemplateSpot:
    """One piece of template text and where it stands.

    ``location`` reads like ``slide 3, shape 'Titel 1', paragraph 2``, ``word/document.xml,
    paragraph 12`` or ``BM 2!C7``. ``loop_variables`` maps the names that enclosing
    structural loops (table rows, slides, sheet rows) bind here to the expression they iterate,
    e.g. ``{"p": "delegation"}``.
    """

    location: str
    source: str
    loop_variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template, at one location."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"
