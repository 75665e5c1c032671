"""The client's file name, made harmless to show, and its extension."""

from __future__ import annotations

import re
import unicodedata

MAX_DISPLAY_NAME_CHARS = 150
# Zero-width joiners hold emoji sequences together; other format characters (bidi overrides
# that make "xlsx.exe" read as "exe.xlsx") are dropped, emoji tag characters excepted.
_KEPT_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_WHITESPACE_CONTROLS = frozenset("\t\r\n\v\f")


def display_file_name(name: str) -> str:
    """The client's file name as one harmless segment: no path, no control or bidi characters.

    Letters of any script, åäö and emoji are kept; the length is capped with the extension
    kept. Empty when nothing is left.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch in _WHITESPACE_CONTROLS else ch for ch in name if _kept(ch))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            name = f"{stem[: MAX_DISPLAY_NAME_CHARS - len(suffix) - 1].rstrip()}.{suffix}"
        else:
            name = name[:MAX_DISPLAY_NAME_CHARS].rstrip()
    return name


def _kept(ch: str) -> bool:
    if ch in _WHITESPACE_CONTROLS:
        return True  # becomes a space
    category = unicodedata.category(ch)
    if category == "Cf":
        # Tag characters spell out subdivision flags such as England's.
        return ch in _KEPT_FORMAT_CHARACTERS or "\U000e0020" <= ch <= "\U000e007f"
    return category not in _DROPPED_CATEGORIES


def name_extension(name: str) -> str:
    """A file name's extension, case-folded; empty when there is none (".csv" has none)."""
    stem, dot, suffix = name.rpartition(".")
    return suffix.casefold() if dot and stem else ""
