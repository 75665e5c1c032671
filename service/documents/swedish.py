"""Swedish formatting of dates and numbers, as the documents print them."""

from __future__ import annotations

import datetime as dt
import re

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
# Added to the title of a slide that continues a table: "Förflyttning sedan förra gången (forts.)".
CONTINUED = " (forts.)"


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


def enumeration(items: list[str]) -> str:
    """``BM 1, BM 2 och BM 3``: a Swedish list in running text."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} och {items[-1]}"


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def dates_in_text(text: str) -> str:
    """Free text with its ISO dates (``2019-11-25``) written the long way (``25 november 2019``)."""

    def long(match: re.Match[str]) -> str:
        try:
            return long_date(dt.date(*(int(part) for part in match.groups())))
        except ValueError:  # not a real date: leave it as typed
            return match.group(0)

    return _ISO_DATE.sub(long, text)
