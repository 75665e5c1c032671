"""Closed sets of values the programme uses, shared by the import format and the API."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

from service.domain import limits
from service.intake.text_rules import ShortText, reject_control_characters

ProgrammeRole = Literal["mentor", "benchmarkingorganisation"]
PdsaPhase = Literal["Planera", "Göra", "Studera", "Agera"]
ActivityStatus = Literal["ej påbörjad", "pågående", "klar", "struken"]
ChecklistPhase = Literal["before", "during", "after"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address (such as namn@kommun.se)")
    return value


def _web_link(value: str) -> str:
    """A web address people can open: http(s), a host, no spaces (IDN hosts such as möte.se)."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError(
            f"{value!r} is not a web address: give the whole link, starting with https://"
        )
    return value


Email = Annotated[ShortText, AfterValidator(_email)]
WebLink = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.URL),
    AfterValidator(reject_control_characters),
    AfterValidator(_web_link),
]
