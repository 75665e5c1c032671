"""Check a template's text against example data and list every problem with its location.

``check_spots`` takes the spots an engine's extractor found (``pptx_spots``, ...) and a schema:
an example context, or several merged with ``merge_schemas``, whose lists stand for the merged
schema of their items. Each spot is parsed with the sandboxed environment the engines render
with, so syntax errors, unknown tags, filters and tests are the engines' own. Walking the Jinja
syntax tree then finds every variable path the schema lacks: unknown names, keys
(``organisation.nme``) and keys of loop items, through ``{% for %}`` inside a spot and through
the structural loops (table rows, slides) an extractor names in ``loop_variables``.

What the extractors hand over, and how it is read:

- A spot is one template (a pptx paragraph), or a piece of one template that continues in the
  following spots (a docx paragraph). A block tag left open in one spot may therefore be closed
  in a later one; what is never closed, or closes what was never opened, is reported.
- docxtpl's ``{%p``, ``{%tr``, ``{%tc`` and ``{%r`` tags count as the plain Jinja tags they
  stand for. A ``{%tr for %}``/``{%tr endfor %}`` row marker is a spot of its own.
- docxtpl's ``{{r expr }}`` (RichText) and ``{{p expr }}`` (RichTextParagraph) count as
  ``{{ expr }}``; ``{% cellbg expr %}`` and ``{% colspan expr %}`` read ``expr``; ``{% vm %}``
  and ``{% hm %}`` read nothing; the ``{_{ }_} {_% %_}`` escapes are text. ``{{tr`` and
  ``{{tc`` value tags are reported with what to write instead.
- Where the example gives a docx value object, its tag is checked as the engine places it: a
  sub-document (docxtpl's ``Subdoc``, ``DocxSubdoc``) and a ``RichTextParagraph`` need
  ``{{p }}``, a ``RichText`` needs ``{{r }}``; an image (``InlineImage``, ``DocxImage``) fits
  ``{{ }}``, ``{{r }}`` and ``{{p }}`` alike.
- ``{%slide for x in items %}`` (pptx) must be a spot of its own, once per slide (the first part
  of the location); inside other text it is reported.
- An expression from a shape name (``chart:EXPR``) comes as ``{{ EXPR }}``.

The check is static: it cannot see values' types beyond the example (a filter given text it
cannot read), paths the example leaves empty (a key under a value that is None or a list that
is empty in every sample), nor the chart-data shape; render with the samples to catch those.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from service.engines.inspection import TemplateProblem, TemplateSpot
from service.engines.jinja_env import NO_FILTERS, Filters, make_environment

__all__ = ["check_spots", "merge_schemas"]


class _Unknown:
    """A value the check knows nothing about: anything may be read from it."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

# -- schemas --------------------------------------------------------------------------------


