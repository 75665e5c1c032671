"""Compiled tags shared by the pptx and xlsx engines: expressions, loops and where they stand.

Both engines find template text in XML, compile every piece once when a template is loaded
(``TagCompiler``) and remember where it stands as a path of child indices (``element_path``),
so that a render finds it again in a fresh copy of the tree (``follow``) without searching.
Rendering evaluates the compiled pieces and turns whatever the data provokes into a
RenderError naming the template, the location and the loop items being rendered (``Trail``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NoReturn

import jinja2
from jinja2 import meta, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from service.engines.jinja_env import EVALUATION_ERRORS
from service.errors import RenderError, TemplateError

# Structural markers standing alone in a table row's first cell (pptx) or first used cell (xlsx).
ROW_FOR = re.compile(r"\{%-?\s*tr\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
ROW_ENDFOR = re.compile(r"\{%-?\s*tr\s+endfor\s*-?%\}")

# A position in an XML tree: the child index at each level, from an ancestor down.
ElementPath = tuple[int, ...]


@dataclass(frozen=True)
class Expression:
    """A compiled Jinja expression and where it came from."""

    label: str
    source: str
    compiled: TemplateExpression


@dataclass(frozen=True)
class Loop:
    """``for var in items``: a structural loop over rows, columns, slides or sheets."""

    var: str
    items: Expression


@dataclass(frozen=True)
class Trail:
    """Which loop items were being rendered, for error messages."""

    steps: tuple[tuple[int, str], ...] = ()

    def add(self, number: int, source: str) -> Trail:
        """This trail and item ``number`` of the loop over ``source``."""
        return Trail((*self.steps, (number, source)))

    def text(self) -> str:
        """`` (item 2 of 'rounds') (item 5 of 'round.rows')``; empty outside loops."""
        return "".join(f" (item {n} of '{s}')" for n, s in self.steps)


NO_TRAIL = Trail()


def element_path(ancestor: Any, element: Any) -> ElementPath:
    """Child indices leading from ``ancestor`` down to ``element``."""
    steps: list[int] = []
    while element is not ancestor:
        parent = element.getparent()
        if parent is None:
            raise ValueError("element is not below ancestor")
        steps.append(parent.index(element))
        element = parent
    return tuple(reversed(steps))


def follow(ancestor: Any, path: ElementPath) -> Any:
    """The element ``path`` leads to from ``ancestor``."""
    element = ancestor
    for index in path:
        element = element[index]
    return element


# -- loading --------------------------------------------------------------------------------


class NamesRead:
    """The context names a template's pieces read, less those their structural loops bind.

    Worked out when first asked for (checks ask, renders never do), so that loading a template
    does not pay for it.
    """

    def __init__(self, environment: SandboxedEnvironment) -> None:
        self._env = environment
        self._pieces: list[tuple[str, bool, frozenset[str]]] = []

    def add(self, source: str, *, expression: bool, bound: Collection[str]) -> None:
        """A compiled template (or expression) ``source`` inside loops that bind ``bound``."""
        self._pieces.append((source, expression, frozenset(bound)))

    @cached_property
    def names(self) -> frozenset[str]:
        """Every name some piece reads that no loop around it binds."""
        names: set[str] = set()
        for source, expression, bound in self._pieces:
            names.update(self._undeclared(source, expression=expression) - bound)
        return frozenset(names)

    def _undeclared(self, source: str, *, expression: bool) -> set[str]:
        if not expression:
            return meta.find_undeclared_variables(self._env.parse(source))
        node = Parser(self._env, source, state="variable").parse_expression()
        tree = nodes.Template([nodes.Output([node], lineno=1)], lineno=1)
        tree.set_environment(self._env)
        return meta.find_undeclared_variables(tree)


class TagCompiler:
    """Compiles the tags of one template; a syntax error is a TemplateError naming the place.

    ``reads`` collects the context names the compiled pieces read, each piece with the names
    its enclosing structural loops bind (``bound``).
    """

    def __init__(self, template_name: str, environment: SandboxedEnvironment) -> None:
        self._name = template_name
        self._env = environment
        self.reads = NamesRead(environment)

    def template(
        self,
        source: str,
        label: str,
        environment: SandboxedEnvironment | None = None,
        *,
        bound: Collection[str] = (),
    ) -> jinja2.Template:
        """``source`` as a template, in ``environment`` if given, else the compiler's own."""
        try:
            template = (environment or self._env).from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            self.fail(f"{label}: {exc.message}", exc)
        self.reads.add(source, expression=False, bound=bound)
        return template

    def expression(self, source: str, label: str, *, bound: Collection[str] = ()) -> Expression:
        """``source`` (the text between ``{{`` and ``}}``) as an expression."""
        source = source.strip()
        try:
            compiled = self._env.compile_expression(source, undefined_to_none=False)
        except jinja2.TemplateSyntaxError as exc:
            self.fail(f"{label}: {exc.message} in expression '{source}'", exc)
        self.reads.add(source, expression=True, bound=bound)
        return Expression(label, source, compiled)

    def fail(self, message: str, cause: BaseException | None = None) -> NoReturn:
        """Refuse the template: ``name: message``."""
        raise TemplateError(f"{self._name}: {message}") from cause


# -- rendering ------------------------------------------------------------------------------


def render_error(
    template_name: str, label: str, message: str, trail: Trail = NO_TRAIL
) -> RenderError:
    """``name: label: message (item n of 'items')``."""
    return RenderError(f"{template_name}: {label}: {message}{trail.text()}")


def evaluate(
    expression: Expression,
    scope: Mapping[str, Any],
    *,
    template_name: str,
    trail: Trail = NO_TRAIL,
) -> Any:
    """The value of ``expression`` in ``scope``; an undefined result is an error too."""
    try:
        value = expression.compiled(scope)
    except jinja2.UndefinedError as exc:
        raise render_error(
            template_name, expression.label, f"undefined variable: {exc.message}", trail
        ) from exc
    except EVALUATION_ERRORS as exc:
        raise render_error(
            template_name, expression.label, f"{expression.source}: {exc}", trail
        ) from exc
    if isinstance(value, jinja2.Undefined):
        raise render_error(
            template_name,
            expression.label,
            f"undefined variable: '{expression.source}' is undefined",
            trail,
        )
    return value


def loop_items(
    expression: Expression,
    scope: Mapping[str, Any],
    *,
    template_name: str,
    trail: Trail = NO_TRAIL,
) -> list[Any]:
    """The items a loop runs over; None counts as no items."""
    value = evaluate(expression, scope, template_name=template_name, trail=trail)
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise render_error(
            template_name,
            expression.label,
            f"'{expression.source}' must be a list, not {type(value).__name__}",
            trail,
        )
    return list(value)


def render_text(
    template: jinja2.Template,
    scope: Mapping[str, Any],
    *,
    label: str,
    template_name: str,
    trail: Trail = NO_TRAIL,
) -> str:
    """``template`` rendered in ``scope``, the text at ``label``."""
    try:
        return template.render(scope)
    except jinja2.UndefinedError as exc:
        raise render_error(
            template_name, label, f"undefined variable: {exc.message}", trail
        ) from exc
    except EVALUATION_ERRORS as exc:
        raise render_error(template_name, label, str(exc), trail) from exc
