"""Swedish formatting as Jinja filters, handed to the engines for every benchdocs template.

``{{ meeting.date | sv_date }}`` → ``28 november 2019``; ``| sv_weekday`` → ``torsdag``;
``| sv_number`` → ``1 234,5``; ``| sv_percent`` → ``42 %``; ``| sv_sort`` sorts with Å, Ä, Ö
after Z (``| sv_sort(attribute="name")`` for records).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from service.documents import swedish

# Swedish alphabetical order: ... X Y Z Å Ä Ö. Ü sorts as Y, Æ as Ä and Ø as Ö (SAOL).
# "{", "|" and "}" are the three code points right after "z".
_SWEDISH_LETTERS = {"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}", "ü": "y"}


def swedish_sort_key(text: str) -> tuple[str, str]:
    """A key that orders strings as a Swedish dictionary does (case as a tie-breaker)."""
    letters = []
    for char in text.casefold():
        if char in _SWEDISH_LETTERS:
            letters.append(_SWEDISH_LETTERS[char])
            continue
        # Other accents do not change the letter (é sorts as e).
        base = unicodedata.normalize("NFD", char)[0]
        letters.append(base)
    return "".join(letters), text


def _as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def sv_date(value: Any) -> str:
    """``2019-11-28`` or a date → ``28 november 2019``."""
    return swedish.long_date(_as_date(value))


def sv_weekday(value: Any) -> str:
    """A date → ``torsdag``."""
    date = _as_date(value)
    return swedish.weekday(date) if date else ""


def sv_number(value: Any, decimals: int = 1) -> str:
    """``1234.5`` → ``1 234,5`` (non-breaking space, decimal comma)."""
    return swedish.number(None if value is None else float(value), decimals=decimals)


def sv_percent(value: Any, decimals: int = 0, *, share: bool = False) -> str:
    """``42`` → ``42 %``; with ``share=True`` a share: ``0.42`` → ``42 %``."""
    if value is None:
        return swedish.NOT_ASSESSED
    number = float(value) * (100 if share else 1)
    return f"{swedish.number(number, decimals=decimals)}\u00a0%"


def sv_sort(
    values: Iterable[Any], attribute: str | None = None, reverse: bool = False
) -> list[Any]:
    """Sort in Swedish alphabetical order, optionally by a key or attribute of each item."""

    def key(item: Any) -> tuple[str, str]:
        target = item
        if attribute is not None:
            target = item.get(attribute) if isinstance(item, dict) else getattr(item, attribute)
        return swedish_sort_key("" if target is None else str(target))

    return sorted(values, key=key, reverse=reverse)


# What benchdocs passes to the engines as ``filters=`` (the engines know no language).
SWEDISH_FILTERS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "sv_date": sv_date,
        "sv_weekday": sv_weekday,
        "sv_number": sv_number,
        "sv_percent": sv_percent,
        "sv_sort": sv_sort,
    }
)