def merge_schemas(contexts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One schema with every key of every context; each list becomes ``[merged item]``.

    An empty list or a None in one sample does not hide what another sample holds there.
    """
    merged: dict[str, Any] = {}
    for context in contexts:
        merged = _merge(merged, _normalise(context))
    return merged


def _normalise(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return _merged_items(value)
    return value


def _merged_items(values: Iterable[Any]) -> list[Any]:
    merged: Any = None
    seen = False
    for value in values:
        merged = _normalise(value) if not seen else _merge(merged, _normalise(value))
        seen = True
    return [merged] if seen else []


def _merge(a: Any, b: Any) -> Any:
    if a is None or a is UNKNOWN:
        return b
    if b is None or b is UNKNOWN:
        return a
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        merged = dict(a)
        for key, value in b.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [_merge(a[0], b[0])]
    if isinstance(b, Mapping | list) and not isinstance(a, Mapping | list):
        return b  # a container says more about what a template may read than a scalar
    return a


def _items_of(value: Any) -> Any:
    """The schema of one item of ``value`` when a template loops over it."""
    if isinstance(value, list | tuple):
        items = _merged_items(value)
        return items[0] if items and items[0] is not None else UNKNOWN
    return UNKNOWN


# -- structure across spots -----------------------------------------------------------------

_DOCXTPL_PREFIX = re.compile(r"\{%(-?)\s*(?:tr|tc|p|r)\s+")
# docxtpl's value tags for a run (RichText) and a paragraph (RichTextParagraph): plain values.
_DOCXTPL_VALUE = re.compile(r"\{\{(-?)(?:r|p)\s+")
_UNSUPPORTED_VALUE = re.compile(r"\{\{-?(tr|tc)\s")
# docxtpl's cell tags: shading and column span take a value; vertical/horizontal merge none.
_CELL_VALUE = re.compile(r"\{%-?\s*(?:cellbg|colspan)\s+(.*?)\s*-?%\}", re.S)
_CELL_MERGE = re.compile(r"\{%-?\s*(?:vm|hm)\s*-?%\}")
# Every value tag with its docxtpl place letter ("" for text, "r" for a run, "p" a paragraph).
_VALUE_TAG = re.compile(r"\{\{-?(?:(r|p)\s+|\s*)(.*?)\s*-?\}\}", re.S)
# Value objects (by class name, from docxtpl or benchdocs' docx engine) that fit one place only.
_ONLY_PLACE = {"RichText": "r", "RichTextParagraph": "p", "Subdoc": "p", "DocxSubdoc": "p"}
_PLACE_NAMES = {"": "{{ }}", "r": "{{r }}", "p": "{{p }}"}
_SLIDE_FOR = re.compile(r"\{%-?\s*slide\s+for\s+([A-Za-z_]\w*)\s+in\s+(.+?)\s*-?%\}", re.S)
_SLIDE_TAG = re.compile(r"\{%-?\s*slide\b")
_ROW_MARKER = re.compile(r"\{%-?\s*tr\s+(for\b|endfor\b)")
_BLOCK_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}", re.S)
_COMMENT = re.compile(r"\{#.*?#\}", re.S)

_CLOSERS = {
    "endfor": "for",
    "endif": "if",
    "endwith": "with",
    "endfilter": "filter",
    "endcall": "call",
    "endmacro": "macro",
    "endblock": "block",
    "endset": "set",
    "endautoescape": "autoescape",
}
_OPENERS = frozenset(_CLOSERS.values())
_MIDDLES = {"else": ("for", "if"), "elif": ("if",)}
# Openers that may stand in for a block opened in an earlier spot, so a spot parses alone.
_STAND_INS = {"for": "{% for _ in () %}", "if": "{% if true %}", "with": "{% with %}"}


@dataclass
class _OpenBlock:
    """A block tag opened in one spot and not yet closed."""

    kind: str
    order: int  # the spot's position
    location: str
    message: str  # what to report if it is never closed


@dataclass
class _Balance:
    """How a spot's block tags reach into blocks opened by earlier spots.

    ``outer[i]`` lists the kinds the i-th enclosing earlier block may have (0 = innermost):
    the spot closes ``closes`` of them, or only continues them with an ``else``/``elif``.
    """

    outer: list[tuple[str, ...]] = field(default_factory=list)
    closes: int = 0
    opens: list[str] = field(default_factory=list)  # kinds of the blocks it leaves open

    @property
    def balanced(self) -> bool:
        return not (self.outer or self.opens)

    def reach(self, kinds: tuple[str, ...]) -> None:
        """A tag that belongs to the enclosing earlier block at level ``closes``."""
        if self.closes == len(self.outer):
            self.outer.append(kinds)
        else:
            self.outer[self.closes] = tuple(k for k in self.outer[self.closes] if k in kinds)


def _balance(source: str) -> _Balance:
    """Which block tags of ``source`` reach outside it (block tags read with a regex)."""
    result = _Balance()
    local: list[str] = []
    for match in _BLOCK_TAG.finditer(_COMMENT.sub("", source)):
        tag, rest = match.group(1), match.group(2)
        if tag == "set" and "=" in rest:
            continue  # {% set x = ... %} has no end tag
        if tag in _OPENERS:
            local.append(tag)
        elif tag in _CLOSERS:
            if local:
                local.pop()
            else:
                result.reach((_CLOSERS[tag],))
                result.closes += 1
        elif tag in _MIDDLES and not local:
            result.reach(_MIDDLES[tag])
    result.opens = local
    return result


# -- the check ------------------------------------------------------------------------------


def check_spots(
    spots: Iterable[TemplateSpot], schema: Mapping[str, Any], *, filters: Filters = NO_FILTERS
) -> list[TemplateProblem]:
    """Every problem of the spots' template text against ``schema``, in document order.

    ``filters`` are those the template will be rendered with, besides Jinja's own.
    """
    check = _Check(make_environment(filters=filters), schema)
    for order, spot in enumerate(spots):
        check.spot(order, spot)
    return check.finish()


class _Check:
    def __init__(self, env: SandboxedEnvironment, schema: Mapping[str, Any]) -> None:
        self._env = env
        self._schema = _normalise(schema)
        self._problems: list[tuple[int, TemplateProblem]] = []
        self._open: list[_OpenBlock] = []
        self._slide_loops: set[str] = set()

    def finish(self) -> list[TemplateProblem]:
        for block in self._open:
            self._problems.append((block.order, TemplateProblem(block.location, block.message)))
        self._open = []
        return [problem for _order, problem in sorted(self._problems, key=lambda p: p[0])]

    def _report(self, order: int, location: str, message: str) -> None:
        problem = TemplateProblem(location, message)
        if (order, problem) not in self._problems:  # a name used twice in one spot: once
            self._problems.append((order, problem))

    def spot(self, order: int, spot: TemplateSpot) -> None:
        source = spot.source
        stripped = source.strip()
        scope, origins = self._scope(spot)
        report = _Reporter(self, order, spot.location)
        slide = _SLIDE_FOR.fullmatch(stripped)
        if slide is not None:
            self._slide_directive(order, spot, slide.group(2), scope, origins)
            return
        if _SLIDE_TAG.search(source):
            report("'{%slide for %}' must be the only text of its text box")
            return
        unsupported = _UNSUPPORTED_VALUE.search(source)
        if unsupported is not None:
            kind = unsupported.group(1)
            report(
                f"a '{{{{{kind} ...}}}}' value tag is not supported: repeat "
                + (
                    "rows with '{%tr for ... %}'"
                    if kind == "tr"
                    else "cells with '{%tc for ... %}'"
                )
                + " and put '{{ }}', '{{r }}' or '{{p }}' tags in the cells' paragraphs"
            )
            return
        if "__bd_" in source:
            report("names starting with '__bd_' are reserved for the engine")
            return
        row_marker = _ROW_MARKER.match(stripped)
        normalised = _DOCXTPL_PREFIX.sub(r"{%\1 ", source)
        normalised = _DOCXTPL_VALUE.sub(r"{{\1 ", normalised)
        normalised = _CELL_MERGE.sub("", _CELL_VALUE.sub(r"{{ \1 }}", normalised))
        tree: nodes.Template | None
        try:
            tree = self._env.parse(normalised)
        except jinja2.TemplateSyntaxError as exc:
            tree = self._parse_piece(order, spot, normalised, exc, row_marker is not None)
            if tree is None:
                return
        _Walker(self._env, report, origins, _value_places(source)).statements(tree.body, scope)
        self._compile(tree, report)

    def _parse_piece(
        self,
        order: int,
        spot: TemplateSpot,
        source: str,
        error: jinja2.TemplateSyntaxError,
        row_marker: bool,
    ) -> nodes.Template | None:
        """Parse a spot whose blocks continue in other spots; None when it is simply wrong."""
        balance = _balance(source)
        message = _syntax_message(error, source)
        if balance.balanced:
            self._report(order, spot.location, message)
            return None
        need = len(balance.outer)
        outer = self._open[len(self._open) - need :][::-1] if need <= len(self._open) else []
        if len(outer) != need or any(
            block.kind not in kinds for block, kinds in zip(outer, balance.outer, strict=True)
        ):
            if row_marker:
                message = "'{%tr endfor %}' without '{%tr for %}' above it"
            self._report(order, spot.location, message)
            return None
        if any(block.kind not in _STAND_INS for block in outer):
            self._report(order, spot.location, message)
            return None
        # Stand-ins open the earlier blocks (outermost first) and close what stays open, so
        # the spot parses alone with the meaning it has in the whole template.
        prefix = "".join(_STAND_INS[block.kind] for block in reversed(outer))
        suffix = "".join(f"{{% end{kind} %}}" for kind in reversed(balance.opens))
        suffix += "".join(f"{{% end{block.kind} %}}" for block in outer[balance.closes :])
        try:
            tree = self._env.parse(prefix + source + suffix)
        except jinja2.TemplateSyntaxError as exc:
            self._report(order, spot.location, _syntax_message(exc, source))
            return None
        if balance.closes:
            del self._open[len(self._open) - balance.closes :]
        unclosed = "'{%tr for %}' without '{%tr endfor %}' below it" if row_marker else message
        self._open.extend(
            _OpenBlock(kind, order, spot.location, unclosed) for kind in balance.opens
        )
        return tree

    def _slide_directive(
        self,
        order: int,
        spot: TemplateSpot,
        items: str,
        scope: dict[str, Any],
        origins: dict[str, str],
    ) -> None:
        report = _Reporter(self, order, spot.location)
        slide = spot.location.split(",", 1)[0]
        if slide in self._slide_loops:
            report("a slide can have only one '{%slide for %}'")
        self._slide_loops.add(slide)
        self._expression(items, scope, origins, report)

    def _expression(
        self, source: str, scope: dict[str, Any], origins: dict[str, str], report: _Reporter
    ) -> Any:
        try:
            tree = self._env.parse(f"{{{{ {source} }}}}")
        except jinja2.TemplateSyntaxError as exc:
            report(f"{_syntax_message(exc, source)} in expression '{source.strip()}'")
            return UNKNOWN
        walker = _Walker(self._env, report, origins)
        values = [
            walker.expression(node, scope)
            for output in tree.body
            if isinstance(output, nodes.Output)
            for node in output.nodes
            if not isinstance(node, nodes.TemplateData)
        ]
        return values[0] if len(values) == 1 else UNKNOWN

    def _compile(self, tree: nodes.Template, report: _Reporter) -> None:
        """What only the compiler finds (unknown filters outside an if were reported already)."""
        try:
            self._env.compile(tree)
        except jinja2.TemplateSyntaxError as exc:
            if not exc.message or not exc.message.startswith(("No filter named", "No test named")):
                report(exc.message or str(exc))

    def _scope(self, spot: TemplateSpot) -> tuple[dict[str, Any], dict[str, str]]:
        """The names a spot can read: the schema, then its structural loops' items in order."""
        scope: dict[str, Any] = dict(self._schema) if isinstance(self._schema, Mapping) else {}
        origins: dict[str, str] = {}
        silent = _Reporter(None, 0, spot.location)
        for var, items in spot.loop_variables.items():
            value = self._expression(items, scope, origins, silent)
            scope[var] = _items_of(value)
            origins[var] = items.strip()
        return scope, origins


class _Reporter:
    """Reports problems at one spot; a reporter without a check stays silent."""

    def __init__(self, check: _Check | None, order: int, location: str) -> None:
        self._check = check
        self._order = order
        self._location = location

    def __call__(self, message: str) -> None:
        if self._check is not None:
            self._check._report(self._order, self._location, message)


def _syntax_message(exc: jinja2.TemplateSyntaxError, source: str) -> str:
    message = exc.message or str(exc)
    if "\n" in source.strip() and exc.lineno:
        message += f" (line {exc.lineno})"
    return message


# -- walking the syntax tree ----------------------------------------------------------------

# Filters that keep the items of what they are given, and those that pick one item.
_SAME_ITEMS = frozenset(
    {"sort", "sv_sort", "reverse", "list", "unique", "select", "reject", "selectattr", "rejectattr"}
)
_ONE_ITEM = frozenset({"first", "last", "random", "min", "max"})
# Filters that read an attribute of every item: (position of the attribute argument or None).
_ATTRIBUTE_FILTERS: dict[str, int | None] = {
    "map": None,
    "sort": None,
    "sv_sort": 0,
    "selectattr": 0,
    "rejectattr": 0,
    "sum": None,
    "groupby": 0,
    "unique": None,
    "min": None,
    "max": None,
    "join": None,
}
_GUARD_TESTS = frozenset({"defined", "undefined"})
_UNSUPPORTED: dict[type[nodes.Node], str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
}


class _Walker:
    """Walks one spot's syntax tree with a scope of example values, reporting what is unknown."""

    def __init__(
        self,
        env: SandboxedEnvironment,
        report: _Reporter,
        origins: Mapping[str, str],
        places: Mapping[str, str | None] | None = None,
    ) -> None:
        self._env = env
        self._report = report
        self._origins = dict(origins)
        self._places = places or {}

    # -- statements ---------------------------------------------------------------------------

    def statements(self, body: Iterable[nodes.Node], scope: dict[str, Any]) -> None:
        for node in body:
            self._statement(node, scope)

    def _statement(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    value = self.expression(child, scope)
                    if self._places:
                        self._check_place(child, value)
        elif isinstance(node, nodes.If):
            self.expression(node.test, scope)
            for test in [node.test, *node.test.find_all(nodes.Test)]:
                # Below "{% if x is defined %}" a missing x is expected, not an error.
                if (
                    isinstance(test, nodes.Test)
                    and test.name in _GUARD_TESTS
                    and isinstance(test.node, nodes.Name)
                ):
                    scope.setdefault(test.node.name, UNKNOWN)
            self.statements(node.body, scope)
            self.statements(node.elif_, scope)
            self.statements(node.else_, scope)
        elif isinstance(node, nodes.For):
            self._for(node, scope)
        elif isinstance(node, nodes.Assign):
            self._bind(node.target, self.expression(node.node, scope), scope)
        elif isinstance(node, nodes.AssignBlock):
            self.statements(node.body, dict(scope))
            if node.filter is not None:
                self.expression(node.filter, scope)
            self._bind(node.target, "", scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                self._bind(target, self.expression(value, scope), inner)
            self.statements(node.body, inner)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            self._callable(node, scope)
        elif isinstance(node, nodes.FilterBlock):
            self.expression(node.filter, scope)
            self.statements(node.body, scope)
        elif (unsupported := _UNSUPPORTED.get(type(node))) is not None:
            self._report(
                f"'{{% {unsupported} %}}' cannot be used: "
                "a template here has no other templates to load"
            )
            for name in _stored_names(node):
                scope[name] = UNKNOWN
        else:
            for part in node.iter_child_nodes():
                if isinstance(part, nodes.Expr):
                    self.expression(part, scope)
                else:
                    self._statement(part, dict(scope))

    def _check_place(self, node: nodes.Node, value: Any) -> None:
        """A docx value object in a tag whose place it does not fit, as the engine refuses it."""
        cls = type(value)
        needed = _ONLY_PLACE.get(cls.__name__)
        if needed is None or not cls.__module__.startswith(("docxtpl", "service.engines.docx")):
            return
        path = _describe(node)
        place = self._places.get(path.replace(" ", ""))
        if place is None or place == needed:
            return
        self._report(
            f"'{path}' is a {cls.__name__} in '{_PLACE_NAMES[place]}': write"
            f" '{{{{{needed} {path} }}}}'"
            + (" alone in a paragraph of its own" if needed == "p" else " alone in its run")
        )

    def _for(self, node: nodes.For, scope: dict[str, Any]) -> None:
        items = self.expression(node.iter, scope)
        inner = dict(scope)
        self._bind(node.target, _items_of(items), inner)
        if isinstance(node.target, nodes.Name):
            self._origins[node.target.name] = _describe(node.iter)
        inner["loop"] = UNKNOWN
        if node.test is not None:
            self.expression(node.test, inner)
        self.statements(node.body, inner)
        self.statements(node.else_, dict(scope))

    def _callable(self, node: nodes.Macro | nodes.CallBlock, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.Macro):
            scope[node.name] = UNKNOWN
        else:
            self.expression(node.call, scope)
        for default in node.defaults:
            self.expression(default, scope)
        inner = dict(scope)
        for arg in node.args:
            inner[arg.name] = UNKNOWN
        for name in ("caller", "varargs", "kwargs"):
            inner[name] = UNKNOWN
        self.statements(node.body, inner)

    def _bind(self, target: nodes.Node, value: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = value
        elif isinstance(target, nodes.NSRef):
            self._name(target.name, scope)
        else:
            for name in _stored_names(target):
                scope[name] = UNKNOWN

    # -- expressions --------------------------------------------------------------------------

    def expression(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        """The example value ``node`` evaluates to, UNKNOWN when the example cannot tell."""
        if isinstance(node, nodes.Name):
            return self._name(node.name, scope)
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.TemplateData):
            return node.data
        if isinstance(node, nodes.Getattr):
            return self._attribute(node.node, node.attr, self.expression(node.node, scope))
        if isinstance(node, nodes.Getitem):
            return self._item(node, scope)
        if isinstance(node, nodes.Filter):
            return self._filter(node, scope)
        if isinstance(node, nodes.Test):
            self._test(node, scope)
            return True
        if isinstance(node, nodes.CondExpr):
            self.expression(node.test, scope)
            first = self.expression(node.expr1, scope)
            second = self.expression(node.expr2, scope) if node.expr2 is not None else None
            return UNKNOWN if UNKNOWN in (first, second) else _merge(first, second)
        if isinstance(node, nodes.List | nodes.Tuple):
            values = [self.expression(item, scope) for item in node.items]
            return UNKNOWN if any(v is UNKNOWN for v in values) else list(values)
        if isinstance(node, nodes.Dict):
            return self._dict(node, scope)
        if isinstance(node, nodes.Concat):
            for child in node.nodes:
                self.expression(child, scope)
            return ""
        for part in node.iter_child_nodes():
            self.expression(part, scope)
        return UNKNOWN

    def _name(self, name: str, scope: Mapping[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name not in self._env.globals:
            self._report(f"unknown variable '{name}'{_suggest(name, scope)}")
        return UNKNOWN

    def _attribute(self, owner: nodes.Node, attr: str, value: Any) -> Any:
        path = f"{_describe(owner)}.{attr}"
        if attr.startswith("_"):
            self._report(f"'{path}': attributes starting with '_' cannot be read in a template")
            return UNKNOWN
        if value is UNKNOWN or value is None:
            return UNKNOWN
        if isinstance(value, Mapping):
            if hasattr(dict, attr):  # Jinja reads dict methods (items, keys, get) first
                if attr in value:
                    self._report(
                        f"'{path}' reads the method '{attr}' of a dictionary, not its key; "
                        f"write {_describe(owner)}['{attr}']"
                    )
                return UNKNOWN
            if attr in value:
                return value[attr]
            self._unknown_key(owner, path, attr, list(value))
            return UNKNOWN
        if hasattr(value, attr):
            return UNKNOWN
        kind = "a list" if isinstance(value, list | tuple) else _kind(value)
        self._report(f"unknown variable '{path}': '{_describe(owner)}' is {kind}")
        return UNKNOWN

    def _unknown_key(self, owner: nodes.Node, path: str, key: str, known: list[str]) -> None:
        name = _describe(owner)
        root = _root_name(owner)
        if root in self._origins and name == root:
            whose = f"the items of '{self._origins[root]}' have"
        else:
            whose = f"'{name}' has"
        self._report(f"unknown variable '{path}': {whose} no '{key}'{_suggest(key, known)}")

    def _item(self, node: nodes.Getitem, scope: dict[str, Any]) -> Any:
        value = self.expression(node.node, scope)
        if isinstance(node.arg, nodes.Slice):
            self.expression(node.arg, scope)
            return value
        key = self.expression(node.arg, scope)
        if isinstance(value, list | tuple):
            return _items_of(value)
        if not (isinstance(value, Mapping) and isinstance(node.arg, nodes.Const)):
            return UNKNOWN
        if key in value:
            return value[key]
        if isinstance(key, str):
            self._unknown_key(node.node, f"{_describe(node.node)}[{key!r}]", key, list(value))
        return UNKNOWN

    def _dict(self, node: nodes.Dict, scope: dict[str, Any]) -> Any:
        result: dict[str, Any] = {}
        for pair in node.items:
            key = self.expression(pair.key, scope)
            value = self.expression(pair.value, scope)
            if isinstance(key, str):
                result[key] = value
        return result

    def _filter(self, node: nodes.Filter, scope: dict[str, Any]) -> Any:
        value = self.expression(node.node, scope) if node.node is not None else UNKNOWN
        args = [self.expression(arg, scope) for arg in node.args]
        kwargs: dict[str, Any] = {
            str(kw.key): self.expression(kw.value, scope) for kw in node.kwargs
        }
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                self.expression(extra, scope)
        if node.name not in self._env.filters:
            known = sorted(self._env.filters)
            self._report(f"unknown filter '{node.name}'{_suggest(node.name, known)}")
            return UNKNOWN
        items = _items_of(value)
        if node.name in _ATTRIBUTE_FILTERS and node.node is not None:
            position = _ATTRIBUTE_FILTERS[node.name]
            attribute = kwargs.get("attribute")
            if attribute is None and position is not None and len(args) > position:
                attribute = args[position]
            if isinstance(attribute, str):
                self._item_attribute(node, items, attribute)
                if node.name == "map":
                    return [_path_value(items, attribute)]
        if node.name in _SAME_ITEMS:
            return value if isinstance(value, list | tuple) else UNKNOWN
        if node.name in _ONE_ITEM:
            return items
        if node.name in ("default", "d"):
            if value is UNKNOWN or value is None:
                return args[0] if args else UNKNOWN
            return value
        return UNKNOWN

    def _item_attribute(self, node: nodes.Filter, items: Any, attribute: str) -> None:
        """Check a dotted attribute path that a filter reads from every item."""
        owner = node.node if node.node is not None else node
        value = items
        for part in attribute.split("."):
            if not isinstance(value, Mapping) or part.isdigit():
                return
            if part not in value:
                self._report(
                    f"unknown attribute '{attribute}' in filter '{node.name}': the items of "
                    f"'{_describe(owner)}' have no '{part}'{_suggest(part, list(value))}"
                )
                return
            value = value[part]

    def _test(self, node: nodes.Test, scope: dict[str, Any]) -> None:
        if node.name in _GUARD_TESTS:
            # "x is defined" asks whether x exists: a missing x is what it is there for.
            _Walker(self._env, _Reporter(None, 0, ""), self._origins).expression(node.node, scope)
        else:
            self.expression(node.node, scope)
            if node.name not in self._env.tests:
                known = sorted(self._env.tests)
                self._report(f"unknown test '{node.name}'{_suggest(node.name, known)}")
        for arg in node.args:
            self.expression(arg, scope)
        for kw in node.kwargs:
            self.expression(kw.value, scope)


def _path_value(items: Any, attribute: str) -> Any:
    value = items
    for part in attribute.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return UNKNOWN
        value = value[part]
    return value


def _stored_names(node: nodes.Node) -> Iterator[str]:
    for name in node.find_all(nodes.Name):
        if name.ctx in ("store", "param"):
            yield name.name
    if isinstance(node, nodes.Import):
        yield node.target
    if isinstance(node, nodes.FromImport):
        for item in node.names:
            yield item[1] if isinstance(item, tuple) else item


def _describe(node: nodes.Node) -> str:
    """A readable path such as ``organisation.name`` or ``p['role']``."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_describe(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Filter) and node.node is not None:
        return f"{_describe(node.node)} | {node.name}"
    return "…"


def _value_places(source: str) -> dict[str, str | None]:
    """Each value tag's expression (blanks removed) -> its place; None when it has several."""
    places: dict[str, str | None] = {}
    for tag in _VALUE_TAG.finditer(source):
        key = re.sub(r"\s+", "", tag.group(2))
        place = tag.group(1) or ""
        places[key] = place if places.get(key, place) == place else None
    return places


def _root_name(node: nodes.Node) -> str | None:
    while isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Filter):
        if node.node is None:
            return None
        node = node.node
    return node.name if isinstance(node, nodes.Name) else None


def _suggest(word: str, known: Iterable[str]) -> str:
    names = [k for k in known if isinstance(k, str) and not k.startswith("_")]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if names and len(names) <= 12:
        return f" (known: {', '.join(sorted(names))})"
    return ""


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
