"""Telling a Swedish message from one left in English, for tests of what participants read."""

from __future__ import annotations

import re

# Words the English texts are made of and no Swedish text has: a message half left in English
# shows. (Part names such as xl/vbaProject.bin do not contain them; quoted names are skipped.)
_QUOTED = re.compile(r"”[^”]*”")
ENGLISH_WORDS = re.compile(
    r"\b(the|this|is|it|not|and|or|which|upload|again|save|file|part|only|may|found|missing)\b"
)


def english_in(text: str) -> str | None:
    """The first English word in ``text``, or None when it reads as Swedish."""
    found = ENGLISH_WORDS.search(_QUOTED.sub("", text))
    return found.group() if found else None
