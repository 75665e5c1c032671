"""Message templates: Swedish text an organiser can edit, rendered to a subject, text and HTML.

A message template is plain text with Jinja tags, in the same sandboxed, strict environment as
the document templates (``service.engines.jinja_env``) and checked by the same checker. One
text gives both bodies: the plain-text part as written, and an HTML part in which blank lines
separate paragraphs, lines starting with ``- `` form a list and addresses written in the
template become links.

Data never becomes structure. Each value the template prints is first replaced by a
placeholder; paragraphs, lists and links are found in the template's own text only, and the
values are put back escaped. A participant named ``<b>Anna</b>`` or ``- http://evil`` is shown
as those characters; only values of type ``Link`` (the personal link, the opt-out link, the
digital meeting room) become ``<a href>``, and only for http(s) addresses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from service.engines.inspection import TemplateProblem, TemplateSpot
from service.engines.jinja_env import EVALUATION_ERRORS, Filters, make_environment
from service.engines.safe_text import xml_safe
from service.engines.template_check import check_spots

# Private-use characters around a value's number while the structure is found.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_WEB_ADDRESS = re.compile(r"https?://[^\s<>\"'\ue000\ue001]+[^\s<>\"'.,;:!?)\ue000\ue001]")
# A subject is one header line; longer ones are cut (the column holds 500 characters).
MAX_SUBJECT_LENGTH = 200
# Larger bodies are refused: a message template is a letter, not a book.
MAX_TEMPLATE_LENGTH = 20_000
SUBJECT_LOCATION = "ämnesraden"
BODY_LOCATION = "texten"


class Link(str):
    """An address the message may show as a link (http or https only)."""

    __slots__ = ()


@dataclass(frozen=True)
class MessageText:
    """A message template as an organiser writes it: a subject line and a body."""

    subject: str
    body: str


@dataclass(frozen=True)
class RenderedMessage:
    """What one recipient gets."""

    subject: str
    text: str
    html: str


class MessageTemplateError(ValueError):
    """A message template that cannot be rendered with this data; lists what is wrong."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class _Collector:
    """Replaces every printed value by a numbered placeholder and keeps the value."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        if value is None:
            return ""
        self.values.append(value)
        return f"{_OPEN}{len(self.values) - 1}{_CLOSE}"


def _clean(text: str) -> str:
    """Text without characters XML forbids and without our placeholder marks."""
    return xml_safe(text).replace(_OPEN, "").replace(_CLOSE, "")


def check_message_template(
    text: MessageText, schema: Mapping[str, Any], *, filters: Filters
) -> list[TemplateProblem]:
    """Every problem of a message template against an example context, in Swedish locations."""
    problems: list[TemplateProblem] = []
    if not text.subject.strip():
        problems.append(TemplateProblem(SUBJECT_LOCATION, "ämnesraden är tom"))
    if "\n" in text.subject.strip() or "\r" in text.subject:
        problems.append(TemplateProblem(SUBJECT_LOCATION, "ämnesraden får bara vara en rad"))
    if not text.body.strip():
        problems.append(TemplateProblem(BODY_LOCATION, "texten är tom"))
    if len(text.body) > MAX_TEMPLATE_LENGTH:
        problems.append(
            TemplateProblem(BODY_LOCATION, f"texten är längre än {MAX_TEMPLATE_LENGTH} tecken")
        )
    if problems:
        return problems
    spots = [
        TemplateSpot(SUBJECT_LOCATION, text.subject),
        TemplateSpot(BODY_LOCATION, text.body),
    ]
    return check_spots(spots, schema, filters=filters)


def render_message(
    text: MessageText, context: Mapping[str, Any], *, filters: Filters
) -> RenderedMessage:
    """Render a template for one recipient; a template error names the part it is in."""
    subject_source, subject_values = _render(text.subject, context, filters, SUBJECT_LOCATION)
    subject = " ".join(_fill_plain(subject_source, subject_values).split())
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[: MAX_SUBJECT_LENGTH - 1].rstrip() + "…"
    body_source, body_values = _render(text.body, context, filters, BODY_LOCATION)
    body_source = _tidy_lines(body_source)
    return RenderedMessage(
        subject=subject,
        text=_fill_plain(body_source, body_values),
        html=_to_html(body_source, body_values),
    )


def _render(
    source: str, context: Mapping[str, Any], filters: Filters, location: str
) -> tuple[str, list[Any]]:
    collector = _Collector()
    environment = make_environment(filters=filters, finalize=collector)
    # A tag on a line of its own leaves no empty line behind (templates are written by hand).
    environment.trim_blocks = True
    environment.lstrip_blocks = True
    try:
        template = environment.from_string(_clean(source))
        rendered = template.render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise MessageTemplateError(
            [TemplateProblem(f"{location}, rad {exc.lineno}", f"felaktig tagg: {exc.message}")]
        ) from exc
    except EVALUATION_ERRORS as exc:
        raise MessageTemplateError(
            [TemplateProblem(location, f"kunde inte fyllas i: {exc}")]
        ) from exc
    return rendered, collector.values


def _tidy_lines(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, no blank lines at the ends.

    Tags on lines of their own (``{% if %}``) otherwise leave gaps in the message.
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    tidy: list[str] = []
    for line in lines:
        if not line and (not tidy or not tidy[-1]):
            continue
        tidy.append(line)
    while tidy and not tidy[-1]:
        tidy.pop()
    return "\n".join(tidy)


def _value_text(value: Any) -> str:
    return _clean(str(value))


def _fill_plain(source: str, values: list[Any]) -> str:
    return _PLACEHOLDER.sub(lambda match: _value_text(values[int(match.group(1))]), source)


def _fill_html(escaped: str, values: list[Any]) -> str:
    def value_html(match: re.Match[str]) -> str:
        value = values[int(match.group(1))]
        text = _value_text(value)
        if isinstance(value, Link) and re.fullmatch(r"https?://\S+", text):
            address = html.escape(text, quote=True)
            return f'<a href="{address}">{address}</a>'
        return html.escape(text, quote=False).replace("\n", "<br>\n")

    return _PLACEHOLDER.sub(value_html, escaped)


def _linkify(escaped_line: str) -> str:
    """Addresses written in the template itself become links (never addresses from data)."""
    return _WEB_ADDRESS.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped_line)


def _to_html(source: str, values: list[Any]) -> str:
    """Paragraphs and lists from the template's own lines; the values put back escaped.

    Blank lines separate paragraphs; within one, a run of lines starting with ``- `` is a list.
    """

    def line_html(line: str) -> str:
        return _fill_html(_linkify(html.escape(line, quote=False)), values)

    blocks: list[str] = []
    for block in source.split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        run: list[str] = []
        is_list = False
        for line in [*lines, None]:
            item = line is not None and line.startswith("- ")
            if run and (line is None or item != is_list):
                if is_list:
                    blocks.append("<ul>" + "".join(f"<li>{x}</li>" for x in run) + "</ul>")
                else:
                    blocks.append("<p>" + "<br>\n".join(run) + "</p>")
                run = []
            if line is not None:
                is_list = item
                run.append(line_html(line[2:] if item else line))
    body = "\n".join(blocks)
    return (
        '<!DOCTYPE html>\n<html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        '</head>\n<body style="font-family: Arial, sans-serif; font-size: 16px; '
        'line-height: 1.5; color: #1a1a1a;">\n'
        f"{body}\n</body></html>\n"
    )


def parse_template_file(text: str) -> MessageText:
    """A built-in template file: ``Ämne: …`` on the first line, a blank line, the body."""
    first, _, rest = text.partition("\n")
    if not first.startswith("Ämne:"):
        raise ValueError("a message template file starts with 'Ämne: '")
    return MessageText(subject=first.removeprefix("Ämne:").strip(), body=rest.lstrip("\n"))
