"""Rules for free text entered by people: what may be stored and rendered into documents."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from service.domain import limits

# XML 1.0 forbids C0 controls other than tab, LF and CR (and U+FFFE/U+FFFF); such a character
# in stored text would break every document it reaches, so it is refused at the door. U+000B
# is the exception: it is Word's manual line break (Shift+Enter), and Excel and PowerPoint
# pass it on when their text is pasted, so it is taken for what the writer meant.
FORBIDDEN_CONTROL = re.compile("[\x00-\x08\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
WORD_LINE_BREAK = "\x0b"


def normalise_line_breaks(value: str) -> str:
    """Word's manual line break U+000B as the "\\n" every other line break of stored text is.

    Normalised at the door, not stored as typed: every reader of stored text (three document
    engines, the API's JSON, CSV exports, LibreOffice's PDFs) then knows one line break, and
    none can leak a U+000B into XML, where it makes the file invalid.
    """
    return value.replace(WORD_LINE_BREAK, "\n")


def reject_control_characters(value: str) -> str:
    """The text with U+000B as "\\n"; refused if it holds a character no document can hold."""
    value = normalise_line_breaks(value)
    match = FORBIDDEN_CONTROL.search(value)
    if match:
        raise ValueError(
            f"contains control character U+{ord(match.group()):04X} at position {match.start()}"
        )
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.SHORT_TEXT),
    AfterValidator(reject_control_characters),
]
# Shorter columns (a type, a county, a phone number): the limit is the column's, so a value
# that fits the form always fits the database (PostgreSQL enforces it, SQLite does not).
Text50 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.CODE),
    AfterValidator(reject_control_characters),
]
Text100 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.LABEL),
    AfterValidator(reject_control_characters),
]
LongText = Annotated[
    str, StringConstraints(max_length=limits.LONG_TEXT), AfterValidator(reject_control_characters)
]
Ref = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=rf"^[A-Za-z0-9_.\-]{{1,{limits.REF}}}$"),
]
