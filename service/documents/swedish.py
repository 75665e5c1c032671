"""Swedish formatting of dates and numbers, as the documents print them."""

from __future__ import annotations

import datetime as dt

MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
NOT_ASSESSED = "–"


def long_date(value: dt.date | None) -> str:
    """``28 november 2019``; empty for no date."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def weekday(value: dt.date) -> str:
    """``torsdag``."""
    return WEEKDAYS[value.weekday()]


def clock(value: dt.time | None) -> str:
    """``09.30``, the Swedish way of writing a time of day."""
    return "" if value is None else f"{value.hour:02d}.{value.minute:02d}"


def number(value: float | None, *, decimals: int = 1) -> str:
    """``1 234,5``: non-breaking space between thousands, comma as decimal sign."""
    if value is None:
        return NOT_ASSESSED
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def measure(value: float | None) -> str:
    """A measured value: whole numbers without decimals (``38``), others with one (``7,9``)."""
    if value is not None and float(value).is_integer():
        return number(value, decimals=0)
    return number(value)


def signed(value: float | None, *, decimals: int = 0) -> str:
    """``+3``, ``−1,0`` (true minus sign) or ``±0``; a dash when unknown."""
    if value is None:
        return NOT_ASSESSED
    if round(value, decimals) == 0:
        return "±0"
    sign = "+" if value > 0 else "\u2212"
    return sign + number(abs(value), decimals=decimals)
